//! `lab inspect` of files larger than one read of its buffer: the frames
//! stream through in file order with what the whole-file reader gives, and
//! a file cut in the middle of a record far into it shows every frame
//! before the cut in each view, then the one-line error. The files are
//! made by `benches/big_pcap.py` (TCP connections with 1,448-byte
//! segments); without python3 these tests say why they skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::lab;

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "socket-lab-inspect-files-{}-{name}",
        std::process::id()
    ))
}

/// A pcap of about `mib` MiB holding `connections` TCP connections, or
/// `None` (said on stderr) without python3.
fn big_pcap(name: &str, mib: u32, connections: u32) -> Option<PathBuf> {
    let path = temp(name);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/big_pcap.py");
    let made = Command::new("python3")
        .arg(script)
        .arg(&path)
        .args([mib.to_string(), connections.to_string()])
        .output();
    match made {
        Ok(out) if out.status.success() => Some(path),
        Ok(out) => panic!("big_pcap.py: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "{name}: skipped: python3 cannot run ({e}); apt-get install python3"
            );
            None
        }
    }
}

#[test]
fn thousands_of_frames_stream_through_in_file_order() {
    let Some(path) = big_pcap("many.pcap", 2, 24) else {
        return;
    };
    let file = socket_lab::pcap::read_pcap(&path).unwrap();
    let n = file.frames.len();
    assert!(n > 1_000, "{n} frames");
    assert!(
        std::fs::metadata(&path).unwrap().len() > 4 * socket_lab::pcap::read::BUFFER as u64,
        "several reads of the buffer"
    );
    let p = path.to_str().unwrap();

    // Every frame once, numbered in file order, with the time and length
    // the whole-file reader gives it.
    let out = lab(&["inspect", p, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    let packets: Vec<&serde_json::Value> = lines.iter().filter(|l| l["kind"] == "packet").collect();
    assert_eq!(packets.len(), n);
    for (i, (line, frame)) in packets.iter().zip(&file.frames).enumerate() {
        assert_eq!(line["frame"], i as u64 + 1);
        assert_eq!(line["t_us"], frame.t_us, "frame {}", i + 1);
        assert_eq!(line["wire_len"], frame.orig_len as u64, "frame {}", i + 1);
    }
    // Each connection's client→server stream: every byte, no hole.
    let streams: Vec<&serde_json::Value> = lines.iter().filter(|l| l["kind"] == "stream").collect();
    assert_eq!(
        streams
            .iter()
            .filter(|s| s["bytes"].as_u64() > Some(0))
            .count(),
        24
    );

    // 24 conversations, numbered 0 to 23 in the order they begin, whose
    // packets add up to the file's.
    let stats = json_lines(&lab(&["inspect", p, "--stats", "--json"]).stdout);
    let numbers: Vec<u64> = stats
        .iter()
        .map(|c| c["stream"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (0..24).collect::<Vec<u64>>());
    let total: u64 = stats
        .iter()
        .map(|c| c["packets"][0].as_u64().unwrap() + c["packets"][1].as_u64().unwrap())
        .sum();
    assert_eq!(total, n as u64);

    // The last packet, layer by layer, found by reading up to it; one past
    // it is refused with the count.
    let out = lab(&["inspect", p, "--detail", &n.to_string(), "--color=never"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("── packet #{n} at ")), "{text}");
    let out = lab(&["inspect", p, "--detail", &(n + 1).to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("holds {n} packets")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&path);
}

/// Where each record of a classic pcap begins.
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut at = 24;
    let mut offsets = Vec::new();
    while at + 16 <= bytes.len() {
        offsets.push(at);
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        at += 16 + caplen as usize;
    }
    offsets
}

#[test]
fn a_record_cut_far_into_a_file_ends_every_view_after_the_frames_before_it() {
    let Some(whole) = big_pcap("whole.pcap", 2, 24) else {
        return;
    };
    let bytes = std::fs::read(&whole).unwrap();
    let offsets = record_offsets(&bytes);
    // A frame well past the first read of the buffer, cut in its bytes.
    let k = offsets.len() - 50;
    assert!(offsets[k - 1] > 4 * socket_lab::pcap::read::BUFFER);
    let cut = temp("cut.pcap");
    std::fs::write(&cut, &bytes[..offsets[k - 1] + 16 + 30]).unwrap();
    let c = cut.to_str().unwrap();
    let said = |out: &Output| {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("lab: ")
                && stderr.contains("cut short")
                && stderr.contains(&format!("frame {k}:")),
            "{stderr}"
        );
    };

    let out = lab(&["inspect", c, "--color=never"]);
    said(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("#{} ", k - 1)), "frames shown");
    assert!(!text.contains(&format!("#{k} ")));

    let out = lab(&["inspect", c, "--json"]);
    said(&out);
    let lines = json_lines(&out.stdout);
    let last = lines.iter().rfind(|l| l["kind"] == "packet").unwrap();
    assert_eq!(last["frame"], k as u64 - 1);

    let out = lab(&["inspect", c, "--detail", "all", "--color=never"]);
    said(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("── packet #").count(), k - 1);

    let out = lab(&["inspect", c, "--stats", "--json"]);
    said(&out);
    let total: u64 = json_lines(&out.stdout)
        .iter()
        .map(|c| c["packets"][0].as_u64().unwrap() + c["packets"][1].as_u64().unwrap())
        .sum();
    assert_eq!(total, k as u64 - 1);

    // With a filter, the same cut after the frames it matched.
    let out = lab(&["inspect", c, "--filter", "tcp.port == 9003", "--json"]);
    said(&out);
    let _ = std::fs::remove_file(&whole);
    let _ = std::fs::remove_file(&cut);
}
