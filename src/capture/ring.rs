//! The fast read path: a TPACKET_V3 ring shared with the kernel, as libpcap
//! (and so tcpdump) uses.
//!
//! The ring is memory that both the kernel and this process map. It is cut
//! into blocks; the kernel fills one block at a time with frames, each
//! behind a small header (`tpacket3_hdr`: lengths, receive time). A block is
//! handed to us ("retired") when it is full or when `RETIRE_MS` passed since
//! it was opened, by flipping its status to `TP_STATUS_USER`; we read every
//! frame in it and flip it back to `TP_STATUS_KERNEL`. No system call per
//! frame, no copy into a separate buffer: one `poll()` per block at most.
//!
//! The copy into the ring happens in the kernel while it delivers the
//! packet (in the sending program's time, on `lo`), which is why the reader
//! itself costs so little CPU.

use std::io;
use std::os::fd::RawFd;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};

use super::emit::{Emitter, GRACE_US, STOP_LIMIT_US, Stamper, Stop};
use super::socket::{PacketSocket, setsockopt, wait_readable};
use super::{CaptureError, FrameSink};
use crate::clock::Clock;

/// One block: large enough for the largest frame on `lo` (65,550 bytes)
/// plus headers, a multiple of the page size.
const BLOCK_SIZE: usize = 1 << 18;
/// 32 blocks of 256 KiB: 8 MiB, like the receive buffer of the pnet path:
/// room for a run's bursts while the timeline thread is busy showing rows.
pub const DEFAULT_BLOCKS: usize = 32;
/// The fewest blocks a ring may have: the kernel fills one while we read
/// another.
const MIN_BLOCKS: usize = 2;
/// The kernel insists on a frame size for V3 too, although frames there are
/// packed back to back; it only has to divide the block size.
const FRAME_SIZE: usize = 2048;
/// A block that is not full is handed over after this many milliseconds:
/// the worst-case delay before a frame reaches the live view.
pub const RETIRE_MS: u32 = 4;
/// After the grace period, stop once the ring has shown nothing new for
/// this long: two retire periods and a margin, so the block that was open
/// when the stop came has certainly been handed over.
const QUIET_US: u64 = 2 * RETIRE_MS as u64 * 1000 + 2_000;

/// The mapped ring; unmapped on drop.
pub(super) struct Ring {
    base: *mut u8,
    next: usize,
    /// How many blocks of [`BLOCK_SIZE`] it has.
    blocks: usize,
}

// SAFETY: the mapping belongs to this value alone; moving it to the reader
// thread moves the only access to it.
unsafe impl Send for Ring {}

impl Ring {
    /// Switches the (unbound) socket to TPACKET_V3 and maps a ring of
    /// `blocks` blocks.
    pub(super) fn attach(socket: &PacketSocket, blocks: usize) -> Result<Ring, CaptureError> {
        let blocks = blocks.max(MIN_BLOCKS);
        let fd = socket.raw();
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        setsockopt(fd, libc::SOL_PACKET, libc::PACKET_VERSION, &version)
            .map_err(|e| CaptureError::io("setsockopt(PACKET_VERSION)", e))?;
        let req = libc::tpacket_req3 {
            tp_block_size: BLOCK_SIZE as u32,
            tp_block_nr: blocks as u32,
            tp_frame_size: FRAME_SIZE as u32,
            tp_frame_nr: (BLOCK_SIZE / FRAME_SIZE * blocks) as u32,
            tp_retire_blk_tov: RETIRE_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req)
            .map_err(|e| CaptureError::io("setsockopt(PACKET_RX_RING)", e))?;
        // SAFETY: maps the ring the kernel just allocated for `fd`.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                BLOCK_SIZE * blocks,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(CaptureError::io(
                "mmap(packet ring)",
                io::Error::last_os_error(),
            ));
        }
        Ok(Ring {
            base: base.cast(),
            next: 0,
            blocks,
        })
    }

    /// The status word of block `i`, shared with the kernel.
    fn status(&self, i: usize) -> &AtomicU32 {
        // SAFETY: block `i` lies inside the mapping; its descriptor starts
        // with two u32 and then `block_status`, which is 4-byte aligned.
        unsafe {
            let desc = self
                .base
                .add(i * BLOCK_SIZE)
                .cast::<libc::tpacket_block_desc>();
            AtomicU32::from_ptr(ptr::addr_of_mut!((*desc).hdr.bh1.block_status))
        }
    }

    /// Reads every block the kernel has handed over, in order, gives each
    /// back, and returns how many frames there were.
    fn read_ready<S: FrameSink>(&mut self, stamper: &mut Stamper, out: &mut Emitter<S>) -> usize {
        let mut frames = 0;
        // Acquire: the frames the kernel wrote before setting the status
        // are visible once we see TP_STATUS_USER.
        while self.status(self.next).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0 {
            stamper.anchor();
            frames += self.read_block(self.next, stamper, out);
            // Release: we are done reading before the kernel may refill it.
            self.status(self.next)
                .store(libc::TP_STATUS_KERNEL, Ordering::Release);
            self.next = (self.next + 1) % self.blocks;
            // The block is back with the kernel; now pass its frames on.
            out.flush();
        }
        frames
    }

    /// Walks the frames of block `i`.
    fn read_block<S: FrameSink>(&self, i: usize, stamper: &Stamper, out: &mut Emitter<S>) -> usize {
        // SAFETY: the block is ours (TP_STATUS_USER) until we give it back.
        // Every offset is checked against the block size before use.
        unsafe {
            let block = self.base.add(i * BLOCK_SIZE);
            let bh = ptr::read(ptr::addr_of!(
                (*block.cast::<libc::tpacket_block_desc>()).hdr.bh1
            ));
            let mut at = bh.offset_to_first_pkt as usize;
            let header_len = std::mem::size_of::<libc::tpacket3_hdr>();
            for n in 0..bh.num_pkts as usize {
                if at + header_len > BLOCK_SIZE {
                    return n;
                }
                let h = ptr::read(block.add(at).cast::<libc::tpacket3_hdr>());
                let start = at + usize::from(h.tp_mac);
                let len = h.tp_snaplen as usize;
                if start + len > BLOCK_SIZE {
                    return n;
                }
                let data = std::slice::from_raw_parts(block.add(start), len);
                // tp_len: the frame's length on the wire; tp_snaplen: how
                // much of it is in the ring. They differ only if cut.
                out.emit(stamper.stamp(h.tp_sec, h.tp_nsec), data, h.tp_len as usize);
                // The last frame of a block has tp_next_offset 0.
                at += h.tp_next_offset as usize;
            }
            bh.num_pkts as usize
        }
    }

    /// Reads until asked to stop, then drains (see the module docs of
    /// `capture`). Returns the error that ended reading early, if any.
    pub(super) fn read_loop<S: FrameSink>(
        &mut self,
        fd: RawFd,
        stop: &Stop,
        clock: Clock,
        out: &mut Emitter<S>,
    ) -> io::Result<()> {
        let mut stamper = Stamper::new(clock);
        // Set once stopping: the time at which we give up waiting for more.
        let mut quiet_until: Option<u64> = None;
        loop {
            let got = self.read_ready(&mut stamper, out);
            let Some(at) = stop.requested() else {
                // Sleep until a block is handed over or stop() wakes us. The
                // timeout is only a safety net.
                wait_readable([fd, stop.wake_fd()], 100)?;
                continue;
            };
            // Stopping. Keep reading through the grace period; after it,
            // finish once the ring has been quiet for QUIET_US.
            let now = clock.now_us();
            let mut until = quiet_until.unwrap_or(at + GRACE_US + QUIET_US);
            if got > 0 && now > at + GRACE_US {
                until = until.max(now + QUIET_US);
            }
            quiet_until = Some(until);
            if now >= until || now >= at + STOP_LIMIT_US {
                self.read_ready(&mut stamper, out);
                return Ok(());
            }
            let wait_ms = (until - now).div_ceil(1000).min(QUIET_US / 1000);
            wait_readable([fd], wait_ms as libc::c_int)?;
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `attach`.
        unsafe { libc::munmap(self.base.cast(), BLOCK_SIZE * self.blocks) };
    }
}
