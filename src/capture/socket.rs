//! The AF_PACKET socket, built by hand so that every option is in place
//! before the first packet can arrive.
//!
//! The order matters:
//!
//! 1. `socket(AF_PACKET, SOCK_RAW, 0)`: protocol 0 means "deliver nothing
//!    yet". A socket opened with `ETH_P_ALL` starts receiving from every
//!    interface at once, before we had a chance to set the options below.
//! 2. `PACKET_IGNORE_OUTGOING`, the receive buffer and the BPF filter.
//! 3. (ring path) `PACKET_VERSION` and `PACKET_RX_RING`, see `ring.rs`.
//! 4. `bind()` to `lo` with protocol `ETH_P_ALL`: from here on frames flow.
//!    pnet does this step for us in `pnet_datalink::channel`.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::CaptureError;

/// `SOL_PACKET` option number of `PACKET_IGNORE_OUTGOING` (Linux >= 4.20).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// An AF_PACKET socket that is not bound yet.
pub(super) struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    /// Opens the socket; EPERM/EACCES becomes [`CaptureError::NoPrivilege`].
    pub(super) fn open() -> Result<PacketSocket, CaptureError> {
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            let err = io::Error::last_os_error();
            return Err(match err.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => CaptureError::no_privilege(),
                _ => CaptureError::io("socket(AF_PACKET)", err),
            });
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        Ok(PacketSocket {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Gives the descriptor away (to pnet, which closes it when done).
    pub(super) fn into_fd(self) -> OwnedFd {
        self.fd
    }

    /// Asks the kernel not to show us frames this host *sends*.
    ///
    /// On `lo` every packet is first sent (outgoing copy) and then received
    /// (incoming copy); without this option each one is captured twice.
    pub(super) fn ignore_outgoing(&self) -> Result<(), CaptureError> {
        setsockopt(
            self.fd.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_IGNORE_OUTGOING,
            &1 as &libc::c_int,
        )
        .map_err(|e| {
            CaptureError::io(
                "setsockopt(PACKET_IGNORE_OUTGOING) (needs Linux >= 4.20)",
                e,
            )
        })
    }

    /// Grows the receive queue to `bytes`, past `net.core.rmem_max` when we
    /// hold CAP_NET_ADMIN (`SO_RCVBUFFORCE`), else as far as the limit allows.
    pub(super) fn grow_receive_buffer(&self, bytes: usize) -> Result<(), CaptureError> {
        let fd = self.fd.as_raw_fd();
        let want = bytes as libc::c_int;
        setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &want)
            .or_else(|_| setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &want))
            .map_err(|e| CaptureError::io("setsockopt(SO_RCVBUF)", e))
    }

    /// Attaches a classic BPF program: the kernel runs it on every frame and
    /// queues only those for which it returns non-zero.
    pub(super) fn attach_filter(&self, program: &[libc::sock_filter]) -> Result<(), CaptureError> {
        let prog = libc::sock_fprog {
            len: program.len() as libc::c_ushort,
            // The kernel copies the program; it never writes through this.
            filter: program.as_ptr() as *mut libc::sock_filter,
        };
        setsockopt(
            self.fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &prog,
        )
        .map_err(|e| CaptureError::io("setsockopt(SO_ATTACH_FILTER)", e))
    }

    /// The raw descriptor, for the options the ring sets up.
    pub(super) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Reads and resets the kernel's counters: `(packets, drops)`.
///
/// `tp_packets` counts every frame that passed the filter, dropped or not;
/// `tp_drops` those that found the queue (or ring) full.
pub(super) fn statistics(fd: RawFd) -> io::Result<(u64, u64)> {
    // The V3 struct is the larger one; for other versions the kernel fills
    // only the first two fields.
    let mut stats: libc::tpacket_stats_v3 = unsafe { mem::zeroed() };
    let mut len = mem::size_of_val(&stats) as libc::socklen_t;
    // SAFETY: `stats` is writable for `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&mut stats as *mut libc::tpacket_stats_v3).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((stats.tp_packets as u64, stats.tp_drops as u64))
}

/// `setsockopt` for any plain-data option value.
pub(super) fn setsockopt<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` is a valid `T` for `size_of::<T>()` bytes.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Waits until one of `fds` is readable or `timeout_ms` passed (-1:
/// forever) and says which are. EINTR counts as "none yet".
pub(super) fn wait_readable<const N: usize>(
    fds: [RawFd; N],
    timeout_ms: libc::c_int,
) -> io::Result<[bool; N]> {
    let mut polled = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    // SAFETY: `polled` holds N initialised entries.
    let rc = unsafe { libc::poll(polled.as_mut_ptr(), N as libc::nfds_t, timeout_ms) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok([false; N]);
        }
        return Err(err);
    }
    let mut ready = [false; N];
    for (flag, p) in ready.iter_mut().zip(&polled) {
        if p.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
            return Err(io::Error::other(
                "capture socket reported an error (interface gone?)",
            ));
        }
        *flag = p.revents & (libc::POLLIN | libc::POLLHUP) != 0;
    }
    Ok(ready)
}
