//! One step run forever on a socket made elsewhere: the engine of
//! `lab serve`.
//!
//! `lab serve` builds a listening (or bound UDP) socket on the address the
//! learner chose and hands it here with a `serve` step. The step runs as an
//! actor named `server`, exactly as inside a lab, so the learner's own
//! clients are recorded call by call like the lab's. It ends when `stop` is
//! set (Ctrl-C): every socket is shut down and every connection's thread
//! wakes up and finishes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use socket2::Socket;

use super::actor::{Actor, StepFailed};
use super::board::Board;
use super::sock::Sock;
use crate::catalog::Step;
use crate::clock::Clock;
use crate::expr::Scope;
use crate::trace::{Event, Proto};

/// Runs `step` on `socket` (known to the step as `srv`) until `stop` is
/// set, a stopping signal comes (see [`crate::signals`]) or the step ends. `idle` bounds how long a client may stay silent
/// in the middle of an exchange.
#[allow(clippy::too_many_arguments)]
pub fn serve_forever(
    socket: Socket,
    proto: Proto,
    step: &Step,
    knobs: &Scope,
    clock: Clock,
    events: Sender<Event>,
    idle: Duration,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    let board = Board::default();
    let scratch = super::scratch_dir().map_err(|e| format!("cannot make a scratch folder: {e}"))?;
    let sock = Sock::new(socket, proto, idle).map_err(|e| e.to_string())?;
    board.track(&sock.socket);
    let done = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        // A signal handler may only set a flag; this thread turns the flag
        // into an abort, which wakes every blocked call.
        scope.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if stop.load(Ordering::SeqCst) || crate::signals::received().is_some() {
                    board.abort("stopped");
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let mut actor = Actor {
            name: "server".into(),
            clock,
            board: &board,
            events,
            scope: knobs.clone(),
            sockets: [("srv".to_string(), sock)].into_iter().collect(),
            default_timeout: idle,
            saved: Scope::new(),
            scratch: scratch.clone(),
            controller: &super::Batch,
            quiet: false,
            interrupt: None,
            record: None,
        };
        let step = super::StepAt {
            step: step.clone(),
            line: None,
        };
        let outcome = actor.run(std::slice::from_ref(&step));
        actor.close_all();
        done.store(true, Ordering::SeqCst);
        outcome
    });
    let _ = std::fs::remove_dir_all(&scratch);
    match outcome {
        Ok(()) => Ok(()),
        Err(_) if stop.load(Ordering::SeqCst) || crate::signals::received().is_some() => Ok(()),
        Err(StepFailed(m)) => Err(m),
    }
}
