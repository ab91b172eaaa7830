//! Capturing the frames on `lo`, stamped on the lab's clock.
//!
//! A lab shows two things side by side: the socket calls a program made and
//! the packets that crossed the wire. This module produces the second. It
//! opens an AF_PACKET socket on the loopback interface, keeps only the
//! frames of the lab's ports, stamps each with the same [`Clock`] the runner
//! uses for calls, and streams them out as they arrive.
//!
//! ```no_run
//! use std::sync::mpsc;
//! use socket_lab::capture::{Capture, CapturedFrame, Filter};
//! use socket_lab::clock::Clock;
//!
//! let clock = Clock::start();
//! let (tx, rx) = mpsc::channel::<CapturedFrame>();
//! let capture = Capture::start(&Filter::ports([8080]), clock, tx)?;
//! // ... run the lab; frames arrive on `rx` while it runs ...
//! let stats = capture.stop();
//! let frames: Vec<_> = rx.try_iter().collect();
//! println!("{} frames, {} dropped", frames.len(), stats.dropped);
//! # Ok::<(), socket_lab::capture::CaptureError>(())
//! ```
//!
//! # The traps, and what this module does about each
//!
//! **Every packet twice.** On `lo` a packet is sent and received by the
//! same host, and an AF_PACKET socket sees both: the outgoing copy and the
//! incoming one. pnet's own `channel()` gives 84 frames for a handshake and
//! 20 writes that put 42 packets on the wire. The socket option
//! `PACKET_IGNORE_OUTGOING` (Linux >= 4.20) tells the kernel not to show
//! us what this host transmits, so each packet is seen once, on arrival.
//! libpcap does the same. pnet cannot set it, so we build the socket
//! ourselves and hand it to pnet through `Config::socket_fd`.
//!
//! **Frames cut short.** pnet reads into a 4,096-byte buffer by default and
//! silently drops the rest of a longer frame. `lo` has an MTU of 65,536, so
//! a frame can reach 65,550 bytes (14 of Ethernet header). We read every
//! frame whole and keep its length on the wire (`orig_len`) next to the
//! bytes; [`CaptureStats::truncated`] counts any frame that was cut anyway.
//!
//! **Drops under load.** Frames wait in a queue between the kernel and us;
//! when it is full, the kernel drops new ones and counts them. We make the
//! queue 8 MiB (`SO_RCVBUFFORCE`, which may exceed `net.core.rmem_max`
//! because we are privileged; `SO_RCVBUF` otherwise) or use an 8 MiB ring,
//! and read the kernel's counter (`PACKET_STATISTICS`) at the end:
//! [`CaptureStats::dropped`] is never a guess.
//!
//! **Other people's traffic.** Everything on `lo` passes the socket. A
//! classic BPF program attached with `SO_ATTACH_FILTER` runs in the kernel
//! on every frame and lets through only TCP and UDP with one of our ports as
//! source or destination, so unrelated traffic costs us nothing. The
//! program, instruction by instruction (frames on `lo` start with a 14-byte
//! Ethernet header whose addresses are zero; `A` is the accumulator, `X` the
//! index register, a jump names where it goes when true / false):
//!
//! ```text
//!         ldh  [12]                  A = EtherType
//!         jeq  #0x0800   ipv4        IPv4?
//!         jeq  #0x86dd   ipv6 / reject      IPv6? anything else: drop
//! ipv4:   ldb  [23]                  A = IPv4 protocol (14 + 9)
//!         jeq  #6        v4          TCP?
//!         jeq  #17       v4 / reject        UDP? anything else: drop
//! v4:     ldh  [20]                  A = flags and fragment offset (14 + 6)
//!         jset #0x1fff   accept      offset > 0: a later fragment of a
//!                                    datagram; it holds no ports, keep it
//!         ldxb 4*([14]&0xf)          X = IPv4 header length (IHL x 4)
//!         ja   ports
//! ipv6:   ldb  [20]                  A = IPv6 next header (14 + 6)
//!         jeq  #44       accept      a fragment: keep it, as for IPv4
//!         jeq  #6        v6          TCP?
//!         jeq  #17       v6 / reject        UDP?
//! v6:     ldx  #40                   X = IPv6 header length
//! ports:  ldh  [x + 14]              A = source port (first 2 bytes after IP)
//!         jeq  #p1       accept      ... one jeq per watched port
//!         ldh  [x + 16]              A = destination port
//!         jeq  #p1       accept      ... one jeq per watched port
//! reject: ret  #0                    return 0: drop the frame
//! accept: ret  #262144               keep up to 262,144 bytes: all of it
//! ```
//!
//! A load past the end of a short frame ends the program with 0 (drop).
//! Keeping every later fragment lets a few foreign fragments through when
//! other programs fragment datagrams on the same `lo`. With an empty
//! [`Filter`] (a lab in its own network namespace, where all traffic is the
//! lab's) no program is attached at all.
//!
//! **Missing the first packet.** [`Capture::start`] returns only after the
//! socket is bound to `lo` and its reader thread runs; from the bind on the
//! kernel queues every matching frame, so a lab that connects after
//! `start()` returns cannot lose its SYN. The socket is created with
//! protocol 0 (receive nothing) and only the bind says "all protocols on
//! lo", so no frame from another interface slips in before the filter is
//! attached.
//!
//! **Missing the last packet.** [`Capture::stop`] does not just stop: the
//! final ACK of a teardown is sent by the kernel, after the program's last
//! call. `stop()` keeps reading for a grace period (15 ms), then until the
//! queue has been empty for a quiet period, and only then returns the
//! counters. Frames read during that time still go to the sink.
//!
//! # Timestamps
//!
//! The runner stamps socket calls with [`Clock`] (`CLOCK_MONOTONIC`,
//! microseconds since the lab started); frames must use the same clock or a
//! merged timeline lies about the order of events.
//!
//! - The ring path uses the time the kernel recorded when the frame arrived
//!   on `lo` (`CLOCK_REALTIME` in the ring's frame header). That is within
//!   the sending call, before the receiving program could see the data. It
//!   is converted to the lab's clock through a pair of readings of both
//!   clocks taken together as each block is read (the offset between them
//!   changes only when someone sets the time of day).
//! - The pnet path reads the clock right after `recvfrom()` returns: the
//!   moment we saw the frame, a few microseconds (under load, milliseconds)
//!   after it crossed the wire.
//!
//! Either way stamps never decrease along the stream and are never later
//! than the moment the frame was read.
//!
//! # Two read paths, and why the ring is the default
//!
//! Measured with `benches/capture_flood.sh` (figures and method in
//! `benches/README.md`): 500,000 64-byte UDP datagrams flooded over `lo`,
//! CPU of the capturing process only, medians of 3 runs on 2 cores.
//!
//! | read path                                   | CPU per packet | vs tcpdump | drops         |
//! |---------------------------------------------|---------------:|-----------:|---------------|
//! | tcpdump (libpcap, TPACKET_V3 ring)          |         148 ns |       1x   | none          |
//! | [`ReadPath::Ring`], frames sent in batches  |         214 ns |     1.45x  | none          |
//! | [`ReadPath::Ring`], one message per frame   |         677 ns |     4.6x   | none          |
//! | [`ReadPath::Pnet`]: `poll` + `recvfrom`     |        3819 ns |      26x   | up to 46%     |
//!
//! pnet's receiver makes two system calls per frame, copies each frame out
//! of a socket buffer, and sleeps in `poll()` to be woken for nearly every
//! frame; it cost 18 to 26 times tcpdump's CPU, and on a busy machine it
//! could not keep up, 8 MiB queue or not. tcpdump reads a TPACKET_V3 ring:
//! memory shared with the kernel, cut into blocks that the kernel fills and
//! hands over whole, one `poll()` per block. The ring path (`ring.rs`) does
//! the same and meets the goal of 3 times tcpdump's CPU per packet (1.4x to
//! 1.5x in every set of runs), so it is the default. pnet still finds the
//! interface, binds the socket and owns its descriptor, and its receiver
//! remains available as [`ReadPath::Pnet`], the shorter code to read and the
//! baseline to measure against.
//!
//! What is left above tcpdump is ours to pay: an owned `Vec<u8>` per frame
//! and a hand-over to another thread. The hand-over is why [`FrameSink`]
//! takes frames a block at a time: with one channel message per frame the
//! receiving thread falls asleep between frames and each send must wake it.
//!
//! # Namespaces
//!
//! An AF_PACKET socket belongs to the network namespace of the thread that
//! creates it: call [`Capture::start`] on a lab's namespaced thread (see
//! [`crate::netns`]) to see that lab's `lo` only.

mod bpf;
mod emit;
mod recv;
mod ring;
mod socket;

use std::io;
use std::os::fd::IntoRawFd;
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub use bpf::MAX_PORTS;
pub use ring::RETIRE_MS;

use crate::clock::Clock;
use emit::{Emitter, Stop};
use socket::PacketSocket;

/// Bytes of kernel queue between `lo` and the reader (pnet path).
const RECEIVE_BUFFER: usize = 8 << 20;
/// pnet's read buffer: the largest frame on `lo` is 65,550 bytes.
const READ_BUFFER: usize = 65_600;
/// How long pnet's `poll()` waits before we check for a stop request.
const PNET_TIMEOUT: Duration = Duration::from_millis(10);

/// Which frames to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// TCP and UDP ports, matched as source or destination. Empty: keep
    /// every frame on `lo` (right for a lab in its own namespace).
    pub ports: Vec<u16>,
}

impl Filter {
    /// Every frame on `lo`.
    pub fn everything() -> Filter {
        Filter::default()
    }

    /// TCP and UDP frames from or to any of `ports`.
    pub fn ports(ports: impl IntoIterator<Item = u16>) -> Filter {
        Filter {
            ports: ports.into_iter().collect(),
        }
    }
}

/// One frame as it was on `lo`: Ethernet header (all-zero addresses), IP
/// header, transport header, payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedFrame {
    /// When it crossed the wire, in microseconds of the lab's [`Clock`].
    pub t_us: u64,
    /// The bytes captured: the whole frame unless it was cut.
    pub data: Vec<u8>,
    /// Its length on the wire; more than `data.len()` only if cut.
    pub orig_len: usize,
}

/// What a capture counted, returned by [`Capture::stop`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames read and passed to the sink.
    pub packets: u64,
    /// Frames the kernel dropped because our queue was full.
    pub dropped: u64,
    /// Frames shorter than on the wire (should stay 0).
    pub truncated: u64,
    /// Why reading ended before `stop()` asked, if it did (for example the
    /// namespace's `lo` went away).
    pub error: Option<String>,
}

/// How frames travel from the kernel to the reader thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReadPath {
    /// A TPACKET_V3 ring mapped into our memory, read a block at a time.
    #[default]
    Ring,
    /// pnet's receiver: `poll()` and `recvfrom()` for every frame.
    Pnet,
}

/// Where captured frames go, in arrival order.
///
/// The reader hands frames over in batches (all the frames of one ring
/// block: up to a few thousand, at most [`RETIRE_MS`] milliseconds
/// apart). Implemented for the four kinds of mpsc sender:
///
/// - `Sender<CapturedFrame>`: one message per frame. Simplest to consume.
/// - `Sender<Vec<CapturedFrame>>`: one message per batch. Much cheaper at
///   high packet rates: a channel's cost is per message, and a receiver
///   that keeps up falls asleep and must be woken for each one.
/// - `SyncSender<_>` of either: bounded. A slow consumer then slows the
///   reader and the kernel drops (and counts) what does not fit, so memory
///   stays bounded; keep receiving until [`Capture::stop`] returns, or the
///   reader waits forever.
pub trait FrameSink: Send + 'static {
    /// Takes the frames it wants out of `frames` (the rest are dropped).
    /// Returns false once nobody receives any more.
    fn deliver(&mut self, frames: &mut Vec<CapturedFrame>) -> bool;

    /// Whether this sink takes each frame where it lies, in the kernel's
    /// ring, through [`FrameSink::borrow`]: then no frame is copied into a
    /// [`CapturedFrame`] and `deliver` is never called. A sink that only
    /// writes frames to a file (`lab capture -q --pcap F`) needs no copy.
    fn borrows(&self) -> bool {
        false
    }

    /// One frame, borrowed from the ring for the length of the call (see
    /// [`FrameSink::borrows`]). Returns false once it takes no more.
    fn borrow(&mut self, _t_us: u64, _data: &[u8], _orig_len: usize) -> bool {
        false
    }

    /// How many 256 KiB blocks the kernel's ring should have: what it can
    /// hold while the sink is busy. A sink on another thread that shows
    /// each frame needs room for bursts (8 MiB); one that writes each
    /// frame where it lies keeps up with the kernel and needs less.
    fn ring_blocks(&self) -> usize {
        ring::DEFAULT_BLOCKS
    }
}

impl FrameSink for mpsc::Sender<CapturedFrame> {
    fn deliver(&mut self, frames: &mut Vec<CapturedFrame>) -> bool {
        frames.drain(..).all(|frame| self.send(frame).is_ok())
    }
}

impl FrameSink for mpsc::SyncSender<CapturedFrame> {
    fn deliver(&mut self, frames: &mut Vec<CapturedFrame>) -> bool {
        frames.drain(..).all(|frame| self.send(frame).is_ok())
    }
}

impl FrameSink for mpsc::Sender<Vec<CapturedFrame>> {
    fn deliver(&mut self, frames: &mut Vec<CapturedFrame>) -> bool {
        self.send(std::mem::take(frames)).is_ok()
    }
}

impl FrameSink for mpsc::SyncSender<Vec<CapturedFrame>> {
    fn deliver(&mut self, frames: &mut Vec<CapturedFrame>) -> bool {
        self.send(std::mem::take(frames)).is_ok()
    }
}

/// Why a capture could not start.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The process may not open packet sockets.
    #[error("capturing packets needs CAP_NET_RAW: {fix}")]
    NoPrivilege {
        /// What to do about it, naming this binary.
        fix: String,
    },
    /// No interface with the LOOPBACK flag in this network namespace.
    #[error("no loopback interface in this network namespace")]
    NoLoopback,
    /// More ports than one filter program can test.
    #[error("cannot filter on {0} ports (at most {MAX_PORTS})")]
    TooManyPorts(usize),
    /// A system call failed.
    #[error("capture: {context}: {source}")]
    Io {
        /// The call that failed.
        context: &'static str,
        /// The error it returned.
        #[source]
        source: io::Error,
    },
}

impl CaptureError {
    fn no_privilege() -> CaptureError {
        let binary = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "<path of the lab binary>".to_string());
        CaptureError::NoPrivilege {
            fix: format!("run as root (sudo) or `sudo setcap cap_net_raw+ep {binary}`"),
        }
    }

    fn io(context: &'static str, source: io::Error) -> CaptureError {
        CaptureError::Io { context, source }
    }
}

/// Checks cheaply whether this process may capture: opens a packet socket
/// and closes it again.
pub fn privilege() -> Result<(), CaptureError> {
    PacketSocket::open().map(drop)
}

/// A running capture on `lo`. Dropping it stops it too (without returning
/// the counters).
pub struct Capture {
    stop: Arc<Stop>,
    clock: Clock,
    reader: Option<JoinHandle<CaptureStats>>,
}

impl Capture {
    /// Starts capturing on the [`ReadPath::Ring`] path. See
    /// [`Capture::start_with`].
    pub fn start<S: FrameSink>(
        filter: &Filter,
        clock: Clock,
        sink: S,
    ) -> Result<Capture, CaptureError> {
        Capture::start_with(filter, clock, sink, ReadPath::default())
    }

    /// Starts capturing the frames `filter` keeps; they go to `sink` as they
    /// arrive. Returns once the socket is bound and being read, so any
    /// packet sent after this returns is captured.
    pub fn start_with<S: FrameSink>(
        filter: &Filter,
        clock: Clock,
        sink: S,
        path: ReadPath,
    ) -> Result<Capture, CaptureError> {
        let mut ports = filter.ports.clone();
        ports.sort_unstable();
        ports.dedup();
        if ports.len() > MAX_PORTS {
            return Err(CaptureError::TooManyPorts(ports.len()));
        }
        let lo = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.is_loopback())
            .ok_or(CaptureError::NoLoopback)?;

        // Every option goes on before the bind, so the first frame that is
        // queued has already passed all of them.
        let socket = PacketSocket::open()?;
        socket.ignore_outgoing()?;
        socket.grow_receive_buffer(RECEIVE_BUFFER)?;
        if !ports.is_empty() {
            socket.attach_filter(&bpf::port_filter(&ports))?;
        }
        let ring = match path {
            ReadPath::Ring => Some(ring::Ring::attach(&socket, sink.ring_blocks())?),
            ReadPath::Pnet => None,
        };
        let stop = Arc::new(Stop::new().map_err(|e| CaptureError::io("eventfd", e))?);

        // pnet binds the socket to `lo` (protocol ETH_P_ALL) and from here
        // owns the descriptor: it closes it if the bind fails, or when both
        // halves of the channel are dropped.
        let fd = socket.raw();
        let config = pnet_datalink::Config {
            read_buffer_size: READ_BUFFER,
            read_timeout: Some(PNET_TIMEOUT),
            promiscuous: false,
            socket_fd: Some(socket.into_fd().into_raw_fd()),
            ..Default::default()
        };
        let (tx, mut rx) = match pnet_datalink::channel(&lo, config) {
            Ok(pnet_datalink::Channel::Ethernet(tx, rx)) => (tx, rx),
            Ok(_) => {
                return Err(CaptureError::io(
                    "bind to lo",
                    io::Error::other("not an Ethernet channel"),
                ));
            }
            Err(e) => return Err(CaptureError::io("bind to lo", e)),
        };

        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let reader_stop = Arc::clone(&stop);
        let reader = thread::Builder::new()
            .name("capture-lo".to_string())
            .spawn(move || {
                // The sender half is never used, but it shares the
                // descriptor: keep it until reading is over.
                let _tx = tx;
                let mut out = Emitter::new(sink);
                let _ = ready_tx.send(());
                let result = match ring {
                    Some(mut ring) => ring.read_loop(fd, &reader_stop, clock, &mut out),
                    None => recv::read_loop(&mut *rx, fd, &reader_stop, clock, &mut out),
                };
                let dropped = socket::statistics(fd).map(|(_, drops)| drops).unwrap_or(0);
                CaptureStats {
                    packets: out.packets,
                    dropped,
                    truncated: out.truncated,
                    error: result.err().map(|e| e.to_string()),
                }
            })
            .map_err(|e| CaptureError::io("spawn capture thread", e))?;
        let capture = Capture {
            stop,
            clock,
            reader: Some(reader),
        };
        // Wait until the reader runs. (Frames are queued from the bind on,
        // so this is about the live view starting at once, not about loss.)
        // An error means the thread is gone already; stop() would say why.
        let _ = ready_rx.recv();
        Ok(capture)
    }

    /// Stops the capture: reads what is still in flight (see the module
    /// docs), passes it to the sink, and returns the counters.
    pub fn stop(mut self) -> CaptureStats {
        let reader = self.reader.take().expect("a capture is stopped once");
        self.stop.request(self.clock.now_us());
        match reader.join() {
            Ok(stats) => stats,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            self.stop.request(self.clock.now_us());
            let _ = reader.join();
        }
    }
}
