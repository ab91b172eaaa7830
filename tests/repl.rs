//! `lab repl`: the course's socket calls typed by hand, on real sockets.
//!
//! Most tests feed a script on standard input (no terminal), which prints
//! each line and what it did; the last ones drive the REPL in a real
//! terminal through tmux, as a learner would.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn lab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lab"));
    c.arg("--color=never");
    c.env_remove("HOME").env_remove("XDG_STATE_HOME");
    c
}

/// Runs `lab repl` with `script` on standard input: its output and whether
/// it exited 0.
fn repl(script: &str) -> (String, bool) {
    let mut child = lab()
        .arg("repl")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (text, out.status.success())
}

/// Whether this process may capture (the packets show only then).
fn capturing(out: &str) -> bool {
    !out.contains("capture off:")
}

const STICKY: &str = "\
server = socket(AF_INET, SOCK_STREAM)
server.bind((\"127.0.0.1\", 0))
server.listen(5)
client = socket(AF_INET, SOCK_STREAM)
client.connect(server.getsockname())
conn, addr = server.accept()
client.send(b\"hello\")
client.send(b\"feng\")
conn.recv(1024)
";

#[test]
fn the_sticky_experiment_typed_in_the_course_python() {
    let (out, ok) = repl(STICKY);
    assert!(ok, "{out}");
    // Two sends, one recv that returns both: the course's 粘包.
    assert!(out.contains("send(client, 5 B) → 5 B \"hello\""), "{out}");
    assert!(out.contains("send(client, 4 B) → 4 B \"feng\""), "{out}");
    assert!(
        out.contains("recv(conn, 1024) → 9 B \"hellofeng\""),
        "{out}"
    );
    assert!(out.contains("addr = ('127.0.0.1', "), "{out}");
    if capturing(&out) {
        // The handshake, then each send in a segment of its own.
        assert!(out.contains("client → server  SYN "), "{out}");
        assert!(
            out.contains("len=5") && out.contains("\"hello\"  [0, 5)"),
            "{out}"
        );
        assert!(
            out.contains("len=4") && out.contains("\"feng\"  [5, 9)"),
            "{out}"
        );
    } else {
        eprintln!("repl: packets not checked: the capture needs CAP_NET_RAW");
    }
    // Ctrl-D (the end of the script) closes every socket.
    assert!(out.contains("closing client, conn, server"), "{out}");
}

#[test]
fn a_blocking_recv_returns_when_the_peer_sends() {
    let script = "\
s = socket(AF_INET, SOCK_STREAM)
s.bind(('127.0.0.1', 0))
s.listen(1)
c = socket(AF_INET, SOCK_STREAM)
c.connect(s.getsockname())
conn, addr = s.accept()
conn.recv(1024)
c.send(b'late')
";
    let (out, ok) = repl(script);
    assert!(ok, "{out}");
    let blocked = out
        .find("conn is blocked in recv(conn)")
        .unwrap_or_else(|| panic!("no blocking shown:\n{out}"));
    let typed = out.find(">>> c.send(b'late')").unwrap();
    let returned = out.find("recv(conn, 1024) → 4 B \"late\"").unwrap();
    // The prompt came back while recv blocked; it returned after the send.
    assert!(blocked < typed && typed < returned, "{out}");
}

#[test]
fn a_refused_connection_is_named_and_explained() {
    let script = "\
x = socket(AF_INET, SOCK_STREAM)
x.bind(('127.0.0.1', 0))
y = socket(AF_INET, SOCK_STREAM)
err = y.connect_ex(x.getsockname())
z = socket(AF_INET, SOCK_STREAM)
z.connect(x.getsockname())
";
    let (out, ok) = repl(script);
    assert!(ok, "{out}");
    // Bound but not listening: the kernel refuses.
    assert!(out.contains("→ ECONNREFUSED"), "{out}");
    assert!(
        out.contains("ECONNREFUSED: nothing is listening there"),
        "{out}"
    );
    assert!(out.contains("connect_ex returned 111"), "{out}");
}

#[test]
fn a_half_close_ends_the_stream_one_way() {
    let script = "\
s = socket(AF_INET, SOCK_STREAM)
s.bind(('127.0.0.1', 0))
s.listen(1)
c = socket(AF_INET, SOCK_STREAM)
c.connect(s.getsockname())
conn, addr = s.accept()
c.shutdown(SHUT_WR)
conn.recv(1024)
conn.send(b'still open')
c.recv(1024)
";
    let (out, ok) = repl(script);
    assert!(ok, "{out}");
    assert!(
        out.contains("recv(conn, 1024) → 0 B \"\"  end of stream"),
        "{out}"
    );
    assert!(out.contains("recv(c, 1024) → 10 B \"still open\""), "{out}");
}

#[test]
fn bad_lines_get_one_line_each_and_the_session_goes_on() {
    let script = "\
server = socket(AF_INET, SOCK_STREAM)
servr.listen(5)
server.recieve(10)
server.bind(('127.0.0.1', 0)
server.close()
server.listen(5)
client = socket(AF_INET, SOCK_STREAM)
client.send('text')
help recv
";
    let (out, ok) = repl(script);
    assert!(ok, "{out}");
    assert!(
        out.contains("no name `servr`; did you mean `server`?"),
        "{out}"
    );
    assert!(out.contains("did you mean `recv`?"), "{out}");
    assert!(out.contains("column 29: expected `)`"), "{out}");
    assert!(out.contains("EBADF: `server` is closed"), "{out}");
    assert!(out.contains("bytes, not str"), "{out}");
    assert!(out.contains("conn.recv(1024)"), "help recv:\n{out}");
}

#[test]
fn a_saved_session_replays_with_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sticky-by-hand.toml");
    let script = format!("{STICKY}conn.recv(1024)\nsave {}\n", file.display());
    // The second recv blocks (nothing more was sent) until Ctrl-D.
    let (out, ok) = repl(&script);
    assert!(ok, "{out}");
    // The last recv is still blocked: it has no result to check.
    assert!(out.contains("saved 9 lines"), "{out}");
    assert!(out.contains("left out: conn.recv(1024)"), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    // The ports of the session are names in the file, not numbers.
    assert!(text.contains("to = \"server\""), "{text}");
    assert!(text.contains("data = \"hellofeng\""), "{text}");
    let replay = lab()
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "{shown}\n{text}");
    assert!(
        shown.contains("✓ as in the session: conn.recv(1024)"),
        "{shown}"
    );
    assert!(shown.contains("returned 9 B \"hellofeng\""), "{shown}");
}

#[test]
fn repl_starts_and_ends_quickly() {
    // A bound, not a benchmark (benches/repl_latency.sh measures): an
    // empty session must not hang.
    let t = Instant::now();
    let (out, ok) = repl("");
    assert!(ok, "{out}");
    assert!(t.elapsed() < Duration::from_secs(10), "{out}");
}

// ----- in a real terminal -------------------------------------------------

mod common;
use common::tmux::Tmux;

#[test]
fn in_a_terminal_a_blocked_recv_leaves_the_prompt_free() {
    let Some(t) = Tmux::start("block", "repl", ">>> ") else {
        return;
    };
    for line in STICKY.lines().take(6) {
        t.line(line);
    }
    t.wait_for("addr = ('127.0.0.1',");
    t.line("conn.recv(1024)");
    t.wait_for("conn is blocked in recv(conn)");
    // The prompt is back: the peer's line is typed while recv waits.
    t.line("client.send(b'hellofeng')");
    let screen = t.wait_for("recv(conn, 1024) → 9 B \"hellofeng\"");
    assert!(screen.contains("send(client, 9 B)"), "{screen}");
    // Ctrl-C gives a blocked call up.
    t.line("conn.recv(1024)");
    t.wait_for("Ctrl-C gives it up");
    t.keys("C-c");
    let screen = t.wait_for("KeyboardInterrupt: gave up the call of conn");
    t.wait_for("EINTR");
    let _ = screen;
    // Ctrl-D closes everything and leaves.
    t.keys("C-d");
    t.wait_for("closing client, conn, server and leaving");
    // Let it finish (and remove its scratch folder) before the pane goes.
    t.wait_for("[lab exited]");
}

#[test]
fn review_fixes_settimeout_rules_accept_recv0_and_save_keep_python_s_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kept.toml");
    std::fs::write(&file, "mine").unwrap();
    let script = format!(
        "\
server = socket(AF_INET, SOCK_STREAM)
server.bind(('127.0.0.1', 0))
server.listen(1)
server.settimeout(0.3)
conn, addr = server.accept()
c = socket(AF_INET, SOCK_STREAM)
c.connect(server.getsockname())
conn, addr = server.accept()
conn.recv(0)
c.settimeout(9223372036854776)
c.send(b'x  # y')
save {}
",
        file.display()
    );
    let (out, ok) = repl(&script);
    assert!(ok, "{out}");
    // settimeout reaches accept: nobody calls, so it gives up after 0.3 s
    // of lab time, as Python's raises a timeout, instead of blocking on.
    assert!(
        out.contains("accept(server) → still blocked after"),
        "{out}"
    );
    // recv(0) is answered as CPython answers it: no system call.
    assert!(
        out.contains("b''  (Python returns this for recv(0)"),
        "{out}"
    );
    // A timeout too large for the REPL is refused, not wrapped around.
    assert!(out.contains("a day (86400 s) is the longest"), "{out}");
    // save never replaces a file that is there.
    assert!(out.contains("it exists already"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

#[test]
fn a_saved_step_keeps_its_bytes_whatever_they_look_like() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hash.toml");
    let script = format!(
        "{STICKY}client.send(b'x  # y')\nconn.recv(1024)\nsave {}\n",
        file.display()
    );
    let (out, ok) = repl(&script);
    assert!(ok, "{out}");
    let replay = lab()
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "{shown}");
    assert!(shown.contains("\"x  # y\""), "{shown}");
}

#[test]
fn a_new_connection_takes_a_name_whose_old_socket_is_blocked() {
    // The second accept waits for a client; meanwhile the old `conn`
    // blocks in recv. When the client comes, the new connection takes the
    // name (the old one's call is given up within a slice, and its socket
    // closed), and the name's next recv is the new connection's.
    let script = "\
s = socket(AF_INET, SOCK_STREAM)
s.bind(('127.0.0.1', 0))
s.listen(5)
a = socket(AF_INET, SOCK_STREAM)
a.connect(s.getsockname())
conn, addr = s.accept()
conn, addr = s.accept()
conn.recv(1024)
b = socket(AF_INET, SOCK_STREAM)
b.connect(s.getsockname())
b.send(b'second')
conn.recv(1024)
";
    let t = Instant::now();
    let (out, ok) = repl(script);
    assert!(ok, "{out}");
    assert!(out.contains("recv(conn, 1024) → 6 B \"second\""), "{out}");
    assert!(t.elapsed() < Duration::from_secs(10), "{out}");
}

#[test]
fn a_session_one_actor_could_not_replay_is_not_saved() {
    // `conn.recv` blocks on the connection's own thread while the
    // listener accepts a second client. A lab file gives both sockets to
    // one actor, which would wait in the recv before the accept: `save`
    // says so and writes nothing.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overlap.toml");
    let script = format!(
        "\
server = socket(AF_INET, SOCK_STREAM)
server.bind(('127.0.0.1', 0))
server.listen(5)
client = socket(AF_INET, SOCK_STREAM)
client.connect(server.getsockname())
conn, addr = server.accept()
conn.recv(1024)
other = socket(AF_INET, SOCK_STREAM)
other.connect(server.getsockname())
conn2, addr2 = server.accept()
client.send(b'x')
save {}
",
        file.display()
    );
    let (out, _) = repl(&script);
    assert!(
        out.contains(
            "cannot save: `conn.recv(1024)` was still waiting when `conn2, addr2 = server.accept()` ran"
        ),
        "{out}"
    );
    assert!(!file.exists(), "{out}");
}
