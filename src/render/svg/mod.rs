//! A session as a time-scaled sequence diagram in SVG (`--svg FILE`).
//!
//! A sequence diagram is how networking books draw a conversation: one
//! vertical *lifeline* per party, time running down the page, each message
//! an arrow from sender to receiver. Here the parties are the session's
//! actors (`client`, `server`, or a traced `python3[4182]`); a pcap file
//! without actors gets one lifeline per endpoint (`127.0.0.1:7000`). Beside
//! each lifeline stand the socket calls its actor made, at the moment they
//! returned (`send 5 B "hello"`, `recv → 9 B`, `accept`); a call that
//! waited (a `recv` on an empty buffer, an `accept` with nobody
//! connecting, a `sleep`) is a bar spanning its wait. Between the
//! lifelines run the packets, labelled with their TCP flags and length
//! (`SYN`, `ACK`, `PSH,ACK 5 B`).
//!
//! What the picture must not do is lie about time, so:
//!
//! - **Time runs down, in order, never backwards.** Every call and packet
//!   gets a row of its own (labels never overlap), and the time between two
//!   rows adds space in proportion to it; the axis on the left marks real
//!   milliseconds on the session's clock where they fall (see [`layout`]).
//! - **Long waits are drawn shortened, and say so.** A gap that is long
//!   next to the rest (lab 09's 100 ms sleep, lab 13's 40 ms delayed-ACK
//!   stalls, lab 18's 300 ms in the backlog) would push everything else
//!   into a corner; it is cut with a zig-zag and labelled with its length
//!   (`… 300.2 ms …`).
//! - **A packet's flight is not measured.** The capture sees each packet
//!   once, at one instant (on `lo` its flight takes no measurable time
//!   anyway); an arrow is drawn from that instant with a small fixed slope
//!   so that its direction reads, and the diagram's legend says that the
//!   slope is not a measurement.
//!
//! The renderer consumes the session's [`Event`]s (as the terminal and JSON
//! views do), one at a time through [`Diagram::add`], and draws once they
//! are all in ([`Diagram::render`]). It never reads printed text.
//!
//! The SVG is written with the `svg` crate: a small, long-maintained
//! document builder whose elements escape their text and attribute values
//! (`<`, `&`, quotes) when written, and write attributes in a fixed order,
//! so the same session always gives the same bytes. Layout (what goes
//! where) is ours; no plotting crate draws sequence diagrams.

mod draw;
pub mod layout;
mod text;

use crate::escape::preview;
use crate::trace::{Call, Event, Op, Packet};
use crate::wire::{TcpFlags, Transport};

/// Bytes of a payload a call's label shows.
const LABEL_PREVIEW: usize = 16;

/// A call that waited at least this long is drawn as a bar, even when
/// nothing else happened meanwhile.
const BAR_MIN_US: u64 = 1_000;

/// At most this many calls and packets are drawn; a longer session (a
/// busy `lab trace`) says how many were left out.
pub const MAX_ITEMS: usize = 400;

/// One socket call, as the diagram draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallMark {
    /// Its place among the session's calls, from 0 (as the message map
    /// numbers them): what a page that shows the diagram looks it up by.
    pub index: usize,
    /// Index of the call's lifeline.
    pub lane: usize,
    /// When it started and returned (µs on the session's clock).
    pub start_us: u64,
    pub end_us: u64,
    /// The op and a short result: `recv → 9 B "helloworl"`.
    pub label: String,
    /// It failed (an errno) or timed out: drawn in red.
    pub failed: bool,
}

/// A mark of the TCP analysis on one packet: what Wireshark would flag
/// (`retransmission`, `dup ACK`, `zero window`), drawn in red after the
/// packet's label. [`analysis_marks`] is where a packet's marks come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisMark {
    /// The mark as the diagram writes it, short: `retransmission`.
    pub label: String,
}

/// The analysis marks of one packet: what Wireshark's TCP analysis (see
/// [`crate::analysis`], worked out by the timeline) says of it, in the
/// short words of a timeline row (`retransmission of #6`, `zero window`).
pub fn analysis_marks(packet: &Packet) -> Vec<AnalysisMark> {
    packet
        .info
        .analysis
        .iter()
        .flat_map(|a| &a.flags)
        .map(|f| AnalysisMark { label: f.tag() })
        .collect()
}

/// One packet, as the diagram draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct PacketMark {
    /// Its place among the session's packets, from 0 (as the message map
    /// numbers them).
    pub index: usize,
    pub t_us: u64,
    /// Lifelines of its source and destination.
    pub from: usize,
    pub to: usize,
    /// Flags and length: `PSH,ACK 5 B`, `UDP 12 B`.
    pub label: String,
    pub marks: Vec<AnalysisMark>,
}

/// A session's calls and packets, gathered as its events are released.
#[derive(Debug, Default)]
pub struct Diagram {
    /// What the diagram shows, written at its top: `lab run 09-sticky-packet`.
    title: String,
    /// Lifeline names, in the order they were met.
    pub lanes: Vec<String>,
    pub calls: Vec<CallMark>,
    pub packets: Vec<PacketMark>,
    /// Calls and packets past [`MAX_ITEMS`], not drawn.
    pub left_out: usize,
    /// Calls and packets taken so far, drawn or not.
    seen_calls: usize,
    seen_packets: usize,
}

impl Diagram {
    pub fn new(title: &str) -> Diagram {
        Diagram {
            title: title.to_string(),
            ..Diagram::default()
        }
    }

    /// Takes one event of the session. A call is drawn from its
    /// [`Event::Call`], which has both its start and how long it waited;
    /// [`Event::CallStarted`] (which only a live view needs, to show a
    /// call still blocked) adds nothing. The map and the checks are not
    /// part of the picture.
    pub fn add(&mut self, event: &Event) {
        match event {
            Event::Call(c) => {
                self.add_call(c, self.seen_calls);
                self.seen_calls += 1;
            }
            Event::Packet(p) => {
                self.add_packet(p, self.seen_packets);
                self.seen_packets += 1;
            }
            Event::StepStarted(_)
            | Event::CallStarted { .. }
            | Event::Map(_)
            | Event::Check(_)
            | Event::ActorFailed { .. } => {}
        }
    }

    fn full(&mut self) -> bool {
        let full = self.calls.len() + self.packets.len() >= MAX_ITEMS;
        if full {
            self.left_out += 1;
        }
        full
    }

    fn lane(&mut self, name: &str) -> usize {
        match self.lanes.iter().position(|l| l == name) {
            Some(i) => i,
            None => {
                self.lanes.push(name.to_string());
                self.lanes.len() - 1
            }
        }
    }

    fn add_call(&mut self, c: &Call, index: usize) {
        if self.full() {
            return;
        }
        let lane = self.lane(&c.actor);
        self.calls.push(CallMark {
            index,
            lane,
            start_us: c.t_us,
            end_us: c.t_us + c.waited_us,
            label: call_label(c),
            failed: c.error.is_some() || c.timed_out,
        });
    }

    fn add_packet(&mut self, p: &Packet, index: usize) {
        let Ok(frame) = &p.frame else {
            return; // not decoded: no endpoints to draw between
        };
        let Some((src, dst)) = frame.endpoints() else {
            return; // a later IP fragment: its first fragment was drawn
        };
        if self.full() {
            return;
        }
        // Named after the actor that owns the address when the session
        // knows it, else after the address itself (a pcap file, a packet
        // to a port nobody listens on). When one actor owns both ends (a
        // traced program that talks to itself), its lifeline cannot show
        // which way a packet went: the addresses can.
        let (from_name, to_name) = match (&p.info.from, &p.info.to) {
            (Some(a), Some(b)) if a == b => (src.to_string(), dst.to_string()),
            (a, b) => (
                a.clone().unwrap_or_else(|| src.to_string()),
                b.clone().unwrap_or_else(|| dst.to_string()),
            ),
        };
        let from = self.lane(&from_name);
        let to = self.lane(&to_name);
        let label = match &frame.transport {
            Transport::Tcp(t) => tcp_label(t.flags, t.payload_len),
            Transport::Udp(u) => format!("UDP {} B", u.payload_len),
            _ => return,
        };
        self.packets.push(PacketMark {
            index,
            t_us: p.t_us,
            from,
            to,
            label,
            marks: analysis_marks(p),
        });
    }

    /// Whether a call is drawn as a bar spanning its wait: it waited a
    /// while, or something else happened while it waited.
    pub fn is_bar(&self, c: &CallMark) -> bool {
        if c.end_us - c.start_us >= BAR_MIN_US {
            return true;
        }
        let inside = |t: u64| t > c.start_us && t < c.end_us;
        self.packets.iter().any(|p| inside(p.t_us))
            || self.calls.iter().any(|o| {
                o != c && (inside(o.end_us) || (o.end_us > o.start_us && inside(o.start_us)))
            })
    }

    /// The diagram as an SVG document.
    pub fn render(&self) -> String {
        draw::document(self, &self.title)
    }
}

/// `SYN`, `ACK`, `PSH,ACK 5 B`.
fn tcp_label(flags: TcpFlags, len: usize) -> String {
    match len {
        0 => flags.to_string(),
        n => format!("{flags} {n} B"),
    }
}

/// The op and a short argument or result: `send 5 B "hello"`, `recv → 9
/// B "helloworl…"`, `recv → 0 B (peer closed)`, `connect → ECONNREFUSED`,
/// `sleep 100 ms`, `accept`.
pub fn call_label(c: &Call) -> String {
    let mut s = c.op.name().to_string();
    let data = || {
        c.data
            .as_deref()
            .filter(|d| !d.is_empty())
            .map_or(String::new(), |d| {
                let (text, cut) = preview(d, LABEL_PREVIEW);
                format!(" \"{text}{}\"", if cut { "…" } else { "" })
            })
    };
    // The option or mode a call sets, or the file a transfer moves, is
    // what it says (`set_option SO_LINGER=0`, `put "notes.txt"`); other
    // calls' arguments are in the transcript.
    let says_its_args = matches!(
        c.op,
        Op::SetOption
            | Op::GetOption
            | Op::Shutdown
            | Op::SetNonblocking
            | Op::SetTimeout
            | Op::Put
            | Op::Get
    );
    if says_its_args && !c.args.is_empty() {
        s.push_str(&format!(" {}", c.args));
    }
    if let Some(err) = &c.error {
        s.push_str(&format!(" → {err}"));
    } else if c.timed_out {
        s.push_str(" → timed out");
    } else if c.op == Op::Sleep {
        s.push_str(&format!(" {}", millis(c.waited_us)));
    } else if c.is_send() {
        let ret = c.returned.unwrap_or(0);
        match c.len {
            Some(len) if len as i64 != ret => s.push_str(&format!(" {ret} of {len} B")),
            _ => s.push_str(&format!(" {ret} B")),
        }
        s.push_str(&data());
    } else if c.is_recv() {
        let ret = c.returned.unwrap_or(0);
        s.push_str(&format!(" → {ret} B"));
        if ret == 0 && c.op.is_stream_recv() {
            s.push_str(" (peer closed)");
        }
        s.push_str(&data());
    }
    if c.repeat > 1 {
        s.push_str(&format!(" ×{}", c.repeat));
    }
    s
}

/// `100.2 ms`, `0.35 ms`: microseconds as milliseconds.
pub fn millis(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    match ms {
        m if m >= 10.0 => format!("{m:.1} ms"),
        m if m >= 1.0 => format!("{m:.2} ms"),
        m => format!("{m:.3} ms"),
    }
}

#[cfg(test)]
mod tests;
