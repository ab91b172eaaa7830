//! `lab run ID --predict`: predict, then observe.
//!
//! What these tests pin: an answer is judged against what the run did,
//! never against a value written in the lab file (the same question is
//! right with one answer at the defaults and with another under a knob);
//! a question whose call never happened is "not judged", with the reason;
//! answers never change the exit code, which is the checks'; without a
//! terminal the answers come from `--answers`, and without either `lab`
//! says so in one line; and lab time stands still while the learner
//! thinks.
//!
//! The binary runs with HOME and XDG_STATE_HOME removed, so no progress is
//! written, except in the one test about progress, which has a scratch
//! folder of its own.

use std::io::{BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// `lab ARGS` without a terminal on stdin, no colour, no progress.
fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .arg("--color=never")
        .env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("run lab")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The predictions of a run's output: for each question, in order, its
/// mark (`✓`, `✗`, or `?` for not judged) and the lines under it.
fn predictions(out: &str) -> Vec<(char, String)> {
    let Some((_, tail)) = out.split_once("Your predictions\n") else {
        panic!("no predictions in:\n{out}")
    };
    let mut found: Vec<(char, String)> = Vec::new();
    for line in tail.lines() {
        let mark = line.strip_prefix("  ").and_then(|l| l.chars().next());
        match mark {
            Some(m @ ('✓' | '✗' | '?')) if line.chars().nth(3) == Some(' ') => {
                found.push((m, line.to_string()))
            }
            _ => {
                if let Some(last) = found.last_mut()
                    && line.starts_with("       ")
                {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
            }
        }
    }
    found
}

/// `Score: 1 of 2 right...`, the score line.
fn score(out: &str) -> String {
    out.lines()
        .find(|l| l.starts_with("Score:"))
        .unwrap_or_else(|| panic!("no score in:\n{out}"))
        .to_string()
}

fn marks(out: &str) -> Vec<char> {
    predictions(out).iter().map(|(m, _)| *m).collect()
}

#[test]
fn lab_09s_first_recv_is_judged_by_what_this_run_returned() {
    // At the defaults the server reads late and its first recv(1024) takes
    // both sends: 9 bytes; the second returns 0, the end of the stream.
    let out = lab(&["run", "09", "--predict", "--answers", "9,0"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(marks(&stdout), ['✓', '✓'], "{stdout}");
    assert!(
        stdout.contains("server.recv#1 returned 9 B \"hellofeng\""),
        "{stdout}"
    );
    assert_eq!(score(&stdout), "Score: 2 of 2 right");

    // With a 2-byte buffer the same question's answer is 2 (and 7 for the
    // second): the answer is read off the run, not written in the file.
    let out = lab(&[
        "run",
        "09",
        "--set",
        "recv1=2",
        "--predict",
        "--answers",
        "2,7",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(marks(&stdout), ['✓', '✓'], "{stdout}");
    assert!(
        stdout.contains("server.recv#1 returned 2 B \"he\""),
        "{stdout}"
    );

    // And the defaults' answers are wrong there, each with the right one.
    let out = lab(&[
        "run",
        "09",
        "--set",
        "recv1=2",
        "--predict",
        "--answers",
        "9,0",
    ]);
    let stdout = text(&out.stdout);
    let p = predictions(&stdout);
    assert_eq!(marks(&stdout), ['✗', '✗'], "{stdout}");
    assert!(
        p[0].1.contains("you said 9; this run says 2."),
        "{}",
        p[0].1
    );
    assert!(
        p[1].1.contains("you said 0; this run says 7."),
        "{}",
        p[1].1
    );
    assert_eq!(score(&stdout), "Score: 0 of 2 right");
    // Wrong answers do not fail the run: the exit code is the checks'.
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}

#[test]
fn the_question_is_put_before_its_step_runs() {
    let out = lab(&["run", "09", "--predict", "--answers", "9,0", "--no-capture"]);
    let stdout = text(&out.stdout);
    let asked = stdout
        .find("? The client sends \"hello\", then \"feng\". How many bytes")
        .unwrap_or_else(|| panic!("question 1 not shown:\n{stdout}"));
    let first_recv = stdout
        .find("server  recv(conn, 1024) → 9 B")
        .unwrap_or_else(|| panic!("no first recv row:\n{stdout}"));
    assert!(asked < first_recv, "asked after the recv ran:\n{stdout}");
    assert!(
        stdout.contains("── question 1 before server step 5  labs/09-sticky-packet.toml:"),
        "{stdout}"
    );
    // The answer given is shown after the prompt, as if typed.
    assert!(
        stdout.contains("your answer (a number; Enter: none) › 9"),
        "{stdout}"
    );
}

#[test]
fn an_errno_question_is_judged_by_the_error_the_call_failed_with() {
    // Lab 03: an empty send puts nothing on the wire; the server's recv
    // ends with its watchdog: EAGAIN.
    let out = lab(&["run", "03", "--predict", "--answers", "EAGAIN"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(marks(&stdout), ['✓'], "{stdout}");
    assert!(
        stdout.contains("server.recv#1 failed with EAGAIN"),
        "{stdout}"
    );
    let out = lab(&["run", "03", "--predict", "--answers", "none"]);
    let stdout = text(&out.stdout);
    assert!(
        predictions(&stdout)[0]
            .1
            .contains("you said none; this run says EAGAIN."),
        "{stdout}"
    );

    // Lab 04: after an orderly close recv does not fail ("none"); after
    // an abortive one (SO_LINGER 0, a RST) it fails with ECONNRESET.
    let out = lab(&["run", "04", "--predict", "--answers", "ECONNRESET"]);
    let stdout = text(&out.stdout);
    assert_eq!(marks(&stdout), ['✗'], "{stdout}");
    assert!(stdout.contains("this run says none"), "{stdout}");
    let out = lab(&[
        "run",
        "04",
        "--set",
        "abort=true",
        "--predict",
        "--answers",
        "econnreset",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(marks(&stdout), ['✓'], "{stdout}");
    assert!(
        stdout.contains("server.recv#2 failed with ECONNRESET"),
        "{stdout}"
    );
}

#[test]
fn a_choice_is_judged_by_what_the_call_did() {
    // Lab 18: an iterative server makes client2 wait for client1 (b); a
    // thread per connection answers it at once (a).
    let out = lab(&["run", "18", "--predict", "--answers", "b"]);
    let stdout = text(&out.stdout);
    assert_eq!(marks(&stdout), ['✓'], "{stdout}");
    assert!(
        stdout.contains("a) at once"),
        "the choices are shown:\n{stdout}"
    );
    let out = lab(&[
        "run",
        "18",
        "--set",
        "threads=true",
        "--predict",
        "--answers",
        "b",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(marks(&stdout), ['✗'], "{stdout}");
    assert!(stdout.contains("this run says a) at once"), "{stdout}");
}

#[test]
fn without_a_terminal_or_answers_lab_says_so_in_one_line() {
    let out = lab(&["run", "09", "--predict"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("lab: --predict reads answers from a terminal, and standard input is not one: give them with --answers"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran");

    // More answers than the lab has questions is a mistake: said before
    // anything runs.
    let out = lab(&["run", "09", "--predict", "--answers", "9,0,4"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr.trim(),
        "lab: --answers gives 3 answers, and lab 09-sticky-packet has 2 question(s)"
    );
}

#[test]
fn too_few_answers_leave_the_rest_unanswered() {
    // The decision: questions left when --answers runs out are asked, and
    // count as not answered (judged, not right). The run is whole.
    let out = lab(&["run", "09", "--predict", "--answers", "9"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("› (no answer: --answers ran out)"),
        "{stdout}"
    );
    let p = predictions(&stdout);
    assert_eq!(marks(&stdout), ['✓', '✗'], "{stdout}");
    assert!(p[1].1.contains("no answer; this run says 0."), "{}", p[1].1);
    assert_eq!(score(&stdout), "Score: 1 of 2 right");
    // An empty answer in the list is no answer too.
    let out = lab(&["run", "09", "--predict", "--answers", ",0"]);
    let stdout = text(&out.stdout);
    assert_eq!(marks(&stdout), ['✗', '✓'], "{stdout}");
}

#[test]
fn predict_conflicts_with_json_and_step_and_answers_needs_it() {
    for args in [
        &["run", "09", "--predict", "--json"][..],
        &["run", "09", "--predict", "--step"],
        &["run", "--all", "--predict"],
        &["run", "09", "--answers", "9"],
    ] {
        let out = lab(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// A lab whose question names a call that never happens (the server
/// receives once; the question asks about its second recv), and whose
/// check fails when `fail` is set.
fn scratch_lab(dir: &Path, fail: bool) -> std::path::PathBuf {
    let expect = if fail { "pong" } else { "ping" };
    let text = format!(
        r#"id = "92-never"
title = "a question about a call that never happens"
chapter = "7"
summary = "one recv"
explain = "The server receives once."

[[actor]]
name = "server"
steps = [
  {{ op = "listen", as = "srv", publish = "server" }},
  {{ op = "accept", on = "srv", as = "conn" }},
  {{ op = "recv", on = "conn", size = 64, ask = "first" }},
  {{ op = "close", on = "conn", ask = "second" }},
]

[[actor]]
name = "client"
steps = [
  {{ op = "connect", to = "server", as = "c" }},
  {{ op = "send", on = "c", data = "ping" }},
  {{ op = "close", on = "c" }},
]

[[expect]]
name = "the server gets the message"
call = "server.recv#1"
data = "{expect}"

[[question]]
name = "first"
ask = "How many bytes will the first recv return?"
kind = "number"
field = "returned"
call = "server.recv#1"
explain = "All of ping."

[[question]]
name = "second"
ask = "And the second recv?"
kind = "number"
field = "returned"
call = "server.recv#2"
explain = "There is none."
"#
    );
    let path = dir.join(if fail { "failing.toml" } else { "never.toml" });
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_question_whose_call_never_happens_is_not_judged_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = scratch_lab(dir.path(), false);
    let out = lab(&[
        "run",
        path.to_str().unwrap(),
        "--predict",
        "--answers",
        "4,0",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let p = predictions(&stdout);
    assert_eq!(marks(&stdout), ['✓', '?'], "{stdout}");
    assert!(
        p[1].1
            .contains("you said 0; not judged: server.recv#2: the run made only 1 such call."),
        "{}",
        p[1].1
    );
    assert_eq!(score(&stdout), "Score: 1 of 1 right; 1 question not judged");
}

#[test]
fn the_exit_code_follows_the_checks_whatever_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = scratch_lab(dir.path(), true);
    let out = lab(&["run", path.to_str().unwrap(), "--predict", "--answers", "4"]);
    let stdout = text(&out.stdout);
    // Every answer right, a check failed: exit 1, and the score is said.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ the server gets the message"), "{stdout}");
    assert_eq!(marks(&stdout)[0], '✓', "{stdout}");
    assert!(
        score(&stdout).starts_with("Score: 1 of 1 right"),
        "{stdout}"
    );
}

#[test]
fn a_predict_run_keeps_its_score_in_the_progress_file() {
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(args)
            .arg("--color=never")
            .env("XDG_STATE_HOME", state.path())
            .env("HOME", state.path().join("home"))
            .stdin(Stdio::null())
            .output()
            .expect("run lab")
    };
    let out = run(&["run", "09", "--predict", "--answers", "9,5", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let file = state.path().join("socket-lab/progress.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let lab09 = &json["labs"]["09-sticky-packet"];
    assert_eq!(lab09["questions_right"], 1, "{json}");
    assert_eq!(lab09["questions_asked"], 2, "{json}");
    assert!(lab09["done_at"].is_u64(), "the checks held: done too");
    let list = text(&run(&["list"]).stdout);
    let row = list
        .lines()
        .find(|l| l.contains("09-sticky-packet"))
        .unwrap();
    assert!(row.contains("1/2"), "{list}");

    // A lab file from a path is not the catalog's lab: nothing is kept.
    let dir = tempfile::tempdir().unwrap();
    let path = scratch_lab(dir.path(), false);
    run(&["run", path.to_str().unwrap(), "--predict", "--answers", "4"]);
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(!after.contains("92-never"), "{after}");
}

/// Answers typed slowly: each line arrives `delay` after it is asked for.
struct Slow {
    lines: Vec<&'static str>,
    delay: Duration,
}

impl Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.lines.is_empty() {
            return Ok(0);
        }
        std::thread::sleep(self.delay);
        let line = format!("{}\n", self.lines.remove(0));
        buf[..line.len()].copy_from_slice(line.as_bytes());
        Ok(line.len())
    }
}

#[test]
fn lab_time_stands_still_while_the_learner_thinks() {
    // The server waits in accept with a 500 ms watchdog while the client
    // is stopped before its connect by a question the learner takes 1.5 s
    // to answer (first a typo, which is asked again). On the wall clock
    // the accept would time out; on lab time it does not, and the checks
    // hold as in a run without questions.
    colored::control::set_override(false);
    let lab = socket_lab::catalog::Lab::parse(
        "patient.toml",
        r#"id = "93-patient"
title = "a server that waits while the learner thinks"
chapter = "7"
summary = "accept with a short watchdog"
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
  { op = "sleep", ms = 100 },
  { op = "connect", to = "server", as = "c", ask = "bytes" },
  { op = "send", on = "c", data = "ping" },
]

[[expect]]
name = "the accept did not time out"
call = "server.accept#1"
error = "none"

[[question]]
name = "bytes"
ask = "How many bytes will the server's recv(64) return?"
kind = "number"
field = "returned"
call = "server.recv#1"
explain = "ping is 4 bytes."
"#,
    )
    .unwrap();
    let knobs = lab.knob_values(&[]).unwrap();
    let typed = Slow {
        lines: vec!["four", "4"],
        delay: Duration::from_millis(750),
    };
    let answers = socket_lab::app::Answers::Typed(Box::new(BufReader::new(typed)));
    let mode = socket_lab::app::CaptureMode::Off("test".into());
    let mut out = Vec::new();
    let (done, predicted) = socket_lab::app::predicted(
        &mut out,
        &lab,
        &knobs,
        &mode,
        socket_lab::app::Files::default(),
        answers,
    )
    .unwrap();
    let out = text(&out);
    assert!(done.passed(), "{out}");
    assert!(out.contains("`four` is not a number; again ›"), "{out}");
    assert_eq!(predicted[0].answer.as_deref(), Some("4"));
    let accept = done.calls.iter().find(|c| c.op == "accept").unwrap();
    assert!(
        accept.waited_us > 1_200_000,
        "the accept waited {} µs: the pause did not happen",
        accept.waited_us
    );
    assert_eq!(score(&out), "Score: 1 of 1 right");
}

mod common;
use common::tmux::Tmux;

#[test]
fn in_a_terminal_the_learner_types_the_answers() {
    let Some(t) = Tmux::start("predict", "run 09 --predict --no-capture", "your answer") else {
        return;
    };
    let screen = t.wait_for("How many bytes will the server's");
    assert!(screen.contains("your answer"), "{screen}");
    t.quiet();
    t.type_line("9");
    // The second question comes once the first recv has run.
    let start = std::time::Instant::now();
    while t.screen().matches("your answer").count() < 2 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{}",
            t.screen()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    t.quiet();
    t.type_line("0");
    let screen = t.wait_for("Score: 2 of 2 right");
    assert!(screen.contains("you said 9: right"), "{screen}");
    t.wait_for("[lab exited]");
}
