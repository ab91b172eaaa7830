//! `lab run`: one lab with its timeline and verdicts, or `--all`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use colored::Colorize;

pub use super::files::Files;
use super::files::write_pcapng;
use super::{Failure, Outcome, labs, resolve};
use crate::capture::{self, Capture, CapturedFrame, Filter, FrameSink};
use crate::catalog::Lab;
use crate::check::{self, Verdict};
use crate::clock::Clock;
use crate::correlate::{self, MapEntry};
use crate::expr::Scope;
use crate::netns;
use crate::pcap::PcapWriter;
use crate::render::svg::Diagram;
use crate::render::{human::Human, json};
use crate::runner;
use crate::timeline::Timeline;
use crate::trace::{Call, Event, Packet};

use super::drawing::{Drawing, Drawings};
use super::step::{Answer, Ask, Paused, Pausing, StepView, Stepper, Waiting};

/// How long events wait before they are shown, so that a packet read a
/// little late (the capture hands frames over in blocks every few ms) still
/// takes its place before the calls that came after it.
pub(super) const REORDER: Duration = Duration::from_millis(30);

/// The name of the check the capture adds to every captured run.
pub const CAPTURE_VERDICT: &str = "the capture accounts for every byte of every call";

/// Options of one `lab run`.
pub struct RunArgs<'a> {
    pub set: &'a [String],
    pub json: bool,
    pub capture: bool,
    pub pcap: Option<PathBuf>,
    /// Also draw the run as an SVG sequence diagram in this file.
    pub svg: Option<PathBuf>,
    /// Also write the run as a web page to explore (`--html`).
    pub html: Option<PathBuf>,
    /// `--pcapng`: the packets with the message map as comments.
    pub pcapng: Option<PathBuf>,
    /// Stop before every step and wait for the learner (`--step`).
    pub step: bool,
    /// Ask the lab's questions before their steps (`--predict`); see
    /// `predict.rs`.
    pub predict: bool,
    /// `--answers`: the answers to the questions, for want of a terminal.
    pub answers: Option<&'a str>,
    /// `--detail` (and `--hex`): packets shown layer by layer after the run.
    pub detail: Option<super::Chosen>,
    /// `--diagram`: the run as a sequence diagram in text, after it.
    pub diagram: bool,
}

/// How a run captures, decided once from what the process may do.
#[derive(Debug, Clone)]
pub enum CaptureMode {
    /// Root: a private network namespace per lab; everything on its `lo`
    /// is the lab's.
    Isolated,
    /// CAP_NET_RAW only: the host's `lo`, kept to the lab's ports.
    Host,
    /// No capture, and why.
    Off(String),
}

impl CaptureMode {
    /// What this process can do; `wanted = false` is `--no-capture`.
    pub fn detect(wanted: bool) -> CaptureMode {
        if !wanted {
            return CaptureMode::Off("--no-capture".into());
        }
        match capture::privilege() {
            Err(e) => CaptureMode::Off(e.to_string()),
            Ok(()) if netns::can_unshare() => CaptureMode::Isolated,
            Ok(()) => CaptureMode::Host,
        }
    }
}

/// Everything one run produced.
pub struct Finished {
    pub calls: Vec<Call>,
    pub packets: Vec<Packet>,
    pub map: Vec<MapEntry>,
    pub verdicts: Vec<Verdict>,
    /// `on` or `off: <reason>`.
    pub capture: String,
    pub stats: Option<capture::CaptureStats>,
    /// Values of this run that vary from run to run, and why (see
    /// [`crate::trace::Varies`]).
    pub noted: Vec<crate::trace::Noted>,
}

impl Finished {
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }

    /// `✗ name: detail` for each check that failed and that `counts`.
    pub fn failed_checks(&self, counts: impl Fn(&Verdict) -> bool) -> Vec<String> {
        self.verdicts
            .iter()
            .filter(|v| !v.passed && counts(v))
            .map(|v| format!("✗ {}: {}", v.name, v.detail))
            .collect()
    }
}

/// The pipeline every run of sockets shares (`lab run`, `--step`,
/// `--predict`, `lab serve`): events from the actors and the capture arrive
/// on one channel, wait [`REORDER`] so that each packet takes its place
/// before the calls that came after it, go through the [`Timeline`] (flows,
/// relative numbers, who owns which address) and on to the [`Sink`]. With
/// `pauses`, an actor's question (a step about to run) is answered in
/// between: everything up to then is shown first. Returns when every
/// sender is gone.
pub(super) fn drive<V: View>(
    rx: &mpsc::Receiver<Event>,
    clock: Clock,
    reorder: Duration,
    timeline: &mut Timeline,
    sink: &mut Sink<'_, V>,
    mut pauses: Option<Pauses<'_>>,
) {
    // Whether the last turn found events: then more are likely on their
    // way, and they are taken a batch at a time.
    let mut busy = false;
    loop {
        // Often while events wait to be shown (each on time), less often
        // when nothing is held (a server or a REPL waiting for someone).
        let wait = Duration::from_millis(if timeline.holds_any() { 2 } else { 10 });
        let first = if busy {
            // A busy producer (`lab trace` of a chatty program sends tens
            // of thousands of events a second) would wake this thread at
            // every event; a short nap instead takes them by the batch,
            // and a sender never has to wake anyone.
            std::thread::sleep(Duration::from_millis(2));
            rx.try_recv().map_err(|e| match e {
                mpsc::TryRecvError::Empty => mpsc::RecvTimeoutError::Timeout,
                mpsc::TryRecvError::Disconnected => mpsc::RecvTimeoutError::Disconnected,
            })
        } else {
            rx.recv_timeout(wait)
        };
        let mut batch = match first {
            Ok(event) => vec![event],
            Err(mpsc::RecvTimeoutError::Timeout) => Vec::new(),
            // Every sender is gone: the runner and the capture are done.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        busy = !batch.is_empty();
        batch.extend(rx.try_iter());
        for event in batch {
            if let Some(p) = pauses.as_mut() {
                p.waiting.arrived(&event);
            }
            timeline.push(event);
        }
        if let Some(p) = pauses.as_mut()
            && let Ok(ask) = p.asks.try_recv()
        {
            if let Some(answer) = p.stepper.settled() {
                p.stepper.answer(&ask, answer);
                continue;
            }
            // Lab time stands still; the packets of the steps so far may
            // still be on their way from the capture: let them arrive,
            // show everything, then ask.
            std::thread::sleep(REORDER);
            while let Ok(event) = rx.try_recv() {
                p.waiting.arrived(&event);
                timeline.push(event);
            }
            timeline.release(clock.now_us(), |e| sink.show(e));
            sink.released(clock.now_us());
            let paused = Paused {
                step: ask.step.clone(),
                waiting: p.waiting.now(),
                origin: p.origin.to_string(),
            };
            let answer = match sink.error {
                Some(_) => Answer::Quit,
                None => sink.view.pause(&paused).unwrap_or_else(|e| {
                    sink.error = Some(e);
                    Answer::Quit
                }),
            };
            p.stepper.answer(&ask, answer);
            continue;
        }
        let cutoff = clock.now_us().saturating_sub(reorder.as_micros() as u64);
        timeline.release(cutoff, |e| sink.show(e));
        sink.released(cutoff);
    }
    timeline.release(u64::MAX, |e| sink.show(e));
    sink.released(u64::MAX);
}

/// What [`drive`] needs to pause a run: where questions come from, who
/// answers them, and what is blocked meanwhile.
pub(super) struct Pauses<'a> {
    pub asks: &'a mpsc::Receiver<Ask>,
    pub stepper: &'a Stepper,
    pub waiting: &'a mut Waiting,
    pub origin: &'a str,
}

/// Where released events go: the pcap file, if any, and the view. The
/// first error ends the writing; the run goes on to its end.
pub(super) struct Sink<'a, V: View> {
    pub writer: Option<&'a mut PcapWriter>,
    pub view: &'a mut V,
    pub error: Option<std::io::Error>,
}

impl<V: View> Sink<'_, V> {
    pub fn show(&mut self, event: &Event) {
        if let (Some(w), Event::Packet(p)) = (self.writer.as_mut(), event) {
            if let Err(e) = w.write_bytes(p.t_us, &p.raw, p.orig_len) {
                self.error
                    .get_or_insert(std::io::Error::other(e.to_string()));
            }
        }
        if self.error.is_none()
            && let Err(e) = self.view.event(event)
        {
            self.error = Some(e);
        }
    }

    /// Everything up to `cutoff_us` has been shown.
    pub fn released(&mut self, cutoff_us: u64) {
        if self.error.is_none()
            && let Err(e) = self.view.released(cutoff_us)
        {
            self.error = Some(e);
        }
    }
}

/// Hands captured frames to the run's event stream, decoded.
pub(super) struct PacketSink(pub(super) mpsc::Sender<Event>);

impl FrameSink for PacketSink {
    fn deliver(&mut self, frames: &mut Vec<CapturedFrame>) -> bool {
        frames.drain(..).all(|f| {
            let p = Packet::decode(f.t_us, f.data, f.orig_len);
            self.0.send(Event::Packet(p)).is_ok()
        })
    }
}

/// What consumes a run's events as they are released, in timeline order;
/// in step mode it is also what asks the learner at each pause.
pub trait View {
    fn event(&mut self, event: &Event) -> std::io::Result<()>;

    /// The run stands before a step (lab time stopped, every event so far
    /// shown): what does the learner want?
    fn pause(&mut self, _at: &Paused) -> std::io::Result<Answer> {
        Ok(Answer::Step)
    }

    /// Every event up to `cutoff_us` on the run's clock has been handed to
    /// [`View::event`] (a view that buffers prints now).
    fn released(&mut self, _cutoff_us: u64) -> std::io::Result<()> {
        Ok(())
    }
}

impl<V: View + ?Sized> View for &mut V {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        (**self).event(event)
    }

    fn pause(&mut self, at: &Paused) -> std::io::Result<Answer> {
        (**self).pause(at)
    }

    fn released(&mut self, cutoff_us: u64) -> std::io::Result<()> {
        (**self).released(cutoff_us)
    }
}

/// The command a diagram's title shows: `lab run 09-sticky-packet --set recv1=2`.
fn run_title(lab: &Lab, set: &[String]) -> String {
    let mut t = format!("lab run {}", lab.id());
    for s in set {
        t.push_str(&format!(" --set {s}"));
    }
    t
}

/// A view that hands each event to a closure and never pauses.
struct EachEvent<F>(F);

impl<F: FnMut(&Event) -> std::io::Result<()>> View for EachEvent<F> {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        (self.0)(event)
    }
}

/// Runs `lab`, handing every event to `view` in timeline order, about
/// `REORDER` after it happened.
pub fn execute(
    lab: &Lab,
    knobs: &Scope,
    mode: &CaptureMode,
    files: Files,
    on_event: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Finished, Failure> {
    execute_with(lab, knobs, mode, files, Pausing::Never, EachEvent(on_event))
}

/// [`execute`], with a pause where `pausing` says (until the learner says
/// to go on), where `view` asks what to do.
pub fn execute_with(
    lab: &Lab,
    knobs: &Scope,
    mode: &CaptureMode,
    files: Files,
    pausing: Pausing,
    mut view: impl View,
) -> Result<Finished, Failure> {
    let clock = Clock::start();
    let zero = crate::pcapng::wall_time_of_zero(&clock);
    let mut writer = match files.pcap {
        Some(path) => {
            Some(PcapWriter::create(path, &clock).map_err(|e| Failure::Usage(e.to_string()))?)
        }
        None => None,
    };
    let (tx, rx) = mpsc::channel();
    let (asks_tx, asks) = mpsc::channel();
    let stepper = Stepper::new(asks_tx, pausing);
    let mut waiting = Waiting::default();
    let mut timeline = Timeline::new(matches!(mode, CaptureMode::Host));
    let mut sink = Sink {
        writer: writer.as_mut(),
        view: &mut view,
        error: None,
    };

    let (result, stats, status) = std::thread::scope(|s| -> Result<_, Failure> {
        let worker = s.spawn(|| run_isolated(lab, knobs, clock, mode, tx, &stepper));
        let pauses = Pauses {
            asks: &asks,
            stepper: &stepper,
            waiting: &mut waiting,
            origin: &lab.origin,
        };
        drive(&rx, clock, REORDER, &mut timeline, &mut sink, Some(pauses));
        worker
            .join()
            .map_err(|_| Failure::Usage("the runner panicked".into()))
    })?;
    // Stopped by a signal: what ran was shown and the pcap is complete;
    // a run cut short is not judged.
    if let Some(signal) = crate::signals::received() {
        let error = sink.error.take();
        if let Some(w) = writer {
            w.finish().map_err(|e| Failure::Usage(e.to_string()))?;
        }
        if let (Some(path), Some(_)) = (files.pcapng, &stats) {
            let map = correlate::map(&timeline.calls, &timeline.packets);
            write_pcapng(
                path,
                zero,
                lab,
                knobs,
                mode,
                &timeline.calls,
                &timeline.packets,
                &map,
            )?;
        }
        return Err(error.map_or(Failure::Interrupted(signal), Failure::from));
    }
    let (calls, packets) = (
        std::mem::take(&mut timeline.calls),
        std::mem::take(&mut timeline.packets),
    );
    let map = if stats.is_some() {
        correlate::map(&calls, &packets)
    } else {
        Vec::new()
    };
    let mut scope = knobs.clone();
    scope.extend(result.saved.clone());
    let mut verdicts = check::check_all(lab, &scope, &calls, &result.failures);
    if let Some(st) = &stats {
        verdicts.push(capture_verdict(&calls, &packets, &map, st));
    }
    // The session's last events: the map, then the checks, judged now
    // that every call and packet is in.
    for m in &map {
        sink.show(&Event::Map(m.clone()));
    }
    for v in &verdicts {
        sink.show(&Event::Check(v.clone()));
    }
    if let Some(e) = sink.error {
        return Err(e.into());
    }
    if let Some(w) = writer {
        w.finish().map_err(|e| Failure::Usage(e.to_string()))?;
    }
    if let (Some(path), Some(_)) = (files.pcapng, &stats) {
        write_pcapng(path, zero, lab, knobs, mode, &calls, &packets, &map)?;
    }
    Ok(Finished {
        calls,
        packets,
        map,
        verdicts,
        capture: status,
        stats,
        noted: result.noted,
    })
}

/// The check the capture adds to every captured run (and trace): every
/// byte of every call is in a captured packet, every connection shows its
/// handshake and its end, and the kernel dropped nothing.
pub(super) fn capture_verdict(
    calls: &[Call],
    packets: &[Packet],
    map: &[MapEntry],
    st: &capture::CaptureStats,
) -> Verdict {
    let problems = correlate::completeness(calls, packets, map);
    // Frames the kernel dropped (its queue to us was full: a crowded
    // machine) do not falsify the claim when nothing it checks is missing:
    // every call's bytes, and each connection's start and end, were seen.
    Verdict {
        name: CAPTURE_VERDICT.into(),
        passed: problems.is_empty() && st.truncated == 0,
        detail: if problems.is_empty() && st.dropped > 0 {
            format!(
                "{} packets, {} truncated; every data call mapped, and every connection's start and end seen, though the kernel dropped {} frames (a crowded machine)",
                st.packets, st.truncated, st.dropped
            )
        } else if problems.is_empty() {
            format!(
                "{} packets, {} dropped, {} truncated; every data call mapped",
                st.packets, st.dropped, st.truncated
            )
        } else if st.dropped > 0 {
            // Say what the capture could not see, and why.
            format!(
                "{}; the kernel dropped {} frames that the capture could not keep up with (a crowded machine)",
                problems.join("; "),
                st.dropped
            )
        } else {
            problems.join("; ")
        },
        explain: None,
    }
}

/// The run thread: enters a private network namespace when it can, opens
/// the capture there, runs the lab, and closes the capture after the last
/// packet. Returns the runner's result, the capture's counters and the
/// capture status line.
fn run_isolated(
    lab: &Lab,
    knobs: &Scope,
    clock: Clock,
    mode: &CaptureMode,
    tx: mpsc::Sender<Event>,
    controller: &dyn runner::Controller,
) -> (runner::RunResult, Option<capture::CaptureStats>, String) {
    let mut status = match mode {
        CaptureMode::Off(reason) => format!("off: {reason}"),
        _ => "on".to_string(),
    };
    // A private namespace whenever the process may make one, capture or
    // not: the lab's ports then never meet anyone else's.
    let isolate = matches!(mode, CaptureMode::Isolated)
        || (matches!(mode, CaptureMode::Off(_)) && netns::can_unshare());
    let mut capturing = !matches!(mode, CaptureMode::Off(_));
    if isolate
        && let Err(e) = netns::enter_private_netns()
        && matches!(mode, CaptureMode::Isolated)
    {
        // Without the namespace, "everything on lo" would include other
        // programs' traffic: better no capture than a wrong one.
        status = format!("off: cannot enter a private network namespace: {e}");
        capturing = false;
    }
    let capture = match capturing {
        false => None,
        true => match Capture::start(&Filter::everything(), clock, PacketSink(tx.clone())) {
            Ok(c) => Some(c),
            Err(e) => {
                status = format!("off: {e}");
                None
            }
        },
    };
    let result = runner::run(lab, knobs, clock, &tx, controller);
    drop(tx);
    let stats = capture.map(Capture::stop);
    (result, stats, status)
}

/// `lab run ID`.
pub fn run_one(out: &mut dyn Write, query: &str, args: &RunArgs) -> Outcome {
    let lab = resolve(query)?;
    let knobs = lab.knob_values(args.set)?;
    let mode = CaptureMode::detect(args.capture);
    let files = Files::of(&args.pcap, &args.pcapng);
    files.check(&mode)?;
    let mut drawings = Drawings::open(args.svg.as_deref(), args.html.as_deref(), || {
        run_title(&lab, args.set)
    })?;
    if args.json {
        json::lab_line(out, lab.id(), &lab.def.title, &knobs)?;
        let done = execute(&lab, &knobs, &mode, files, |e| {
            drawings.add(e);
            json::event_line(out, e)
        })?;
        drawings.write(out, false)?;
        json::summary_line(
            out,
            done.passed(),
            done.calls.len(),
            &done.capture,
            done.stats.as_ref(),
        )?;
        out.flush()?;
        return Ok(done.passed());
    }
    if args.step {
        use std::io::IsTerminal;
        let stdin = std::io::stdin();
        let echo = !stdin.is_terminal();
        // Read so that Ctrl-C stops the run while it waits for a key.
        let input = std::io::BufReader::new(crate::signals::Stdin);
        let passed = stepped(out, &lab, &knobs, &mode, files, &mut drawings, input, echo)?;
        drawings.write(out, true)?;
        return Ok(passed);
    }
    if let (Some(_), CaptureMode::Off(reason)) = (&args.detail, &mode) {
        return Err(Failure::Usage(format!(
            "--detail shows captured packets, and capture is off: {reason}"
        )));
    }
    if args.diagram && drawings.diagram.is_none() {
        drawings.diagram = Some(Diagram::new(&run_title(&lab, args.set)));
    }
    let done = human_drawn(out, &lab, &knobs, &mode, files, &mut drawings)?;
    files.say_written(out)?;
    if let Some(chosen) = &args.detail {
        in_detail(out, &done.packets, chosen)?;
    }
    if let (true, Some(d)) = (args.diagram, &drawings.diagram) {
        writeln!(out)?;
        writeln!(out, "{}", "Sequence diagram".bold())?;
        write!(out, "{}", d.text())?;
    }
    drawings.write(out, true)?;
    Ok(done.passed())
}

/// `lab run --detail N|all`: after the run, its packets layer by layer.
fn in_detail(
    out: &mut dyn Write,
    packets: &[Packet],
    chosen: &super::Chosen,
) -> std::io::Result<()> {
    writeln!(out)?;
    let mut shown = 0;
    for p in packets.iter().filter(|p| chosen.wants(p.info.number)) {
        super::detail::write(
            out,
            p.info.number,
            p.t_us,
            &p.raw,
            p.info.analysis.as_ref(),
            chosen.hex,
        )?;
        shown += 1;
    }
    if shown == 0 {
        writeln!(
            out,
            "--detail: the run captured {} packets; there is no packet {}",
            packets.len(),
            match chosen.which {
                crate::cli::Detail::One(n) => n.to_string(),
                crate::cli::Detail::All => "at all".into(),
            }
        )?;
    }
    Ok(())
}

/// Runs `lab` with the human view on `out`: header, live timeline, message
/// map, verdicts, explanation and the capture's counters.
pub fn human(
    out: &mut dyn Write,
    lab: &Lab,
    knobs: &Scope,
    mode: &CaptureMode,
    files: Files,
) -> Result<Finished, Failure> {
    human_drawn(out, lab, knobs, mode, files, &mut Drawings::default())
}

/// [`human`], every event also drawn into `drawings` (`--svg`, `--html`).
pub fn human_drawn(
    out: &mut dyn Write,
    lab: &Lab,
    knobs: &Scope,
    mode: &CaptureMode,
    files: Files,
    drawings: &mut Drawings,
) -> Result<Finished, Failure> {
    let mut view = Human::new(lab);
    view.header(out, lab, knobs)?;
    if let CaptureMode::Off(reason) = mode {
        writeln!(out, "{} {}", "capture off:".yellow(), reason)?;
        writeln!(out)?;
    }
    out.flush()?;
    let done = execute(lab, knobs, mode, files, |e| {
        drawings.add(e);
        view.event(out, e)?;
        out.flush()
    })?;
    report(out, &mut view, lab, &done)?;
    Ok(done)
}

/// What the human view prints after a run's timeline: the message map,
/// the verdicts, the explanation and the capture's counters.
pub(super) fn report(
    out: &mut dyn Write,
    view: &mut Human,
    lab: &Lab,
    done: &Finished,
) -> std::io::Result<()> {
    view.finish(out)?;
    view.map(out, &done.calls)?;
    view.verdicts(out)?;
    view.explanation(out, lab)?;
    if let Some(st) = &done.stats {
        writeln!(
            out,
            "{} capture on: {} packets, {} dropped, {} truncated",
            "·".dimmed(),
            st.packets,
            st.dropped,
            st.truncated
        )?;
    }
    Ok(())
}

/// `lab run ID --step`: the human view, stopping before every step for an
/// answer read from `input` a line at a time.
#[allow(clippy::too_many_arguments)]
pub fn stepped(
    out: &mut dyn Write,
    lab: &Lab,
    knobs: &Scope,
    mode: &CaptureMode,
    files: Files,
    drawings: &mut Drawings,
    input: impl std::io::BufRead,
    echo: bool,
) -> Outcome {
    let human = Human::new(lab);
    human.header(out, lab, knobs)?;
    if let CaptureMode::Off(reason) = mode {
        writeln!(out, "{} {}", "capture off:".yellow(), reason)?;
    }
    writeln!(
        out,
        "{} before every step: Enter runs it, c runs to the end, q stops. Lab time (every timeout of the run) stands still while you decide; the kernel's own timers do not.",
        "Stepping:".bold()
    )?;
    writeln!(out)?;
    out.flush()?;
    let mut view = StepView {
        out,
        human,
        input: Box::new(input),
        quit: false,
        quit_at: None,
        echo,
    };
    let drawing = Drawing {
        view: &mut view,
        drawings,
    };
    let done = execute_with(lab, knobs, mode, files, Pausing::EveryStep, drawing)?;
    let StepView {
        out,
        mut human,
        quit,
        quit_at,
        ..
    } = view;
    human.finish(out)?;
    if quit {
        writeln!(
            out,
            "stopped before {}: the checks were not judged. Run it again with or without --step.",
            quit_at.unwrap_or_default()
        )?;
        // Not a pass: `run_and_record` must not mark the lab done.
        return Err(Failure::Stopped);
    }
    human.map(out, &done.calls)?;
    human.verdicts(out)?;
    human.explanation(out, lab)?;
    Ok(done.passed())
}

/// `lab run --all`: every lab at its defaults, one verdict line each, in
/// catalog order. Up to `jobs` labs run at once (default: all of them),
/// each in a private network namespace; without one, labs would share the
/// host's ports, and they run one after the other.
pub fn run_all(out: &mut dyn Write, capture: bool, jobs: Option<usize>) -> Outcome {
    let labs = labs()?;
    let mode = CaptureMode::detect(capture);
    let started = Instant::now();
    if let CaptureMode::Off(reason) = &mode {
        writeln!(out, "{} {reason}", "capture off:".yellow())?;
    }
    let private = matches!(mode, CaptureMode::Isolated)
        || (matches!(mode, CaptureMode::Off(_)) && netns::can_unshare());
    let jobs = match private {
        true => jobs.unwrap_or(labs.len()).clamp(1, labs.len().max(1)),
        false => 1,
    };
    let mut all_passed = true;
    // Each lab's result as it ends; printed in catalog order, each as soon
    // as every lab before it has been printed.
    let (tx, rx) = mpsc::channel();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let printed = std::thread::scope(|s| -> Result<(), Failure> {
        for _ in 0..jobs {
            let (tx, next, labs, mode) = (tx.clone(), &next, &labs, &mode);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    // After a signal, no lab starts.
                    let Some(lab) = labs.get(i).filter(|_| crate::signals::received().is_none())
                    else {
                        return;
                    };
                    let t0 = Instant::now();
                    let done = lab
                        .knob_values(&[])
                        .map_err(Failure::Usage)
                        .and_then(|knobs| execute(lab, &knobs, mode, Files::default(), |_| Ok(())));
                    if tx.send((i, done, t0.elapsed())).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut ready: Vec<Option<(Result<Finished, Failure>, Duration)>> =
            labs.iter().map(|_| None).collect();
        let mut shown = 0;
        for (i, done, took) in rx {
            ready[i] = Some((done, took));
            while let Some((done, took)) = ready.get_mut(shown).and_then(Option::take) {
                let done = done?;
                all_passed &= done.passed();
                verdict_line(out, labs[shown].id(), &done, took)?;
                shown += 1;
            }
        }
        // A signal stopped the labs still to run: say so.
        if let Some(signal) = crate::signals::received() {
            return Err(Failure::Interrupted(signal));
        }
        Ok(())
    });
    printed?;
    writeln!(
        out,
        "{} labs in {} ms {}",
        labs.len(),
        started.elapsed().as_millis(),
        "(a check, not a lesson: no progress recorded; `lab next` runs the next lab)".dimmed()
    )?;
    Ok(all_passed)
}

/// One lab's line in `lab run --all`, and a line per check that failed.
fn verdict_line(
    out: &mut dyn Write,
    id: &str,
    done: &Finished,
    took: Duration,
) -> std::io::Result<()> {
    let held = done.verdicts.iter().filter(|v| v.passed).count();
    let mark = if done.passed() {
        "✓".green().bold()
    } else {
        "✗".red().bold()
    };
    let packets = done
        .stats
        .as_ref()
        .map_or(String::new(), |s| format!("  {:>4} packets", s.packets));
    writeln!(
        out,
        "{mark} {id:<24} {held}/{} checks  {:>5} ms{packets}",
        done.verdicts.len(),
        took.as_millis()
    )?;
    for line in done.failed_checks(|_| true) {
        writeln!(out, "    {line}")?;
    }
    // A line per lab as it ends, not all of them at the end.
    out.flush()
}
