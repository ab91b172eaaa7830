//! The runner: one lab, its actors as threads on real sockets, every call
//! recorded on one clock.
//!
//! When the process may create network namespaces (root), the whole run
//! happens on a thread that first moves into a private one with its own
//! `lo`: fixed ports never clash with other runs, and a capture opened
//! there sees only this lab. Otherwise the host loopback is used with ports
//! the OS assigns.

mod actor;
mod board;
pub mod errno;
pub mod live;
mod session;
mod sock;

use std::sync::mpsc::Sender;
use std::time::Duration;

use actor::{Actor, StepFailed};
pub use board::Board;

use crate::catalog::{Lab, Step};
use crate::clock::Clock;
use crate::expr::Scope;
use crate::trace::{Call, Event, Noted, Op, StepStarted, Varies};

pub use actor::{TcpRow, parse_proc_tcp};
pub use errno::{meaning as errno_meaning, name as errno_name, number as errno_number};
pub use session::serve_forever;

/// Default watchdog for one blocking call, for labs that set no
/// `timeout_ms`. It only ends a run that would otherwise hang: a call that
/// should return does so in milliseconds. It is generous because a machine
/// can be far busier than a learner's (about 230 labs at once on two
/// cores kept a server thread from running for over 2 s, and a 2 s
/// watchdog then failed a correct lab), and it does not count the time the
/// run's threads waited for a CPU (see
/// [`LabTime::watchdog`](crate::clock::LabTime::watchdog)). Labs that
/// teach a watchdog set their own, per step.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Decides, before each step of every actor, whether the step runs now:
/// the seam where a learner takes part in a run.
///
/// The runner calls it with lab time stopped (see
/// [`LabTime`](crate::clock::LabTime)), so it may take as long as it likes,
/// waiting for a key press or an answer, without changing what the run
/// does: every deadline is on lab time. Several actors may ask at once; a
/// controller that talks to a person takes them one at a time.
pub trait Controller: Sync {
    fn before_step(&self, step: &StepStarted) -> Decision;
}

/// What a [`Controller`] decided about a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Run the step.
    Run,
    /// Stop the whole run here (the learner quit).
    Stop,
}

/// Runs every step at once: `lab run`, `lab serve`, the tests, the book.
pub struct Batch;

impl Controller for Batch {
    fn before_step(&self, _: &StepStarted) -> Decision {
        Decision::Run
    }
}

/// A step as an actor runs it: the typed step and its line in the lab file.
#[derive(Debug, Clone)]
pub struct StepAt {
    pub step: Step,
    pub line: Option<usize>,
}

/// The reason a run ends when a [`Controller`] says [`Decision::Stop`].
pub const STOPPED_BY_LEARNER: &str = "stopped at a step";

/// What the runner hands back besides the event stream.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Values saved by steps (`save = "first"`), for expectations.
    pub saved: Scope,
    /// Actors that stopped early, with the reason.
    pub failures: Vec<(String, String)>,
    /// Values that vary from run to run (a clock reading, random bytes,
    /// the scratch folder's path), as the code that made them noted them.
    pub noted: Vec<Noted>,
}

/// Sets the MTU of `lo` a lab asks for (`lo_mtu = "${mtu}"`), when the
/// calling thread is in a private network namespace; on the host's `lo`
/// it would change every program's loopback, so it is never done there.
/// `None` when the lab does not ask; otherwise what happened, as a call
/// record for the trace (op `set_lo_mtu`, actor `lab`).
pub fn apply_lo_mtu(lab: &Lab, knobs: &Scope, clock: Clock) -> Option<Call> {
    let wanted = lab.def.lo_mtu.as_ref()?;
    let mut call = Call::new(clock.now_us(), "lab", Op::SetLoMtu);
    let mtu = match wanted.int(knobs) {
        Ok(n) => n,
        Err(e) => {
            call.error = Some("EINVAL".into());
            call.args = e;
            return Some(call);
        }
    };
    call.args = format!("lo mtu {mtu}");
    if crate::netns::lo_mtu().is_ok_and(|now| i64::from(now) == mtu) {
        call.args.push_str(" (already)");
        call.returned = Some(0);
        return Some(call);
    }
    if !crate::netns::in_private_netns() {
        call.error = Some("not_isolated".into());
        call.args
            .push_str(": not in a private network namespace (run as root), so lo keeps its MTU");
        return Some(call);
    }
    match u32::try_from(mtu)
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
        .and_then(crate::netns::set_lo_mtu)
    {
        Ok(()) => call.returned = Some(0),
        Err(e) => call.error = Some(errno_name(&e)),
    }
    Some(call)
}

/// Runs `lab` with `knobs` on the current thread's network namespace,
/// sending every event to `events` as it happens, and asking `controller`
/// before each step.
pub fn run(
    lab: &Lab,
    knobs: &Scope,
    clock: Clock,
    events: &Sender<Event>,
    controller: &dyn Controller,
) -> RunResult {
    if let Some(call) = apply_lo_mtu(lab, knobs, clock) {
        let _ = events.send(Event::Call(call));
    }
    let board = Board::default();
    let timeout = lab
        .def
        .timeout_ms
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    let mut result = RunResult::default();
    let scratch = match scratch_dir() {
        Ok(dir) => dir,
        Err(e) => {
            let message = format!("cannot make a scratch folder: {e}");
            result.failures.push(("lab".into(), message));
            return result;
        }
    };
    board.note(Varies::ScratchPath, scratch.as_os_str().as_encoded_bytes());
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let handles: Vec<_> = lab
            .def
            .actors
            .iter()
            // An actor with `when` joins only for some knob settings
            // (`Lab::knob_values` made sure every `when` can be worked out).
            .filter(|def| {
                def.when
                    .as_ref()
                    .is_none_or(|w| crate::expr::eval_bool(w, knobs) == Ok(true))
            })
            .map(|def| {
                let board = &board;
                let events = events.clone();
                let knobs = knobs.clone();
                let scratch = scratch.clone();
                let steps: Vec<StepAt> = def
                    .steps
                    .iter()
                    .map(|s| StepAt {
                        step: s.get_ref().clone(),
                        line: Some(lab.line(s.span().start)),
                    })
                    .collect();
                let name = def.name.clone();
                std::thread::Builder::new()
                    .name(format!("actor-{name}"))
                    .spawn_scoped(scope, move || {
                        let mut actor = Actor {
                            name: name.clone(),
                            clock,
                            board,
                            events,
                            scope: knobs,
                            sockets: Default::default(),
                            default_timeout: timeout,
                            saved: Scope::new(),
                            scratch,
                            controller,
                            quiet: false,
                            interrupt: None,
                            record: None,
                        };
                        // This thread's waits for a CPU are forgiven by
                        // the run's watchdogs (see `LabTime::watchdog`).
                        board.time.enlist_this_thread();
                        let outcome = actor.run(&steps);
                        actor.close_all();
                        if let Err(StepFailed(message)) = &outcome {
                            let _ = actor.events.send(Event::ActorFailed {
                                t_us: clock.now_us(),
                                actor: name.clone(),
                                message: message.clone(),
                            });
                            // One broken actor would leave the others
                            // waiting for it: wake them all now.
                            board.abort(&format!("actor `{name}` failed"));
                        }
                        (
                            name,
                            std::mem::take(&mut actor.saved),
                            outcome.err().map(|StepFailed(m)| m),
                        )
                    })
                    .expect("spawn actor thread")
            })
            .collect();
        // A stopping signal (see `crate::signals`) ends the run as a
        // failed actor would: every wait returns, every call wakes, and
        // the run ends with its scratch folder removed. Looked for every
        // 20 ms until the actors are done.
        let done = &done;
        let board = &board;
        let watcher = scope.spawn(move || {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if let Some(signal) = crate::signals::received() {
                    board.abort(&crate::signals::name(signal));
                    return;
                }
                std::thread::park_timeout(Duration::from_millis(20));
            }
        });
        for h in handles {
            match h.join() {
                Ok((name, saved, failure)) => {
                    result.saved.extend(saved);
                    if let Some(m) = failure {
                        result.failures.push((name, m));
                    }
                }
                Err(_) => result
                    .failures
                    .push(("?".into(), "actor thread panicked".into())),
            }
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        watcher.thread().unpark();
    });
    let _ = std::fs::remove_dir_all(&scratch);
    result.noted = board.noted();
    result
}

/// A new folder under the system's temporary directory that only this
/// user can enter, named `<prefix>-<random>`. Created, not reused: in a
/// shared /tmp, a name someone else made first (even a symlink) is never
/// taken over.
pub fn private_dir(prefix: &str) -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    loop {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).map_err(|e| std::io::Error::other(e.to_string()))?;
        let suffix: String = r.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("{prefix}-{suffix}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A fresh folder for AF_UNIX socket files (and uploads) of one run.
pub(crate) fn scratch_dir() -> std::io::Result<std::path::PathBuf> {
    private_dir("socket-lab")
}
