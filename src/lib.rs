//! # socket-lab
//!
//! A lab bench for learning socket programming: numbered experiments run on
//! real sockets over loopback, while a packet inspector shows what crossed
//! the wire.
//!
//! # Layout
//!
//! - [`clock`]: the one monotonic clock that stamps calls and packets.
//! - [`wire`]: decoders for the frames seen on loopback (IPv4, IPv6, TCP, UDP).
//! - [`capture`]: an AF_PACKET capture on `lo`, read through pnet.
//! - [`pcap`]: reading and writing pcap files.

pub mod app;
pub mod capture;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod course;
pub mod clock;
pub mod escape;
pub mod expr;
pub mod knob;
pub mod netns;
pub mod pcap;
pub mod render;
pub mod runner;
pub mod trace;
pub mod wire;
pub mod correlate;
pub mod streams;
