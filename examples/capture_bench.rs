//! Loopback capture benchmark: our capture (ring and pnet paths) against
//! tcpdump, and the memory of a capture streaming to a pcap file.
//!
//! Run it through `benches/capture_flood.sh`, or directly (as root):
//!
//! ```text
//! cargo run --release --example capture_bench -- flood [--runs 3] [--count 500000]
//! cargo run --release --example capture_bench -- rss [--mib 1024]
//! ```
//!
//! `flood` sends `count` 64-byte UDP datagrams from a separate sender
//! process as fast as it can, once per contender and run, while the
//! contender captures `udp port P`. CPU is the capturing process's own
//! (user + sys): `getrusage(RUSAGE_SELF)` inside our capture process, and
//! `wait4()`'s usage for tcpdump (what /usr/bin/time reports).
//!
//! `rss` floods `lo` with one TCP connection carrying `mib` MiB while a
//! capture writes every frame to a pcap file, and reports the capture
//! process's peak RSS.
//!
//! The other subcommands (`capture`, `send`, `tcp`) are the child processes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use socket_lab::capture::{Capture, CapturedFrame, Filter, ReadPath};
use socket_lab::clock::Clock;
use socket_lab::pcap::PcapWriter;

const PAYLOAD: usize = 64;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| default.to_string())
    };
    match args.first().map(String::as_str) {
        Some("flood") => flood(
            opt("--runs", "3").parse().unwrap(),
            opt("--count", "500000").parse().unwrap(),
        ),
        Some("rss") => rss(opt("--mib", "1024").parse().unwrap()),
        Some("capture") => capture(
            opt("--port", "0").parse().unwrap(),
            &opt("--path", "ring"),
            &opt("--pcap", ""),
            opt("--bounded", "0").parse().unwrap(),
        ),
        Some("send") => send(
            opt("--port", "0").parse().unwrap(),
            opt("--count", "0").parse().unwrap(),
        ),
        Some("tcp") => tcp(
            opt("--port", "0").parse().unwrap(),
            opt("--mib", "0").parse().unwrap(),
        ),
        _ => {
            eprintln!("usage: capture_bench flood [--runs N] [--count N] | rss [--mib N]");
            std::process::exit(2);
        }
    }
}

/// What one contender did in one run.
#[derive(Debug, Clone, Default)]
struct Outcome {
    captured: u64,
    dropped: u64,
    duplicates: u64,
    cpu_s: f64,
    maxrss_kib: u64,
}

fn flood(runs: usize, count: u64) {
    // `tcpdump` and the three library paths write nowhere; `tcpdump -w`
    // and `lab -q` are the commands a user types, each writing a pcap file.
    let mut results: Vec<(&str, Vec<Outcome>)> = vec![
        ("tcpdump", vec![]),
        ("ring", vec![]),
        ("ring-frames", vec![]),
        ("pnet", vec![]),
        ("tcpdump -w", vec![]),
        ("lab -q", vec![]),
    ];
    let dir = std::env::temp_dir().join(format!("capture-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flood.pcap");
    let file = file.to_str().unwrap();
    for run in 1..=runs {
        for (name, outcomes) in results.iter_mut() {
            // A socket that owns the port, so datagrams are not answered
            // with ICMP "port unreachable"; it is never read.
            let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = sink.local_addr().unwrap().port();
            let started = Instant::now();
            let outcome = if *name == "tcpdump" {
                let filter = ["-w", "/dev/null", "udp", "port", &port.to_string()];
                with_tcpdump(&filter, || run_sender(port, count))
            } else if *name == "tcpdump -w" {
                let filter = ["-w", file, "udp", "port", &port.to_string()];
                with_tcpdump(&filter, || run_sender(port, count))
            } else if *name == "lab -q" {
                with_lab_command(port, file, || run_sender(port, count))
            } else {
                with_our_capture(port, name, "", 0, || run_sender(port, count))
            };
            println!(
                "run {run} {name:11} sent {count} captured {:7} dropped {:6} dup {:4} cpu {:.3} s = {:4.0} ns/pkt ({:.1} s)",
                outcome.captured,
                outcome.dropped,
                outcome.duplicates,
                outcome.cpu_s,
                outcome.cpu_s * 1e9 / count as f64,
                started.elapsed().as_secs_f64()
            );
            outcomes.push(outcome);
        }
    }
    let median = |xs: &[Outcome], f: &dyn Fn(&Outcome) -> f64| {
        let mut v: Vec<f64> = xs.iter().map(f).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let _ = std::fs::remove_dir_all(&dir);
    let base = median(&results[0].1, &|o| o.cpu_s);
    println!("\nmedians of {runs} runs, {count} datagrams of {PAYLOAD} B each:");
    println!(
        "{:11} {:>9} {:>8} {:>5} {:>8} {:>9} {:>6} {:>8}",
        "", "captured", "dropped", "dup", "cpu s", "ns/pkt", "ratio", "rss MB"
    );
    for (name, outcomes) in &results {
        let cpu = median(outcomes, &|o| o.cpu_s);
        println!(
            "{name:11} {:>9} {:>8} {:>5} {:>8.3} {:>9.0} {:>5.2}x {:>8.1}",
            median(outcomes, &|o| o.captured as f64),
            median(outcomes, &|o| o.dropped as f64),
            median(outcomes, &|o| o.duplicates as f64),
            cpu,
            cpu * 1e9 / count as f64,
            cpu / base,
            median(outcomes, &|o| o.maxrss_kib as f64) / 1024.0
        );
    }
    // The commands a user types, side by side.
    let (Some(tcpdump), Some(lab)) = (
        results.iter().find(|(n, _)| *n == "tcpdump -w"),
        results.iter().find(|(n, _)| *n == "lab -q"),
    ) else {
        return;
    };
    let cpu = |o: &[Outcome]| median(o, &|o| o.cpu_s);
    let rss = |o: &[Outcome]| median(o, &|o| o.maxrss_kib as f64) / 1024.0;
    println!(
        "\n`lab capture -q --pcap F` against `tcpdump -w F`: CPU {:.2}x, memory {:+.1} MB",
        cpu(&lab.1) / cpu(&tcpdump.1),
        rss(&lab.1) - rss(&tcpdump.1)
    );
}

fn rss(mib: u64) {
    for name in ["ring", "tcpdump"] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener); // the `tcp` child binds it again
        let path = std::env::temp_dir().join(format!("capture-bench-{port}.pcap"));
        let flood = || {
            let status = Command::new(std::env::current_exe().unwrap())
                .args([
                    "tcp",
                    "--port",
                    &port.to_string(),
                    "--mib",
                    &mib.to_string(),
                ])
                .status()
                .unwrap();
            assert!(status.success());
        };
        let started = Instant::now();
        let o = if name == "tcpdump" {
            with_tcpdump(
                &[
                    "-w",
                    path.to_str().unwrap(),
                    "tcp",
                    "port",
                    &port.to_string(),
                ],
                flood,
            )
        } else {
            // At most 4 blocks' worth of frames wait for the writer.
            with_our_capture(port, name, path.to_str().unwrap(), 4, flood)
        };
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let _ = std::fs::remove_file(&path);
        println!(
            "{name:8} tcp flood {mib} MiB: captured {} frames ({:.0} MiB of pcap), dropped {}, peak RSS {:.1} MiB, cpu {:.2} s, {:.1} s",
            o.captured,
            size as f64 / (1 << 20) as f64,
            o.dropped,
            o.maxrss_kib as f64 / 1024.0,
            o.cpu_s,
            started.elapsed().as_secs_f64()
        );
    }
}

fn run_sender(port: u16, count: u64) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "send",
            "--port",
            &port.to_string(),
            "--count",
            &count.to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs `tcpdump -i lo ARGS` around `traffic` and reads its counters and
/// CPU.
#[expect(clippy::zombie_processes, reason = "reaped by wait4 in wait_usage")]
fn with_tcpdump(args: &[&str], traffic: impl FnOnce()) -> Outcome {
    let mut child = Command::new("tcpdump")
        .args(["-i", "lo", "-Z", "root"])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump (apt-get install -y tcpdump)");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("listening on") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "tcpdump ended early"
        );
    }
    traffic();
    // libpcap hands a ring block over after up to 1 s and tcpdump does not
    // wait for it on SIGINT: give the last block time to arrive.
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let (cpu_s, maxrss_kib) = wait_usage(&child);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let number = |label: &str| -> u64 {
        rest.lines()
            .find(|l| l.contains(label))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let captured = number("packets captured");
    Outcome {
        captured,
        dropped: number("dropped by kernel"),
        duplicates: 0,
        cpu_s,
        maxrss_kib,
    }
}

/// Runs `lab capture -q --port P --pcap FILE` (the release build beside
/// this example) around `traffic`, stops it with Ctrl-C as a user would,
/// and reads its counters from its last line.
#[expect(clippy::zombie_processes, reason = "reaped by wait4 in wait_usage")]
fn with_lab_command(port: u16, file: &str, traffic: impl FnOnce()) -> Outcome {
    let exe = std::env::current_exe().unwrap();
    let lab = exe.parent().and_then(|d| d.parent()).unwrap().join("lab");
    let mut child = Command::new(&lab)
        .args([
            "capture",
            "-q",
            "--color=never",
            "--port",
            &port.to_string(),
            "--pcap",
            file,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (cargo build --release)", lab.display()));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("Ctrl-C to stop"), "{line}");
    traffic();
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let (cpu_s, maxrss_kib) = wait_usage(&child);
    // "· kernel: 500000 captured, 0 dropped; 0 truncated"
    let number = |label: &str| -> u64 {
        rest.split([',', ';', ':'])
            .find(|part| part.trim_end().ends_with(label))
            .and_then(|part| part.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Outcome {
        captured: number("captured"),
        dropped: number("dropped"),
        duplicates: 0,
        cpu_s,
        maxrss_kib,
    }
}

/// Runs our capture in a child process around `traffic`.
#[expect(clippy::zombie_processes, reason = "reaped by wait4 in wait_usage")]
fn with_our_capture(
    port: u16,
    path: &str,
    pcap: &str,
    bounded: usize,
    traffic: impl FnOnce(),
) -> Outcome {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "capture",
            "--port",
            &port.to_string(),
            "--path",
            path,
            "--bounded",
            &bounded.to_string(),
        ])
        .args(if pcap.is_empty() {
            vec![]
        } else {
            vec!["--pcap", pcap]
        })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    traffic();
    drop(child.stdin.take()); // EOF: stop
    let report = read_report(&mut out);
    let _ = wait_usage(&child);
    report
}

fn read_report(out: &mut BufReader<ChildStdout>) -> Outcome {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line:?}"))
    };
    Outcome {
        captured: field("frames") as u64,
        dropped: field("dropped") as u64,
        duplicates: field("dup") as u64,
        cpu_s: field("cpu"),
        maxrss_kib: field("maxrss_kib") as u64,
    }
}

/// Waits for the child and returns its CPU seconds (user + sys) and peak
/// RSS, as `wait4()` reports them.
fn wait_usage(child: &Child) -> (f64, u64) {
    let mut status = 0;
    // SAFETY: rusage is plain data, filled by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; the Child handle is not waited again.
    unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    (cpu_seconds(&usage), usage.ru_maxrss as u64)
}

fn cpu_seconds(u: &libc::rusage) -> f64 {
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Child: captures `port` until stdin closes, then prints one report line.
fn capture(port: u16, path: &str, pcap: &str, bounded: usize) {
    let clock = Clock::start();
    let per_frame = path == "ring-frames";
    let path = if path == "pnet" {
        ReadPath::Pnet
    } else {
        ReadPath::Ring
    };
    let filter = Filter::ports([port]);
    // The consumer: counts, finds duplicates by the sequence number in each
    // payload, and writes the pcap file if asked to.
    let mut writer = (!pcap.is_empty()).then(|| PcapWriter::create(pcap, &clock).unwrap());
    let consume = move |rx: &mut dyn Iterator<Item = CapturedFrame>| {
        let (mut frames, mut dup) = (0u64, 0u64);
        let mut seen = vec![0u64; 1 << 20];
        for f in rx {
            frames += 1;
            if let Some(seq) = f.data.get(42..50) {
                let seq = u64::from_le_bytes(seq.try_into().unwrap()) as usize;
                if f.data.len() == 42 + PAYLOAD && seq < seen.len() * 64 {
                    let (word, bit) = (seq / 64, 1u64 << (seq % 64));
                    dup += u64::from(seen[word] & bit != 0);
                    seen[word] |= bit;
                }
            }
            if let Some(w) = writer.as_mut() {
                w.write(&f).unwrap();
            }
        }
        if let Some(w) = writer {
            w.finish().unwrap();
        }
        (frames, dup)
    };
    // Batches (one message per ring block) unless asked for one message
    // per frame; bounded if asked (the pcap test: memory must stay flat).
    let (capture, consumer) = match (per_frame, bounded) {
        (false, 0) => {
            let (tx, rx) = mpsc::channel::<Vec<CapturedFrame>>();
            let c = Capture::start_with(&filter, clock, tx, path).unwrap();
            (
                c,
                std::thread::spawn(move || consume(&mut rx.into_iter().flatten())),
            )
        }
        (false, n) => {
            let (tx, rx) = mpsc::sync_channel::<Vec<CapturedFrame>>(n);
            let c = Capture::start_with(&filter, clock, tx, path).unwrap();
            (
                c,
                std::thread::spawn(move || consume(&mut rx.into_iter().flatten())),
            )
        }
        (true, _) => {
            let (tx, rx) = mpsc::channel::<CapturedFrame>();
            let c = Capture::start_with(&filter, clock, tx, path).unwrap();
            (c, std::thread::spawn(move || consume(&mut rx.into_iter())))
        }
    };
    println!("ready");
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    let stats = capture.stop();
    let (frames, dup) = consumer.join().unwrap();
    assert_eq!(frames, stats.packets);
    // SAFETY: rusage is plain data, filled by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is writable.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    println!(
        "frames={frames} dropped={} truncated={} dup={dup} cpu={:.6} maxrss_kib={}",
        stats.dropped,
        stats.truncated,
        cpu_seconds(&usage),
        usage.ru_maxrss
    );
}

/// Child: sends `count` datagrams numbered 0.. to `port`, as fast as it can.
fn send(port: u16, count: u64) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(("127.0.0.1", port)).unwrap();
    let mut payload = [0u8; PAYLOAD];
    let started = Instant::now();
    for seq in 0..count {
        payload[..8].copy_from_slice(&seq.to_le_bytes());
        // ENOBUFS can happen under pressure: try again.
        while socket.send(&payload).is_err() {}
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "  sender: {count} datagrams in {secs:.2} s ({:.0}/s)",
        count as f64 / secs
    );
}

/// Child: one TCP connection over `lo` carrying `mib` MiB.
fn tcp(port: u16, mib: u64) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let reader = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        std::io::copy(&mut conn, &mut std::io::sink()).unwrap()
    });
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let chunk = vec![0x5au8; 1 << 18];
    for _ in 0..mib * 4 {
        conn.write_all(&chunk).unwrap();
    }
    drop(conn);
    assert_eq!(reader.join().unwrap(), mib << 20);
}
