//! Stopping on a signal, cleanly.
//!
//! A learner stops `lab` with Ctrl-C (SIGINT), a service manager with
//! SIGTERM, a closed terminal with SIGHUP. Killed outright, `lab` would
//! leave behind what it was in the middle of: a half-written pcap file, a
//! scratch folder of socket files in `/tmp`. So each of these signals only
//! *notes* that it came ([`install`]); the command in progress looks at the
//! note where it can stop ([`received`]): a run aborts its actors, a capture
//! stops reading, and each finishes its files and says what it did. The
//! exit code then says which signal it was: 128 + its number (130 for
//! SIGINT, 143 for SIGTERM), as a shell reports a program a signal ended.
//!
//! A handler may do almost nothing safely (no allocation, no locks): it
//! stores the signal's number in an atomic, through `signal-hook`.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The last signal noted, or 0.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);

/// The signals that stop `lab`.
pub const STOPPING: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// From now on, SIGINT, SIGTERM and SIGHUP are noted instead of ending the
/// process. Safe to call more than once (each call adds the same action).
pub fn install() -> std::io::Result<()> {
    for signal in STOPPING {
        signal_hook::flag::register_usize(signal, &RECEIVED, signal as usize)?;
    }
    Ok(())
}

/// The stopping signal that came, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n as i32),
    }
}

/// Notes a stop as a signal would (the output went away, say), so that
/// every part of the command that looks for one stops the same way.
pub fn stop_as(signal: i32) {
    RECEIVED.store(signal as usize, Ordering::SeqCst);
}

/// `SIGINT`, `SIGTERM`, ...: the signal's name, for the line `lab` ends
/// with.
pub fn name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT (Ctrl-C)".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP (the terminal closed)".into(),
        n => format!("signal {n}"),
    }
}

/// Standard input, read so that a stopping signal ends the wait for it.
///
/// `lab run --step` and `--predict` wait for the learner's keys. A plain
/// `read(2)` of the terminal is not ended by a noted signal: the handler
/// returns, the kernel restarts the read, and Ctrl-C would do nothing
/// until Enter. So this reader first waits in `poll(2)` for up to 100 ms
/// at a time, looking for a note between waits, and only reads once there
/// is something to read. After a stopping signal it reads as the end of
/// the input: the caller looks at [`received`] to tell the two apart.
///
/// It reads the descriptor itself, with no buffer of its own (wrap it in a
/// `BufReader` for lines): a buffer filled by an earlier read would hold
/// keys that `poll` cannot see.
pub struct Stdin;

impl std::io::Read for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let stdin = std::io::stdin();
        loop {
            if received().is_some() {
                return Ok(0);
            }
            let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(100u8)) {
                // Nothing yet: look for a signal again.
                Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
                // Readable, or hung up: `read` says which (data or 0).
                Ok(_) => match nix::unistd::read(stdin.as_fd(), buf) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    other => return other.map_err(Into::into),
                },
            }
        }
    }
}

/// The exit code after a stop by `signal`: 128 + its number.
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(255)
}
