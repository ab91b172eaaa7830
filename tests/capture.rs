//! Capture, pcap and namespace tests on the real kernel.
//!
//! They need root (CAP_NET_RAW, CAP_SYS_ADMIN), as CI has. Without it each
//! prints `skipped: <reason>` and passes. Every test uses its own ephemeral
//! ports and a port filter, so they run in parallel without seeing each
//! other's traffic.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::{Arc, Barrier, mpsc};
use std::thread;

use socket_lab::capture::{self, Capture, CaptureStats, CapturedFrame, Filter, ReadPath};
use socket_lab::clock::Clock;
use socket_lab::netns;
use socket_lab::pcap::{self, LinkType, PcapWriter};

/// Whether packet capture is possible here; says why not if it is not.
fn can_capture() -> bool {
    match capture::privilege() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("skipped: {e}");
            false
        }
    }
}

/// Runs `traffic` under a capture on `ports`; returns the frames, the
/// counters, and the range of clock readings the stamps must fall in.
fn capture_around(
    path: ReadPath,
    ports: &[u16],
    traffic: impl FnOnce(),
) -> (Vec<CapturedFrame>, CaptureStats, u64, u64) {
    let clock = Clock::start();
    let (tx, rx) = mpsc::channel::<CapturedFrame>();
    let capture = Capture::start_with(&Filter::ports(ports.iter().copied()), clock, tx, path)
        .expect("capture starts");
    let before = clock.now_us();
    traffic();
    let after = clock.now_us();
    let stats = capture.stop();
    // The ring stamps a frame when it crossed the wire, inside the traffic.
    // The pnet path stamps it when the reader saw it, which may be later.
    let latest = match path {
        ReadPath::Ring => after,
        ReadPath::Pnet => clock.now_us(),
    };
    (rx.try_iter().collect(), stats, before, latest)
}

/// The fields of a TCP/IPv4 frame the assertions need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Segment {
    /// The IPv4 identification: a retransmission gets a new one, a frame
    /// captured twice (the `lo` trap) has the same.
    ip_id: u16,
    sport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    len: usize,
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads a TCP segment out of an Ethernet + IPv4 frame.
fn segment(f: &[u8]) -> Option<Segment> {
    if be16(f, 12) != 0x0800 || f[23] != 6 {
        return None;
    }
    let ip_len = usize::from(f[14] & 0xf) * 4;
    let tcp = 14 + ip_len;
    let total = usize::from(be16(f, 16));
    let tcp_len = usize::from(f[tcp + 12] >> 4) * 4;
    Some(Segment {
        ip_id: be16(f, 18),
        sport: be16(f, tcp),
        seq: be32(f, tcp + 4),
        ack: be32(f, tcp + 8),
        flags: f[tcp + 13],
        window: be16(f, tcp + 14),
        len: total - ip_len - tcp_len,
    })
}

fn assert_clean_stream(frames: &[CapturedFrame], stats: &CaptureStats, before: u64, after: u64) {
    assert_eq!(stats.packets, frames.len() as u64, "{stats:?}");
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert_eq!(stats.truncated, 0, "{stats:?}");
    assert_eq!(stats.error, None);
    let mut last = 0;
    for f in frames {
        assert!(f.t_us >= last, "stamps go back: {} after {last}", f.t_us);
        assert!(
            (before..=after).contains(&f.t_us),
            "stamp {} outside the traffic's time {before}..={after}",
            f.t_us
        );
        assert_eq!(f.data.len(), f.orig_len);
        last = f.t_us;
    }
}

/// A handshake, 20 small writes, a close from each side: every segment
/// once (the `lo` double-delivery trap), none missing at either end.
fn tcp_conversation_is_seen_once(path: ReadPath) {
    if !can_capture() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (frames, stats, before, after) = capture_around(path, &[port], || {
        let server = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            conn.read_to_end(&mut got).unwrap();
            got.len()
        });
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        for i in 0..20u8 {
            client.write_all(&[i; 5]).unwrap();
        }
        drop(client);
        assert_eq!(server.join().unwrap(), 100);
    });
    assert_clean_stream(&frames, &stats, before, after);

    let segments: Vec<Segment> = frames.iter().filter_map(|f| segment(&f.data)).collect();
    assert_eq!(
        segments.len(),
        frames.len(),
        "only this connection's TCP frames"
    );
    let mut seen = HashMap::new();
    for s in &segments {
        *seen.entry(*s).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "segments captured more than once: {twice:?}"
    );

    let count = |pred: &dyn Fn(&Segment) -> bool| segments.iter().filter(|s| pred(s)).count();
    assert_eq!(count(&|s| s.flags & (SYN | ACK) == SYN), 1, "one SYN");
    assert_eq!(
        count(&|s| s.flags & (SYN | ACK) == SYN | ACK),
        1,
        "one SYN-ACK"
    );
    // A busy machine may retransmit the tail of the stream (tail loss
    // probe): a new frame, not a duplicate, so count FINs and bytes by
    // sequence number.
    assert!(
        count(&|s| s.flags & FIN != 0 && s.sport != port) >= 1,
        "client FIN"
    );
    assert!(
        count(&|s| s.flags & FIN != 0 && s.sport == port) >= 1,
        "server FIN"
    );
    let mut sent: Vec<(u32, usize)> = segments
        .iter()
        .filter(|s| s.sport != port && s.len > 0)
        .map(|s| (s.seq, s.len))
        .collect();
    sent.dedup();
    sent.sort_unstable();
    sent.dedup();
    assert_eq!(
        sent.iter().map(|(_, len)| len).sum::<usize>(),
        100,
        "all written bytes on the wire"
    );
    // The client's ACK of the server's FIN, sent by the kernel after the
    // last call returned, is there: stop() waited for it.
    let fin = segments
        .iter()
        .find(|s| s.flags & FIN != 0 && s.sport == port)
        .unwrap();
    let fin_acked = fin.seq.wrapping_add(fin.len as u32 + 1);
    assert!(
        segments
            .iter()
            .any(|s| s.sport != port && s.flags == ACK && s.ack == fin_acked),
        "final ACK captured"
    );
}

#[test]
fn tcp_conversation_is_seen_once_ring() {
    tcp_conversation_is_seen_once(ReadPath::Ring);
}

#[test]
fn tcp_conversation_is_seen_once_pnet() {
    tcp_conversation_is_seen_once(ReadPath::Pnet);
}

/// The largest IPv4 datagram, 65,507 bytes of payload, arrives whole.
fn udp_datagrams_are_not_cut(path: ReadPath) {
    if !can_capture() {
        return;
    }
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let (frames, stats, before, after) = capture_around(path, &[port], || {
        for size in [3000, 65_507] {
            client
                .send_to(&vec![7u8; size], ("127.0.0.1", port))
                .unwrap();
            let mut buf = vec![0u8; 70_000];
            assert_eq!(server.recv(&mut buf).unwrap(), size);
        }
    });
    assert_clean_stream(&frames, &stats, before, after);
    let lengths: Vec<usize> = frames.iter().map(|f| f.data.len()).collect();
    // Ethernet 14 + IPv4 20 + UDP 8 + payload.
    assert_eq!(lengths, [14 + 20 + 8 + 3000, 14 + 20 + 8 + 65_507]);
    assert!(frames[1].data[42..].iter().all(|&b| b == 7));
}

#[test]
fn udp_datagrams_are_not_cut_ring() {
    udp_datagrams_are_not_cut(ReadPath::Ring);
}

#[test]
fn udp_datagrams_are_not_cut_pnet() {
    udp_datagrams_are_not_cut(ReadPath::Pnet);
}

#[test]
fn frames_stream_while_the_capture_runs() {
    if !can_capture() {
        return;
    }
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel::<CapturedFrame>();
    let capture = Capture::start(&Filter::ports([port]), Clock::start(), tx).unwrap();
    server.send_to(b"live", ("127.0.0.1", port)).unwrap();
    // Delivered within the ring's retire time, long before stop().
    let frame = rx
        .recv_timeout(std::time::Duration::from_secs(2))
        .expect("a frame before stop()");
    assert!(frame.data.ends_with(b"live"));
    assert_eq!(capture.stop().packets, 1);
}

/// A `Sender<Vec<CapturedFrame>>` gets the same frames, a batch at a time.
#[test]
fn batches_carry_every_frame() {
    if !can_capture() {
        return;
    }
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel::<Vec<CapturedFrame>>();
    let capture = Capture::start(&Filter::ports([port]), Clock::start(), tx).unwrap();
    for i in 0..50u8 {
        server.send_to(&[i], ("127.0.0.1", port)).unwrap();
    }
    let stats = capture.stop();
    let batches: Vec<Vec<CapturedFrame>> = rx.try_iter().collect();
    assert!(batches.iter().all(|b| !b.is_empty()));
    let payloads: Vec<u8> = batches.iter().flatten().map(|f| f.data[42]).collect();
    assert_eq!(payloads, (0..50).collect::<Vec<u8>>());
    assert_eq!(stats.packets, 50);
}

#[test]
fn pcap_round_trip_and_other_tools_agree() {
    let dir = std::env::temp_dir().join(format!("socket-lab-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("round-trip.pcap");
    let frames: Vec<CapturedFrame> = (0..5u8)
        .map(|i| {
            // A UDP/IPv4 frame whose IP total length matches its size.
            let size = 42 + usize::from(i) * 100;
            let mut data = vec![0u8; size];
            data[12..14].copy_from_slice(&[0x08, 0x00]);
            data[14] = 0x45;
            data[16..18].copy_from_slice(&((size - 14) as u16).to_be_bytes());
            data[22] = 64;
            data[23] = 17;
            data[26..34].copy_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
            CapturedFrame {
                t_us: 1_000 + u64::from(i) * 250,
                data,
                orig_len: size,
            }
        })
        .collect();
    let clock = Clock::start();
    let mut writer = PcapWriter::create(&path, &clock).unwrap();
    for f in &frames {
        writer.write(f).unwrap();
    }
    assert!(!path.exists(), "nothing at the final name before finish()");
    assert_eq!(writer.finish().unwrap(), 5);

    let back = pcap::read_pcap(&path).unwrap();
    assert_eq!(back.link_type, LinkType::Ethernet);
    let shifted: Vec<CapturedFrame> = frames
        .iter()
        .map(|f| CapturedFrame {
            t_us: f.t_us - 1_000,
            ..f.clone()
        })
        .collect();
    assert_eq!(back.frames, shifted, "same bytes, lengths and gaps");

    match Command::new("tshark")
        .args(["-r"])
        .arg(&path)
        .args(["-T", "fields", "-e", "frame.len"])
        .output()
    {
        Ok(out) if out.status.success() => {
            let lens: Vec<usize> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| l.trim().parse().unwrap())
                .collect();
            assert_eq!(lens, frames.iter().map(|f| f.orig_len).collect::<Vec<_>>());
        }
        _ => eprintln!("skipped: tshark check (tshark not installed)"),
    }
    match Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(&path)
        .output()
    {
        Ok(out) if out.status.success() => {
            assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 5);
        }
        _ => eprintln!("skipped: tcpdump -r check (tcpdump not installed)"),
    }

    // A writer dropped before finish() leaves no file, not even a partial one.
    let abandoned = dir.join("abandoned.pcap");
    let mut writer = PcapWriter::create(&abandoned, &clock).unwrap();
    writer.write(&frames[0]).unwrap();
    drop(writer);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "only round-trip.pcap"
    );

    // Errors are one line naming the file.
    let junk = dir.join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture file").unwrap();
    let err = pcap::read_pcap(&junk).unwrap_err().to_string();
    assert!(
        err.starts_with(&junk.display().to_string()) && !err.contains('\n'),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Reads a file that tcpdump wrote while we sent three datagrams.
#[test]
fn reads_what_tcpdump_writes() {
    if !can_capture() {
        return;
    }
    if Command::new("tcpdump").arg("--version").output().is_err() {
        eprintln!("skipped: tcpdump not installed (apt-get install -y tcpdump)");
        return;
    }
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let path = std::env::temp_dir().join(format!("socket-lab-tcpdump-{port}.pcap"));
    let mut tcpdump = Command::new("tcpdump")
        .args(["-i", "lo", "--immediate-mode", "-U", "-Z", "root", "-w"])
        .arg(&path)
        .arg(format!("udp port {port}"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // tcpdump says "listening on lo" once its socket is open.
    let mut stderr = tcpdump.stderr.take().unwrap();
    let mut said = Vec::new();
    let mut byte = [0u8];
    while !String::from_utf8_lossy(&said).contains("listening on")
        && stderr.read(&mut byte).unwrap() == 1
    {
        said.push(byte[0]);
    }
    for text in ["one", "two", "three"] {
        server
            .send_to(text.as_bytes(), ("127.0.0.1", port))
            .unwrap();
    }
    // Without --immediate-mode tcpdump would lose these: libpcap's ring
    // hands a block over after up to a second, and SIGINT does not wait for
    // it (the very trap Capture::stop avoids).
    thread::sleep(std::time::Duration::from_millis(200));
    // SIGINT: tcpdump flushes and closes the file.
    unsafe { libc::kill(tcpdump.id() as libc::pid_t, libc::SIGINT) };
    tcpdump.wait().unwrap();

    let file = pcap::read_pcap(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(file.link_type, LinkType::Ethernet);
    let payloads: Vec<&[u8]> = file.frames.iter().map(|f| &f.data[42..]).collect();
    assert_eq!(
        payloads,
        [&b"one"[..], b"two", b"three"],
        "each datagram once, whole"
    );
    assert!(file.frames.windows(2).all(|w| w[0].t_us <= w[1].t_us));
}

/// The identity of the calling thread's network namespace.
fn namespace() -> std::path::PathBuf {
    std::fs::read_link("/proc/thread-self/ns/net").unwrap()
}

/// Two labs, each on a thread in its own namespace, bind the same address
/// at the same time; threads they spawn share their namespace; the host
/// sees none of it. A capture opened inside sees only the lab's traffic,
/// without a filter, and a lowered MTU fragments a datagram.
#[test]
fn labs_in_private_namespaces_do_not_meet() {
    if !netns::can_unshare() {
        eprintln!("skipped: cannot create network namespaces (needs CAP_SYS_ADMIN)");
        return;
    }
    let capture_too = can_capture();
    let host = namespace();
    let host_mtu = netns::lo_mtu().unwrap();
    let both_bound = Arc::new(Barrier::new(2));
    let labs: Vec<_> = (0..2)
        .map(|_| {
            let both_bound = Arc::clone(&both_bound);
            thread::spawn(move || {
                netns::enter_private_netns().unwrap();
                let ours = namespace();
                let listener =
                    TcpListener::bind("127.0.0.1:7000").expect("7000 is free in a new namespace");
                both_bound.wait();
                // A thread spawned from here starts in the same namespace,
                // where 7000 is taken.
                let (child_ns, rebind) =
                    thread::spawn(|| (namespace(), TcpListener::bind("127.0.0.1:7000").map(drop)))
                        .join()
                        .unwrap();
                assert_eq!(child_ns, ours);
                assert_eq!(rebind.unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
                // `lo` is up: a connection to ourselves works.
                TcpStream::connect("127.0.0.1:7000").unwrap();
                drop(listener);

                netns::set_lo_mtu(1500).unwrap();
                assert_eq!(netns::lo_mtu().unwrap(), 1500);
                if capture_too {
                    let (frames, stats, ..) = fragment_in_namespace();
                    assert_eq!(stats.dropped, 0);
                    // 3000 B of UDP payload + 8 B header over 1480-byte
                    // fragments: 1480 + 1480 + 48, and nothing else.
                    let sizes: Vec<usize> = frames.iter().map(|f| f.data.len() - 14 - 20).collect();
                    assert!(
                        sizes == [1480, 1480, 48] || sizes == [1480, 1480, 48, 1480, 1480, 48],
                        "{sizes:?}"
                    );
                }
                ours
            })
        })
        .collect();
    let spaces: Vec<_> = labs.into_iter().map(|lab| lab.join().unwrap()).collect();
    assert_ne!(spaces[0], spaces[1]);
    assert!(!spaces.contains(&host));
    assert_eq!(namespace(), host, "the test thread never moved");
    assert_eq!(
        netns::lo_mtu().unwrap(),
        host_mtu,
        "the host's lo is untouched"
    );
}

/// Sends one 3000-byte datagram under an unfiltered capture.
fn fragment_in_namespace() -> (Vec<CapturedFrame>, CaptureStats, u64) {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let clock = Clock::start();
    let (tx, rx) = mpsc::channel::<CapturedFrame>();
    let capture = Capture::start(&Filter::everything(), clock, tx).unwrap();
    server.send_to(&[1u8; 3000], ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 4000];
    assert_eq!(server.recv(&mut buf).unwrap(), 3000, "reassembled");
    let stats = capture.stop();
    (rx.try_iter().collect(), stats, port.into())
}
