//! Conversations: the packets of one connection (or one UDP pair of
//! addresses), numbered as Wireshark numbers them, with their totals.
//!
//! A capture interleaves every connection on the interface. Wireshark gives
//! each TCP connection a number, `tcp.stream`, in the order their first
//! packets appear (from 0), and each UDP pair of addresses a `udp.stream`:
//! `lab inspect --stream N` follows one of them and `--stats` sums each up.
//! A TCP port pair used again after its connection ended (a new SYN with a
//! new initial sequence number) is a new conversation, as in Wireshark.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::trace::Packet;
use crate::wire::{TcpFlags, Transport};

/// TCP or UDP, each with its own numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Tcp,
    Udp,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Udp => "udp",
        }
    }
}

/// One conversation and what crossed it.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub kind: Kind,
    /// Its number among the conversations of its kind, from 0.
    pub number: usize,
    /// The side that sent the first packet (the client, for TCP), and the
    /// other side.
    pub a: SocketAddr,
    pub b: SocketAddr,
    /// Packets and payload bytes from `a` to `b`, and from `b` to `a`.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// Times of its first and last packets (µs on the capture's clock).
    pub first_us: u64,
    pub last_us: u64,
    /// From the SYN to its SYN-ACK: one round trip, as the handshake
    /// measured it (TCP, when both were captured).
    pub handshake_rtt_us: Option<u64>,
    syn: Option<(u64, u32)>,
}

impl Conversation {
    /// How long it lasted, first packet to last.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.last_us - self.first_us)
    }

    /// Payload bytes per second, both ways together, over its duration.
    pub fn throughput(&self) -> Option<f64> {
        let secs = self.duration().as_secs_f64();
        (secs > 0.0).then(|| (self.bytes[0] + self.bytes[1]) as f64 / secs)
    }
}

/// The conversations of a capture, read packet by packet: one entry per
/// conversation, none per packet, so a capture of any length costs memory
/// in proportion to its conversations only.
#[derive(Debug, Default)]
pub struct Conversations {
    pub list: Vec<Conversation>,
    /// The conversation now open on each pair of addresses.
    open: HashMap<(Kind, SocketAddr, SocketAddr), usize>,
    /// How many of each kind have been numbered: TCP, UDP.
    numbered: [usize; 2],
}

impl Conversations {
    /// The next packet in capture order: the index in `list` of its
    /// conversation (opened by it, if it is the first), if it is in one
    /// (a packet that is neither TCP nor UDP, or a later IP fragment, is
    /// in none). Numbers it without counting it: see [`Self::count`].
    pub fn see(&mut self, p: &Packet) -> Option<usize> {
        let f = p.frame.as_ref().ok()?;
        let (src, dst) = f.endpoints()?;
        let (kind, opening) = match &f.transport {
            Transport::Tcp(t) => {
                let syn = t.flags.contains(TcpFlags::SYN) && !t.flags.contains(TcpFlags::ACK);
                (Kind::Tcp, syn.then_some(t.seq.0))
            }
            Transport::Udp(_) => (Kind::Udp, None),
            _ => return None,
        };
        let key = if src <= dst {
            (kind, src, dst)
        } else {
            (kind, dst, src)
        };
        let open = self.open.get(&key).copied();
        // A SYN with a new initial sequence number on a pair that already
        // had a connection starts a new one; a retransmitted SYN does not.
        let fresh = match (open, opening) {
            (None, _) => true,
            // (One that began before the capture had no SYN: the first SYN
            // seen on its pair begins a new one.)
            (Some(i), Some(isn)) => self.list[i].syn.is_none_or(|(_, old)| old != isn),
            (Some(_), None) => false,
        };
        let i = if fresh {
            let number = self.numbered[kind as usize];
            self.numbered[kind as usize] += 1;
            self.list.push(Conversation {
                kind,
                number,
                a: src,
                b: dst,
                packets: [0, 0],
                bytes: [0, 0],
                first_us: p.t_us,
                last_us: p.t_us,
                handshake_rtt_us: None,
                syn: None,
            });
            self.open.insert(key, self.list.len() - 1);
            self.list.len() - 1
        } else {
            open.expect("not fresh, so open")
        };
        let c = &mut self.list[i];
        if let Some(isn) = opening {
            c.syn.get_or_insert((p.t_us, isn));
        }
        Some(i)
    }

    /// Adds packet `p`, seen at index `at`, to its conversation's totals
    /// (a display filter's match: conversations keep the numbers the whole
    /// capture gives them, and count only what the filter holds).
    pub fn count(&mut self, at: usize, p: &Packet) {
        let Ok(f) = &p.frame else { return };
        let (Some(c), Some((src, _))) = (self.list.get_mut(at), f.endpoints()) else {
            return;
        };
        let len = match &f.transport {
            Transport::Tcp(t) => t.payload_len as u64,
            Transport::Udp(u) => u.payload.len() as u64,
            _ => return,
        };
        if c.packets == [0, 0] {
            c.first_us = p.t_us;
        }
        let way = usize::from(src != c.a);
        c.packets[way] += 1;
        c.bytes[way] += len;
        c.last_us = c.last_us.max(p.t_us);
        if let (Transport::Tcp(t), Some((syn_us, _))) = (&f.transport, c.syn)
            && t.flags.contains(TcpFlags::SYN | TcpFlags::ACK)
            && c.handshake_rtt_us.is_none()
        {
            c.handshake_rtt_us = Some(p.t_us.saturating_sub(syn_us));
        }
    }

    /// The next packet of a capture that is read as it comes (`lab
    /// capture`, the timeline): its conversation's kind and number, if it
    /// is in one. Only the conversations are kept, not the packets.
    pub fn number(&mut self, p: &Packet) -> Option<(Kind, usize)> {
        let i = self.see(p)?;
        Some((self.list[i].kind, self.list[i].number))
    }

    /// How many conversations of `kind` have been numbered.
    pub fn numbered(&self, kind: Kind) -> usize {
        self.numbered[kind as usize]
    }

    /// The conversations at least one counted packet was in, with the
    /// numbers they had (a conversation none of whose packets a filter
    /// kept is left out).
    pub fn counted(mut self) -> Conversations {
        self.list.retain(|c| c.packets != [0, 0]);
        self.open.clear();
        self
    }

    /// The conversation `number` of `kind`, as Wireshark numbers it.
    pub fn find(&self, kind: Kind, number: usize) -> Option<usize> {
        self.list
            .iter()
            .position(|c| c.kind == kind && c.number == number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCP segment at `t_us` (see [`crate::correlate::segment`]).
    fn segment(t_us: u64, src: &str, dst: &str, seq: u32, flags: TcpFlags, data: &[u8]) -> Packet {
        let mut p = crate::correlate::segment(src, dst, seq, 0, flags, data);
        p.t_us = t_us;
        p
    }

    #[test]
    fn a_port_pair_used_again_is_a_new_conversation_and_totals_add_up() {
        let (c, s) = ("127.0.0.1:40000", "127.0.0.1:7000");
        let (syn, ack, psh) = (TcpFlags::SYN, TcpFlags::ACK, TcpFlags::PSH);
        let packets = vec![
            segment(0, c, s, 100, syn, b""),
            segment(10, c, s, 100, syn, b""), // retransmitted: the same one
            segment(50, s, c, 900, syn | ack, b""),
            segment(60, c, s, 101, psh | ack, b"hello"),
            segment(70, s, c, 901, psh | ack, b"HI"),
            // The same ports, a new SYN: a second conversation.
            segment(1_000, c, s, 5000, syn, b""),
            segment(1_030, s, c, 7000, syn | ack, b""),
        ];
        // Read as a file is read: one packet at a time, each counted.
        let mut conv = Conversations::default();
        let mut of_packet = Vec::new();
        for p in &packets {
            let at = conv.see(p);
            if let Some(at) = at {
                conv.count(at, p);
            }
            of_packet.push(at);
        }
        assert_eq!(conv.list.len(), 2);
        assert_eq!(
            of_packet,
            vec![
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(1),
                Some(1)
            ]
        );
        assert_eq!((conv.numbered(Kind::Tcp), conv.numbered(Kind::Udp)), (2, 0));
        let first = &conv.list[0];
        assert_eq!((first.kind, first.number), (Kind::Tcp, 0));
        assert_eq!(first.a, c.parse().unwrap());
        assert_eq!((first.packets, first.bytes), ([3, 2], [5, 2]));
        assert_eq!(first.handshake_rtt_us, Some(50));
        assert_eq!(first.duration(), Duration::from_micros(70));
        assert_eq!(conv.list[1].number, 1);
        assert_eq!(conv.list[1].handshake_rtt_us, Some(30));
        assert_eq!(conv.find(Kind::Tcp, 1), Some(1));
        assert_eq!(conv.find(Kind::Udp, 0), None);
    }

    #[test]
    fn counting_some_packets_keeps_the_numbers_of_all() {
        let (c, s) = ("127.0.0.1:40000", "127.0.0.1:7000");
        let (syn, ack) = (TcpFlags::SYN, TcpFlags::ACK);
        let packets = [
            segment(0, c, s, 100, syn, b""),
            segment(50, s, c, 900, syn | ack, b""),
            segment(1_000, c, s, 5000, syn, b""),
            segment(1_030, s, c, 7000, syn | ack, b""),
            segment(1_040, c, s, 5001, ack, b"hi"),
        ];
        // A filter that matched only the second connection's last two.
        let matched = [false, false, false, true, true];
        let mut conv = Conversations::default();
        let mut of_packet = Vec::new();
        for (p, matched) in packets.iter().zip(matched) {
            let at = conv.see(p);
            if let (Some(at), true) = (at, matched) {
                conv.count(at, p);
            }
            of_packet.push(at.map(|i| conv.list[i].number));
        }
        // Every packet was numbered, the first connection's too.
        assert_eq!(of_packet, vec![Some(0), Some(0), Some(1), Some(1), Some(1)]);
        let conv = conv.counted();
        assert_eq!(conv.list.len(), 1);
        let second = &conv.list[0];
        assert_eq!((second.kind, second.number), (Kind::Tcp, 1));
        assert_eq!((second.packets, second.bytes), ([1, 1], [2, 0]));
        assert_eq!((second.first_us, second.last_us), (1_030, 1_040));
        // Its SYN was seen though not counted: the round trip is known.
        assert_eq!(second.handshake_rtt_us, Some(30));
    }
}
