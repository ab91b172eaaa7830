//! `lab run --step`: a run that stops before every step, answered a line at
//! a time on standard input (a script here; a person at a terminal).
//!
//! The property that matters: however long the learner pauses, the run's
//! verdicts are those of a batch run, because every deadline of a run is on
//! lab time, which stands still at a pause.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A lab whose watchdogs (500 ms) are far shorter than the pause the test
/// makes (3 s). The client sleeps first, so that when it asks to connect,
/// the server is already blocked in accept: a wall-clock watchdog would
/// end that accept during the pause, and the checks would fail.
const PATIENT: &str = r#"id = "91-patient"
title = "a server that waits while the learner thinks"
chapter = "7"
summary = "accept and recv with short watchdogs"
explain = "The server waits for one message."
timeout_ms = 500

[[actor]]
name = "server"
steps = [
  { op = "listen", as = "srv", publish = "server" },
  { op = "accept", on = "srv", as = "conn" },
  { op = "recv", on = "conn", size = 64 },
]

[[actor]]
name = "client"
steps = [
  { op = "sleep", ms = 200 },
  { op = "connect", to = "server", as = "c" },
  { op = "send", on = "c", data = "ping" },
]

[[expect]]
name = "the accept did not time out"
call = "server.accept#1"
error = "none"

[[expect]]
name = "the server gets the message"
call = "server.recv#1"
data = "ping"
"#;

fn lab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lab"));
    c.arg("--color=never");
    // No progress is recorded from the tests (see tests/progress.rs).
    c.env_remove("HOME").env_remove("XDG_STATE_HOME");
    c
}

/// The verdict lines (`✓ name` / `✗ name`) of a human run's output.
fn verdicts(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with('✓') || l.starts_with('✗'))
        .map(str::to_string)
        .collect()
}

/// Runs `lab run FILE --step`, answering each prompt with Enter; at the
/// first prompt that shows an actor blocked in a call, waits `pause` first.
/// Returns the whole output, the exit status, and whether it paused.
fn step_through(file: &std::path::Path, pause: Duration) -> (String, bool, bool) {
    let mut child = lab()
        .args(["run", file.to_str().unwrap(), "--step"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The prompt ends without a newline: read bytes as they come.
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut answered = 0;
    let mut paused = false;
    // A run that never ends would hang the test: 30 s is far beyond it.
    while let Ok(chunk) = rx.recv_timeout(Duration::from_secs(30)) {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        let prompts = seen.matches("q: stop ›").count();
        while answered < prompts {
            let this_prompt = seen.rsplit("── ").next().unwrap_or("");
            if !paused && this_prompt.contains("is blocked in") {
                std::thread::sleep(pause);
                paused = true;
            }
            // The child may have finished (its last step answered).
            let _ = stdin.write_all(b"\n");
            answered += 1;
        }
    }
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    (seen, status.success(), paused)
}

#[test]
fn a_three_second_pause_changes_no_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("91-patient.toml");
    std::fs::write(&file, PATIENT).unwrap();

    let batch = lab()
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    let batch_out = String::from_utf8_lossy(&batch.stdout).to_string();
    assert!(batch.status.success(), "{batch_out}");

    let (out, ok, paused) = step_through(&file, Duration::from_secs(3));
    assert!(
        paused,
        "no prompt showed the server blocked in accept:\n{out}"
    );
    assert!(out.contains("server is blocked in accept(srv)"), "{out}");
    assert!(ok, "{out}");
    assert_eq!(verdicts(&out), verdicts(&batch_out), "{out}");
    // The accept waited across the pause; the run says how much of its
    // wait was the learner's (its `waited_ms` in lab time leaves it out).
    let accept = out
        .lines()
        .find(|l| l.contains("accept(srv,") && l.contains("waited"))
        .unwrap_or_else(|| panic!("no accept row with its wait:\n{out}"));
    assert!(accept.contains("of it paused)"), "{accept}");
    // Each prompt names its step and its line in the file.
    assert!(out.contains("server step 2"), "{out}");
    assert!(
        out.contains("server step 2  ") && out.contains("91-patient.toml:12"),
        "{out}"
    );
}

#[test]
fn q_stops_cleanly_and_judges_nothing() {
    let out = lab()
        .args(["run", "09", "--step", "--no-capture"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            // `q` at the first prompt: every actor stops, nothing hangs.
            child.stdin.take().unwrap().write_all(b"q\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("the checks were not judged"), "{text}");
    assert!(verdicts(&text).is_empty(), "{text}");
}

#[test]
fn c_runs_the_rest_without_asking() {
    let out = lab()
        .args(["run", "09", "--step", "--no-capture"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"\nc\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches("q: stop ›").count(), 2, "{text}");
    assert!(text.contains("✓ one recv returns both sends"), "{text}");
}

#[test]
fn step_and_json_do_not_go_together() {
    let out = lab()
        .args(["run", "09", "--step", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--step") && err.contains("--json"), "{err}");
}

mod common;
use common::tmux::Tmux;

#[test]
fn in_a_terminal_enter_steps_and_c_runs_on() {
    let Some(t) = Tmux::start("step", "run 09 --step", "q: stop ›") else {
        return;
    };
    // Each Enter runs one step; the next prompt names the next one.
    t.keys("Enter");
    let screen = t.wait_for("step 1 ");
    assert!(screen.contains("labs/09-sticky-packet.toml:"), "{screen}");
    t.keys("c");
    t.keys("Enter");
    let screen = t.wait_for("✓ one recv returns both sends");
    assert!(!screen.contains("✗"), "{screen}");
    t.wait_for("[lab exited]");
}

#[test]
fn q_records_no_progress() {
    // A run stopped at its first step judged nothing: the lab is not done.
    let state = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["--color=never", "run", "09", "--step", "--no-capture"])
        .env("XDG_STATE_HOME", state.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"q\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("is done"), "{text}");
    assert!(!state.path().join("socket-lab/progress.json").exists());
}
