//! Capture, pcap and namespace tests on the real kernel.
//!
//! They need root (CAP_NET_RAW, CAP_SYS_ADMIN), as CI has. Without it each
//! prints `skipped: <reason>` and passes. Every test uses its own ephemeral
//! ports and a port filter, so they run in parallel without seeing each
//! other's traffic.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::thread;

use socket_lab::capture::{self, Capture, CaptureStats, CapturedFrame, Filter, ReadPath};
use socket_lab::clock::Clock;

// The other parts of this test binary; a test crate root looks for its
// modules beside itself, so the paths are spelled out.
#[path = "capture/namespaces.rs"]
mod namespaces;
#[path = "capture/pcap_files.rs"]
mod pcap_files;
#[path = "capture/privilege.rs"]
mod privilege;

/// Says why (part of) a test is skipped, on the real stderr: the harness
/// hides `eprintln!` of passing tests, and a skip must not look like a pass.
fn skip(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
}

/// Whether packet capture is possible here; says why not if it is not.
fn can_capture() -> bool {
    match capture::privilege() {
        Ok(()) => true,
        Err(e) => {
            skip(&e.to_string());
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
