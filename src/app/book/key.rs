//! The key of a run: what it says, without the run-to-run noise.
//!
//! A run never happens the same way twice. The kernel picks ports and fd
//! numbers, times move by microseconds, actors interleave in a different
//! order, a delayed ACK comes or does not, a sender's bytes ride in one
//! segment or two, a receiver that drains a full buffer gets 4096 bytes one
//! time and 2048 the next, a time server answers with today's date and an
//! HMAC challenge is new random bytes. None of that is what a chapter
//! teaches, so none of it may make the book "stale".
//!
//! The key is made from the run's own events, where every value knows what
//! it is, never from the printed text:
//!
//! - a call's time, wait, fd number (the result of `socket` and `accept`)
//!   and spin count are left out, and every socket address is replaced by
//!   the actor and socket that own it (`server.srv`), since the kernel
//!   picked its port;
//! - bytes that the code which made them noted as varying
//!   ([`Varies`](crate::trace::Varies): a clock reading, random bytes, the
//!   scratch folder's path) become `<clock 19 B>` wherever they appear;
//! - one actor's bulk reads of one socket (a buffer of 4 KiB or more), up
//!   to the end of its stream, merge into the stream range they read,
//!   whatever the actor did in between, and a long payload is kept as its
//!   first bytes, its length and a hash of the whole;
//! - a non-blocking writer that fills its buffer (one actor's consecutive
//!   `send`s on one socket, ending in EAGAIN: a *fill*) is one line: where
//!   the bytes it got taken start in the stream, and that the last send
//!   failed with EAGAIN. How many bytes the kernel takes before it refuses,
//!   and in how many sends, depends on when the receiver's ACKs free room
//!   (lab 11 takes one more 2048 B send now and then, under load), so
//!   neither is kept, nor the offered length of the failing send. The next
//!   send of that socket offers "the rest": its line keeps whether it took
//!   all it was offered and where the stream then ends, not where the rest
//!   began, how long it was or its bytes (the receiver's reads, merged as
//!   above, keep the bytes of the whole stream);
//! - each actor's calls, and each direction's packets, are compared as a
//!   multiset: the order *between* actors, and of the peers one UDP server
//!   serves, is timing;
//! - packets keep their flags and the stream range of their data, with
//!   consecutive data segments of a direction merged (how the kernel cut
//!   the stream varies, the bytes do not), a retransmitted SYN, FIN or RST
//!   counted once, and pure ACKs (which depend on delayed-ACK timing) left
//!   out; packets, the message map and the capture's own verdict are
//!   compared only when both runs captured, so a machine without capture
//!   privilege can still check the calls;
//! - measurements (a `bench` rate) are compared by op only.
//!
//! `lab book` stores the key of the run it wrote beside the page, with a
//! hash of the page, so a page edited by hand is caught too.
//!
//! Some variation is not noise but a different story, and no key sets it
//! aside: in lab 08's unframed run the server reads `pwd` and `rm -rf ~`
//! with one `recv` or with two (depending on whether the second had
//! arrived), and answers what it read, so its answers differ too. How the
//! client's last reads cut the answers is set aside as above; which answers
//! there were is not. The chapter shows one run of each story instead
//! (`08-remote-command.txt` and `08-remote-command--run2.txt`), each page
//! with its own key, and a fresh run must have the same key as one of them
//! (see [`super::takes`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::app::{CAPTURE_VERDICT, Finished};
use crate::catalog::Lab;
use crate::correlate::MapEntry;
use crate::escape::escape;
use crate::expr::Scope;
use crate::trace::{Call, Noted, Op, Packet};
use crate::wire::{TcpFlags, Transport};

/// A read with a buffer this large drains whatever is queued: how the
/// kernel cut a bulk transfer into such reads varies from run to run.
const BULK_READ: usize = 4096;

/// Payloads longer than this are kept as their first bytes, length and hash.
const KEPT_BYTES: usize = 64;

/// Ops whose result is a measurement (a rate, a count within a budget).
const MEASURED: &[Op] = &[Op::Bench];

/// Ops that need a private network namespace to do what they say (set
/// `lo`'s MTU): without one, they report that they could not.
const NEEDS_NAMESPACE: &[Op] = &[Op::SetLoMtu];

/// What a run says, as `lab book` stores it and `lab book --check` compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The command that made the run, as the page shows it.
    pub command: String,
    /// FNV-1a hash (hex) of the page written from this run.
    pub page: String,
    /// The run had packet capture on.
    pub captured: bool,
    /// The run had a private network namespace, and the lab needs one to
    /// do what it says (it sets `lo`'s MTU).
    pub namespace: bool,
    pub needs_namespace: bool,
    /// The lab: id, title, and its knobs as `name=value`.
    pub lab: Vec<String>,
    /// Each actor's calls, one line each, sorted.
    pub calls: BTreeMap<String, Vec<String>>,
    /// Each direction's packets (`client.sock → server.conn`), sorted.
    pub packets: BTreeMap<String, Vec<String>>,
    /// The message map: where each receive's bytes came from, sorted.
    pub map: Vec<String>,
    /// The lab's checks, `✓ name` or `✗ name`, in order.
    pub verdicts: Vec<String>,
    /// The capture's own check, when the run captured.
    pub capture_verdict: Option<String>,
    /// The first frame that carried data, in hex, when the run captured:
    /// what a `ID.layers.txt` page is drawn from. Not compared (its ports
    /// and sequence numbers are this run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_data_frame: Option<String>,
    /// FNV-1a hash (hex) of the sequence diagram (`ID.svg`) drawn from this
    /// run's events, when a chapter shows one. Like `page`, it ties the
    /// file to the run this key describes: the diagram is judged stale by
    /// the key, never by its pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagram: Option<String>,
}

impl Key {
    /// The key of a finished run of `lab` with `knobs` (as `name=value`).
    pub fn of(command: &str, lab: &Lab, knobs: &Scope, done: &Finished, page: &str) -> Key {
        let masks = Masks::new(&done.calls, &done.noted);
        let mut calls: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let runs = bulk_runs(&done.calls);
        let fills = fills(&done.calls);
        for (actor, line) in call_lines(&done.calls, &runs, &fills, &masks) {
            calls.entry(actor).or_default().push(line);
        }
        for lines in calls.values_mut() {
            lines.sort();
        }
        let captured = done.stats.is_some();
        let mut packets: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut map = Vec::new();
        if captured {
            for (direction, line) in packet_lines(&done.packets, &masks) {
                packets.entry(direction).or_default().push(line);
            }
            for lines in packets.values_mut() {
                lines.sort();
            }
            map = map_lines(&done.calls, &done.map, &runs, &fills, &masks);
            map.sort();
        }
        let mark = |passed: bool| if passed { "✓" } else { "✗" };
        let verdicts = done
            .verdicts
            .iter()
            .filter(|v| v.name != CAPTURE_VERDICT)
            .map(|v| format!("{} {}", mark(v.passed), v.name))
            .collect();
        let capture_verdict = done
            .verdicts
            .iter()
            .find(|v| v.name == CAPTURE_VERDICT)
            .map(|v| format!("{} {}", mark(v.passed), v.name));
        let mut head = vec![format!("{} {}", lab.id(), lab.def.title)];
        head.extend(knobs.iter().map(|(k, v)| format!("{k}={v}")));
        let first_data_frame = done
            .packets
            .iter()
            .find(|p| {
                p.frame.as_ref().is_ok_and(|f| match &f.transport {
                    Transport::Tcp(t) => t.payload_len > 0,
                    Transport::Udp(u) => !u.payload.is_empty(),
                    _ => false,
                })
            })
            .map(|p| p.raw.iter().map(|b| format!("{b:02x}")).collect());
        Key {
            first_data_frame,
            diagram: None,
            command: command.to_string(),
            page: page_hash(page),
            captured,
            namespace: crate::netns::can_unshare(),
            needs_namespace: lab.def.lo_mtu.is_some(),
            lab: head,
            calls,
            packets,
            map,
            verdicts,
            capture_verdict,
        }
    }

    /// The key as lines, as compared against `other`: what only a capture
    /// shows is left out unless both runs captured.
    fn lines(&self, other: &Key) -> Vec<String> {
        let captured = self.captured && other.captured;
        let mut out = Vec::new();
        out.extend(self.lab.iter().map(|l| format!("lab: {l}")));
        for (actor, lines) in &self.calls {
            for l in lines {
                out.push(format!("{actor}: {l}"));
            }
        }
        out.extend(self.verdicts.iter().cloned());
        if captured {
            for (direction, lines) in &self.packets {
                for l in lines {
                    out.push(format!("{direction}: {l}"));
                }
            }
            out.extend(self.map.iter().map(|l| format!("map: {l}")));
            out.extend(self.capture_verdict.iter().cloned());
        }
        out
    }

    /// Whether two keys tell the same story (on what both runs saw).
    pub fn same(&self, other: &Key) -> bool {
        self.lines(other) == other.lines(self)
    }

    /// The first line that differs, for the report.
    pub fn first_difference(&self, other: &Key) -> String {
        let (a, b) = (self.lines(other), other.lines(self));
        let mut la = a.iter();
        let mut lb = b.iter();
        loop {
            match (la.next(), lb.next()) {
                (Some(x), Some(y)) if x == y => continue,
                (x, y) => {
                    return format!(
                        "book has `{}`, a fresh run gives `{}`",
                        x.map_or("(nothing)", String::as_str),
                        y.map_or("(nothing)", String::as_str)
                    );
                }
            }
        }
    }

    /// Why this run (fresh) cannot be compared with `stored` here, if so.
    pub fn cannot_check(&self, stored: &Key) -> Option<&'static str> {
        (stored.needs_namespace && stored.namespace && !self.namespace)
            .then_some("the lab sets lo's MTU, which needs a private network namespace (root)")
    }

    /// Records the diagram drawn from this run.
    pub fn with_diagram(mut self, svg: &str) -> Key {
        self.diagram = Some(page_hash(svg));
        self
    }

    /// Whether `svg` is the diagram drawn from the run this key describes.
    pub fn matches_diagram(&self, svg: &str) -> bool {
        self.diagram.as_deref() == Some(page_hash(svg).as_str())
    }

    /// Whether `page` is the page this key was written with.
    pub fn matches_page(&self, page: &str) -> bool {
        self.page == page_hash(page)
    }
}

/// FNV-1a, 64 bits, as hex: enough to notice an edit, not a secret.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn page_hash(page: &str) -> String {
    format!("{:016x}", fnv(page.as_bytes()))
}

/// What stands in for bytes that vary: each socket address of the run (by
/// the socket that owns it) and each noted value (by why it varies).
struct Masks {
    /// Needle bytes and what replaces them, longest needle first.
    needles: Vec<(Vec<u8>, String, bool)>,
    /// Owner of each local address: `actor.sock`.
    owners: BTreeMap<SocketAddr, String>,
}

impl Masks {
    fn new(calls: &[Call], noted: &[Noted]) -> Masks {
        let mut owners = BTreeMap::new();
        for c in calls {
            if let Some(local) = c.local {
                let name = format!("{}.{}", c.actor, c.sock.as_deref().unwrap_or("?"));
                owners.entry(local).or_insert(name);
            }
        }
        // (needle, replacement, must not be followed by a digit)
        let mut needles: Vec<(Vec<u8>, String, bool)> = Vec::new();
        for (addr, name) in &owners {
            // A socket bound to no address in particular (an unbound UDP
            // client after its first sendto) is reached on loopback.
            let seen: Vec<SocketAddr> = if addr.ip().is_unspecified() {
                vec![
                    SocketAddr::from(([127, 0, 0, 1], addr.port())),
                    SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
                ]
            } else {
                vec![*addr]
            };
            for a in seen {
                needles.push((a.to_string().into_bytes(), format!("<{name}>"), true));
            }
            needles.push((
                format!("port {}", addr.port()).into_bytes(),
                format!("port <{name}>"),
                true,
            ));
        }
        for n in noted {
            needles.push((
                n.bytes.clone(),
                format!("<{} {} B>", n.varies.name(), n.bytes.len()),
                false,
            ));
        }
        needles.sort_by_key(|(n, _, _)| std::cmp::Reverse(n.len()));
        Masks { needles, owners }
    }

    /// The owner of `addr`, or of its port on any address.
    fn owner(&self, addr: SocketAddr) -> String {
        self.owners
            .get(&addr)
            .or_else(|| {
                self.owners
                    .iter()
                    .find(|(a, _)| a.port() == addr.port() && a.ip().is_unspecified())
                    .map(|(_, n)| n)
            })
            .cloned()
            .unwrap_or_else(|| format!("{}:?", addr.ip()))
    }

    /// `bytes` escaped, with every needle replaced.
    fn text(&self, bytes: &[u8]) -> String {
        let mut out = String::new();
        let mut plain: Vec<u8> = Vec::new();
        let mut i = 0;
        'outer: while i < bytes.len() {
            for (needle, with, no_digit_after) in &self.needles {
                let end = i + needle.len();
                if bytes[i..].starts_with(needle)
                    && !(*no_digit_after && bytes.get(end).is_some_and(u8::is_ascii_digit))
                {
                    out.push_str(&escape(&plain));
                    plain.clear();
                    out.push_str(with);
                    i = end;
                    continue 'outer;
                }
            }
            plain.push(bytes[i]);
            i += 1;
        }
        out.push_str(&escape(&plain));
        out
    }

    /// A payload as the key keeps it: whole when short, else its first
    /// bytes, its length and a hash (of the masked text, so that noted
    /// values inside do not count).
    fn payload(&self, bytes: &[u8]) -> String {
        if bytes.len() <= KEPT_BYTES {
            return format!("\"{}\"", self.text(bytes));
        }
        let whole = self.text(bytes);
        let head = self.text(&bytes[..KEPT_BYTES / 2]);
        format!(
            "\"{head}…\" {} B fnv={:016x}",
            bytes.len(),
            fnv(whole.as_bytes())
        )
    }
}

/// Runs of reads that the key merges: for each call, the index of the
/// first read of its run, when it belongs to one. A run is one actor's
/// reads of one socket (its other calls and other actors' calls between
/// them), up to the end of stream or an error, where at least one read had
/// a bulk buffer; how the kernel cut those bytes into reads varies, down
/// to whether they came in one read or several, and before or after the
/// actor's next send.
fn bulk_runs(calls: &[Call]) -> Vec<Option<usize>> {
    let mut run = vec![None; calls.len()];
    for (i, c) in calls.iter().enumerate() {
        if run[i].is_some() || c.op != Op::Recv {
            continue;
        }
        // The actor's reads of this socket, until one ends the stream or
        // fails. Its other calls (a send, a protocol's summary) do not end
        // the run: a protocol that keeps its buffer from one message to the
        // next reads ahead, and which of its steps made a read depends on
        // the cut too.
        let members: Vec<usize> = calls
            .iter()
            .enumerate()
            .skip(i)
            .filter(|(_, d)| d.actor == c.actor && d.sock == c.sock && d.op == Op::Recv)
            .take_while(|(_, d)| d.error.is_none() && d.returned != Some(0))
            .map(|(k, _)| k)
            .collect();
        let bulk = members
            .iter()
            .any(|&k| calls[k].len.unwrap_or(0) >= BULK_READ);
        if bulk {
            for k in members {
                run[k] = Some(i);
            }
        }
    }
    run
}

/// Where a call stands in a fill (see the module's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// Not part of a fill.
    No,
    /// One of the sends of the fill whose last send is call `.0` (the one
    /// that failed with EAGAIN).
    Member(usize),
    /// The fill's last send, which failed with EAGAIN.
    Last,
    /// The first send of the socket after the fill: the rest.
    Rest,
}

impl Fill {
    /// Whether the call's offered length and stream range depend on how
    /// much the fill got taken.
    fn moved(self) -> bool {
        self != Fill::No
    }
}

/// The fills of a run: for each call, where it stands in one.
fn fills(calls: &[Call]) -> Vec<Fill> {
    let mut fill = vec![Fill::No; calls.len()];
    let same = |a: &Call, b: &Call| a.actor == b.actor && a.sock == b.sock;
    for (last, c) in calls.iter().enumerate() {
        if c.op != Op::Send || c.error.as_deref() != Some("EAGAIN") || fill[last] != Fill::No {
            continue;
        }
        fill[last] = Fill::Last;
        // Back over the same actor's sends on that socket, while they took
        // bytes: other actors' calls interleave, its own other calls end it.
        let before = calls[..last]
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, d)| d.actor == c.actor);
        for (k, d) in before {
            if !(same(d, c) && d.op == Op::Send && d.error.is_none() && fill[k] == Fill::No) {
                break;
            }
            fill[k] = Fill::Member(last);
        }
        // Forward to the actor's next send of any kind on that socket.
        let rest =
            calls.iter().enumerate().skip(last + 1).find(|(_, d)| {
                same(d, c) && d.op.is_send() && d.error.as_deref() != Some("EAGAIN")
            });
        if let Some((k, _)) = rest {
            fill[k] = Fill::Rest;
        }
    }
    fill
}

/// The line of a fill that ends with call `last`, from its members.
fn fill_line(calls: &[Call], last: usize, members: &[&Call]) -> String {
    let c = &calls[last];
    let from = members
        .iter()
        .find_map(|d| d.stream)
        .map_or(String::new(), |(a, _)| format!(" from {a}"));
    let took = if members.is_empty() {
        "nothing taken".to_string()
    } else {
        format!("bytes taken{from}")
    };
    format!(
        "{}({}, until EAGAIN) → {took}, then {}",
        c.op,
        c.sock.as_deref().unwrap_or("?"),
        c.error.as_deref().unwrap_or("?")
    )
}

/// The line of the send that offers what a fill left.
fn rest_line(c: &Call) -> String {
    let sock = c.sock.as_deref().unwrap_or("?");
    let took = match (c.returned, c.len) {
        (Some(n), Some(len)) if n >= 0 && n as usize == len => {
            let end = c
                .stream
                .map_or(String::new(), |(_, b)| format!(", up to {b}"));
            format!("all of it{end}")
        }
        (Some(_), _) => "part of it".to_string(),
        (None, _) => c.error.clone().unwrap_or_else(|| "?".into()),
    };
    format!("{}({sock}, the rest) → {took}", c.op)
}

/// One line per call (or per merged run of bulk reads, or per fill), with
/// its actor.
fn call_lines(
    calls: &[Call],
    runs: &[Option<usize>],
    fills: &[Fill],
    masks: &Masks,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        match fills[i] {
            Fill::No => {}
            Fill::Member(_) => continue,
            Fill::Last => {
                let members: Vec<&Call> = calls
                    .iter()
                    .zip(fills)
                    .filter(|(_, f)| **f == Fill::Member(i))
                    .map(|(d, _)| d)
                    .collect();
                out.push((c.actor.clone(), fill_line(calls, i, &members)));
                continue;
            }
            Fill::Rest => {
                out.push((c.actor.clone(), rest_line(c)));
                continue;
            }
        }
        match runs[i] {
            None => out.push((c.actor.clone(), call_line(c, masks))),
            Some(first) if first == i => {
                let members: Vec<&Call> = calls
                    .iter()
                    .zip(runs)
                    .filter(|(_, r)| **r == Some(i))
                    .map(|(d, _)| d)
                    .collect();
                let bytes: Vec<u8> = members
                    .iter()
                    .flat_map(|d| d.data.clone().unwrap_or_default())
                    .collect();
                let range = match (c.stream, members.last().and_then(|d| d.stream)) {
                    (Some((a, _)), Some((_, b))) => format!(" [{a}, {b})"),
                    _ => String::new(),
                };
                out.push((
                    c.actor.clone(),
                    format!(
                        "recv({}, bulk) → {} B {}{range}",
                        c.sock.as_deref().unwrap_or("?"),
                        bytes.len(),
                        masks.payload(&bytes)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    out
}

/// One call: `recv(conn, 1024) → 9 B "hellofeng"`, with what varies left
/// out or named.
fn call_line(c: &Call, masks: &Masks) -> String {
    let mut s = format!("{}(", c.op);
    if let Some(sock) = &c.sock {
        s.push_str(sock);
    }
    if MEASURED.contains(&c.op) {
        s.push_str(", measured)");
        return s;
    }
    if NEEDS_NAMESPACE.contains(&c.op) {
        s.push(')');
        return s;
    }
    if !c.args.is_empty() {
        if c.sock.is_some() {
            s.push_str(", ");
        }
        s.push_str(&masks.text(c.args.as_bytes()));
    }
    if let Some(len) = c.len {
        s.push_str(&format!(", {len}"));
    }
    s.push_str(") → ");
    match (&c.error, c.returned) {
        (Some(e), _) => s.push_str(e),
        (None, Some(_)) if c.op.returns_fd() => s.push_str("fd"),
        (None, Some(n)) => s.push_str(&n.to_string()),
        (None, None) => s.push('?'),
    }
    if c.timed_out {
        s.push_str(" (timed out)");
    }
    if let Some(data) = &c.data {
        s.push(' ');
        s.push_str(&masks.payload(data));
    }
    if let Some((a, b)) = c.stream {
        s.push_str(&format!(" [{a}, {b})"));
    }
    if c.truncated == Some(true) {
        s.push_str(&format!(
            " truncated from {} B",
            c.datagram_len.unwrap_or(0)
        ));
    }
    if c.repeat > 1 {
        s.push_str(" (repeated)");
    }
    s
}

/// One line per packet that says something, per direction: SYN, FIN and
/// RST as they came (a retransmitted one once), UDP datagrams with their
/// bytes, and the TCP data as the stream ranges it covered (the union of
/// all segments: how the kernel cut the stream, and whether a segment was
/// sent twice, varies). Pure ACKs and IP fragments after the first are
/// left out.
fn packet_lines(packets: &[Packet], masks: &Masks) -> Vec<(String, String)> {
    let mut data: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    let mut out = Vec::new();
    // Each SYN, FIN and RST once, by where it stands in its side's sequence
    // space: a retransmission (a tail loss probe re-sends the last segment,
    // FIN included, when its ACK is late on a busy machine) repeats it.
    let mut flagged: std::collections::BTreeSet<(SocketAddr, SocketAddr, &str, u32)> =
        std::collections::BTreeSet::new();
    for p in packets {
        let Ok(frame) = &p.frame else {
            out.push(("undecodable".into(), "frame".into()));
            continue;
        };
        let Some((src, dst)) = frame.endpoints() else {
            continue; // a non-first fragment: the datagram's row says it
        };
        let dir = format!("{} → {}", masks.owner(src), masks.owner(dst));
        match &frame.transport {
            Transport::Tcp(t) => {
                if let Some((a, b)) = p.info.stream.filter(|(a, b)| b > a) {
                    data.entry(dir.clone()).or_default().push((a, b));
                }
                // The sequence number each flag stands at: SYN and RST at
                // the segment's, FIN after its data (and its SYN, if any).
                let syn = u32::from(t.flags.contains(TcpFlags::SYN));
                let fin_at = t.seq.0.wrapping_add(t.payload_len as u32).wrapping_add(syn);
                let names: Vec<&str> = [
                    (TcpFlags::SYN, "SYN", t.seq.0),
                    (TcpFlags::FIN, "FIN", fin_at),
                    (TcpFlags::RST, "RST", t.seq.0),
                ]
                .into_iter()
                .filter(|(flag, name, at)| {
                    t.flags.contains(*flag) && flagged.insert((src, dst, name, *at))
                })
                .map(|(_, name, _)| name)
                .collect();
                if !names.is_empty() {
                    out.push((dir, names.join(",")));
                }
            }
            Transport::Udp(u) => {
                if frame.ip.fragment.is_some_and(|f| f.more) {
                    // The first of several fragments: only its datagram's
                    // length is certain.
                    out.push((dir, format!("UDP len={} (fragmented)", u.length - 8)));
                } else {
                    out.push((dir, format!("UDP {}", masks.payload(&u.payload))));
                }
            }
            _ => {}
        }
    }
    for (dir, mut ranges) in data {
        ranges.sort();
        let mut union: Vec<(u64, u64)> = Vec::new();
        for (a, b) in ranges {
            match union.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => union.push((a, b)),
            }
        }
        for (a, b) in union {
            out.push((dir.clone(), format!("data [{a}, {b})")));
        }
    }
    out
}

/// The map's "came from" column: each receive, and the sends its bytes
/// came from, without the packet numbers (which depend on segmentation) or
/// the calls' numbers (which depend on the order peers were served in).
fn map_lines(
    calls: &[Call],
    map: &[MapEntry],
    runs: &[Option<usize>],
    fills: &[Fill],
    masks: &Masks,
) -> Vec<String> {
    let name = |i: usize| format!("{} {}", calls[i].actor, calls[i].op);
    // Which bytes of a fill's sends a receive got depends on the fill.
    let range = |k: usize, a: u64, b: u64| {
        if fills[k].moved() {
            String::new()
        } else {
            format!(" [{a}, {b})")
        }
    };
    map.iter()
        .filter(|e| !e.sources.is_empty())
        // Bulk reads are cut differently in every run.
        .filter(|e| runs[e.call].is_none() && calls[e.call].len.unwrap_or(0) < BULK_READ)
        .map(|e| {
            let c = &calls[e.call];
            let from = e
                .sources
                .iter()
                .map(|(k, a, b)| format!("{}{}", name(*k), range(*k, *a, *b)))
                .collect::<Vec<_>>()
                .join(" + ");
            format!(
                "{} {} ← {from}",
                name(e.call),
                masks.payload(c.data.as_deref().unwrap_or_default())
            )
        })
        .collect()
}

/// Bytes from the hex a key stores.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Varies;

    /// A run of lab 09 as calls, with the ports, fd numbers and times it
    /// was given, and the bytes the server's recv got.
    fn run(port: u16, fd: i64, t: u64, got: &[u8], noted: Vec<Noted>) -> Finished {
        let server: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let client: SocketAddr = format!("127.0.0.1:{}", port + 1).parse().unwrap();
        let call = |actor: &str, op: &str, sock: &str| {
            let mut c = Call::new(t, actor, Op::from_name(op).unwrap());
            c.sock = Some(sock.into());
            c
        };
        let mut socket = call("server", "socket", "srv");
        socket.returned = Some(fd);
        socket.args = "AF_INET, SOCK_STREAM".into();
        let mut bind = call("server", "bind", "srv");
        bind.args = "127.0.0.1:0".into();
        bind.returned = Some(0);
        bind.local = Some(server);
        let mut connect = call("client", "connect", "sock");
        connect.args = server.to_string();
        connect.returned = Some(0);
        connect.local = Some(client);
        connect.peer = Some(server);
        let mut send = call("client", "send", "sock");
        send.len = Some(got.len());
        send.returned = Some(got.len() as i64);
        send.data = Some(got.to_vec());
        let mut recv = call("server", "recv", "conn");
        recv.len = Some(1024);
        recv.returned = Some(got.len() as i64);
        recv.data = Some(got.to_vec());
        recv.waited_us = t * 7;
        Finished {
            calls: vec![socket, bind, connect, send, recv],
            packets: Vec::new(),
            map: Vec::new(),
            verdicts: Vec::new(),
            capture: "off: test".into(),
            stats: None,
            noted,
        }
    }

    fn key(done: &Finished) -> Key {
        let labs = crate::catalog::builtin().unwrap();
        let lab = crate::catalog::find(&labs, "09").unwrap();
        let knobs = lab.knob_values(&[]).unwrap();
        Key::of("$ lab run 09-sticky-packet", lab, &knobs, done, "page")
    }

    #[test]
    fn ports_fds_and_times_do_not_change_the_key() {
        let a = key(&run(40001, 5, 100, b"hellofeng", vec![]));
        let b = key(&run(53611, 9, 2500, b"hellofeng", vec![]));
        assert!(a.same(&b), "{}", a.first_difference(&b));
        let line = &a.calls["client"][0];
        assert_eq!(line, "connect(sock, <server.srv>) → 0", "{a:?}");
    }

    #[test]
    fn a_changed_result_changes_the_key() {
        let a = key(&run(40001, 5, 100, b"hellofeng", vec![]));
        let b = key(&run(40001, 5, 100, b"hello", vec![]));
        assert!(!a.same(&b));
        assert!(a.first_difference(&b).contains("hellofeng"));
    }

    #[test]
    fn only_bytes_noted_as_varying_are_set_aside() {
        // The same date noted as a clock reading: two days, one key.
        let noted = |d: &[u8]| {
            vec![Noted {
                varies: Varies::Clock,
                bytes: d.to_vec(),
            }]
        };
        let a = key(&run(40001, 5, 100, b"2026-11-26", noted(b"2026-11-26")));
        let b = key(&run(40001, 5, 100, b"2026-12-01", noted(b"2026-12-01")));
        assert!(a.same(&b), "{}", a.first_difference(&b));
        assert!(a.calls["server"].iter().any(|l| l.contains("<clock 10 B>")));
        // Not noted: a date is bytes like any other, and a change shows.
        let a = key(&run(40001, 5, 100, b"2026-11-26", vec![]));
        let b = key(&run(40001, 5, 100, b"2026-12-01", vec![]));
        assert!(!a.same(&b));
    }

    #[test]
    fn bulk_reads_cut_differently_are_the_same_bytes() {
        let reads = |cuts: &[usize]| {
            let mut done = run(40001, 5, 100, b"x", vec![]);
            done.calls.pop();
            let mut at = 0u64;
            for &n in cuts {
                let mut r = Call::new(0, "server", Op::Recv);
                r.sock = Some("conn".into());
                r.len = Some(65536);
                r.returned = Some(n as i64);
                r.data = Some(vec![b'a'; n]);
                r.stream = Some((at, at + n as u64));
                at += n as u64;
                done.calls.push(r);
            }
            done
        };
        let a = key(&reads(&[65536, 34464]));
        let b = key(&reads(&[32902, 65536, 1562]));
        assert!(a.same(&b), "{}", a.first_difference(&b));
        let c = key(&reads(&[65536, 34465]));
        assert!(!a.same(&c), "one byte more is another story");
    }

    /// Lab 11's client: non-blocking sends that took `took` bytes each,
    /// one that failed with EAGAIN, then send_all of the rest.
    fn filled(took: &[usize], rest_taken: bool) -> Finished {
        let total = 262_144usize;
        let mut done = run(40001, 5, 100, b"x", vec![]);
        done.calls.truncate(3);
        let send = |op: Op, offered: usize, at: usize, n: Option<usize>| {
            let mut c = Call::new(0, "client", op);
            c.sock = Some("sock".into());
            c.len = Some(offered);
            match n {
                Some(n) => {
                    c.returned = Some(n as i64);
                    c.data = Some(vec![b'a' + (at % 26) as u8; n]);
                    c.stream = Some((at as u64, (at + n) as u64));
                }
                None => c.error = Some("EAGAIN".into()),
            }
            c
        };
        let mut at = 0;
        for &n in took {
            done.calls.push(send(Op::Send, total - at, at, Some(n)));
            at += n;
        }
        done.calls.push(send(Op::Send, total - at, at, None));
        let n = if rest_taken { total - at } else { 1000 };
        done.calls.push(send(Op::SendAll, total - at, at, Some(n)));
        done
    }

    #[test]
    fn how_much_a_full_buffer_took_does_not_change_the_key() {
        // Lab 11 under load: the kernel now and then takes one more 2048 B
        // send (or one of 4096 B) before EAGAIN, so the failing send and
        // send_all offer 249856 B instead of 251904 B. Its key once kept
        // those lengths, and the book went stale about one run in four.
        let a = key(&filled(&[6144, 2048, 2048], true));
        let b = key(&filled(&[6144, 2048, 2048, 2048], true));
        let c = key(&filled(&[6144, 2048, 4096], true));
        assert!(a.same(&b), "{}", a.first_difference(&b));
        assert!(a.same(&c), "{}", a.first_difference(&c));
        let lines = &a.calls["client"];
        assert!(
            lines.contains(&"send(sock, until EAGAIN) → bytes taken from 0, then EAGAIN".into()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"send_all(sock, the rest) → all of it, up to 262144".into()),
            "{lines:?}"
        );
        // What always holds still counts: the rest taken whole, and EAGAIN.
        let d = key(&filled(&[6144, 2048, 2048], false));
        assert!(
            !a.same(&d),
            "send_all that took part of the rest is another story"
        );
        let mut e = filled(&[6144, 2048, 2048], true);
        let last = e.calls.len() - 2;
        e.calls[last].error = Some("EPIPE".into());
        assert!(
            !a.same(&key(&e)),
            "a send that fails otherwise is another story"
        );
    }

    /// A TCP segment of lab 09's connection (see [`run`]), as captured.
    fn segment(from_client: bool, seq: u32, flags: TcpFlags, data: &[u8]) -> Packet {
        let (client, server) = ("127.0.0.1:40002", "127.0.0.1:40001");
        let (s, d) = if from_client {
            (client, server)
        } else {
            (server, client)
        };
        crate::correlate::segment(s, d, seq, 1, flags, data)
    }

    #[test]
    fn a_retransmitted_fin_is_one_fin() {
        // Lab 08 on a busy machine: the client's last segment, "rm -rf ~"
        // with its FIN, went out again 5 ms later (a tail loss probe: its
        // ACK was late), and the page went stale on a second FIN line.
        let with = |again: bool| {
            let mut done = run(40001, 5, 100, b"hellofeng", vec![]);
            done.stats = Some(Default::default());
            let fin = TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK;
            done.packets = vec![
                segment(true, 100, TcpFlags::SYN, b""),
                segment(false, 900, TcpFlags::SYN | TcpFlags::ACK, b""),
                segment(true, 101, fin, b"rm -rf ~"),
            ];
            if again {
                done.packets.push(segment(true, 101, fin, b"rm -rf ~"));
            }
            done.packets
                .push(segment(false, 901, TcpFlags::FIN | TcpFlags::ACK, b""));
            key(&done)
        };
        let (once, twice) = (with(false), with(true));
        assert!(once.same(&twice), "{}", once.first_difference(&twice));
        assert_eq!(
            once.packets["client.sock → server.srv"],
            ["FIN", "SYN"],
            "{once:?}"
        );
        // A second FIN further on in the sequence space is another FIN.
        let mut other = run(40001, 5, 100, b"hellofeng", vec![]);
        other.stats = Some(Default::default());
        other.packets = vec![
            segment(true, 100, TcpFlags::SYN, b""),
            segment(true, 101, TcpFlags::FIN, b""),
            segment(true, 102, TcpFlags::FIN, b""),
        ];
        assert_eq!(key(&other).packets["client.sock → server.srv"].len(), 3);
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }

    #[test]
    fn a_page_is_known_by_its_hash() {
        let a = key(&run(40001, 5, 100, b"hellofeng", vec![]));
        assert!(a.matches_page("page"));
        assert!(!a.matches_page("page, edited"));
    }
}
