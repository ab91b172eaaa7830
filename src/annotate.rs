//! Notes on packets: what each packet carries, in the names of the calls.
//!
//! Wireshark shows a packet's headers, and even its place in its byte
//! stream (relative sequence numbers), but not which call of which program
//! put the bytes there: the kernel does not write that on the wire. The
//! lab knows it, from the message map (see [`crate::correlate`]). These
//! notes write it down, one line each, for the comments of a pcapng file
//! (see [`crate::pcapng`]):
//!
//! - `client send #2 [5, 9) "feng"`: the packet carries bytes 5 to 8 of
//!   the client's byte stream, which its second `send` handed to the
//!   kernel. A segment may carry the bytes of several sends (Nagle, cork:
//!   one note each), and a large send rides in several segments (each says
//!   which of its bytes it holds).
//! - `read by server recv #1 [0, 9)`: the receive that returned those
//!   bytes to the program. The packet boundaries are not the receive's:
//!   one recv can return the bytes of two packets (sticky packets, 粘包).
//! - `SYN (client connect #1)`: a packet with no data that a call caused.
//!   `connect` sends the SYN; `close` (or `shutdown`) sends the FIN, or a
//!   RST when unread data is thrown away or SO_LINGER is 0.
//! - `SYN,ACK (server's kernel, listening since server listen #1)`: no
//!   call sends it. The kernel answers a SYN for any listening socket;
//!   `accept` only takes a connection that is already there.
//!
//! A plain ACK gets no note: the kernel sends it when data arrives, and
//! its acknowledgment number already says what it acknowledges.
//!
//! Where no calls are known (`lab capture` watches other programs), a
//! packet that carries data says which conversation it belongs to, in
//! Wireshark's numbering, and which bytes of it:
//! `tcp.stream 0, 127.0.0.1:47230 → 127.0.0.1:8080, [5, 9) "feng"`.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;

use crate::conversations::{Conversations, Kind};
use crate::correlate::{MapEntry, same_endpoint};
use crate::escape::preview;
use crate::render::map::call_names;
use crate::trace::{Call, Op, Packet, Proto};
use crate::wire::{TcpFlags, Transport};

/// Bytes of payload a note previews.
pub const NOTE_PREVIEW: usize = 24;

/// Which part of a call's bytes a packet holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bytes {
    /// Stream offsets `[start, end)` of a TCP direction, counted from 0 at
    /// its first byte, as the calls' `stream` ranges are.
    Stream(u64, u64),
    /// A UDP datagram of this many bytes: whole, or the first IP fragment
    /// of it (which holds the UDP header and the datagram's start).
    Datagram(usize),
    /// A later IP fragment of a datagram of `len` bytes, holding the IP
    /// payload from byte `offset` on (the UDP header counts: 8 bytes).
    Fragment { len: usize, offset: usize },
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bytes::Stream(a, b) => write!(f, "[{a}, {b})"),
            Bytes::Datagram(n) => write!(f, "{n} B datagram"),
            Bytes::Fragment { len, offset } => {
                write!(f, "{len} B datagram, the fragment at offset {offset}")
            }
        }
    }
}

/// A packet that opens, closes or resets a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Syn,
    SynAck,
    Fin,
    Rst,
}

impl Control {
    /// The flag that makes a TCP segment this kind of packet, if any (a
    /// FIN or RST that also carries data is still one).
    fn of(flags: TcpFlags) -> Option<Control> {
        if flags.contains(TcpFlags::RST) {
            Some(Control::Rst)
        } else if flags.contains(TcpFlags::SYN | TcpFlags::ACK) {
            Some(Control::SynAck)
        } else if flags.contains(TcpFlags::SYN) {
            Some(Control::Syn)
        } else if flags.contains(TcpFlags::FIN) {
            Some(Control::Fin)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Control::Syn => "SYN",
            Control::SynAck => "SYN,ACK",
            Control::Fin => "FIN",
            Control::Rst => "RST",
        }
    }
}

/// One line about one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The packet carries these bytes of a send (`client send #2`).
    Sent {
        call: String,
        bytes: Bytes,
        /// The bytes themselves, escaped and cut (see [`preview`]).
        preview: String,
        cut: bool,
    },
    /// A receive returned these bytes of the packet.
    ReadBy { call: String, bytes: Bytes },
    /// A call made the kernel send this packet.
    CausedBy { control: Control, call: String },
    /// The kernel of `actor` sent it on its own (`listen`: the call that
    /// let it answer, if seen).
    Kernel {
        control: Control,
        actor: Option<String>,
        listen: Option<String>,
    },
    /// A FIN whose program made no `close` or `shutdown` call that was
    /// seen: the kernel closes a program's sockets when it exits.
    UnseenClose,
    /// Where no calls are known: the conversation and the bytes.
    Conversation {
        kind: Kind,
        /// Its number, as Wireshark's `tcp.stream` / `udp.stream`.
        number: usize,
        from: SocketAddr,
        to: SocketAddr,
        bytes: Bytes,
        preview: String,
        cut: bool,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let more = |cut: &bool| if *cut { "…" } else { "" };
        match self {
            Note::Sent {
                call,
                bytes,
                preview,
                cut,
            } => write!(f, "{call} {bytes} \"{preview}{}\"", more(cut)),
            Note::ReadBy { call, bytes } => write!(f, "read by {call} {bytes}"),
            Note::CausedBy { control, call } => write!(f, "{} ({call})", control.name()),
            Note::Kernel {
                control,
                actor,
                listen,
            } => {
                let whose = match actor {
                    Some(a) => format!("{a}'s kernel"),
                    None => "the kernel".to_string(),
                };
                match (control, listen) {
                    (_, Some(l)) => write!(f, "{} ({whose}, listening since {l})", control.name()),
                    (Control::Rst, None) => {
                        write!(f, "RST ({whose}: no call asked for it)")
                    }
                    (c, None) => write!(f, "{} ({whose})", c.name()),
                }
            }
            Note::UnseenClose => write!(f, "FIN (no close or shutdown call seen)"),
            Note::Conversation {
                kind,
                number,
                from,
                to,
                bytes,
                preview,
                cut,
            } => write!(
                f,
                "{}.stream {number}, {from} → {to}, {bytes} \"{preview}{}\"",
                kind.name(),
                more(cut)
            ),
        }
    }
}

/// The notes of every packet of a run or a trace (by index in
/// `packets`), from its calls and its message map.
pub fn of_run(calls: &[Call], packets: &[Packet], map: &[MapEntry]) -> Vec<Vec<Note>> {
    let names = call_names(calls);
    let mut notes: Vec<Vec<Note>> = vec![Vec::new(); packets.len()];
    // Control packets first: they come first in a packet that is both
    // (a FIN that carries the last bytes).
    let causes = Causes::new(calls);
    for (j, p) in packets.iter().enumerate() {
        if let Some(note) = causes.of(p, &names) {
            notes[j].push(note);
        }
    }
    // Then the bytes: every send first, then every receive, in call order.
    for reading in [false, true] {
        for e in map.iter().filter(|e| calls[e.call].is_recv() == reading) {
            let c = &calls[e.call];
            for &j in &e.packets {
                let Some(note) = bytes_note(c, &names[e.call], &packets[j]) else {
                    continue;
                };
                notes[j].push(note);
            }
        }
    }
    notes
}

/// What the map says packet `p` holds of call `c`.
fn bytes_note(c: &Call, name: &str, p: &Packet) -> Option<Note> {
    let frame = p.frame.as_ref().ok()?;
    let (bytes, payload): (Bytes, &[u8]) = match (c.proto, c.stream, p.info.stream) {
        (Some(Proto::Tcp), Some(call), Some(packet)) => {
            // The part of the packet that is this call's.
            let (s, e) = (call.0.max(packet.0), call.1.min(packet.1));
            if s >= e {
                return None;
            }
            let payload = match &frame.transport {
                Transport::Tcp(t) => &t.payload[..],
                _ => &[],
            };
            let from = ((s - packet.0) as usize).min(payload.len());
            let to = ((e - packet.0) as usize).min(payload.len());
            (Bytes::Stream(s, e), &payload[from..to])
        }
        (Some(Proto::Udp), ..) => {
            let n = c.returned.unwrap_or(0).max(0) as usize;
            let data = c.data.as_deref().unwrap_or_default();
            match frame.ip.fragment {
                // A later fragment: no UDP header, the datagram's middle.
                Some(frag) if frag.offset > 0 => {
                    let from = frag.offset.saturating_sub(8).min(data.len());
                    let bytes = Bytes::Fragment {
                        len: n,
                        offset: frag.offset,
                    };
                    (bytes, &data[from..])
                }
                _ => (Bytes::Datagram(n), data),
            }
        }
        _ => return None,
    };
    if c.is_recv() {
        return Some(Note::ReadBy {
            call: name.to_string(),
            bytes,
        });
    }
    let (preview, cut) = preview(payload, NOTE_PREVIEW);
    Some(Note::Sent {
        call: name.to_string(),
        bytes,
        preview,
        cut,
    })
}

/// The calls that cause control packets, found by their endpoints.
///
/// Indexed by the local port: a trace may hold thousands of connections,
/// and each control packet looks only at the calls on its own port.
struct Causes<'a> {
    calls: &'a [Call],
    /// `connect`, `close`, `shutdown` calls by their local port (a
    /// connect that failed before its socket had one: by the peer's port,
    /// under `peerless`).
    by_local: HashMap<u16, Vec<usize>>,
    connects_by_peer: HashMap<u16, Vec<usize>>,
    /// `listen` calls by their port.
    listens: HashMap<u16, Vec<usize>>,
    /// The actor that owns each local address, from any call.
    owners: HashMap<SocketAddr, String>,
}

impl<'a> Causes<'a> {
    fn new(calls: &'a [Call]) -> Self {
        let mut c = Causes {
            calls,
            by_local: HashMap::new(),
            connects_by_peer: HashMap::new(),
            listens: HashMap::new(),
            owners: HashMap::new(),
        };
        for (i, call) in calls.iter().enumerate() {
            if let Some(local) = call.local {
                c.owners.entry(local).or_insert_with(|| call.actor.clone());
            }
            match (call.op, call.local, call.peer) {
                (Op::Listen, Some(local), _) => c.listens.entry(local.port()).or_default().push(i),
                (Op::Connect | Op::Close | Op::Shutdown, Some(local), Some(_)) => {
                    c.by_local.entry(local.port()).or_default().push(i)
                }
                (Op::Connect, None, Some(peer)) => {
                    c.connects_by_peer.entry(peer.port()).or_default().push(i)
                }
                _ => {}
            }
        }
        c
    }

    /// The owner of `addr`: an exact match, or a socket bound to the
    /// wildcard address on its port.
    fn owner(&self, addr: SocketAddr) -> Option<String> {
        self.owners.get(&addr).cloned().or_else(|| {
            self.owners
                .iter()
                .find(|(a, _)| same_endpoint(**a, addr))
                .map(|(_, o)| o.clone())
        })
    }

    /// The last of `candidates` with op in `ops`, started no later than
    /// `t_us`, that `fits`.
    fn last_before(
        &self,
        candidates: Option<&Vec<usize>>,
        ops: &[Op],
        t_us: u64,
        fits: impl Fn(&Call) -> bool,
    ) -> Option<usize> {
        candidates?
            .iter()
            .copied()
            .filter(|&i| {
                let c = &self.calls[i];
                ops.contains(&c.op) && c.t_us <= t_us && fits(c)
            })
            .max_by_key(|&i| (self.calls[i].t_us, i))
    }

    /// The note of a control packet, if `p` is one.
    fn of(&self, p: &Packet, names: &[String]) -> Option<Note> {
        let frame = p.frame.as_ref().ok()?;
        let ((src, dst), tcp) = (frame.endpoints()?, frame.tcp()?);
        let control = Control::of(tcp.flags)?;
        // The call on this very connection: its socket's local address is
        // the packet's source, its peer the packet's destination.
        let on_this = |c: &Call| {
            c.local.is_some_and(|l| same_endpoint(l, src))
                && c.peer.is_some_and(|r| same_endpoint(r, dst))
        };
        let local = self.by_local.get(&src.port());
        let caused = |i: usize| Note::CausedBy {
            control,
            call: names[i].clone(),
        };
        match control {
            Control::Syn => self
                .last_before(local, &[Op::Connect], p.t_us, on_this)
                .or_else(|| {
                    // A connect that failed (refused) may never have
                    // learnt its local address.
                    self.last_before(
                        self.connects_by_peer.get(&dst.port()),
                        &[Op::Connect],
                        p.t_us,
                        |c| c.peer.is_some_and(|r| same_endpoint(r, dst)),
                    )
                })
                .map(caused),
            Control::SynAck => {
                let listen = self
                    .last_before(self.listens.get(&src.port()), &[Op::Listen], p.t_us, |c| {
                        c.local.is_some_and(|l| same_endpoint(l, src))
                    })
                    .map(|i| names[i].clone());
                Some(Note::Kernel {
                    control,
                    actor: self.owner(src),
                    listen,
                })
            }
            Control::Fin => Some(
                self.last_before(local, &[Op::Close, Op::Shutdown], p.t_us, on_this)
                    .map_or(Note::UnseenClose, caused),
            ),
            Control::Rst => Some(
                self.last_before(local, &[Op::Close], p.t_us, on_this)
                    .map_or_else(
                        || Note::Kernel {
                            control,
                            actor: self.owner(src),
                            listen: None,
                        },
                        caused,
                    ),
            ),
        }
    }
}

/// Notes for a capture without calls (`lab capture`): each packet that
/// carries data is named by its conversation, as Wireshark numbers them,
/// and its bytes. Packets come one at a time, as the capture releases
/// them; what is kept is a line per conversation.
#[derive(Debug, Default)]
pub struct ConversationNotes {
    conversations: Conversations,
}

impl ConversationNotes {
    /// The note of the next packet, in capture order.
    pub fn next(&mut self, p: &Packet) -> Option<Note> {
        let at = self.conversations.see(p)?;
        let conv = &self.conversations.list[at];
        let frame = p.frame.as_ref().ok()?;
        let (from, to) = frame.endpoints()?;
        let (bytes, payload) = match &frame.transport {
            Transport::Tcp(t) if !t.payload.is_empty() => {
                let (s, e) = p.info.stream?;
                (Bytes::Stream(s, e), &t.payload[..])
            }
            Transport::Udp(u) => (
                Bytes::Datagram(usize::from(u.length.saturating_sub(8))),
                &u.payload[..],
            ),
            _ => return None,
        };
        let (preview, cut) = preview(payload, NOTE_PREVIEW);
        Some(Note::Conversation {
            kind: conv.kind,
            number: conv.number,
            from,
            to,
            bytes,
            preview,
            cut,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::{Flows, segment};

    const CLIENT: &str = "127.0.0.1:40000";
    const SERVER: &str = "127.0.0.1:7000";

    fn call(t_us: u64, actor: &str, op: Op, local: &str, peer: Option<&str>) -> Call {
        let mut c = Call::new(t_us, actor, op);
        c.proto = Some(Proto::Tcp);
        c.local = Some(local.parse().unwrap());
        c.peer = peer.map(|p| p.parse().unwrap());
        c.returned = Some(0);
        c
    }

    fn moving(mut c: Call, data: &[u8], stream: (u64, u64)) -> Call {
        c.returned = Some(data.len() as i64);
        c.data = Some(data.to_vec());
        c.stream = Some(stream);
        c
    }

    /// Lab 09 in miniature: a handshake, "hello" and "feng" in two
    /// segments, one recv of both, the client's close.
    fn sticky() -> (Vec<Call>, Vec<Packet>) {
        let (syn, ack, psh, fin) = (TcpFlags::SYN, TcpFlags::ACK, TcpFlags::PSH, TcpFlags::FIN);
        let mut packets = vec![
            segment(CLIENT, SERVER, 1000, 0, syn, b""),
            segment(SERVER, CLIENT, 5000, 1001, syn | ack, b""),
            segment(CLIENT, SERVER, 1001, 5001, ack, b""),
            segment(CLIENT, SERVER, 1001, 5001, psh | ack, b"hello"),
            segment(CLIENT, SERVER, 1006, 5001, psh | ack, b"feng"),
            segment(CLIENT, SERVER, 1010, 5001, fin | ack, b""),
        ];
        let mut flows = Flows::default();
        for (t, p) in packets.iter_mut().enumerate() {
            p.t_us = 10 * t as u64 + 5;
            p.info = flows.observe(p);
        }
        let calls = vec![
            call(0, "server", Op::Listen, SERVER, None),
            call(1, "client", Op::Connect, CLIENT, Some(SERVER)),
            moving(
                call(30, "client", Op::Send, CLIENT, Some(SERVER)),
                b"hello",
                (0, 5),
            ),
            moving(
                call(40, "client", Op::Send, CLIENT, Some(SERVER)),
                b"feng",
                (5, 9),
            ),
            call(50, "client", Op::Close, CLIENT, Some(SERVER)),
            moving(
                call(60, "server", Op::Recv, SERVER, Some(CLIENT)),
                b"hellofeng",
                (0, 9),
            ),
        ];
        (calls, packets)
    }

    fn lines(notes: &[Note]) -> Vec<String> {
        notes.iter().map(Note::to_string).collect()
    }

    #[test]
    fn each_packet_names_the_calls_of_its_bytes_and_what_sent_it() {
        let (calls, packets) = sticky();
        let map = crate::correlate::map(&calls, &packets);
        let notes = of_run(&calls, &packets, &map);
        assert_eq!(lines(&notes[0]), ["SYN (client connect #1)"]);
        assert_eq!(
            lines(&notes[1]),
            ["SYN,ACK (server's kernel, listening since server listen #1)"]
        );
        assert!(notes[2].is_empty(), "a plain ACK: {:?}", notes[2]);
        assert_eq!(
            lines(&notes[3]),
            [
                "client send #1 [0, 5) \"hello\"",
                "read by server recv #1 [0, 5)"
            ]
        );
        assert_eq!(
            lines(&notes[4]),
            [
                "client send #2 [5, 9) \"feng\"",
                "read by server recv #1 [5, 9)"
            ]
        );
        assert_eq!(lines(&notes[5]), ["FIN (client close #1)"]);
    }

    #[test]
    fn a_segment_carrying_two_sends_names_both_with_their_own_bytes() {
        let (mut calls, mut packets) = sticky();
        // Nagle: "feng" waited and rode with... here, both in one segment.
        let (ack, psh) = (TcpFlags::ACK, TcpFlags::PSH);
        packets.truncate(3);
        packets.push(segment(CLIENT, SERVER, 1001, 5001, psh | ack, b"hellofeng"));
        let mut flows = Flows::default();
        for p in &mut packets {
            p.info = flows.observe(p);
        }
        calls.truncate(4);
        let map = crate::correlate::map(&calls, &packets);
        let notes = of_run(&calls, &packets, &map);
        assert_eq!(
            lines(&notes[3]),
            [
                "client send #1 [0, 5) \"hello\"",
                "client send #2 [5, 9) \"feng\""
            ]
        );
    }

    #[test]
    fn a_fin_without_a_close_and_a_reset_without_a_call_say_so() {
        let (mut calls, mut packets) = sticky();
        calls.retain(|c| c.op != Op::Close);
        let rst = segment(
            SERVER,
            CLIENT,
            5001,
            1011,
            TcpFlags::RST | TcpFlags::ACK,
            b"",
        );
        packets.push(rst);
        let mut flows = Flows::default();
        for p in &mut packets {
            p.info = flows.observe(p);
        }
        let map = crate::correlate::map(&calls, &packets);
        let notes = of_run(&calls, &packets, &map);
        assert_eq!(lines(&notes[5]), ["FIN (no close or shutdown call seen)"]);
        assert_eq!(
            lines(&notes[6]),
            ["RST (server's kernel: no call asked for it)"]
        );
    }

    #[test]
    fn a_datagram_in_ip_fragments_is_named_on_each_with_where_it_starts() {
        use crate::wire::{Fragment, UdpRepr};
        // 3000 B over an MTU of 1500: the first fragment holds the UDP
        // header and 1472 bytes, the second the rest from IP offset 1480.
        let data: Vec<u8> = (0..3000).map(|i| b'a' + (i % 26) as u8).collect();
        let mut first = segment(CLIENT, SERVER, 0, 0, TcpFlags::ACK, b"");
        let mut rest = segment(CLIENT, SERVER, 0, 0, TcpFlags::ACK, b"");
        let f = first.frame.as_mut().unwrap();
        f.ip.protocol = 17;
        f.ip.fragment = Some(Fragment {
            offset: 0,
            more: true,
            ident: 7,
        });
        f.transport = Transport::Udp(UdpRepr {
            src_port: 40000,
            dst_port: 7000,
            length: 3008,
            checksum: 0,
            payload: data[..1472].to_vec(),
            payload_len: 1472,
        });
        let f = rest.frame.as_mut().unwrap();
        f.ip.protocol = 17;
        f.ip.fragment = Some(Fragment {
            offset: 1480,
            more: false,
            ident: 7,
        });
        f.transport = Transport::Fragment { payload_len: 1528 };
        let packets = vec![first, rest];
        let mut send = call(0, "client", Op::SendTo, CLIENT, Some(SERVER));
        send.proto = Some(Proto::Udp);
        send.returned = Some(3000);
        send.data = Some(data);
        let calls = vec![send];
        let map = crate::correlate::map(&calls, &packets);
        let notes = of_run(&calls, &packets, &map);
        assert_eq!(
            lines(&notes[0]),
            ["client send_to #1 3000 B datagram \"abcdefghijklmnopqrstuvwx…\""]
        );
        // 1480 bytes of IP payload came first: 8 of header, 1472 of data
        // (1472 = 56 * 26 + 16: the alphabet resumes at its 17th letter).
        assert_eq!(
            lines(&notes[1]),
            [
                "client send_to #1 3000 B datagram, the fragment at offset 1480 \"qrstuvwxyzabcdefghijklmn…\""
            ]
        );
    }

    #[test]
    fn a_capture_without_calls_names_conversations_as_wireshark_numbers_them() {
        let (_, packets) = sticky();
        let mut notes = ConversationNotes::default();
        let got: Vec<Option<String>> = packets
            .iter()
            .map(|p| notes.next(p).map(|n| n.to_string()))
            .collect();
        assert_eq!(got[0], None, "a SYN carries no data");
        assert_eq!(
            got[4].as_deref(),
            Some("tcp.stream 0, 127.0.0.1:40000 → 127.0.0.1:7000, [5, 9) \"feng\"")
        );
    }
}
