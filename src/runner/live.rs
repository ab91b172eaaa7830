//! Sockets driven by hand, one step at a time: the engine of `lab repl`.
//!
//! Each socket the learner makes lives on a thread of its own, an actor
//! named after the socket's variable (`server`, `conn`). A call that blocks
//! (`conn.recv(1024)` on an empty buffer) holds only that socket's thread:
//! the learner types the peer's line meanwhile, and the blocked call
//! returns when the peer acts, as two programs would.
//!
//! Steps reach a socket's thread through a channel and run exactly as in a
//! lab (the same [`Actor`] code, so the same records and stream offsets);
//! what they did comes back as [`Event`]s on the run's clock, beside the
//! captured packets. When a step is done, [`Live::done`] says so; when
//! `accept` made a new socket, that socket moves to a thread of its own.
//!
//! A blocking call waits as long as it takes (Python's default, bounded by
//! [`FOREVER`]); [`Live::interrupt`] gives it up, as Ctrl-C does in Python.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::Scope;
use std::time::Duration;

use super::actor::{Actor, StepFailed};
use super::board::Board;
use super::sock::{FOREVER, Sock};
use super::{Batch, StepAt};
use crate::catalog::Step;
use crate::clock::Clock;
use crate::trace::{Call, Event};

/// A step that has finished on its socket's thread.
#[derive(Debug)]
pub struct Done {
    /// The number [`Live::submit`] gave the step.
    pub id: u64,
    /// The socket (and actor) it ran on.
    pub socket: String,
    /// Why the step could not run, if it could not (not an errno: those
    /// are in the call's record).
    pub failed: Option<String>,
    /// Sockets the step made that now have threads of their own
    /// (`conn` after `conn, addr = server.accept()`).
    pub adopted: Vec<String>,
    /// The calls the step made, as the trace has them.
    pub calls: Vec<Call>,
}

/// What a socket's thread is asked to do.
enum Job {
    Run { id: u64, step: Step },
}

/// What a socket's thread reports back.
enum Report {
    Done {
        id: u64,
        socket: String,
        failed: Option<String>,
        /// Sockets the step made besides the thread's own.
        made: Vec<(String, Sock)>,
        calls: Vec<Call>,
    },
}

/// One socket's thread, seen from the REPL.
struct Owner {
    jobs: Sender<Job>,
    /// A step is running (maybe blocked in a call).
    busy: Arc<AtomicBool>,
    /// Set to give up the blocking call in progress.
    interrupt: Arc<AtomicBool>,
}

/// The sockets of one `lab repl` session and their threads.
pub struct Live<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    board: &'env Board,
    clock: Clock,
    events: Sender<Event>,
    scratch: std::path::PathBuf,
    owners: BTreeMap<String, Owner>,
    reports: Sender<Report>,
    reported: Receiver<Report>,
    next_id: u64,
    threads: Vec<std::thread::ScopedJoinHandle<'scope, ()>>,
}

impl<'scope, 'env> Live<'scope, 'env> {
    /// A session whose threads live in `scope`, share `board`, and send
    /// their events to `events`. AF_UNIX sockets that name no path bind in
    /// `scratch`.
    pub fn new(
        scope: &'scope Scope<'scope, 'env>,
        board: &'env Board,
        clock: Clock,
        events: Sender<Event>,
        scratch: std::path::PathBuf,
    ) -> Self {
        let (reports, reported) = mpsc::channel();
        Live {
            scope,
            board,
            clock,
            events,
            scratch,
            owners: BTreeMap::new(),
            reports,
            reported,
            next_id: 0,
            threads: Vec::new(),
        }
    }

    /// Whether a socket of this name exists (has a thread).
    pub fn has(&self, socket: &str) -> bool {
        self.owners.contains_key(socket)
    }

    /// Whether a step is running on `socket` (blocked in a call, perhaps).
    pub fn busy(&self, socket: &str) -> bool {
        self.owners
            .get(socket)
            .is_some_and(|o| o.busy.load(Ordering::SeqCst))
    }

    /// The sockets that are inside a step right now.
    pub fn busy_sockets(&self) -> Vec<String> {
        self.owners
            .iter()
            .filter(|(_, o)| o.busy.load(Ordering::SeqCst))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Runs `step` on the thread of `socket`; a `socket` step makes the
    /// thread first (and a name used again drops the old socket, as
    /// rebinding a Python variable does). Returns the step's number.
    pub fn submit(&mut self, socket: &str, step: Step) -> Result<u64, String> {
        if matches!(step.action, crate::catalog::Action::Socket(_)) {
            if self.busy(socket) {
                return Err(format!(
                    "`{socket}` is blocked in a call: Ctrl-C gives it up first"
                ));
            }
            self.spawn(socket, None);
        }
        let owner = self
            .owners
            .get(socket)
            .ok_or_else(|| format!("there is no socket `{socket}`"))?;
        if owner.busy.swap(true, Ordering::SeqCst) {
            return Err(format!(
                "`{socket}` is still in its last call; one call at a time per socket (Ctrl-C gives it up)"
            ));
        }
        owner.interrupt.store(false, Ordering::SeqCst);
        self.next_id += 1;
        let id = self.next_id;
        owner
            .jobs
            .send(Job::Run { id, step })
            .map_err(|_| format!("the thread of `{socket}` has ended"))?;
        Ok(id)
    }

    /// Gives up every blocking call in progress; returns the sockets.
    pub fn interrupt(&self) -> Vec<String> {
        let mut stopped = Vec::new();
        for (name, owner) in &self.owners {
            if owner.busy.load(Ordering::SeqCst) {
                owner.interrupt.store(true, Ordering::SeqCst);
                stopped.push(name.clone());
            }
        }
        stopped
    }

    /// The steps that finished, waiting up to `wait` for the first one.
    pub fn done(&mut self, wait: Duration) -> Vec<Done> {
        let mut out = Vec::new();
        let first = match self.reported.recv_timeout(wait) {
            Ok(r) => r,
            Err(_) => return out,
        };
        let mut next = Some(first);
        while let Some(Report::Done {
            id,
            socket,
            failed,
            made,
            calls,
        }) = next
        {
            let mut adopted = Vec::new();
            for (name, sock) in made {
                self.spawn(&name, Some(sock));
                adopted.push(name);
            }
            out.push(Done {
                id,
                socket,
                failed,
                adopted,
                calls,
            });
            next = self.reported.try_recv().ok();
        }
        out
    }

    /// Ends the session: every blocked call is given up, every thread
    /// closes its sockets and ends (Ctrl-D). Returns when they have.
    pub fn finish(mut self) {
        self.interrupt();
        // Dropping the job channels ends each thread's loop; each closes
        // its sockets on the way out.
        self.owners.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// Starts the thread of socket `name`, holding `sock` if it exists
    /// already (an accepted connection).
    fn spawn(&mut self, name: &str, sock: Option<Sock>) {
        let (jobs, todo) = mpsc::channel();
        let busy = Arc::new(AtomicBool::new(false));
        let interrupt = Arc::new(AtomicBool::new(false));
        let owner = Owner {
            jobs,
            busy: Arc::clone(&busy),
            interrupt: Arc::clone(&interrupt),
        };
        // A name used again (as rebinding a Python name drops the old
        // socket): the old thread's channel closes, and a call it is
        // blocked in is given up, so it ends and closes its socket.
        if let Some(old) = self.owners.insert(name.to_string(), owner) {
            old.interrupt.store(true, Ordering::SeqCst);
        }
        let mut sockets = BTreeMap::new();
        if let Some(mut sock) = sock {
            sock.interrupt = Some(Arc::clone(&interrupt));
            sockets.insert(name.to_string(), sock);
        }
        let mut actor = Actor {
            name: name.to_string(),
            clock: self.clock,
            board: self.board,
            events: self.events.clone(),
            scope: Default::default(),
            sockets,
            default_timeout: FOREVER,
            saved: Default::default(),
            scratch: self.scratch.clone(),
            controller: &Batch,
            quiet: false,
            interrupt: Some(interrupt),
            record: Some(Default::default()),
        };
        let reports = self.reports.clone();
        let own = name.to_string();
        let thread = self.scope.spawn(move || {
            while let Ok(Job::Run { id, step }) = todo.recv() {
                let outcome = actor.run(&[StepAt { step, line: None }]);
                let made: Vec<String> = actor
                    .sockets
                    .keys()
                    .filter(|k| **k != own)
                    .cloned()
                    .collect();
                let made = made
                    .into_iter()
                    .filter_map(|k| actor.sockets.remove(&k).map(|s| (k, s)))
                    .collect();
                busy.store(false, Ordering::SeqCst);
                let failed = outcome.err().map(|StepFailed(m)| m);
                let calls = actor
                    .record
                    .as_ref()
                    .map(|r| std::mem::take(&mut *r.borrow_mut()))
                    .unwrap_or_default();
                let report = Report::Done {
                    id,
                    socket: own.clone(),
                    failed,
                    made,
                    calls,
                };
                if reports.send(report).is_err() {
                    break;
                }
            }
            actor.close_all();
        });
        self.threads.push(thread);
    }
}
