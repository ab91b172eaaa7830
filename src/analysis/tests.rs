//! Hand-built conversations, one per rule: each shows the segment pattern
//! the kernel produces and the flag Wireshark gives it.

use super::*;
use crate::correlate::segment;
use crate::wire::{TcpFlags, TcpOption};

const C: &str = "127.0.0.1:40000";
const S: &str = "127.0.0.1:7000";
const SYN: TcpFlags = TcpFlags::SYN;
const ACK: TcpFlags = TcpFlags::ACK;

fn psh_ack() -> TcpFlags {
    TcpFlags::PSH | TcpFlags::ACK
}

/// A scripted capture: segments with times (ms) and windows.
struct Script {
    analyzer: Analyzer,
    results: Vec<Option<TcpAnalysis>>,
}

impl Script {
    fn new() -> Self {
        Script {
            analyzer: Analyzer::default(),
            results: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        t_ms: u64,
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        len: usize,
        window: u16,
    ) -> &TcpAnalysis {
        self.send_with(t_ms, from_client, seq, ack, flags, len, window, Vec::new())
    }

    #[allow(clippy::too_many_arguments)]
    fn send_with(
        &mut self,
        t_ms: u64,
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        len: usize,
        window: u16,
        options: Vec<TcpOption>,
    ) -> &TcpAnalysis {
        let (src, dst) = if from_client { (C, S) } else { (S, C) };
        let mut p = segment(src, dst, seq, ack, flags, &vec![b'x'; len]);
        p.t_us = 1_000_000 + t_ms * 1000;
        if let Ok(f) = &mut p.frame {
            if let crate::wire::Transport::Tcp(t) = &mut f.transport {
                t.window = window;
                t.options = options;
            }
        }
        let r = self.analyzer.observe(&p);
        self.results.push(r);
        self.results.last().unwrap().as_ref().unwrap()
    }

    /// The handshake (frames 1-3): client ISN 1000, server ISN 5000, no
    /// window scaling, windows of 1000.
    fn handshake() -> Self {
        let mut s = Script::new();
        s.send(0, true, 1000, 0, SYN, 0, 1000);
        s.send(1, false, 5000, 1001, SYN | ACK, 0, 1000);
        s.send(2, true, 1001, 5001, ACK, 0, 1000);
        s
    }

    fn kinds(&self, frame: usize) -> Vec<FlagKind> {
        self.results[frame - 1]
            .as_ref()
            .map(|a| a.flags.iter().map(Flag::kind).collect())
            .unwrap_or_default()
    }
}

#[test]
fn a_clean_exchange_has_no_flags_and_each_ack_names_its_segment() {
    let mut s = Script::handshake();
    s.send(10, true, 1001, 5001, psh_ack(), 100, 1000);
    let ack = s.send(11, false, 5001, 1101, ACK, 0, 1000).clone();
    for frame in 1..=5 {
        assert!(
            s.kinds(frame).is_empty(),
            "frame {frame}: {:?}",
            s.kinds(frame)
        );
    }
    // The SYN-ACK acks the SYN (frame 1), the data's ACK acks frame 4.
    assert_eq!(s.results[1].as_ref().unwrap().acked.unwrap().frame, 1);
    assert_eq!(
        ack.acked,
        Some(Acked {
            frame: 4,
            rtt_us: 1000
        })
    );
    assert_eq!(s.results[3].as_ref().unwrap().bytes_in_flight, Some(100));
}

#[test]
fn a_segment_sent_again_after_its_timer_is_a_retransmission_of_the_oldest_unacked() {
    let mut s = Script::handshake();
    s.send(10, true, 1001, 5001, psh_ack(), 100, 1000);
    s.send(11, true, 1101, 5001, psh_ack(), 100, 1000);
    let r = s.send(230, true, 1001, 5001, psh_ack(), 100, 1000).clone();
    assert_eq!(
        r.flags,
        vec![Flag::Retransmission {
            original: 4,
            after_us: 220_000
        }]
    );
    assert!(r.has(FlagKind::Retransmission));
    assert_eq!(r.flags[0].tag(), "retransmission of #4");
}

#[test]
fn two_duplicate_acks_then_the_asked_for_segment_is_a_fast_retransmission() {
    let mut s = Script::handshake();
    s.send(10, true, 1001, 5001, psh_ack(), 100, 1000); // 4: lost
    s.send(10, true, 1101, 5001, psh_ack(), 100, 1000); // 5
    s.send(10, true, 1201, 5001, psh_ack(), 100, 1000); // 6
    s.send(11, false, 5001, 1001, ACK, 0, 1000); // 7: same as frame 2's ACK
    s.send(11, false, 5001, 1001, ACK, 0, 1000); // 8
    let r = s.send(12, true, 1001, 5001, psh_ack(), 100, 1000).clone(); // 9
    assert_eq!(
        s.results[6].as_ref().unwrap().flags,
        vec![Flag::DuplicateAck { number: 1, of: 2 }]
    );
    assert_eq!(s.kinds(8), vec![FlagKind::DuplicateAck]);
    assert_eq!(r.flags, vec![Flag::FastRetransmission]);
    // A fast retransmission is also a retransmission to a filter.
    assert!(r.has(FlagKind::Retransmission) && r.has(FlagKind::FastRetransmission));
    assert!(!r.has(FlagKind::SpuriousRetransmission));
}

#[test]
fn data_already_acked_sent_again_is_a_spurious_retransmission() {
    let mut s = Script::handshake();
    s.send(10, true, 1001, 5001, psh_ack(), 100, 1000);
    s.send(11, false, 5001, 1101, ACK, 0, 1000);
    s.send(300, true, 1001, 5001, psh_ack(), 100, 1000);
    assert_eq!(s.kinds(6), vec![FlagKind::SpuriousRetransmission]);
}

#[test]
fn an_older_segment_right_after_a_newer_one_is_out_of_order() {
    let mut s = Script::handshake();
    s.send(10, true, 1101, 5001, psh_ack(), 100, 1000); // 4: a gap before it
    s.send(10, true, 1001, 5001, psh_ack(), 100, 1000); // 5: the gap, 0 ms later
    assert_eq!(s.kinds(4), vec![FlagKind::LostSegment]);
    assert_eq!(s.kinds(5), vec![FlagKind::OutOfOrder]);
}

#[test]
fn a_full_receiver_a_probe_its_ack_and_the_update() {
    let mut s = Script::handshake();
    // The client fills the server's 1000-byte window exactly.
    s.send(10, true, 1001, 5001, psh_ack(), 1000, 1000); // 4
    s.send(11, false, 5001, 2001, ACK, 0, 0); // 5: zero window
    s.send(300, true, 2001, 5001, ACK, 1, 1000); // 6: probe
    s.send(301, false, 5001, 2001, ACK, 0, 0); // 7: probe ack
    s.send(400, false, 5001, 2001, ACK, 0, 1000); // 8: the program read
    assert_eq!(s.kinds(4), vec![FlagKind::WindowFull]);
    assert_eq!(s.kinds(5), vec![FlagKind::ZeroWindow]);
    assert_eq!(s.kinds(6), vec![FlagKind::ZeroWindowProbe]);
    assert_eq!(
        s.kinds(7),
        vec![FlagKind::ZeroWindow, FlagKind::ZeroWindowProbeAck]
    );
    assert_eq!(s.kinds(8), vec![FlagKind::WindowUpdate]);
    // The probe's byte did not advance the sequence: the next data starts
    // at the same number and is new data, not a retransmission.
    s.send(401, true, 2001, 5001, psh_ack(), 100, 1000);
    assert!(s.kinds(9).is_empty(), "{:?}", s.kinds(9));
}

#[test]
fn a_keep_alive_repeats_the_last_byte_number_and_its_ack_repeats_the_ack() {
    let mut s = Script::handshake();
    s.send(1000, true, 1000, 5001, ACK, 0, 1000); // 4: keep-alive
    s.send(1001, false, 5001, 1001, ACK, 0, 1000); // 5: its ack
    assert_eq!(s.kinds(4), vec![FlagKind::KeepAlive]);
    assert_eq!(s.kinds(5), vec![FlagKind::KeepAliveAck]);
}

#[test]
fn an_ack_for_bytes_never_seen_is_an_acked_unseen_segment() {
    let mut s = Script::handshake();
    s.send(10, true, 1001, 5001, psh_ack(), 100, 1000);
    s.send(11, false, 5001, 1201, ACK, 0, 1000); // acks 100 bytes not seen
    assert_eq!(s.kinds(5), vec![FlagKind::AckedUnseen]);
    // The server's next segment repeats that ACK: the gap was said once.
    s.send(12, false, 5001, 1201, psh_ack(), 10, 1000);
    assert!(s.kinds(6).is_empty(), "{:?}", s.kinds(6));
    // The client skips bytes again; the ACK past them is reported.
    s.send(13, true, 1301, 5011, psh_ack(), 100, 1000);
    s.send(14, false, 5011, 1501, ACK, 0, 1000);
    assert_eq!(s.kinds(7), vec![FlagKind::LostSegment]);
    assert_eq!(s.kinds(8), vec![FlagKind::AckedUnseen]);
    assert_eq!(
        FlagKind::AckedUnseen.field(),
        "tcp.analysis.ack_lost_segment"
    );
}

#[test]
fn the_latest_sack_blocks_come_off_the_bytes_in_flight() {
    let mut s = Script::handshake();
    s.send(10, true, 1001, 5001, psh_ack(), 100, 1000); // 4: lost
    s.send(10, true, 1101, 5001, psh_ack(), 100, 1000); // 5
    s.send_with(
        11,
        false,
        5001,
        1001,
        ACK,
        0,
        1000,
        vec![TcpOption::Sack(vec![(1101, 1201)])],
    );
    let r = s.send(12, true, 1201, 5001, psh_ack(), 100, 1000);
    // 300 bytes unacked, 100 of them reported received.
    assert_eq!(r.bytes_in_flight, Some(200));
    // A later ACK without SACK blocks: they no longer count.
    s.send(13, false, 5001, 1001, ACK, 0, 1000);
    let r = s.send(14, true, 1301, 5001, psh_ack(), 100, 1000);
    assert_eq!(r.bytes_in_flight, Some(400));
}

#[test]
fn window_full_uses_the_scale_both_syns_agreed_on() {
    let mut s = Script::new();
    let ws = |n| vec![TcpOption::WindowScale(n)];
    s.send_with(0, true, 1000, 0, SYN, 0, 1000, ws(2));
    s.send_with(1, false, 5000, 1001, SYN | ACK, 0, 1000, ws(3));
    s.send(2, true, 1001, 5001, ACK, 0, 1000);
    s.send(3, false, 5001, 1001, ACK, 0, 100); // 100 << 3 = 800 bytes
    s.send(10, true, 1001, 5001, psh_ack(), 800, 1000);
    assert_eq!(s.kinds(5), vec![FlagKind::WindowFull]);
}

#[test]
fn every_flag_has_a_field_wireshark_knows_and_is_found_by_it() {
    for k in FlagKind::ALL {
        assert!(k.field().starts_with("tcp.analysis."));
        assert_eq!(FlagKind::from_field(k.field()), Some(k));
    }
    assert_eq!(FlagKind::from_field("tcp.analysis.nonsense"), None);
}

#[test]
fn closed_connections_are_forgotten_beyond_a_bound() {
    let mut a = Analyzer::default();
    for i in 0..(CLOSED_KEPT as u16 + 50) {
        let client = format!("127.0.0.1:{}", 10_000 + i);
        let mut p = segment(&client, S, 1, 0, SYN, &[]);
        p.t_us = 1;
        a.observe(&p);
        let rst = segment(S, &client, 0, 2, TcpFlags::RST | ACK, &[]);
        a.observe(&rst);
    }
    assert_eq!(a.connections(), CLOSED_KEPT);
}

#[test]
fn a_new_syn_on_a_used_port_pair_starts_afresh() {
    let mut s = Script::handshake();
    s.send(10, true, 1001, 5001, psh_ack(), 100, 1000);
    // Same ports, new ISN: not a retransmission, not a lost segment.
    s.send(20, true, 90_000, 0, SYN, 0, 1000);
    assert!(s.kinds(5).is_empty(), "{:?}", s.kinds(5));
}
