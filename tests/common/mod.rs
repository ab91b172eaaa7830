//! Helpers shared by the integration tests. Each test crate uses some of
//! them, hence `dead_code` allowed.

#![allow(dead_code)]

pub mod tmux;

use std::process::{Command, Output};

/// `lab` as the tests run it: the binary just built, with no progress
/// state (`HOME` and `XDG_STATE_HOME` unset: a test's runs are not the
/// developer's own progress).
pub fn lab_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lab"));
    c.env_remove("HOME").env_remove("XDG_STATE_HOME");
    c
}

/// Runs `lab ARGS` to its end.
pub fn lab(args: &[&str]) -> Output {
    lab_command().args(args).output().expect("run lab")
}

/// Says why (part of) a test is skipped, on the real stderr, which the
/// test harness does not capture: a skip is never silent.
pub fn skip(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {reason}");
}

/// Whether this process may capture packets (root, or CAP_NET_RAW); if
/// not, says why `test` skips its capture.
pub fn privileged(test: &str) -> bool {
    match socket_lab::app::CaptureMode::detect(true) {
        socket_lab::app::CaptureMode::Off(reason) => {
            skip(test, &reason);
            false
        }
        _ => true,
    }
}
