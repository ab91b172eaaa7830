//! Ctrl-C in `lab trace --pid`: let go of the program, which runs on.
//!
//! The tracer spends its life blocked in `waitpid`. To stop it cleanly, the
//! signal must reach the tracer's own thread (ptrace requests are only
//! valid from the thread that attached), and must make `waitpid` return.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::unistd::Pid;

use super::Target;

/// Set by Ctrl-C (SIGINT) or SIGTERM in attach mode.
static DETACH: AtomicBool = AtomicBool::new(false);
/// The process attached to, for the signal handler.
static ROOT: AtomicI32 = AtomicI32::new(0);

/// Called on the thread that will start the tracer, before any other
/// thread exists: in attach mode, Ctrl-C must reach the tracer's own
/// thread (see [`run`](super::run)), so every other thread blocks it.
pub fn prepare(target: &Target) {
    if matches!(target, Target::Attach(_)) {
        set_interrupt_mask(libc::SIG_BLOCK);
    }
}

fn set_interrupt_mask(how: libc::c_int) {
    // SAFETY: a signal set on the stack, filled by sigemptyset/sigaddset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

/// The Ctrl-C handler of attach mode. A handler may do very little; this
/// one raises a flag and interrupts the attached process, so that a
/// `waitpid` that was about to block returns (a blocked one returns
/// `EINTR` anyway: the handler is installed without `SA_RESTART`).
extern "C" fn on_interrupt(_: libc::c_int) {
    DETACH.store(true, Ordering::SeqCst);
    let root = ROOT.load(Ordering::SeqCst);
    if root > 0 {
        // SAFETY: ptrace is a system call, safe in a signal handler.
        unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, root, 0, 0) };
    }
}

/// Whether Ctrl-C (or SIGTERM) asked the tracer to let go.
pub fn requested() -> bool {
    DETACH.load(Ordering::SeqCst)
}

/// Installs the Ctrl-C handler on the calling thread (the tracer) for
/// the process attached to, and lets Ctrl-C reach this thread.
pub fn install(root: Pid) {
    ROOT.store(root.as_raw(), Ordering::SeqCst);
    // SAFETY: installs a handler that only touches atomics and calls
    // ptrace; no SA_RESTART, so waitpid returns EINTR.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_interrupt as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
    }
    set_interrupt_mask(libc::SIG_UNBLOCK);
}
