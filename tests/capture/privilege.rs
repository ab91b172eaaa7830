//! Without CAP_NET_RAW a capture fails with one line that says what to do.

use std::process::Command;

use socket_lab::capture::{self, Capture, CaptureError, CapturedFrame, Filter};
use socket_lab::clock::Clock;

use super::{can_capture, skip};

/// Set in the environment of the unprivileged copy of this test.
const CHILD: &str = "SOCKET_LAB_UNPRIVILEGED_CHILD";
const NAME: &str = "privilege::without_cap_net_raw_the_error_names_the_fix";

/// Runs this very test again as user `nobody` with no capabilities
/// (`setpriv`), where opening a packet socket fails with EPERM.
#[test]
fn without_cap_net_raw_the_error_names_the_fix() {
    if std::env::var_os(CHILD).is_some() {
        // The unprivileged copy: report what the capture API says.
        let (tx, _rx) = std::sync::mpsc::channel::<CapturedFrame>();
        let started = Capture::start(&Filter::everything(), Clock::start(), tx);
        let no_privilege = matches!(started, Err(CaptureError::NoPrivilege { .. }));
        println!("CHILD no_privilege={no_privilege}");
        println!("CHILD says: {}", capture::privilege().unwrap_err());
        return;
    }
    if !can_capture() {
        return; // already unprivileged: the other tests print the message
    }
    let child = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output();
    let out = match child {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => return skip(&format!("setpriv not available ({e})")),
    };
    if !out.contains("CHILD") {
        // For example the test binary is not readable by `nobody`.
        return skip(&format!("could not run the test as nobody: {out}"));
    }
    assert!(out.contains("CHILD no_privilege=true"), "{out}");
    let line = out.lines().find(|l| l.starts_with("CHILD says: ")).unwrap();
    assert!(
        line.contains("needs CAP_NET_RAW: run as root (sudo) or `sudo setcap cap_net_raw+ep /"),
        "{line}"
    );
}
