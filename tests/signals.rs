//! SIGINT, SIGTERM: `lab` stops where it is, shows what it did, completes
//! the files it was writing, leaves no scratch folder, and exits 128 + the
//! signal's number. And a full disk: one line, no half file.
//!
//! Each test gives `lab` a `TMPDIR` of its own, so "nothing left behind"
//! is checked on a folder no other test uses. A signal is sent only once
//! `lab` has printed a row that shows it is in the middle of its work (not
//! after a guessed delay).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn lab(tmp: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lab"));
    c.arg("--color=never");
    c.env_remove("HOME").env_remove("XDG_STATE_HOME");
    c.env("TMPDIR", tmp);
    c
}

/// Says why (part of) a test is skipped, on the real stderr.
fn skip(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
}

/// A running `lab` whose standard output is read line by line.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// Reads until a line contains `needle` (30 s is far beyond any run).
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.contains(needle) {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("`{needle}` never came:\n{}", self.seen);
    }

    /// Sends `signal`, then waits (at most 10 s) for the exit: its code,
    /// the rest of stdout, and stderr.
    fn signal(mut self, signal: i32) -> (Option<i32>, String, String) {
        // SAFETY: a plain syscall on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("lab did not stop on signal {signal}:\n{}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.code(), self.seen, err)
    }
}

/// What is left in `dir`.
fn left_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The frames of a pcap file, read by our reader and, when installed, by
/// tshark: both must read it to its end.
fn frames_in(pcap: &Path) -> usize {
    let file = socket_lab::pcap::read_pcap(pcap).expect("a readable pcap");
    assert!(file.cut_short.is_none(), "{:?}", file.cut_short);
    if let Ok(out) = Command::new("tshark")
        .args([
            "-r",
            pcap.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            file.frames.len()
        );
    }
    file.frames.len()
}

#[test]
fn ctrl_c_in_the_middle_of_a_run_completes_its_pcap_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let pcap = out.path().join("cut.pcap");
    let capturing = socket_lab::capture::privilege().is_ok();
    if !capturing {
        skip("no capture privilege: the run is stopped without a pcap");
    }
    let mut cmd = lab(tmp.path());
    // Both ends block in recv for 10 s: the signal comes while they wait.
    cmd.args(["run", "03", "--set", "watchdog_ms=10000"]);
    if capturing {
        cmd.arg("--pcap").arg(&pcap);
    }
    let mut run = Running::start(cmd);
    run.wait_for("send(sock, 0 B)");
    let started = Instant::now();
    let (code, shown, err) = run.signal(libc::SIGINT);
    assert_eq!(code, Some(130), "{shown}\n{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{shown}");
    assert_eq!(err.trim_end(), "lab: stopped by SIGINT (Ctrl-C)", "{shown}");
    // What ran was shown; nothing was judged.
    assert!(shown.contains("connect(sock"), "{shown}");
    assert!(!shown.contains('✓') && !shown.contains('✗'), "{shown}");
    assert_eq!(left_in(tmp.path()), Vec::<String>::new());
    if capturing {
        // The handshake at least, in a file every reader reads to its end.
        assert!(frames_in(&pcap) >= 3);
        assert_eq!(left_in(out.path()), vec!["cut.pcap".to_string()]);
    }
}

#[test]
fn sigterm_stops_run_all_between_or_inside_labs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = lab(tmp.path());
    cmd.args(["run", "--all"]);
    let mut run = Running::start(cmd);
    // The first lab's line: the other labs are still to run.
    run.wait_for("checks");
    let (code, shown, err) = run.signal(libc::SIGTERM);
    assert_eq!(code, Some(143), "{shown}\n{err}");
    assert_eq!(err.trim_end(), "lab: stopped by SIGTERM", "{shown}");
    assert!(!shown.contains("labs in"), "{shown}");
    assert_eq!(left_in(tmp.path()), Vec::<String>::new());
}

#[test]
fn ctrl_c_stops_a_capture_with_its_summary_and_a_whole_pcap() {
    if let Err(e) = socket_lab::capture::privilege() {
        skip(&e.to_string());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("watch.pcap");
    // A port of our own, bound so that datagrams to it are not refused.
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    let mut cmd = lab(tmp.path());
    cmd.args(["capture", "--port", &port.to_string(), "--pcap"])
        .arg(&pcap);
    let mut run = Running::start(cmd);
    run.wait_for("Ctrl-C to stop");
    // Datagrams until the capture has shown one (it started just before
    // its line; a datagram sent earlier may be missed, so send again).
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        sender.send_to(b"ping", ("127.0.0.1", port)).unwrap();
        match run.lines.recv_timeout(Duration::from_millis(50)) {
            Ok(line) if line.contains("ping") => break,
            Ok(_) | Err(_) => assert!(Instant::now() < deadline, "no packet shown"),
        }
    }
    let (code, shown, err) = run.signal(libc::SIGINT);
    assert_eq!(code, Some(130), "{shown}\n{err}");
    assert!(shown.contains("packets written to"), "{shown}");
    assert!(shown.contains("packets shown; kernel:"), "{shown}");
    assert!(frames_in(&pcap) >= 1);
    assert_eq!(left_in(tmp.path()), vec!["watch.pcap".to_string()]);
}

#[test]
fn sigterm_ends_a_repl_session_and_its_scratch_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = lab(tmp.path());
    cmd.arg("repl").stdin(Stdio::piped());
    let mut run = Running::start(cmd);
    // Standard input stays open: the session waits for a line that never
    // comes, as at a terminal.
    let mut stdin = run.child.stdin.take().unwrap();
    use std::io::Write;
    writeln!(stdin, "u = socket(AF_UNIX, SOCK_STREAM)").unwrap();
    writeln!(stdin, "u.bind('here.sock')").unwrap();
    run.wait_for("bind(u");
    assert_eq!(left_in(tmp.path()).len(), 1, "the session's scratch folder");
    let (code, shown, err) = run.signal(libc::SIGTERM);
    assert_eq!(code, Some(143), "{shown}\n{err}");
    assert_eq!(err.trim(), "lab: stopped by SIGTERM", "{shown}");
    assert_eq!(left_in(tmp.path()), Vec::<String>::new());
    drop(stdin);
}

#[test]
fn ctrl_c_while_a_stepped_run_waits_for_a_key_ends_it_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = lab(tmp.path());
    cmd.args(["run", "03", "--step", "--no-capture"])
        .stdin(Stdio::piped());
    let mut run = Running::start(cmd);
    // Standard input stays open and silent: the run waits for a key, as
    // at a terminal nobody touches.
    let stdin = run.child.stdin.take().unwrap();
    run.wait_for("next:");
    assert_eq!(left_in(tmp.path()).len(), 1, "the run's scratch folder");
    let (code, shown, err) = run.signal(libc::SIGINT);
    assert_eq!(code, Some(130), "{shown}\n{err}");
    assert_eq!(err.trim_end(), "lab: stopped by SIGINT (Ctrl-C)", "{shown}");
    assert!(!shown.contains('✓') && !shown.contains('✗'), "{shown}");
    assert_eq!(left_in(tmp.path()), Vec::<String>::new());
    drop(stdin);
}

#[test]
fn a_quiet_capture_writes_every_frame_and_prints_only_its_counters() {
    if let Err(e) = socket_lab::capture::privilege() {
        skip(&e.to_string());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("quiet.pcap");
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    let mut cmd = lab(tmp.path());
    cmd.args(["capture", "-q", "--port", &port.to_string(), "--pcap"])
        .arg(&pcap);
    let mut run = Running::start(cmd);
    // The capture is open before this line is printed.
    run.wait_for("Ctrl-C to stop");
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..100u32 {
        sender
            .send_to(&i.to_be_bytes(), ("127.0.0.1", port))
            .unwrap();
    }
    // Every datagram has arrived (and so crossed lo) before the signal.
    let mut buf = [0u8; 4];
    for _ in 0..100 {
        sink.recv(&mut buf).unwrap();
    }
    let (code, shown, err) = run.signal(libc::SIGINT);
    assert_eq!(code, Some(130), "{shown}\n{err}");
    assert!(shown.contains("100 packets written to"), "{shown}");
    assert!(
        shown.contains("· kernel: 100 captured, 0 dropped"),
        "{shown}"
    );
    assert!(!shown.contains("#1 "), "no row per packet:\n{shown}");
    assert_eq!(frames_in(&pcap), 100);
}

#[test]
fn a_full_disk_while_writing_a_pcap_is_one_line_and_no_half_file() {
    if socket_lab::capture::privilege().is_err() || !socket_lab::netns::can_unshare() {
        skip("needs root: a tiny file system is mounted in a private mount namespace");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiny");
    std::fs::create_dir(&dir).unwrap();
    // 64 KiB of room, seen only by this command (a mount namespace of its
    // own); lab 13's run is about 1800 packets, far more than that.
    let script = format!(
        "mount -t tmpfs -o size=64k tmpfs '{d}' || exit 99
         '{lab}' run 13 --color=never --pcap '{d}/run.pcap'; rc=$?
         echo \"left: [$(ls -A '{d}')]\" >&2; exit $rc",
        d = dir.display(),
        lab = env!("CARGO_BIN_EXE_lab")
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("TMPDIR", tmp.path())
        .env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    // One line from lab, then what the full file system holds after it:
    // nothing (the half-written file was removed).
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].ends_with("run.pcap: cannot write: No space left on device (os error 28)"),
        "{err}"
    );
    assert_eq!(lines[1], "left: []", "{err}");
    // The mount went with its namespace.
    assert_eq!(left_in(&dir), Vec::<String>::new());
    assert_eq!(left_in(tmp.path()), vec!["tiny".to_string()]);
}
