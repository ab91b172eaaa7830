//! The key of a transcript: what it says, without the run-to-run noise.
//!
//! A run is never printed the same way twice. Ports are picked by the
//! kernel, times move by microseconds, the actors' rows interleave in a
//! different order, a delayed ACK comes or does not, a sender's bytes ride
//! in one segment or two, and a receiver that drains a full buffer gets
//! 4096 bytes one time and 2048 the next. None of that is what a chapter
//! teaches, so none of it may make the book "stale".
//!
//! So a transcript keeps the real output of one run (real ports, real
//! times), and staleness is judged on its key:
//!
//! - each actor's calls and each direction's packets, as a set: the order
//!   *between* actors, and of peers served by one actor, is timing;
//! - with times, ports, fd numbers, windows, acknowledgement numbers, wait
//!   times, spin counts, packet numbers, dates and random bytes masked, and
//!   pure ACKs (whose number depends on delayed-ACK timing) left out;
//! - consecutive segments of one direction merged into the stream range
//!   they carried, and consecutive bulk reads (a buffer of 4 KiB or more)
//!   into the range they read: how the kernel cut the bytes varies, the
//!   bytes do not;
//! - a stream that a page trimmed, or where `lab run` itself left rows
//!   out, is compared by the kinds of call it has (or the flags of its
//!   packets), since which of its rows are on the page varies;
//! - packet rows, the message map and the capture's own verdict are
//!   compared only when both runs captured, so a machine without capture
//!   privilege can still check the calls.
//!
//! `lab book` rewrites a transcript only when its key changed, so the files
//! do not churn, and `lab book --check` fails when a fresh run's key differs
//! from the stored one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

use super::transcript::{
    EXPLAIN_LEFT_OUT, Row, dropped_stream, is_map_title, map_group, parse_row, re, split,
};

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
        (re(r"socket-lab-[0-9a-f]+"), "socket-lab-RUN"),
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
            // Where `lab run` left rows out, which packets it kept on the
            // page is timing; the capture's own verdict still says whether
            // every byte was accounted for.
            if packets && (!captured || elided) {
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
    for l in parts.head.iter().filter(|l| !l.trim().is_empty()) {
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
