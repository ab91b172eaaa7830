//! # socket-lab
//!
//! A lab bench for learning socket programming: numbered experiments run on
//! real sockets over loopback, while a packet inspector shows what crossed
//! the wire.
//!
//! # Layout
//!
//! Data flows one way: a lab file becomes a [`catalog::Lab`]; the [`runner`]
//! runs its actors on real sockets and emits [`trace::Event`]s (calls); the
//! [`capture`] adds packets on the same [`clock`]; [`correlate`] maps bytes of
//! calls to packets; [`check`] judges the lab's expectations; [`render`]
//! shows it all.
//!
//! - [`catalog`]: lab files (`labs/*.toml`, embedded): parsing, validation
//!   with file:line errors, lookup by id; [`knob`] and [`expr`] for the
//!   values and expressions they hold.
//! - [`runner`]: actors as threads on instrumented sockets, events between
//!   them, a watchdog on every blocking call.
//! - [`course`]: the course's wire formats (framing, JSON header, file
//!   transfer, HMAC auth, ...) written once for lab steps and `lab serve`.
//! - [`trace`]: what a run records: calls and packets; [`timeline`] puts
//!   the two streams in the order things happened.
//! - [`clock`]: the one monotonic clock that stamps calls and packets.
//! - [`netns`]: a private network namespace per lab, when privileged.
//! - [`capture`]: an AF_PACKET capture on `lo` (bound through pnet, read
//!   from a TPACKET_V3 ring), without duplicates, truncation or foreign
//!   traffic.
//! - [`wire`]: decoders for the frames seen on loopback (IPv4, IPv6, TCP,
//!   UDP), which never panic.
//! - [`analysis`]: Wireshark's TCP analysis (retransmissions, duplicate
//!   ACKs, zero windows, ...) per segment, as `tcp.analysis.*` flags.
//! - [`filter`]: display filters (`--filter`), with Wireshark's field
//!   names and syntax.
//! - [`correlate`]: relative sequence numbers, stream offsets and the
//!   message map; [`streams`]: byte streams put back together.
//! - [`check`]: expectations against the trace.
//! - [`render`]: the terminal timeline, the message map, JSON Lines, the
//!   SVG sequence diagram and the self-contained web page (`--html`);
//!   [`escape`] shows bytes as text.
//! - [`pcap`]: reading and writing pcap files; [`pcapng`]: pcapng files
//!   whose packets carry comments ([`annotate`]: what each packet carries,
//!   in the names of the calls, for Wireshark).
//! - [`cli`] and [`app`]: the `lab` commands; [`repl`]: the lines a learner
//!   types in the interactive socket REPL.
//! - [`progress`]: the labs a learner has done, kept in a state file.
//! - `tracer` (Linux x86_64): any program's socket calls, recorded with
//!   ptrace and a seccomp filter, for `lab trace`.

pub mod analysis;
pub mod annotate;
pub mod app;
pub mod capture;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod clock;
pub mod conversations;
pub mod correlate;
pub mod course;
pub mod dissect;
pub mod escape;
pub mod expr;
pub mod filter;
pub mod knob;
pub mod netns;
pub mod partial;
pub mod pcap;
pub mod pcapng;
pub mod progress;
pub mod render;
pub mod repl;
pub mod runner;
pub mod signals;
pub mod streams;
pub mod timeline;
pub mod trace;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod tracer;
pub mod wire;
