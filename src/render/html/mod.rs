//! A session as one self-contained web page (`--html FILE`): the sequence
//! diagram, the timeline of calls and packets, the message map and the
//! checks, and a pane that takes apart whatever is clicked.
//!
//! The terminal shows a session once, as it happens; a page can be
//! explored afterwards. Click a packet (its arrow in the diagram, or its
//! row in the timeline) and the pane shows it as Wireshark's detail and
//! bytes panes do: each layer (Ethernet, IP, TCP or UDP, the data) with
//! its fields, each field's value and what it means, and the frame's
//! bytes in hex, where pointing at a field lights up the bytes that hold
//! it (and pointing at a byte names its field). Click a call and the pane
//! shows its op, socket, arguments, result and times, and the packets the
//! message map ties it to: the segments that carried a `send`'s bytes, the
//! sends a `recv`'s bytes came from.
//!
//! The page works offline in any browser: the style, the script and the
//! diagram are inside it, and nothing is fetched. The session is embedded
//! as one JSON document in a `<script type="application/json">` element,
//! built from the session's [`Event`]s as `--json` writes them
//! ([`crate::render::json::event_value`]), each packet with its
//! dissection ([`crate::dissect`]) and its bytes. The script only reads
//! that document and builds the page from it; it never reads printed text.

mod data;

use serde_json::{Value as Json, json};

use crate::render::svg::Diagram;
use crate::trace::Event;

/// The page's style and script, written into every page.
const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// A session's events, gathered as they are released, and its diagram.
#[derive(Debug)]
pub struct Page {
    /// What the page shows: `lab run 09-sticky-packet`.
    title: String,
    /// Every event as its JSON object, packets and calls with their index.
    events: Vec<Json>,
    diagram: Diagram,
    calls: usize,
    packets: usize,
}

impl Page {
    pub fn new(title: &str) -> Page {
        Page {
            title: title.to_string(),
            events: Vec::new(),
            diagram: Diagram::new(title),
            calls: 0,
            packets: 0,
        }
    }

    /// Takes one event of the session, in the order it was released.
    pub fn add(&mut self, event: &Event) {
        self.diagram.add(event);
        let mut v = crate::render::json::event_value(event);
        match event {
            Event::Call(_) => {
                data::set(&mut v, "index", self.calls.into());
                self.calls += 1;
            }
            Event::Packet(p) => {
                data::set(&mut v, "index", self.packets.into());
                data::packet_detail(&mut v, p);
                self.packets += 1;
            }
            _ => {}
        }
        self.events.push(v);
    }

    /// The session as a JSON document: `{"title":..,"events":[..]}`.
    pub fn data(&self) -> Json {
        json!({"title": self.title, "events": self.events})
    }

    /// The whole page.
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(64 * 1024);
        s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        s.push_str(&format!("<title>{}</title>\n", text(&self.title)));
        s.push_str(&format!("<style>\n{CSS}</style>\n</head>\n<body>\n"));
        s.push_str(&format!(
            "<header><h1>{}</h1><p id=\"summary\"></p></header>\n",
            text(&self.title)
        ));
        s.push_str("<main>\n<section id=\"views\">\n");
        s.push_str("<h2>Sequence diagram</h2>\n<div id=\"diagram\">\n");
        s.push_str(&self.diagram.render());
        s.push_str("</div>\n");
        s.push_str("<h2>Checks</h2>\n<ul id=\"checks\"></ul>\n");
        s.push_str("<h2>Timeline</h2>\n<table id=\"timeline\"></table>\n");
        s.push_str("<h2>Message map</h2>\n<table id=\"map\"></table>\n");
        s.push_str("</section>\n<aside id=\"detail\"><p class=\"hint\">Click a packet or a call, in the diagram or the timeline, to see it here.</p></aside>\n</main>\n");
        s.push_str("<script type=\"application/json\" id=\"session\">");
        s.push_str(&script_json(&self.data()));
        s.push_str("</script>\n");
        s.push_str(&format!("<script>\n{JS}</script>\n</body>\n</html>\n"));
        s
    }
}

/// Text for HTML: `<`, `>`, `&` and quotes escaped.
fn text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// JSON that can stand inside a `<script>` element. The element ends at
/// the first `</script` whatever it is inside (and `<!--` changes how the
/// browser reads on), so no `<` may appear: every one is written as the
/// JSON escape `\u003c`, which reads back as `<`. Outside strings JSON has
/// no `<`, so only strings change.
fn script_json(v: &Json) -> String {
    v.to_string().replace('<', "\\u003c")
}

/// Where a page goes: checked before the session starts, written whole.
pub type HtmlFile = crate::render::file::WholeFile;

#[cfg(test)]
mod tests;
