//! A socket as an actor holds it: the OS socket plus what the trace needs
//! to know about it (transport, stream offsets, watchdog).

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{SockAddr, Socket};

use crate::catalog::step::SockOpt;
use crate::trace::Proto;

/// One socket of an actor.
pub struct Sock {
    pub socket: Socket,
    pub proto: Proto,
    /// Bytes this socket has sent and received so far: the stream offsets
    /// of the next byte in each direction (TCP and AF_UNIX streams).
    pub sent: u64,
    pub received: u64,
    /// The watchdog: longest time one blocking call may wait.
    pub timeout: Duration,
    pub nonblocking: bool,
    /// The sender of the last datagram `recv_from` returned: where
    /// `send_to` with `to = "@from"` answers.
    pub last_from: Option<SockAddr>,
    /// Set from elsewhere to give up the blocking call in progress (Ctrl-C
    /// in `lab repl`); a socket with one wakes every [`INTERRUPT_SLICE`]
    /// to look at it.
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Bytes a protocol step read past its last frame, for the next one
    /// (see `Actor::framed`).
    pub unread: Vec<u8>,
}

/// How often a blocking call on an interruptible socket looks at its flag.
pub const INTERRUPT_SLICE: Duration = Duration::from_millis(100);

/// The longest watchdog: `settimeout(None)` in `lab repl`, where a call
/// blocks as long as the learner lets it (a day, for a bound).
pub const FOREVER: Duration = Duration::from_secs(86_400);

impl Sock {
    /// Wraps a fresh socket and arms its watchdog (SO_RCVTIMEO and
    /// SO_SNDTIMEO, which also bound `accept` and `connect` on Linux).
    pub fn new(socket: Socket, proto: Proto, timeout: Duration) -> std::io::Result<Sock> {
        socket.set_read_timeout(Some(timeout))?;
        socket.set_write_timeout(Some(timeout))?;
        Ok(Sock {
            socket,
            proto,
            sent: 0,
            received: 0,
            timeout,
            nonblocking: false,
            last_from: None,
            interrupt: None,
            unread: Vec::new(),
        })
    }

    /// Whether the blocking call in progress should be given up.
    pub fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
    }

    pub fn local(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok().and_then(|a| a.as_socket())
    }

    pub fn peer(&self) -> Option<SocketAddr> {
        self.socket.peer_addr().ok().and_then(|a| a.as_socket())
    }

    /// Sets one option by the name a learner knows, and returns what the
    /// kernel reports back when that differs from what was asked (the
    /// kernel doubles SO_SNDBUF and SO_RCVBUF, for instance).
    pub fn set_option(&self, option: SockOpt, value: i64) -> std::io::Result<Option<String>> {
        let s = &self.socket;
        let on = value != 0;
        match option {
            SockOpt::SoReuseaddr => s.set_reuse_address(on)?,
            SockOpt::SoReuseport => s.set_reuse_port(on)?,
            SockOpt::SoKeepalive => s.set_keepalive(on)?,
            // A negative value turns lingering off; 0 makes close() send RST.
            SockOpt::SoLinger => {
                s.set_linger(u64::try_from(value).ok().map(Duration::from_secs))?
            }
            SockOpt::SoSndbuf => {
                s.set_send_buffer_size(value.max(0) as usize)?;
                return Ok(Some(format!(
                    "kernel now reports {}",
                    s.send_buffer_size()?
                )));
            }
            SockOpt::SoRcvbuf => {
                s.set_recv_buffer_size(value.max(0) as usize)?;
                return Ok(Some(format!(
                    "kernel now reports {}",
                    s.recv_buffer_size()?
                )));
            }
            SockOpt::TcpNodelay => s.set_tcp_nodelay(on)?,
            SockOpt::TcpCork => s.set_tcp_cork(on)?,
            SockOpt::TcpQuickack => s.set_tcp_quickack(on)?,
            SockOpt::TcpMaxseg => s.set_tcp_mss(value.max(0) as u32)?,
        }
        Ok(None)
    }
}

/// An address in the form the call log shows.
pub fn show_addr(addr: &SockAddr) -> String {
    if let Some(a) = addr.as_socket() {
        a.to_string()
    } else if let Some(p) = addr.as_pathname() {
        p.display().to_string()
    } else {
        "(unnamed)".to_string()
    }
}

/// `recv(2)` into an initialised buffer: what `socket.recv(n)` does.
///
/// socket2 takes a `MaybeUninit` slice, so that a caller may receive into
/// memory it never initialised. Ours is initialised; the view below lives
/// only for this call, and the kernel writes only real bytes into it, so
/// `buf` is still initialised afterwards. (A safe function that *returned*
/// such a view would let safe code write `MaybeUninit::uninit()` into a
/// `&mut [u8]`: not sound. This one cannot.)
pub fn recv_into(socket: &Socket, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: u8 and MaybeUninit<u8> have the same layout; socket2's recv
    // only writes initialised bytes and the view does not escape.
    let view = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    socket.recv_with_flags(view, flags)
}

/// `recvfrom(2)` into an initialised buffer (see [`recv_into`]): the
/// byte count (with `MSG_TRUNC`, the datagram's real length) and the
/// sender.
pub fn recv_from_into(
    socket: &Socket,
    buf: &mut [u8],
    flags: libc::c_int,
) -> io::Result<(usize, SockAddr)> {
    // SAFETY: as in `recv_into`.
    let view = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    socket.recv_from_with_flags(view, flags)
}

/// The bytes a `size = N` send offers: the alphabet, continued from the
/// stream offset, so a reader can see where each piece fits.
pub fn pattern(offset: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| b'a' + ((offset + i) % 26) as u8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_continues_across_sends() {
        let mut whole = pattern(0, 5);
        whole.extend(pattern(5, 25));
        assert_eq!(whole, pattern(0, 30));
        assert_eq!(&pattern(24, 4), b"yzab");
    }
}
