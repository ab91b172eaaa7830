//! `--filter` on the real kernel: a capture of TCP and UDP over IPv4 and
//! IPv6 on `lo`, where `lab inspect --filter X` must pick exactly the
//! frames `tshark -Y X` picks; `lab capture --filter` on live traffic; and
//! bad filters, which are one line of bad input. As root the capture tests
//! run; without CAP_NET_RAW they print why they skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod common;
use common::{lab, privileged, skip};

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("socket-lab-filter-{}-{name}", std::process::id()))
}

/// `lab capture` on `ports`, once it says its capture is open (its first
/// line): what is sent from now on is seen.
fn start_capture(ports: &[u16], extra: &[&str]) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut args = vec!["capture".to_string(), "--color=never".into()];
    for p in ports {
        args.extend(["--port".into(), p.to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lab capture");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("capturing"), "first line: {line}");
    (child, out)
}

/// Stops a capture as Ctrl-C does; returns the rest of its output.
fn stop_capture(mut child: Child, mut out: BufReader<std::process::ChildStdout>) -> String {
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    child.wait().unwrap();
    rest
}

/// One TCP connection: the client sends each of `sends` (the server reads
/// each before the next, so that each is its own segment), the server
/// answers "ok"; the client ends with FIN, or with RST when `reset`.
fn connection(listener: &TcpListener, sends: &[&[u8]], reset: bool) {
    let mut c = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    for data in sends {
        c.write_all(data).unwrap();
        let mut got = vec![0; data.len()];
        s.read_exact(&mut got).unwrap();
    }
    s.write_all(b"ok").unwrap();
    let mut ok = [0; 2];
    c.read_exact(&mut ok).unwrap();
    if reset {
        socket2::SockRef::from(&c)
            .set_linger(Some(std::time::Duration::ZERO))
            .unwrap();
        drop(c);
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    } else {
        c.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        drop(s);
        c.read_to_end(&mut rest).unwrap();
    }
}

/// Datagrams from a new socket to `to`, each answered with "pong".
fn datagrams(to: &UdpSocket, any: &str, sends: &[&[u8]]) {
    let from = UdpSocket::bind(any).unwrap();
    let mut buf = [0; 2048];
    for data in sends {
        from.send_to(data, to.local_addr().unwrap()).unwrap();
        let (_, peer) = to.recv_from(&mut buf).unwrap();
        to.send_to(b"pong", peer).unwrap();
        from.recv_from(&mut buf).unwrap();
    }
}

/// The capture every comparison reads: four TCP connections (IPv4, IPv6,
/// one reset, one of 100 kB), UDP both ways over IPv4 and IPv6 (one
/// datagram empty). Returns the file and the ports.
fn make_capture(name: &str) -> (PathBuf, [u16; 4]) {
    let l4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let l6 = TcpListener::bind("[::1]:0").unwrap();
    let u4 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let u6 = UdpSocket::bind("[::1]:0").unwrap();
    let ports = [
        l4.local_addr().unwrap().port(),
        l6.local_addr().unwrap().port(),
        u4.local_addr().unwrap().port(),
        u6.local_addr().unwrap().port(),
    ];
    let path = temp(name);
    let (child, out) = start_capture(&ports, &["--pcap", path.to_str().unwrap()]);
    connection(&l4, &[b"hello", b"feng"], false); // tcp.stream 0
    connection(&l6, &[b"sixfeng"], false); // 1
    connection(&l4, &[b"bye"], true); // 2
    connection(&l4, &[&vec![b'x'; 100_000]], false); // 3
    datagrams(&u4, "127.0.0.1:0", &[b"x", &[b'a'; 40]]); // udp.stream 0
    datagrams(&u6, "[::1]:0", &[b"", b"fe"]); // 1
    let rest = stop_capture(child, out);
    assert!(rest.contains("packets written"), "{rest}");
    (path, ports)
}

/// The frame numbers `lab inspect --filter` shows, from its JSON.
fn ours(path: &Path, filter: &str) -> Vec<u64> {
    let out = lab(&[
        "inspect",
        path.to_str().unwrap(),
        "--json",
        "--filter",
        filter,
    ]);
    assert!(
        out.status.success(),
        "{filter}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|l| l["kind"] == "packet")
        .map(|l| l["frame"].as_u64().expect("a packet has its frame number"))
        .collect()
}

/// The frame numbers `tshark -Y` picks, or `None` without tshark.
fn theirs(path: &Path, filter: &str) -> Option<Vec<u64>> {
    let out = Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-Y", filter])
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "tshark -Y {filter}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().parse().expect("a frame number"))
            .collect(),
    )
}

#[test]
fn inspect_filter_picks_the_frames_tshark_picks() {
    if !privileged("filter_against_tshark") {
        return;
    }
    let (path, [l4, l6, u4, u6]) = make_capture("against-tshark.pcap");
    let filters = [
        format!("tcp.port == {l4} && tcp.len > 0"),
        "udp".into(),
        "tcp".into(),
        "tcp.flags.syn == 1".into(),
        "tcp.stream == 2".into(),
        "ip.addr == 127.0.0.1".into(),
        format!("!(tcp.port == {l4})"),
        "tcp.len >= 4 and not udp".into(),
        "frame.number in {1, 3, 5}".into(),
        "frame.number in {2..6, 9}".into(),
        "tcp.flags.fin == 1 || tcp.flags.reset == 1".into(),
        "ipv6".into(),
        "udp.length > 20".into(),
        "frame.len < 70".into(),
        format!("tcp.srcport == {l4}"),
        format!("tcp.dstport eq {l6}"),
        "tcp.seq == 1".into(),
        "tcp.seq > 50000 and tcp.stream == 3".into(),
        "tcp.ack".into(),
        "tcp.ack == 1".into(),
        "tcp.window_size > 60000".into(),
        "tcp.window_size_value < 1000".into(),
        "ip.src == 127.0.0.1".into(),
        "ip.dst".into(),
        "ipv6.addr == ::1".into(),
        "ipv6.src == ::1 && udp".into(),
        "ip.addr == 127.0.0.0/8".into(),
        "udp.stream == 0".into(),
        "udp.stream == 1".into(),
        r#"tcp.payload contains "feng""#.into(),
        "tcp.payload contains 66:65".into(),
        "udp.payload".into(),
        "tcp.flags.push".into(),
        "tcp.flags.push == 1".into(),
        format!("tcp.port != {l4}"),
        format!("udp.port != {u4}"),
        format!("udp.dstport == {u6}"),
        "tcp.stream in {0, 3} && tcp.len > 1000".into(),
        "tcp.flags == 0x012".into(),
        "tcp.hdr_len > 20".into(),
        "ip.proto == 17 || ipv6.hlim == 64".into(),
        "tcp.len eq 0 and tcp.flags.ack == 1 and not tcp.flags.fin == 1".into(),
        "frame.number >= 10 && frame.number < 0x14".into(),
    ];
    let mut compared = 0;
    let mut partial = 0;
    let all = ours(&path, "frame").len();
    assert!(all > 30, "the capture holds {all} frames");
    for filter in &filters {
        let mine = ours(&path, filter);
        assert!(!mine.is_empty(), "{filter} matched nothing here");
        partial += usize::from(mine.len() < all);
        if let Some(t) = theirs(&path, filter) {
            assert_eq!(mine, t, "--filter '{filter}' against tshark -Y");
            compared += 1;
        }
    }
    // Most filters pick some frames and leave others: a filter stage that
    // passed everything, or nothing, would fail above or here.
    assert!(
        partial >= filters.len() - 3,
        "{partial} of {}",
        filters.len()
    );
    if compared == 0 {
        skip(
            "filter_against_tshark",
            "tshark is not installed: filters compared with nothing",
        );
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn numbers_count_every_packet_whatever_the_filter_leaves_out() {
    if !privileged("filter_numbers") {
        return;
    }
    let (path, _) = make_capture("numbers.pcap");
    let file = path.to_str().unwrap();
    // tcp.stream 2 is the third connection (the reset one), not the third
    // of those the filter leaves.
    let out = lab(&[
        "inspect",
        file,
        "--json",
        "--filter",
        "tcp.stream == 2 && tcp.len > 0",
    ]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let data: Vec<&serde_json::Value> = lines.iter().filter(|l| l["kind"] == "packet").collect();
    assert_eq!(data.len(), 2, "bye and ok: {lines:?}");
    assert_eq!(data[0]["data"], "bye");
    // Relative numbers count from the SYN the filter left out.
    assert_eq!((&data[0]["seq"], &data[1]["seq"]), (&1.into(), &1.into()));
    // --stream is the same filter.
    let stream = lab(&["inspect", file, "--json", "--stream", "2"]);
    let all = lab(&["inspect", file, "--json", "--filter", "tcp.stream == 2"]);
    assert_eq!(stream.stdout, all.stdout);
    // --stats counts only the matching packets, under the file's numbers.
    let out = lab(&[
        "inspect",
        file,
        "--stats",
        "--json",
        "--filter",
        "tcp.stream == 2 || udp.stream == 1",
    ]);
    let convs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let named: Vec<(String, u64)> = convs
        .iter()
        .map(|c| {
            (
                c["proto"].as_str().unwrap().to_string(),
                c["stream"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(named, [("tcp".to_string(), 2), ("udp".to_string(), 1)]);
    // --detail shows the matching packets, with their own numbers.
    let out = lab(&[
        "inspect",
        file,
        "--color=never",
        "--detail",
        "all",
        "--filter",
        "frame.number in {4, 7}",
    ]);
    let s = String::from_utf8_lossy(&out.stdout);
    let titles: Vec<&str> = s.lines().filter(|l| l.starts_with("── packet")).collect();
    assert_eq!(titles.len(), 2, "{s}");
    assert!(titles[0].starts_with("── packet #4 ") && titles[1].starts_with("── packet #7 "));
    // A packet the filter leaves out is not shown in detail either.
    let out = lab(&["inspect", file, "--detail", "1", "--filter", "tcp.len > 0"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!("lab: packet 1 of {file} does not match --filter")
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn capture_filter_shows_and_writes_only_matching_packets() {
    if !privileged("capture_filter") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let path = temp("live.pcap");
    let (child, out) = start_capture(
        &[port],
        &["--filter", "tcp.len > 0", "--pcap", path.to_str().unwrap()],
    );
    connection(&listener, &[b"hello", b"feng"], false);
    let rest = stop_capture(child, out);
    // Three segments carry data (hello, feng, ok): the handshake's three
    // packets came first, so none of them is numbered below 4.
    let rows: Vec<&str> = rest.lines().filter(|l| l.contains('#')).collect();
    assert_eq!(rows.len(), 3, "{rest}");
    for row in &rows {
        let n: u64 = row
            .split('#')
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a frame number in {row}"));
        assert!(n >= 4, "{row}");
    }
    assert!(rest.contains("\"hello│feng\""), "{rest}");
    assert!(rest.contains("3 packets written"), "{rest}");
    // The file holds those three only.
    let out = lab(&["inspect", path.to_str().unwrap(), "--json"]);
    let lens: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["kind"] == "packet")
        .map(|l| l["len"].as_u64().unwrap())
        .collect();
    assert_eq!(lens, [5, 4, 2]);
    let _ = std::fs::remove_file(&path);
}

/// A bad filter is one line of bad input (exit 2), before anything is
/// read, captured or written.
#[test]
fn a_bad_filter_is_one_line_and_nothing_is_written() {
    let pcap = temp("never-written.pcap");
    let pcap = pcap.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["inspect", "no-such.pcap", "--filter", "tcp.port == "],
            "lab: --filter: column 13: expected a value after '==', found end of filter",
        ),
        (
            &["inspect", "no-such.pcap", "--filter", "tcp.prot == 80"],
            "lab: --filter: column 1: unknown field `tcp.prot`; did you mean `tcp.port`?",
        ),
        (
            &[
                "capture",
                "--port",
                "9",
                "--pcap",
                pcap,
                "--filter",
                "tcp.analysis.ack_rtt",
            ],
            "lab: --filter: column 1: `tcp.analysis.ack_rtt` is a Wireshark field that lab does not support yet",
        ),
        (
            &[
                "capture",
                "--port",
                "9",
                "--pcap",
                pcap,
                "--filter",
                "ip.addr == \"x\"",
            ],
            "lab: --filter: column 12: `\"x\"` is not a value for ip.addr (an IPv4 address): a string compares only with byte fields; write an address such as 127.0.0.1 or a network such as 10.0.0.0/8",
        ),
    ];
    for (args, expected) in cases {
        let out = lab(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end(), expected, "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!Path::new(pcap).exists(), "{args:?} wrote {pcap}");
    }
}

/// The commands the book's introduction shows for `--filter`, as the
/// page writes them.
fn book_commands() -> Vec<String> {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/introduction.md");
    let text = std::fs::read_to_string(page).unwrap();
    let (_, after) = text
        .split_once("<!-- tests/filter.rs runs these commands")
        .expect("the introduction marks its --filter commands");
    let block = after
        .split_once("```sh\n")
        .and_then(|(_, b)| b.split_once("```"))
        .expect("a sh block after the mark")
        .0;
    block.lines().map(str::to_string).collect()
}

#[test]
fn the_books_filter_commands_run_and_pick_packets() {
    if !privileged("filter_book_commands") {
        return;
    }
    let commands = book_commands();
    assert!(commands.len() >= 3, "{commands:?}");
    let dir = temp("book");
    std::fs::create_dir_all(&dir).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_lab")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut all_rows = None;
    for command in &commands {
        assert!(command.starts_with("lab "), "{command}");
        let out = Command::new("sh")
            .args(["-c", &format!("{command} --color=never")])
            .current_dir(&dir)
            .env("PATH", &path)
            .env_remove("HOME")
            .env_remove("XDG_STATE_HOME")
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if !command.contains("--filter") {
            continue;
        }
        // Each filter picks some packets of the run and leaves others.
        let all = *all_rows.get_or_insert_with(|| {
            let out = lab(&[
                "inspect",
                dir.join("sticky.pcap").to_str().unwrap(),
                "--json",
            ]);
            String::from_utf8_lossy(&out.stdout)
                .matches("\"kind\":\"packet\"")
                .count()
        });
        let picked = s.matches("\"kind\":\"packet\"").count()
            + s.lines()
                .filter(|l| l.contains(" #") || l.starts_with("── packet #"))
                .count();
        assert!(
            picked > 0 && picked < all,
            "{command}: {picked} of {all}\n{s}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
