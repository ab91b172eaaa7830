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

/// The exit code after a stop by `signal`: 128 + its number.
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(255)
}
