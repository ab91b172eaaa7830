//! Byte streams and datagram flows put back together from packets, with
//! the packet boundaries marked, so a learner sees where the messages of
//! their program ended up.
//!
//! Memory stays bounded however long the capture runs: each direction keeps
//! its first [`KEEP`] bytes (enough to read the messages) and counts the
//! rest.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::trace::Packet;
use crate::wire::Transport;

/// Bytes of each stream (and datagrams of each flow) kept for display.
pub const KEEP: usize = 4096;

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Stream {
    /// Bytes from offset 0, as far as they are contiguous and kept.
    pub bytes: Vec<u8>,
    /// Stream offsets where a segment started (packet boundaries).
    pub cuts: Vec<u64>,
    /// Highest stream offset seen, and how many data segments.
    pub end: u64,
    pub segments: u64,
    /// Segments that repeated bytes already seen (retransmissions).
    pub repeats: u64,
    /// Bytes that arrived beyond a hole, not shown.
    pub gap: bool,
}

/// One direction of a UDP flow.
#[derive(Debug, Default)]
pub struct Flow {
    /// The first datagrams, whole (up to [`KEEP`] bytes in all).
    pub datagrams: Vec<Vec<u8>>,
    pub count: u64,
    pub bytes: u64,
}

/// Everything seen, by direction (source, destination).
#[derive(Debug, Default)]
pub struct Streams {
    pub tcp: BTreeMap<(SocketAddr, SocketAddr), Stream>,
    pub udp: BTreeMap<(SocketAddr, SocketAddr), Flow>,
}

impl Streams {
    /// Adds a packet whose [`crate::correlate::PacketInfo`] is filled in.
    pub fn add(&mut self, p: &Packet) {
        let Ok(frame) = &p.frame else { return };
        let Some(dir) = frame.endpoints() else { return };
        match &frame.transport {
            Transport::Tcp(t) => {
                let s = self.tcp.entry(dir).or_default();
                let Some((start, end)) = p.info.stream else {
                    return;
                };
                s.segments += 1;
                if end <= s.end {
                    s.repeats += 1;
                }
                s.end = s.end.max(end);
                if s.cuts.len() < KEEP && !s.cuts.contains(&start) {
                    s.cuts.push(start);
                }
                // Append what continues the kept prefix; a segment that
                // starts beyond it leaves a hole we do not paper over.
                let have = s.bytes.len() as u64;
                if start <= have && end > have && have < KEEP as u64 {
                    let from = (have - start) as usize;
                    let room = KEEP - s.bytes.len();
                    let take = t.payload.len().saturating_sub(from).min(room);
                    s.bytes.extend_from_slice(
                        &t.payload[from.min(t.payload.len())..from.min(t.payload.len()) + take],
                    );
                } else if start > have {
                    s.gap = true;
                }
            }
            Transport::Udp(u) => {
                let f = self.udp.entry(dir).or_default();
                f.count += 1;
                f.bytes += u.length.saturating_sub(8) as u64;
                let kept: usize = f.datagrams.iter().map(Vec::len).sum();
                if kept < KEEP {
                    f.datagrams.push(u.payload.clone());
                }
            }
            _ => {}
        }
    }
}
