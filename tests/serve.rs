//! `lab serve` driven by small Python clients that speak the course's wire
//! formats (python3's standard library only), checking what arrived byte
//! for byte, and that hostile clients end only their own connection.
//!
//! Each test starts its own server on a port the OS picks (`--port 0`;
//! the first line of output names it), so the tests run in parallel.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `lab serve`, with everything it printed so far.
struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lab"));
        cmd.arg("serve").args(args);
        Server::start_command(cmd)
    }

    /// Starts `cmd`, a `lab serve ...` (or a command that execs one).
    fn start_command(mut cmd: Command) -> Server {
        let mut child = cmd
            .args(["--port", "0", "--color=never"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start lab serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        lines.read_line(&mut first).expect("first line");
        // "listening on 127.0.0.1:PORT (tcp, 14-fixed-header)"
        let port = first
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
        let log = Arc::new(Mutex::new(first));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut rest = String::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = lines.read(&mut buf) {
                if n == 0 {
                    break;
                }
                rest.push_str(&String::from_utf8_lossy(&buf[..n]));
                sink.lock().unwrap().push_str(&rest);
                rest.clear();
            }
        });
        Server { child, port, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `text` (the server prints as it goes).
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(text) {
                return log;
            }
            assert!(Instant::now() < deadline, "no {text:?} in:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// Ctrl-C, then the whole log; the server must stop cleanly.
    fn stop(mut self) -> String {
        // SAFETY: plain syscall on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            assert!(Instant::now() < deadline, "lab serve ignored Ctrl-C");
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(50));
        let log = self.log();
        // 128 + SIGINT: stopped by a signal, cleanly.
        assert_eq!(
            status.code(),
            Some(130),
            "lab serve exited with {status}:\n{log}"
        );
        assert!(log.trim_end().ends_with("stopped"), "{log}");
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have_python() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 is not installed; the course's clients are Python");
    }
    ok
}

/// Runs a Python client with the port as `sys.argv[1]`; returns its stdout.
fn python(port: u16, script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

const PRELUDE: &str = r#"
import socket, struct, json, sys, hashlib, hmac, os, time
port = int(sys.argv[1])
def connect():
    return socket.create_connection(("127.0.0.1", port), timeout=10)
def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(min(65536, n - len(data)))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data
"#;

#[test]
fn fixed_header_answers_the_courses_client_byte_for_byte() {
    if !have_python() {
        return;
    }
    let server = Server::start(&["14"]);
    // The course's client: send the command, read struct 'i', read n bytes.
    let out = python(
        server.port,
        &format!(
            "{PRELUDE}
s = connect()
for cmd in [b'whoami', b'true', b'echo -n x', b'cat big.log']:
    s.send(cmd)
    n = struct.unpack('i', recv_exact(s, 4))[0]
    data = recv_exact(s, n)
    print(cmd.decode(), n, hashlib.sha256(data).hexdigest()[:16], repr(data[:12]))
s.close()
"
        ),
    );
    let lines: Vec<&str> = out.lines().collect();
    let lab = format!("{:x}", sha2_of(b"lab\n"));
    assert_eq!(lines[0], format!("whoami 4 {} b'lab\\n'", &lab[..16]));
    assert!(lines[1].starts_with("true 0 "), "{out}");
    assert!(
        lines[2].starts_with("echo -n x 1 ") && lines[2].ends_with("b'x'"),
        "{out}"
    );
    let big = socket_lab::course::command::output(b"cat big.log");
    let want = format!("{:x}", sha2_of(&big));
    assert!(
        lines[3].starts_with(&format!("cat big.log 1048576 {}", &want[..16])),
        "{out}"
    );
    let log = server.stop();
    assert!(
        log.contains("command(conn1, \"cat big.log\" → 1048576 B"),
        "{log}"
    );
}

fn sha2_of(data: &[u8]) -> impl std::fmt::LowerHex {
    use sha2::Digest;
    sha2::Sha256::digest(data)
}

#[test]
fn a_silent_client_does_not_stop_the_others() {
    if !have_python() {
        return;
    }
    let server = Server::start(&["14", "--set", "order=network"]);
    let out = python(
        server.port,
        &format!(
            "{PRELUDE}
silent = connect()          # connects and never says a word
time.sleep(0.1)
s = connect()
s.send(b'pwd')
n = struct.unpack('!I', recv_exact(s, 4))[0]
print(recv_exact(s, n))
s.close(); silent.close()
"
        ),
    );
    assert_eq!(out.trim(), "b'/home/lab\\n'");
    server.stop();
}

#[test]
fn json_header_is_the_courses_layout() {
    if !have_python() {
        return;
    }
    let server = Server::start(&["15"]);
    let out = python(
        server.port,
        &format!(
            "{PRELUDE}
s = connect()
for cmd in [b'ls', b'rm -rf /']:
    s.send(cmd)
    head_len = struct.unpack('i', recv_exact(s, 4))[0]
    head = json.loads(recv_exact(s, head_len).decode('utf-8'))
    body = recv_exact(s, head['data_size'])
    print(head['cmd'], head['data_size'], body)
s.close()
"
        ),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "ls 43 b'big.log\\nnotes.txt\\nphotos\\nsocket-course.txt\\n'"
    );
    assert!(
        lines[1].starts_with("rm -rf / ") && lines[1].contains("rm: not found"),
        "{out}"
    );
    server.stop();
}

#[test]
fn file_server_stores_uploads_and_refuses_hostile_clients() {
    // The 10 GB claim once expected b'' and failed about once in 20 runs
    // with ConnectionResetError: the server closes as soon as it has judged
    // the header, and if the upload's first bytes had arrived by then, they
    // were unread, and Linux answers a close with unread data with RST, not
    // FIN. Either is the refusal the server promises.
    if !have_python() {
        return;
    }
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("files");
    let server = Server::start(&["16", "--dir", dir.to_str().unwrap()]);
    server.wait_for("files are stored in");
    let out = python(
        server.port,
        &format!(
            "{PRELUDE}
def put(s, name, data, announce=None, send=None):
    # The course's client: struct 'i' + JSON {{cmd, filename, filesize}}, then the bytes.
    head = json.dumps({{'cmd': 'put', 'filename': name, 'filesize': announce if announce is not None else len(data)}}).encode()
    s.send(struct.pack('i', len(head))); s.send(head)
    s.sendall(data if send is None else data[:send])
def answer(s):
    n = struct.unpack('i', recv_exact(s, 4))[0]
    return json.loads(recv_exact(s, n))
def refused(s):
    # A refusal closes the connection. When the server has read every byte
    # the client sent, its close is a FIN and recv returns b''; when some
    # were still unread (here: the 1000 bytes of a refused upload, if they
    # arrived after the header was judged), the kernel resets the
    # connection instead. Which one depends on timing: both are a refusal.
    try:
        data = s.recv(100)
    except ConnectionResetError:
        return 'refused'
    return 'refused' if data == b'' else repr(data)

content = bytes(range(256)) * 4000 + '文件'.encode()
s = connect()
put(s, 'notes.bin', content)
a = answer(s)
print('put', a['ok'], a['filesize'], a['sha256'] == hashlib.sha256(content).hexdigest())
put(s, '../evil.txt', b'owned')
a = answer(s)
print('evil', a['ok'], 'refused' in a['error'])
head = json.dumps({{'cmd': 'get', 'filename': 'notes.bin'}}).encode()
s.send(struct.pack('i', len(head)) + head)
a = answer(s)
got = recv_exact(s, a['filesize'])
print('get', got == content)
s.close()

# A header that claims 10 GB: refused before any byte is stored.
s = connect()
put(s, 'huge.bin', b'x' * 1000, announce=10 * 1024**3)
print('huge', refused(s))
s.close()

# Garbage instead of a header.
s = connect()
s.send(struct.pack('i', 5) + b'nope!')
print('garbage', s.recv(100))
s.close()

# Gone halfway through a file.
s = connect()
put(s, 'half.bin', b'y' * 50000, send=20000)
time.sleep(0.1)
s.close()
time.sleep(0.3)

# And the server still serves.
s = connect()
put(s, 'after.txt', b'still here')
print('after', answer(s)['ok'])
s.close()
"
        ),
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "put True 1024006 True",
            "evil False True",
            "get True",
            "huge refused",
            "garbage b''",
            "after True",
        ]
    );
    let mut want = Vec::new();
    for _ in 0..4000 {
        want.extend(0..=255u8);
    }
    want.extend("文件".as_bytes());
    assert_eq!(std::fs::read(dir.join("notes.bin")).unwrap(), want);
    assert_eq!(std::fs::read(dir.join("after.txt")).unwrap(), b"still here");
    // Nothing outside the folder, no half file, no leftover temporary file.
    assert!(!root.path().join("evil.txt").exists());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["after.txt", "notes.bin"]);
    // A 10 GB claim never turned into 10 GB of memory.
    assert!(server.rss_kib() < 200_000, "RSS {} KiB", server.rss_kib());
    let log = server.wait_for("after.txt");
    assert!(log.contains("too_big"), "{log}");
    assert!(log.contains("bad_header"), "{log}");
    assert!(log.contains("closed_mid_frame"), "{log}");
    server.stop();
}

#[test]
fn a_full_disk_during_an_upload_is_an_error_answer_and_no_half_file() {
    if !have_python() {
        return;
    }
    if !socket_lab::netns::can_unshare() {
        eprintln!(
            "skipped: needs root: a tiny file system is mounted in a private mount namespace"
        );
        return;
    }
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("tiny");
    std::fs::create_dir(&dir).unwrap();
    // 256 KiB of room, seen only by the server (a mount namespace of its
    // own: `unshare` execs the shell, which execs lab, in it).
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs '{d}' || exit 99; exec \"$@\"",
        d = dir.display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
        "sh",
    ])
    .arg(env!("CARGO_BIN_EXE_lab"))
    .args(["serve", "16", "--dir"])
    .arg(&dir);
    let server = Server::start_command(cmd);
    server.wait_for("files are stored in");
    let out = python(
        server.port,
        &format!(
            "{PRELUDE}
def put(s, name, data):
    head = json.dumps({{'cmd': 'put', 'filename': name, 'filesize': len(data)}}).encode()
    s.send(struct.pack('i', len(head))); s.send(head); s.sendall(data)
def answer(s):
    n = struct.unpack('i', recv_exact(s, 4))[0]
    return json.loads(recv_exact(s, n))
s = connect()
put(s, 'big.bin', b'x' * (1024 * 1024))
a = answer(s)
print('big', a['ok'], a['error'])
# The same connection goes on, and the room the half file took is free.
put(s, 'small.txt', b'fits')
print('small', answer(s)['ok'])
s.close()
"
        ),
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "big False cannot store \"big.bin\": No space left on device (os error 28)",
            "small True",
        ]
    );
    // What the server's file system holds, seen through its own root.
    let inside = std::path::PathBuf::from(format!("/proc/{}/root", server.child.id()))
        .join(dir.strip_prefix("/").unwrap());
    let mut names: Vec<String> = std::fs::read_dir(&inside)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["small.txt"], "no half file, no hidden part file");
    // The server's line for the upload shows the error answer it sent.
    let log = server.wait_for("small.txt");
    assert!(
        log.contains(
            r#"put(conn1, "big.bin", 0 B) → 0 "{"error":"cannot store \\"big.bin\\": No space"#
        ),
        "{log}"
    );
    server.stop();
}

#[test]
fn a_refusal_with_nothing_left_unread_is_an_end_of_stream() {
    // The other side of the story above: a client that sent only the
    // header, so the server read every byte it sent, always gets a FIN
    // (recv returns b''), never a reset.
    if !have_python() {
        return;
    }
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("files");
    let server = Server::start(&["16", "--dir", dir.to_str().unwrap()]);
    server.wait_for("files are stored in");
    let out = python(
        server.port,
        &format!(
            "{PRELUDE}
for i in range(20):
    s = connect()
    head = json.dumps({{'cmd': 'put', 'filename': 'huge.bin', 'filesize': 10 * 1024**3}}).encode()
    s.send(struct.pack('i', len(head)))
    s.send(head)
    print(s.recv(100))
    s.close()
"
        ),
    );
    assert_eq!(out.lines().collect::<Vec<_>>(), ["b''"; 20]);
    let log = server.wait_for("conn20");
    assert!(log.contains("too_big"), "{log}");
    server.stop();
}

#[test]
fn hmac_handshake_lets_in_only_the_key() {
    if !have_python() {
        return;
    }
    for digest in ["sha256", "md5"] {
        let server = Server::start(&["17", "--set", &format!("digest={digest}")]);
        let out = python(
            server.port,
            &format!(
                "{PRELUDE}
def client(key):
    s = connect()
    challenge = recv_exact(s, 32)
    s.sendall(hmac.new(key, challenge, '{digest}').digest())
    s.sendall(b'hello')
    try:
        reply = s.recv(1024)
    except ConnectionResetError:
        # Refused with 'hello' still unread: the server's close sends RST.
        reply = b''
    s.close()
    return reply
print(client(b'socket-lab shared key'))
print(client(b'not the key'))
"
            ),
        );
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            ["b'HELLO'", "b''"],
            "{digest}"
        );
        let log = server.wait_for("refused");
        assert!(log.contains("auth(conn1, HMAC-"), "{log}");
        server.stop();
    }
}

#[test]
fn the_course_client_authenticates_with_the_course_key() {
    // The course's client, as it is written: recv(32), hmac.new(key, msg)
    // (MD5 was that call's default before Python 3.8, so it is named here),
    // sendall the digest, then talk. The key knob once took only two fixed
    // values, so the course's own key could not be used.
    if !have_python() {
        return;
    }
    let server = Server::start(&[
        "17",
        "--set",
        "key=linhaifeng bang bang bang",
        "--set",
        "digest=md5",
    ]);
    let banner = server.wait_for("digest");
    assert!(
        banner.contains(r#"key "linhaifeng bang bang bang" (25 bytes), digest md5"#),
        "{banner}"
    );
    let out = python(
        server.port,
        &format!(
            "{PRELUDE}
secret_key = b'linhaifeng bang bang bang'
s = connect()
msg = s.recv(32)
h = hmac.new(secret_key, msg, 'md5')
s.sendall(h.digest())
s.sendall('hello'.encode('utf-8'))
print(s.recv(1024))
s.close()
"
        ),
    );
    assert_eq!(out.trim(), "b'HELLO'");
    server.stop();
}

#[test]
fn serve_refuses_a_lab_without_a_server() {
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["serve", "09", "--port", "0"])
        .output()
        .expect("run lab");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("lab: lab 09-sticky-packet has no server"),
        "{err}"
    );
}

#[test]
fn ctrl_c_stops_at_once_even_with_a_client_connected() {
    let server = Server::start(&["15"]);
    // A client that connects, sends half a command's worth of nothing,
    // and stays: the server must not wait for it to leave.
    let idle = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    server.wait_for("accept(srv, -> conn1)");
    let started = Instant::now();
    let log = server.stop();
    assert!(started.elapsed() < Duration::from_secs(2), "{log}");
    assert!(log.contains("served(conn1"), "{log}");
    drop(idle);
}

#[test]
fn a_folder_the_file_server_made_and_left_empty_goes_with_it() {
    // `lab serve 16` without --dir makes a private folder for uploads; a
    // session with no upload leaves nothing behind in /tmp.
    let server = Server::start(&["16"]);
    let log = server.wait_for("Ctrl-C stops the server.");
    let dir = log
        .lines()
        .find_map(|l| l.strip_prefix("files are stored in "))
        .expect("the folder is named")
        .trim()
        .to_string();
    assert!(std::path::Path::new(&dir).is_dir(), "{log}");
    let log = server.stop();
    assert!(
        !std::path::Path::new(&dir).exists(),
        "{dir} is left:\n{log}"
    );
}

/// Asks lab 15's server for `ls` as the course's client does: the
/// command, then a 4-byte length, a JSON header and the body it announces.
fn ask_ls(port: u16) -> String {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"ls").unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut head = vec![0u8; i32::from_ne_bytes(len) as usize];
    s.read_exact(&mut head).unwrap();
    let head: serde_json::Value = serde_json::from_slice(&head).unwrap();
    let mut body = vec![0u8; head["data_size"].as_u64().unwrap() as usize];
    s.read_exact(&mut body).unwrap();
    String::from_utf8_lossy(&body).into_owned()
}

#[test]
fn three_thousand_silent_clients_leave_room_for_the_next_and_are_closed_when_idle() {
    let server = Server::start(&["15", "--idle", "3"]);
    server.wait_for("is disconnected (--idle)");
    // Clients that connect and never say a word, as a flood would.
    let silent: Vec<std::net::TcpStream> = (0..3000)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect"))
        .collect();
    // The next client is served at once (the bench measures how fast:
    // benches/serve_flood.py); here, only that it is served.
    let started = Instant::now();
    assert!(ask_ls(server.port).contains("notes.txt"));
    assert!(started.elapsed() < Duration::from_secs(10));
    // Each idle client costs a thread with a small stack, not megabytes.
    let rss_mib = server.rss_kib() / 1024;
    assert!(
        rss_mib < 256,
        "lab serve holds {rss_mib} MiB with 3000 clients"
    );
    // After --idle, each silent client finds its connection closed (EOF),
    // and the server said why.
    for s in [&silent[0], &silent[2999]] {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 1];
        assert_eq!((&*s).read(&mut buf).unwrap(), 0);
    }
    server.wait_for("nothing arrived for 3.0 s, so the connection is closed");
    drop(silent);
    server.stop();
}
