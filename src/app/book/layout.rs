//! A transcript laid out for the book's page width.
//!
//! `lab run` prints for a terminal: a packet row
//! (`132.847 ms  #8  client → server  ACK  seq=63 ack=1 len=32768 win=65536
//! "xxxx…"  [62, 32830)`) runs past 150 columns, and the message map past
//! 100. A page of the book is narrower: mdBook's default theme sets
//! `--content-max-width: 750px`, a code block pads its text by `1rem`
//! (10 px) on each side, and code is `0.875em` of the body's 16 px, 14 px
//! of Source Code Pro, whose every glyph is 0.6 em (8.4 px) wide:
//! (750 − 2 × 10) / 8.4 = 86.9, so [`WIDTH`] is 86 columns.
//!
//! `ID.md` is drawn from the page `ID.txt` (which stays the record: its key
//! hashes it, and the diagrams read it), as Markdown a chapter includes
//! without a code fence of its own:
//!
//! - what fits stays in view: the command, the lab's title and knobs, the
//!   calls of the timeline, the verdicts. A row too long for the page goes
//!   on under itself: the next line starts with `↪ ` where the row was cut
//!   at a space, `↪` alone where a word (a payload, say) was cut, so no
//!   value is cut without a mark.
//! - where packets crossed the wire between two calls, one line says
//!   which (`┆ #1–#3  SYN  SYN,ACK  ACK`), and the whole timeline, packet
//!   rows and all, is folded into a `<details>` block whose one-line summary
//!   says how many packets the capture saw.
//! - the message map is folded the same way, under its own title.
//!
//! Folded blocks keep their terminal width: a reader who opens one scrolls
//! sideways, as in a terminal narrower than the run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use super::chapters::{self, Chapter};
use super::transcript::{ROW, split};
use super::{Failure, Spec};
use regex::Regex;
use wrap::{continuation_indent, wrap};

mod wrap;
pub use wrap::fit;

/// Columns of a code block on a page of the book (see the module docs).
pub const WIDTH: usize = 86;

/// The Markdown a chapter includes for the page `text` (a transcript as
/// `lab book` writes it).
pub fn page(text: &str) -> String {
    let parts = sections(text);
    let mut md = Markdown::default();
    if parts.timeline.is_empty() {
        // `lab show`, `lab list`, or a run that printed no timeline.
        for line in text.lines() {
            md.view(line, continuation_indent(line));
        }
        return md.finish();
    }
    for line in &parts.head {
        md.view(line, continuation_indent(line));
    }
    let titles = parts.head.last().copied().unwrap_or_default();
    let call_column = titles.find("call → result").unwrap_or(16);
    let mut packets = Packets::default();
    for line in &parts.timeline {
        match row_kind(line) {
            Kind::Packet(n, flags) => packets.add(n, flags),
            Kind::PacketGap => packets.gap(),
            Kind::Call => {
                md.view_all(packets.flush());
                md.view(line, call_column);
            }
        }
    }
    md.view_all(packets.flush());
    let seen = packets.highest;
    let captured = parts
        .tail
        .iter()
        .find_map(|l| capture_count(l))
        .or(seen.filter(|&n| n > 0));
    if seen.is_some() {
        let summary = match captured {
            Some(1) => "1 packet on the wire, among the calls".to_string(),
            Some(n) => format!("{n} packets on the wire, among the calls"),
            None => "The packets on the wire, among the calls".to_string(),
        };
        let mut block = vec![titles.to_string()];
        block.extend(parts.timeline.iter().map(|l| l.to_string()));
        md.folded(&summary, &block);
    }
    let mut tail = parts.tail.iter().peekable();
    while let Some(line) = tail.next() {
        if line.starts_with("Message map") {
            let mut table = Vec::new();
            while let Some(row) = tail.next_if(|l| !l.trim().is_empty()) {
                table.push(row.to_string());
            }
            md.folded(line, &table);
            continue;
        }
        md.view(line, continuation_indent(line));
    }
    md.finish()
}

/// Writes (or with `check`, compares) each laid-out page `ID.md` of
/// `pages` (file → the first chapter that includes it) in `dir`, drawn
/// from `ID.txt` as it now stands.
pub(super) fn pages(
    out: &mut dyn std::io::Write,
    dir: &Path,
    pages: &BTreeMap<String, String>,
    check: bool,
    changed: &mut usize,
    problems: &mut Vec<String>,
) -> Result<(), Failure> {
    for (file, chapter) in pages {
        let source = format!("{}.txt", file.trim_end_matches(".md"));
        let Ok(text) = std::fs::read_to_string(dir.join(&source)) else {
            continue; // reported as missing with its transcript
        };
        let drawn = page(&text);
        let path = dir.join(file);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(drawn.as_str()) {
            continue;
        }
        if check {
            problems.push(format!(
                "{chapter}: transcripts/{file} is not laid out from transcripts/{source}; run `lab book`"
            ));
        } else {
            std::fs::write(&path, drawn)?;
            *changed += 1;
            writeln!(out, "wrote transcripts/{file}")?;
        }
    }
    Ok(())
}

/// A chapter that shows a run's page `ID.txt` as it is, too wide for the
/// book, rather than `ID.md`: one problem each.
pub(super) fn raw_runs(ch: &Chapter) -> Vec<String> {
    chapters::transcript_includes(ch)
        .into_iter()
        .filter(|f| !f.ends_with(".layers.txt"))
        .filter(|f| Spec::parse(f).is_ok_and(|s| s.runs_lab()))
        .map(|f| {
            format!(
                "{}: includes transcripts/{f}, a run laid out for a terminal; include transcripts/{}.md (without a code fence) instead",
                ch.name,
                f.trim_end_matches(".txt")
            )
        })
        .collect()
}

/// A page's lines: up to the timeline's column titles, the timeline, and
/// what follows it.
struct Sections<'a> {
    head: Vec<&'a str>,
    timeline: Vec<&'a str>,
    tail: Vec<&'a str>,
}

/// Unlike [`split`], which stops at it, the timeline goes on past a row
/// with no actor (`22.347 ms   … 51 more packets`).
fn sections(text: &str) -> Sections<'_> {
    let parts = split(text);
    let mut timeline = parts.timeline;
    let mut tail = parts.tail.into_iter().peekable();
    if !timeline.is_empty() {
        while let Some(l) = tail.next_if(|l| TIMED.is_match(l) || l.trim_start().starts_with("⋮ ("))
        {
            timeline.push(l);
        }
    }
    Sections {
        head: parts.head,
        timeline,
        tail: tail.collect(),
    }
}

/// Any timeline row: `   22.347 ms  ...`.
static TIMED: LazyLock<Regex> = LazyLock::new(|| super::transcript::re(r"^\s*\d+\.\d{3} ms\s"));

/// What a timeline row is, for the page.
enum Kind<'a> {
    /// A packet row: its number and flags.
    Packet(usize, &'a str),
    /// `⋮ (client → server: 12 more data packets)` or `… 51 more packets`.
    PacketGap,
    /// A call, or calls left out.
    Call,
}

fn row_kind(line: &str) -> Kind<'_> {
    let trimmed = line.trim_start();
    if let Some(inner) = trimmed.strip_prefix("⋮ (") {
        // Packets left out name a direction; calls left out, an actor.
        let who = inner.split(':').next().unwrap_or("");
        return if who.contains(" → ") {
            Kind::PacketGap
        } else {
            Kind::Call
        };
    }
    let Some(caps) = ROW.captures(line) else {
        // `22.347 ms   … 51 more packets (all in --json and the map below)`
        let after = TIMED.replace(line, "");
        return if after.trim_start().starts_with('…') && after.contains("packets") {
            Kind::PacketGap
        } else {
            Kind::Call
        };
    };
    let (col, rest) = (caps.get(1).map_or("", |m| m.as_str()), caps.get(2));
    let rest = rest.map_or("", |m| m.as_str());
    if let Some(n) = col.strip_prefix('#').and_then(|n| n.parse().ok()) {
        // `client → server  PSH,ACK  seq=1 ...`: the flags follow the
        // direction.
        let flags = rest.split_once("  ").map_or("", |(_, after)| {
            after.split_whitespace().next().unwrap_or("")
        });
        return Kind::Packet(n, flags);
    }
    if col == "…" && rest.contains("packets") {
        return Kind::PacketGap;
    }
    Kind::Call
}

/// The packets between two calls, drawn as one line in view.
#[derive(Default)]
struct Packets<'a> {
    first: Option<usize>,
    last: usize,
    flags: Vec<&'a str>,
    /// Some rows of this stretch were left out of the page.
    gap: bool,
    /// Any packet row at all (some rows left out count).
    any: bool,
    /// The highest packet number shown.
    highest: Option<usize>,
}

impl<'a> Packets<'a> {
    fn add(&mut self, n: usize, flags: &'a str) {
        self.first.get_or_insert(n);
        self.last = n;
        self.flags.push(flags);
        self.any = true;
        self.highest = Some(self.highest.map_or(n, |h| h.max(n)));
    }

    fn gap(&mut self) {
        self.gap = true;
        self.any = true;
        self.highest.get_or_insert(0);
    }

    /// The line that stands for the stretch, if any, and a fresh start.
    fn flush(&mut self) -> Option<String> {
        if !self.any {
            return None;
        }
        let pad = " ".repeat(16);
        let line = match self.first {
            None => format!("{pad}┆ more packets"),
            Some(first) => {
                let numbers = if first == self.last {
                    format!("#{first}")
                } else {
                    format!("#{first}–#{}", self.last)
                };
                // The flags tell the story (SYN, SYN,ACK, ACK) when every
                // packet of the stretch is shown and they fit.
                let with_flags = format!("{pad}┆ {numbers}  {}", self.flags.join("  "));
                if !self.gap && with_flags.chars().count() <= WIDTH {
                    with_flags
                } else {
                    format!("{pad}┆ {numbers}")
                }
            }
        };
        let highest = self.highest;
        *self = Packets {
            highest,
            ..Packets::default()
        };
        Some(line)
    }
}

/// `· capture on: 11 packets, 0 dropped, 0 truncated` → 11.
fn capture_count(line: &str) -> Option<usize> {
    let rest = line.strip_prefix("· capture on: ")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The Markdown of a page, built block by block.
#[derive(Default)]
struct Markdown {
    out: String,
    /// Lines of the code block in view, not yet closed.
    open: Vec<String>,
}

impl Markdown {
    /// A line in view, wrapped to the page.
    fn view(&mut self, line: &str, indent: usize) {
        self.open.extend(wrap(line, indent));
    }

    fn view_all(&mut self, line: Option<String>) {
        if let Some(l) = line {
            self.view(&l, 18);
        }
    }

    fn close(&mut self) {
        // Blank lines at the edges of a block are only space on the page.
        while self.open.last().is_some_and(|l| l.trim().is_empty()) {
            self.open.pop();
        }
        let first = self
            .open
            .iter()
            .position(|l| !l.trim().is_empty())
            .unwrap_or(self.open.len());
        if first < self.open.len() {
            let _ = write!(
                self.out,
                "{}```text\n{}\n```\n",
                if self.out.is_empty() { "" } else { "\n" },
                self.open[first..].join("\n")
            );
        }
        self.open.clear();
    }

    /// `lines` folded under a one-line summary; the reader opens them.
    fn folded(&mut self, summary: &str, lines: &[String]) {
        self.close();
        let _ = write!(
            self.out,
            "{}<details>\n<summary>{} (click to show)</summary>\n\n```text\n{}\n```\n\n</details>\n",
            if self.out.is_empty() { "" } else { "\n" },
            html_text(summary),
            lines.join("\n")
        );
    }

    fn finish(mut self) -> String {
        self.close();
        self.out
    }
}

/// Text for HTML: `<`, `>` and `&` escaped.
fn html_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::wrap::GOES_ON;
    use super::*;

    const PAGE: &str = "\
$ lab run 09-sticky-packet
09-sticky-packet  Sticky packets: two sends, one recv, because TCP is a stream and not messages   (course ch. 9-10)
knobs: delay_ms=100

          time  actor   call → result
     17.362 ms  server  socket(AF_INET, SOCK_STREAM) → fd 5
     17.512 ms  client  socket(AF_INET, SOCK_STREAM) → fd 7
     17.600 ms  #1      client → server  SYN      seq=0 len=0 win=65495 mss=65495 sack_ok ws=10
     17.601 ms  #2      server → client  SYN,ACK  seq=0 ack=1 len=0 win=65483 mss=65495 sack_ok ws=10
     17.602 ms  #3      client → server  ACK      seq=1 ack=1 len=0 win=65536
     17.673 ms  client  connect(sock, 127.0.0.1:53611) → 0  127.0.0.1:45336 ⇄ 127.0.0.1:53611
     17.805 ms  #4      client → server  PSH,ACK  seq=1 ack=1 len=5 win=65536 \"hello\"  [0, 5)
                ⋮ (client → server: 12 more data packets)
     18.229 ms  server  recv(conn, 1024) → 5 B \"hello hello hello hello hello hello hello hello hello\"  stream [0, 5)

Message map: which bytes rode in which packet
┌──────────────────────┬────────────┐
│ call                 ┆ bytes      │
╞══════════════════════╪════════════╡
│ client send #1  \"hi\" ┆ 5 B [0, 5) │
└──────────────────────┴────────────┘

✓ one recv returns both sends (sticky packet)
    server.recv#1 returned 5 \"hello\"

· capture on: 17 packets, 0 dropped, 0 truncated
";

    /// Lines in view: inside code fences, outside `<details>`.
    fn in_view(md: &str) -> Vec<&str> {
        let (mut folded, mut fenced, mut out) = (false, false, Vec::new());
        for l in md.lines() {
            match l {
                "<details>" => folded = true,
                "</details>" => folded = false,
                _ if l.starts_with("```") => fenced = !fenced,
                _ if fenced && !folded => out.push(l),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn packets_and_the_map_are_folded_and_the_rest_fits() {
        let md = page(PAGE);
        let view = in_view(&md);
        assert!(view.iter().all(|l| l.chars().count() <= WIDTH), "{md}");
        assert!(!view.iter().any(|l| l.contains("seq=")), "{md}");
        assert!(!view.iter().any(|l| l.contains("Message map")), "{md}");
        // Where the packets went, in view.
        assert!(
            view.contains(&"                ┆ #1–#3  SYN  SYN,ACK  ACK"),
            "{md}"
        );
        // A stretch with rows left out names no flags.
        assert!(view.contains(&"                ┆ #4"), "{md}");
        assert!(md.contains(
            "<summary>17 packets on the wire, among the calls (click to show)</summary>"
        ));
        assert!(md.contains(
            "<summary>Message map: which bytes rode in which packet (click to show)</summary>"
        ));
        // Folded, every row is whole.
        for line in PAGE
            .lines()
            .filter(|l| l.contains(" ms  #") || l.starts_with('│'))
        {
            assert!(md.lines().any(|l| l == line), "{line} is not in\n{md}");
        }
        assert!(view.contains(&"· capture on: 17 packets, 0 dropped, 0 truncated"));
    }

    #[test]
    fn a_long_row_goes_on_under_its_call_with_a_mark() {
        let md = page(PAGE);
        let view = in_view(&md);
        let at = view
            .iter()
            .position(|l| l.contains("recv(conn, 1024)"))
            .expect("the recv row");
        assert!(view[at + 1].starts_with(&format!("{}{GOES_ON}", " ".repeat(24))));
        // Put back together, the row is the one `lab run` printed.
        let mut joined = view[at].to_string();
        for l in &view[at + 1..] {
            let Some(rest) = l.trim_start().strip_prefix(GOES_ON) else {
                break;
            };
            joined.push_str(rest);
        }
        assert!(joined.contains("stream [0, 5)"), "{joined}");
        assert_eq!(
            joined.replace(' ', ""),
            PAGE.lines()
                .find(|l| l.contains("recv(conn, 1024)"))
                .unwrap()
                .replace(' ', "")
        );
    }

    #[test]
    fn a_page_without_a_timeline_is_one_block() {
        let md = page("$ lab list\n01  one\n02  two\n");
        assert_eq!(md, "```text\n$ lab list\n01  one\n02  two\n```\n");
    }
}
