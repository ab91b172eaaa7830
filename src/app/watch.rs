//! `lab capture` (watch a program of your own), and the view it shares
//! with `lab inspect` (see [`super::inspect`]): the packet timeline
//! without calls, then the byte streams and datagram flows put back
//! together.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use colored::{Color, Colorize};

use super::{Failure, Outcome};
use crate::annotate::ConversationNotes;
use crate::capture::{self, Capture, CapturedFrame, Filter};
use crate::clock::Clock;
use crate::escape::preview;
use crate::filter::DisplayFilter;
use crate::pcap::PcapWriter;
use crate::pcapng::{PcapngWriter, capture_section, wall_time_of_zero};
use crate::render::{human::time, json, wire_row::describe};
use crate::streams::{KEEP, KEEP_ALL, Streams};
use crate::timeline::Timeline;
use crate::trace::{Event, Packet};

use super::drawing::{Drawing, Drawings};
use super::run::{Sink, View};

/// Options of `lab capture`.
pub struct CaptureArgs<'a> {
    pub ports: &'a [u16],
    pub count: Option<u64>,
    pub seconds: Option<f64>,
    pub json: bool,
    pub pcap: Option<PathBuf>,
    /// Draw the packets as a sequence diagram in this SVG file (`--svg`).
    pub svg: Option<PathBuf>,
    /// Write the packets as a web page to explore (`--html`).
    pub html: Option<PathBuf>,
    /// `--pcapng`: the packets, each that carries data with a comment
    /// naming its conversation and bytes.
    pub pcapng: Option<PathBuf>,
    /// Write the pcap and print only the counters (`--quiet`).
    pub quiet: bool,
    /// `--filter`: the display filter, as typed.
    pub filter: Option<&'a str>,
    /// `--detail` (and `--hex`): packets layer by layer, under their rows.
    pub detail: Option<super::Chosen>,
}

/// Parses `--filter`, or says in one line what is wrong with it.
pub(super) fn display_filter(text: Option<&str>) -> Result<Option<DisplayFilter>, Failure> {
    text.map(|t| DisplayFilter::parse(t).map_err(|e| Failure::Usage(format!("--filter: {e}"))))
        .transpose()
}

/// The view of `lab capture` and `lab inspect`: a row per packet as the
/// shared pipeline releases it (see [`super::run::drive`]), and the byte
/// streams put back together for the summary.
pub(super) struct Watcher<'a> {
    pub(super) out: &'a mut dyn Write,
    streams: Streams,
    shown: u64,
    json: bool,
    /// The comments of the packet about to be shown (`lab inspect` of a
    /// pcapng file: what `--pcapng` wrote on it).
    pub(super) comments: Vec<String>,
    /// `lab capture --detail`: the packets shown layer by layer too.
    pub(super) detail: Option<super::Chosen>,
}

impl<'a> Watcher<'a> {
    pub(super) fn new(out: &'a mut dyn Write, json: bool) -> Self {
        Watcher {
            out,
            streams: Streams::default(),
            shown: 0,
            json,
            comments: Vec::new(),
            detail: None,
        }
    }
}

impl View for Watcher<'_> {
    /// Packets arrive with their place in the flow worked out by the
    /// timeline (relative numbers, scaled windows), as in `lab run`.
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        let Event::Packet(p) = event else {
            return Ok(());
        };
        self.streams.add(p);
        self.shown += 1;
        let comments = std::mem::take(&mut self.comments);
        if self.json {
            return json::packet_line(self.out, p, &comments);
        }
        let palette = |_: &str| Color::White;
        // The packet's own number in the capture, which --filter keeps.
        writeln!(
            self.out,
            "{}  {:<6}  {}",
            time(p.t_us),
            format!("#{}", p.info.number).dimmed(),
            describe(p, &palette)
        )?;
        // Under the row, where the description starts.
        for c in comments {
            writeln!(self.out, "{:24}{} {}", "", "↳".dimmed(), c.cyan())?;
        }
        if let Some(chosen) = self.detail.filter(|c| c.wants(p.info.number)) {
            super::detail::write(
                self.out,
                p.info.number,
                p.t_us,
                &p.raw,
                p.info.analysis.as_ref(),
                chosen.hex,
            )?;
        }
        Ok(())
    }

    /// Once per batch: rows appear within a few ms, at a write per ring
    /// block rather than per packet.
    fn released(&mut self, _cutoff_us: u64) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Watcher<'_> {
    pub(super) fn summary(&mut self) -> std::io::Result<()> {
        let out = &mut *self.out;
        if self.json {
            for ((src, dst), s) in &self.streams.tcp {
                let (text, cut) = preview(&s.bytes, KEEP);
                let o = serde_json::json!({"kind": "stream", "proto": "tcp", "src": src.to_string(), "dst": dst.to_string(),
                    "bytes": s.end, "segments": s.segments, "retransmitted": s.repeats, "cuts": s.cuts, "data": text, "data_truncated": cut || (s.bytes.len() as u64) < s.end});
                writeln!(out, "{o}")?;
            }
            for ((src, dst), f) in &self.streams.udp {
                let d: Vec<String> = f.datagrams.iter().map(|d| preview(d, 256).0).collect();
                let o = serde_json::json!({"kind": "flow", "proto": "udp", "src": src.to_string(), "dst": dst.to_string(),
                    "datagrams": f.count, "bytes": f.bytes, "data": d});
                writeln!(out, "{o}")?;
            }
            return Ok(());
        }
        // Streams that carried no data (a handshake alone, or what a
        // filter left of one) have nothing to show.
        let data = self.streams.tcp.values().any(|s| s.end > 0);
        if data {
            writeln!(out)?;
            writeln!(out, "{}", "Byte streams (TCP): what the receiver's recv() calls can return, │ where a segment began".bold())?;
        }
        for ((src, dst), s) in &self.streams.tcp {
            if s.end == 0 {
                continue;
            }
            writeln!(
                out,
                "  {src} → {dst}: {} B in {} segment{}{}",
                s.end,
                s.segments,
                if s.segments == 1 { "" } else { "s" },
                if s.repeats > 0 {
                    format!(", {} retransmitted", s.repeats)
                } else {
                    String::new()
                }
            )?;
            // The kept bytes, with a bar at every packet boundary: the
            // boundaries the sender's send() calls made are not there.
            let mut text = String::new();
            let mut last = 0usize;
            let mut cuts: Vec<u64> = s
                .cuts
                .iter()
                .copied()
                .filter(|&c| c > 0 && c < s.bytes.len() as u64)
                .collect();
            cuts.sort_unstable();
            for c in cuts {
                text.push_str(
                    &preview(&s.bytes[last..c as usize], KEEP)
                        .0
                        .green()
                        .to_string(),
                );
                text.push_str(&"│".yellow().to_string());
                last = c as usize;
            }
            text.push_str(&preview(&s.bytes[last..], KEEP).0.green().to_string());
            let more = (s.bytes.len() as u64) < s.end;
            writeln!(
                out,
                "    \"{text}\"{}",
                if more {
                    format!(" … ({} more bytes)", s.end - s.bytes.len() as u64)
                } else {
                    String::new()
                }
            )?;
            let missing = s.missing();
            if missing > 0 {
                writeln!(
                    out,
                    "    {}",
                    format!(
                        "(a hole: {missing} bytes of this stream were not captured; the capture started late or missed a segment)"
                    )
                    .yellow()
                )?;
            }
        }
        if self.streams.over_budget {
            writeln!(
                out,
                "  {}",
                format!(
                    "(payload is kept for the first streams only, {} MiB in all: the later ones are counted)",
                    KEEP_ALL >> 20
                )
                .dimmed()
            )?;
        }
        if !self.streams.udp.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "{}",
                "Datagram flows (UDP): one recvfrom() returns one of these, never two".bold()
            )?;
            for ((src, dst), f) in &self.streams.udp {
                writeln!(
                    out,
                    "  {src} → {dst}: {} datagram{}, {} B",
                    f.count,
                    if f.count == 1 { "" } else { "s" },
                    f.bytes
                )?;
                for d in &f.datagrams {
                    let (text, cut) = preview(d, 64);
                    writeln!(
                        out,
                        "    [{} B] \"{}{}\"",
                        d.len(),
                        text.green(),
                        if cut { "…" } else { "" }
                    )?;
                }
                if (f.datagrams.len() as u64) < f.count {
                    writeln!(out, "    … {} more", f.count - f.datagrams.len() as u64)?;
                }
            }
        }
        Ok(())
    }
}

/// `lab capture --port P ...`: until Ctrl-C, N packets or S seconds.
pub fn capture(out: &mut dyn Write, args: &CaptureArgs) -> Outcome {
    if args.ports.is_empty() {
        return Err(Failure::Usage(
            "say which traffic to watch: `lab capture --port 8080` (repeatable)".into(),
        ));
    }
    let duration = match args.seconds {
        Some(s) => Some(
            Duration::try_from_secs_f64(s)
                .ok()
                .filter(|d| Instant::now().checked_add(*d).is_some())
                .ok_or_else(|| {
                    Failure::Usage(format!(
                        "--seconds takes a number of seconds from 0 up, not {s}"
                    ))
                })?,
        ),
        None => None,
    };
    let filter = display_filter(args.filter)?;
    capture::privilege().map_err(|e| Failure::Usage(e.to_string()))?;
    let mut drawings = Drawings::open(args.svg.as_deref(), args.html.as_deref(), || {
        let ports: Vec<String> = args.ports.iter().map(|p| format!("--port {p}")).collect();
        format!("lab capture {}", ports.join(" "))
    })?;
    let clock = Clock::start();
    let mut writer = match &args.pcap {
        Some(p) => Some(PcapWriter::create(p, &clock).map_err(|e| Failure::Usage(e.to_string()))?),
        None => None,
    };
    let mut annotated = match &args.pcapng {
        Some(p) => Some(
            PcapngWriter::create(p, wall_time_of_zero(&clock), &capture_section(args.ports))
                .map_err(|e| Failure::Usage(e.to_string()))?,
        ),
        None => None,
    };
    let mut notes = ConversationNotes::default();
    if args.quiet {
        let writer = writer.expect("--quiet requires --pcap");
        return quietly(out, args, clock, writer, duration);
    }
    // Set when the output is gone or the file failed; a signal (Ctrl-C)
    // is noted by `crate::signals` and stops the capture the same way.
    let stop = AtomicBool::new(false);
    // Frames come a ring block at a time (one message per batch is what
    // keeps the capture's CPU per packet near tcpdump's). The queue is
    // bounded: if the terminal cannot keep up, the capture thread waits and
    // the kernel's buffer (then its drop counter) takes the load, instead
    // of our memory. A batch holds at most one 256 KiB block: 64 of them
    // are 16 MiB.
    let (tx, rx) = mpsc::sync_channel::<Vec<CapturedFrame>>(64);
    let cap = Capture::start(&Filter::ports(args.ports.iter().copied()), clock, tx)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    if !args.json {
        announce(out, args.ports)?;
    }
    let deadline = duration.map(|d| Instant::now() + d);
    let mut view = Watcher::new(out, args.json);
    view.detail = args.detail;
    let mut timeline = Timeline::new(false).passing();
    if let Some(f) = filter {
        timeline = timeline.filtered(f);
    }
    let mut drawing = Drawing {
        view: &mut view,
        drawings: &mut drawings,
    };
    let mut sink = Sink {
        writer: writer.as_mut(),
        view: &mut drawing,
        error: None,
    };
    let mut pushed = 0u64;
    let mut cap = Some(cap);
    let mut stopping: Option<std::thread::JoinHandle<capture::CaptureStats>> = None;
    loop {
        let done = stop.load(Ordering::SeqCst)
            || crate::signals::received().is_some()
            || deadline.is_some_and(|d| Instant::now() >= d)
            || args.count.is_some_and(|n| pushed >= n);
        if done && let Some(c) = cap.take() {
            // Stop on another thread: stop() waits for the reader, and the
            // reader may be waiting for room in our bounded queue, which
            // only this loop makes. It drains into the queue until quiet.
            stopping = Some(std::thread::spawn(move || c.stop()));
        }
        let batch = match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(b) => b,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        for frame in batch {
            if args.count.is_some_and(|n| pushed >= n) || sink.error.is_some() {
                continue; // past the count, or the output is gone: drain only
            }
            pushed += 1;
            let p = Packet::decode(frame.t_us, frame.data, frame.orig_len);
            timeline.push(Event::Packet(p));
        }
        // The capture hands frames over in order: no need to hold them
        // back as a run does, whose calls come from other threads.
        timeline.release(u64::MAX, |e| {
            if let (Some(w), Event::Packet(p), None) = (annotated.as_mut(), e, &sink.error) {
                let note = notes.next(p);
                if let Err(err) = w.write(p.t_us, &p.raw, p.orig_len, note.as_slice()) {
                    sink.error = Some(std::io::Error::other(err.to_string()));
                }
            }
            sink.show(e)
        });
        sink.released(u64::MAX);
        if sink.error.is_some() {
            // The reader went away (`| head`) or the file failed: stop
            // capturing.
            stop.store(true, Ordering::SeqCst);
        }
    }
    let stats = stopping.and_then(|h| h.join().ok()).unwrap_or_default();
    let error = sink.error.take();
    if let Some(e) = error {
        // A full disk is worth a line; a reader gone (`| head`) is not.
        return Err(match e.kind() {
            std::io::ErrorKind::BrokenPipe => e.into(),
            _ if writer.is_some() || annotated.is_some() => Failure::Usage(e.to_string()),
            _ => e.into(),
        });
    }
    if let Some(wr) = writer {
        let n = wr.finish().map_err(|e| Failure::Usage(e.to_string()))?;
        if !args.json {
            writeln!(
                view.out,
                "{} {n} packets written to {}",
                "·".dimmed(),
                args.pcap.as_ref().expect("writer implies path").display()
            )?;
        }
    }
    if let Some(wr) = annotated {
        let n = wr.finish().map_err(|e| Failure::Usage(e.to_string()))?;
        if !args.json {
            writeln!(
                view.out,
                "{} {n} packets written to {}",
                "·".dimmed(),
                args.pcapng.as_ref().expect("writer implies path").display()
            )?;
        }
    }
    drawings.write(view.out, !args.json)?;
    view.summary()?;
    let out = view.out;
    if args.json {
        let o = serde_json::json!({"kind": "summary", "capture": "on", "packets": view.shown, "captured": stats.packets, "dropped": stats.dropped, "truncated": stats.truncated});
        writeln!(out, "{o}")?;
    } else {
        let shown = match args.quiet {
            true => String::new(),
            false => format!("{} packets shown; ", view.shown),
        };
        writeln!(out)?;
        writeln!(
            out,
            "{} {shown}kernel: {} captured, {} dropped; {} truncated",
            "·".dimmed(),
            stats.packets,
            stats.dropped,
            stats.truncated
        )?;
    }
    // Stopped by a signal: everything up to it was shown and written.
    match crate::signals::received() {
        Some(signal) => Err(Failure::Interrupted(signal)),
        None => Ok(true),
    }
}

/// The line a capture starts with, once the capture is open (a program
/// started after it is seen from its first packet).
fn announce(out: &mut dyn Write, ports: &[u16]) -> std::io::Result<()> {
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    writeln!(
        out,
        "{} on lo, ports {} — Ctrl-C to stop",
        "capturing".bold(),
        ports.join(", ")
    )?;
    out.flush()
}

/// `lab capture -q --pcap F`: every frame goes from the kernel's ring
/// straight into the file, on the capture's own thread, as `tcpdump -w`
/// writes it: nothing is decoded, copied or shown. This thread only waits
/// for the end (a signal, `--count`, `--seconds`), then says what was
/// written.
fn quietly(
    out: &mut dyn Write,
    args: &CaptureArgs,
    clock: Clock,
    writer: PcapWriter,
    duration: Option<Duration>,
) -> Outcome {
    let file = FileSink {
        writer: Arc::new(Mutex::new(Some(writer))),
        error: Arc::new(Mutex::new(None)),
        written: Arc::new(AtomicU64::new(0)),
        limit: args.count.unwrap_or(u64::MAX),
    };
    let (writer, error, written) = (
        Arc::clone(&file.writer),
        Arc::clone(&file.error),
        Arc::clone(&file.written),
    );
    let cap = Capture::start(&Filter::ports(args.ports.iter().copied()), clock, file)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    announce(out, args.ports)?;
    let deadline = duration.map(|d| Instant::now() + d);
    while crate::signals::received().is_none()
        && deadline.is_none_or(|d| Instant::now() < d)
        && written.load(Ordering::SeqCst) < args.count.unwrap_or(u64::MAX)
        && lock(&error).is_none()
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = cap.stop();
    if let Some(e) = lock(&error).take() {
        return Err(Failure::Usage(e));
    }
    let n = match lock(&writer).take() {
        Some(w) => w.finish().map_err(|e| Failure::Usage(e.to_string()))?,
        None => 0,
    };
    writeln!(
        out,
        "{} {n} packets written to {}",
        "·".dimmed(),
        args.pcap
            .as_ref()
            .expect("--quiet requires --pcap")
            .display()
    )?;
    writeln!(
        out,
        "{} kernel: {} captured, {} dropped; {} truncated",
        "·".dimmed(),
        stats.packets,
        stats.dropped,
        stats.truncated
    )?;
    match crate::signals::received() {
        Some(signal) => Err(Failure::Interrupted(signal)),
        None => Ok(true),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Frames to a pcap file, taken where they lie in the ring (see
/// [`capture::FrameSink::borrows`]). The writer is shared so that it can
/// be finished once the capture has stopped.
struct FileSink {
    writer: Arc<Mutex<Option<PcapWriter>>>,
    /// The first error writing, which ends the capture.
    error: Arc<Mutex<Option<String>>>,
    written: Arc<AtomicU64>,
    /// `--count`: no more than this many.
    limit: u64,
}

impl capture::FrameSink for FileSink {
    fn deliver(&mut self, frames: &mut Vec<CapturedFrame>) -> bool {
        frames
            .drain(..)
            .all(|f| self.borrow(f.t_us, &f.data, f.orig_len))
    }

    fn borrows(&self) -> bool {
        true
    }

    /// 3 MiB: the file takes each frame as fast as the kernel hands them
    /// over, so little is needed; a little more than tcpdump's default
    /// 2 MiB, which drops frames of a flood on a busy machine.
    fn ring_blocks(&self) -> usize {
        12
    }

    fn borrow(&mut self, t_us: u64, data: &[u8], orig_len: usize) -> bool {
        if self.written.load(Ordering::Relaxed) >= self.limit {
            return false;
        }
        let mut writer = lock(&self.writer);
        let Some(w) = writer.as_mut() else {
            return false;
        };
        match w.write_bytes(t_us, data, orig_len) {
            Ok(()) => {
                self.written.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(e) => {
                *lock(&self.error) = Some(e.to_string());
                false
            }
        }
    }
}
