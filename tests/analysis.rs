//! TCP analysis against Wireshark, on captures of the real kernel in
//! trouble. Each scenario runs `tests/programs/tcp_trouble.py` (a client
//! and a server on loopback) inside a private network namespace, where
//! nftables may drop chosen segments on the `input` hook and tcpdump
//! records `lo`. Then, on the same file, every frame's `tcp.analysis.*`
//! fields from `tshark` must equal what `lab inspect --json` says: each
//! flag's frames, the frame an ACK acknowledges and its round trip, the
//! duplicate ACK numbers, bytes in flight, the retransmitted frame.
//!
//! Each scenario also checks that it produced what it was built for,
//! where the kernel does so whatever the timing; flags that depend on
//! timing are only compared with tshark (the comments say why).
//!
//! Needs root (a namespace and nftables), tcpdump, tshark, nft and
//! python3; without them each test prints why it skips.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::skip;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True when the scenarios can run here; otherwise prints why not.
fn can_run(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip(
            test,
            "needs root: a private network namespace and nftables rules",
        );
        return false;
    }
    for tool in [
        "unshare", "ip", "nft", "tcpdump", "tshark", "editcap", "python3",
    ] {
        if !have(tool) {
            skip(test, &format!("{tool} is not installed"));
            return false;
        }
    }
    true
}

/// What a scenario changes in its namespace.
struct Setup<'a> {
    /// `numgen` counts of data segments (over 1000 bytes) to drop, from 0.
    drop: &'a str,
    /// `sysctl -w` settings of the namespace's own TCP.
    sysctl: &'a str,
}

/// A test's scratch directory, removed when the test passes (kept, for a
/// look with Wireshark, when it fails).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs one scenario of `tcp_trouble.py` in a private network namespace
/// and returns the capture (in `scratch`).
fn capture(test: &str, scenario: &str, setup: Setup) -> (Scratch, PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("socket-lab-analysis-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("trouble.pcap");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/tcp_trouble.py");
    // lo's MTU of 1500 makes a real Ethernet's segment sizes; tcpdump is
    // ready once it says it is listening.
    let script = r#"
set -e
ip link set lo up
ip link set lo mtu 1500
if [ -n "$SYSCTL" ]; then sysctl -q -w $SYSCTL; fi
if [ -n "$DROP" ]; then
  nft add table inet trouble
  nft add chain inet trouble in '{ type filter hook input priority 0; }'
  nft add rule inet trouble in meta l4proto tcp meta length '>' 1000 numgen inc mod 1000000 "{ $DROP }" drop
fi
tcpdump -i lo -U -s 0 -w "$PCAP" tcp 2>"$PCAP.log" & dump=$!
for i in $(seq 200); do grep -q listening "$PCAP.log" && break; sleep 0.05; done
python3 "$PROGRAM" "$SCENARIO"
sleep 0.3
kill -INT $dump
wait $dump || true
"#;
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", script])
        .env("PCAP", &pcap)
        .env("PROGRAM", &program)
        .env("SCENARIO", scenario)
        .env("DROP", setup.drop)
        .env("SYSCTL", setup.sysctl)
        .output()
        .expect("run unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{scenario}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The transfer was whole: every dropped byte was sent again.
    let counts: Vec<&str> = stdout.split_whitespace().collect();
    assert!(
        matches!(counts.as_slice(), ["sent", a, "received", b] if a == b),
        "{scenario}: {stdout}"
    );
    (Scratch(dir), pcap)
}

/// The analysis fields compared, by their tshark names.
const FIELDS: [&str; 20] = [
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.duplicate_ack",
    "tcp.analysis.zero_window",
    "tcp.analysis.zero_window_probe",
    "tcp.analysis.zero_window_probe_ack",
    "tcp.analysis.window_full",
    "tcp.analysis.window_update",
    "tcp.analysis.keep_alive",
    "tcp.analysis.keep_alive_ack",
    "tcp.analysis.lost_segment",
    "tcp.analysis.ack_lost_segment",
    "tcp.analysis.acks_frame",
    "tcp.analysis.ack_rtt",
    "tcp.analysis.duplicate_ack_num",
    "tcp.analysis.duplicate_ack_frame",
    "tcp.analysis.bytes_in_flight",
    "tcp.analysis.rto_frame",
];

/// The fields that are flags (set or not), the first of [`FIELDS`].
const FLAGS: &[&str] = FIELDS.split_at(14).0;

/// Per frame number, the fields that are set and their values.
type Analysis = BTreeMap<u64, BTreeMap<&'static str, String>>;

/// What tshark says of every frame.
fn tshark(pcap: &Path) -> Analysis {
    let mut args = vec!["-r".to_string(), pcap.display().to_string()];
    args.extend(["-T", "fields", "-E", "separator=|", "-e", "frame.number"].map(String::from));
    for f in FIELDS {
        args.extend(["-e".to_string(), f.to_string()]);
    }
    let out = Command::new("tshark").args(&args).output().expect("tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut all = Analysis::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut cols = line.split('|');
        let frame: u64 = cols.next().unwrap().parse().unwrap();
        let set = all.entry(frame).or_default();
        for (field, value) in FIELDS.iter().zip(cols) {
            if value.is_empty() {
                continue;
            }
            // A relative time, in seconds to the ns: compared in µs (a
            // pcap's resolution).
            let value = if FLAGS.contains(field) {
                // A flag may show twice in tshark's tree ("1,1"): set.
                "1".to_string()
            } else if *field == "tcp.analysis.ack_rtt" {
                let s: f64 = value.parse().unwrap();
                format!("{}", (s * 1e6).round() as u64)
            } else {
                value.to_string()
            };
            set.insert(field, value);
        }
    }
    all
}

/// What `lab inspect --json` says of every frame, in tshark's terms.
fn lab(pcap: &Path) -> Analysis {
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["inspect", &pcap.display().to_string(), "--json"])
        .env_remove("HOME")
        .output()
        .expect("run lab");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut all = Analysis::new();
    let packets = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|v| v["kind"] == "packet")
        .collect::<Vec<_>>();
    for (i, p) in packets.iter().enumerate() {
        let set = all.entry(i as u64 + 1).or_default();
        let a = &p["analysis"];
        if a.is_null() {
            continue;
        }
        let mut put = |field: &'static str, v: &serde_json::Value| {
            if !v.is_null() {
                set.insert(field, v.to_string());
            }
        };
        put("tcp.analysis.acks_frame", &a["acks"]);
        // Wireshark leaves out a round trip of 0.
        if a["ack_rtt_us"] != 0 {
            put("tcp.analysis.ack_rtt", &a["ack_rtt_us"]);
        }
        put("tcp.analysis.bytes_in_flight", &a["bytes_in_flight"]);
        for f in a["flags"].as_array().unwrap() {
            let name = f["flag"].as_str().unwrap();
            let field = FIELDS
                .iter()
                .find(|x| x.strip_prefix("tcp.analysis.") == Some(name))
                .unwrap_or_else(|| panic!("unknown flag {name}"));
            set.insert(field, "1".into());
            match name {
                // As in Wireshark, fast and spurious ones are
                // retransmissions too.
                "fast_retransmission" | "spurious_retransmission" => {
                    set.insert("tcp.analysis.retransmission", "1".into());
                }
                // Wireshark shows the frame only with a non-zero time.
                "retransmission" if f["after_us"] != 0 => {
                    set.insert("tcp.analysis.rto_frame", f["of"].to_string());
                }
                "duplicate_ack" => {
                    set.insert("tcp.analysis.duplicate_ack_num", f["number"].to_string());
                    set.insert("tcp.analysis.duplicate_ack_frame", f["of"].to_string());
                }
                _ => {}
            }
        }
    }
    all
}

/// Compares the two frame by frame; returns how many frames carry each
/// flag (tshark's count, equal to ours).
fn agree(pcap: &Path) -> BTreeMap<&'static str, usize> {
    let theirs = tshark(pcap);
    let ours = lab(pcap);
    assert_eq!(theirs.len(), ours.len(), "frames in {}", pcap.display());
    for (frame, t) in &theirs {
        assert_eq!(
            Some(t),
            ours.get(frame),
            "frame {frame} of {}: tshark (left) and lab inspect (right) differ",
            pcap.display()
        );
    }
    let mut counts = BTreeMap::new();
    for f in FIELDS {
        counts.insert(f, theirs.values().filter(|s| s.contains_key(f)).count());
    }
    // The same fields as display filters pick the same frames as tshark's.
    let filters = FLAGS.iter().copied().chain([
        "tcp.analysis.flags",
        "tcp.analysis.acks_frame",
        "tcp.analysis.bytes_in_flight",
        "tcp.analysis.bytes_in_flight > 1000",
    ]);
    for filter in filters {
        assert_eq!(
            filtered_by_lab(pcap, filter),
            filtered_by_tshark(pcap, filter),
            "--filter '{filter}' on {}",
            pcap.display()
        );
    }
    counts
}

/// The frame numbers `lab inspect --filter` shows.
fn filtered_by_lab(pcap: &Path, filter: &str) -> Vec<u64> {
    inspect(&[pcap.to_str().unwrap(), "--json", "--filter", filter])
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "packet")
        .filter_map(|v| v["frame"].as_u64())
        .collect()
}

/// The frame numbers `tshark -Y` picks.
fn filtered_by_tshark(pcap: &Path, filter: &str) -> Vec<u64> {
    let out = Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap(), "-Y", filter])
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark -Y '{filter}'");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Frames carrying a flag.
fn count(counts: &BTreeMap<&'static str, usize>, flag: &str) -> usize {
    counts[format!("tcp.analysis.{flag}").as_str()]
}

#[test]
fn dropped_segments_are_resent_after_duplicate_acks_as_wireshark_says() {
    let test = "dropped_segments";
    if !can_run(test) {
        return;
    }
    // Without SACK and RACK the sender recovers the classic way (RFC
    // 5681): three duplicate ACKs, then a fast retransmission.
    let (_scratch, pcap) = capture(
        test,
        "bulk",
        Setup {
            drop: "5, 40, 90",
            sysctl: "net.ipv4.tcp_sack=0 net.ipv4.tcp_recovery=0",
        },
    );
    let counts = agree(&pcap);
    // Three data segments were dropped after the capture saw them: each
    // was sent again (the sender got no ACK for it), and the segments
    // after each hole made the receiver repeat its ACK.
    assert!(count(&counts, "retransmission") >= 1, "{counts:?}");
    assert!(count(&counts, "duplicate_ack") >= 1, "{counts:?}");
    // Whether a resend counts as fast depends on how many duplicate ACKs
    // arrived before it and how soon: compared with tshark only.
    eprintln!("{test}: {counts:?}");
}

#[test]
fn with_sack_a_quick_resend_of_a_dropped_segment_looks_out_of_order() {
    let test = "sack_recovery";
    if !can_run(test) {
        return;
    }
    // Linux's default recovery (SACK and RACK) resends a hole after one
    // duplicate ACK, within microseconds on lo: sooner than the handshake's
    // round trip, which Wireshark takes for reordering. That, and the SACK
    // blocks' part in bytes in flight, depend on timing: compared only.
    let (_scratch, pcap) = capture(
        test,
        "bulk",
        Setup {
            drop: "5, 40",
            sysctl: "",
        },
    );
    let counts = agree(&pcap);
    eprintln!("{test}: {counts:?}");
}

#[test]
fn a_receiver_that_stops_reading_closes_its_window_then_opens_it() {
    let test = "zero_window";
    if !can_run(test) {
        return;
    }
    let (_scratch, pcap) = capture(
        test,
        "stall",
        Setup {
            drop: "",
            sysctl: "",
        },
    );
    let counts = agree(&pcap);
    // The server does not read for 1.5 s: its small buffer fills and it
    // announces a zero window; when it reads, a window update.
    assert!(count(&counts, "zero_window") >= 1, "{counts:?}");
    assert!(count(&counts, "window_update") >= 1, "{counts:?}");
    // Before that, the sender filled the small window to its edge.
    assert!(count(&counts, "window_full") >= 1, "{counts:?}");
    // Linux probes a zero window with an empty segment one byte back (as a
    // keep-alive does), never with Wireshark's one-byte "zero window
    // probe": the probes show as keep-alives. Compared with tshark only.
    eprintln!("{test}: {counts:?}");

    // The learner sees it: a tag on the packet's row, and a section of
    // its detail view naming the Wireshark field.
    let first = *tshark(&pcap)
        .iter()
        .find(|(_, set)| set.contains_key("tcp.analysis.zero_window"))
        .expect("a zero window")
        .0;
    let file = pcap.display().to_string();
    let rows = inspect(&[&file, "--color", "never"]);
    let row = rows
        .lines()
        .find(|l| l.contains(&format!("#{first} ")))
        .expect("the row");
    assert!(row.contains("win=0  [zero window]"), "{row}");
    let detail = inspect(&[&file, "--detail", &first.to_string(), "--color", "never"]);
    assert!(detail.contains("TCP analysis"), "{detail}");
    assert!(
        detail.contains("[TCP ZeroWindow] tcp.analysis.zero_window"),
        "{detail}"
    );
}

#[test]
fn a_capture_that_missed_a_segment_says_so_both_ways() {
    let test = "missed_segment";
    if !can_run(test) {
        return;
    }
    let (_scratch, pcap) = capture(
        test,
        "bulk",
        Setup {
            drop: "",
            sysctl: "",
        },
    );
    // Take the 10th data segment out of the file (editcap, from tshark's
    // package): as if the capture had missed it, while the receiver got it.
    let out = Command::new("tshark")
        .args(["-r", &pcap.display().to_string(), "-Y", "tcp.len > 0"])
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark");
    let data: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert!(data.len() > 20, "{data:?}");
    let cut = pcap.with_file_name("missed.pcap");
    let status = Command::new("editcap")
        .args([
            &pcap.display().to_string(),
            &cut.display().to_string(),
            &data[9],
        ])
        .status()
        .expect("editcap");
    assert!(status.success());
    let counts = agree(&cut);
    // The next segment starts past the bytes seen: "previous segment not
    // captured"; the receiver's ACK covers them: "ACKed unseen segment".
    assert!(count(&counts, "lost_segment") >= 1, "{counts:?}");
    assert!(count(&counts, "ack_lost_segment") >= 1, "{counts:?}");
}

/// `lab inspect ARGS`'s standard output.
fn inspect(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .arg("inspect")
        .args(args)
        .env_remove("HOME")
        .output()
        .expect("run lab");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_lab_run_carries_the_analysis_in_its_json() {
    use socket_lab::app::CaptureMode;
    let test = "lab_run_analysis";
    if let CaptureMode::Off(reason) = CaptureMode::detect(true) {
        skip(test, &reason);
        return;
    }
    // The same stage serves `lab run`: in lab 01 the SYN-ACK (packet 2)
    // acknowledges the SYN (packet 1), and the client's request has bytes
    // in flight until the server ACKs it.
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["run", "01", "--json"])
        .env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .output()
        .expect("run lab");
    let packets: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|v| v["kind"] == "packet")
        .collect();
    assert_eq!(packets[1]["flags"], "SYN,ACK", "{packets:?}");
    assert_eq!(packets[1]["analysis"]["acks"], 1, "{:?}", packets[1]);
    let data = packets
        .iter()
        .find(|p| p["len"].as_u64().is_some_and(|n| n > 0))
        .expect("a data segment");
    assert_eq!(data["analysis"]["bytes_in_flight"], data["len"], "{data:?}");
}

#[test]
fn an_idle_connection_with_keepalive_is_checked_every_second() {
    let test = "keep_alive";
    if !can_run(test) {
        return;
    }
    let (_scratch, pcap) = capture(
        test,
        "keepalive",
        Setup {
            drop: "",
            sysctl: "",
        },
    );
    let counts = agree(&pcap);
    // Idle 2.6 s with TCP_KEEPIDLE=1: the kernel sends a keep-alive after
    // 1 s (then every second) and the peer's kernel answers each.
    assert!(count(&counts, "keep_alive") >= 1, "{counts:?}");
    assert!(count(&counts, "keep_alive_ack") >= 1, "{counts:?}");
}
