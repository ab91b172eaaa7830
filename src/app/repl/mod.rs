//! `lab repl`: drive both ends of a connection by hand, in the course's
//! Python, and watch every packet each line causes.
//!
//! The loop reads a line ([`crate::repl::line`]), makes it a lab step
//! ([`crate::repl::translate`]) and hands it to the socket's own thread
//! ([`crate::runner::live`]). A display thread shows the calls and the
//! packets as they happen, on one clock, exactly as `lab run` shows a lab's.
//! A call that blocks shows as blocking and holds only its socket: the
//! prompt comes back, the learner types the peer's line, and the blocked
//! call returns when the peer acts.
//!
//! On a terminal, lines are edited with rustyline (history, completion of
//! names and methods, a hint of each method's arguments) and the display
//! prints above the prompt. Without a terminal (`lab repl < steps.txt`) the
//! lines are read one by one and each is echoed with its results, so a
//! script gives a transcript.

mod input;
mod state;

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use colored::Colorize;

use super::run::{CaptureMode, PacketSink, Sink, View, drive};
use super::{Failure, Outcome};
use crate::capture::{Capture, Filter};
use crate::clock::Clock;
use crate::correlate;
use crate::render::{human::Human, map};
use crate::repl::line::{self, Line};
use crate::repl::save::{self, Entry};
use crate::repl::translate::{self, Address, After, Plan, Value, Vars};
use crate::runner::live::{Done, Live};
use crate::runner::{self, Board};
use crate::timeline::Timeline;
use crate::trace::{Call, Event, Op, Proto};
use input::{Input, Read};
use state::{help, state};

/// How long events wait before they are shown, so that the packets a call
/// caused come first: the capture hands frames over a ring block at a
/// time, at most two retire periods (4 ms each) after they crossed `lo`.
const REORDER: Duration = Duration::from_millis(12);

/// How long a line's step may take before the prompt comes back and the
/// step is shown as blocking.
const BLOCKING_AFTER: Duration = Duration::from_millis(300);

/// Options of `lab repl`.
pub struct ReplArgs {
    pub capture: bool,
}

/// Where the display and the loop write: the terminal above the prompt, or
/// standard output.
type Printer = Arc<Mutex<Box<dyn FnMut(String) + Send>>>;

/// What the display has shown so far, for the loop (`map`, and waiting
/// until a line's rows are out).
#[derive(Default)]
struct Shown {
    calls: Vec<Call>,
    packets: Vec<crate::trace::Packet>,
    /// Events up to this time (µs) are shown.
    released_us: u64,
}

/// The REPL's view of the one pipeline ([`drive`]): rows rendered as `lab
/// run` renders them, an error's meaning under its call, printed a batch
/// at a time above the prompt.
struct ReplView {
    human: Human,
    buf: Vec<u8>,
    printer: Printer,
    shown: Arc<Mutex<Shown>>,
}

impl View for ReplView {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        if let Some(actor) = actor_of(event) {
            self.human.add_actor(actor);
        }
        self.human.event(&mut self.buf, event)?;
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Call(c) => {
                explain(&mut self.buf, c)?;
                shown.calls.push(c.clone());
            }
            Event::Packet(p) => shown.packets.push(p.clone()),
            _ => {}
        }
        Ok(())
    }

    fn released(&mut self, cutoff_us: u64) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let text = String::from_utf8_lossy(&self.buf).trim_end().to_string();
            self.buf.clear();
            (self.printer.lock().unwrap_or_else(|p| p.into_inner()))(text);
        }
        // Said only once printed: the loop waits for this before it shows
        // the next prompt (see `Session::settle`).
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        shown.released_us = shown.released_us.max(cutoff_us);
        Ok(())
    }
}

/// `lab repl`.
pub fn repl(args: &ReplArgs) -> Outcome {
    let mode = CaptureMode::detect(args.capture);
    // A private network namespace for this thread (and the socket threads
    // it starts) when the process may make one: the session's ports meet
    // no one else's, and everything on its `lo` is the session's.
    let isolated = netns_for(&mode);
    let clock = Clock::start();
    let (tx, rx) = mpsc::channel::<Event>();
    let capture = match &mode {
        CaptureMode::Off(reason) => Err(reason.clone()),
        _ => Capture::start(&Filter::everything(), clock, PacketSink(tx.clone()))
            .map_err(|e| e.to_string()),
    };
    let scratch = runner::private_dir("socket-lab-repl")
        .map_err(|e| Failure::Usage(format!("cannot make a scratch folder: {e}")))?;
    let terminal = std::io::stdin().is_terminal();
    // SIGTERM and SIGHUP (a closed terminal) end the session as Ctrl-D
    // would, from a thread of their own (see `on_signal` below); Ctrl-C at
    // the prompt is a key the line editor reads, and gives up a blocked
    // call.
    let terminal_mode = TerminalMode::save();
    if let Err(e) = crate::signals::install() {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(Failure::Usage(format!("cannot catch signals: {e}")));
    }
    let mut input = Input::new(terminal)?;
    let printer: Printer = input.printer();
    let say = |text: String| (printer.lock().unwrap_or_else(|p| p.into_inner()))(text);

    say(format!(
        "{} real sockets on {}, every packet shown as it crosses. `help` lists the calls; Ctrl-D ends.",
        "lab repl:".bold(),
        if isolated {
            "a private loopback"
        } else {
            "the host's loopback"
        }
    ));
    match &capture {
        Ok(_) => {}
        Err(why) => say(format!(
            "{} {why} (run as root, or give the binary cap_net_raw, to see packets)",
            "capture off:".yellow()
        )),
    }

    let shown = Arc::new(Mutex::new(Shown::default()));
    let board = Board::default();
    let session_over = AtomicBool::new(false);
    let mut capture = Some(capture);
    let mut tx = Some(tx);
    let outcome = std::thread::scope(|s| {
        {
            // The one pipeline of `lab run` and `lab serve`, with a shorter
            // hold: a person waits for each line.
            let mut view = ReplView {
                human: Human::with_actors(Vec::new()).folded_note("all in the map: type `map`"),
                buf: Vec::new(),
                printer: Arc::clone(&printer),
                shown: Arc::clone(&shown),
            };
            s.spawn(move || {
                // On the host's `lo`, only packets of the session's ports.
                // The view keeps what `map` and `save` need (`Shown`).
                let mut timeline = Timeline::new(!isolated).passing();
                let mut sink = Sink {
                    writer: None,
                    view: &mut view,
                    error: None,
                };
                drive(&rx, clock, REORDER, &mut timeline, &mut sink, None);
            });
        }
        let Some(events) = tx.as_ref().cloned() else {
            unreachable!("the channel is taken once, here")
        };
        let watcher = {
            let (over, board, scratch, mode) = (&session_over, &board, &scratch, &terminal_mode);
            s.spawn(move || on_signal(over, board, scratch, mode))
        };
        let mut live = Live::new(s, &board, clock, events, scratch.clone());
        let mut session = Session {
            vars: Vars::default(),
            closed: BTreeSet::new(),
            backlog: Default::default(),
            history: Vec::new(),
            pending: Vec::new(),
            shown: Arc::clone(&shown),
            clock,
            terminal,
        };
        // However the session ends (even by a panic), every sender of the
        // channel goes, and the display ends: the sockets' threads, the
        // capture (once the last packets are in), this loop's own.
        let ending = Ending {
            capture: &mut capture,
            tx: &mut tx,
        };
        let result = session.run(&mut live, &mut input, &say);
        session_over.store(true, Ordering::SeqCst);
        watcher.thread().unpark();
        live.finish();
        drop(ending);
        result
    });
    let _ = std::fs::remove_dir_all(&scratch);
    outcome.map(|()| true)
}

/// Waits for a stopping signal until the session is over. A signal ends
/// the process from here: the line editor may be blocked reading a key,
/// and no key is coming. Every socket is shut down, the scratch folder is
/// removed, the terminal is put back as it was, then `lab` exits with 128
/// + the signal's number.
fn on_signal(over: &AtomicBool, board: &Board, scratch: &std::path::Path, mode: &TerminalMode) {
    while !over.load(Ordering::SeqCst) {
        if let Some(signal) = crate::signals::received() {
            board.abort("the session was stopped");
            let _ = std::fs::remove_dir_all(scratch);
            mode.restore();
            eprintln!("\nlab: {}", Failure::Interrupted(signal));
            std::process::exit(i32::from(crate::signals::exit_code(signal)));
        }
        std::thread::park_timeout(std::time::Duration::from_millis(50));
    }
}

/// The terminal's settings when the session began, if standard input is
/// a terminal: the line editor switches it to raw mode while it reads,
/// and a session that ends on a signal must not leave it so.
struct TerminalMode(Option<libc::termios>);

impl TerminalMode {
    fn save() -> TerminalMode {
        // SAFETY: tcgetattr writes a termios struct we own; an all-zero
        // termios is a valid value to start from.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } == 0;
        TerminalMode(ok.then_some(t))
    }

    fn restore(&self) {
        if let Some(t) = &self.0 {
            // SAFETY: sets the terminal back from a struct tcgetattr filled.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t) };
        }
    }
}

/// Ends the session's senders when dropped: the capture (it drains the
/// ring until quiet first) and the loop's own, so the display ends.
struct Ending<'a> {
    capture: &'a mut Option<Result<Capture, String>>,
    tx: &'a mut Option<mpsc::Sender<Event>>,
}

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        if let Some(Ok(c)) = self.capture.take() {
            c.stop();
        }
        self.tx.take();
    }
}

/// Enters a private network namespace when `mode` allows it.
fn netns_for(mode: &CaptureMode) -> bool {
    let want = matches!(mode, CaptureMode::Isolated)
        || (matches!(mode, CaptureMode::Off(_)) && crate::netns::can_unshare());
    want && crate::netns::enter_private_netns().is_ok()
}

fn actor_of(event: &Event) -> Option<&str> {
    match event {
        Event::Call(c) => Some(&c.actor),
        Event::CallStarted { actor, .. } => Some(actor),
        _ => None,
    }
}

/// Under a failed call: its error in one line of plain words.
fn explain(out: &mut Vec<u8>, c: &Call) -> std::io::Result<()> {
    if let Some(err) = &c.error
        && let Some(meaning) = runner::errno_meaning(err)
        && !c.timed_out
    {
        writeln!(out, "{:>16}{}", "", format!("{err}: {meaning}").dimmed())?;
    }
    Ok(())
}

/// The state of one session: names, history, steps in flight.
struct Session {
    vars: Vars,
    /// Sockets closed by the learner: a call on one is EBADF.
    closed: BTreeSet<String>,
    /// The backlog each listening socket asked for.
    backlog: std::collections::BTreeMap<String, i64>,
    history: Vec<Entry>,
    /// Steps submitted and not done: (id, line, socket, step, after).
    pending: Vec<Pending>,
    shown: Arc<Mutex<Shown>>,
    clock: Clock,
    terminal: bool,
}

struct Pending {
    id: u64,
    line: String,
    socket: String,
    step: crate::catalog::Step,
    after: After,
    overlapped: bool,
}

impl Session {
    fn run(
        &mut self,
        live: &mut Live<'_, '_>,
        input: &mut Input,
        say: &dyn Fn(String),
    ) -> Result<(), Failure> {
        loop {
            self.collect(live, Duration::ZERO, say);
            input.set_names(self.vars.names.keys().cloned().collect());
            let text = match input.read()? {
                Read::Line(t) => t,
                Read::Interrupted => {
                    let stopped = live.interrupt();
                    if stopped.is_empty() {
                        say(
                            "KeyboardInterrupt (nothing was blocking; Ctrl-D ends the session)"
                                .into(),
                        );
                    } else {
                        say(format!(
                            "KeyboardInterrupt: gave up the call of {}",
                            stopped.join(", ")
                        ));
                        self.collect(live, BLOCKING_AFTER, say);
                    }
                    continue;
                }
                Read::End => {
                    let open: Vec<String> = self
                        .vars
                        .names
                        .iter()
                        .filter(|(n, v)| matches!(v, Value::Socket(_)) && !self.closed.contains(*n))
                        .map(|(n, _)| n.clone())
                        .collect();
                    if open.is_empty() {
                        say("bye".into());
                    } else {
                        say(format!("closing {} and leaving", open.join(", ")));
                    }
                    return Ok(());
                }
            };
            if !self.terminal {
                say(format!("{} {}", ">>>".dimmed(), text));
            }
            // Steps that finished while the prompt waited (an accept a
            // client outside the session completed) count before this line.
            self.collect(live, Duration::ZERO, say);
            match self.line(&text, live, say) {
                Ok(Flow::Go) => {}
                Ok(Flow::Quit) => return Ok(()),
                Err(message) => say(format!("{} {message}", "error:".red().bold())),
            }
        }
    }

    /// One line: a command, or a statement run on its socket.
    fn line(
        &mut self,
        text: &str,
        live: &mut Live<'_, '_>,
        say: &dyn Fn(String),
    ) -> Result<Flow, String> {
        let parsed = line::parse(text).map_err(|e| {
            let caret = format!("    {}", e.caret());
            format!("{e}\n    {text}\n{caret}")
        })?;
        let statement = match parsed {
            Line::Empty => return Ok(Flow::Go),
            Line::Command { name, arg } => return self.command(&name, arg.as_deref(), say),
            Line::Statement(s) => s,
        };
        if let Some(r) = &statement.call.receiver
            && self.closed.contains(r)
            && statement.call.method != "close"
        {
            return Err(format!(
                "EBADF: `{r}` is closed; its descriptor names nothing now (make a new socket)"
            ));
        }
        match translate::translate(&statement, &self.vars)? {
            Plan::Show(text) => say(text),
            Plan::Assign { name, value } => {
                self.vars.names.insert(name, value);
            }
            Plan::Run {
                socket,
                step,
                after,
            } => {
                if matches!(after, After::Accept { ref conn, .. } if live.busy(conn)) {
                    return Err("that name's socket is blocked in a call".into());
                }
                let id = live.submit(&socket, step.clone())?;
                for p in &mut self.pending {
                    p.overlapped = true;
                }
                self.pending.push(Pending {
                    id,
                    line: text.to_string(),
                    socket: socket.clone(),
                    step,
                    after,
                    overlapped: false,
                });
                // Wait a little for the step, so its result comes before
                // the next prompt; a step that blocks is shown as such.
                self.collect(live, BLOCKING_AFTER, say);
                // (A step that finished was settled and shown by `collect`.)
                if self.pending.iter().any(|p| p.id == id) {
                    self.settle();
                    let what = self
                        .shown_call_started(&socket)
                        .unwrap_or_else(|| "its call".into());
                    say(format!(
                        "{} {socket} is blocked in {what}: type the peer's line; Ctrl-C gives it up",
                        "⋯".yellow()
                    ));
                }
            }
        }
        Ok(Flow::Go)
    }

    /// Waits until the display has shown everything up to now, so that a
    /// line's rows and packets come before what is printed next.
    fn settle(&self) {
        // Shown up to now: the display releases what is REORDER old, so
        // this waits about REORDER.
        let until = self.clock.now_us();
        // The display releases events every few ms, REORDER behind the
        // clock: this ends a few tens of ms from now (at most a second, if
        // the display has stopped).
        for _ in 0..200 {
            let released = self
                .shown
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .released_us;
            if released >= until {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The call a socket's thread is inside, as `recv(conn)`.
    fn shown_call_started(&self, socket: &str) -> Option<String> {
        let p = self.pending.iter().find(|p| p.socket == socket)?;
        let op =
            p.step.action.ops().iter().find(|op| {
                op.is_recv() || op.is_send() || matches!(op, Op::Accept | Op::Connect)
            })?;
        Some(format!("{op}({socket})"))
    }

    /// Takes in the steps that finished, waiting up to `wait` for one.
    fn collect(&mut self, live: &mut Live<'_, '_>, wait: Duration, say: &dyn Fn(String)) {
        let mut wait = wait;
        loop {
            let done = live.done(wait);
            if done.is_empty() {
                return;
            }
            for d in done {
                self.finished(d, say);
            }
            wait = Duration::ZERO;
        }
    }

    /// A step is done: its names take their values, and it joins the
    /// history `save` writes.
    fn finished(&mut self, d: Done, say: &dyn Fn(String)) {
        let Some(at) = self.pending.iter().position(|p| p.id == d.id) else {
            return;
        };
        let p = self.pending.remove(at);
        // The step's rows first, then what it gave.
        self.settle();
        if let Some(why) = &d.failed {
            say(format!("{} {why}", "error:".red().bold()));
            return;
        }
        let last = |op: Op| d.calls.iter().rev().find(|c| c.op == op);
        // Addresses, as the kernel reported them after each call.
        for c in &d.calls {
            if let Some(sock) = &c.sock {
                if let Some(local) = c.local {
                    self.vars.local.insert(sock.clone(), Address::Inet(local));
                }
                if let Some(peer) = c.peer
                    && c.op != Op::Accept
                {
                    self.vars.peer.insert(sock.clone(), Address::Inet(peer));
                }
            }
        }
        use crate::catalog::step::Action;
        match &p.step.action {
            Action::Socket(s) => {
                let proto = s.proto.unwrap_or(Proto::Tcp);
                self.vars.names.insert(s.name.clone(), Value::Socket(proto));
                self.closed.remove(&s.name);
                self.vars.local.remove(&s.name);
                self.vars.peer.remove(&s.name);
            }
            Action::Bind(b) => {
                if let (Some(Value::Socket(Proto::Unix)), Some(path), Some(c)) =
                    (self.vars.names.get(&b.on), &b.addr, last(Op::Bind))
                    && c.error.is_none()
                {
                    self.vars
                        .local
                        .insert(b.on.clone(), Address::Path(path.clone()));
                }
            }
            Action::Close(c) => {
                self.closed.insert(c.on.clone());
            }
            Action::Listen(l) => {
                if let (Some(on), Some(c)) = (&l.on, last(Op::Listen))
                    && c.error.is_none()
                {
                    let backlog = l.backlog.as_ref().and_then(|b| match b {
                        crate::catalog::Tpl::Int(n) => Some(*n),
                        _ => None,
                    });
                    self.backlog.insert(on.clone(), backlog.unwrap_or(128));
                }
            }
            _ => {}
        }
        match &p.after {
            After::Nothing => {}
            After::Accept { conn, addr } => {
                if let Some(c) = last(Op::Accept)
                    && c.error.is_none()
                {
                    let proto = match self.vars.names.get(&p.socket) {
                        Some(Value::Socket(proto)) => *proto,
                        _ => Proto::Tcp,
                    };
                    self.vars.names.insert(conn.clone(), Value::Socket(proto));
                    self.closed.remove(conn);
                    if let Some(local) = c.local {
                        self.vars.local.insert(conn.clone(), Address::Inet(local));
                    }
                    let peer = c.peer.map(Address::Inet);
                    if let Some(peer) = &peer {
                        self.vars.peer.insert(conn.clone(), peer.clone());
                    }
                    if let (Some(name), Some(peer)) = (addr, peer) {
                        say(format!("{name} = {peer}"));
                        self.vars.names.insert(name.clone(), Value::Addr(peer));
                    }
                }
            }
            After::ConnectEx { into } => {
                if let Some(c) = last(Op::Connect) {
                    let n = c
                        .error
                        .as_deref()
                        .and_then(runner::errno_number)
                        .map_or(0, i64::from);
                    say(format!("connect_ex returned {n}"));
                    if let Some(name) = into {
                        self.vars.names.insert(name.clone(), Value::Int(n));
                    }
                }
            }
            After::Bytes { into } => {
                if let Some(c) = last(Op::Recv)
                    && let Some(data) = &c.data
                {
                    self.vars
                        .names
                        .insert(into.clone(), Value::Bytes(data.clone()));
                }
            }
            After::Datagram { data, addr } => {
                if let Some(c) = last(Op::RecvFrom) {
                    if let (Some(name), Some(bytes)) = (data, &c.data) {
                        self.vars
                            .names
                            .insert(name.clone(), Value::Bytes(bytes.clone()));
                    }
                    if let (Some(name), Some(peer)) = (addr, c.peer) {
                        self.vars
                            .names
                            .insert(name.clone(), Value::Addr(Address::Inet(peer)));
                    }
                }
            }
            After::Number { into } => {
                if let Some(n) = d.calls.last().and_then(|c| c.returned) {
                    self.vars.names.insert(into.clone(), Value::Int(n));
                }
            }
        }
        self.history.push(Entry {
            id: p.id,
            line: p.line,
            socket: p.socket,
            step: p.step,
            overlapped: p.overlapped,
            calls: d.calls,
        });
    }

    fn command(
        &mut self,
        name: &str,
        arg: Option<&str>,
        say: &dyn Fn(String),
    ) -> Result<Flow, String> {
        match name {
            "help" => say(help(arg)),
            "quit" | "exit" => return Ok(Flow::Quit),
            "map" => {
                let s = self.shown.lock().unwrap_or_else(|p| p.into_inner());
                let entries = correlate::map(&s.calls, &s.packets);
                let mut buf = Vec::new();
                map::write(&mut buf, &s.calls, &entries, &map::flagged(&s.packets))
                    .map_err(|e| e.to_string())?;
                let text = String::from_utf8_lossy(&buf).trim_end().to_string();
                if text.is_empty() {
                    say("the map is empty: no bytes have moved yet (or the capture is off)".into());
                } else {
                    say(text);
                }
            }
            "state" => say(state(&self.vars, &self.backlog)),
            "save" => {
                let path = arg.ok_or("save needs a file name: save session.toml")?;
                let path = std::path::Path::new(path);
                // In the order the lines were typed (a step that blocked
                // finished after the lines typed while it waited).
                let mut history = self.history.clone();
                history.sort_by_key(|e| e.id);
                let text = save::lab_file(&save::id_for(path), &history)?;
                // Checked before it is written: a file `lab run` would
                // refuse is never left behind.
                crate::catalog::Lab::parse(&path.display().to_string(), &text)
                    .map_err(|e| format!("the session does not make a lab file: {e}"))?;
                write_new(path, &text)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                say(format!(
                    "saved {} lines as {}: `lab run {}` replays them",
                    self.history.len(),
                    path.display(),
                    path.display()
                ));
                for p in &self.pending {
                    say(format!(
                        "  left out: {} (still blocked; it has no result yet)",
                        p.line.trim()
                    ));
                }
            }
            other => {
                return Err(format!(
                    "unknown command `{other}`; `help` lists what there is"
                ));
            }
        }
        Ok(Flow::Go)
    }
}

/// Writes `text` to a new file `path`, whole or not at all: a temporary
/// file, then a hard link (which, unlike a rename, never replaces a file
/// that is there already).
fn write_new(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    if path.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "it exists already; save under a new name",
        ));
    }
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    result
}

enum Flow {
    Go,
    Quit,
}
