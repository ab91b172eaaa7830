//! A run on a crowded machine: the watchdogs do not count the time the
//! run's threads wait for a CPU, so a correct lab passes however long the
//! machine keeps it waiting, and a lab that really hangs still ends.
//!
//! The crowd is made with the kernel's own CPU limit: `lab` runs in a
//! control group allowed 5 ms of CPU in every 100 ms. Its threads are
//! throttled the rest of the time, which the kernel counts as waiting for
//! a CPU, exactly as when other programs take the CPU. Needs root (a new
//! control group) and the cpu controller (cgroup v1 or v2); otherwise the
//! tests say why they skip.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::skip;

/// A control group of its own with a CPU limit, removed when dropped.
struct Throttled {
    dir: PathBuf,
    /// The file a process writes its pid to, to join.
    procs: PathBuf,
}

impl Throttled {
    /// `quota_us` of CPU in every `period_us`, or why not.
    fn new(name: &str, quota_us: u32, period_us: u32) -> Result<Throttled, String> {
        let name = format!("socket-lab-test-{name}-{}", std::process::id());
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        let v2 = Path::new("/sys/fs/cgroup");
        let made = if v1.join("cpu.cfs_quota_us").exists() {
            let dir = v1.join(&name);
            std::fs::create_dir(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
            let group = Throttled {
                procs: dir.join("tasks"),
                dir: dir.clone(),
            };
            std::fs::write(dir.join("cpu.cfs_period_us"), period_us.to_string())
                .and_then(|()| std::fs::write(dir.join("cpu.cfs_quota_us"), quota_us.to_string()))
                .map_err(|e| format!("cannot limit {}: {e}", dir.display()))?;
            group
        } else if std::fs::read_to_string(v2.join("cgroup.subtree_control"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"))
        {
            let dir = v2.join(&name);
            std::fs::create_dir(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
            let group = Throttled {
                procs: dir.join("cgroup.procs"),
                dir: dir.clone(),
            };
            std::fs::write(dir.join("cpu.max"), format!("{quota_us} {period_us}"))
                .map_err(|e| format!("cannot limit {}: {e}", dir.display()))?;
            group
        } else {
            return Err("no cgroup cpu controller (v1 or v2) to limit a process's CPU".into());
        };
        Ok(made)
    }

    /// Runs `lab ARGS` inside the group: a shell joins it, then becomes
    /// `lab`.
    fn run_lab(&self, args: &[&str]) -> std::process::Output {
        let mut script = format!(
            "echo $$ > '{}' || exit 99; exec '{}'",
            self.procs.display(),
            env!("CARGO_BIN_EXE_lab")
        );
        for a in args {
            script.push_str(&format!(" '{a}'"));
        }
        Command::new("sh")
            .args(["-c", &script])
            .env_remove("HOME")
            .env_remove("XDG_STATE_HOME")
            .output()
            .unwrap()
    }
}

impl Drop for Throttled {
    fn drop(&mut self) {
        // Empty by now: its only process has exited.
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn throttled(name: &str) -> Option<Throttled> {
    if socket_lab::capture::privilege().is_err() {
        skip(
            name,
            "needs root: a control group of its own limits lab's CPU",
        );
        return None;
    }
    match Throttled::new(name, 5_000, 100_000) {
        Ok(group) => Some(group),
        Err(reason) => {
            skip(name, &reason);
            None
        }
    }
}

fn lab_file(dir: &Path, body: &str) -> String {
    let path = dir.join("crowded.toml");
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

/// The JSON lines of a run.
fn events(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A server waits in `accept` while the client, before it connects, moves
/// 2 MiB to a third actor: far more CPU than the 5 ms a 100 ms period
/// allows, so the accept waits much longer than its 300 ms watchdog.
const PATIENT: &str = r#"id = "90-crowded"
title = "a crowded machine"
chapter = "2"
summary = "a correct run on a machine that keeps it waiting for a CPU"
explain = "The server waits for the client, which has work to do first."
timeout_ms = 300

[[actor]]
name = "server"
steps = [
  { op = "listen", as = "srv", publish = "server" },
  { op = "accept", on = "srv", as = "conn" },
  { op = "recv", on = "conn", size = 64 },
]

[[actor]]
name = "sink"
steps = [
  { op = "listen", as = "lst", publish = "sink" },
  { op = "accept", on = "lst", as = "conn" },
  { op = "recv", on = "conn", size = 65536, until_eof = true },
]

[[actor]]
name = "client"
steps = [
  { op = "connect", to = "sink", as = "bulk" },
  { op = "send_all", on = "bulk", size = 2097152 },
  { op = "close", on = "bulk" },
  { op = "connect", to = "server", as = "c" },
  { op = "send", on = "c", data = "ping" },
]

[[expect]]
name = "the server gets the message"
call = "server.recv#1"
returned = 4
"#;

#[test]
fn a_correct_run_passes_however_long_the_machine_keeps_it_waiting() {
    let Some(group) = throttled("patient") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = lab_file(tmp.path(), PATIENT);
    let out = group.run_lab(&["run", &file, "--json", "--no-capture"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let events = events(&out);
    let accept = events
        .iter()
        .find(|e| e["kind"] == "call" && e["actor"] == "server" && e["op"] == "accept")
        .expect("the server's accept");
    // The test means something only if the wait outlasted the watchdog:
    // without the time forgiven, the accept would have ended with EAGAIN.
    let waited_ms = accept["waited_us"].as_u64().unwrap() / 1000;
    assert!(waited_ms > 300, "accept waited only {waited_ms} ms");
    assert!(accept["error"].is_null(), "{accept}");
    for check in events.iter().filter(|e| e["kind"] == "check") {
        assert_eq!(check["passed"], true, "{check}");
    }
    let summary = events.last().unwrap();
    assert_eq!(summary["passed"], true, "{summary}");
}

/// Each side waits for the other to speak.
const HUNG: &str = r#"id = "91-hung"
title = "a hung run"
chapter = "2"
summary = "a recv that nothing will ever answer"
explain = "Both sides wait for the other to speak first."
timeout_ms = 300

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
  { op = "recv", on = "c", size = 64 },
  # Keep the connection open while the server's recv runs out.
  { op = "sleep", ms = 2000 },
]
"#;

#[test]
fn a_hung_run_on_a_crowded_machine_still_ends_at_its_watchdog() {
    let Some(group) = throttled("hung") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = lab_file(tmp.path(), HUNG);
    let started = std::time::Instant::now();
    let out = group.run_lab(&["run", &file, "--json", "--no-capture"]);
    let took = started.elapsed();
    let events = events(&out);
    // The blocked threads are not waiting for a CPU: nothing of their wait
    // is forgiven, and the watchdog ends it (the time the run spent
    // starting up, throttled, may be: far less than the bound).
    let recv = events
        .iter()
        .find(|e| e["kind"] == "call" && e["actor"] == "server" && e["op"] == "recv")
        .expect("the server's recv");
    assert_eq!(recv["error"], "EAGAIN", "{recv}");
    assert_eq!(recv["timed_out"], true, "{recv}");
    assert!(
        took < socket_lab::clock::MAX_STARVED,
        "the run took {took:?}"
    );
}
