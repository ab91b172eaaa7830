//! One timeline from two sources: calls from the runner's actors and
//! packets from the capture arrive on one channel, a little out of order
//! (a call is reported when it returns; the capture hands frames over a
//! block at a time). The timeline holds each event briefly, then releases
//! events in the order they happened, with each packet's place in its flow
//! worked out (relative numbers, and what Wireshark's TCP analysis says of
//! it) and its endpoints named after the actors that own them.
//!
//! `lab inspect` and `lab capture` may add a display filter (`--filter`,
//! see [`crate::filter`]) as the last step: every packet is numbered and
//! placed in its flow first, so that frame numbers, stream numbers and
//! relative sequence numbers count the packets the filter then holds back.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};

use crate::analysis::Analyzer;
use crate::conversations::Conversations;
use crate::correlate::Flows;
use crate::filter::DisplayFilter;
use crate::trace::{Call, Event, Packet};

/// Events in arrival order become events in timeline order.
#[derive(Debug, Default)]
pub struct Timeline {
    held: Vec<Event>,
    flows: Flows,
    /// Wireshark's TCP analysis, fed the packets as they are released (so
    /// its frame numbers are the timeline's `#N`).
    analyzer: Analyzer,
    /// Ports the lab's sockets used, known as their calls arrive.
    ports: HashSet<u16>,
    /// Which actor owns which address, learnt as calls arrive (before they
    /// are released), so that a SYN can name the client whose connect()
    /// has not returned yet.
    owners: HashMap<SocketAddr, String>,
    /// On the host's `lo` other programs' traffic shares the interface:
    /// then only packets to or from the lab's ports are kept.
    only_lab_ports: bool,
    /// Whether released calls and packets are kept (below): a run keeps
    /// them for its map and checks; `lab capture`, which may run for
    /// hours, shows each packet and lets it go.
    keep: bool,
    /// `--filter`: only the packets it matches are released. Every packet
    /// still goes through the flows above first, so that relative sequence
    /// numbers and stream numbers count the packets it leaves out.
    filter: Option<DisplayFilter>,
    /// Conversations numbered as Wireshark's `tcp.stream` / `udp.stream`,
    /// kept only when the filter asks for them.
    conversations: Option<Conversations>,
    /// Packets seen so far: the next one's `frame.number` is one more.
    numbered: u64,
    /// Everything released so far (when kept).
    pub calls: Vec<Call>,
    pub packets: Vec<Packet>,
}

impl Timeline {
    pub fn new(only_lab_ports: bool) -> Self {
        Timeline {
            only_lab_ports,
            keep: true,
            ..Timeline::default()
        }
    }

    /// The same timeline, keeping nothing it has released: for a stream
    /// with no end (`lab capture`, `lab serve`) or whose view keeps what
    /// it needs itself (`lab inspect`, `lab repl`).
    pub fn passing(self) -> Self {
        Timeline {
            keep: false,
            ..self
        }
    }

    /// The same timeline, releasing only the packets `filter` matches (the
    /// stage `--filter` adds to `lab inspect` and `lab capture`).
    pub fn filtered(self, filter: DisplayFilter) -> Self {
        Timeline {
            conversations: filter.needs_streams.then(Conversations::default),
            filter: Some(filter),
            ..self
        }
    }

    /// Takes an event as it arrives.
    pub fn push(&mut self, event: Event) {
        if let Event::Call(c) = &event {
            // Learnt on arrival: a call is released at its return, after
            // the packets it caused, which must already count as ours.
            self.ports
                .extend(c.local.iter().chain(c.peer.iter()).map(|a| a.port()));
            if let Some(local) = c.local {
                self.owners.entry(local).or_insert_with(|| c.actor.clone());
            }
        }
        // Kept in timeline order as events arrive: most arrive in order,
        // so each goes in near the end (sorting the whole queue at every
        // release cost more than the rest of the pipeline under a busy
        // `lab trace`). Equal times keep their arrival order.
        let t = event.timeline_us();
        let at = self.held.partition_point(|e| e.timeline_us() <= t);
        self.held.insert(at, event);
    }

    /// Whether events are waiting to be released.
    pub fn holds_any(&self) -> bool {
        !self.held.is_empty()
    }

    /// Releases, in timeline order, every held event that happened at or
    /// before `cutoff` (µs), handing each to `show` before keeping it.
    pub fn release(&mut self, cutoff: u64, mut show: impl FnMut(&Event)) {
        let n = self.held.partition_point(|e| e.timeline_us() <= cutoff);
        let ready: Vec<Event> = self.held.drain(..n).collect();
        for event in ready {
            let Some(event) = self.place(event) else {
                continue;
            };
            show(&event);
            self.keep(event);
        }
    }

    /// Takes the next packet of a file and releases it at once if the
    /// filter lets it through: a file's frames are in the file's own order,
    /// which the timeline must not sort (a capture's clock can step back),
    /// and nothing waits to be held back. For a timeline that holds no
    /// other events (`lab inspect`).
    pub fn pass(&mut self, packet: Packet) -> Option<Packet> {
        debug_assert!(self.held.is_empty(), "pass() on a timeline holding events");
        let Some(Event::Packet(p)) = self.place(Event::Packet(packet)) else {
            return None;
        };
        if self.keep {
            self.packets.push(p.clone());
        }
        Some(p)
    }

    /// The conversations numbered so far, when the filter asked for them
    /// (it names `tcp.stream` or `udp.stream`).
    pub fn conversations(&self) -> Option<&Conversations> {
        self.conversations.as_ref()
    }

    /// Works out a packet's place (its flow, number, conversation, TCP
    /// analysis, owners);
    /// `None` for a packet that is not shown (another program's on the
    /// host's `lo`, or one the filter leaves out).
    fn place(&mut self, mut event: Event) -> Option<Event> {
        if let Event::Packet(p) = &mut event {
            if self.only_lab_ports && !self.is_ours(p) {
                return None;
            }
            p.info = self.flows.observe(p);
            self.numbered += 1;
            p.info.number = self.numbered;
            if let Some(c) = &mut self.conversations {
                p.info.conversation = c.number(p);
            }
            p.info.analysis = self.analyzer.observe(p);
            if let Some((a, b)) = p.frame.as_ref().ok().and_then(|f| f.endpoints()) {
                p.info.from = self.owner(a);
                p.info.to = self.owner(b);
            }
            if self.filter.as_ref().is_some_and(|f| !f.matches(p)) {
                return None;
            }
        }
        Some(event)
    }

    /// Keeps a released event, when this timeline keeps them.
    fn keep(&mut self, event: Event) {
        if !self.keep {
            return;
        }
        match event {
            Event::Call(c) => self.calls.push(c),
            Event::Packet(p) => self.packets.push(p),
            _ => {}
        }
    }

    fn is_ours(&self, p: &Packet) -> bool {
        match &p.frame {
            // A later IP fragment has no ports: keep it, it belongs to a
            // datagram whose first fragment was judged.
            Ok(f) => f.endpoints().is_none_or(|(a, b)| {
                self.ports.contains(&a.port()) || self.ports.contains(&b.port())
            }),
            Err(_) => false,
        }
    }

    /// The actor owning `addr`; a wildcard-bound socket (`0.0.0.0:port`)
    /// owns its port on every address.
    fn owner(&self, addr: SocketAddr) -> Option<String> {
        let any = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), addr.port());
        self.owners
            .get(&addr)
            .or_else(|| self.owners.get(&any))
            .cloned()
    }
}
