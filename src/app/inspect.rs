//! `lab inspect FILE`: a pcap or pcapng file shown as `lab capture` shows
//! live traffic (see [`super::watch`]): a row per packet, then the byte
//! streams; or one conversation (`--stream`), a line per conversation
//! (`--stats`), packets layer by layer (`--detail`). `--filter` picks
//! packets in the same timeline stage as for a live capture
//! ([`Timeline::filtered`]), after every packet has been numbered.

use std::io::Write;
use std::path::Path;

use colored::Colorize;

use super::drawing::Drawings;
use super::run::View;
use super::watch::{Watcher, display_filter};
use super::{Failure, Outcome};
use crate::conversations::{Conversations, Kind};
use crate::filter::DisplayFilter;
use crate::pcap::{PcapFile, read_pcap};
use crate::timeline::Timeline;
use crate::trace::{Event, Packet};

/// Options of `lab inspect`.
pub struct InspectArgs<'a> {
    pub json: bool,
    pub detail: Option<crate::cli::Detail>,
    /// With `detail`: the bytes pane too.
    pub hex: bool,
    pub stream: Option<(Kind, usize)>,
    pub stats: bool,
    /// `--filter`: the display filter, as typed.
    pub filter: Option<&'a str>,
    /// Draw the packets as a sequence diagram in this SVG file (`--svg`).
    pub svg: Option<std::path::PathBuf>,
    /// Write the packets as a web page to explore (`--html`).
    pub html: Option<std::path::PathBuf>,
}

/// `lab inspect FILE`: the same view as `lab capture`, from a file.
pub fn inspect(out: &mut dyn Write, path: &Path, args: &InspectArgs) -> Outcome {
    // A bad filter is bad input before the file is even read.
    let mut filter = display_filter(args.filter)?;
    let mut file = read_pcap(path).map_err(|e| Failure::Usage(e.to_string()))?;
    if let Some((kind, n)) = args.stream {
        let conversations = Conversations::of(&decoded(&file));
        if conversations.find(kind, n).is_none() {
            let count = conversations.list.iter().filter(|c| c.kind == kind).count();
            return Err(Failure::Usage(format!(
                "{} has {count} {} conversations (numbered from 0): there is no {}:{n}",
                path.display(),
                kind.name(),
                kind.name()
            )));
        }
        // Following a stream is the filter `tcp.stream == n`.
        let stream = DisplayFilter::stream(kind, n);
        filter = Some(match filter {
            Some(f) => f.and(stream),
            None => stream,
        });
    }
    if args.detail.is_some() || args.stats {
        let packets = decoded(&file);
        let matched = match &filter {
            Some(f) => matching(&packets, f),
            None => vec![true; packets.len()],
        };
        if let Some(detail) = args.detail {
            return in_detail(out, path, &file, detail, &matched, args.hex);
        }
        stats(
            out,
            &Conversations::of_counted(&packets, &matched),
            args.json,
        )?;
        return cut_short(out, &file);
    }
    let mut drawings = Drawings::open(args.svg.as_deref(), args.html.as_deref(), || {
        let mut title = format!("lab inspect {}", path.display());
        if let Some(f) = args.filter {
            title.push_str(&format!(" --filter '{f}'"));
        }
        if let Some((kind, n)) = args.stream {
            title.push_str(&format!(" --stream {}:{n}", kind.name()));
        }
        title
    })?;
    let mut view = Watcher::new(out, args.json);
    section_comments(view.out, &file.comments.section, args.json)?;
    let mut timeline = Timeline::new(false).passing();
    if let Some(f) = filter {
        timeline = timeline.filtered(f);
    }
    let mut comments = std::mem::take(&mut file.comments.packets).into_iter();
    for f in std::mem::take(&mut file.frames) {
        // The comments `--pcapng` wrote on this packet, shown with it.
        view.comments = comments.next().unwrap_or_default();
        if let Some(signal) = crate::signals::received() {
            view.out.flush()?;
            return Err(Failure::Interrupted(signal));
        }
        timeline.push(Event::Packet(Packet::decode(f.t_us, f.data, f.orig_len)));
        // One at a time: a file's frames are in its own order, which the
        // timeline must not sort (a capture's clock can step back).
        let mut result = Ok(());
        timeline.release(u64::MAX, |e| {
            drawings.add(e);
            if result.is_ok() {
                result = view.event(e);
            }
        });
        result?;
        // A packet the filter left out takes its comments with it.
        view.comments.clear();
    }
    // Whole even for a file cut short: it draws every packet read.
    drawings.write(view.out, !args.json)?;
    view.summary()?;
    cut_short(view.out, &file)
}

/// The comments of a pcapng file's section, before its packets: for a
/// file written by `--pcapng`, the lab or command and its actors.
fn section_comments(out: &mut dyn Write, comments: &[String], json: bool) -> std::io::Result<()> {
    if comments.is_empty() {
        return Ok(());
    }
    if json {
        let o = serde_json::json!({"kind": "file", "comments": comments});
        return writeln!(out, "{o}");
    }
    for c in comments {
        for line in c.lines() {
            writeln!(out, "{} {}", "#".dimmed(), line.cyan())?;
        }
    }
    writeln!(out)
}

/// Every frame of the file, decoded.
fn decoded(file: &PcapFile) -> Vec<Packet> {
    file.frames
        .iter()
        .map(|f| Packet::decode(f.t_us, f.data.clone(), f.orig_len))
        .collect()
}

/// For each packet, whether `filter` matches it: the packets go through
/// the timeline that `lab inspect` shows them with, so that frame numbers,
/// stream numbers and relative sequence numbers are the same.
fn matching(packets: &[Packet], filter: &DisplayFilter) -> Vec<bool> {
    let mut matched = vec![false; packets.len()];
    let mut timeline = Timeline::new(false).passing().filtered(filter.clone());
    for p in packets {
        timeline.push(Event::Packet(p.clone()));
        timeline.release(u64::MAX, |e| {
            if let Event::Packet(p) = e
                && let Some(m) = (p.info.number as usize)
                    .checked_sub(1)
                    .and_then(|i| matched.get_mut(i))
            {
                *m = true;
            }
        });
    }
    matched
}

/// What was read was shown; a file cut short is still bad input.
fn cut_short(out: &mut dyn Write, file: &PcapFile) -> Outcome {
    match &file.cut_short {
        Some(why) => {
            out.flush()?;
            Err(Failure::Usage(why.clone()))
        }
        None => Ok(true),
    }
}

/// `lab inspect FILE --stats`: a line per conversation.
fn stats(out: &mut dyn Write, conversations: &Conversations, json: bool) -> std::io::Result<()> {
    if json {
        for c in &conversations.list {
            let o = serde_json::json!({"kind": "conversation", "proto": c.kind.name(), "stream": c.number,
                "a": c.a.to_string(), "b": c.b.to_string(), "packets": c.packets, "bytes": c.bytes,
                "first_us": c.first_us, "duration_us": c.last_us - c.first_us,
                "handshake_rtt_us": c.handshake_rtt_us, "bytes_per_second": c.throughput()});
            writeln!(out, "{o}")?;
        }
        return Ok(());
    }
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    crate::render::fit(&mut table);
    table.set_header(vec![
        "stream",
        "A → B",
        "packets →/←",
        "bytes →/←",
        "lasted",
        "handshake RTT",
        "throughput",
    ]);
    for c in &conversations.list {
        table.add_row(vec![
            format!("{}:{}", c.kind.name(), c.number),
            format!("{} → {}", c.a, c.b),
            format!("{} / {}", c.packets[0], c.packets[1]),
            format!("{} / {}", c.bytes[0], c.bytes[1]),
            format!("{:.3} ms", c.duration().as_secs_f64() * 1e3),
            c.handshake_rtt_us
                .map_or("-".into(), |us| format!("{:.3} ms", us as f64 / 1e3)),
            c.throughput().map_or("-".into(), rate),
        ]);
    }
    writeln!(out, "{table}")
}

/// Bytes per second, in the unit that reads best.
fn rate(bytes_per_s: f64) -> String {
    match bytes_per_s {
        r if r >= 1e9 => format!("{:.2} GB/s", r / 1e9),
        r if r >= 1e6 => format!("{:.2} MB/s", r / 1e6),
        r if r >= 1e3 => format!("{:.2} kB/s", r / 1e3),
        r => format!("{r:.0} B/s"),
    }
}

/// `lab inspect FILE --detail N|all`: packets layer by layer (see
/// [`crate::render::layers`]), of those `matched` (by `--filter`).
fn in_detail(
    out: &mut dyn Write,
    path: &Path,
    file: &PcapFile,
    detail: crate::cli::Detail,
    matched: &[bool],
    hex: bool,
) -> Outcome {
    use crate::cli::Detail;
    let chosen: Vec<usize> = match detail {
        Detail::All => (0..file.frames.len()).filter(|&i| matched[i]).collect(),
        Detail::One(n) if n <= file.frames.len() && matched[n - 1] => vec![n - 1],
        Detail::One(n) if n <= file.frames.len() => {
            return Err(Failure::Usage(format!(
                "packet {n} of {} does not match --filter",
                path.display()
            )));
        }
        Detail::One(n) => {
            return Err(Failure::Usage(format!(
                "{} holds {} packets: there is no packet {n}",
                path.display(),
                file.frames.len()
            )));
        }
    };
    // What Wireshark's TCP analysis says of a packet needs every packet
    // before it, through the same timeline as the other views.
    let last = chosen.last().copied().unwrap_or(0);
    let mut analyses = Vec::with_capacity(last + 1);
    let mut timeline = Timeline::new(false).passing();
    for f in &file.frames[..(last + 1).min(file.frames.len())] {
        timeline.push(Event::Packet(Packet::decode(
            f.t_us,
            f.data.clone(),
            f.orig_len,
        )));
        timeline.release(u64::MAX, |e| {
            if let Event::Packet(p) = e {
                analyses.push(p.info.analysis.clone());
            }
        });
    }
    for i in chosen {
        let f = &file.frames[i];
        let analysis = analyses.get(i).and_then(Option::as_ref);
        super::detail::write(out, i as u64 + 1, f.t_us, &f.data, analysis, hex)?;
    }
    cut_short(out, file)
}
