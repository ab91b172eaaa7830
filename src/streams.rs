//! Byte streams and datagram flows put back together from packets, with
//! the packet boundaries marked, so a learner sees where the messages of
//! their program ended up.
//!
//! Memory stays bounded however long the capture runs and however many
//! connections it holds: each direction keeps its first [`KEEP`] bytes
//! (enough to read the messages), the packet boundaries among them, and
//! counts the rest; all directions together keep at most [`KEEP_ALL`]
//! bytes (a capture of thousands of connections, `lab inspect` of a big
//! file), after which later streams are counted only. The rest of what a
//! direction holds is a few counters and the ranges of the stream seen
//! (one range unless segments were missed, at most [`MAX_RANGES`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::trace::Packet;
use crate::wire::Transport;

/// Bytes of each stream (and datagrams of each flow) kept for display.
pub const KEEP: usize = 4096;

/// Bytes kept over all streams and flows together: 2,048 directions get
/// their whole [`KEEP`] bytes.
pub const KEEP_ALL: usize = 8 << 20;

/// Datagrams of each flow kept for display (empty ones cost no bytes).
pub const KEEP_DATAGRAMS: usize = 256;

/// Separate ranges of one stream tracked before new islands are ignored.
pub const MAX_RANGES: usize = 1024;

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Stream {
    /// Bytes from offset 0, as far as they are contiguous and kept.
    pub bytes: Vec<u8>,
    /// Stream offsets where a segment started (packet boundaries), within
    /// the first [`KEEP`] bytes: the boundaries among the bytes kept.
    pub cuts: Vec<u64>,
    /// Highest stream offset seen, and how many data segments.
    pub end: u64,
    pub segments: u64,
    /// Segments that repeated bytes already seen (retransmissions).
    pub repeats: u64,
    /// The stream ranges the capture saw, merged and in order: one range
    /// `[0, end)` when nothing is missing. (A segment that arrives out of
    /// order opens a second range until the missing bytes come.)
    seen: Vec<(u64, u64)>,
}

impl Stream {
    /// Bytes of `[0, end)` that no captured segment carried: a capture
    /// that started late or missed a segment. Counted over every segment
    /// seen, not only over the bytes kept for display.
    pub fn missing(&self) -> u64 {
        let covered: u64 = self.seen.iter().map(|(a, b)| b - a).sum();
        self.end - covered
    }

    /// Adds `[start, end)` to the ranges seen.
    fn saw(&mut self, start: u64, end: u64) {
        // The common case, in order: the segment continues the last range.
        if let Some(last) = self.seen.last_mut()
            && start >= last.0
            && start <= last.1
        {
            last.1 = last.1.max(end);
            return;
        }
        // A capture full of holes (a hostile file) must not cost memory
        // without bound: past this many ranges, new islands are not
        // tracked, and `missing` counts them as missing (there are holes).
        if self.seen.len() >= MAX_RANGES {
            return;
        }
        // Where the new range goes, then merge it with its neighbours.
        let at = self.seen.partition_point(|&(a, _)| a < start);
        self.seen.insert(at, (start, end));
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.seen.len());
        for &(a, b) in &self.seen {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.seen = merged;
    }
}

/// One direction of a UDP flow.
#[derive(Debug, Default)]
pub struct Flow {
    /// The first datagrams, whole (up to [`KEEP`] bytes and
    /// [`KEEP_DATAGRAMS`] datagrams).
    pub datagrams: Vec<Vec<u8>>,
    /// Bytes in `datagrams`.
    kept: usize,
    pub count: u64,
    pub bytes: u64,
}

/// Everything seen, by direction (source, destination).
#[derive(Debug, Default)]
pub struct Streams {
    pub tcp: BTreeMap<(SocketAddr, SocketAddr), Stream>,
    pub udp: BTreeMap<(SocketAddr, SocketAddr), Flow>,
    /// Bytes kept over all of them (at most [`KEEP_ALL`]).
    kept: usize,
    /// Whether some payload was not kept because of [`KEEP_ALL`].
    pub over_budget: bool,
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
                if end > start {
                    s.saw(start, end);
                }
                // Boundaries past the kept bytes are never shown: a long
                // stream's millions of segments are counted, not listed.
                if start < KEEP as u64 && !s.cuts.contains(&start) {
                    s.cuts.push(start);
                }
                // Append what continues the kept prefix; a segment that
                // starts beyond it leaves a hole we do not paper over.
                let have = s.bytes.len() as u64;
                if start <= have && end > have && have < KEEP as u64 {
                    let from = (have - start) as usize;
                    let room = (KEEP - s.bytes.len()).min(KEEP_ALL - self.kept);
                    let take = t.payload.len().saturating_sub(from).min(room);
                    self.over_budget |= take == 0 && room == 0;
                    s.bytes.extend_from_slice(
                        &t.payload[from.min(t.payload.len())..from.min(t.payload.len()) + take],
                    );
                    self.kept += take;
                }
            }
            Transport::Udp(u) => {
                let f = self.udp.entry(dir).or_default();
                f.count += 1;
                f.bytes += u.length.saturating_sub(8) as u64;
                if f.kept < KEEP && f.datagrams.len() < KEEP_DATAGRAMS {
                    if self.kept + u.payload.len() > KEEP_ALL {
                        self.over_budget = true;
                        return;
                    }
                    f.datagrams.push(u.payload.clone());
                    f.kept += u.payload.len();
                    self.kept += u.payload.len();
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_stream_has_no_hole_and_a_missed_segment_does() {
        // Streams over KEEP bytes were once all marked as having a hole.
        let mut s = Stream::default();
        for i in 0..10u64 {
            s.end = s.end.max((i + 1) * 1448);
            s.saw(i * 1448, (i + 1) * 1448);
        }
        assert_eq!(s.missing(), 0);
        assert_eq!(s.seen, [(0, 14480)]);

        // Out of order: a hole until the late segment comes.
        let mut s = Stream::default();
        s.saw(0, 100);
        s.saw(200, 300);
        s.end = 300;
        assert_eq!(s.missing(), 100);
        s.saw(100, 200);
        assert_eq!(s.missing(), 0);
        // A retransmission covers nothing new.
        s.saw(50, 150);
        assert_eq!(s.seen, [(0, 300)]);
    }
}
