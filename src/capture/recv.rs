//! The simple read path: pnet's receiver, one `poll()` and one
//! `recvfrom()` per frame.
//!
//! Kept as the reference the ring is measured against (see the numbers in
//! the `capture` module docs), and as the shortest code that shows what a
//! capture does: wait, read one frame, stamp it, pass it on.

use std::io;
use std::os::fd::RawFd;

use pnet_datalink::DataLinkReceiver;

use super::FrameSink;
use super::emit::{Emitter, GRACE_US, STOP_LIMIT_US, Stop};
use super::socket::wait_readable;
use crate::clock::Clock;

/// Reads until asked to stop, then drains what is queued.
pub(super) fn read_loop<S: FrameSink>(
    rx: &mut dyn DataLinkReceiver,
    fd: RawFd,
    stop: &Stop,
    clock: Clock,
    out: &mut Emitter<S>,
) -> io::Result<()> {
    loop {
        if let Some(at) = stop.requested() {
            if clock.now_us() >= at + GRACE_US {
                // Everything that will come is queued by now (the socket
                // queue, unlike the ring, shows a frame at once). Read until
                // the queue is empty, then stop.
                while wait_readable([fd], 0)?[0] && clock.now_us() < at + STOP_LIMIT_US {
                    read_one(rx, clock, out)?;
                }
                out.flush();
                return Ok(());
            }
        }
        read_one(rx, clock, out)?;
    }
}

/// Frames are passed on in batches of this many, or sooner when the
/// socket has been idle for pnet's read timeout (see `Emitter::flush`).
const BATCH: usize = 64;

/// Waits (up to pnet's read timeout) for one frame and takes it.
fn read_one<S: FrameSink>(
    rx: &mut dyn DataLinkReceiver,
    clock: Clock,
    out: &mut Emitter<S>,
) -> io::Result<()> {
    match rx.next() {
        Ok(frame) => {
            // pnet gives no receive time: read the clock right away.
            let t_us = clock.now_us();
            out.emit(t_us, frame, wire_len(frame));
            if out.pending() >= BATCH {
                out.flush();
            }
            Ok(())
        }
        // pnet reports its poll() timeout as an error; it is not one. The
        // socket was idle: pass on what we have.
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
            out.flush();
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
        Err(e) => Err(e),
    }
}

/// The frame's length on the wire, from its IP header.
///
/// `recvfrom()` returns only what fit in the buffer, so a cut frame would
/// look complete. The IP header says how long the packet really was.
pub(super) fn wire_len(frame: &[u8]) -> usize {
    let field = |at: usize| {
        frame
            .get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    };
    let claimed = match field(12) {
        // IPv4: total length (header included), after 14 bytes of Ethernet.
        Some(0x0800) => field(14 + 2).map(|len| 14 + len),
        // IPv6: payload length, after the fixed 40-byte header.
        Some(0x86dd) => field(14 + 4).map(|len| 14 + 40 + len),
        _ => None,
    };
    claimed.unwrap_or(0).max(frame.len())
}

#[cfg(test)]
mod tests {
    use super::wire_len;

    #[test]
    fn a_cut_frame_reports_its_real_length() {
        let mut v4 = vec![0u8; 100];
        v4[12..14].copy_from_slice(&[0x08, 0x00]);
        v4[16..18].copy_from_slice(&65_535u16.to_be_bytes());
        assert_eq!(wire_len(&v4), 14 + 65_535);

        let mut v6 = vec![0u8; 100];
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        v6[18..20].copy_from_slice(&3_008u16.to_be_bytes());
        assert_eq!(wire_len(&v6), 14 + 40 + 3_008);
    }

    #[test]
    fn padding_or_unknown_types_keep_the_captured_length() {
        let mut v4 = vec![0u8; 60];
        v4[12..14].copy_from_slice(&[0x08, 0x00]);
        v4[16..18].copy_from_slice(&28u16.to_be_bytes());
        assert_eq!(wire_len(&v4), 60);
        assert_eq!(wire_len(&[0u8; 42]), 42);
        assert_eq!(wire_len(&[0u8; 3]), 3);
    }
}
