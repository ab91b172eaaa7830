//! Correlation: which bytes of which call rode in which packet.
//!
//! The runner knows each call's place in its byte stream (`stream:
//! [start, end)`, from 0 at a connection's first byte in each direction).
//! The capture knows each segment's sequence number. Subtract the initial
//! sequence number (ISN) of that direction, and the two speak the same
//! language: a segment with relative sequence number 1 and 5 bytes carries
//! stream bytes [0, 5). From there the map is interval overlap:
//!
//! - a send's bytes were carried by the segments whose range overlaps it;
//! - a recv's bytes came from the sends, on the other end, whose ranges
//!   overlap it, and rode in the segments that overlap it.
//!
//! UDP needs no offsets: one send is one datagram, matched in order by its
//! endpoints and length (a datagram larger than the MTU is one first
//! fragment plus later fragments with the same IP identification).

use std::collections::HashMap;
use std::net::SocketAddr;

pub use crate::trace::PacketInfo;
use crate::trace::{Call, Packet, Proto};
use crate::wire::{TcpFlags, Transport};

/// Follows TCP directions through a capture to make numbers relative.
#[derive(Debug, Default)]
pub struct Flows {
    /// ISN of each direction (src -> dst).
    isn: HashMap<(SocketAddr, SocketAddr), u32>,
    /// Window scale each direction's SYN announced.
    wscale: HashMap<(SocketAddr, SocketAddr), u8>,
    /// The highest stream offset seen so far in each direction: sequence
    /// numbers are 32 bits and wrap, so a segment's offset is found by its
    /// (signed) distance from this point, not from the ISN.
    next: HashMap<(SocketAddr, SocketAddr), u64>,
}

impl Flows {
    /// Interprets the next packet of the capture (call in capture order).
    pub fn observe(&mut self, p: &Packet) -> PacketInfo {
        let Ok(frame) = &p.frame else {
            return PacketInfo::default();
        };
        let (Some((src, dst)), Transport::Tcp(tcp)) = (frame.endpoints(), &frame.transport) else {
            return PacketInfo::default();
        };
        let seq = tcp.seq.0;
        let syn = tcp.flags.contains(TcpFlags::SYN);
        if syn {
            // A new connection (or a reused port pair): the SYN fixes the ISN.
            self.isn.insert((src, dst), seq);
            self.next.insert((src, dst), 0);
            self.wscale.remove(&(src, dst));
            for o in &tcp.options {
                if let crate::wire::TcpOption::WindowScale(shift) = o {
                    self.wscale.insert((src, dst), (*shift).min(14));
                }
            }
        }
        // Scaling is on only when both SYNs offered it (RFC 7323), and a
        // SYN's own window is never scaled.
        let window = match (self.wscale.get(&(src, dst)), self.wscale.get(&(dst, src))) {
            (Some(&mine), Some(_)) if !syn => Some(u32::from(tcp.window) << mine),
            _ if self.isn.contains_key(&(src, dst)) => Some(u32::from(tcp.window)),
            _ => None,
        };
        // Joined mid-connection (`lab capture` started late): count from the
        // first byte seen, as if the SYN had come just before it.
        let isn = *self.isn.entry((src, dst)).or_insert(seq.wrapping_sub(1));
        let rel_seq = seq.wrapping_sub(isn);
        let rel_ack = if tcp.flags.contains(TcpFlags::ACK) {
            self.isn
                .get(&(dst, src))
                .map(|peer| tcp.ack.0.wrapping_sub(*peer))
        } else {
            None
        };
        let stream = if tcp.payload_len > 0 {
            // Data starts one past the ISN (the SYN used that number), and
            // one further in a SYN that carries data.
            let first = seq.wrapping_add(u32::from(syn));
            let next = self.next.entry((src, dst)).or_insert(0);
            let expected = isn.wrapping_add(1).wrapping_add(*next as u32);
            // A retransmission lands before `next`, a later segment after
            // it; either way within 2^31 bytes.
            let start = *next as i64 + i64::from(first.wrapping_sub(expected) as i32);
            // Bytes from before the capture joined have no offset.
            u64::try_from(start).ok().map(|start| {
                let end = start + tcp.payload_len as u64;
                *next = (*next).max(end);
                (start, end)
            })
        } else {
            None
        };
        PacketInfo {
            rel_seq: Some(rel_seq),
            rel_ack,
            stream,
            window,
            ..PacketInfo::default()
        }
    }
}

pub use crate::trace::MapEntry;

/// The direction a call's bytes travel: (from, to).
fn direction(c: &Call) -> Option<(SocketAddr, SocketAddr)> {
    let (local, peer) = (c.local?, c.peer?);
    if c.is_send() {
        Some((local, peer))
    } else if c.is_recv() {
        Some((peer, local))
    } else {
        None
    }
}

/// Whether a packet's address is a socket's address. A socket bound to
/// the wildcard (an unbound UDP client is, after its first send) reports
/// `0.0.0.0:port`; its packets carry the real source address.
pub fn same_endpoint(socket: SocketAddr, packet: SocketAddr) -> bool {
    socket.port() == packet.port() && (socket.ip() == packet.ip() || socket.ip().is_unspecified())
}

/// [`same_endpoint`] for both ends of a direction.
fn same_direction(
    call: (SocketAddr, SocketAddr),
    packet: Option<(SocketAddr, SocketAddr)>,
) -> bool {
    packet.is_some_and(|(a, b)| same_endpoint(call.0, a) && same_endpoint(call.1, b))
}

fn overlap(a: (u64, u64), b: (u64, u64)) -> Option<(u64, u64)> {
    let (s, e) = (a.0.max(b.0), a.1.min(b.1));
    (s < e).then_some((s, e))
}

/// A port pair, the same whichever way a packet crosses it.
type Pair = (SocketAddr, SocketAddr);

fn pair(a: SocketAddr, b: SocketAddr) -> Pair {
    if a <= b { (a, b) } else { (b, a) }
}

/// Connections, told apart when a port pair is used twice in one run.
///
/// A 4-tuple names a connection only while it lasts: once it has closed,
/// the same two ports may meet again (a client that binds its port, a
/// lab that reconnects), and the byte offsets start again from 0. What
/// starts a connection is its SYN, so the n-th SYN on a pair begins its
/// n-th connection (a retransmitted SYN carries the same ISN and begins
/// nothing). A packet belongs to the last connection begun on its pair;
/// a call, to the last one begun before it started (its socket was
/// connected by then).
#[derive(Debug, Default)]
struct Connections {
    /// For each packet: its pair's connection number (0 before any SYN,
    /// as in a capture that joined late).
    of_packet: Vec<u32>,
    /// For each pair: when each of its connections began.
    began: HashMap<Pair, Vec<u64>>,
}

impl Connections {
    fn new(packets: &[Packet]) -> Self {
        let mut c = Connections::default();
        let mut last_isn: HashMap<Pair, u32> = HashMap::new();
        for p in packets {
            let tcp = p
                .frame
                .as_ref()
                .ok()
                .and_then(|f| Some((f.endpoints()?, f.tcp()?)));
            let Some(((src, dst), t)) = tcp else {
                c.of_packet.push(0);
                continue;
            };
            let key = pair(src, dst);
            let opens = t.flags.contains(TcpFlags::SYN) && !t.flags.contains(TcpFlags::ACK);
            if opens && last_isn.insert(key, t.seq.0) != Some(t.seq.0) {
                c.began.entry(key).or_default().push(p.t_us);
            }
            c.of_packet
                .push(c.began.get(&key).map_or(0, |b| b.len() as u32));
        }
        c
    }

    /// The connection a call on `dir` that started at `t_us` was made on.
    fn of_call(&self, dir: (SocketAddr, SocketAddr), t_us: u64) -> u32 {
        self.began
            .get(&pair(dir.0, dir.1))
            .map_or(0, |b| b.iter().filter(|&&t| t <= t_us).count() as u32)
    }
}

/// Byte ranges of one direction of a stream (of packets or of calls),
/// sorted by where they start, for overlap queries: a trace of tens of
/// thousands of calls must not compare every call with every packet.
#[derive(Debug, Default)]
struct Ranges {
    /// (range, index), by range start.
    items: Vec<((u64, u64), usize)>,
    /// The longest range: nothing that starts earlier than `start -
    /// longest` can reach `start`.
    longest: u64,
}

impl Ranges {
    fn push(&mut self, range: (u64, u64), index: usize) {
        self.longest = self.longest.max(range.1 - range.0);
        self.items.push((range, index));
    }

    fn sort(&mut self) {
        self.items.sort_unstable();
    }

    /// The indices of the ranges that overlap `range`, with the overlap.
    fn overlapping(&self, range: (u64, u64)) -> impl Iterator<Item = (usize, (u64, u64))> + '_ {
        let from = range.0.saturating_sub(self.longest);
        let first = self.items.partition_point(|(r, _)| r.0 < from);
        self.items[first..]
            .iter()
            .take_while(move |(r, _)| r.0 < range.1)
            .filter_map(move |(r, i)| overlap(*r, range).map(|o| (*i, o)))
    }
}

/// Builds the message map for every call that moved bytes.
pub fn map(calls: &[Call], packets: &[Packet]) -> Vec<MapEntry> {
    let endpoints: Vec<Option<(SocketAddr, SocketAddr)>> = packets
        .iter()
        .map(|p| p.frame.as_ref().ok().and_then(|f| f.endpoints()))
        .collect();
    let connections = Connections::new(packets);
    // TCP data packets by their exact endpoints, and sends by direction.
    let mut segments: HashMap<(SocketAddr, SocketAddr), Ranges> = HashMap::new();
    for (j, ends) in endpoints.iter().enumerate() {
        if let (Some(ends), Some(range)) = (ends, packets[j].info.stream) {
            segments.entry(*ends).or_default().push(range, j);
        }
    }
    let mut sends: HashMap<(SocketAddr, SocketAddr), Ranges> = HashMap::new();
    for (k, c) in calls.iter().enumerate() {
        if c.is_send()
            && let (Some(dir), Some(range)) = (direction(c), c.stream)
        {
            sends.entry(dir).or_default().push(range, k);
        }
    }
    segments
        .values_mut()
        .chain(sends.values_mut())
        .for_each(Ranges::sort);
    let udp_matches = match_datagrams(calls, packets);
    let mut out = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        if c.returned.is_none_or(|n| n <= 0) {
            continue;
        }
        let Some(dir) = direction(c) else { continue };
        let mut entry = MapEntry {
            call: i,
            packets: Vec::new(),
            sources: Vec::new(),
        };
        match (c.proto, c.stream) {
            (Some(Proto::Tcp), Some(range)) => {
                // Offsets count from 0 again on a reused port pair: only
                // this call's connection is searched.
                let conn = connections.of_call(dir, c.t_us);
                // The packets' directions that are this call's (a wildcard
                // address matches any): few, one or two per connection.
                for (ends, ranges) in &segments {
                    if same_direction(dir, Some(*ends)) {
                        entry.packets.extend(
                            ranges
                                .overlapping(range)
                                .map(|(j, _)| j)
                                .filter(|&j| connections.of_packet[j] == conn),
                        );
                    }
                }
                entry.packets.sort_unstable();
                if c.is_recv()
                    && let Some(theirs) = sends.get(&dir)
                {
                    for (k, (s, e)) in theirs.overlapping(range) {
                        if connections.of_call(dir, calls[k].t_us) != conn {
                            continue;
                        }
                        let start = calls[k].stream.map_or(0, |r| r.0);
                        entry.sources.push((k, s - start, e - start));
                    }
                    entry.sources.sort_unstable();
                }
            }
            (Some(Proto::Udp), _) => {
                entry.packets = udp_matches.get(&i).cloned().unwrap_or_default();
                if c.is_recv() {
                    // The send whose datagram this receive returned.
                    if let Some(first) = entry.packets.first()
                        && let Some((k, _)) = udp_matches
                            .iter()
                            .find(|(k, ps)| calls[**k].is_send() && ps.first() == Some(first))
                    {
                        entry.sources.push((*k, 0, c.returned.unwrap_or(0) as u64));
                    }
                }
            }
            _ => {}
        }
        out.push(entry);
    }
    out
}

/// Pairs UDP calls with datagrams: in time order, each send takes the first
/// unclaimed datagram with its endpoints and length; each receive, the
/// first unclaimed-by-a-receive datagram of its endpoints. Later fragments
/// (same IP identification) join their first fragment.
fn match_datagrams(calls: &[Call], packets: &[Packet]) -> HashMap<usize, Vec<usize>> {
    let mut by_send: Vec<bool> = vec![false; packets.len()];
    let mut by_recv: Vec<bool> = vec![false; packets.len()];
    let mut out = HashMap::new();
    let mut order: Vec<usize> = (0..calls.len())
        .filter(|&i| calls[i].proto == Some(Proto::Udp))
        .collect();
    order.sort_by_key(|&i| calls[i].t_us);
    for i in order {
        let c = &calls[i];
        let (Some(dir), Some(n)) = (direction(c), c.returned) else {
            continue;
        };
        let claimed = if c.is_send() {
            &mut by_send
        } else {
            &mut by_recv
        };
        let found = packets.iter().enumerate().position(|(j, p)| {
            !claimed[j]
                && p.frame.as_ref().ok().is_some_and(|f| {
                    same_direction(dir, f.endpoints())
                        && f.udp().is_some_and(|u| {
                            if c.is_send() {
                                u.length as i64 - 8 == n
                            } else {
                                // A receive returns (the start of) its
                                // datagram: skip any the kernel dropped.
                                // Compared as far as both go: a first
                                // fragment or a cut recv holds only a part.
                                let got = c.data.as_deref().unwrap_or_default();
                                let k = got.len().min(u.payload.len());
                                u.payload[..k] == got[..k]
                            }
                        })
                })
        });
        let Some(j) = found else { continue };
        claimed[j] = true;
        let mut group = vec![j];
        if let Ok(f) = &packets[j].frame
            && let Some(frag) = f.ip.fragment
        {
            for (k, p) in packets.iter().enumerate().skip(j + 1) {
                if let Ok(g) = &p.frame
                    && g.ip.src == f.ip.src
                    && g.ip.dst == f.ip.dst
                    && g.ip
                        .fragment
                        .is_some_and(|x| x.ident == frag.ident && x.offset > 0)
                {
                    group.push(k);
                }
            }
        }
        out.insert(i, group);
    }
    out
}

/// Whether an RST crossed the connection of a call (either direction).
fn was_reset(c: &Call, packets: &[Packet]) -> bool {
    let (Some(local), Some(peer)) = (c.local, c.peer) else {
        return false;
    };
    packets
        .iter()
        .filter_map(|p| p.frame.as_ref().ok())
        .any(|f| {
            f.tcp().is_some_and(|t| t.flags.contains(TcpFlags::RST))
                && f.endpoints().is_some_and(|(a, b)| {
                    (same_endpoint(local, a) && same_endpoint(peer, b))
                        || (same_endpoint(peer, a) && same_endpoint(local, b))
                })
        })
}

/// Checks that the capture accounts for the calls: every byte of every TCP
/// call is covered by captured segments, every UDP send has its datagram,
/// and every connection shows its handshake and its end. Returns the
/// problems found (empty when the map is complete).
pub fn completeness(calls: &[Call], packets: &[Packet], map: &[MapEntry]) -> Vec<String> {
    let mut problems = Vec::new();
    for e in map {
        let c = &calls[e.call];
        match (c.proto, c.stream) {
            (Some(Proto::Tcp), Some((a, b))) => {
                let mut covered: Vec<(u64, u64)> = e
                    .packets
                    .iter()
                    .filter_map(|&j| packets[j].info.stream.and_then(|s| overlap(s, (a, b))))
                    .collect();
                covered.sort();
                let mut at = a;
                for (s, t) in covered {
                    if s > at {
                        break;
                    }
                    at = at.max(t);
                }
                // Bytes a send handed to the kernel never leave it when the
                // connection is reset first: the RST throws the send buffer
                // away. Only a connection that ended without RST must show
                // every byte.
                if at < b && !(c.is_send() && was_reset(c, packets)) {
                    problems.push(format!(
                        "{} {} [{a}, {b}): bytes from {at} on are in no captured segment",
                        c.actor, c.op
                    ));
                }
            }
            (Some(Proto::Udp), _) if c.is_send() && e.packets.is_empty() => {
                problems.push(format!(
                    "{} {} of {} B: no datagram captured",
                    c.actor,
                    c.op,
                    c.returned.unwrap_or(0)
                ));
            }
            _ => {}
        }
    }
    // Handshake and end of every connection a connect() opened.
    for c in calls
        .iter()
        .filter(|c| c.op == "connect" && c.returned == Some(0) && c.proto == Some(Proto::Tcp))
    {
        let (Some(client), Some(server)) = (c.local, c.peer) else {
            continue;
        };
        let flags_of = |src: SocketAddr, dst: SocketAddr| -> Vec<TcpFlags> {
            packets
                .iter()
                .filter_map(|p| p.frame.as_ref().ok())
                .filter(|f| f.endpoints() == Some((src, dst)))
                .filter_map(|f| f.tcp().map(|t| t.flags))
                .collect()
        };
        let up = flags_of(client, server);
        let down = flags_of(server, client);
        let has = |v: &[TcpFlags], f: TcpFlags| v.iter().any(|x| x.contains(f));
        if !up
            .iter()
            .any(|f| f.contains(TcpFlags::SYN) && !f.contains(TcpFlags::ACK))
        {
            problems.push(format!("connection {client} -> {server}: no SYN captured"));
        }
        if !down
            .iter()
            .any(|f| f.contains(TcpFlags::SYN) && f.contains(TcpFlags::ACK))
        {
            problems.push(format!(
                "connection {client} -> {server}: no SYN-ACK captured"
            ));
        }
        let reset = has(&up, TcpFlags::RST) || has(&down, TcpFlags::RST);
        let both_fins = has(&up, TcpFlags::FIN) && has(&down, TcpFlags::FIN);
        if reset {
            // An abortive end: one RST is the whole teardown.
        } else if !both_fins {
            problems.push(format!("connection {client} -> {server}: teardown (FIN from both sides, or RST) not captured"));
        } else {
            // The last packet of an orderly teardown is the ACK of the
            // second FIN: a capture stopped too early loses it.
            let conn: Vec<(SocketAddr, TcpFlags)> = packets
                .iter()
                .filter_map(|p| p.frame.as_ref().ok())
                .filter_map(|f| {
                    let (src, dst) = f.endpoints()?;
                    let ours = (src, dst) == (client, server) || (src, dst) == (server, client);
                    ours.then(|| f.tcp().map(|t| (src, t.flags))).flatten()
                })
                .collect();
            let last_fin = conn.iter().rposition(|(_, f)| f.contains(TcpFlags::FIN));
            let acked = last_fin.is_some_and(|i| {
                let from = conn[i].0;
                conn[i + 1..]
                    .iter()
                    .any(|(src, f)| *src != from && f.contains(TcpFlags::ACK))
            });
            if !acked {
                problems.push(format!(
                    "connection {client} -> {server}: the ACK of the last FIN was not captured"
                ));
            }
        }
    }
    problems
}

/// A TCP packet from `src` to `dst` with absolute numbers, for tests.
#[cfg(test)]
pub(crate) fn segment(
    src: &str,
    dst: &str,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    data: &[u8],
) -> Packet {
    use crate::wire::{Frame, IpRepr, SeqNumber, TcpRepr};
    let (s, d): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
    let tcp = TcpRepr {
        src_port: s.port(),
        dst_port: d.port(),
        seq: SeqNumber(seq),
        ack: SeqNumber(ack),
        flags,
        window: 512,
        header_len: 20,
        checksum: 0,
        urgent: 0,
        options: Vec::new(),
        payload: data.to_vec(),
        payload_len: data.len(),
    };
    let ip = IpRepr {
        version: 4,
        src: s.ip(),
        dst: d.ip(),
        header_len: 20,
        total_len: 40 + data.len(),
        ttl_or_hop_limit: 64,
        ident: Some(0),
        fragment: None,
        protocol: 6,
        dont_fragment: true,
    };
    let frame = Frame {
        eth: None,
        sll: None,
        ip,
        transport: Transport::Tcp(tcp),
        truncated: false,
    };
    Packet {
        t_us: 0,
        orig_len: 54 + data.len(),
        raw: Vec::new(),
        frame: Ok(frame),
        info: PacketInfo::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Op;
    use crate::wire::UdpRepr;

    const CLIENT: &str = "127.0.0.1:40000";
    const SERVER: &str = "127.0.0.1:7000";

    fn call(
        actor: &str,
        op: &'static str,
        local: &str,
        peer: &str,
        data: &[u8],
        stream: (u64, u64),
    ) -> Call {
        let mut c = Call::new(0, actor, Op::from_name(op).unwrap());
        c.proto = Some(Proto::Tcp);
        c.local = Some(local.parse().unwrap());
        c.peer = Some(peer.parse().unwrap());
        c.returned = Some(data.len() as i64);
        c.data = Some(data.to_vec());
        c.stream = Some(stream);
        c
    }

    /// The sticky packet: "hello" and "feng" in two segments, one recv.
    fn sticky(with_second_segment: bool, reset: bool) -> (Vec<Call>, Vec<Packet>) {
        let (syn, ack, psh, rst) = (TcpFlags::SYN, TcpFlags::ACK, TcpFlags::PSH, TcpFlags::RST);
        let mut packets = vec![
            segment(CLIENT, SERVER, 1000, 0, syn, b""),
            segment(SERVER, CLIENT, 5000, 1001, syn | ack, b""),
            segment(CLIENT, SERVER, 1001, 5001, ack, b""),
            segment(CLIENT, SERVER, 1001, 5001, psh | ack, b"hello"),
        ];
        if with_second_segment {
            packets.push(segment(CLIENT, SERVER, 1006, 5001, psh | ack, b"feng"));
        }
        if reset {
            packets.push(segment(SERVER, CLIENT, 5001, 1006, rst | ack, b""));
        }
        let mut flows = Flows::default();
        for p in &mut packets {
            p.info = flows.observe(p);
        }
        let calls = vec![
            call("client", "send", CLIENT, SERVER, b"hello", (0, 5)),
            call("client", "send", CLIENT, SERVER, b"feng", (5, 9)),
            call("server", "recv", SERVER, CLIENT, b"hellofeng", (0, 9)),
        ];
        (calls, packets)
    }

    #[test]
    fn relative_numbers_and_stream_offsets_match_the_calls() {
        let (_, packets) = sticky(true, false);
        let hello = &packets[3].info;
        assert_eq!(
            (hello.rel_seq, hello.rel_ack, hello.stream),
            (Some(1), Some(1), Some((0, 5)))
        );
        assert_eq!(packets[4].info.stream, Some((5, 9)));
        assert_eq!(
            packets[1].info.rel_ack,
            Some(1),
            "the SYN-ACK acknowledges the SYN"
        );
    }

    #[test]
    fn offsets_survive_retransmissions_and_sequence_wraparound() {
        // Joined mid-connection at seq 1000, then a retransmission of
        // earlier bytes (990): they have no offset, not a huge one.
        let mut flows = Flows::default();
        let first = segment(CLIENT, SERVER, 1000, 0, TcpFlags::ACK, b"0123456789");
        let older = segment(CLIENT, SERVER, 990, 0, TcpFlags::ACK, b"abcdefghij");
        assert_eq!(flows.observe(&first).stream, Some((0, 10)));
        assert_eq!(flows.observe(&older).stream, None);
        // An ISN near the top of the sequence space: data wraps past 2^32.
        let mut flows = Flows::default();
        let isn = u32::MAX - 4;
        flows.observe(&segment(CLIENT, SERVER, isn, 0, TcpFlags::SYN, b""));
        let a = segment(
            CLIENT,
            SERVER,
            isn.wrapping_add(1),
            0,
            TcpFlags::ACK,
            b"hello",
        );
        let b = segment(
            CLIENT,
            SERVER,
            isn.wrapping_add(6),
            0,
            TcpFlags::ACK,
            b"feng",
        );
        assert_eq!(flows.observe(&a).stream, Some((0, 5)));
        assert_eq!(flows.observe(&b).stream, Some((5, 9)));
        // The same bytes again are the same offsets.
        assert_eq!(flows.observe(&a).stream, Some((0, 5)));
    }

    #[test]
    fn a_recv_maps_to_both_sends_and_both_segments() {
        let (calls, packets) = sticky(true, false);
        let map = map(&calls, &packets);
        let recv = map.iter().find(|m| m.call == 2).unwrap();
        assert_eq!(recv.packets, vec![3, 4]);
        assert_eq!(recv.sources, vec![(0, 0, 5), (1, 0, 4)]);
        assert_eq!(map.iter().find(|m| m.call == 1).unwrap().packets, vec![4]);
    }

    #[test]
    fn a_port_pair_used_twice_is_two_connections() {
        // The same two ports, one connection after the other; each sends
        // "hello" at offsets [0, 5). Each call maps to its own segment, and
        // the second recv to the second send only.
        let (syn, ack, psh) = (TcpFlags::SYN, TcpFlags::ACK, TcpFlags::PSH);
        let mut packets = Vec::new();
        for (t0, isn) in [(1_000, 1000u32), (50_000, 9000)] {
            let mut conn = vec![
                segment(CLIENT, SERVER, isn, 0, syn, b""),
                // A retransmitted SYN begins nothing new.
                segment(CLIENT, SERVER, isn, 0, syn, b""),
                segment(SERVER, CLIENT, 5000, isn + 1, syn | ack, b""),
                segment(CLIENT, SERVER, isn + 1, 5001, ack, b""),
                segment(CLIENT, SERVER, isn + 1, 5001, psh | ack, b"hello"),
            ];
            for (k, p) in conn.iter_mut().enumerate() {
                p.t_us = t0 + k as u64 * 10;
            }
            packets.extend(conn);
        }
        let mut flows = Flows::default();
        for p in &mut packets {
            p.info = flows.observe(p);
        }
        let mut calls = Vec::new();
        for t in [1_100, 50_100] {
            let mut send = call("client", "send", CLIENT, SERVER, b"hello", (0, 5));
            send.t_us = t;
            let mut recv = call("server", "recv", SERVER, CLIENT, b"hello", (0, 5));
            recv.t_us = t + 10;
            calls.extend([send, recv]);
        }
        let map = map(&calls, &packets);
        let row = |i: usize| map.iter().find(|m| m.call == i).unwrap();
        assert_eq!(row(0).packets, vec![4]);
        assert_eq!(row(2).packets, vec![9]);
        assert_eq!(row(1).sources, vec![(0, 0, 5)]);
        assert_eq!(row(3).sources, vec![(2, 0, 5)]);
    }

    #[test]
    fn missing_bytes_are_a_problem_unless_a_reset_discarded_them() {
        // Regression: a send whose bytes the peer's RST threw away was
        // reported as a capture that lost a segment.
        let (calls, packets) = sticky(false, false);
        let problems = completeness(&calls, &packets, &map(&calls, &packets));
        assert!(
            problems.iter().any(|p| p.contains("client send [5, 9)")),
            "{problems:?}"
        );

        let (calls, packets) = sticky(false, true);
        let problems = completeness(&calls, &packets, &map(&calls, &packets));
        assert!(
            !problems.iter().any(|p| p.contains("client send")),
            "{problems:?}"
        );
    }

    fn datagram(src: &str, dst: &str, data: &[u8]) -> Packet {
        let mut p = segment(src, dst, 0, 0, TcpFlags::ACK, b"");
        let (s, d): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        let frame = p.frame.as_mut().unwrap();
        frame.ip.protocol = 17;
        frame.transport = Transport::Udp(UdpRepr {
            src_port: s.port(),
            dst_port: d.port(),
            length: 8 + data.len() as u16,
            checksum: 0,
            payload: data.to_vec(),
            payload_len: data.len(),
        });
        p
    }

    #[test]
    fn a_datagram_the_receiver_never_got_is_skipped() {
        // "one" was dropped by the receiving kernel (full buffer): the only
        // recv_from returned "two" and must map to the second datagram.
        let packets = vec![
            datagram(CLIENT, SERVER, b"one"),
            datagram(CLIENT, SERVER, b"two"),
        ];
        let mut calls = Vec::new();
        for (text, op, local, peer) in [
            (&b"one"[..], "send_to", CLIENT, SERVER),
            (b"two", "send_to", CLIENT, SERVER),
            (b"two", "recv_from", SERVER, CLIENT),
        ] {
            let mut c = call("x", op, local, peer, text, (0, 0));
            c.proto = Some(Proto::Udp);
            c.stream = None;
            calls.push(c);
        }
        let m = map(&calls, &packets);
        let recv = m.iter().find(|e| e.call == 2).unwrap();
        assert_eq!(recv.packets, vec![1]);
        assert_eq!(recv.sources, vec![(1, 0, 3)]);
    }

    #[test]
    fn a_wildcard_socket_owns_its_port_on_any_address() {
        let any: SocketAddr = "0.0.0.0:5353".parse().unwrap();
        assert!(same_endpoint(any, "127.0.0.1:5353".parse().unwrap()));
        assert!(!same_endpoint(any, "127.0.0.1:5354".parse().unwrap()));
        assert!(!same_endpoint(
            "127.0.0.2:5353".parse().unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        ));
    }
}
