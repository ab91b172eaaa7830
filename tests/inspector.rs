//! The packet inspector on the real kernel: what `lab run` captures, the
//! pcap files it writes, `lab capture` and `lab inspect`. As root these
//! run; without CAP_NET_RAW each test prints why it skips.

use std::process::Command;

use socket_lab::app::{CaptureMode, Files, execute};
use socket_lab::catalog;
use socket_lab::wire::TcpFlags;

mod common;
use common::{lab, privileged, skip};

/// Every line of a `--json` output, parsed (each must be JSON).
fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "socket-lab-inspector-{}-{name}",
        std::process::id()
    ))
}

#[test]
fn sticky_packet_capture_shows_handshake_data_and_teardown_once_each() {
    if !privileged("sticky_packet_capture") {
        return;
    }
    let labs = catalog::builtin().unwrap();
    let lab = catalog::find(&labs, "09").unwrap();
    let knobs = lab.knob_values(&[]).unwrap();
    let done = execute(
        lab,
        &knobs,
        &CaptureMode::detect(true),
        Files::default(),
        |_| Ok(()),
    )
    .unwrap();
    let tcp: Vec<_> = done
        .packets
        .iter()
        .filter_map(|p| p.frame.as_ref().ok()?.tcp().cloned())
        .collect();
    let count = |f: TcpFlags| tcp.iter().filter(|t| t.flags.contains(f)).count();
    // Exactly one SYN and one SYN-ACK: a capture that sees lo's packets twice
    // (outgoing and incoming copy) would show two of each.
    assert_eq!(
        tcp.iter()
            .filter(|t| t.flags.contains(TcpFlags::SYN))
            .count(),
        2,
        "SYN + SYN-ACK"
    );
    assert_eq!(count(TcpFlags::FIN), 2, "one FIN from each side");
    let data: usize = tcp.iter().map(|t| t.payload_len).sum();
    assert_eq!(data, 9, "hello + feng, each byte once");
    // The data segments' stream offsets cover [0, 9) in the calls' terms.
    let ranges: Vec<_> = done.packets.iter().filter_map(|p| p.info.stream).collect();
    assert_eq!(ranges.first().map(|r| r.0), Some(0));
    assert_eq!(ranges.last().map(|r| r.1), Some(9));
    // Timeline order: the SYN before the connect() returned, the last ACK
    // before the capture ended, stamps never decreasing.
    let t: Vec<u64> = done.packets.iter().map(|p| p.t_us).collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "{t:?}");
    let connect = done.calls.iter().find(|c| c.op == "connect").unwrap();
    assert!(t[0] <= connect.t_us + connect.waited_us);
    // The recv's bytes came from both sends.
    let recv = done.calls.iter().position(|c| c.op == "recv").unwrap();
    let entry = done.map.iter().find(|m| m.call == recv).unwrap();
    assert_eq!(entry.sources.len(), 2, "{entry:?}");
    assert!(done.passed(), "{:?}", done.verdicts);
}

#[test]
fn udp_fragments_map_to_their_send() {
    if !privileged("udp_fragments") {
        return;
    }
    let labs = catalog::builtin().unwrap();
    let lab = catalog::find(&labs, "10").unwrap();
    // 65507 B over lo (MTU 65536) fits one packet; the datagram map holds.
    let knobs = lab
        .knob_values(&["big=65507".into(), "buf=65507".into()])
        .unwrap();
    let done = execute(
        lab,
        &knobs,
        &CaptureMode::detect(true),
        Files::default(),
        |_| Ok(()),
    )
    .unwrap();
    let udp: Vec<_> = done
        .packets
        .iter()
        .filter_map(|p| p.frame.as_ref().ok()?.udp().cloned())
        .collect();
    assert_eq!(
        udp.len(),
        4,
        "three small datagrams and the big one, each once"
    );
    let big = udp
        .iter()
        .find(|u| u.length as usize == 65507 + 8)
        .expect("the largest datagram, whole");
    assert_eq!(big.payload.len(), 65507, "no truncation");
    assert!(done.passed(), "{:?}", done.verdicts);
}

#[test]
fn json_packet_and_map_lines_join_the_calls() {
    if !privileged("json_packet_and_map_lines") {
        return;
    }
    let out = lab(&["run", "09", "--json"]);
    assert!(out.status.success());
    let lines = json_lines(&out.stdout);
    let calls: Vec<_> = lines.iter().filter(|l| l["kind"] == "call").collect();
    let packets: Vec<_> = lines.iter().filter(|l| l["kind"] == "packet").collect();
    let syn = packets
        .iter()
        .find(|p| p["flags"] == "SYN")
        .expect("a SYN line");
    assert_eq!(
        (syn["proto"].as_str(), syn["seq"].as_u64()),
        (Some("tcp"), Some(0))
    );
    let hello = packets
        .iter()
        .find(|p| p["data"] == "hello")
        .expect("hello's segment");
    assert_eq!(hello["stream"], serde_json::json!([0, 5]));
    assert_eq!(hello["len"], 5);
    let send = calls.iter().position(|c| c["op"] == "send").unwrap();
    let map = lines
        .iter()
        .find(|l| l["kind"] == "map" && l["call"] == send)
        .expect("map line for send #1");
    let j = map["packets"][0].as_u64().unwrap() as usize;
    assert_eq!(
        packets[j]["data"], "hello",
        "map indices point at packet lines"
    );
    let summary = lines.last().unwrap();
    assert_eq!(summary["capture"], "on");
    assert_eq!(summary["dropped"], 0);
    assert_eq!(summary["truncated"], 0);
    assert_eq!(summary["packets"].as_u64(), Some(packets.len() as u64));
}

#[test]
fn pcap_written_by_run_reads_back_in_tshark_and_inspect() {
    if !privileged("pcap_round_trip") {
        return;
    }
    let path = temp("09.pcap");
    let out = lab(&["run", "09", "--json", "--pcap", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = json_lines(&out.stdout);
    let packets: Vec<_> = ours.iter().filter(|l| l["kind"] == "packet").collect();
    let payload: u64 = packets.iter().filter_map(|p| p["len"].as_u64()).sum();

    // lab inspect shows the same packets.
    let inspected = lab(&["inspect", path.to_str().unwrap(), "--json"]);
    let lines = json_lines(&inspected.stdout);
    let again: Vec<_> = lines.iter().filter(|l| l["kind"] == "packet").collect();
    assert_eq!(again.len(), packets.len());
    let stream = lines
        .iter()
        .find(|l| l["kind"] == "stream" && l["bytes"] == 9)
        .expect("the client's stream");
    assert_eq!(stream["data"], "hellofeng");

    match Command::new("tshark")
        .args([
            "-r",
            path.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "tcp.len",
        ])
        .output()
    {
        Ok(t) if t.status.success() => {
            let lens: Vec<u64> = String::from_utf8_lossy(&t.stdout)
                .lines()
                .map(|l| l.trim().parse().unwrap_or(0))
                .collect();
            assert_eq!(lens.len(), packets.len(), "tshark counts the same packets");
            assert_eq!(
                lens.iter().sum::<u64>(),
                payload,
                "and the same TCP payload"
            );
        }
        _ => skip(
            "pcap_round_trip (tshark check)",
            "tshark is not installed (apt-get install tshark)",
        ),
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn capture_watches_a_programs_port_and_reassembles_its_stream() {
    if !privileged("lab_capture") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args([
            "capture",
            "--port",
            &port.to_string(),
            "--seconds",
            "1.5",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        c.write_all(b"hello").unwrap();
        c.write_all(b"feng").unwrap();
        drop(c);
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hellofeng");
    }
    let out = child.wait_with_output().unwrap();
    let lines = json_lines(&out.stdout);
    let stream = lines
        .iter()
        .find(|l| l["kind"] == "stream" && l["bytes"] == 9)
        .expect("client stream");
    assert_eq!(stream["data"], "hellofeng");
    let summary = lines.last().unwrap();
    assert_eq!(summary["kind"], "summary");
    assert_eq!(summary["dropped"], 0);
}

#[test]
fn capture_without_privilege_says_how_to_get_it() {
    // As root, drop CAP_NET_RAW for the child to see the user's view.
    let Ok(out) = Command::new("capsh")
        .args([
            "--drop=cap_net_raw",
            "--",
            "-c",
            &format!("{} capture --port 9", env!("CARGO_BIN_EXE_lab")),
        ])
        .output()
    else {
        skip("capture_without_privilege", "capsh is not installed");
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if !err.contains("lab:") {
        skip(
            "capture_without_privilege",
            &format!("capsh could not drop the capability here ({err})"),
        );
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("CAP_NET_RAW") && err.contains("setcap cap_net_raw+ep"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1);

    // lab run still runs the lab, without the wire view, and says why.
    let out = Command::new("capsh")
        .args([
            "--drop=cap_net_raw",
            "--",
            "-c",
            &format!("{} run 09 --color=never", env!("CARGO_BIN_EXE_lab")),
        ])
        .env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}");
    assert!(s.contains("capture off:") && s.contains("hellofeng"), "{s}");
}

#[test]
fn inspect_reads_a_tcpdump_capture() {
    if !privileged("inspect_tcpdump") {
        return;
    }
    let Ok(probe) = Command::new("tcpdump").arg("--version").output() else {
        skip(
            "inspect_tcpdump",
            "tcpdump is not installed (apt-get install tcpdump)",
        );
        return;
    };
    assert!(probe.status.success());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let path = temp("tcpdump.pcap");
    let mut dump = Command::new("tcpdump")
        // Immediate mode: without it, packets still in tcpdump's ring when
        // SIGINT arrives never reach the file.
        .args([
            "-i",
            "lo",
            "--immediate-mode",
            "-U",
            "-w",
            path.to_str().unwrap(),
            "tcp",
            "port",
            &port.to_string(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // tcpdump says "listening on lo" once its capture is open.
    {
        use std::io::{BufRead, BufReader};
        let mut err = BufReader::new(dump.stderr.take().unwrap());
        let mut line = String::new();
        while err.read_line(&mut line).unwrap() > 0 && !line.contains("listening") {
            line.clear();
        }
    }
    {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        c.write_all(b"ping").unwrap();
        drop(c);
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SIGINT lets tcpdump flush and close the file.
    unsafe { libc::kill(dump.id() as i32, libc::SIGINT) };
    dump.wait().unwrap();
    let out = lab(&["inspect", path.to_str().unwrap(), "--color=never"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("SYN") && s.contains("\"ping\""), "{s}");
    assert!(
        s.contains(&format!("→ 127.0.0.1:{port}: 4 B in 1 segment")),
        "{s}"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_hole_is_claimed_only_where_bytes_are_missing() {
    // Every stream over 4 KB was once marked "a hole: the capture started
    // late or missed a segment", though nothing was missing.
    if !privileged("a_hole_is_claimed") {
        return;
    }
    use socket_lab::pcap::{PcapWriter, read_pcap};
    use socket_lab::trace::Packet;
    let whole = temp("hole-whole.pcap");
    let out = lab(&["run", "12", "--pcap", whole.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let inspect = |path: &std::path::Path| {
        let out = lab(&["inspect", "--color", "never", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = inspect(&whole);
    assert!(
        shown.contains("more bytes"),
        "a stream longer than shown: {shown}"
    );
    assert!(!shown.contains("a hole"), "{shown}");

    // The same capture without its third data segment.
    let file = read_pcap(&whole).unwrap();
    let data: Vec<usize> = file
        .frames
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            let p = Packet::decode(f.t_us, f.data.clone(), f.orig_len);
            p.frame
                .ok()
                .and_then(|fr| fr.tcp().map(|t| t.payload_len > 0))
                .unwrap_or(false)
        })
        .map(|(i, _)| i)
        .collect();
    assert!(data.len() > 3, "lab 12 sends many segments");
    let cut = temp("hole-cut.pcap");
    let mut w = PcapWriter::create_at(&cut, file.start).unwrap();
    for (i, f) in file.frames.iter().enumerate() {
        if i != data[2] {
            w.write(f).unwrap();
        }
    }
    w.finish().unwrap();
    let shown = inspect(&cut);
    assert!(shown.contains("(a hole: "), "{shown}");
    let _ = std::fs::remove_file(&whole);
    let _ = std::fs::remove_file(&cut);
}

#[test]
fn a_long_streak_of_packets_folds_into_one_line() {
    // Lab 13 once printed 1,925 lines, 1,816 of them packet rows of its
    // benchmark (whose calls are counted, not shown one by one).
    if !privileged("a_long_streak_of_packets_folds") {
        return;
    }
    let out = lab(&["run", "13", "--color", "never"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() < 400, "{} lines", text.lines().count());
    assert!(text.contains(" more packets (all in --json"), "{text}");
    // A short exchange is shown whole.
    let out = lab(&["run", "09", "--color", "never"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(" more packets (all"));
}

/// `--detail`: each packet layer by layer. Its checksum verdicts are
/// tshark's (`ip.checksum.status`, `tcp.checksum.status`, 1 good and 0
/// bad, with checking turned on), packet by packet.
#[test]
fn detail_checks_checksums_as_tshark_does_and_explains_each_option() {
    if !privileged("detail_checks_checksums") {
        return;
    }
    let pcap = temp("detail.pcap");
    let out = lab(&["run", "09", "--pcap", pcap.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = lab(&[
        "inspect",
        pcap.to_str().unwrap(),
        "--detail",
        "all",
        "--color=never",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // Our verdicts, one (ip, tcp) pair per packet.
    let mut ours = Vec::new();
    for packet in text.split("── packet #").skip(1) {
        let verdict = |field: &str| {
            let line = packet
                .lines()
                .find(|l| l.trim_start().starts_with(field))
                .unwrap_or_else(|| panic!("no {field} in:\n{packet}"));
            u8::from(line.contains(": correct"))
        };
        ours.push((verdict("header checksum"), verdict("checksum ")));
    }
    // The SYN's options, each with what it is for.
    assert!(text.contains("mss=65495: maximum segment size"), "{text}");
    assert!(
        text.contains("ws=") && text.contains("window scale:"),
        "{text}"
    );
    assert!(text.contains("sackOK: SACK permitted"), "{text}");
    let out = lab(&["inspect", pcap.to_str().unwrap(), "--detail", "999"]);
    assert_eq!(out.status.code(), Some(2));
    let tshark = Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap()])
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
        ])
        .args([
            "-T",
            "fields",
            "-e",
            "ip.checksum.status",
            "-e",
            "tcp.checksum.status",
        ])
        .output();
    let _ = std::fs::remove_file(&pcap);
    let Some(tshark) = tshark.ok().filter(|o| o.status.success()) else {
        skip(
            "detail_checks_checksums",
            "tshark is not installed: compared with nothing",
        );
        return;
    };
    let theirs: Vec<(u8, u8)> = String::from_utf8_lossy(&tshark.stdout)
        .lines()
        .map(|l| {
            let mut f = l.split('\t').map(|v| v.trim().parse::<u8>().unwrap());
            (f.next().unwrap(), f.next().unwrap())
        })
        .collect();
    assert_eq!(ours, theirs);
    // On lo, data segments carry the offloaded (unfinished) checksum.
    assert!(ours.iter().any(|&(_, tcp)| tcp == 0), "{ours:?}");
}

/// `--stream N` follows Wireshark's `tcp.stream` (and `udp:N` its
/// `udp.stream`); `--stats` sums each conversation up.
#[test]
fn streams_are_numbered_as_wireshark_numbers_them() {
    if !privileged("streams_are_numbered") {
        return;
    }
    let mut checked = 0;
    for (id, kind) in [("18", "tcp"), ("07", "udp")] {
        let pcap = temp(&format!("streams-{id}.pcap"));
        let path = pcap.to_str().unwrap();
        assert!(lab(&["run", id, "--pcap", path]).status.success());
        let stats = json_lines(&lab(&["inspect", path, "--stats", "--json"]).stdout);
        let convs: Vec<&serde_json::Value> = stats.iter().filter(|c| c["proto"] == kind).collect();
        assert!(convs.len() >= 2, "lab {id}: {stats:?}");
        let tshark = Command::new("tshark")
            .args(["-r", path, "-T", "fields", "-e", &format!("{kind}.stream")])
            .output()
            .ok()
            .filter(|o| o.status.success());
        for c in &convs {
            let n = c["stream"].as_u64().unwrap();
            let total = c["packets"][0].as_u64().unwrap() + c["packets"][1].as_u64().unwrap();
            let ours = json_lines(
                &lab(&[
                    "inspect",
                    path,
                    "--json",
                    "--stream",
                    &format!("{kind}:{n}"),
                ])
                .stdout,
            )
            .iter()
            .filter(|l| l["kind"] == "packet")
            .count() as u64;
            assert_eq!(ours, total, "lab {id} {kind}:{n}");
            if let Some(t) = &tshark {
                let theirs = String::from_utf8_lossy(&t.stdout)
                    .lines()
                    .filter(|l| l.trim() == n.to_string())
                    .count() as u64;
                assert_eq!(ours, theirs, "lab {id} {kind}:{n} against tshark");
                checked += 1;
            }
        }
        let _ = std::fs::remove_file(&pcap);
    }
    if checked == 0 {
        skip(
            "streams_are_numbered",
            "tshark is not installed: numbering compared with nothing",
        );
    }
}
