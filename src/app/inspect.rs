//! `lab inspect FILE`: a pcap or pcapng file shown as `lab capture` shows
//! live traffic (see [`super::watch`]): a row per packet, then the byte
//! streams; or one conversation (`--stream`), a line per conversation
//! (`--stats`), packets layer by layer (`--detail`). `--filter` picks
//! packets in the same timeline stage as for a live capture
//! ([`Timeline::filtered`]), after every packet has been numbered.
//!
//! The file is read a frame at a time ([`crate::pcap::Frames`]) and each
//! packet goes through the timeline ([`Timeline::pass`]) and out before
//! the next is read: a file of gigabytes costs the memory of one frame,
//! plus what the views keep per conversation (the flows' sequence
//! numbers, `--stats`' totals, the summary's first bytes of each stream;
//! see [`crate::streams`]).

use std::io::Write;
use std::path::Path;

use colored::Colorize;

use super::drawing::Drawings;
use super::run::View;
use super::watch::{Watcher, display_filter};
use super::{Failure, Outcome};
use crate::conversations::{Conversations, Kind};
use crate::filter::DisplayFilter;
use crate::pcap::{Frames, open_pcap};
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
    let frames = open_pcap(path).map_err(|e| Failure::Usage(e.to_string()))?;
    if let Some((kind, n)) = args.stream {
        // Following a stream is the filter `tcp.stream == n`.
        let stream = DisplayFilter::stream(kind, n);
        filter = Some(match filter {
            Some(f) => f.and(stream),
            None => stream,
        });
    }
    let mut timeline = Timeline::new(false).passing();
    if let Some(f) = filter {
        timeline = timeline.filtered(f);
    }
    let mut file = Reading {
        path,
        frames,
        timeline,
        stream: args.stream,
    };
    if let Some(detail) = args.detail {
        return in_detail(out, &mut file, detail, args.hex);
    }
    if args.stats {
        return stats(out, &mut file, args.json);
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
    // The sections' comments come before their packets (a file of one
    // section: all of them, before the first packet).
    let mut sections = 0;
    while let Some(p) = file.next_packet() {
        let p = p.or_else(|e| file.stopped(view.out, e))?;
        sections = section_comments(
            view.out,
            file.frames.section_comments(),
            sections,
            args.json,
        )?;
        // The comments `--pcapng` wrote on this packet, shown with it; a
        // packet the filter leaves out takes its comments with it.
        let comments = file.frames.take_comments();
        if let Some(p) = file.timeline.pass(p) {
            let event = Event::Packet(p);
            drawings.add(&event);
            view.comments = comments;
            view.event(&event)?;
        }
    }
    section_comments(
        view.out,
        file.frames.section_comments(),
        sections,
        args.json,
    )?;
    file.stream_exists()?;
    // Whole even for a file cut short: it draws every packet read.
    drawings.write(view.out, !args.json)?;
    view.summary()?;
    file.ended(view.out)
}

/// The comments of a pcapng file's sections not shown yet (those after the
/// first `shown`), before their packets: for a file written by `--pcapng`,
/// the lab or command and its actors. Returns how many are shown now.
fn section_comments(
    out: &mut dyn Write,
    comments: &[String],
    shown: usize,
    json: bool,
) -> std::io::Result<usize> {
    let new = &comments[shown.min(comments.len())..];
    if new.is_empty() {
        return Ok(comments.len());
    }
    if json {
        let o = serde_json::json!({"kind": "file", "comments": new});
        writeln!(out, "{o}")?;
        return Ok(comments.len());
    }
    for c in new {
        for line in c.lines() {
            writeln!(out, "{} {}", "#".dimmed(), line.cyan())?;
        }
    }
    writeln!(out)?;
    Ok(comments.len())
}

/// The file being read, and the timeline its packets go through.
struct Reading<'a> {
    path: &'a Path,
    frames: Frames<std::fs::File>,
    timeline: Timeline,
    /// `--stream`: the conversation followed.
    stream: Option<(Kind, usize)>,
}

impl Reading<'_> {
    /// The next frame, decoded.
    fn next_packet(&mut self) -> Option<Result<Packet, Failure>> {
        Some(
            self.next_frame()?
                .map(|f| Packet::decode(f.t_us, f.data, f.orig_len)),
        )
    }

    /// The next frame, not decoded; a stopping signal (Ctrl-C) or a file
    /// that cannot be read further ends the frames with an error.
    fn next_frame(&mut self) -> Option<Result<crate::capture::CapturedFrame, Failure>> {
        if let Some(signal) = crate::signals::received() {
            return Some(Err(Failure::Interrupted(signal)));
        }
        Some(
            self.frames
                .next()?
                .map_err(|e| Failure::Usage(e.to_string())),
        )
    }

    /// Ends the output on an error: what was shown stays shown.
    fn stopped<T>(&self, out: &mut dyn Write, e: Failure) -> Result<T, Failure> {
        out.flush()?;
        Err(e)
    }

    /// `--stream N`: whether conversation N exists, now that every packet
    /// has been numbered (when it does not, no packet matched, so nothing
    /// was shown).
    fn stream_exists(&self) -> Result<(), Failure> {
        let Some((kind, n)) = self.stream else {
            return Ok(());
        };
        let count = self
            .timeline
            .conversations()
            .map_or(0, |c| c.numbered(kind));
        if n < count {
            return Ok(());
        }
        Err(Failure::Usage(format!(
            "{} has {count} {} conversations (numbered from 0): there is no {}:{n}",
            self.path.display(),
            kind.name(),
            kind.name()
        )))
    }

    /// What was read was shown; a file cut short is still bad input.
    fn ended(&self, out: &mut dyn Write) -> Outcome {
        match self.frames.cut_short() {
            Some(why) => {
                out.flush()?;
                Err(Failure::Usage(why.to_string()))
            }
            None => Ok(true),
        }
    }
}

/// `lab inspect FILE --stats`: a line per conversation. Every packet is
/// numbered into its conversation; those the filter keeps are counted.
fn stats(out: &mut dyn Write, file: &mut Reading, json: bool) -> Outcome {
    let mut conversations = Conversations::default();
    while let Some(p) = file.next_packet() {
        let p = p.or_else(|e| file.stopped(out, e))?;
        let at = conversations.see(&p);
        if let (Some(p), Some(at)) = (file.timeline.pass(p), at) {
            conversations.count(at, &p);
        }
    }
    table(out, &conversations.counted(), json)?;
    file.ended(out)
}

/// The `--stats` lines.
fn table(out: &mut dyn Write, conversations: &Conversations, json: bool) -> std::io::Result<()> {
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
/// [`crate::render::layers`]), of those the filter keeps.
fn in_detail(
    out: &mut dyn Write,
    file: &mut Reading,
    detail: crate::cli::Detail,
    hex: bool,
) -> Outcome {
    use crate::cli::Detail;
    // Packet N was shown (`--detail N`).
    let mut shown = false;
    loop {
        // Past packet N nothing is shown: the rest is only counted (to
        // name the number of packets if N is past the end, and to find a
        // cut), unless `--stream` needs every packet numbered.
        let past = matches!(detail, Detail::One(n) if file.frames.frames_read() >= n as u64);
        if past && file.stream.is_none() {
            match file.next_frame() {
                Some(f) => f.or_else(|e| file.stopped(out, e))?,
                None => break,
            };
            continue;
        }
        let Some(p) = file.next_packet() else { break };
        let p = p.or_else(|e| file.stopped(out, e))?;
        let Some(p) = file.timeline.pass(p) else {
            continue;
        };
        if matches!(detail, Detail::One(n) if p.info.number != n as u64) {
            continue;
        }
        shown = true;
        // With what Wireshark's TCP analysis says of it, which the
        // timeline worked out from every packet before it.
        super::detail::write(
            out,
            p.info.number,
            p.t_us,
            &p.raw,
            p.info.analysis.as_ref(),
            hex,
        )?;
    }
    file.stream_exists()?;
    if let Detail::One(n) = detail
        && !shown
    {
        let read = file.frames.frames_read();
        return Err(Failure::Usage(if n as u64 <= read {
            format!(
                "packet {n} of {} does not match --filter",
                file.path.display()
            )
        } else {
            format!(
                "{} holds {read} packets: there is no packet {n}",
                file.path.display()
            )
        }));
    }
    file.ended(out)
}
