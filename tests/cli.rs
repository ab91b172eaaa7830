//! The `lab` binary as a user meets it: output, exit codes, error lines.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .env_remove("NO_COLOR")
        // Progress off: these runs are not the developer's own progress.
        .env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .output()
        .expect("run lab")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An error is one line on stderr, `lab: ...`, exit code 2, and nothing on
/// stdout: no half-written output.
fn assert_usage_error(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.starts_with("lab: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"));
}

/// A lab file in a folder of its own, removed when the value is dropped.
struct TempLab {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TempLab {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.path
    }
}

fn temp_lab(name: &str, body: &str) -> TempLab {
    let dir = tempfile::Builder::new()
        .prefix("socket-lab-cli-")
        .tempdir()
        .unwrap();
    let path = dir.path().join(format!("{name}.toml"));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    TempLab { path, _dir: dir }
}

const MINIMAL: &str = r#"id = "90-ping"
title = "ping"
chapter = "7"
summary = "one message"
explain = "A message goes from client to server."

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
  { op = "connect", to = "server", as = "c" },
  { op = "send", on = "c", data = "ping\n" },
]

[[expect]]
name = "the server gets the message"
call = "server.recv#1"
data = "EXPECTED"
"#;

#[test]
fn list_shows_every_lab_as_table_and_json() {
    let out = lab(&["list"]);
    assert!(out.status.success());
    let table = text(&out.stdout);
    for id in ["03-blocking-recv", "09-sticky-packet", "11-send-vs-sendall"] {
        assert!(table.contains(id), "{table}");
    }
    let out = lab(&["list", "--json"]);
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let labs = all.as_array().expect("an array");
    let sticky = labs
        .iter()
        .find(|l| l["id"] == "09-sticky-packet")
        .expect("09 listed");
    for field in ["title", "chapter", "summary"] {
        assert!(sticky[field].is_string(), "{field}");
    }
    let knob = sticky["knobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "nodelay")
        .unwrap();
    assert_eq!(
        (knob["type"].as_str(), knob["default"].as_bool()),
        (Some("bool"), Some(false))
    );
    assert!(knob["help"].is_string());
}

#[test]
fn show_describes_knobs_without_running() {
    let out = lab(&["show", "09", "--color=never"]);
    let s = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        s.contains("delay_ms") && s.contains("0..=5000 ms") && s.contains("Watch for"),
        "{s}"
    );
    assert!(!s.contains("recv(conn"), "show must not run the lab");
}

#[test]
fn unknown_lab_suggests_the_closest_ids() {
    assert_usage_error(
        &lab(&["run", "09-stiky-packet"]),
        "did you mean 09-sticky-packet",
    );
    assert_usage_error(&lab(&["show", "sticky-pakcet"]), "09-sticky-packet");
}

#[test]
fn bad_knobs_name_what_they_accept() {
    assert_usage_error(
        &lab(&["run", "09", "--set", "nope=1"]),
        "its knobs are: delay_ms",
    );
    assert_usage_error(
        &lab(&["run", "09", "--set", "delay_ms=soon"]),
        "whole number",
    );
    assert_usage_error(
        &lab(&["run", "09", "--set", "delay_ms=99999"]),
        "from 0 to 5000 ms",
    );
    assert_usage_error(
        &lab(&["run", "09", "--set", "nodelay=perhaps"]),
        "true or false",
    );
    assert_usage_error(&lab(&["run", "09", "--set", "nodelay"]), "name=value");
}

#[test]
fn malformed_lab_files_are_reported_with_file_and_line() {
    let bad_op = MINIMAL.replace(
        r#"op = "recv", on = "conn""#,
        r#"op = "recieve", on = "conn""#,
    );
    let path = temp_lab("bad-op", &bad_op);
    assert_usage_error(
        &lab(&["run", path.to_str().unwrap()]),
        &format!("{}:12: unknown op `recieve`", path.display()),
    );

    let bad_toml = MINIMAL.replace("title = \"ping\"", "title = ping");
    let path = temp_lab("bad-toml", &bad_toml);
    assert_usage_error(
        &lab(&["run", path.to_str().unwrap()]),
        &format!("{}:2:", path.display()),
    );

    let bad_socket = MINIMAL.replace(r#"on = "conn", size"#, r#"on = "con", size"#);
    let path = temp_lab("bad-socket", &bad_socket);
    assert_usage_error(
        &lab(&["run", path.to_str().unwrap()]),
        "socket `con` is not created",
    );

    assert_usage_error(
        &lab(&["run", "./no-such-lab.toml"]),
        "cannot read the lab file",
    );

    // An actor's `when` that cannot be worked out with the knobs given
    // (a word compared with a number) is the lab's mistake, said at once,
    // not an actor quietly left out.
    let when = MINIMAL.replace(
        "[[actor]]\nname = \"client\"",
        "[[knob]]\nname = \"mode\"\ntype = \"choice\"\nvalues = [\"a\", \"b\"]\ndefault = \"a\"\nhelp = \"which run\"\n\n[[actor]]\nname = \"client\"\nwhen = \"mode > 3\"",
    );
    assert_ne!(when, MINIMAL);
    let path = temp_lab("bad-when", &when);
    assert_usage_error(
        &lab(&["run", path.to_str().unwrap()]),
        "actor `client`: when = \"mode > 3\" cannot be worked out with these knob values",
    );

    // `unlink` removes only the run's own socket files: a lab file from
    // anyone must not name a path to delete.
    let unlink = MINIMAL.replace(
        r#"{ op = "recv", on = "conn", size = 64 },"#,
        r#"{ op = "recv", on = "conn", size = 64 },
  { op = "unlink", on = "conn", addr = "/etc/passwd" },"#,
    );
    let path = temp_lab("unlink-addr", &unlink);
    assert_usage_error(
        &lab(&["run", path.to_str().unwrap()]),
        "`unlink` does not take `addr`",
    );

    // An expectation that asserts nothing once passed, whatever happened.
    let empty = MINIMAL.replace("data = \"EXPECTED\"\n", "");
    let path = temp_lab("asserts-nothing", &empty);
    assert_usage_error(
        &lab(&["run", path.to_str().unwrap()]),
        &format!(
            "{}:22: expectation `the server gets the message` asserts nothing",
            path.display()
        ),
    );
    // A field of the other kind of expectation was silently ignored.
    let wrong_kind = MINIMAL.replace("data = \"EXPECTED\"", "count = 1");
    let path = temp_lab("wrong-kind", &wrong_kind);
    assert_usage_error(
        &lab(&["run", path.to_str().unwrap()]),
        "`count` applies to a `select`, not a `call`",
    );
}

#[test]
fn a_users_lab_file_runs_and_a_failed_expectation_exits_1() {
    let path = temp_lab("fails", MINIMAL);
    let out = lab(&["run", path.to_str().unwrap(), "--color=never"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("✗ the server gets the message"), "{s}");
    assert!(s.contains(r#"returned 5 B "ping\n""#), "{s}");

    let path = temp_lab("holds", &MINIMAL.replace("EXPECTED", "ping\\n"));
    let out = lab(&["run", path.to_str().unwrap(), "--color=never"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn json_lines_follow_the_contract() {
    let out = lab(&["run", "09", "--json"]);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines[0]["kind"], "lab");
    assert_eq!(lines[0]["id"], "09-sticky-packet");
    assert_eq!(lines[0]["knobs"]["delay_ms"], 100);
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "summary");
    assert_eq!(last["passed"], true);
    assert!(
        last["capture"].as_str().unwrap().starts_with("o"),
        "on or off: reason"
    );
    let calls: Vec<_> = lines.iter().filter(|l| l["kind"] == "call").collect();
    assert_eq!(last["calls"].as_u64(), Some(calls.len() as u64));
    for c in &calls {
        for f in ["t_us", "actor", "op", "len", "returned", "data", "error"] {
            assert!(c.get(f).is_some(), "call line lacks {f}: {c}");
        }
    }
    let sends: Vec<_> = calls.iter().filter(|c| c["op"] == "send").collect();
    assert_eq!(sends[0]["data"], "hello");
    assert_eq!(sends[0]["stream"], serde_json::json!([0, 5]));
    assert_eq!(sends[1]["stream"], serde_json::json!([5, 9]));
    let recv = calls.iter().find(|c| c["op"] == "recv").unwrap();
    assert_eq!(
        (recv["returned"].as_i64(), recv["data"].as_str()),
        (Some(9), Some("hellofeng"))
    );
    let t: Vec<u64> = calls.iter().map(|c| c["t_us"].as_u64().unwrap()).collect();
    assert!(t.iter().all(|&x| x < 10_000_000));
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "check" && l["passed"] == true)
    );
    // JSON never carries colour.
    assert!(!text(&out.stdout).contains('\u{1b}'));
}

/// The JSON stream is the session's events in order: the run's own
/// (steps, calls, packets), then the map rows and the checks the session
/// judged once the run was over, then one summary.
#[test]
fn json_ends_with_the_map_then_the_checks_then_the_summary() {
    let out = lab(&["run", "09", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let kinds: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].to_string())
        .map(|k| k.trim_matches('"').to_string())
        .collect();
    let phase = |k: &str| match k {
        "lab" => 0,
        "step" | "call_started" | "call" | "packet" | "actor_failed" => 1,
        "map" => 2,
        "check" => 3,
        "summary" => 4,
        other => panic!("unknown kind {other}"),
    };
    let phases: Vec<i32> = kinds.iter().map(|k| phase(k)).collect();
    assert!(phases.is_sorted(), "out of order: {kinds:?}");
    assert_eq!(phases.first(), Some(&0));
    assert_eq!(phases.last(), Some(&4));
    assert!(phases.contains(&3), "no check: {kinds:?}");
}

#[test]
fn json_previews_long_data_and_escapes_binary() {
    let out = lab(&["run", "10", "--json"]);
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // `call_started` lines name the op too: the returned call is `call`.
    let call = |op: &str| {
        lines
            .iter()
            .find(|l| l["kind"] == "call" && l["op"] == op)
            .unwrap()
    };
    let big = call("send_to");
    assert_eq!(big["len"], 3000);
    assert_eq!(big["data_truncated"], true);
    assert_eq!(big["data"].as_str().unwrap().len(), 256);
    let cut = call("recv_from");
    assert_eq!(
        (cut["truncated"].as_bool(), cut["datagram_len"].as_u64()),
        (Some(true), Some(3000))
    );
}

#[test]
fn colour_follows_the_flag() {
    let always = text(&lab(&["show", "09", "--color=always"]).stdout);
    let never = text(&lab(&["show", "09", "--color=never"]).stdout);
    assert!(always.contains('\u{1b}'));
    assert!(!never.contains('\u{1b}'));
    // Not a terminal: auto means no colour.
    assert!(!text(&lab(&["show", "09"]).stdout).contains('\u{1b}'));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    // `lab run 11 | head -1`: the reader goes away while lab still writes.
    // Regression: println! into a closed pipe used to panic.
    for args in [&["run", "11", "--color=never"][..], &["list"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(args)
            .env_remove("HOME")
            .env_remove("XDG_STATE_HOME")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

#[test]
fn run_all_prints_one_verdict_per_lab() {
    let out = lab(&["run", "--all", "--color=never"]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}");
    assert!(s.lines().filter(|l| l.starts_with('✓')).count() >= 5, "{s}");
    // It says that it records nothing (tests/progress.rs proves it).
    assert!(
        s.trim_end()
            .ends_with("no progress recorded; `lab next` runs the next lab)"),
        "{s}"
    );
}

/// `--all` runs the labs at once (each in a namespace of its own, as
/// root) and prints them in catalog order, with the verdicts of a run one
/// lab at a time.
#[test]
fn run_all_at_once_gives_the_verdicts_of_one_at_a_time_in_catalog_order() {
    let lines = |args: &[&str]| -> Vec<String> {
        let out = lab(args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        text(&out.stdout)
            .lines()
            .filter(|l| l.starts_with('✓') || l.starts_with('✗'))
            // The mark, the id and the checks held: not the times.
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .collect()
    };
    let serial = lines(&["run", "--all", "--jobs", "1", "--color=never"]);
    let parallel = lines(&["run", "--all", "--color=never"]);
    assert_eq!(parallel, serial);
    let mut sorted = serial.clone();
    sorted.sort_by(|a, b| a.split(' ').nth(1).cmp(&b.split(' ').nth(1)));
    assert_eq!(serial, sorted, "catalog order");
    assert_usage_error(&lab(&["run", "--all", "--jobs", "0"]), "--jobs");
    assert_usage_error(&lab(&["run", "09", "--jobs", "2"]), "--jobs");
}

#[test]
fn nonsense_durations_and_flag_mixes_are_refused() {
    // Regression: `--seconds inf` panicked in Duration::from_secs_f64.
    for bad in ["inf", "-1", "1e300", "NaN"] {
        let arg = format!("--seconds={bad}");
        assert_usage_error(&lab(&["capture", "--port", "9", &arg]), "--seconds");
    }
    // `--all` prints one line per lab; it cannot also be JSON or take knobs.
    let out = lab(&["run", "--all", "--json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn numbers_that_would_exhaust_the_machine_are_refused() {
    // Regression: `size = 100000000000000` aborted on a failed allocation,
    // and `ms = -1` slept for ever.
    let huge = MINIMAL.replace("size = 64", "size = 100000000000000");
    let path = temp_lab("huge-size", &huge);
    assert_usage_error(
        &lab(&["run", path.to_str().unwrap()]),
        ":12: `size = 100000000000000`: use 0 to",
    );

    let forever = MINIMAL.replace(
        r#"{ op = "recv", on = "conn", size = 64 },"#,
        r#"{ op = "sleep", ms = -1 },"#,
    );
    let path = temp_lab("sleep-forever", &forever);
    assert_usage_error(&lab(&["run", path.to_str().unwrap()]), "`ms = -1`");
}

#[test]
fn a_pcap_path_that_cannot_be_written_is_refused_before_the_lab_runs() {
    // `--pcap /tmp` once ran the whole lab, printed its timeline, and only
    // then failed with "Is a directory".
    let dir = std::env::temp_dir();
    let missing = dir.join(format!("socket-lab-no-such-{}/x.pcap", std::process::id()));
    for path in [dir.as_path(), missing.as_path()] {
        let out = lab(&["run", "09", "--pcap", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn before_checks_order_on_the_clock() {
    // Lab 13's "waits for recv_ready before it sends the data" once
    // checked only the bytes; `before` checks the order itself.
    let holds = MINIMAL.replace(
        "call = \"server.recv#1\"\ndata = \"EXPECTED\"",
        "call = \"server.accept#1\"\nbefore = \"server.recv#1\"",
    );
    let path = temp_lab("before-holds", &holds);
    let out = lab(&[
        "run",
        path.to_str().unwrap(),
        "--color=never",
        "--no-capture",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("then server.recv#1 returned 5 B"));

    let reversed = MINIMAL.replace(
        "call = \"server.recv#1\"\ndata = \"EXPECTED\"",
        "call = \"server.recv#1\"\nbefore = \"server.accept#1\"",
    );
    let path = temp_lab("before-fails", &reversed);
    let out = lab(&[
        "run",
        path.to_str().unwrap(),
        "--color=never",
        "--no-capture",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("expected it to return before server.accept#1 began"),
        "{}",
        text(&out.stdout)
    );

    let unknown = MINIMAL.replace(
        "data = \"EXPECTED\"",
        "data = \"ping\\n\"\nbefore = \"nobody.recv#1\"",
    );
    let path = temp_lab("before-unknown", &unknown);
    assert_usage_error(&lab(&["run", path.to_str().unwrap()]), "no actor `nobody`");
}

#[test]
fn tables_fit_a_page_when_not_on_a_terminal() {
    // `lab list | less` once gave 230-column rows: without a terminal the
    // tables wrap to 100 columns (display columns: 粘包 is 4).
    use unicode_width::UnicodeWidthStr;
    for args in [
        &["list"][..],
        &["show", "09"],
        &["run", "07", "--no-capture"],
    ] {
        let out = lab(args);
        let s = text(&out.stdout);
        for l in s.lines().filter(|l| l.contains('│')) {
            assert!(l.width() <= 100, "{args:?}: {} columns: {l}", l.width());
        }
    }
}

#[test]
fn a_mistake_on_the_command_line_is_one_line() {
    // clap's own report is five lines with a usage that may mislead; the
    // README promises one line on stderr and exit 2.
    for args in [
        &["run", "09", "--step", "--json"][..],
        &["run"],
        &["--color=bogus", "list"],
        &["capture", "--port", "70000"],
    ] {
        let out = lab(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("lab: "), "{err}");
    }
    let err = String::from_utf8_lossy(&lab(&["--color=bogus", "list"]).stderr).into_owned();
    assert!(
        err.contains("[possible values: auto, always, never]"),
        "{err}"
    );
}
