//! `--pcapng FILE`: the message map inside Wireshark.
//!
//! Each test makes a real capture (`lab run`, `lab trace`, `lab capture`),
//! reads the file back with tshark, the reader learners will use, and
//! checks every packet's comment against what the same run said in its
//! own JSON Lines (its calls, its packets, its map rows), or, for `lab
//! capture`, against tshark's own dissection (`tcp.stream`, relative
//! sequence numbers). Nothing is compared with text written here.
//!
//! Capturing needs root (CAP_NET_RAW); without it, or without tshark,
//! each test says why it skips.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::skip;

/// Whether this process may capture and tshark is here to read the
/// files; says why not otherwise.
fn ready(test: &str) -> bool {
    if let Err(e) = socket_lab::capture::privilege() {
        skip(test, &e.to_string());
        return false;
    }
    if Command::new("tshark").arg("--version").output().is_err() {
        skip(test, "tshark is not installed (apt-get install tshark)");
        return false;
    }
    true
}

/// `lab` with no HOME (no progress is recorded) and no colour.
fn lab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lab"));
    c.env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .env("NO_COLOR", "1");
    c
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The name tshark gives packet comments: `frame.comment` since 3.6,
/// `pkt_comment` before.
fn comment_field() -> &'static str {
    let fields = Command::new("tshark")
        .args(["-G", "fields"])
        .output()
        .unwrap();
    let fields = String::from_utf8_lossy(&fields.stdout);
    if fields.contains("\tframe.comment\t") {
        "frame.comment"
    } else {
        "pkt_comment"
    }
}

/// tshark's fields of every frame, a row per frame; several values of one
/// field (a packet's comments) are split apart.
fn tshark_fields(file: &Path, fields: &[&str]) -> Vec<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args(["-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    // A separator no comment holds (notes escape control characters).
    let out = cmd.args(["-E", "aggregator=\x1f"]).output().unwrap();
    assert!(out.status.success(), "tshark: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|row| {
            row.split('\t')
                .map(|v| match v {
                    "" => Vec::new(),
                    v => v.split('\x1f').map(str::to_string).collect(),
                })
                .collect()
        })
        .collect()
}

/// Each frame's comments, as tshark reads them, checking that frames are
/// numbered 1, 2, ...
fn comments(file: &Path) -> Vec<Vec<String>> {
    tshark_fields(file, &["frame.number", comment_field()])
        .into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            assert_eq!(row[0], [(i + 1).to_string()]);
            row.pop().unwrap()
        })
        .collect()
}

/// The run's own account of itself, from its JSON Lines.
struct Account {
    calls: Vec<Value>,
    packets: Vec<Value>,
    map: Vec<Value>,
}

impl Account {
    fn of(lines: &[Value]) -> Account {
        let kind =
            |k: &str| -> Vec<Value> { lines.iter().filter(|l| l["kind"] == k).cloned().collect() };
        Account {
            calls: kind("call"),
            packets: kind("packet"),
            map: kind("map"),
        }
    }

    /// `client send #2`: the call's actor, op and number among that
    /// actor's calls of the op.
    fn name(&self, i: usize) -> String {
        let c = &self.calls[i];
        let n = self.calls[..=i]
            .iter()
            .filter(|o| o["actor"] == c["actor"] && o["op"] == c["op"])
            .count();
        format!(
            "{} {} #{n}",
            c["actor"].as_str().unwrap(),
            c["op"].as_str().unwrap()
        )
    }

    /// The last call of `ops` with the packet's source port as its local
    /// port (and its destination port as its peer's, if `peer`), started
    /// no later than the packet.
    fn cause(&self, packet: &Value, ops: &[&str], peer: bool) -> Option<String> {
        let (src, dst) = (port(&packet["src"]), port(&packet["dst"]));
        (0..self.calls.len())
            .filter(|&i| {
                let c = &self.calls[i];
                ops.iter().any(|op| c["op"] == *op)
                    && c["t_us"].as_u64() <= packet["t_us"].as_u64()
                    && c["local"].is_string()
                    && port(&c["local"]) == src
                    && (!peer || (c["peer"].is_string() && port(&c["peer"]) == dst))
            })
            .max_by_key(|&i| (self.calls[i]["t_us"].as_u64(), i))
            .map(|i| self.name(i))
    }
}

fn port(addr: &Value) -> u16 {
    let a = addr
        .as_str()
        .unwrap_or_else(|| panic!("an address: {addr}"));
    a.rsplit(':').next().unwrap().parse().unwrap()
}

fn range(v: &Value) -> Option<(u64, u64)> {
    Some((v.get(0)?.as_u64()?, v.get(1)?.as_u64()?))
}

/// A comment as expected: whole, or (a send's long preview) its start.
#[derive(Debug)]
enum Expect {
    Exact(String),
    Starts(String),
}

impl Expect {
    fn holds(&self, comment: &str) -> bool {
        match self {
            Expect::Exact(e) => comment == e,
            Expect::Starts(e) => comment.starts_with(e.as_str()),
        }
    }
}

/// What each packet's data comments must say, from the run's map rows:
/// for each send whose bytes a packet carries, `NAME [s, e) "bytes"`; then
/// for each receive that returned them, `read by NAME [s, e)`.
fn expected_data_notes(run: &Account) -> Vec<Vec<Expect>> {
    let mut out: Vec<Vec<Expect>> = run.packets.iter().map(|_| Vec::new()).collect();
    for sending in [true, false] {
        for row in &run.map {
            let i = row["call"].as_u64().unwrap() as usize;
            let call = &run.calls[i];
            let name = run.name(i);
            for j in row["packets"].as_array().unwrap() {
                let j = j.as_u64().unwrap() as usize;
                let packet = &run.packets[j];
                // The sender's socket is the packet's source.
                if (port(&call["local"]) == port(&packet["src"])) != sending {
                    continue;
                }
                let (bytes, whole) = match (range(&call["stream"]), range(&packet["stream"])) {
                    (Some(c), Some(p)) => {
                        let (s, e) = (c.0.max(p.0), c.1.min(p.1));
                        (format!("[{s}, {e})"), (s, e) == p)
                    }
                    _ => (
                        format!("{} B datagram", call["returned"].as_u64().unwrap()),
                        true,
                    ),
                };
                out[j].push(if !sending {
                    Expect::Exact(format!("read by {name} {bytes}"))
                } else if whole && packet["len"].as_u64().unwrap() <= 24 {
                    // A short packet all of this send's: its bytes whole,
                    // escaped as the JSON escapes them.
                    let data = packet["data"].as_str().unwrap();
                    Expect::Exact(format!("{name} {bytes} \"{data}\""))
                } else {
                    Expect::Starts(format!("{name} {bytes} \""))
                });
            }
        }
    }
    out
}

/// Whether a comment is about a control packet (SYN, FIN, RST).
fn is_control(comment: &str) -> bool {
    ["SYN (", "SYN,ACK (", "FIN (", "RST ("]
        .iter()
        .any(|p| comment.starts_with(p))
}

/// Checks every packet's comments in `file` against the run's account:
/// its data comments against the map, its SYN, SYN,ACK and FIN against
/// the calls that caused them.
fn check_against(file: &Path, run: &Account, context: &str) {
    let comments = comments(file);
    assert_eq!(
        comments.len(),
        run.packets.len(),
        "{context}: the file holds the run's packets"
    );
    let expected = expected_data_notes(run);
    let mut data_packets = 0;
    for (j, packet) in run.packets.iter().enumerate() {
        let mine = &comments[j];
        let data: Vec<&String> = mine.iter().filter(|c| !is_control(c)).collect();
        let want = &expected[j];
        assert_eq!(
            data.len(),
            want.len(),
            "{context}: packet {}: {mine:?}, expected {want:?}",
            j + 1
        );
        for (c, e) in data.iter().zip(want) {
            assert!(
                e.holds(c),
                "{context}: packet {}: {c:?} is not {e:?}",
                j + 1
            );
        }
        let carries = packet["len"].as_u64().unwrap_or(0) > 0;
        if carries {
            data_packets += 1;
            assert!(
                !data.is_empty(),
                "{context}: packet {} carries data and names no call",
                j + 1
            );
        }
        let control: Vec<&String> = mine.iter().filter(|c| is_control(c)).collect();
        let expect_control = match packet["flags"].as_str().unwrap_or_default() {
            "SYN" => run
                .cause(packet, &["connect"], false)
                .map(|c| format!("SYN ({c})")),
            "SYN,ACK" => run.cause(packet, &["listen"], false).map(|l| {
                let listen = l.split(' ').next().unwrap().to_string();
                format!("SYN,ACK ({listen}'s kernel, listening since {l})")
            }),
            f if f.contains("FIN") => Some(
                run.cause(packet, &["close", "shutdown"], true)
                    .map_or("FIN (no close or shutdown call seen)".into(), |c| {
                        format!("FIN ({c})")
                    }),
            ),
            _ => None,
        };
        if let Some(want) = expect_control {
            assert_eq!(control, [&want], "{context}: packet {}", j + 1);
        }
    }
    assert!(data_packets > 0, "{context}: no packet carried data");
}

/// The section's comment, as capinfos reads it (which also reads the
/// whole file, or fails).
fn capinfos(file: &Path) -> String {
    let out = Command::new("capinfos").arg(file).output().unwrap();
    assert!(out.status.success(), "capinfos: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn run_lab(dir: &Path, lab_id: &str, file: &Path) -> (Output, Vec<Value>) {
    let out = lab()
        .current_dir(dir)
        .args(["run", lab_id, "--json", "--pcapng"])
        .arg(file)
        .output()
        .unwrap();
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    (out, lines)
}

#[test]
fn each_packet_of_a_run_names_the_calls_the_runs_own_map_names() {
    if !ready("run --pcapng") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A sticky packet (two sends, one recv), datagrams, one send in many
    // segments read by several recvs, and a connection's FINs.
    for id in [
        "09-sticky-packet",
        "06-udp-echo",
        "12-segmentation",
        "04-client-disconnect",
    ] {
        let file = dir.path().join(format!("{id}.pcapng"));
        let (out, lines) = run_lab(dir.path(), id, &file);
        assert_eq!(out.status.code(), Some(0), "{id}: {out:?}");
        let summary = lines.last().unwrap();
        assert_eq!(summary["capture"], "on", "{id}: {summary}");
        check_against(&file, &Account::of(&lines), id);

        let info = capinfos(&file);
        let title = lines[0]["title"].as_str().unwrap();
        assert!(
            info.contains(&format!("lab {id}: {title}")),
            "the section comment names the lab: {info}"
        );
        assert!(
            info.contains(&format!("socket-lab {}", env!("CARGO_PKG_VERSION"))),
            "{info}"
        );
    }
    // Only the files asked for: no temporary file is left.
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "04-client-disconnect.pcapng",
            "06-udp-echo.pcapng",
            "09-sticky-packet.pcapng",
            "12-segmentation.pcapng"
        ]
    );
}

#[test]
fn lab_inspect_shows_the_comments_tshark_shows() {
    if !ready("inspect of a pcapng") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sticky.pcapng");
    let (out, lines) = run_lab(dir.path(), "09-sticky-packet", &file);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let inspected = lab()
        .arg("inspect")
        .arg(&file)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(inspected.status.code(), Some(0), "{inspected:?}");
    let read = json_lines(&String::from_utf8_lossy(&inspected.stdout));
    assert_eq!(read[0]["kind"], "file");
    let section = read[0]["comments"][0].as_str().unwrap();
    assert!(
        section.starts_with(&format!(
            "lab 09-sticky-packet: {}\n",
            lines[0]["title"].as_str().unwrap()
        )),
        "{section}"
    );
    let from_inspect: Vec<Vec<String>> = read
        .iter()
        .filter(|l| l["kind"] == "packet")
        .map(|p| match p.get("comments") {
            Some(c) => serde_json::from_value(c.clone()).unwrap(),
            None => Vec::new(),
        })
        .collect();
    assert_eq!(from_inspect, comments(&file));
    assert!(from_inspect.iter().any(|c| !c.is_empty()));
}

#[test]
fn a_pcapng_that_cannot_be_written_is_one_line_and_nothing_is_left() {
    // No capture needed to be refused: a folder, or a folder that is not
    // there, is refused before anything runs (or, without capture
    // privilege, because the capture is off).
    let dir = tempfile::tempdir().unwrap();
    for target in [
        dir.path().to_path_buf(),
        dir.path().join("missing/run.pcapng"),
    ] {
        let out = lab()
            .args(["run", "09-sticky-packet", "--pcapng"])
            .arg(&target)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.starts_with("lab: "), "{err}");
        assert!(out.stdout.is_empty(), "nothing ran");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `lab` running in the background, its standard output read a line at a
/// time.
struct Running {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    shown: String,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Running {
            child,
            lines,
            shown: String::new(),
        }
    }

    /// Waits (up to 20 s) for a line that contains `text`.
    fn wait_for(&mut self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(50)) {
                self.shown.push_str(&line);
                self.shown.push('\n');
                if line.contains(text) {
                    return true;
                }
            }
        }
        false
    }
}

#[test]
fn a_capture_names_each_data_packets_conversation_and_bytes_as_tshark_numbers_them() {
    if !ready("capture --pcapng") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("watch.pcapng");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_port = listener.local_addr().unwrap().port();
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = sink.local_addr().unwrap().port();
    let mut cmd = lab();
    cmd.args(["capture", "--port", &tcp_port.to_string()])
        .args(["--port", &udp_port.to_string(), "--pcapng"])
        .arg(&file);
    let mut run = Running::start(cmd);
    assert!(run.wait_for("Ctrl-C to stop"), "{}", run.shown);
    // Two connections, so that tcp.stream counts; each sends two pieces.
    for message in [&b"hello"[..], b"feng"] {
        use std::io::Read;
        let mut c = std::net::TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        c.write_all(message).unwrap();
        c.write_all(b"!").unwrap();
        drop(c);
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
    }
    // Then datagrams until the capture has shown one: every TCP packet
    // before it has been shown too (and so written).
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        sender.send_to(b"end", ("127.0.0.1", udp_port)).unwrap();
        if run.wait_for_quick("\"end\"") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no datagram shown: {}",
            run.shown
        );
    }
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(run.child.id() as i32, libc::SIGINT) };
    let status = run.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));

    let field = comment_field();
    let rows = tshark_fields(
        &file,
        &[
            "tcp.stream",
            "udp.stream",
            "ip.src",
            "ip.dst",
            "tcp.srcport",
            "tcp.dstport",
            "udp.srcport",
            "udp.dstport",
            "tcp.seq",
            "tcp.len",
            "udp.length",
            field,
        ],
    );
    let mut tcp_data = 0;
    let mut streams = std::collections::BTreeSet::new();
    for (n, row) in rows.iter().enumerate() {
        let one = |i: usize| row[i].first().cloned().unwrap_or_default();
        let comments = &row[11];
        let tcp_len: u64 = one(9).parse().unwrap_or(0);
        let expected = if !one(0).is_empty() && tcp_len > 0 {
            // tcp.seq is relative (1 = the first byte): offsets from 0.
            let s: u64 = one(8).parse::<u64>().unwrap() - 1;
            tcp_data += 1;
            streams.insert(one(0));
            Some(format!(
                "tcp.stream {}, {}:{} → {}:{}, [{s}, {}) \"",
                one(0),
                one(2),
                one(4),
                one(3),
                one(5),
                s + tcp_len
            ))
        } else if !one(1).is_empty() {
            let len: u64 = one(10).parse::<u64>().unwrap() - 8;
            Some(format!(
                "udp.stream {}, {}:{} → {}:{}, {len} B datagram \"end\"",
                one(1),
                one(2),
                one(6),
                one(3),
                one(7)
            ))
        } else {
            None
        };
        match expected {
            Some(e) => {
                assert_eq!(comments.len(), 1, "frame {}: {comments:?}", n + 1);
                assert!(
                    comments[0].starts_with(&e),
                    "frame {}: {:?} is not {e:?}…",
                    n + 1,
                    comments[0]
                );
            }
            None => assert!(comments.is_empty(), "frame {}: {comments:?}", n + 1),
        }
    }
    assert!(tcp_data >= 2, "{rows:?}");
    assert_eq!(streams.len(), 2, "two connections: {rows:?}");
    assert!(capinfos(&file).contains(&format!("lab capture --port {tcp_port}")));
}

impl Running {
    /// Waits a little for a line that contains `text`.
    fn wait_for_quick(&mut self, text: &str) -> bool {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(50)) {
            self.shown.push_str(&line);
            self.shown.push('\n');
            if line.contains(text) {
                return true;
            }
        }
        false
    }
}

/// The test programs' folder (see tests/trace.rs).
fn program(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn a_traced_programs_packets_name_its_calls_as_its_trace_map_does() {
    if !ready("trace --pcapng") {
        return;
    }
    if Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_err()
    {
        skip("trace --pcapng", "python3 is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("trace.pcapng");
    let trace = dir.path().join("trace.jsonl");
    let script = format!(
        "python3 {} port & python3 {} port; wait",
        program("sticky_server.py"),
        program("sticky_client.py")
    );
    let out = lab()
        .current_dir(dir.path())
        .args(["trace", "--json", "-o"])
        .arg(&trace)
        .arg("--pcapng")
        .arg(&file)
        .args(["--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json_lines(&std::fs::read_to_string(&trace).unwrap());
    let summary = lines.last().unwrap();
    assert_eq!(summary["capture"], "on", "{summary}");
    let run = Account::of(&lines);
    check_against(&file, &run, "trace");
    // The client's two sends ride in their own packets or together, and
    // the comments say which, by the names the trace gives them.
    let all: Vec<String> = comments(&file).concat();
    assert!(
        all.iter()
            .any(|c| c.starts_with("python3[") && c.contains(" send #1 [0, 5) \"hello")),
        "{all:?}"
    );
    let info = capinfos(&file);
    assert!(info.contains("lab trace -- sh -c"), "{info}");
    let actor = run.calls[0]["actor"].as_str().unwrap();
    assert!(info.contains(actor), "the actors are named: {info}");
}

/// The fenced blocks of a page: (info string, lines).
fn fenced(page: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for line in page.lines() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(info), None) => open = Some((info.to_string(), Vec::new())),
            (Some(_), Some(block)) => out.push(block),
            (None, Some(mut block)) => {
                block.1.push(line.to_string());
                open = Some(block);
            }
            (None, None) => {}
        }
    }
    out
}

#[test]
fn the_books_wireshark_commands_print_what_the_book_shows() {
    if !ready("the book's --pcapng commands") {
        return;
    }
    // book/src/introduction.md shows two commands and lines of what the
    // second prints: run them as written (`lab` being this build), and
    // every line shown must be a line tshark printed.
    if comment_field() != "frame.comment" {
        // The page says so: an older tshark names the field pkt_comment.
        skip(
            "the book's --pcapng commands",
            "this tshark is older than 3.6",
        );
        return;
    }
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/introduction.md"),
    )
    .unwrap();
    let blocks = fenced(&page);
    let at = blocks
        .iter()
        .position(|(info, lines)| info == "sh" && lines.iter().any(|l| l.contains("--pcapng")))
        .expect("introduction.md shows a --pcapng command");
    let commands = &blocks[at].1;
    let (info, shown) = &blocks[at + 1];
    assert_eq!(info, "text", "the commands' output follows them");
    assert_eq!(commands.len(), 2, "{commands:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut printed = String::new();
    for command in commands {
        let words: Vec<&str> = command.split_whitespace().collect();
        let mut cmd = match words[0] {
            "lab" => lab(),
            program => Command::new(program),
        };
        let out = cmd
            .args(&words[1..])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "`{command}`: {out:?}");
        printed = String::from_utf8(out.stdout).unwrap();
    }
    let printed: Vec<&str> = printed.lines().collect();
    assert!(shown.len() >= 3, "{shown:?}");
    for line in shown {
        assert!(
            printed.contains(&line.as_str()),
            "introduction.md shows {line:?}, which tshark did not print:\n{printed:#?}"
        );
    }
}

#[test]
fn the_trace_chapters_pcapng_comments_are_what_a_trace_writes() {
    if !ready("the trace chapter's --pcapng") {
        return;
    }
    // book/src/trace.md: the packet that carries `hello` names the send
    // of the program and the recv of its server thread.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let chapter = std::fs::read_to_string(root.join("trace.md")).unwrap();
    assert!(chapter.contains("`python3[PID] send #1 [0, 5) \"hello\"`"));
    assert!(chapter.contains("`read by python3[PID/TID] recv #1 [0, 5)`"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.pcapng");
    let out = lab()
        .args(["trace", "-o"])
        .arg(dir.path().join("trace.txt"))
        .arg("--pcapng")
        .arg(&file)
        .args(["--", "python3"])
        .arg(root.join("examples/trace_sticky.py"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let all = comments(&file);
    let hello = all
        .iter()
        .find(|c| c.iter().any(|n| n.contains("send #1 [0, 5) \"hello\"")))
        .unwrap_or_else(|| panic!("no packet names the hello send: {all:?}"));
    let (send, read) = (&hello[0], &hello[1]);
    // python3[PID] send #1 ..., then read by python3[PID/TID] recv #1 ...
    let pid = send
        .strip_prefix("python3[")
        .and_then(|s| s.split_once("] send #1 [0, 5) \"hello\""))
        .map(|(pid, _)| pid)
        .unwrap_or_else(|| panic!("{send:?}"));
    assert!(pid.parse::<u32>().is_ok(), "{send:?}");
    let thread = read
        .strip_prefix(&format!("read by python3[{pid}/"))
        .and_then(|s| s.strip_suffix("] recv #1 [0, 5)"))
        .unwrap_or_else(|| panic!("{read:?}"));
    assert!(thread.parse::<u32>().is_ok(), "{read:?}");
}
