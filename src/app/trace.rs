//! `lab trace -- CMD ARGS` and `lab trace --pid PID`: any program's socket
//! calls, recorded with ptrace (see [`crate::tracer`]), shown as a lab run
//! shows its own: one timeline with the packets on `lo` when the capture
//! may run, then the message map and the capture's completeness check.
//!
//! The program keeps its terminal: its standard input, output and error
//! are its own, and the trace goes to standard error (or `-o FILE`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;

use colored::Colorize;

use super::run::{CaptureMode, Files, PacketSink, Sink, View, drive};
use super::{Failure, flush};
use crate::capture::{Capture, CaptureStats, Filter};
use crate::clock::Clock;
use crate::correlate;
use crate::pcap::PcapWriter;
use crate::render::{human::Human, json, map};
use crate::timeline::Timeline;
use crate::trace::Event;

/// How long events wait before they are shown (`lab run` waits 30 ms).
/// On the host's `lo` a packet is kept only once a call has shown that its
/// port is the program's, and a call reaches us only when the tracer has
/// handled its return: on a busy machine that can be well after its SYN
/// crossed. The longer wait keeps such packets.
const TRACE_REORDER: std::time::Duration = std::time::Duration::from_millis(250);

/// Rows of the message map shown under the timeline; the rest are
/// counted (a long trace has one row per call that moved bytes).
const MAP_ROWS: usize = 60;

/// Options of one `lab trace`.
pub struct TraceArgs<'a> {
    /// The command line to start (empty with `--pid`).
    pub command: &'a [String],
    pub pid: Option<i32>,
    pub json: bool,
    pub capture: bool,
    pub pcap: Option<PathBuf>,
    /// `--pcapng`: the packets with the message map as comments.
    pub pcapng: Option<PathBuf>,
    /// Draw the trace as a sequence diagram in this SVG file (`--svg`).
    pub svg: Option<PathBuf>,
    /// `-o FILE`: the trace goes there instead of standard error.
    pub output: Option<PathBuf>,
}

/// `lab trace`: returns the exit code to pass on (the program's own).
pub fn trace(args: &TraceArgs) -> Result<u8, Failure> {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        traced(args)
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        let _ = args;
        Err(Failure::Usage(
            "lab trace decodes x86_64 Linux system calls; this machine is another kind".into(),
        ))
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn traced(args: &TraceArgs) -> Result<u8, Failure> {
    use crate::tracer::{self, Ended, Target};

    let target = match args.pid {
        Some(pid) if pid > 0 => Target::Attach(pid),
        Some(pid) => return Err(Failure::Usage(format!("no process with pid {pid}"))),
        None => Target::Spawn(args.command.to_vec()),
    };
    // The capture watches the host's `lo`, never a private namespace: the
    // program's peers may be anywhere on this machine. Packets are kept
    // when they belong to a port the program's sockets used.
    let mode = match CaptureMode::detect(args.capture) {
        CaptureMode::Isolated | CaptureMode::Host => CaptureMode::Host,
        off => off,
    };
    Files::of(&args.pcap, &args.pcapng).check(&mode)?;
    let mut svg = super::drawing::svg_target(args.svg.as_deref(), || match args.pid {
        Some(pid) => format!("lab trace --pid {pid}"),
        None => format!("lab trace -- {}", args.command.join(" ")),
    })?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stderr())),
    };
    // Before any thread starts: in attach mode only the tracer's thread
    // may take Ctrl-C.
    tracer::prepare(&target);

    let clock = Clock::start();
    let zero = crate::pcapng::wall_time_of_zero(&clock);
    let (tx, rx) = mpsc::channel::<Event>();
    let mut status = match &mode {
        CaptureMode::Off(reason) => format!("off: {reason}"),
        _ => "on".to_string(),
    };
    let capture = match mode {
        CaptureMode::Off(_) => None,
        _ => match Capture::start(&Filter::everything(), clock, PacketSink(tx.clone())) {
            Ok(c) => Some(c),
            Err(e) => {
                status = format!("off: {e}");
                None
            }
        },
    };
    let mut writer = match &args.pcap {
        Some(p) if capture.is_some() => {
            Some(PcapWriter::create(p, &clock).map_err(|e| Failure::Usage(e.to_string()))?)
        }
        _ => None,
    };
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let mut timeline = Timeline::new(true);
    let mut human = Human::with_actors(Vec::new()).min_width(18);

    let (ended, stats, started, error) = std::thread::scope(|s| {
        let worker = s.spawn(move || {
            let ended = tracer::run(&target, clock, tx, |r| {
                let _ = ready_tx.send(r);
            });
            // The last packets (the final ACKs) come after the last call.
            let stats = capture.map(Capture::stop);
            (ended, stats)
        });
        let started = ready_rx
            .recv()
            .unwrap_or_else(|_| Err("the tracer stopped before the program started".into()));
        let mut error = None;
        if let Ok(st) = &started {
            let header = if args.json {
                json::trace_line(&mut out, args.command, st.pid)
            } else {
                header(&mut out, &st.shown, st.pid, &status)
            };
            error = header.and_then(|()| out.flush()).err();
        }
        let mut view = TraceView {
            out: &mut out,
            human: &mut human,
            json: args.json,
        };
        let mut drawing = super::drawing::Drawing {
            view: &mut view,
            diagram: svg.as_mut().map(|(_, d)| d),
        };
        let mut sink = Sink {
            writer: writer.as_mut(),
            view: &mut drawing,
            error,
        };
        drive(&rx, clock, TRACE_REORDER, &mut timeline, &mut sink, None);
        let (ended, stats) = worker
            .join()
            .unwrap_or_else(|_| (Err("the tracer panicked".into()), None));
        (ended, stats, started, sink.error)
    });
    let started = started.map_err(Failure::Usage)?;
    let ended = ended.map_err(Failure::Usage)?;
    if let Some(e) = error {
        return Err(e.into());
    }
    if let Some(w) = writer {
        w.finish().map_err(|e| Failure::Usage(e.to_string()))?;
    }
    // Said in the footer, with the pcap file.
    super::drawing::write_svg(&mut out, svg, false)?;
    let Timeline { calls, packets, .. } = timeline;
    let (map, verdict) = match &stats {
        Some(st) => {
            let map = correlate::map(&calls, &packets);
            let verdict = super::run::capture_verdict(&calls, &packets, &map, st);
            (map, Some(verdict))
        }
        None => (Vec::new(), None),
    };
    if let (Some(path), Some(_)) = (&args.pcapng, &stats) {
        let mut actors: Vec<&str> = Vec::new();
        for c in &calls {
            if !actors.contains(&c.actor.as_str()) {
                actors.push(&c.actor);
            }
        }
        let section = crate::pcapng::trace_section(args.command, started.pid, &actors);
        let notes = crate::annotate::of_run(&calls, &packets, &map);
        crate::pcapng::write_file(path, zero, &section, &packets, &notes)
            .map_err(|e| Failure::Usage(e.to_string()))?;
    }
    let passed = verdict.as_ref().is_none_or(|v| v.passed);
    if args.json {
        // The session's last events, as `lab run` ends its stream.
        for m in &map {
            json::event_line(&mut out, &Event::Map(m.clone()))?;
        }
        if let Some(v) = &verdict {
            json::event_line(&mut out, &Event::Check(v.clone()))?;
        }
        let exit = match ended {
            Ended::Exited(code) => serde_json::json!({ "code": code }),
            Ended::Killed(sig) => serde_json::json!({ "signal": sig }),
            Ended::Detached => serde_json::json!({ "detached": true }),
        };
        json::trace_summary_line(&mut out, passed, calls.len(), &status, stats.as_ref(), exit)?;
    } else {
        human.finish(&mut out)?;
        map::write_first(&mut out, &calls, &map, human.flagged(), MAP_ROWS)?;
        if let Some(v) = &verdict {
            human.event(&mut out, &Event::Check(v.clone()))?;
            human.verdicts(&mut out)?;
        }
        footer(&mut out, &started, ended, stats.as_ref(), args)?;
    }
    flush(&mut out)?;
    Ok(ended.exit_code())
}

/// The lines before the timeline: what runs, whether the wire is seen.
fn header(out: &mut dyn Write, shown: &str, pid: i32, status: &str) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  {shown}   {}",
        "lab trace".bold(),
        format!("(pid {pid})").dimmed()
    )?;
    match status.strip_prefix("off: ") {
        Some(reason) => writeln!(out, "{} {reason}", "capture off:".yellow())?,
        None => writeln!(
            out,
            "{} {}",
            "capture on:".dimmed(),
            "lo, the packets of the ports the program's sockets use".dimmed()
        )?,
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        format!("{:>14}  {:<18}  call → result", "time", "actor").dimmed()
    )
}

/// The lines after the map: the capture's counters and how it ended.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn footer(
    out: &mut dyn Write,
    started: &crate::tracer::Started,
    ended: crate::tracer::Ended,
    stats: Option<&CaptureStats>,
    args: &TraceArgs,
) -> std::io::Result<()> {
    use crate::tracer::Ended;
    writeln!(out)?;
    if let Some(st) = stats {
        writeln!(
            out,
            "{} capture on: {} packets, {} dropped, {} truncated",
            "·".dimmed(),
            st.packets,
            st.dropped,
            st.truncated
        )?;
    }
    Files::of(&args.pcap, &args.pcapng).say_written(out)?;
    if let Some(p) = &args.svg {
        writeln!(
            out,
            "{} sequence diagram written to {}",
            "·".dimmed(),
            p.display()
        )?;
    }
    let who = &started.actor;
    let how = match ended {
        Ended::Exited(code) => format!("exited with code {code}"),
        Ended::Killed(sig) => format!(
            "was killed by {} (exit code {})",
            signal_name(sig),
            ended.exit_code()
        ),
        Ended::Detached => "runs on, no longer traced".to_string(),
    };
    writeln!(out, "{} {who} {how}", "·".dimmed())
}

fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// The trace's view: JSON lines, or the human timeline with each new
/// process given its own colour.
struct TraceView<'a> {
    out: &'a mut dyn Write,
    human: &'a mut Human,
    json: bool,
}

impl View for TraceView<'_> {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        if self.json {
            return json::event_line(self.out, event);
        }
        if let Event::Call(c) = event
            && let (Some(pid), Some(comm)) = (c.pid, &c.comm)
        {
            self.human.add_actor(&format!("{comm}[{pid}]"));
        }
        self.human.event(self.out, event)
    }

    fn released(&mut self, _cutoff_us: u64) -> std::io::Result<()> {
        self.out.flush()
    }
}
