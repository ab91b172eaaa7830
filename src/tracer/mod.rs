//! `lab trace`: the socket calls of any program, recorded with ptrace.
//!
//! # How a tracer like strace works
//!
//! `ptrace` lets one thread (the tracer) stop another (the tracee) and
//! look inside it. A tracee that reaches a stop point freezes; its tracer
//! is woken by `waitpid`, reads its registers (`PTRACE_GETREGS`) and
//! memory (`process_vm_readv`), then lets it go on (`PTRACE_CONT`, or
//! `PTRACE_SYSCALL` to stop again when the current system call returns).
//! A system call seen this way is a number and six integers (see
//! [`syscalls`]); the tracer turns them into something a person reads:
//! `connect(fd3, 127.0.0.1:9000) → 0`.
//!
//! One call, as `lab trace` sees it (seccomp mode, see [`seccomp`]):
//!
//! ```text
//! program                     kernel                          tracer
//! recv(4, buf, 1024) ───────► seccomp filter: TRACE ────────► waitpid: PTRACE_EVENT_SECCOMP
//!                                                             regs: nr=recvfrom, fd 4
//!                                                             /proc/PID/fd/4 → socket:[81234]
//!                                                             t_us = now; CallStarted
//!                             ◄──────────────────────────────  PTRACE_SYSCALL
//!      (waits for data)
//!                             returns 9 ───────────────────► waitpid: syscall-exit stop
//!                                                             regs: rax = 9; read 9 bytes
//!                                                             Call { waited_us, data, ... }
//! recv returns 9 ◄─────────── ◄──────────────────────────────  PTRACE_CONT
//! ```
//!
//! Everything else the program does runs at full speed: the filter lets
//! it through without a stop.
//!
//! # Processes, threads, actors
//!
//! With `PTRACE_O_TRACEFORK`, `_VFORK` and `_CLONE`, every process and
//! thread the program starts is traced from its first instruction. Each
//! thread is an actor on the timeline, named after its process's command
//! and ids: `python3[4182]` for a process's main thread (its thread id is
//! its process id), `python3[4182/4190]` for another of its threads. An
//! `exec` keeps the ids and changes the name (`sh[4182]` becomes
//! `python3[4182]`).
//!
//! # Who may do this
//!
//! Tracing one's own child needs no privilege. Attaching to a running
//! process (`lab trace --pid`) needs the right to ptrace it: same user,
//! and `kernel.yama.ptrace_scope` permitting (or CAP_SYS_PTRACE). The
//! tracer never runs the program as anyone else and gives it no
//! capability: it inherits exactly what `lab` was started with, less any
//! file capability of the `lab` binary, which `exec` drops.

mod interrupt;
pub mod process;
pub mod record;
pub mod seccomp;
pub mod sockets;
pub mod syscalls;
pub mod words;

pub use interrupt::prepare;

use std::collections::HashMap;
use std::sync::mpsc::Sender;

use nix::unistd::Pid;

use crate::clock::Clock;
use crate::trace::Event;
use process::Stop;
use record::Who;
use sockets::Sockets;
use syscalls::{Regs, Syscall};

/// What to trace.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start this command line, traced from its first instruction.
    Spawn(Vec<String>),
    /// Attach to this running process, until Ctrl-C or its end.
    Attach(i32),
}

/// How tracing ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The program (the process started, or attached to) exited.
    Exited(i32),
    /// It was killed by this signal.
    Killed(i32),
    /// Ctrl-C: the tracer let go; the program runs on.
    Detached,
}

impl Ended {
    /// The exit code `lab trace` passes on: the program's own, or 128 + N
    /// for a program killed by signal N (as a shell reports it).
    pub fn exit_code(self) -> u8 {
        match self {
            Ended::Exited(code) => code as u8,
            Ended::Killed(sig) => (128 + sig) as u8,
            Ended::Detached => 0,
        }
    }
}

/// The traced program, once it runs: its process id and how to name it.
#[derive(Debug, Clone)]
pub struct Started {
    pub pid: i32,
    /// The command line, or the attached process's command name.
    pub shown: String,
    /// Its actor name: `python3[4182]`.
    pub actor: String,
}

/// Traces `target` on the calling thread (which becomes the tracer: ptrace
/// ties tracees to a thread, not a process), sending every socket call to
/// `tx` on `clock`. `ready` hears once that the program runs, or why not.
pub fn run(
    target: &Target,
    clock: Clock,
    tx: Sender<Event>,
    ready: impl FnOnce(Result<Started, String>),
) -> Result<Ended, String> {
    let (root, seccomp) = match target {
        Target::Spawn(argv) => {
            let started = process::resolve(argv)
                .and_then(|p| process::spawn(&p, &seccomp::program()).map(|pid| (pid, p.shown)));
            match started {
                Ok((pid, shown)) => {
                    ready(Ok(Started {
                        pid: pid.as_raw(),
                        shown,
                        actor: format!("{}[{pid}]", sockets::comm_of(pid)),
                    }));
                    (pid, true)
                }
                Err(e) => {
                    ready(Err(e));
                    return Ok(Ended::Exited(0));
                }
            }
        }
        Target::Attach(pid) => match process::attach(*pid) {
            Ok((tgid, threads)) => {
                interrupt::install(tgid);
                for t in &threads {
                    // Each thread stops (PTRACE_EVENT_STOP) and is then
                    // switched to syscall tracing by the loop.
                    let _ = nix::sys::ptrace::interrupt(*t);
                }
                ready(Ok(Started {
                    pid: tgid.as_raw(),
                    shown: sockets::comm_of(tgid),
                    actor: format!("{}[{tgid}]", sockets::comm_of(tgid)),
                }));
                (tgid, false)
            }
            Err(e) => {
                ready(Err(e));
                return Ok(Ended::Exited(0));
            }
        },
    };
    let mut tracer = Tracer {
        clock,
        tx,
        seccomp,
        root,
        threads: HashMap::new(),
        comms: HashMap::new(),
        sockets: Sockets::default(),
        ended: None,
    };
    tracer.thread(root).fresh = false;
    let result = tracer.run_loop();
    if result.is_err() {
        // Never leave a program frozen: let go of every thread (a program
        // we started also dies with us, PTRACE_O_EXITKILL).
        let threads: Vec<Pid> = tracer.threads.keys().copied().collect();
        process::detach_all(&threads);
    }
    result.map(|()| tracer.ended.unwrap_or(Ended::Detached))
}

/// A traced thread.
#[derive(Debug)]
struct Thread {
    tgid: Pid,
    /// The call it is in, between its entry and exit stops.
    pending: Option<Pending>,
    /// A thread just born starts with a SIGSTOP that is ptrace's, not the
    /// program's: it is swallowed.
    fresh: bool,
}

/// A call seen at entry, waiting for its exit.
#[derive(Debug, Clone, Copy)]
struct Pending {
    syscall: Syscall,
    t_us: u64,
    inode: Option<u64>,
}

struct Tracer {
    clock: Clock,
    tx: Sender<Event>,
    /// Started by us with the seccomp filter: a thread stops only at the
    /// filter's calls. Attached: at every system call (PTRACE_SYSCALL).
    seccomp: bool,
    root: Pid,
    threads: HashMap<Pid, Thread>,
    /// Command name of each process (by process id).
    comms: HashMap<Pid, String>,
    sockets: Sockets,
    ended: Option<Ended>,
}

impl Tracer {
    fn run_loop(&mut self) -> Result<(), String> {
        loop {
            if !self.seccomp && interrupt::requested() {
                let threads: Vec<Pid> = self.threads.keys().copied().collect();
                process::detach_all(&threads);
                self.ended = Some(Ended::Detached);
                return Ok(());
            }
            let stop = match process::wait() {
                Ok(Some(stop)) => stop,
                // Nothing left to trace.
                Ok(None) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => return Err(format!("waitpid: {e}")),
            };
            self.handle(stop);
        }
    }

    /// Answers one stop; every branch lets the thread go on exactly once
    /// (or leaves it in a group-stop, as its job control asked).
    fn handle(&mut self, stop: Stop) {
        match stop {
            Stop::Exited(tid, code) => self.gone(tid, Ended::Exited(code)),
            Stop::Killed(tid, sig) => self.gone(tid, Ended::Killed(sig)),
            Stop::Event(tid, libc::PTRACE_EVENT_SECCOMP, _) => {
                self.thread(tid);
                self.entry(tid);
            }
            Stop::Syscall(tid) => {
                self.thread(tid);
                // With the filter, we ask for a syscall stop only after an
                // entry: this is its exit. Without, the kernel says which.
                if self.seccomp || syscall_op(tid) == Some(libc::PTRACE_SYSCALL_INFO_EXIT) {
                    self.exit(tid);
                } else {
                    self.entry(tid);
                }
            }
            Stop::Event(
                tid,
                libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE,
                _,
            ) => {
                // The new thread is traced already; it may even have
                // reported its first stop before this event.
                if let Ok(new) = nix::sys::ptrace::getevent(tid) {
                    self.thread(Pid::from_raw(new as i32));
                }
                self.resume(tid, 0);
            }
            Stop::Event(tid, libc::PTRACE_EVENT_EXEC, _) => {
                self.exec(tid);
                self.resume(tid, 0);
            }
            Stop::Event(tid, libc::PTRACE_EVENT_STOP, sig) => {
                self.thread(tid).fresh = false;
                if matches!(
                    sig,
                    libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
                ) {
                    // A group-stop (Ctrl-Z): stay stopped, still traced.
                    process::listen(tid);
                } else {
                    self.resume(tid, 0);
                }
            }
            Stop::Event(tid, _, _) => self.resume(tid, 0),
            Stop::Signal(tid, sig) => {
                let thread = self.thread(tid);
                if thread.fresh && sig == libc::SIGSTOP {
                    thread.fresh = false;
                    self.resume(tid, 0);
                } else if process::is_signal_delivery(tid) {
                    // The program's signal: deliver it.
                    self.resume(tid, sig);
                } else {
                    // A group-stop of a thread we did not seize: ptrace
                    // cannot keep it stopped and traced, so it runs on.
                    self.resume(tid, 0);
                }
            }
        }
    }

    /// The thread's record, made when first seen.
    fn thread(&mut self, tid: Pid) -> &mut Thread {
        if !self.threads.contains_key(&tid) {
            let tgid = sockets::tgid_of(tid).unwrap_or(tid);
            self.comms
                .entry(tgid)
                .or_insert_with(|| sockets::comm_of(tgid));
            self.threads.insert(
                tid,
                Thread {
                    tgid,
                    pending: None,
                    fresh: true,
                },
            );
        }
        self.threads.get_mut(&tid).expect("inserted above")
    }

    fn who(&self, tid: Pid) -> Who {
        let tgid = self.threads.get(&tid).map_or(tid, |t| t.tgid);
        let comm = self.comms.get(&tgid).cloned().unwrap_or_default();
        let actor = if tid == tgid {
            format!("{comm}[{tgid}]")
        } else {
            format!("{comm}[{tgid}/{tid}]")
        };
        Who {
            tgid,
            tid,
            comm,
            actor,
        }
    }

    /// Lets the thread go on: to its call's exit if it is in one we
    /// record, else (with the filter) to the next marked call.
    fn resume(&self, tid: Pid, signal: libc::c_int) {
        let in_call = self.threads.get(&tid).is_some_and(|t| t.pending.is_some());
        process::resume(tid, !self.seccomp || in_call, signal);
    }

    /// A system call begins.
    fn entry(&mut self, tid: Pid) {
        let Ok(regs) = Regs::read(tid) else {
            return self.resume(tid, 0);
        };
        let Some(syscall) = Syscall::from_number(regs.nr) else {
            return self.resume(tid, 0);
        };
        let tgid = self.thread(tid).tgid.as_raw();
        match syscall {
            Syscall::Dup2 | Syscall::Dup3 => {
                // The target descriptor is closed first: forget it.
                self.sockets.forget_fd(tgid, regs.args[1] as i32);
                return self.resume(tid, 0);
            }
            Syscall::CloseRange => {
                let (first, last) = (regs.args[0] as u32, regs.args[1] as u32);
                self.sockets.forget_range(tgid, first, last);
                return self.resume(tid, 0);
            }
            _ => {}
        }
        let inode = match syscall {
            Syscall::Socket | Syscall::SocketPair => None,
            _ => self.sockets.lookup(tgid, regs.fd()),
        };
        if syscall.on_any_fd() && inode.is_none() {
            // A read of a file, a write to the terminal: not ours. A
            // closed number may come back as a socket: forget it.
            if syscall == Syscall::Close {
                self.sockets.forget_fd(tgid, regs.fd());
            }
            return self.resume(tid, 0);
        }
        let t_us = self.clock.now_us();
        self.thread(tid).pending = Some(Pending {
            syscall,
            t_us,
            inode,
        });
        // The program goes on at once; the event is made while it runs.
        self.resume(tid, 0);
        if syscall.may_block()
            && let Some(op) = record::op_of(syscall, &regs)
        {
            let _ = self.tx.send(Event::CallStarted {
                t_us,
                actor: self.who(tid).actor,
                op,
                sock: Some(format!("fd{}", regs.fd())),
            });
        }
    }

    /// A system call returns.
    fn exit(&mut self, tid: Pid) {
        let Ok(regs) = Regs::read(tid) else {
            self.thread(tid).pending = None;
            return self.resume(tid, 0);
        };
        let pending = match self.thread(tid).pending.take() {
            Some(p) => p,
            // Attached while the thread was inside a call: record it
            // from its exit, as well as we can.
            None => match Syscall::from_number(regs.nr) {
                Some(syscall)
                    if !matches!(syscall, Syscall::Dup2 | Syscall::Dup3 | Syscall::CloseRange) =>
                {
                    let tgid = self.thread(tid).tgid.as_raw();
                    let inode = self.sockets.lookup(tgid, regs.fd());
                    if syscall.on_any_fd() && inode.is_none() {
                        return self.resume(tid, 0);
                    }
                    Pending {
                        syscall,
                        t_us: self.clock.now_us(),
                        inode,
                    }
                }
                _ => return self.resume(tid, 0),
            },
        };
        if let Err(e) = regs.result()
            && syscalls::is_restart(e)
        {
            // Interrupted by a signal; the kernel will run it again, and
            // it will stop at its entry again.
            return self.resume(tid, 0);
        }
        let now = self.clock.now_us();
        let who = self.who(tid);
        let calls = record::finish(
            &who,
            pending.syscall,
            pending.t_us,
            now.saturating_sub(pending.t_us),
            &regs,
            pending.inode,
            &mut self.sockets,
        );
        // Everything read from the stopped program is in `calls`: it may
        // go on while the records travel.
        self.resume(tid, 0);
        for call in calls {
            // If nobody reads any more (the output went away), the
            // program still runs to its end.
            let _ = self.tx.send(Event::Call(call));
        }
    }

    /// The thread ran `exec`: its process has a new program, the same ids.
    fn exec(&mut self, tid: Pid) {
        // A thread other than the main one may call exec: it then takes
        // the process id as its thread id, and the former id is reported.
        if let Ok(former) = nix::sys::ptrace::getevent(tid) {
            let former = Pid::from_raw(former as i32);
            if former != tid {
                self.threads.remove(&former);
            }
        }
        let thread = self.thread(tid);
        thread.pending = None;
        let tgid = thread.tgid;
        self.comms.insert(tgid, sockets::comm_of(tgid));
        // Close-on-exec descriptors are gone; the others are learnt again.
        self.sockets.forget_process(tgid.as_raw());
    }

    /// The thread ended.
    fn gone(&mut self, tid: Pid, how: Ended) {
        if let Some(t) = self.threads.remove(&tid)
            && t.tgid == tid
        {
            self.sockets.forget_process(tid.as_raw());
        }
        if tid == self.root {
            self.ended = Some(how);
        }
    }
}

/// What kind of syscall stop a thread is in (`PTRACE_GET_SYSCALL_INFO`,
/// Linux 5.3): entry, exit or seccomp. Without the filter a tracer must
/// know, and counting stops is not enough: a thread attached while inside
/// a call shows its exit first.
fn syscall_op(tid: Pid) -> Option<u8> {
    // The answer starts with `op`, one byte; the rest is not needed here.
    let mut buf = [0u8; 88];
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GET_SYSCALL_INFO,
            tid.as_raw(),
            buf.len(),
            buf.as_mut_ptr(),
        )
    };
    (r > 0).then_some(buf[0])
}
