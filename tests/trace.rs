//! `lab trace` on real programs: small Python socket programs in the
//! course's style (`tests/programs/`, standard library only), run under the
//! tracer on the real kernel.
//!
//! Every test has its own scratch folder; servers bind port 0 and publish
//! the port in a file there, which their clients wait for. Nothing waits on
//! a timer for something to happen: a test waits for a file, a line of
//! output, or a process's end. Capture assertions run as root (which may
//! capture on `lo`); otherwise the test says why it skips them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The test programs' folder.
fn programs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs")
}

fn program(name: &str) -> String {
    programs().join(name).display().to_string()
}

fn have_python() -> bool {
    let ok = Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: python3 is not installed; the traced programs are Python");
    }
    ok
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `lab trace` with no HOME (nothing is written there) and no colour.
fn lab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lab"));
    c.env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .env("NO_COLOR", "1");
    c
}

/// Runs `lab trace --json -o FILE -- ARGS` in `dir`; returns the output
/// (the program's own on stdout and stderr) and the trace's JSON lines.
fn trace_json(dir: &Path, args: &[&str], stdin: &[u8]) -> (Output, Vec<Value>) {
    let file = dir.join("trace.jsonl");
    let mut child = lab()
        .current_dir(dir)
        .args(["trace", "--json", "-o"])
        .arg(&file)
        .arg("--")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lab");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().expect("lab ran");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out, lines)
}

fn calls(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["kind"] == "call").collect()
}

fn summary(lines: &[Value]) -> &Value {
    let last = lines.last().expect("a summary line");
    assert_eq!(last["kind"], "summary", "{last}");
    last
}

/// The one call with this op and data, or a panic listing the calls.
fn find<'a>(calls: &[&'a Value], op: &str, data: &str) -> &'a Value {
    calls
        .iter()
        .copied()
        .find(|c| c["op"] == op && c["data"] == data)
        .unwrap_or_else(|| panic!("no {op} of {data:?} in {calls:#?}"))
}

#[test]
fn sticky_packet_one_recv_gets_both_sends_of_another_process() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "python3 {} port & python3 {} port; wait",
        program("sticky_server.py"),
        program("sticky_client.py")
    );
    let (out, lines) = trace_json(dir.path(), &["sh", "-c", &script], b"");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The programs' own output passes through untouched.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("server got b'hellofeng'"), "{stdout}");
    assert_eq!(lines[0]["kind"], "trace");
    let calls = calls(&lines);

    let recv = find(&calls, "recv", "hellofeng");
    assert_eq!(recv["returned"], 9);
    assert_eq!(recv["syscall"], "recvfrom", "Python's recv is recvfrom");
    assert_eq!(recv["stream"], serde_json::json!([0, 9]));
    let hello = find(&calls, "send", "hello");
    let feng = find(&calls, "send", "feng");
    assert_eq!(hello["stream"], serde_json::json!([0, 5]));
    assert_eq!(feng["stream"], serde_json::json!([5, 9]));
    // Two processes, both python3 after the shell's exec, each an actor
    // named by command and pid.
    assert_ne!(recv["pid"], hello["pid"]);
    for c in [recv, hello] {
        assert_eq!(c["comm"], "python3");
        assert_eq!(c["actor"], format!("python3[{}]", c["pid"]));
        assert_eq!(c["pid"], c["tid"]);
        assert!(c["fd"].as_i64().is_some_and(|fd| fd > 2), "{c}");
    }
    assert_eq!(hello["peer"], recv["local"]);
    let accept = calls.iter().find(|c| c["op"] == "accept").unwrap();
    assert_eq!(accept["pid"], recv["pid"]);
    assert_eq!(accept["peer"], hello["local"]);

    let summary = summary(&lines);
    assert_eq!(summary["exit"]["code"], 0);
    if !is_root() {
        eprintln!("skipped the wire: capturing on lo needs root");
        assert!(summary["capture"].as_str().unwrap().starts_with("off"));
        return;
    }
    assert_eq!(summary["capture"], "on", "{summary}");
    // The map: the server's one recv came from the client's two sends.
    let index = |c: &Value| calls.iter().position(|x| *x == c).unwrap();
    let row = lines
        .iter()
        .find(|l| l["kind"] == "map" && l["call"] == index(recv))
        .expect("a map row for the recv");
    let from: Vec<(usize, Value)> = row["from"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["call"].as_u64().unwrap() as usize, f["range"].clone()))
        .collect();
    assert_eq!(
        from,
        vec![
            (index(hello), serde_json::json!([0, 5])),
            (index(feng), serde_json::json!([0, 4]))
        ]
    );
    assert!(!row["packets"].as_array().unwrap().is_empty());
    let check = lines.iter().find(|l| l["kind"] == "check").unwrap();
    // Every byte accounted for; the kernel may drop frames of a capture on
    // a machine flooded by other tests, and the check then says so.
    assert!(
        check["passed"] == true || summary["dropped"].as_u64() > Some(0),
        "{check} {summary}"
    );
}

#[test]
fn a_threading_server_shows_its_handler_thread_as_an_actor() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "python3 {} port & python3 {} port; wait",
        program("upload_server.py"),
        program("upload_client.py")
    );
    let (out, lines) = trace_json(dir.path(), &["sh", "-c", &script], b"");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("stored 3000"));
    let calls = calls(&lines);
    let accept = calls.iter().find(|c| c["op"] == "accept").unwrap();
    let server = accept["pid"].clone();
    // socketserver accepts on the main thread and reads on a new one.
    assert_eq!(accept["tid"], server, "{accept}");
    let reads: Vec<_> = calls
        .iter()
        .filter(|c| c["op"] == "recv" && c["pid"] == server)
        .collect();
    assert!(!reads.is_empty());
    let handler = reads[0]["tid"].clone();
    assert_ne!(handler, server);
    assert_eq!(reads[0]["actor"], format!("python3[{server}/{handler}]"));
    assert!(reads.iter().all(|r| r["tid"] == handler));
    // The header then the whole body, whatever the recv boundaries.
    let total: i64 = reads.iter().map(|r| r["returned"].as_i64().unwrap()).sum();
    assert_eq!(total, 4 + 3000);
    // 3000 as 4 bytes in network order, as the escaped text shows them.
    assert_eq!(reads[0]["data"], "\\0\\0\\x0b\\xb8", "{}", reads[0]);
}

#[test]
fn a_udp_pair_sends_and_receives_datagrams() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (out, lines) = trace_json(dir.path(), &["python3", &program("udp_pair.py")], b"");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let calls = calls(&lines);
    let ping = find(&calls, "send_to", "ping");
    let got = find(&calls, "recv_from", "ping");
    assert_eq!(ping["proto"], "udp");
    assert_eq!(ping["syscall"], "sendto");
    assert_eq!(ping["args"], got["local"], "sent to the server's address");
    assert!(ping.get("stream").is_none(), "datagrams have no stream");
    assert_eq!(
        got["args"],
        format!(
            "from 127.0.0.1:{}",
            ping["local"].as_str().unwrap().rsplit(':').next().unwrap()
        )
    );
    find(&calls, "recv_from", "PING");
    if is_root() {
        let index = calls.iter().position(|c| *c == got).unwrap();
        let sent = calls.iter().position(|c| *c == ping).unwrap();
        let row = lines
            .iter()
            .find(|l| l["kind"] == "map" && l["call"] == index)
            .expect("a map row");
        assert_eq!(row["from"][0]["call"], sent);
    } else {
        eprintln!("skipped the wire: capturing on lo needs root");
    }
}

#[test]
fn the_program_keeps_its_standard_input_and_output() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (out, lines) = trace_json(
        dir.path(),
        &["python3", &program("stdin_client.py")],
        b"dir\nls -l\nexit\n",
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(">>: echo: dir"), "{stdout}");
    assert!(stdout.contains("echo: ls -l"), "{stdout}");
    let calls = calls(&lines);
    find(&calls, "send", "dir");
    find(&calls, "send", "ls -l");
    // Reading the terminal (here a pipe) and printing are not socket calls.
    assert!(
        calls
            .iter()
            .all(|c| c["op"] != "read" && c["op"] != "write"),
        "{calls:#?}"
    );
}

#[test]
fn the_exit_code_passes_through_and_a_signal_is_128_plus_its_number() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (out, lines) = trace_json(
        dir.path(),
        &["python3", "-c", "import sys; sys.exit(3)"],
        b"",
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(summary(&lines)["exit"]["code"], 3);

    let (out, lines) = trace_json(
        dir.path(),
        &[
            "python3",
            "-c",
            "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(128 + 15), "{out:?}");
    assert_eq!(summary(&lines)["exit"]["signal"], 15);

    // The human view says so in its last line.
    let out = lab()
        .args([
            "trace",
            "--no-capture",
            "--",
            "python3",
            "-c",
            "import sys; sys.exit(3)",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.trim_end().ends_with("exited with code 3"), "{err}");
}

#[test]
fn a_forked_child_that_runs_another_program_is_traced_too() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (out, lines) = trace_json(dir.path(), &["python3", &program("fork_exec.py")], b"");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let root = lines[0]["pid"].clone();
    let calls = calls(&lines);
    let sent = find(&calls, "send", "hi from the child");
    assert_ne!(sent["pid"], root, "the child has its own pid");
    let connect = calls
        .iter()
        .find(|c| c["op"] == "connect" && c["pid"] == sent["pid"] && c["proto"] == "tcp")
        .expect("the child's connect, after its exec");
    assert_eq!(connect["error"], Value::Null);
    let got = find(&calls, "recv", "hi from the child");
    assert_eq!(got["pid"], root);
    assert_eq!(got["stream"], serde_json::json!([0, 17]));
}

#[test]
fn errors_are_one_line_and_exit_2() {
    let out = lab()
        .args(["trace", "--", "no-such-program-here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "lab: command not found: no-such-program-here\n"
    );
    let out = lab().args(["trace", "--pid", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("lab: no process with pid 0"), "{err}");
    let out = lab().args(["trace"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Waits until `check` holds, or fails after 20 s saying what it waited for.
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn ask(port: &str, message: &str) -> String {
    let out = Command::new("python3")
        .args([&program("ask.py"), port, message])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn attach_to_a_running_server_then_let_it_go() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let mut server = Command::new("python3")
        .args([&program("echo_server.py"), port_file.to_str().unwrap()])
        .spawn()
        .unwrap();
    wait_until("the server's port", || port_file.exists());
    let port = std::fs::read_to_string(&port_file).unwrap();
    let trace = dir.path().join("trace.jsonl");
    let mut lab = lab()
        .args(["trace", "--json", "--pid", &server.id().to_string(), "-o"])
        .arg(&trace)
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&trace).unwrap_or_default();
    // The first line is written once every thread is attached.
    wait_until("lab to attach", || read().contains("\"kind\":\"trace\""));
    assert_eq!(ask(&port, "hello"), "HELLO");
    wait_until("the traced recv", || read().contains("\"data\":\"hello\""));
    // Ctrl-C: lab lets go and ends; the server runs on.
    // SAFETY: sends SIGINT to our own child.
    unsafe { libc::kill(lab.id() as i32, libc::SIGINT) };
    let status = lab.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(ask(&port, "again"), "AGAIN");
    assert_eq!(ask(&port, "quit"), "bye");
    assert!(server.wait().unwrap().success());
    let text = read();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["exit"]["detached"], true, "{text}");
    assert!(!text.contains("again"), "nothing traced after the detach");
}

/// A way to run a command as `nobody`, if this machine has one.
fn as_nobody() -> Option<Command> {
    nobody_command().filter(|_| {
        // The binary and the test programs may live where nobody may not
        // go (a checkout under /root).
        let mut probe = nobody_command().expect("found once");
        probe
            .current_dir("/")
            .args(["/usr/bin/python3", "-c"])
            .arg("import os, sys; sys.exit(not all(os.access(p, os.R_OK) for p in sys.argv[1:]))")
            .arg(env!("CARGO_BIN_EXE_lab"))
            .arg(program("udp_pair.py"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn nobody_command() -> Option<Command> {
    if !is_root() {
        return None;
    }
    let setpriv = Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "true",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if setpriv {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
        return Some(c);
    }
    let runuser = Command::new("runuser")
        .args(["-u", "nobody", "--", "true"])
        .status()
        .is_ok_and(|s| s.success());
    runuser.then(|| {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]);
        c
    })
}

#[test]
fn without_capture_privilege_calls_are_traced_and_one_line_says_why() {
    // A Python that nobody may run (the root's may live in its home).
    if !Path::new("/usr/bin/python3").exists() {
        eprintln!("skipped: no /usr/bin/python3 for nobody to run");
        return;
    }
    let Some(mut nobody) = as_nobody() else {
        eprintln!(
            "skipped: needs root, setpriv or runuser, and a lab binary and test programs that nobody may read"
        );
        return;
    };
    let out = nobody
        .current_dir("/")
        .env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .env("NO_COLOR", "1")
        .args([env!("CARGO_BIN_EXE_lab"), "trace", "--"])
        .args(["/usr/bin/python3", &program("udp_pair.py")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let off: Vec<&str> = err.lines().filter(|l| l.contains("capture off")).collect();
    assert_eq!(off.len(), 1, "{err}");
    assert!(
        off[0].contains("CAP_NET_RAW") && off[0].contains("setcap"),
        "{err}"
    );
    assert!(err.contains("send_to(fd"), "{err}");
    assert!(err.contains("recv_from(fd"), "{err}");
}

#[test]
fn the_human_view_reads_like_a_lab_run() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "python3 {} port & python3 {} port; wait",
        program("sticky_server.py"),
        program("sticky_client.py")
    );
    let text_file = dir.path().join("trace.txt");
    let pcap = dir.path().join("run.pcap");
    let mut cmd = lab();
    cmd.current_dir(dir.path())
        .arg("trace")
        .arg("-o")
        .arg(&text_file);
    if is_root() {
        cmd.arg("--pcap").arg(&pcap);
    }
    let out = cmd.args(["--", "sh", "-c", &script]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&text_file).unwrap();
    assert!(text.starts_with("lab trace  sh -c 'python3 "), "{text}");
    assert!(text.contains("send(fd3, 5 B) → 5 B \"hello\""), "{text}");
    assert!(text.contains("→ 9 B \"hellofeng\""), "{text}");
    assert!(text.contains("exited with code 0"), "{text}");
    if !is_root() {
        eprintln!("skipped the wire: capturing on lo needs root");
        assert!(text.contains("capture off:"), "{text}");
        return;
    }
    assert!(text.contains("Message map"), "{text}");
    assert!(
        text.contains("✓ the capture accounts for every byte"),
        "{text}"
    );
    assert!(text.contains("packets written to"), "{text}");
    // The pcap file holds the connection, readable by `lab inspect`.
    let inspect = lab().arg("inspect").arg(&pcap).output().unwrap();
    let shown = String::from_utf8_lossy(&inspect.stdout);
    // One segment per send or both in one: the stream is the same.
    assert!(
        shown.contains("\"hello│feng\"") || shown.contains("\"hellofeng\""),
        "{shown}"
    );
}

#[test]
fn ctrl_c_reaches_the_program_and_lab_passes_its_end_on() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Its own process group, as a terminal's foreground job: Ctrl-C sends
    // SIGINT to every process of the group, lab and the program alike.
    let mut cmd = lab();
    cmd.args(["trace", "--no-capture", "-o"])
        .arg(dir.path().join("trace.txt"))
        .args(["--", "python3", "-c"])
        .arg("import time; print('ready', flush=True); time.sleep(60)")
        .stdout(Stdio::piped())
        .process_group(0);
    // As a terminal starts its foreground job: Ctrl-C's default action. A
    // test run started in the background by a shell without job control
    // (`cargo test &` in a script) ignores SIGINT, lab hands the program
    // what it had, and Python does not install its KeyboardInterrupt over
    // an ignored SIGINT.
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    // SAFETY: signals the process group we just made.
    unsafe { libc::killpg(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    // Python dies of its KeyboardInterrupt by SIGINT; lab outlives it.
    assert_eq!(status.code(), Some(128 + libc::SIGINT));
    let text = std::fs::read_to_string(dir.path().join("trace.txt")).unwrap();
    assert!(
        text.contains("was killed by SIGINT (exit code 130)"),
        "{text}"
    );
}
