//! A private network namespace for each lab, when we may make one.
//!
//! A network namespace is a whole separate network stack: its own `lo`, its
//! own port table, its own MTU and queueing settings. On Linux the
//! namespace is a property of each *thread*, so a lab can run on a thread
//! that calls [`enter_private_netns`] first:
//!
//! - two labs running at once can both bind `127.0.0.1:7000` without a
//!   clash, and neither sees the other's packets;
//! - a capture opened on that thread sees only the lab's own traffic, so it
//!   needs no port filter;
//! - the lab may change `lo` (say, an MTU of 1500 with [`set_lo_mtu`] to show
//!   segmentation and IP fragmentation) without touching the host.
//!
//! Threads spawned by a namespaced thread start in the same namespace, so a
//! lab's actors (one thread each) share it. The namespace goes away when the
//! last thread and the last socket in it are gone.
//!
//! Making one needs CAP_SYS_ADMIN (in practice: root). Without it, labs run
//! on the host's loopback with ephemeral ports and a capture port filter;
//! [`can_unshare`] tells which.
//!
//! ```no_run
//! std::thread::spawn(|| {
//!     socket_lab::netns::enter_private_netns()?;
//!     socket_lab::netns::set_lo_mtu(1500)?;
//!     // ... this thread and the threads it spawns see their own `lo` ...
//!     Ok::<(), std::io::Error>(())
//! });
//! ```

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// Moves the calling thread into a new, empty network namespace and brings
/// its `lo` up (a new namespace starts with `lo` down).
///
/// Call it on a thread made for the purpose: there is no way back, and a
/// thread from a pool would carry the namespace into unrelated work.
pub fn enter_private_netns() -> io::Result<()> {
    // SAFETY: plain syscall; it changes only this thread's namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // The same two steps as `ip link set lo up`: read the flags, add IFF_UP.
    let mut req = lo_request();
    lo_ioctl(libc::SIOCGIFFLAGS, &mut req)?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    lo_ioctl(libc::SIOCSIFFLAGS, &mut req)
}

/// Sets the MTU of `lo` in the calling thread's namespace.
///
/// Meant for a private namespace; on the host it would change the host's
/// loopback for every program.
pub fn set_lo_mtu(mtu: u32) -> io::Result<()> {
    let mut req = lo_request();
    req.ifr_ifru.ifru_mtu =
        libc::c_int::try_from(mtu).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    lo_ioctl(libc::SIOCSIFMTU, &mut req)
}

/// The MTU of `lo` in the calling thread's namespace.
pub fn lo_mtu() -> io::Result<u32> {
    let mut req = lo_request();
    lo_ioctl(libc::SIOCGIFMTU, &mut req)?;
    // SAFETY: SIOCGIFMTU filled the mtu member of the union.
    Ok(unsafe { req.ifr_ifru.ifru_mtu } as u32)
}

/// Whether the calling thread runs in a network namespace other than the
/// process's first thread: one made by [`enter_private_netns`]. Settings
/// such as [`set_lo_mtu`] are safe to change only then.
pub fn in_private_netns() -> bool {
    // `self` is the process (its first thread), `thread-self` this thread.
    match (
        std::fs::read_link("/proc/thread-self/ns/net"),
        std::fs::read_link("/proc/self/ns/net"),
    ) {
        (Ok(mine), Ok(process)) => mine != process,
        _ => false,
    }
}

/// Whether this process may make network namespaces.
///
/// Tried once, on a scratch thread that exits right after (taking its
/// namespace with it), then remembered: a capability check alone would
/// miss a container that forbids `unshare` by other means.
pub fn can_unshare() -> bool {
    static ANSWER: OnceLock<bool> = OnceLock::new();
    *ANSWER.get_or_init(|| {
        std::thread::spawn(|| {
            // SAFETY: plain syscall on a thread that ends right after.
            unsafe { libc::unshare(libc::CLONE_NEWNET) == 0 }
        })
        .join()
        .unwrap_or(false)
    })
}

/// An interface request naming `lo`, all other fields zero.
fn lo_request() -> libc::ifreq {
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    req
}

/// Runs one interface ioctl on a throwaway AF_INET datagram socket (any
/// socket of the namespace will do; this is how `ifconfig` talks to the
/// kernel, without netlink).
fn lo_ioctl(request: libc::c_ulong, req: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: plain syscall; the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `req` is a valid ifreq for the duration of the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), request as _, req as *mut libc::ifreq) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
