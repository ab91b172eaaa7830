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

/// The conversations of a capture, and which one each packet is in.
#[derive(Debug, Default)]
pub struct Conversations {
    pub list: Vec<Conversation>,
    /// For each packet: its conversation's index in `list`, if it has one
    /// (a packet that is neither TCP nor UDP, or a later IP fragment, has
    /// none).
    pub of_packet: Vec<Option<usize>>,
    /// The conversation now open on each pair of addresses.
    open: HashMap<(Kind, SocketAddr, SocketAddr), usize>,
}

impl Conversations {
    /// Goes through `packets` in capture order.
    pub fn of(packets: &[Packet]) -> Conversations {
        let mut c = Conversations::default();
        for p in packets {
            let at = c.add(p, true);
            c.of_packet.push(at);
        }
        c
    }

    /// Goes through `packets` in capture order, numbering every one but
    /// counting only those `counted` says (a display filter's matches):
    /// conversations keep the numbers the whole capture gives them, and a
    /// conversation none of whose packets counts is left out of `list`.
    pub fn of_counted(packets: &[Packet], counted: &[bool]) -> Conversations {
        let mut c = Conversations::default();
        for (p, &count) in packets.iter().zip(counted) {
            let at = c.add(p, count);
            c.of_packet.push(at);
        }
        let kept: Vec<usize> = (0..c.list.len())
            .filter(|&i| c.list[i].packets != [0, 0])
            .collect();
        for at in &mut c.of_packet {
            *at = at.and_then(|i| kept.iter().position(|&k| k == i));
        }
        let mut i = 0;
        c.list.retain(|_| {
            i += 1;
            kept.contains(&(i - 1))
        });
        c.open.clear();
        c
    }

    /// The next packet of a capture that is read as it comes (`lab
    /// capture`): its conversation's kind and number, if it is in one.
    /// Only the conversations are kept, not the packets.
    pub fn number(&mut self, p: &Packet) -> Option<(Kind, usize)> {
        let i = self.add(p, true)?;
        Some((self.list[i].kind, self.list[i].number))
    }

    /// The conversation `number` of `kind`, as Wireshark numbers it.
    pub fn find(&self, kind: Kind, number: usize) -> Option<usize> {
        self.list
            .iter()
            .position(|c| c.kind == kind && c.number == number)
    }

    /// Takes the next packet, in capture order, and returns its
    /// conversation's index in `list`. Unlike [`Conversations::of`], keeps
    /// nothing per packet: for a capture with no end (`lab capture`).
    pub fn push(&mut self, p: &Packet) -> Option<usize> {
        self.add(p, true)
    }

    /// Finds (or opens) the conversation of `p`; when `count`, adds `p` to
    /// its totals.
    fn add(&mut self, p: &Packet, count: bool) -> Option<usize> {
        let f = p.frame.as_ref().ok()?;
        let (src, dst) = f.endpoints()?;
        let (kind, len, opening) = match &f.transport {
            Transport::Tcp(t) => {
                let syn = t.flags.contains(TcpFlags::SYN) && !t.flags.contains(TcpFlags::ACK);
                (Kind::Tcp, t.payload_len as u64, syn.then_some(t.seq.0))
            }
            Transport::Udp(u) => (Kind::Udp, u.payload.len() as u64, None),
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
            let number = self.list.iter().filter(|c| c.kind == kind).count();
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
        if !count {
            return Some(i);
        }
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
        Some(i)
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
        let conv = Conversations::of(&packets);
        assert_eq!(conv.list.len(), 2);
        assert_eq!(
            conv.of_packet,
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
        let packets = vec![
            segment(0, c, s, 100, syn, b""),
            segment(50, s, c, 900, syn | ack, b""),
            segment(1_000, c, s, 5000, syn, b""),
            segment(1_030, s, c, 7000, syn | ack, b""),
            segment(1_040, c, s, 5001, ack, b"hi"),
        ];
        // A filter that matched only the second connection's last two.
        let conv = Conversations::of_counted(&packets, &[false, false, false, true, true]);
        assert_eq!(conv.list.len(), 1);
        let second = &conv.list[0];
        assert_eq!((second.kind, second.number), (Kind::Tcp, 1));
        assert_eq!((second.packets, second.bytes), ([1, 1], [2, 0]));
        assert_eq!((second.first_us, second.last_us), (1_030, 1_040));
        // Its SYN was seen though not counted: the round trip is known.
        assert_eq!(second.handshake_rtt_us, Some(30));
        assert_eq!(conv.of_packet, vec![None, None, Some(0), Some(0), Some(0)]);
    }
}
