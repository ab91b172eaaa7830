//! TCP analysis: what each segment means for its connection, judged the way
//! Wireshark judges it (its "SEQ/ACK analysis", the `tcp.analysis.*`
//! fields).
//!
//! A capture shows segments one by one; TCP's story is in how they relate.
//! The analyzer follows each connection in capture order and remembers, for
//! each direction, what a well-behaved sender would do next: the next
//! sequence number it should use (`nextseq`), the last ACK and window it
//! sent, the segments still waiting for an ACK. A segment that breaks the
//! pattern gets a [`Flag`]. The rules below are Wireshark's, tested in
//! Wireshark's order (the first rule that matches often ends the tests),
//! so that the counts agree with `tshark` on the same file; each rule says
//! what the kernel did and why Wireshark calls it that.
//!
//! # The flags, in the order they are tested
//!
//! 1. **Zero window probe** (`tcp.analysis.zero_window_probe`): exactly one
//!    byte, at the next expected sequence number, while the peer's last
//!    window was 0. The receiver said "my buffer is full, send nothing";
//!    the sender's kernel still pushes one byte now and then (the persist
//!    timer) to learn when the window opens again: the ACK to that byte
//!    carries the current window. A probe ends the window tests.
//! 2. **Zero window** (`tcp.analysis.zero_window`): a segment (not SYN, FIN
//!    or RST) advertising window 0. The receiving program is not calling
//!    recv() fast enough: its socket's receive buffer is full, and the
//!    kernel tells the sender to stop.
//! 3. **Previous segment not captured** (`tcp.analysis.lost_segment`): the
//!    segment starts beyond the next expected sequence number, so bytes in
//!    between were never seen: lost on the way (a drop before the capture
//!    point), or the capture began mid-connection.
//! 4. **Keep-alive** (`tcp.analysis.keep_alive`): 0 or 1 byte starting one
//!    byte *before* the next expected sequence number. With SO_KEEPALIVE an
//!    idle connection's kernel sends such an old byte number; the peer
//!    cannot accept it and must answer with an ACK, which proves it is
//!    still there.
//! 5. **Window update** (`tcp.analysis.window_update`): no data, same SEQ
//!    and ACK as the sender's previous segment, but a different non-zero
//!    window: the receiver's program read data, buffer space came free, and
//!    the kernel announces it (typically after a zero window).
//! 6. **Window full** (`tcp.analysis.window_full`): data that reaches
//!    exactly the right edge of the window the peer advertised (its last
//!    ACK plus its window). The sender used all the room it was given; the
//!    next data must wait for an ACK that opens the window. Only judged
//!    when the handshake told how windows are scaled.
//! 7. **Keep-alive ACK** (`tcp.analysis.keep_alive_ack`): an empty segment
//!    repeating the sender's previous SEQ, ACK and window, right after a
//!    keep-alive from the peer. Ends the ACK tests.
//! 8. **Zero window probe ACK** (`tcp.analysis.zero_window_probe_ack`): an
//!    empty segment repeating a zero window, right after a probe from the
//!    peer. Ends the ACK tests.
//! 9. **Duplicate ACK** (`tcp.analysis.duplicate_ack`): an empty segment
//!    repeating the sender's previous SEQ, ACK and non-zero window. A
//!    receiver that gets data beyond a hole ACKs the hole's start again for
//!    every such segment (with SACK blocks saying what did arrive): the
//!    repeats are how the sender learns of the loss. Numbered `#n` after
//!    the frame whose ACK they repeat.
//! 10. **ACKed unseen segment** (`tcp.analysis.ack_lost_segment`): the ACK
//!     covers bytes of the other direction the capture never saw (the
//!     receiver got them; the capture missed them). Said once per gap: the
//!     ACKs after it stay quiet until the other side skips bytes again.
//! 11. For a segment with data (or SYN or FIN) that does not advance the
//!     sequence, one of:
//!    - **Spurious retransmission** (`tcp.analysis.spurious_retransmission`):
//!      every byte of it was already ACKed by the peer. The sender's timer
//!      fired although the data had arrived (the ACK was slow or lost).
//!    - **Fast retransmission** (`tcp.analysis.fast_retransmission`): it
//!      starts where the peer's last ACK points, after two or more duplicate
//!      ACKs, within 20 ms of the last one. The sender did not wait for its
//!      timer: the duplicate ACKs told it a segment was lost (RFC 5681 fast
//!      retransmit, or Linux's SACK-based recovery).
//!    - **Out-of-order** (`tcp.analysis.out_of_order`): it arrived sooner
//!      after the highest segment than one handshake round trip (3 ms when
//!      the handshake was not seen): too soon to be a resend, so the network
//!      reordered it.
//!    - **Retransmission** (`tcp.analysis.retransmission`): otherwise; most
//!      often the sender's retransmission timer (RTO, 200 ms and more)
//!      expired without an ACK. Wireshark names the oldest segment still
//!      unacknowledged as the one it repeats (`tcp.analysis.rto_frame`).
//!
//! Beside the flags, an ACK that acknowledges exactly the end of an earlier
//! segment names it (`tcp.analysis.acks_frame`) with the time between the
//! two (`tcp.analysis.ack_rtt`: one round trip as that ACK measured it),
//! and a segment with data gets its **bytes in flight**
//! (`tcp.analysis.bytes_in_flight`): how many bytes its sender has sent and
//! not yet seen ACKed, less what the SACK blocks of the peer's latest
//! segment say arrived.
//!
//! Wireshark's filter field `tcp.analysis.retransmission` is also set on
//! fast and spurious retransmissions; [`TcpAnalysis::has`] answers the same
//! way (see [`FlagKind::field`]).
//!
//! # Memory
//!
//! State is kept per connection, and a connection's unacknowledged
//! segments are capped (Wireshark's own cap of 10,000). A connection that
//! ended (a RST, or a FIN each way) is kept a little while for late
//! segments (a retransmitted FIN), then forgotten: only the most recent
//! [`CLOSED_KEPT`] closed connections are remembered.

mod flow;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use crate::trace::Packet;
use crate::wire::Transport;

pub use flow::Connection;

/// Closed connections remembered for their late segments.
pub const CLOSED_KEPT: usize = 1024;

/// What Wireshark's analysis may say of one segment: one variant per
/// `tcp.analysis.*` flag, without the data some of them carry (see
/// [`Flag`]). This is the name to query by (`--filter` fields, counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlagKind {
    Retransmission,
    FastRetransmission,
    SpuriousRetransmission,
    OutOfOrder,
    DuplicateAck,
    ZeroWindow,
    ZeroWindowProbe,
    ZeroWindowProbeAck,
    WindowFull,
    WindowUpdate,
    KeepAlive,
    KeepAliveAck,
    /// "Previous segment not captured".
    LostSegment,
    /// "ACKed unseen segment".
    AckedUnseen,
}

impl FlagKind {
    pub const ALL: [FlagKind; 14] = [
        FlagKind::Retransmission,
        FlagKind::FastRetransmission,
        FlagKind::SpuriousRetransmission,
        FlagKind::OutOfOrder,
        FlagKind::DuplicateAck,
        FlagKind::ZeroWindow,
        FlagKind::ZeroWindowProbe,
        FlagKind::ZeroWindowProbeAck,
        FlagKind::WindowFull,
        FlagKind::WindowUpdate,
        FlagKind::KeepAlive,
        FlagKind::KeepAliveAck,
        FlagKind::LostSegment,
        FlagKind::AckedUnseen,
    ];

    /// Wireshark's display-filter field for the flag.
    pub fn field(self) -> &'static str {
        match self {
            FlagKind::Retransmission => "tcp.analysis.retransmission",
            FlagKind::FastRetransmission => "tcp.analysis.fast_retransmission",
            FlagKind::SpuriousRetransmission => "tcp.analysis.spurious_retransmission",
            FlagKind::OutOfOrder => "tcp.analysis.out_of_order",
            FlagKind::DuplicateAck => "tcp.analysis.duplicate_ack",
            FlagKind::ZeroWindow => "tcp.analysis.zero_window",
            FlagKind::ZeroWindowProbe => "tcp.analysis.zero_window_probe",
            FlagKind::ZeroWindowProbeAck => "tcp.analysis.zero_window_probe_ack",
            FlagKind::WindowFull => "tcp.analysis.window_full",
            FlagKind::WindowUpdate => "tcp.analysis.window_update",
            FlagKind::KeepAlive => "tcp.analysis.keep_alive",
            FlagKind::KeepAliveAck => "tcp.analysis.keep_alive_ack",
            FlagKind::LostSegment => "tcp.analysis.lost_segment",
            FlagKind::AckedUnseen => "tcp.analysis.ack_lost_segment",
        }
    }

    /// The flag named by its Wireshark field (`tcp.analysis.window_full`).
    pub fn from_field(field: &str) -> Option<FlagKind> {
        FlagKind::ALL.into_iter().find(|k| k.field() == field)
    }

    /// A short lower-case name, as JSON and the timeline write it.
    pub fn name(self) -> &'static str {
        self.field().trim_start_matches("tcp.analysis.")
    }

    /// What the kernel did, in one line for a learner.
    pub fn meaning(self) -> &'static str {
        match self {
            FlagKind::Retransmission => {
                "the sender sent these bytes again: no ACK came before its retransmission timer ran out"
            }
            FlagKind::FastRetransmission => {
                "the sender resent at once: duplicate ACKs told it a segment was lost"
            }
            FlagKind::SpuriousRetransmission => {
                "sent again although the peer had already ACKed every byte of it"
            }
            FlagKind::OutOfOrder => {
                "an earlier part of the stream arriving after a later one, too soon to be a resend"
            }
            FlagKind::DuplicateAck => {
                "the receiver ACKed the same byte again: data arrived past a hole, it still waits for the hole"
            }
            FlagKind::ZeroWindow => {
                "the receiver's buffer is full (its program is not reading): the sender must stop"
            }
            FlagKind::ZeroWindowProbe => {
                "one byte sent into a zero window, to learn when the receiver has room again"
            }
            FlagKind::ZeroWindowProbeAck => "the answer to a zero window probe: still no room",
            FlagKind::WindowFull => {
                "this data fills the receiver's advertised window to its last byte: the sender must wait"
            }
            FlagKind::WindowUpdate => {
                "the receiver's program read data: the same ACK again, announcing a new window"
            }
            FlagKind::KeepAlive => {
                "an idle connection checked: an old byte number the peer must answer with an ACK"
            }
            FlagKind::KeepAliveAck => "the answer to a keep-alive: the peer is still there",
            FlagKind::LostSegment => {
                "bytes before this segment were never seen: lost before the capture point, or sent before it began"
            }
            FlagKind::AckedUnseen => {
                "this ACK covers bytes the capture never saw going the other way"
            }
        }
    }

    /// Wireshark's own words for it (its Info column and expert info).
    pub fn wireshark_label(self) -> &'static str {
        match self {
            FlagKind::Retransmission => "TCP Retransmission",
            FlagKind::FastRetransmission => "TCP Fast Retransmission",
            FlagKind::SpuriousRetransmission => "TCP Spurious Retransmission",
            FlagKind::OutOfOrder => "TCP Out-Of-Order",
            FlagKind::DuplicateAck => "TCP Dup ACK",
            FlagKind::ZeroWindow => "TCP ZeroWindow",
            FlagKind::ZeroWindowProbe => "TCP ZeroWindowProbe",
            FlagKind::ZeroWindowProbeAck => "TCP ZeroWindowProbeAck",
            FlagKind::WindowFull => "TCP Window Full",
            FlagKind::WindowUpdate => "TCP Window Update",
            FlagKind::KeepAlive => "TCP Keep-Alive",
            FlagKind::KeepAliveAck => "TCP Keep-Alive ACK",
            FlagKind::LostSegment => "TCP Previous segment not captured",
            FlagKind::AckedUnseen => "TCP ACKed unseen segment",
        }
    }
}

/// One finding of the analysis, with what it points at. Frame numbers
/// count the packets of the capture (or of the view) from 1, as the
/// timeline's `#N` and Wireshark's `frame.number` do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Sent again after the retransmission timer: `original` is the oldest
    /// segment still unacknowledged (Wireshark's `rto_frame`), sent
    /// `after_us` before this one (its `rto`).
    Retransmission {
        original: u64,
        after_us: u64,
    },
    FastRetransmission,
    SpuriousRetransmission,
    OutOfOrder,
    /// The `number`th repeat (from 1) of the ACK first sent in frame `of`.
    DuplicateAck {
        number: u32,
        of: u64,
    },
    ZeroWindow,
    ZeroWindowProbe,
    ZeroWindowProbeAck,
    WindowFull,
    WindowUpdate,
    KeepAlive,
    KeepAliveAck,
    LostSegment,
    AckedUnseen,
}

impl Flag {
    pub fn kind(&self) -> FlagKind {
        match self {
            Flag::Retransmission { .. } => FlagKind::Retransmission,
            Flag::FastRetransmission => FlagKind::FastRetransmission,
            Flag::SpuriousRetransmission => FlagKind::SpuriousRetransmission,
            Flag::OutOfOrder => FlagKind::OutOfOrder,
            Flag::DuplicateAck { .. } => FlagKind::DuplicateAck,
            Flag::ZeroWindow => FlagKind::ZeroWindow,
            Flag::ZeroWindowProbe => FlagKind::ZeroWindowProbe,
            Flag::ZeroWindowProbeAck => FlagKind::ZeroWindowProbeAck,
            Flag::WindowFull => FlagKind::WindowFull,
            Flag::WindowUpdate => FlagKind::WindowUpdate,
            Flag::KeepAlive => FlagKind::KeepAlive,
            Flag::KeepAliveAck => FlagKind::KeepAliveAck,
            Flag::LostSegment => FlagKind::LostSegment,
            Flag::AckedUnseen => FlagKind::AckedUnseen,
        }
    }

    /// A short tag for a timeline row: `retransmission of #6`,
    /// `dup ACK #2 of #9`, `zero window`.
    pub fn tag(&self) -> String {
        match self {
            Flag::Retransmission { original, .. } => format!("retransmission of #{original}"),
            Flag::FastRetransmission => "fast retransmission".into(),
            Flag::SpuriousRetransmission => "spurious retransmission".into(),
            Flag::OutOfOrder => "out of order".into(),
            Flag::DuplicateAck { number, of } => format!("dup ACK #{number} of #{of}"),
            Flag::ZeroWindow => "zero window".into(),
            Flag::ZeroWindowProbe => "zero window probe".into(),
            Flag::ZeroWindowProbeAck => "zero window probe ACK".into(),
            Flag::WindowFull => "window full".into(),
            Flag::WindowUpdate => "window update".into(),
            Flag::KeepAlive => "keep-alive".into(),
            Flag::KeepAliveAck => "keep-alive ACK".into(),
            Flag::LostSegment => "previous segment not captured".into(),
            Flag::AckedUnseen => "ACKed unseen segment".into(),
        }
    }
}

/// The ACK side of a segment: which earlier segment of the other direction
/// it acknowledges exactly, and after how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked {
    pub frame: u64,
    pub rtt_us: u64,
}

/// What the analysis says of one TCP segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpAnalysis {
    /// The flags, in the order Wireshark's tests found them.
    pub flags: Vec<Flag>,
    /// The segment this one ACKs (`tcp.analysis.acks_frame`, `ack_rtt`).
    pub acked: Option<Acked>,
    /// Bytes sent and not yet acknowledged, this segment included
    /// (`tcp.analysis.bytes_in_flight`); only for segments with data.
    pub bytes_in_flight: Option<u32>,
}

impl TcpAnalysis {
    /// Whether Wireshark's field for `kind` is set on this segment: as in
    /// Wireshark, a fast or spurious retransmission is also a
    /// retransmission.
    pub fn has(&self, kind: FlagKind) -> bool {
        self.flags.iter().any(|f| {
            f.kind() == kind
                || (kind == FlagKind::Retransmission
                    && matches!(f, Flag::FastRetransmission | Flag::SpuriousRetransmission))
        })
    }

    /// The flag of this kind, with its data.
    pub fn flag(&self, kind: FlagKind) -> Option<&Flag> {
        self.flags.iter().find(|f| f.kind() == kind)
    }

    /// Nothing to say.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty() && self.acked.is_none() && self.bytes_in_flight.is_none()
    }
}

/// The two ends of a connection, in a fixed order.
type Key = (SocketAddr, SocketAddr);

/// Follows every connection of a capture; feed it the packets in capture
/// order.
#[derive(Debug, Default)]
pub struct Analyzer {
    connections: HashMap<Key, Connection>,
    /// Connections that ended, oldest first: forgotten beyond
    /// [`CLOSED_KEPT`].
    closed: VecDeque<Key>,
    /// Frames seen so far, which numbers the next one.
    frames: u64,
}

impl Analyzer {
    /// Analyzes the next packet of the capture. Every packet counts for
    /// the frame numbers; only TCP segments get an analysis.
    pub fn observe(&mut self, p: &Packet) -> Option<TcpAnalysis> {
        self.frames += 1;
        let frame = self.frames;
        let f = p.frame.as_ref().ok()?;
        let Transport::Tcp(tcp) = &f.transport else {
            return None;
        };
        let (src, dst) = f.endpoints()?;
        let key = if src <= dst { (src, dst) } else { (dst, src) };
        let conn = self
            .connections
            .entry(key)
            .or_insert_with(|| Connection::new(key.0));
        let was_closed = conn.is_closed();
        let result = conn.segment(frame, p.t_us, src, tcp);
        if conn.is_closed() && !was_closed {
            self.closed.push_back(key);
            while self.closed.len() > CLOSED_KEPT {
                let old = self.closed.pop_front().expect("not empty");
                // A port pair reused since it closed is live again: keep it.
                if self.connections.get(&old).is_some_and(|c| c.is_closed()) {
                    self.connections.remove(&old);
                }
            }
        }
        Some(result)
    }

    /// Connections now remembered (live ones and recently closed ones).
    pub fn connections(&self) -> usize {
        self.connections.len()
    }
}

#[cfg(test)]
mod tests;
