//! What a run records: the socket calls of every actor, on one clock.
//!
//! The runner sends [`Event`]s down a channel as they happen; renderers and
//! checks consume the same stream, so a human view can print the first call
//! before the last one has run. Packets from the capture join this stream
//! on the same [`Clock`](crate::clock::Clock).

use std::net::SocketAddr;

/// Transport of a socket, as the learner picked it in `socket()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Unix,
}

impl Proto {
    /// Lower-case name as used in JSON and lab files.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Unix => "unix",
        }
    }
}

/// What a recorded call did: a socket call, a coordination step, a probe
/// of kernel state, or the summary of one of the course's protocols. One
/// enum, so that a renderer, a check and the book match on the same names
/// and the compiler tells each of them when a new op appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    // The socket calls, by the names a lab file gives them.
    Socket,
    Bind,
    Listen,
    Accept,
    Connect,
    Send,
    SendAll,
    SendTo,
    Recv,
    RecvFrom,
    Shutdown,
    Close,
    SetOption,
    GetOption,
    SetNonblocking,
    SetTimeout,
    /// Removes an AF_UNIX socket's file (lab 19).
    Unlink,
    /// A pause of the actor (`sleep`).
    Sleep,
    // Probes of kernel state.
    /// The TCP sockets on a port and their states (`ss`).
    Netstat,
    /// The MTU of `lo`, read.
    LoMtu,
    /// The MTU of `lo`, set by the lab before its actors start.
    SetLoMtu,
    // Summaries of the course's protocols (`crate::course`): one record
    // after the send and recv calls that made them up.
    /// What a server did for one client (`serve`).
    Served,
    Command,
    Bench,
    Put,
    Get,
    Auth,
    // System calls `lab trace` records that labs never make (a lab's
    // `send` or `accept` is also what a traced `sendto` without an address
    // or an `accept4` is shown as; see `crate::tracer::record`).
    SocketPair,
    /// `read`, `write`, `readv`, `writev` on a socket.
    Read,
    Write,
    ReadV,
    WriteV,
    SendMsg,
    RecvMsg,
    /// One message of a `sendmmsg` / `recvmmsg` (one record each).
    SendMmsg,
    RecvMmsg,
    SendFile,
    GetSockName,
    GetPeerName,
}

impl Op {
    /// Every op, in the order above.
    pub const ALL: [Op; 39] = [
        Op::Socket,
        Op::Bind,
        Op::Listen,
        Op::Accept,
        Op::Connect,
        Op::Send,
        Op::SendAll,
        Op::SendTo,
        Op::Recv,
        Op::RecvFrom,
        Op::Shutdown,
        Op::Close,
        Op::SetOption,
        Op::GetOption,
        Op::SetNonblocking,
        Op::SetTimeout,
        Op::Unlink,
        Op::Sleep,
        Op::Netstat,
        Op::LoMtu,
        Op::SetLoMtu,
        Op::Served,
        Op::Command,
        Op::Bench,
        Op::Put,
        Op::Get,
        Op::Auth,
        Op::SocketPair,
        Op::Read,
        Op::Write,
        Op::ReadV,
        Op::WriteV,
        Op::SendMsg,
        Op::RecvMsg,
        Op::SendMmsg,
        Op::RecvMmsg,
        Op::SendFile,
        Op::GetSockName,
        Op::GetPeerName,
    ];

    /// The name a lab file, a check (`server.recv#1`) and JSON use.
    pub fn name(self) -> &'static str {
        match self {
            Op::Socket => "socket",
            Op::Bind => "bind",
            Op::Listen => "listen",
            Op::Accept => "accept",
            Op::Connect => "connect",
            Op::Send => "send",
            Op::SendAll => "send_all",
            Op::SendTo => "send_to",
            Op::Recv => "recv",
            Op::RecvFrom => "recv_from",
            Op::Shutdown => "shutdown",
            Op::Close => "close",
            Op::SetOption => "set_option",
            Op::GetOption => "get_option",
            Op::SetNonblocking => "set_nonblocking",
            Op::SetTimeout => "set_timeout",
            Op::Unlink => "unlink",
            Op::Sleep => "sleep",
            Op::Netstat => "netstat",
            Op::LoMtu => "lo_mtu",
            Op::SetLoMtu => "set_lo_mtu",
            Op::Served => "served",
            Op::Command => "command",
            Op::Bench => "bench",
            Op::Put => "put",
            Op::Get => "get",
            Op::Auth => "auth",
            Op::SocketPair => "socketpair",
            Op::Read => "read",
            Op::Write => "write",
            Op::ReadV => "readv",
            Op::WriteV => "writev",
            Op::SendMsg => "sendmsg",
            Op::RecvMsg => "recvmsg",
            Op::SendMmsg => "sendmmsg",
            Op::RecvMmsg => "recvmmsg",
            Op::SendFile => "sendfile",
            Op::GetSockName => "getsockname",
            Op::GetPeerName => "getpeername",
        }
    }

    /// The op a name stands for (`recv_from`), if any.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Calls that put bytes into a socket.
    pub fn is_send(self) -> bool {
        matches!(
            self,
            Op::Send
                | Op::SendAll
                | Op::SendTo
                | Op::Write
                | Op::WriteV
                | Op::SendMsg
                | Op::SendMmsg
                | Op::SendFile
        )
    }

    /// Calls that take bytes out of a socket.
    pub fn is_recv(self) -> bool {
        matches!(
            self,
            Op::Recv | Op::RecvFrom | Op::Read | Op::ReadV | Op::RecvMsg | Op::RecvMmsg
        )
    }

    /// Receives whose 0 means "the peer closed" on a stream socket (a
    /// `recv_from` of 0 bytes is an empty datagram).
    pub fn is_stream_recv(self) -> bool {
        matches!(self, Op::Recv | Op::Read | Op::ReadV | Op::RecvMsg)
    }

    /// Calls whose return value is a new file descriptor.
    pub fn returns_fd(self) -> bool {
        matches!(self, Op::Socket | Op::Accept)
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq<&str> for Op {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

/// Why some bytes of a run differ from one run to the next although the
/// program did the same thing. The code that made the bytes says so when it
/// makes them (see [`Noted`]), so that a comparison of two runs (the book's
/// staleness check) can set exactly those bytes aside, and nothing else.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Varies {
    /// A reading of the wall clock: a time server's answer, `date`.
    Clock,
    /// Bytes from the random generator, or computed from them (an HMAC
    /// challenge and its answer).
    Random,
    /// The path of the run's private scratch folder (AF_UNIX socket files).
    ScratchPath,
}

impl Varies {
    /// Lower-case name, as a key writes it.
    pub fn name(self) -> &'static str {
        match self {
            Varies::Clock => "clock",
            Varies::Random => "random",
            Varies::ScratchPath => "scratch-path",
        }
    }
}

/// A value a run produced that varies from run to run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Noted {
    pub varies: Varies,
    pub bytes: Vec<u8>,
}

/// One socket call as the program made it, and what the kernel answered.
#[derive(Debug, Clone)]
pub struct Call {
    /// When the call started (µs on the run's clock).
    pub t_us: u64,
    /// How long it took: for a blocking call, how long it waited.
    pub waited_us: u64,
    /// How much of that wait lab time stood still, because the learner
    /// was deciding at a pause (`lab run --step`): a check judges the wait
    /// without it ([`Call::lab_waited_us`]).
    pub paused_us: u64,
    /// The actor (thread) that made the call: `server`, `client`, ...
    pub actor: String,
    /// `socket`, `bind`, `send`, `recv`, ... (see the JSON contract).
    pub op: Op,
    /// The lab's name for the socket, e.g. `conn`.
    pub sock: Option<String>,
    pub proto: Option<Proto>,
    /// Arguments a learner would write, e.g. `127.0.0.1:0` or `TCP_NODELAY=1`.
    pub args: String,
    /// Bytes asked for (recv) or offered (send).
    pub len: Option<usize>,
    /// What the call returned; `None` if it failed.
    pub returned: Option<i64>,
    /// The bytes moved, whole (previews are cut only when rendered).
    pub data: Option<Vec<u8>>,
    /// The errno name (`ECONNRESET`, `EAGAIN`, ...) if the call failed.
    pub error: Option<String>,
    /// The call was still blocked when its watchdog timeout ran out.
    pub timed_out: bool,
    /// Offsets `[start, end)` of the moved bytes in this direction's TCP
    /// stream; the first byte a connection's client sends is offset 0.
    pub stream: Option<(u64, u64)>,
    /// Local and peer address of the socket after the call, when known.
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    /// For a datagram receive: the datagram was longer than the buffer.
    pub truncated: Option<bool>,
    /// For a datagram receive: the datagram's real length (MSG_TRUNC).
    pub datagram_len: Option<usize>,
    /// How many identical calls in a row this record stands for (a spinning
    /// loop is recorded once with its count).
    pub repeat: u64,
    // Set by `lab trace` only (a lab's actors are threads of `lab`):
    /// The process and thread that made the call, and the process's
    /// command name (`python3`).
    pub pid: Option<u32>,
    pub tid: Option<u32>,
    pub comm: Option<String>,
    /// The socket's file descriptor in that process.
    pub fd: Option<i32>,
    /// The system call as the kernel saw it, when the op's name is not
    /// the same (`sendto` for a `send`, `accept4` for an `accept`).
    pub syscall: Option<&'static str>,
}

impl Call {
    /// A call with only its identity filled in; the runner completes it.
    pub fn new(t_us: u64, actor: &str, op: Op) -> Self {
        Call {
            t_us,
            waited_us: 0,
            paused_us: 0,
            actor: actor.to_string(),
            op,
            sock: None,
            proto: None,
            args: String::new(),
            len: None,
            returned: None,
            data: None,
            error: None,
            timed_out: false,
            stream: None,
            local: None,
            peer: None,
            truncated: None,
            datagram_len: None,
            repeat: 1,
            pid: None,
            tid: None,
            comm: None,
            fd: None,
            syscall: None,
        }
    }

    /// How long the call waited in lab time: as in a run that never
    /// paused.
    pub fn lab_waited_us(&self) -> u64 {
        self.waited_us.saturating_sub(self.paused_us)
    }

    /// True for calls that put bytes into a socket.
    pub fn is_send(&self) -> bool {
        self.op.is_send()
    }

    /// True for calls that take bytes out of a socket.
    pub fn is_recv(&self) -> bool {
        self.op.is_recv()
    }
}

/// What one packet means in its flow, beyond its raw headers: filled in
/// by [`crate::correlate::Flows`] as packets are put in order.
#[derive(Debug, Clone, Default)]
pub struct PacketInfo {
    /// Sequence and acknowledgment numbers relative to each direction's
    /// ISN (SYN is 0, the first data byte 1), as Wireshark shows them.
    pub rel_seq: Option<u32>,
    pub rel_ack: Option<u32>,
    /// Stream offsets `[start, end)` of the data a TCP segment carries.
    pub stream: Option<(u64, u64)>,
    /// The receive window in bytes: the header's value shifted by the
    /// window scale both SYNs agreed on (never scaled in a SYN itself).
    pub window: Option<u32>,
    /// The actors that own the source and destination, when known.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The packet's number in its capture (the file's own numbering, as
    /// Wireshark's `frame.number`), from 1; 0 before the timeline saw it.
    pub number: u64,
    /// Its conversation, numbered as Wireshark's `tcp.stream` or
    /// `udp.stream`: set by a timeline that numbers them (one with a
    /// display filter that asks, see [`crate::timeline::Timeline::filtered`]).
    pub conversation: Option<(crate::conversations::Kind, usize)>,
    /// What Wireshark's TCP analysis says of the segment (retransmission,
    /// duplicate ACK, zero window, ...): see [`crate::analysis`].
    pub analysis: Option<crate::analysis::TcpAnalysis>,
}

/// One frame the capture saw on `lo`, decoded.
#[derive(Debug, Clone)]
pub struct Packet {
    /// When the frame crossed `lo` (µs on the run's clock).
    pub t_us: u64,
    /// The frame's length on the wire.
    pub orig_len: usize,
    /// The frame as captured (for pcap files).
    pub raw: Vec<u8>,
    /// The decoded layers, or why they could not be decoded.
    pub frame: Result<crate::wire::Frame, crate::wire::DecodeError>,
    /// Its place in its flow (relative numbers, stream offsets), filled in
    /// when packets are put in order (see [`crate::correlate::Flows`]).
    pub info: PacketInfo,
}

impl Packet {
    /// Decodes a captured frame (`lo` frames carry an Ethernet header).
    pub fn decode(t_us: u64, raw: Vec<u8>, orig_len: usize) -> Packet {
        Packet::decode_link(crate::wire::LinkType::Ethernet, t_us, raw, orig_len)
    }

    /// Decodes a frame of any supported link type (pcap files).
    pub fn decode_link(
        link: crate::wire::LinkType,
        t_us: u64,
        raw: Vec<u8>,
        orig_len: usize,
    ) -> Packet {
        let frame = crate::wire::decode_frame(link, &raw);
        Packet {
            t_us,
            orig_len,
            raw,
            frame,
            info: Default::default(),
        }
    }
}

/// One row of the message map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    /// Index of the call among all calls.
    pub call: usize,
    /// Indices of the packets that carried its bytes.
    pub packets: Vec<usize>,
    /// For a receive: the sends its bytes came from, with the byte range
    /// taken from each (relative to that send's first byte).
    pub sources: Vec<(usize, u64, u64)>,
}

/// The outcome of one expectation (see [`crate::check`]).
#[derive(Debug, Clone)]
pub struct Verdict {
    pub name: String,
    pub passed: bool,
    /// What was observed (and, on failure, what was expected).
    pub detail: String,
    /// What the check teaches, from the lab file.
    pub explain: Option<String>,
}

/// Where an actor stands when it starts a step.
#[derive(Debug, Clone)]
pub struct StepStarted {
    pub t_us: u64,
    pub actor: String,
    /// The step's number among the actor's steps, from 1.
    pub index: usize,
    /// The step's line in its lab file, when it came from one.
    pub line: Option<usize>,
    /// The step as the lab file writes it: `{ op = "recv", on = "conn", ... }`.
    pub text: String,
    /// The lab's question this step carries (`ask = "NAME"`), which
    /// `lab run --predict` puts to the learner before the step runs.
    pub ask: Option<String>,
}

/// Everything a run reports, in the order it happened.
// Events are moved once through a channel; boxing the large variant would
// cost an allocation per call for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Event {
    /// An actor is about to run one of its steps: the boundary a learner
    /// pauses at (`lab run --step`).
    StepStarted(StepStarted),
    /// A call that may block has begun: until its [`Event::Call`] arrives,
    /// the actor is waiting in it.
    CallStarted {
        t_us: u64,
        actor: String,
        op: Op,
        sock: Option<String>,
    },
    /// A socket call (or a sleep) finished.
    Call(Call),
    /// A packet crossed the wire.
    Packet(Packet),
    /// One row of the message map, worked out once the run is over (see
    /// [`crate::correlate::map`]): `call` counts the [`Event::Call`]s in
    /// the order they were released.
    Map(MapEntry),
    /// One check of the lab, judged once the run is over: some checks
    /// need every call (`a before b`). Map rows come first.
    Check(Verdict),
    /// An actor stopped early: a step could not run (its socket was never
    /// created, a wait timed out, ...). Not an errno: a broken experiment.
    ActorFailed {
        t_us: u64,
        actor: String,
        message: String,
    },
}

impl Event {
    /// The event's time on the run's clock.
    pub fn t_us(&self) -> u64 {
        match self {
            Event::Call(c) => c.t_us,
            Event::Packet(p) => p.t_us,
            Event::ActorFailed { t_us, .. } => *t_us,
            Event::StepStarted(s) => s.t_us,
            Event::CallStarted { t_us, .. } => *t_us,
            // Judged after the last call and packet.
            Event::Map(_) | Event::Check(_) => u64::MAX,
        }
    }

    /// Where the event belongs on a timeline: a call when it returned (the
    /// moment the program learned its result), anything else when it
    /// happened.
    pub fn timeline_us(&self) -> u64 {
        match self {
            Event::Call(c) => c.t_us + c.waited_us,
            other => other.t_us(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_has_one_name_and_is_found_by_it() {
        let mut names: Vec<&str> = Op::ALL.iter().map(|op| op.name()).collect();
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Op::ALL.len(), "two ops share a name");
        // A call that moves bytes is a send or a receive, never both.
        assert!(Op::ALL.iter().all(|op| !(op.is_send() && op.is_recv())));
    }
}
