//! Starting a program under ptrace, attaching to a running one, letting
//! go, and the small vocabulary of ptrace stops.
//!
//! A traced thread runs until something makes it stop: a system call the
//! seccomp filter marks, a signal on its way to it, a `fork` or an `exec`.
//! Stopped, it waits for its tracer, which learns of the stop through
//! `waitpid` (as a parent learns of a child's exit), looks at it with
//! other ptrace requests, and lets it go on with `PTRACE_CONT` (run to the
//! next stop) or `PTRACE_SYSCALL` (also stop when the current system call
//! returns). Every stop must be answered by exactly one of those: a
//! forgotten one leaves the program frozen.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libc::c_int;
use nix::sys::ptrace::Options;
use nix::unistd::Pid;

/// What one `waitpid` said about one traced thread.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// The thread ended with `exit(code)` (a process's last thread: the
    /// process did).
    Exited(Pid, i32),
    /// The thread was killed by a signal.
    Killed(Pid, i32),
    /// A syscall-entry or syscall-exit stop (`PTRACE_SYSCALL`): the signal
    /// number is `SIGTRAP | 0x80` thanks to `PTRACE_O_TRACESYSGOOD`, which
    /// tells it apart from a real SIGTRAP.
    Syscall(Pid),
    /// A ptrace event: `PTRACE_EVENT_SECCOMP`, `_FORK`, `_CLONE`,
    /// `_EXEC`, `_STOP`, ... in the high bits of the status.
    Event(Pid, c_int, c_int),
    /// A signal is about to be delivered to the thread (or, for a thread
    /// not attached with `PTRACE_SEIZE`, the thread entered a group-stop).
    Signal(Pid, c_int),
}

/// Waits for the next stop of any traced thread (`__WALL`: threads too,
/// not only child processes). `None` when nothing is left to wait for.
pub fn wait() -> std::io::Result<Option<Stop>> {
    let mut status: c_int = 0;
    // SAFETY: status is valid for the kernel to write.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
    if pid < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ECHILD) => Ok(None),
            _ => Err(e),
        };
    }
    let pid = Pid::from_raw(pid);
    let stop = if libc::WIFEXITED(status) {
        Stop::Exited(pid, libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Stop::Killed(pid, libc::WTERMSIG(status))
    } else {
        let sig = libc::WSTOPSIG(status);
        let event = status >> 16;
        if sig == libc::SIGTRAP | 0x80 {
            Stop::Syscall(pid)
        } else if event != 0 {
            Stop::Event(pid, event, sig)
        } else {
            Stop::Signal(pid, sig)
        }
    };
    Ok(Some(stop))
}

/// Lets a stopped thread go on, delivering `signal` (0: none). With
/// `to_exit`, it stops again when its current system call returns.
pub fn resume(tid: Pid, to_exit: bool, signal: c_int) {
    let request = if to_exit {
        libc::PTRACE_SYSCALL
    } else {
        libc::PTRACE_CONT
    };
    // SAFETY: a plain ptrace request; an error (the thread died meanwhile:
    // ESRCH) needs no answer, its exit is reported by waitpid.
    unsafe { libc::ptrace(request, tid.as_raw(), 0, signal as libc::c_long) };
}

/// Leaves a thread in a group-stop stopped, as the program's own job
/// control asked (Ctrl-Z, SIGSTOP), while still tracing it (seized
/// threads only).
pub fn listen(tid: Pid) {
    // SAFETY: as in `resume`.
    unsafe { libc::ptrace(libc::PTRACE_LISTEN, tid.as_raw(), 0, 0) };
}

/// Whether a signal stop is a real signal on its way (`false`: a
/// group-stop, where `PTRACE_GETSIGINFO` has nothing to say).
pub fn is_signal_delivery(tid: Pid) -> bool {
    nix::sys::ptrace::getsiginfo(tid).is_ok()
}

/// The options every traced thread gets: follow forks, vforks and
/// threads, report `exec`, mark syscall stops, and (for a program we
/// started) stop at the calls the seccomp filter marks and die with us.
pub fn options(spawned: bool) -> Options {
    let mut o = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC;
    if spawned {
        o |= Options::PTRACE_O_TRACESECCOMP | Options::PTRACE_O_EXITKILL;
    }
    o
}

/// A program to start: its path, found as the shell would find it.
pub struct Program {
    pub path: CString,
    pub argv: Vec<CString>,
    pub shown: String,
}

/// Finds `argv[0]` on `PATH` (or takes it as a path when it holds a `/`).
pub fn resolve(argv: &[String]) -> Result<Program, String> {
    let name = argv
        .first()
        .ok_or("say which program to trace: `lab trace -- CMD ARGS`")?;
    let found: Option<PathBuf> = if name.contains('/') {
        Some(PathBuf::from(name)).filter(|p| p.exists())
    } else {
        std::env::var_os("PATH")
            .unwrap_or_default()
            .as_bytes()
            .split(|&b| b == b':')
            .map(|dir| Path::new(OsStr::from_bytes(dir)).join(name))
            .find(|p| is_executable(p))
    };
    let path = found.ok_or_else(|| format!("command not found: {name}"))?;
    let c = |s: &[u8]| CString::new(s).map_err(|_| format!("a NUL byte in {name:?}"));
    Ok(Program {
        path: c(path.as_os_str().as_bytes())?,
        argv: argv
            .iter()
            .map(|a| c(a.as_bytes()))
            .collect::<Result<_, _>>()?,
        shown: argv.iter().map(|a| quoted(a)).collect::<Vec<_>>().join(" "),
    })
}

/// An argument as a shell would need it typed: `'import sys; sys.exit(3)'`.
fn quoted(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Starts `program` traced from its first instruction, and returns its
/// pid once it has run `exec` (or why it could not).
///
/// The dance, in the child between `fork` and `exec`:
/// 1. `PTRACE_TRACEME`: the parent (this thread) becomes its tracer;
/// 2. `SIGSTOP` to itself: it waits until the tracer has set its options,
///    in particular `PTRACE_O_TRACESECCOMP` (without it the filter's
///    marked calls would fail with ENOSYS);
/// 3. the seccomp filter, then `exec`. If `exec` fails, the child writes
///    its errno into a pipe that `exec` would have closed (close-on-exec).
///
/// Between `fork` and `exec` only system calls are safe (another thread
/// of ours may hold the allocator's lock), so everything the child needs
/// is prepared before the `fork`.
pub fn spawn(program: &Program, filter: &[libc::sock_filter]) -> Result<Pid, String> {
    let mut argv: Vec<*const libc::c_char> = program.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut pipe = [0 as c_int; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!(
            "cannot start {}: {}",
            program.shown,
            std::io::Error::last_os_error()
        ));
    }
    // The tracer ignores Ctrl-C (SIGINT) and Ctrl-\ (SIGQUIT): they are the
    // program's, which is in the same foreground process group and gets
    // them itself. The child puts back what this process had before.
    let saved = [libc::SIGINT, libc::SIGQUIT].map(|sig| {
        // SAFETY: a zeroed sigaction is SIG_DFL with no flags; sigaction
        // writes the old one into `old`.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        let mut ignore: libc::sigaction = unsafe { std::mem::zeroed() };
        ignore.sa_sigaction = libc::SIG_IGN;
        unsafe { libc::sigaction(sig, &ignore, &mut old) };
        (sig, old)
    });

    // SAFETY: an empty signal set, filled by sigemptyset.
    let empty = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        set
    };
    // SAFETY: the child only makes system calls until exec or _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!(
            "cannot start {}: {}",
            program.shown,
            std::io::Error::last_os_error()
        ));
    }
    if pid == 0 {
        // The child.
        unsafe {
            libc::close(pipe[0]);
            for (sig, old) in &saved {
                libc::sigaction(*sig, old, std::ptr::null_mut());
            }
            // Rust programs ignore SIGPIPE; an ignored signal stays ignored
            // across exec, so the program gets the default back. No signal
            // blocked either.
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            let errno = if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                *libc::__errno_location()
            } else {
                libc::kill(libc::getpid(), libc::SIGSTOP);
                if !super::seccomp::install(filter) {
                    *libc::__errno_location()
                } else {
                    libc::execv(program.path.as_ptr(), argv.as_ptr());
                    *libc::__errno_location()
                }
            };
            let bytes = errno.to_ne_bytes();
            libc::write(pipe[1], bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127);
        }
    }
    let child = Pid::from_raw(pid);
    // SAFETY: our copy of the pipe's write end.
    unsafe { libc::close(pipe[1]) };
    let failed = |why: String| {
        // SAFETY: the read end is ours; killing our own child is safe.
        unsafe {
            libc::close(pipe[0]);
            libc::kill(pid, libc::SIGKILL);
        }
        Err(why)
    };
    // 2. The child stops itself: set the options, let it go.
    match wait() {
        Ok(Some(Stop::Signal(p, libc::SIGSTOP))) if p == child => {}
        other => return failed(format!("the child did not stop as expected: {other:?}")),
    }
    if let Err(e) = nix::sys::ptrace::setoptions(child, options(true)) {
        return failed(format!("cannot trace {}: {e}", program.shown));
    }
    resume(child, false, 0);
    // 3. Until the exec event (success) or the child's exit (failure).
    // The child's write of its errno stops at the filter like any write.
    loop {
        match wait() {
            Ok(Some(Stop::Event(p, libc::PTRACE_EVENT_EXEC, _))) if p == child => {
                resume(child, false, 0);
                break;
            }
            Ok(Some(Stop::Event(p, _, _) | Stop::Syscall(p))) if p == child => {
                resume(child, false, 0)
            }
            Ok(Some(Stop::Signal(p, sig))) if p == child => resume(child, false, sig),
            Ok(Some(Stop::Exited(..) | Stop::Killed(..))) | Ok(None) => {
                let mut buf = [0u8; 4];
                // SAFETY: reads at most 4 bytes into buf.
                let n = unsafe { libc::read(pipe[0], buf.as_mut_ptr().cast(), 4) };
                let errno = if n == 4 { i32::from_ne_bytes(buf) } else { 0 };
                let why = std::io::Error::from_raw_os_error(errno);
                return failed(format!("cannot run {}: {why}", program.shown));
            }
            Ok(Some(_)) => {}
            Err(e) => return failed(format!("waiting for {}: {e}", program.shown)),
        }
    }
    // SAFETY: our read end, no longer needed.
    unsafe { libc::close(pipe[0]) };
    Ok(child)
}

/// Attaches to every thread of the running process `pid` with
/// `PTRACE_SEIZE` (which, unlike the older `PTRACE_ATTACH`, does not send
/// the process a SIGSTOP), then interrupts each so that it stops and can
/// be switched to syscall tracing. Returns the threads, each in a stop.
///
/// A thread may start while we attach: the list is read again until it
/// holds no thread we have not seized (new ones after a seize are
/// followed by `PTRACE_O_TRACECLONE`).
pub fn attach(pid: i32) -> Result<(Pid, Vec<Pid>), String> {
    let tgid = super::sockets::tgid_of(Pid::from_raw(pid))
        .ok_or_else(|| format!("no process with pid {pid}"))?;
    if tgid.as_raw() == std::process::id() as i32 {
        return Err("lab cannot trace itself".into());
    }
    let mut seized: Vec<Pid> = Vec::new();
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{tgid}/task"))
            .map_err(|_| format!("no process with pid {pid}"))?;
        let mut new = 0;
        for t in tasks.flatten() {
            let Some(tid) = t.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let tid = Pid::from_raw(tid);
            if seized.contains(&tid) {
                continue;
            }
            match nix::sys::ptrace::seize(tid, options(false)) {
                Ok(()) => {
                    seized.push(tid);
                    new += 1;
                }
                // The thread ended between the listing and the seize.
                Err(nix::errno::Errno::ESRCH) if !seized.is_empty() => {}
                Err(e) => {
                    detach_all(&seized);
                    return Err(format!(
                        "cannot attach to pid {pid}: {} ({}){}",
                        e.desc(),
                        e,
                        if e == nix::errno::Errno::EPERM {
                            "; another tracer may hold it, it may belong to another user, or /proc/sys/kernel/yama/ptrace_scope forbids it"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
        if new == 0 {
            break;
        }
    }
    Ok((tgid, seized))
}

/// Lets every thread of `threads` go, untraced: each is interrupted,
/// waited for until it stops, and detached with any signal it was about
/// to receive. The program runs on as if nobody had looked.
pub fn detach_all(threads: &[Pid]) {
    let mut waiting: Vec<Pid> = Vec::new();
    for &t in threads {
        if nix::sys::ptrace::interrupt(t).is_ok() {
            waiting.push(t);
        }
    }
    while !waiting.is_empty() {
        let stop = match wait() {
            Ok(Some(s)) => s,
            Ok(None) => break,
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(_) => break,
        };
        let (tid, signal) = match stop {
            Stop::Exited(t, _) | Stop::Killed(t, _) => {
                waiting.retain(|&w| w != t);
                continue;
            }
            Stop::Signal(t, sig) if is_signal_delivery(t) => (t, sig),
            Stop::Signal(t, _) | Stop::Syscall(t) | Stop::Event(t, _, _) => (t, 0),
        };
        // SAFETY: a plain ptrace request on a stopped tracee.
        unsafe { libc::ptrace(libc::PTRACE_DETACH, tid.as_raw(), 0, signal as libc::c_long) };
        waiting.retain(|&w| w != tid);
    }
}
