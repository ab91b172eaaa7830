//! Transcripts: what `lab` printed, trimmed for a page, and the key that
//! says whether two transcripts tell the same story.
//!
//! A run is never printed the same way twice. Ports are picked by the
//! kernel, times move by microseconds, the two actors' rows interleave in a
//! different order, a delayed ACK comes or does not, and a receiver that
//! drains a full buffer gets 4096 bytes one time and 2048 the next. None of
//! that is what a chapter teaches, so none of it may make the book "stale".
//!
//! So a transcript keeps the real output of one run (real ports, real
//! times), and staleness is judged on a *key* computed from it:
//!
//! - each actor's calls, in that actor's order, and each direction's data
//!   packets, in order: the order *between* actors and directions is
//!   timing, so the key does not look at it;
//! - with times, ports, fd numbers, windows, wait times, spin counts and
//!   packet numbers masked, and pure ACKs (whose number depends on delayed
//!   ACK timing) left out;
//! - where a long run of alike rows was trimmed, the rows kept are compared
//!   by shape only (op and result class), because how a bulk transfer was
//!   cut varies from run to run.
//!
//! `lab book` rewrites a transcript only when its key changed, so the files
//! do not churn, and `lab book --check` fails when a fresh run's key differs
//! from the stored one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

/// A run of alike rows of one stream longer than this is trimmed.
const RUN_MIN: usize = 8;
/// Rows kept at the start and at the end of a trimmed run.
const RUN_HEAD: usize = 3;
const RUN_TAIL: usize = 2;
/// After trimming runs, a stream with more rows than this keeps its first
/// `CAP_HEAD` and last `CAP_TAIL` rows.
const CAP: usize = 40;
const CAP_HEAD: usize = 30;
const CAP_TAIL: usize = 6;

/// Where the lab's own explanation was left out of a run transcript.
pub const EXPLAIN_LEFT_OUT: &str =
    "[\"What you just saw\": the lab's own explanation is printed here; the chapter tells it]";

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}

/// `   17.362 ms  server  socket(...)`: time, second column, the rest.
static ROW: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*\d+\.\d{3} ms  (\S+)\s+(.*)$"));

/// One timeline row, parsed enough to trim and compare it.
#[derive(Debug, Clone)]
struct Row {
    /// `server`, or `pkt client → server` (data), or `ack client → server`.
    stream: String,
    /// Op and result class (calls), flags and data-or-not (packets).
    shape: String,
    /// The row after its time column.
    body: String,
    /// A packet row (capture) rather than a call.
    packet: bool,
    /// A packet with only the ACK flag and no payload.
    pure_ack: bool,
    /// A row where `lab run` itself left rows out (`… 57 more recv calls
    /// and 171 packets`); which rows it leaves out depends on timing.
    elided: bool,
}

fn parse_row(line: &str) -> Option<Row> {
    let caps = ROW.captures(line)?;
    let col = caps.get(1)?.as_str();
    let rest = caps.get(2)?.as_str();
    let body = format!("{col}  {rest}");
    if col.starts_with('#') {
        // `client → server  PSH,ACK  seq=1 ...`: direction, flags, fields.
        let (direction, after) = rest.split_once("  ").unwrap_or((rest, ""));
        let after = after.trim_start();
        let flags = after.split_whitespace().next().unwrap_or("");
        let empty = after.contains(" len=0 ") || after.ends_with(" len=0");
        let pure_ack = flags == "ACK" && empty;
        let flags = flags.replace("PSH,", "").replace(",PSH", "");
        let kind = if pure_ack { "ack" } else { "pkt" };
        let data = if empty { "empty" } else { "data" };
        return Some(Row {
            stream: format!("{kind} {direction}"),
            shape: format!("{flags} {data}"),
            body,
            packet: true,
            pure_ack,
            elided: false,
        });
    }
    let op = rest.split('(').next().unwrap_or("");
    let result = rest
        .split_once(" → ")
        .map(|(_, r)| r.trim_start())
        .unwrap_or("");
    let class = if result.starts_with("0 B") || result == "0" {
        "zero"
    } else if result.starts_with(|c: char| c.is_ascii_digit()) {
        "value"
    } else if result.starts_with('E') {
        "error"
    } else {
        result.split_whitespace().next().unwrap_or("")
    };
    Some(Row {
        stream: col.to_string(),
        shape: format!("{op} {class}"),
        body,
        packet: false,
        pure_ack: false,
        elided: rest.starts_with('…'),
    })
}

/// A timeline row, for drawing (see `diagram`).
pub enum Line {
    /// A call: the actor and the row after the actor's name.
    Call { actor: String, text: String },
    /// A packet: sender, receiver, and the row after them (flags onwards).
    Packet {
        from: String,
        to: String,
        text: String,
    },
    /// Rows left out, and what the page or `lab run` said about them.
    Gap(String),
}

/// The timeline rows of a `lab run` transcript, in order.
pub fn timeline(transcript: &str) -> Vec<Line> {
    let mut out = Vec::new();
    for line in split(transcript).timeline {
        if let Some(inner) = line.split_once("⋮ (").map(|(_, r)| r) {
            out.push(Line::Gap(inner.trim_end_matches(')').to_string()));
            continue;
        }
        let Some(c) = ROW.captures(line) else {
            continue;
        };
        let (col, rest) = (c[1].to_string(), c[2].to_string());
        if col.starts_with('#') {
            let (direction, after) = rest.split_once("  ").unwrap_or((&rest, ""));
            if let Some((from, to)) = direction.split_once(" → ") {
                out.push(Line::Packet {
                    from: from.trim().to_string(),
                    to: to.trim().to_string(),
                    text: after.trim_start().to_string(),
                });
            }
        } else if rest.starts_with('…') {
            out.push(Line::Gap(rest.trim_start_matches('…').trim().to_string()));
        } else {
            out.push(Line::Call {
                actor: col,
                text: rest,
            });
        }
    }
    out
}

/// The parts of `lab run`'s human output.
#[derive(Debug, Default)]
struct Parts<'a> {
    head: Vec<&'a str>,
    timeline: Vec<&'a str>,
    /// Map, verdicts and the capture line, in order; the explanation is cut.
    tail: Vec<&'a str>,
    explained: bool,
}

fn split(output: &str) -> Parts<'_> {
    let mut parts = Parts::default();
    let mut lines = output.lines().peekable();
    // The head ends with the column titles of the timeline.
    for line in lines.by_ref() {
        parts.head.push(line);
        if line.contains("call → result") {
            break;
        }
    }
    while let Some(line) = lines.peek() {
        if ROW.is_match(line) || line.trim_start().starts_with("⋮ (") {
            parts.timeline.push(line);
            lines.next();
        } else {
            break;
        }
    }
    let mut in_explain = false;
    for line in lines {
        if line.trim() == "What you just saw" {
            in_explain = true;
            parts.explained = true;
            continue;
        }
        if in_explain {
            let capture_line = line.starts_with("· capture") || line.starts_with("capture off");
            if !capture_line {
                continue;
            }
            in_explain = false;
        }
        parts.tail.push(line);
    }
    parts
}

/// Which timeline rows a page keeps: runs of alike rows and over-long
/// streams are trimmed.
fn plan(rows: &[Option<Row>]) -> Vec<bool> {
    let mut keep = vec![true; rows.len()];
    let mut streams: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if let Some(r) = r {
            streams.entry(r.stream.as_str()).or_default().push(i);
        }
    }
    for idx in streams.values() {
        // Runs of the same shape, within this stream.
        let mut start = 0;
        while start < idx.len() {
            let shape = &rows[idx[start]].as_ref().expect("indexed rows exist").shape;
            let mut end = start;
            while end < idx.len() && &rows[idx[end]].as_ref().expect("row").shape == shape {
                end += 1;
            }
            if end - start >= RUN_MIN {
                for (k, &i) in idx[start..end].iter().enumerate() {
                    keep[i] = k < RUN_HEAD || k >= end - start - RUN_TAIL;
                }
            }
            start = end;
        }
        // A stream still too long keeps its start and its end.
        let kept: Vec<usize> = idx.iter().copied().filter(|&i| keep[i]).collect();
        if kept.len() > CAP {
            for (k, &i) in kept.iter().enumerate() {
                if k >= CAP_HEAD && k < kept.len() - CAP_TAIL {
                    keep[i] = false;
                }
            }
        }
    }
    keep
}

/// Trims `lab run` output for a page: long runs of alike rows become their
/// first and last rows with a `⋮` line saying how many were left out, and
/// the lab's explanation (which the chapter tells in its own words) is left
/// out. Any other output is kept whole.
pub fn trim(output: &str) -> String {
    let parts = split(output);
    if parts.timeline.is_empty() {
        return ensure_newline(output.to_string());
    }
    let rows: Vec<Option<Row>> = parts.timeline.iter().map(|l| parse_row(l)).collect();
    let keep = plan(&rows);
    let mut out: Vec<String> = parts.head.iter().map(|s| s.to_string()).collect();
    // A dropped stretch of a stream is announced once, where it starts.
    let mut announced: BTreeMap<String, bool> = BTreeMap::new();
    for (i, line) in parts.timeline.iter().enumerate() {
        let Some(row) = &rows[i] else {
            out.push(line.to_string());
            continue;
        };
        if keep[i] {
            announced.insert(row.stream.clone(), false);
            out.push(line.to_string());
            continue;
        }
        if announced.get(&row.stream).copied().unwrap_or(false) {
            continue;
        }
        announced.insert(row.stream.clone(), true);
        // Count this stretch: the stream's rows from here to its next kept row.
        let n = (i..rows.len())
            .filter_map(|j| rows[j].as_ref().map(|r| (j, r)))
            .filter(|(_, r)| r.stream == row.stream)
            .take_while(|(j, _)| !keep[*j])
            .count();
        out.push(format!("{:>14}  ⋮ {}", "", dropped(row, n)));
    }
    let tail = trim_map(&parts.tail);
    if parts.explained {
        // Keep the blank line before the capture line, drop the explanation.
        out.extend(tail.before_capture);
        out.push(EXPLAIN_LEFT_OUT.to_string());
        out.push(String::new());
        out.extend(tail.capture);
    } else {
        out.extend(tail.before_capture);
        out.extend(tail.capture);
    }
    ensure_newline(out.join("\n"))
}

fn dropped(row: &Row, n: usize) -> String {
    let what = row.shape.split_whitespace().next().unwrap_or("");
    let plural = if n == 1 { "" } else { "s" };
    if row.pure_ack {
        let dir = row.stream.trim_start_matches("ack ");
        format!("({dir}: {n} more ACK{plural})")
    } else if row.packet {
        let dir = row.stream.trim_start_matches("pkt ");
        let what = if row.shape.ends_with(" data") {
            "data"
        } else {
            what
        };
        format!("({dir}: {n} more {what} packet{plural})")
    } else {
        format!("({}: {n} more {what} call{plural})", row.stream)
    }
}

/// The stream a `⋮ (...)` line speaks for.
fn dropped_stream(line: &str) -> Option<String> {
    let inner = line.split_once("⋮ (")?.1;
    let (name, what) = inner.split_once(": ")?;
    Some(if what.ends_with("ACK)") || what.ends_with("ACKs)") {
        format!("ack {name}")
    } else if what.ends_with("packet)") || what.ends_with("packets)") {
        format!("pkt {name}")
    } else {
        name.to_string()
    })
}

fn ensure_newline(mut s: String) -> String {
    while s.ends_with("\n\n") {
        s.pop();
    }
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

struct Tail {
    before_capture: Vec<String>,
    capture: Vec<String>,
}

/// The message map's rows are trimmed like the timeline: per actor and op,
/// a long run keeps its first and last rows.
fn trim_map(tail: &[&str]) -> Tail {
    let groups = map_groups(tail);
    let mut before = Vec::new();
    let mut capture = Vec::new();
    let mut announced: BTreeMap<String, bool> = BTreeMap::new();
    for (i, line) in tail.iter().enumerate() {
        if line.starts_with("· capture") || line.starts_with("capture off") {
            capture.push(line.to_string());
            continue;
        }
        match groups.get(&i) {
            Some((group, true)) => {
                announced.insert(group.clone(), false);
                before.push(line.to_string());
            }
            Some((group, false)) => {
                if !announced.get(group).copied().unwrap_or(false) {
                    announced.insert(group.clone(), true);
                    let n = groups
                        .range(i..)
                        .filter(|(_, (g, _))| g == group)
                        .take_while(|(_, (_, k))| !k)
                        .count();
                    let plural = if n == 1 { "" } else { "s" };
                    before.push(format!("│ ⋮ ({group}: {n} more row{plural})"));
                }
            }
            None => before.push(line.to_string()),
        }
    }
    Tail {
        before_capture: relayout_map(before),
        capture,
    }
}

/// Cells longer than this are cut for the page.
const CELL_MAX: usize = 64;

/// Lays the message map out again with long cells cut: a bulk transfer's
/// "rode in" lists hundreds of packets, which no page can show.
fn relayout_map(lines: Vec<String>) -> Vec<String> {
    let Some(title) = lines.iter().position(|l| l.starts_with("Message map")) else {
        return lines;
    };
    let end = lines[title..]
        .iter()
        .position(|l| l.starts_with('└'))
        .map_or(lines.len(), |e| title + e + 1);
    let mut rows: Vec<Vec<String>> = Vec::new();
    for l in &lines[title + 1..end] {
        if l.starts_with('│') {
            let inner = l.trim_start_matches('│').trim_end_matches('│');
            rows.push(inner.split('┆').map(|c| c.trim().to_string()).collect());
        }
    }
    if rows.is_empty() {
        return lines;
    }
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(rows[0].clone());
    for row in &rows[1..] {
        table.add_row(row.iter().map(|c| cut_cell(c)).collect::<Vec<_>>());
    }
    let mut out: Vec<String> = lines[..=title].to_vec();
    out.extend(table.to_string().lines().map(|l| l.trim_end().to_string()));
    out.extend(lines[end..].iter().cloned());
    out
}

/// `#4, #6, #8, #9, ...` keeps its first packets and says how many in all;
/// a long list of sources keeps what fits.
fn cut_cell(cell: &str) -> String {
    if cell.chars().count() <= CELL_MAX {
        return cell.to_string();
    }
    let items: Vec<&str> = cell.split(", ").collect();
    if items.len() > 4 && items.iter().all(|i| i.starts_with('#')) {
        return format!("{}, … ({} packets)", items[..3].join(", "), items.len());
    }
    let parts: Vec<&str> = cell.split(" + ").collect();
    let mut kept = String::new();
    for (i, p) in parts.iter().enumerate() {
        let next = if i == 0 {
            p.to_string()
        } else {
            format!("{kept} + {p}")
        };
        if next.chars().count() > CELL_MAX && i > 0 {
            return format!("{kept} + … ({} pieces)", parts.len());
        }
        kept = next;
    }
    kept
}

/// Map rows by line index: (group `client send`, kept).
fn map_groups(tail: &[&str]) -> BTreeMap<usize, (String, bool)> {
    let mut by_group: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut in_map = false;
    for (i, line) in tail.iter().enumerate() {
        if line.starts_with("Message map") {
            in_map = true;
            continue;
        }
        if in_map && line.trim().is_empty() {
            in_map = false;
        }
        let first = line.trim_start_matches('│').trim_start();
        if in_map
            && line.starts_with('│')
            && i > 0
            && !is_map_title(line)
            && !first.starts_with('…')
        {
            let group = map_group(line);
            by_group.entry(group).or_default().push(i);
        }
    }
    let mut out = BTreeMap::new();
    for (group, idx) in by_group {
        let n = idx.len();
        for (k, i) in idx.into_iter().enumerate() {
            let kept = n < RUN_MIN || k < RUN_HEAD || k >= n - RUN_TAIL;
            out.insert(i, (group.clone(), kept));
        }
    }
    out
}

fn is_map_title(line: &str) -> bool {
    let cells: Vec<&str> = line.trim_matches('│').split('┆').map(str::trim).collect();
    cells.first() == Some(&"call") && cells.get(1) == Some(&"bytes")
}

/// `│ client send #1  "hello"  ┆ ...` → `client send`.
fn map_group(line: &str) -> String {
    let first = line.trim_start_matches('│').split('┆').next().unwrap_or("");
    first
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Ops whose result is a measurement (a rate, a count within a time
/// budget): compared by shape only.
const MEASURED: &[&str] = &["bench "];

/// Masks applied to every row of the key.
static MASKS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        // Ports the kernel picked (IPv4 and IPv6 loopback).
        (re(r"(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]):\d+"), "$1:P"),
        (re(r"port \d+"), "port P"),
        // A private directory per run for AF_UNIX socket files.
        (re(r"socket-lab-\d+-\d+"), "socket-lab-RUN"),
        (re(r"\s*fragment id=\d+ offset=\d+( more)?"), ""),
        (re(r"fd \d+"), "fd N"),
        // Clock readings (a time server's answer) and rates.
        (re(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?"), "DATE"),
        (re(r" ack=\d+"), ""),
        (re(r"#\d+"), "#"),
        (re(r" win=\d+"), ""),
        // How long a call waited, and how often a loop spun.
        (re(r",? ?waited [\d.]+ (ms|µs),?"), ""),
        (re(r"after [\d.]+ (ms|µs)"), "after D"),
        (re(r"×\d+ in a row within [\d.]+ (ms|µs)"), "×N in a row"),
        (re(r"[\d.]+ ?(msg|B|KiB|MiB)/s"), "R/s"),
        (re(r"[\d.]+ (ms|µs)"), "D"),
        (re(r"[\d.]+× the rate"), "X× the rate"),
        (re(r"\s+"), " "),
    ]
});

static DIGITS: LazyLock<Regex> = LazyLock::new(|| re(r"\d+"));

fn mask(s: &str) -> String {
    let mut s = mask_random_bytes(s);
    for (pattern, with) in MASKS.iter() {
        s = pattern.replace_all(&s, *with).into_owned();
    }
    s.trim().to_string()
}

/// Random bytes (a challenge, a MAC) differ in every run. A preview with
/// many `\x` escapes is taken for them: from the payload's opening quote
/// to the row's last quote becomes `"BYTES"`. (Previews do not escape
/// quotes, so the payload's own end cannot be found any better.)
fn mask_random_bytes(s: &str) -> String {
    if s.matches("\\x").count() < 4 {
        return s.to_string();
    }
    let from = s
        .find(" → ")
        .map(|i| i + " → ".len())
        .into_iter()
        .chain(s.find(" len="))
        .max()
        .unwrap_or(0);
    match (s[from..].find('"').map(|i| i + from), s.rfind('"')) {
        (Some(a), Some(b)) if b > a => format!("{}\"BYTES\"{}", &s[..a], &s[b + 1..]),
        _ => s.to_string(),
    }
}

/// A shape-only version of a line: its numbers and quoted bytes masked.
/// Payload previews are not escaped for quotes, so everything from the
/// first to the last quote goes.
fn loosen(s: &str) -> String {
    let s = match (s.find('"'), s.rfind('"')) {
        (Some(a), Some(b)) if b > a => format!("{}\"…\"{}", &s[..a], &s[b + 1..]),
        _ => s.to_string(),
    };
    DIGITS.replace_all(&s, "N").into_owned()
}

/// What a transcript says, with the run-to-run noise masked. Two keys are
/// compared pairwise: a stream that either page trimmed is compared loosely
/// on both sides.
pub struct Key {
    /// Head, verdicts and the capture line, tagged `H`, `V` or `C`.
    fixed: Vec<(char, String)>,
    /// Rows per stream: (op, masked row).
    streams: BTreeMap<String, Vec<(String, String)>>,
    /// Streams the page trimmed (a `⋮` line).
    trimmed: BTreeSet<String>,
    /// `lab run` itself left rows out somewhere.
    elided: bool,
    /// Message map rows per group (`client send`), and trimmed groups.
    map: BTreeMap<String, Vec<String>>,
    map_trimmed: BTreeSet<String>,
    /// The run had packet capture on.
    pub captured: bool,
}

impl Key {
    /// The key as text, as compared against `other`.
    fn text(&self, other: &Key) -> String {
        let captured = self.captured && other.captured;
        let elided = self.elided || other.elided;
        let mut out = String::new();
        for (tag, l) in &self.fixed {
            if captured || *tag != 'C' {
                out.push_str(&format!("{tag} {l}\n"));
            }
        }
        for (stream, rows) in &self.streams {
            let packets = stream.starts_with("pkt ");
            if packets && !captured {
                continue;
            }
            let loose = elided || self.trimmed.contains(stream) || other.trimmed.contains(stream);
            let mut lines: Vec<String> = if loose {
                // Which rows of a trimmed stream are on a page, and how a
                // bulk transfer was cut, vary: compare the kinds of call
                // (or the flags of packets) the stream has.
                rows.iter().map(|(op, _)| op.clone()).collect()
            } else {
                rows.iter().map(|(_, r)| r.clone()).collect()
            };
            // Several peers of one actor (clients of a UDP server) come in
            // an order that is timing: compare what happened, not its order.
            lines.sort();
            if loose {
                lines.dedup();
            }
            for l in lines {
                out.push_str(&format!(
                    "{} {stream}: {l}\n",
                    if packets { 'P' } else { 'T' }
                ));
            }
        }
        if captured {
            for (group, rows) in &self.map {
                let loose =
                    elided || self.map_trimmed.contains(group) || other.map_trimmed.contains(group);
                if loose {
                    out.push_str(&format!("M {group}: (trimmed)\n"));
                    continue;
                }
                let mut rows = rows.clone();
                rows.sort();
                for r in rows {
                    out.push_str(&format!("M {group}: {r}\n"));
                }
            }
        }
        out
    }

    /// Whether two keys tell the same story (on what both runs saw).
    pub fn same(&self, other: &Key) -> bool {
        self.text(other) == other.text(self)
    }

    /// The first line that differs, for the report.
    pub fn first_difference(&self, other: &Key) -> String {
        let (a, b) = (self.text(other), other.text(self));
        let mut la = a.lines();
        let mut lb = b.lines();
        loop {
            match (la.next(), lb.next()) {
                (Some(x), Some(y)) if x == y => continue,
                (x, y) => {
                    return format!(
                        "book has `{}`, a fresh run gives `{}`",
                        x.unwrap_or("(nothing)"),
                        y.unwrap_or("(nothing)")
                    );
                }
            }
        }
    }
}

/// Consecutive bulk reads of one socket (a buffer of 4 KiB or more) become
/// one row with the stream range they covered: how the kernel cut a large
/// transfer into reads varies from run to run, the range does not.
fn merge_bulk_reads(rows: Vec<(String, String)>) -> Vec<(String, String)> {
    static READ: LazyLock<Regex> =
        LazyLock::new(|| re(r"^(\S+) recv\((\w+), (\d+)\) → \d+ B .*stream \[(\d+), (\d+)\)"));
    let mut out: Vec<(String, String)> = Vec::new();
    // (actor, socket, start, end, bulk) of the pending run of reads.
    let mut run: Option<(String, String, u64, u64, bool)> = None;
    let flush = |run: &mut Option<(String, String, u64, u64, bool)>,
                 out: &mut Vec<(String, String)>,
                 pending: &mut Vec<(String, String)>| {
        if let Some((actor, sock, a, b, bulk)) = run.take() {
            if bulk {
                out.push((
                    "recv".into(),
                    format!("{actor} recv({sock}, …) → stream [{a}, {b})"),
                ));
            } else {
                out.append(pending);
            }
        }
        pending.clear();
    };
    let mut pending: Vec<(String, String)> = Vec::new();
    for (op, row) in rows {
        let caps = READ.captures(&row).map(|c| {
            let n = |i: usize| c[i].parse::<u64>().unwrap_or(0);
            (c[1].to_string(), c[2].to_string(), n(3), n(4), n(5))
        });
        match (caps, run.as_mut()) {
            (Some((actor, sock, size, a, b)), Some(r))
                if r.0 == actor && r.1 == sock && r.3 == a =>
            {
                r.3 = b;
                r.4 |= size >= 4096;
                pending.push((op, row));
            }
            (Some((actor, sock, size, a, b)), _) => {
                flush(&mut run, &mut out, &mut pending);
                run = Some((actor, sock, a, b, size >= 4096));
                pending.push((op, row));
            }
            (None, _) => {
                flush(&mut run, &mut out, &mut pending);
                out.push((op, row));
            }
        }
    }
    flush(&mut run, &mut out, &mut pending);
    out
}

/// Consecutive TCP segments of one direction become one row with the
/// stream range they carried, and a FIN its own row whether or not it rode
/// on the last data: how the kernel cut the stream into segments (Nagle,
/// autocorking, the window) varies from run to run, the bytes do not.
fn merge_segments(rows: Vec<(String, String)>) -> Vec<(String, String)> {
    static RANGE: LazyLock<Regex> = LazyLock::new(|| re(r"\[(\d+), (\d+)\)$"));
    let mut out: Vec<(String, String)> = Vec::new();
    let mut run: Option<(u64, u64)> = None;
    let flush = |run: &mut Option<(u64, u64)>, out: &mut Vec<(String, String)>| {
        if let Some((a, b)) = run.take() {
            out.push(("data".into(), format!("data [{a}, {b})")));
        }
    };
    for (op, row) in rows {
        let fin = op.contains("FIN");
        match RANGE.captures(&row) {
            Some(c) => {
                let (a, b) = (c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(0));
                match run.as_mut() {
                    Some(r) if r.1 == a => r.1 = b,
                    _ => {
                        flush(&mut run, &mut out);
                        run = Some((a, b));
                    }
                }
            }
            None if fin => {}
            None => {
                flush(&mut run, &mut out);
                out.push((op, row));
            }
        }
        if fin {
            flush(&mut run, &mut out);
            out.push(("FIN".into(), "FIN".into()));
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The key of a transcript (a page's text, already trimmed).
pub fn key(transcript: &str) -> Key {
    let parts = split(transcript);
    let mut key = Key {
        fixed: Vec::new(),
        streams: BTreeMap::new(),
        trimmed: BTreeSet::new(),
        elided: false,
        map: BTreeMap::new(),
        map_trimmed: BTreeSet::new(),
        captured: false,
    };
    for l in &parts.head {
        let tag = if l.starts_with("capture off") {
            'C'
        } else {
            'H'
        };
        key.fixed.push((tag, mask(l)));
    }
    // The timeline, per stream.
    key.trimmed = parts
        .timeline
        .iter()
        .filter_map(|l| dropped_stream(l))
        .collect();
    let rows: Vec<Row> = parts.timeline.iter().filter_map(|l| parse_row(l)).collect();
    key.elided = rows.iter().any(|r| r.elided);
    let mut streams: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for row in &rows {
        // IP fragments of a large datagram: whether the capture sees each
        // one depends on the capture's timing; the datagram row says it.
        if row.pure_ack || row.elided || row.body.contains("IP-FRAG") {
            continue;
        }
        // The op of a call, the flags of a packet.
        let op = row
            .shape
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        let body = if MEASURED.iter().any(|m| row.shape.starts_with(m)) {
            // Only that the measurement ran: its numbers and wording vary.
            format!("{op}(measured)")
        } else {
            mask(&row.body)
        };
        streams
            .entry(row.stream.clone())
            .or_default()
            .push((op, body));
    }
    key.streams = streams
        .into_iter()
        .map(|(s, rows)| {
            let rows = if s.starts_with("pkt ") {
                merge_segments(rows)
            } else {
                merge_bulk_reads(rows)
            };
            (s, rows)
        })
        .collect();
    // The map's rows of bulk reads are cut the same varying way.
    for (stream, rows) in &key.streams {
        if rows
            .iter()
            .any(|(_, r)| r.contains("recv(") && r.contains(", …) → stream"))
        {
            key.map_trimmed.insert(format!("{stream} recv"));
        }
    }
    // Map rows per group; verdicts and the rest in order.
    let mut in_map = false;
    let mut verdict_detail = false;
    let mut capture_verdict = false;
    for l in &parts.tail {
        if l.starts_with("Message map") {
            in_map = true;
            continue;
        }
        if in_map {
            if l.trim().is_empty() {
                in_map = false;
            } else {
                let first = l.trim_start_matches('│').trim_start();
                if let Some(group) = dropped_stream(l) {
                    key.map_trimmed.insert(group);
                } else if first.starts_with('…') {
                    // `lab run` left map rows out itself.
                    key.elided = true;
                } else if l.starts_with('│') && !is_map_title(l) {
                    let cells: Vec<&str> = l.trim_matches('│').split('┆').collect();
                    // "rode in" (packet numbers) depends on segmentation.
                    let kept: Vec<String> = cells
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != 2)
                        .map(|(_, c)| mask(c))
                        .collect();
                    key.map
                        .entry(map_group(l))
                        .or_default()
                        .push(kept.join(" | "));
                }
                continue;
            }
        }
        if l.trim().is_empty() || *l == EXPLAIN_LEFT_OUT {
            continue;
        }
        if l.starts_with('✓') || l.starts_with('✗') {
            capture_verdict = l.contains("capture");
            verdict_detail = true;
            key.fixed
                .push((if capture_verdict { 'C' } else { 'V' }, mask(l)));
            continue;
        }
        if l.starts_with("· capture") || l.starts_with("capture off") {
            key.captured = l.starts_with("· capture on");
            key.fixed.push(('C', loosen(&mask(l))));
            continue;
        }
        let tag = if capture_verdict { 'C' } else { 'V' };
        if verdict_detail {
            // The detail line under a verdict carries counts and sizes of
            // this run; its numbers are masked.
            key.fixed.push((tag, loosen(&mask(l))));
            verdict_detail = false;
        } else {
            key.fixed.push((tag, mask(l)));
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "\
09-sticky-packet  Sticky packets   (course ch. 9-10)
knobs: delay_ms=100

          time  actor   call → result
     17.362 ms  server  socket(AF_INET, SOCK_STREAM) → fd 5
     17.457 ms  server  bind(srv, 127.0.0.1:0) → 0  at 127.0.0.1:53611
     17.512 ms  client  socket(AF_INET, SOCK_STREAM) → fd 7
     17.600 ms  #1      client → server  SYN      seq=0 len=0 win=65495 mss=65495
     17.673 ms  client  connect(sock, 127.0.0.1:53611) → 0  127.0.0.1:45336 ⇄ 127.0.0.1:53611
     17.805 ms  #2      client → server  PSH,ACK  seq=1 ack=1 len=5 win=65536 \"hello\"  [0, 5)
     17.816 ms  #3      server → client  ACK      seq=1 ack=6 len=0 win=65536
     17.977 ms  server  accept(srv, -> conn) → fd 6  127.0.0.1:53611 ⇄ 127.0.0.1:45336
    118.229 ms  server  recv(conn, 1024) → 5 B \"hello\"  stream [0, 5)

✓ one recv returns both sends (sticky packet)
    server.recv#1 returned 5 \"hello\"

What you just saw
  TCP carries a byte stream.

· capture on: 3 packets, 0 dropped, 0 truncated
";

    #[test]
    fn trim_leaves_out_the_explanation_and_keeps_the_rows() {
        let t = trim(RUN);
        assert!(t.contains(EXPLAIN_LEFT_OUT));
        assert!(!t.contains("TCP carries a byte stream."));
        assert!(t.contains("recv(conn, 1024) → 5 B \"hello\""));
        assert!(t.ends_with("· capture on: 3 packets, 0 dropped, 0 truncated\n"));
    }

    #[test]
    fn interleaving_ports_times_and_acks_do_not_change_the_key() {
        let other = RUN
            .replace("53611", "40001")
            .replace("45336", "40002")
            .replace("118.229", "101.002")
            .replace("fd 6", "fd 9")
            .replace(
                "     17.816 ms  #3      server → client  ACK      seq=1 ack=6 len=0 win=65536\n",
                "",
            );
        // The accept row moves before the client's connect row.
        let mut lines: Vec<&str> = other.lines().collect();
        let accept = lines.iter().position(|l| l.contains("accept(")).unwrap();
        let row = lines.remove(accept);
        let connect = lines.iter().position(|l| l.contains("connect(")).unwrap();
        lines.insert(connect, row);
        let other = lines.join("\n");
        assert!(key(&trim(RUN)).same(&key(&trim(&other))));
    }

    #[test]
    fn a_changed_result_changes_the_key() {
        let other = RUN.replace("→ 5 B \"hello\"  stream", "→ 9 B \"hellofeng\"  stream");
        let (a, b) = (key(&trim(RUN)), key(&trim(&other)));
        assert!(!a.same(&b));
        assert!(a.first_difference(&b).contains("hellofeng"));
    }

    #[test]
    fn without_capture_only_the_calls_are_compared() {
        let no_capture: String = RUN
            .lines()
            .filter(|l| !l.contains("  #"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .replace(
                "· capture on: 3 packets, 0 dropped, 0 truncated",
                "· capture off: not permitted",
            );
        let (a, b) = (key(&trim(RUN)), key(&trim(&no_capture)));
        assert!(a.captured && !b.captured);
        assert!(a.same(&b));
    }

    #[test]
    fn a_long_run_of_alike_rows_is_trimmed_and_compared_by_shape() {
        let mut a = String::from("x\n\n          time  actor   call → result\n");
        let mut b = a.clone();
        for i in 0..20 {
            let n = if i % 3 == 0 { 2048 } else { 4096 };
            a.push_str(&format!(
                "      1.{i:03} ms  server  recv(conn, 65536) → 4096 B \"abc\"  stream [{}, {})\n",
                i * 4096,
                (i + 1) * 4096
            ));
            b.push_str(&format!(
                "      1.{i:03} ms  server  recv(conn, 65536) → {n} B \"xyz\"  stream [{}, {})\n",
                i * n,
                (i + 1) * n
            ));
        }
        let t = trim(&a);
        assert!(t.contains("⋮ (server: 15 more recv calls)"), "{t}");
        assert_eq!(t.matches("recv(conn").count(), RUN_HEAD + RUN_TAIL);
        assert!(key(&t).same(&key(&trim(&b))));
    }
}
