//! One connection's state and Wireshark's tests, in Wireshark's order (see
//! the module above for what each flag means).
//!
//! Sequence numbers are compared modulo 2^32 (RFC 793): `a` is after `b`
//! when `a - b`, read as a signed 32-bit number, is positive. As in
//! Wireshark, a stored sequence number or ACK of 0 stands for "not seen
//! yet" (a SYN's ACK field is 0, so the first ACK of a direction is only
//! trusted once a segment carrying the ACK flag has been seen).

use std::net::SocketAddr;

use super::{Acked, Flag, TcpAnalysis};
use crate::wire::{TcpFlags, TcpOption, TcpRepr};

/// Unacknowledged segments kept per direction (Wireshark's
/// `TCP_MAX_UNACKED_SEGMENTS`): past it, new segments are not tracked.
const MAX_UNACKED: usize = 10_000;

/// Within this time of the last duplicate ACK, a resend of the segment it
/// asks for is a fast retransmission (Wireshark's 20 ms).
const FAST_RETRANSMISSION_NS: u64 = 20_000_000;

/// The reordering window when the handshake's round trip is unknown.
const DEFAULT_REORDER_NS: u64 = 3_000_000;

fn after(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
fn at_or_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// Window scaling of one direction (RFC 7323).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    /// No SYN seen: the real window is unknown.
    Unknown,
    /// The SYNs did not agree on scaling: the header's window is the window.
    Off,
    /// The header's window is shifted left by this much.
    Shift(u8),
}

/// SACK blocks counted for bytes in flight (Wireshark keeps 3).
const SACK_KEPT: usize = 3;

/// A segment sent and not yet fully acknowledged.
#[derive(Debug, Clone, Copy)]
struct Unacked {
    frame: u64,
    seq: u32,
    nextseq: u32,
    t_ns: u64,
}

/// What one direction (one sender) has done so far.
#[derive(Debug, Clone)]
struct Flow {
    /// The ISN, once known (relative numbers for bytes in flight).
    base_seq: Option<u32>,
    /// One past the highest sequence number sent, with when and in which
    /// frame it was reached (0: nothing sent yet).
    nextseq: u32,
    nextseq_frame: u64,
    nextseq_ns: u64,
    /// The highest sequence number below which every byte was seen.
    max_seq_to_be_acked: u32,
    /// The last ACK number this side sent, and when (0: none yet).
    lastack: u32,
    lastack_ns: u64,
    /// The last window field this side sent, as in the header (unscaled).
    window: u32,
    /// Whether that window came from a SYN (never scaled).
    window_from_syn: bool,
    /// How this side's windows are scaled, as far as the SYNs told.
    scale: Scale,
    /// Duplicate ACKs in a row, and the frame of the ACK they repeat;
    /// -1 marks that the other side's "ACKed unseen segment" was reported
    /// since this side last skipped bytes (see test 10).
    dupacks: i32,
    last_non_dup_ack: u64,
    /// The flags of this side's previous segment (keep-alive and probe
    /// ACKs answer it).
    last_flags: Vec<Flag>,
    /// Segments in flight, oldest first.
    unacked: Vec<Unacked>,
    /// Whether bytes in flight can be trusted (not after a gap, until the
    /// other side ACKs again).
    valid_bif: bool,
    /// The SACK blocks of this side's latest segment.
    sack: Vec<(u32, u32)>,
    /// A FIN was sent.
    fin: bool,
}

impl Flow {
    fn new() -> Self {
        Flow {
            base_seq: None,
            nextseq: 0,
            nextseq_frame: 0,
            nextseq_ns: 0,
            max_seq_to_be_acked: 0,
            lastack: 0,
            lastack_ns: 0,
            // Wireshark starts from "unknown", the largest window, so that
            // nothing looks like a zero-window probe before the peer spoke.
            window: u32::MAX,
            window_from_syn: false,
            scale: Scale::Unknown,
            dupacks: 0,
            last_non_dup_ack: 0,
            last_flags: Vec::new(),
            unacked: Vec::new(),
            valid_bif: true,
            sack: Vec::new(),
            fin: false,
        }
    }
}

/// Both directions of one connection.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The address of the side whose state is `flows[0]`.
    first: SocketAddr,
    flows: [Flow; 2],
    /// When the latest SYN was sent, and the handshake's round trip
    /// (SYN to the first ACK), 0 until measured.
    syn_ns: Option<u64>,
    first_rtt_ns: u64,
    reset: bool,
}

impl Connection {
    pub fn new(first: SocketAddr) -> Self {
        Connection {
            first,
            flows: [Flow::new(), Flow::new()],
            syn_ns: None,
            first_rtt_ns: 0,
            reset: false,
        }
    }

    /// Ended by a RST or by a FIN each way.
    pub fn is_closed(&self) -> bool {
        self.reset || (self.flows[0].fin && self.flows[1].fin)
    }

    /// Judges the segment `tcp`, sent by `src` in frame `frame` at `t_us`.
    pub fn segment(
        &mut self,
        frame: u64,
        t_us: u64,
        src: SocketAddr,
        tcp: &TcpRepr,
    ) -> TcpAnalysis {
        let t_ns = t_us.saturating_mul(1000);
        let flags = tcp.flags;
        let syn = flags.contains(TcpFlags::SYN);
        let ack_flag = flags.contains(TcpFlags::ACK);
        let fin = flags.contains(TcpFlags::FIN);
        let rst = flags.contains(TcpFlags::RST);
        let f = usize::from(src != self.first);
        let (seq, ack, seglen) = (tcp.seq.0, tcp.ack.0, tcp.payload_len as u32);
        let window = u32::from(tcp.window);

        // A new SYN with another initial sequence number on this port pair:
        // a new connection (Wireshark's "reused ports").
        if syn && !ack_flag && self.flows[f].base_seq.is_some_and(|b| b != seq) {
            *self = Connection::new(src);
            return self.segment(frame, t_us, src, tcp);
        }

        // The handshake's round trip: from the SYN to the first plain ACK.
        if syn && !ack_flag {
            self.syn_ns = Some(t_ns);
        } else if let Some(syn_ns) = self.syn_ns.filter(|_| ack_flag && !syn) {
            if self.first_rtt_ns == 0 {
                self.first_rtt_ns = t_ns.wrapping_sub(syn_ns);
            }
        }

        let (a, b) = self.flows.split_at_mut(1);
        let (fwd, rev) = if f == 0 {
            (&mut a[0], &mut b[0])
        } else {
            (&mut b[0], &mut a[0])
        };
        if fwd.base_seq.is_none() {
            fwd.base_seq = Some(if syn { seq } else { seq.wrapping_sub(1) });
        }
        if rev.base_seq.is_none() && ack_flag {
            rev.base_seq = Some(ack.wrapping_sub(1));
        }
        if ack_flag {
            rev.valid_bif = true;
        }

        let mut out = TcpAnalysis::default();
        let no_ctl = !(syn || fin || rst);
        let same_seq_ack = seq == fwd.nextseq && ack == fwd.lastack;

        // The window tests end at the first of these that applies.
        'tests: {
            // 1. Zero window probe.
            if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
                out.flags.push(Flag::ZeroWindowProbe);
                break 'tests;
            }
            // 2. Zero window.
            if window == 0 && no_ctl {
                out.flags.push(Flag::ZeroWindow);
            }
            // 3. Previous segment not captured.
            if fwd.nextseq != 0 && after(seq, fwd.nextseq) && !rst {
                out.flags.push(Flag::LostSegment);
                // A new gap: the ACK that covers it will be reported.
                if fwd.dupacks == -1 {
                    fwd.dupacks = 0;
                }
                fwd.valid_bif = false;
            }
            // 4. Keep-alive.
            if (seglen == 0 || seglen == 1) && seq == fwd.nextseq.wrapping_sub(1) && no_ctl {
                out.flags.push(Flag::KeepAlive);
            }
            // 5. Window update.
            if seglen == 0 && window != 0 && window != fwd.window && same_seq_ack && no_ctl {
                out.flags.push(Flag::WindowUpdate);
            }
            // 6. Window full: data up to the right edge the peer gave.
            if seglen > 0 && no_ctl {
                let shift = match rev.scale {
                    _ if rev.window_from_syn => Some(0),
                    Scale::Unknown => None,
                    Scale::Off => Some(0),
                    Scale::Shift(s) => Some(s),
                };
                if let Some(shift) = shift {
                    let edge = rev
                        .lastack
                        .wrapping_add(rev.window.wrapping_shl(u32::from(shift)));
                    if seq.wrapping_add(seglen) == edge {
                        out.flags.push(Flag::WindowFull);
                    }
                }
            }
            let empty_repeat = seglen == 0 && window == fwd.window && same_seq_ack && no_ctl;
            // 7. Keep-alive ACK.
            if empty_repeat && window != 0 && rev.last_flags.contains(&Flag::KeepAlive) {
                out.flags.push(Flag::KeepAliveAck);
                break 'tests;
            }
            // 8. Zero window probe ACK.
            if empty_repeat && window == 0 && rev.last_flags.contains(&Flag::ZeroWindowProbe) {
                out.flags.push(Flag::ZeroWindowProbeAck);
                break 'tests;
            }
            // 9. Duplicate ACK.
            if empty_repeat && window != 0 {
                fwd.dupacks = if fwd.dupacks == -1 {
                    1
                } else {
                    fwd.dupacks + 1
                };
                out.flags.push(Flag::DuplicateAck {
                    number: fwd.dupacks as u32,
                    of: fwd.last_non_dup_ack,
                });
            }
        }
        // A new ACK number starts a new run of duplicates.
        if ack != fwd.lastack {
            fwd.last_non_dup_ack = frame;
            fwd.dupacks = 0;
        }

        // 10. ACKed unseen segment: beyond the bytes seen the other way
        // without a gap. Reported once per gap: the first such ACK says it
        // (marked by -1 in the other side's count), the ones after it stay
        // quiet until the other side skips bytes again.
        if rev.max_seq_to_be_acked != 0 && after(ack, rev.max_seq_to_be_acked) && ack_flag {
            if rev.dupacks == 0 {
                out.flags.push(Flag::AckedUnseen);
            }
            rev.dupacks = -1;
            rev.max_seq_to_be_acked = rev.nextseq;
        }

        // 11. Data (or SYN, FIN) that does not advance the sequence.
        if seglen > 0 || syn || fin {
            retransmission_kind(
                &mut out,
                RetransmissionCheck {
                    seq,
                    seglen,
                    syn_or_fin: syn || fin,
                    t_ns,
                    reorder_ns: if self.first_rtt_ns == 0 {
                        DEFAULT_REORDER_NS
                    } else {
                        self.first_rtt_ns
                    },
                },
                fwd,
                rev,
            );
        }

        // Remember the segment until it is acknowledged.
        let mut nextseq = seq.wrapping_add(seglen);
        if (seglen > 0 || syn || fin) && fwd.unacked.len() < MAX_UNACKED {
            if syn || fin {
                nextseq = nextseq.wrapping_add(1);
            }
            fwd.unacked.push(Unacked {
                frame,
                seq,
                nextseq,
                t_ns,
            });
        }
        let probe = out.flags.contains(&Flag::ZeroWindowProbe);
        // A probe's byte does not count as sent: the receiver had no room.
        if (after(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !probe {
            fwd.nextseq = nextseq;
            fwd.nextseq_frame = frame;
            fwd.nextseq_ns = t_ns;
        }
        if (seq == fwd.max_seq_to_be_acked || fwd.max_seq_to_be_acked == 0) && !probe {
            fwd.max_seq_to_be_acked = fwd.nextseq;
        }
        fwd.window = window;
        fwd.window_from_syn = syn;
        fwd.lastack = ack;
        fwd.lastack_ns = t_ns;
        fwd.last_flags = out.flags.clone();

        // The ACK retires the other side's segments it covers; an exact
        // match names the segment and the round trip.
        rev.unacked.retain_mut(|u| {
            if ack == u.nextseq {
                // (Wireshark walks newest first, so the oldest match wins.)
                if out.acked.is_none() {
                    out.acked = Some(Acked {
                        frame: u.frame,
                        rtt_us: t_ns.wrapping_sub(u.t_ns) / 1000,
                    });
                }
                return false;
            }
            if after(ack, u.seq) && at_or_before(ack, u.nextseq) {
                u.seq = ack;
                return true;
            }
            if after(u.nextseq, ack) {
                return true;
            }
            false
        });

        if seglen != 0 && fwd.valid_bif && !fwd.unacked.is_empty() {
            out.bytes_in_flight = bytes_in_flight(fwd, rev, syn || fin);
        }

        // Window scaling is settled by the SYNs (after their own analysis).
        if syn {
            let offered = tcp.options.iter().find_map(|o| match o {
                TcpOption::WindowScale(s) => Some((*s).min(14)),
                _ => None,
            });
            settle_window_scale(&mut self.flows, f, ack_flag, offered);
        }
        // Only the latest segment's SACK blocks count: a segment without
        // any clears them.
        let fwd = &mut self.flows[f];
        fwd.sack.clear();
        for o in &tcp.options {
            if let TcpOption::Sack(blocks) = o {
                fwd.sack.extend(blocks.iter().copied().take(SACK_KEPT));
            }
        }
        if fin {
            fwd.fin = true;
        }
        if rst {
            self.reset = true;
        }
        out
    }
}

/// What test 11 needs to know of the segment.
struct RetransmissionCheck {
    seq: u32,
    seglen: u32,
    syn_or_fin: bool,
    t_ns: u64,
    reorder_ns: u64,
}

/// Test 11: spurious, fast, out-of-order or plain retransmission.
fn retransmission_kind(out: &mut TcpAnalysis, c: RetransmissionCheck, fwd: &Flow, rev: &Flow) {
    let RetransmissionCheck {
        seq,
        seglen,
        syn_or_fin,
        t_ns,
        reorder_ns,
    } = c;
    if out.flags.contains(&Flag::KeepAlive) {
        return;
    }
    let mut not_advanced = fwd.nextseq != 0 && before(seq, fwd.nextseq);
    // One byte less than expected, with more than one byte: the previous
    // segment was probably a zero window probe; this one brings new data.
    if seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq {
        not_advanced = false;
    }
    // Every byte of it already acknowledged.
    if seglen > 0 && rev.lastack != 0 && at_or_before(seq.wrapping_add(seglen), rev.lastack) {
        out.flags.push(Flag::SpuriousRetransmission);
        return;
    }
    // The peer asked for it with two or more duplicate ACKs, just now.
    let since_ack = t_ns.wrapping_sub(rev.lastack_ns);
    if not_advanced && rev.dupacks >= 2 && rev.lastack == seq && since_ack < FAST_RETRANSMISSION_NS
    {
        out.flags.push(Flag::FastRetransmission);
        return;
    }
    // Too soon after the highest segment to be a resend.
    let since_highest = t_ns.wrapping_sub(fwd.nextseq_ns);
    let end = seq.wrapping_add(seglen).wrapping_add(u32::from(syn_or_fin));
    if not_advanced && since_highest < reorder_ns && fwd.nextseq != end {
        out.flags.push(Flag::OutOfOrder);
        return;
    }
    if not_advanced {
        // Wireshark's guess at the segment repeated: the oldest one still
        // unacknowledged (or the highest one, when none is).
        let (original, at) = match fwd.unacked.first() {
            Some(u) => (u.frame, u.t_ns),
            None => (fwd.nextseq_frame, fwd.nextseq_ns),
        };
        out.flags.push(Flag::Retransmission {
            original,
            after_us: t_ns.wrapping_sub(at) / 1000,
        });
    }
}

/// Bytes sent by `fwd` and not acknowledged: from the first byte of the
/// oldest segment still waiting for an ACK to the end of the newest
/// (Wireshark's default, payload-based count), less the bytes the SACK
/// blocks of `rev`'s latest segment say arrived.
fn bytes_in_flight(fwd: &Flow, rev: &Flow, syn_or_fin: bool) -> Option<u32> {
    let base = fwd.base_seq.unwrap_or(0);
    let first = fwd.unacked.iter().map(|u| u.seq.wrapping_sub(base)).min()?;
    let last = fwd
        .unacked
        .iter()
        .map(|u| u.nextseq.wrapping_sub(base))
        .max()?;
    let sacked: u32 = rev
        .sack
        .iter()
        .fold(0u32, |n, (l, r)| n.wrapping_add(r.wrapping_sub(*l)));
    let in_flight = last.wrapping_sub(first).wrapping_sub(sacked);
    // (A SYN or FIN counts one sequence number but no byte.)
    // (Wireshark shows no count of 0.)
    let in_flight =
        (in_flight > 0 && in_flight < 2_000_000_000).then(|| in_flight - u32::from(syn_or_fin))?;
    (in_flight > 0).then_some(in_flight)
}

/// After a SYN: whether windows are scaled, and by how much (RFC 7323:
/// only when both SYNs carried the option). As in Wireshark: a SYN without
/// the option turns scaling off both ways; a SYN-ACK with it, answering a
/// SYN without it, does not turn it back on.
fn settle_window_scale(flows: &mut [Flow; 2], f: usize, synack: bool, offered: Option<u8>) {
    let r = 1 - f;
    if let Some(s) = offered {
        flows[f].scale = Scale::Shift(s);
    }
    if flows[f].scale == Scale::Unknown {
        flows[f].scale = Scale::Off;
        flows[r].scale = Scale::Off;
    } else if synack && flows[r].scale == Scale::Off {
        flows[f].scale = Scale::Off;
    }
}
