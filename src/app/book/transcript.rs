//! Transcripts: what `lab` printed, trimmed for a page.
//!
//! A long run prints hundreds of alike rows (a bulk transfer's reads and
//! segments). A page keeps the first and last rows of each such run, per
//! actor and per direction, with a `⋮ (...)` line saying how many it left
//! out, and cuts the message map's long cells. The lab's own explanation
//! ("What you just saw") is left out: the chapter around the transcript
//! tells it. Whether a transcript is stale is judged on its key (see
//! [`super::key`]).

use std::collections::BTreeMap;
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

pub(super) fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}

/// `   17.362 ms  server  socket(...)`: time, second column, the rest.
pub(super) static ROW: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*\d+\.\d{3} ms  (\S+)\s+(.*)$"));

/// One timeline row, parsed enough to trim and compare it.
#[derive(Debug, Clone)]
pub(super) struct Row {
    /// `server`, or `pkt client → server` (data), or `ack client → server`.
    pub(super) stream: String,
    /// Op and result class (calls), flags and data-or-not (packets).
    pub(super) shape: String,
    /// A packet row (capture) rather than a call.
    pub(super) packet: bool,
    /// A packet with only the ACK flag and no payload.
    pub(super) pure_ack: bool,
}

pub(super) fn parse_row(line: &str) -> Option<Row> {
    let caps = ROW.captures(line)?;
    let col = caps.get(1)?.as_str();
    let rest = caps.get(2)?.as_str();
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
            packet: true,
            pure_ack,
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
        packet: false,
        pure_ack: false,
    })
}

/// The parts of `lab run`'s human output.
#[derive(Debug, Default)]
pub(super) struct Parts<'a> {
    pub(super) head: Vec<&'a str>,
    pub(super) timeline: Vec<&'a str>,
    /// Map, verdicts and the capture line, in order; the explanation is cut.
    pub(super) tail: Vec<&'a str>,
    pub(super) explained: bool,
}

pub(super) fn split(output: &str) -> Parts<'_> {
    let mut parts = Parts::default();
    let mut lines = output.lines().peekable();
    // The head ends with the column titles of the timeline.
    for line in lines.by_ref() {
        parts.head.push(line);
        if line.contains("call → result") {
            break;
        }
    }
    // Without capture privilege, `lab run` says so under the column titles,
    // then leaves a blank line.
    if let Some(note) = lines.next_if(|l| l.starts_with("capture off")) {
        parts.head.push(note);
        while let Some(blank) = lines.next_if(|l| l.trim().is_empty()) {
            parts.head.push(blank);
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

pub(super) fn is_map_title(line: &str) -> bool {
    let cells: Vec<&str> = line.trim_matches('│').split('┆').map(str::trim).collect();
    cells.first() == Some(&"call") && cells.get(1) == Some(&"bytes")
}

/// `│ client send #1  "hello"  ┆ ...` → `client send`.
pub(super) fn map_group(line: &str) -> String {
    let first = line.trim_start_matches('│').split('┆').next().unwrap_or("");
    first
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
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
    fn a_long_run_of_alike_rows_is_trimmed() {
        let mut a = String::from("x\n\n          time  actor   call → result\n");
        for i in 0..20 {
            a.push_str(&format!(
                "      1.{i:03} ms  server  recv(conn, 65536) → 4096 B \"abc\"  stream [{}, {})\n",
                i * 4096,
                (i + 1) * 4096
            ));
        }
        let t = trim(&a);
        assert!(t.contains("⋮ (server: 15 more recv calls)"), "{t}");
        assert_eq!(t.matches("recv(conn").count(), RUN_HEAD + RUN_TAIL);
    }
}
