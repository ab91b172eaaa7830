//! `lab inspect --detail N --hex`: every field's bytes, checked against
//! where tshark puts the same fields (`-T pdml` gives each field's `pos`
//! and `size` in the frame).

use std::collections::BTreeMap;
use std::ops::Range;
use std::process::Command;

use socket_lab::app::CaptureMode;

mod common;
use common::{lab, skip};

/// A run of lab 09 (a handshake with options, two sends, a teardown) to a
/// pcap in `dir`, or why not.
fn capture(test: &str, dir: &std::path::Path) -> Option<std::path::PathBuf> {
    if let CaptureMode::Off(reason) = CaptureMode::detect(true) {
        skip(test, &reason);
        return None;
    }
    let pcap = dir.join("09.pcap");
    let out = lab(&["run", "09", "--pcap", pcap.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(pcap)
}

/// Our fields of packet `n`: (layer title, field name) -> byte range, read
/// from the labelled bytes pane (`  54-57    02 04 ff d7  option`).
fn ours(pcap: &std::path::Path, n: usize) -> Vec<(String, String, Range<usize>)> {
    let out = lab(&[
        "inspect",
        pcap.to_str().unwrap(),
        "--detail",
        &n.to_string(),
        "--hex",
        "--color=never",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let pane = text
        .split("\n\n")
        .filter(|part| !part.trim().is_empty())
        .last()
        .expect("the pane after the layers");
    let mut layer = String::new();
    let mut fields = Vec::new();
    for line in pane.lines() {
        if !line.starts_with(' ') {
            layer = line.to_string();
            continue;
        }
        let Some((place, rest)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let (from, to) = place.split_once('-').unwrap_or((place, place));
        let (Ok(from), Ok(to)) = (from.parse::<usize>(), to.trim().parse::<usize>()) else {
            continue;
        };
        // After the bytes (two hex digits each), the names.
        let names = rest
            .trim_start()
            .split(' ')
            .skip_while(|w| w.len() == 2 && w.chars().all(|c| c.is_ascii_hexdigit()))
            .collect::<Vec<_>>()
            .join(" ");
        for name in names.trim().split(", ") {
            fields.push((layer.clone(), name.to_string(), from..to + 1));
        }
    }
    assert!(!fields.is_empty(), "no pane in:\n{text}");
    fields
}

/// tshark's fields of packet `n`: name -> every (pos, pos + size).
fn theirs(pcap: &std::path::Path, n: usize) -> Option<BTreeMap<String, Vec<Range<usize>>>> {
    let out = Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap(), "-T", "pdml"])
        .args(["-Y", &format!("frame.number == {n}")])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let pdml = String::from_utf8_lossy(&out.stdout);
    let mut fields: BTreeMap<String, Vec<Range<usize>>> = BTreeMap::new();
    for tag in pdml.split("<field ").skip(1) {
        let attr = |key: &str| {
            let start = tag.find(&format!(" {key}=\""))? + key.len() + 3;
            let len = tag[start..].find('"')?;
            Some(tag[start..start + len].to_string())
        };
        let name = tag
            .strip_prefix("name=\"")
            .and_then(|t| t.split('"').next())
            .unwrap_or_default();
        let (Some(pos), Some(size)) = (attr("pos"), attr("size")) else {
            continue;
        };
        let (Ok(pos), Ok(size)) = (pos.parse::<usize>(), size.parse::<usize>()) else {
            continue;
        };
        fields
            .entry(name.to_string())
            .or_default()
            .push(pos..pos + size);
    }
    Some(fields)
}

/// Our name for each of tshark's fields, layer by layer.
const SAME: &[(&str, &str, &str)] = &[
    ("Ethernet", "destination MAC", "eth.dst"),
    ("Ethernet", "source MAC", "eth.src"),
    ("Ethernet", "EtherType", "eth.type"),
    ("IPv4", "version", "ip.version"),
    ("IPv4", "total length", "ip.len"),
    ("IPv4", "identification", "ip.id"),
    ("IPv4", "time to live", "ip.ttl"),
    ("IPv4", "protocol", "ip.proto"),
    ("IPv4", "header checksum", "ip.checksum"),
    ("IPv4", "source", "ip.src"),
    ("IPv4", "destination", "ip.dst"),
    ("TCP", "source port", "tcp.srcport"),
    ("TCP", "destination port", "tcp.dstport"),
    ("TCP", "sequence number", "tcp.seq_raw"),
    ("TCP", "ack number", "tcp.ack_raw"),
    ("TCP", "window", "tcp.window_size_value"),
    ("TCP", "checksum", "tcp.checksum"),
    ("TCP", "urgent pointer", "tcp.urgent_pointer"),
    ("Data", "data", "tcp.payload"),
];

/// tshark's names for each kind of TCP option (the whole option).
const OPTIONS: &[&str] = &[
    "tcp.options.mss",
    "tcp.options.sack_perm",
    "tcp.options.timestamp",
    "tcp.options.nop",
    "tcp.options.wscale",
    "tcp.options.eol",
    "tcp.options.sack",
];

#[test]
fn every_field_sits_on_the_bytes_tshark_finds_it_on() {
    let test = "every_field_sits_on_the_bytes";
    let dir = tempfile::tempdir().unwrap();
    let Some(pcap) = capture(test, dir.path()) else {
        return;
    };
    // The SYN (every option) and the first data segment.
    let rows =
        String::from_utf8_lossy(&lab(&["inspect", pcap.to_str().unwrap(), "--color=never"]).stdout)
            .into_owned();
    let data = rows
        .lines()
        .find(|l| l.contains("PSH,ACK"))
        .and_then(|l| l.split('#').nth(1)?.split_whitespace().next()?.parse().ok())
        .expect("a data segment");
    for n in [1, data] {
        let Some(theirs) = theirs(&pcap, n) else {
            skip(test, "tshark is not installed: compared with nothing");
            return;
        };
        let ours = ours(&pcap, n);
        let mut compared = 0;
        for (layer, name, field) in SAME {
            let Some(want) = theirs.get(*field) else {
                continue;
            };
            let got: Vec<Range<usize>> = ours
                .iter()
                .filter(|(l, f, _)| l.starts_with(layer) && f == name)
                .map(|(_, _, r)| r.clone())
                .collect();
            assert_eq!(&got, want, "packet {n}: {layer} {name} ({field})");
            compared += 1;
        }
        let mut want: Vec<Range<usize>> = OPTIONS
            .iter()
            .filter_map(|o| theirs.get(*o))
            .flatten()
            .cloned()
            .collect();
        want.sort_by_key(|r| r.start);
        let got: Vec<Range<usize>> = ours
            .iter()
            .filter(|(_, f, _)| f.starts_with("option"))
            .map(|(_, _, r)| r.clone())
            .collect();
        assert_eq!(got, want, "packet {n}: the TCP options");
        assert!(
            compared >= 17,
            "packet {n}: only {compared} fields compared"
        );
        if n == 1 {
            assert!(got.len() >= 4, "the SYN's options: {got:?}");
        }
    }
}

#[test]
fn in_colour_the_bytes_are_painted_by_layer_with_a_legend() {
    let test = "in_colour_the_bytes_are_painted";
    let dir = tempfile::tempdir().unwrap();
    let Some(pcap) = capture(test, dir.path()) else {
        return;
    };
    let out = lab(&[
        "inspect",
        pcap.to_str().unwrap(),
        "--detail",
        "1",
        "--hex",
        "--color=always",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // Bytes 0..14 are Ethernet (blue: 34, or 94 for the other shade), and
    // the IPv4 header's first byte, 45, is green (32 or 92).
    assert!(
        text.contains("\u{1b}[34m00\u{1b}[0m") || text.contains("\u{1b}[94m00\u{1b}[0m"),
        "{text:?}"
    );
    assert!(
        text.contains("\u{1b}[32m45\u{1b}[0m") || text.contains("\u{1b}[92m45\u{1b}[0m"),
        "{text:?}"
    );
    for name in [
        "destination MAC [0, 6)",
        "time to live [22]",
        "option MSS [54, 58)",
    ] {
        assert!(text.contains(name), "{name} in {text}");
    }
}

/// The packets of `text` shown in detail, each without its title line
/// (whose time counts from a different start in a run and in a file).
fn detailed(text: &str) -> Vec<String> {
    text.split("── packet #")
        .skip(1)
        .map(|p| {
            let body = p.split_once('\n').map_or("", |(_, rest)| rest);
            // The run's detail ends before the progress line.
            body.split("\n\n·")
                .next()
                .unwrap_or(body)
                .trim_end()
                .to_string()
        })
        .collect()
}

#[test]
fn a_run_shows_its_packets_in_detail_as_inspect_shows_its_pcap() {
    let test = "a_run_shows_its_packets_in_detail";
    if let CaptureMode::Off(reason) = CaptureMode::detect(true) {
        skip(test, &reason);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("run.pcap");
    let run = lab(&[
        "run",
        "09",
        "--color=never",
        "--pcap",
        pcap.to_str().unwrap(),
        "--detail",
        "all",
        "--hex",
    ]);
    assert!(run.status.success());
    let run = String::from_utf8_lossy(&run.stdout).into_owned();
    let file = lab(&[
        "inspect",
        pcap.to_str().unwrap(),
        "--color=never",
        "--detail",
        "all",
        "--hex",
    ]);
    let file = String::from_utf8_lossy(&file.stdout).into_owned();
    let (ours, theirs) = (detailed(&run), detailed(&file));
    assert!(ours.len() >= 10, "{run}");
    assert_eq!(ours, theirs);
    // The capture is needed, and said so before anything runs.
    let off = lab(&["run", "09", "--no-capture", "--detail", "1"]);
    assert_eq!(off.status.code(), Some(2));
}

#[test]
fn a_live_capture_shows_the_chosen_packet_under_its_row() {
    let test = "a_live_capture_shows_the_chosen_packet";
    if let CaptureMode::Off(reason) = CaptureMode::detect(true) {
        skip(test, &reason);
        return;
    }
    use std::io::{BufRead, BufReader};
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["capture", "--port", &port, "--count", "2", "--color=never"])
        .args(["--detail", "2"])
        .env_remove("HOME")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The capture is open once it says how to stop it.
    for line in lines.by_ref() {
        if line.unwrap().contains("Ctrl-C to stop") {
            break;
        }
    }
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sender
        .send_to(b"one", ("127.0.0.1", sink.local_addr().unwrap().port()))
        .unwrap();
    sender
        .send_to(b"two", ("127.0.0.1", sink.local_addr().unwrap().port()))
        .unwrap();
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(child.wait().unwrap().success());
    let text = rest.join("\n");
    // Packet 2 only, right under its row.
    assert_eq!(text.matches("── packet #").count(), 1, "{text}");
    let row = rest.iter().position(|l| l.contains("#2 ")).expect("row #2");
    assert!(rest[row + 1].starts_with("── packet #2"), "{text}");
    assert!(text.contains("  data              \"two\""), "{text}");
}
