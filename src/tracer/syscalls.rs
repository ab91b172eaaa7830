//! The system calls `lab trace` records, and how to read their arguments.
//!
//! A system call is a number and six integers. On x86_64 the program puts
//! the number in `rax` and the arguments in `rdi`, `rsi`, `rdx`, `r10`,
//! `r8`, `r9`, then executes `syscall`; the kernel writes the result back
//! into `rax`. When a traced thread stops at a system call, the tracer
//! reads those registers with `PTRACE_GETREGS`. The kernel keeps the number
//! in a second slot, `orig_rax`, because `rax` is overwritten by the result
//! (and, at entry, holds `-ENOSYS`). The argument registers are the same at
//! entry and at exit: the kernel restores every register but `rax`, `rcx`
//! and `r11`, so a call can be decoded whole when it returns.
//!
//! An argument is often a pointer into the program's memory (the bytes of
//! a `send`, the `sockaddr` of a `connect`): the tracer copies them out
//! with `process_vm_readv`, which reads another process's memory as
//! `read` reads a file.
//!
//! The numbers are x86_64's: every architecture numbers its system calls
//! its own way (`libc::SYS_*` names them for the one we build for).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;

/// Every system call the tracer stops at: one variant each, so a `match`
/// names them all and the compiler says when one is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syscall {
    Socket,
    SocketPair,
    Bind,
    Listen,
    Accept,
    Accept4,
    Connect,
    SendTo,
    SendMsg,
    SendMmsg,
    RecvFrom,
    RecvMsg,
    RecvMmsg,
    Shutdown,
    SetSockOpt,
    GetSockOpt,
    GetSockName,
    GetPeerName,
    // Calls on any file descriptor: recorded only when it is a socket.
    Read,
    Write,
    ReadV,
    WriteV,
    SendFile,
    Close,
    /// `dup2` and `dup3` close their target descriptor first: the tracer
    /// forgets what it knew about that number.
    Dup2,
    Dup3,
    /// Closes a range of descriptors at once (`closefrom`): forgotten too.
    CloseRange,
}

impl Syscall {
    /// Every call, for the seccomp filter.
    pub const ALL: [Syscall; 27] = [
        Syscall::Socket,
        Syscall::SocketPair,
        Syscall::Bind,
        Syscall::Listen,
        Syscall::Accept,
        Syscall::Accept4,
        Syscall::Connect,
        Syscall::SendTo,
        Syscall::SendMsg,
        Syscall::SendMmsg,
        Syscall::RecvFrom,
        Syscall::RecvMsg,
        Syscall::RecvMmsg,
        Syscall::Shutdown,
        Syscall::SetSockOpt,
        Syscall::GetSockOpt,
        Syscall::GetSockName,
        Syscall::GetPeerName,
        Syscall::Read,
        Syscall::Write,
        Syscall::ReadV,
        Syscall::WriteV,
        Syscall::SendFile,
        Syscall::Close,
        Syscall::Dup2,
        Syscall::Dup3,
        Syscall::CloseRange,
    ];

    /// The call's number on this architecture.
    pub fn number(self) -> i64 {
        use Syscall::*;
        match self {
            Socket => libc::SYS_socket,
            SocketPair => libc::SYS_socketpair,
            Bind => libc::SYS_bind,
            Listen => libc::SYS_listen,
            Accept => libc::SYS_accept,
            Accept4 => libc::SYS_accept4,
            Connect => libc::SYS_connect,
            SendTo => libc::SYS_sendto,
            SendMsg => libc::SYS_sendmsg,
            SendMmsg => libc::SYS_sendmmsg,
            RecvFrom => libc::SYS_recvfrom,
            RecvMsg => libc::SYS_recvmsg,
            RecvMmsg => libc::SYS_recvmmsg,
            Shutdown => libc::SYS_shutdown,
            SetSockOpt => libc::SYS_setsockopt,
            GetSockOpt => libc::SYS_getsockopt,
            GetSockName => libc::SYS_getsockname,
            GetPeerName => libc::SYS_getpeername,
            Read => libc::SYS_read,
            Write => libc::SYS_write,
            ReadV => libc::SYS_readv,
            WriteV => libc::SYS_writev,
            SendFile => libc::SYS_sendfile,
            Close => libc::SYS_close,
            Dup2 => libc::SYS_dup2,
            Dup3 => libc::SYS_dup3,
            CloseRange => libc::SYS_close_range,
        }
    }

    /// The call a number stands for, if we trace it.
    pub fn from_number(nr: u64) -> Option<Syscall> {
        Syscall::ALL
            .into_iter()
            .find(|s| u64::try_from(s.number()) == Ok(nr))
    }

    /// The name in man pages (`man 2 accept4`).
    pub fn name(self) -> &'static str {
        use Syscall::*;
        match self {
            Socket => "socket",
            SocketPair => "socketpair",
            Bind => "bind",
            Listen => "listen",
            Accept => "accept",
            Accept4 => "accept4",
            Connect => "connect",
            SendTo => "sendto",
            SendMsg => "sendmsg",
            SendMmsg => "sendmmsg",
            RecvFrom => "recvfrom",
            RecvMsg => "recvmsg",
            RecvMmsg => "recvmmsg",
            Shutdown => "shutdown",
            SetSockOpt => "setsockopt",
            GetSockOpt => "getsockopt",
            GetSockName => "getsockname",
            GetPeerName => "getpeername",
            Read => "read",
            Write => "write",
            ReadV => "readv",
            WriteV => "writev",
            SendFile => "sendfile",
            Close => "close",
            Dup2 => "dup2",
            Dup3 => "dup3",
            CloseRange => "close_range",
        }
    }

    /// Whether the first argument is a descriptor that may or may not be a
    /// socket: the call is recorded only if it is one.
    pub fn on_any_fd(self) -> bool {
        use Syscall::*;
        matches!(
            self,
            Read | Write | ReadV | WriteV | Close | Dup2 | Dup3 | CloseRange
        )
    }

    /// Whether the call can wait (a `CallStarted` event marks its start):
    /// for an accept, a connect or a receive until a peer acts; for a send
    /// until the socket's buffer has room.
    pub fn may_block(self) -> bool {
        use Syscall::*;
        matches!(
            self,
            Accept
                | Accept4
                | Connect
                | SendTo
                | SendMsg
                | SendMmsg
                | RecvFrom
                | RecvMsg
                | RecvMmsg
                | Read
                | Write
                | ReadV
                | WriteV
                | SendFile
        )
    }
}

/// The registers of a stopped thread that matter to a system call.
#[derive(Debug, Clone, Copy)]
pub struct Regs {
    pub nr: u64,
    pub args: [u64; 6],
    /// The result (meaningful at exit only): a value, or `-errno`.
    pub ret: i64,
}

impl Regs {
    /// Reads them from a thread in a ptrace stop.
    pub fn read(tid: Pid) -> nix::Result<Regs> {
        let r = nix::sys::ptrace::getregs(tid)?;
        Ok(Regs {
            nr: r.orig_rax,
            args: [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9],
            ret: r.rax as i64,
        })
    }

    /// The first argument as a descriptor.
    pub fn fd(&self) -> i32 {
        self.args[0] as i32
    }

    /// The result split in the way the C library does it: values from -4095
    /// to -1 are `-errno`.
    pub fn result(&self) -> Result<i64, i32> {
        match self.ret {
            -4095..=-1 => Err(-self.ret as i32),
            n => Ok(n),
        }
    }
}

/// Errors the kernel uses inside itself when a signal interrupts a call
/// that will be restarted (`ERESTARTSYS` and its kin). The program never
/// sees them: the call runs again, and stops at the tracer again.
pub fn is_restart(errno: i32) -> bool {
    (512..=516).contains(&errno)
}

/// Copies `len` bytes at `addr` out of the traced process.
pub fn read_memory(pid: Pid, addr: u64, len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    if addr == 0 {
        return None;
    }
    let mut buf = vec![0u8; len];
    let remote = [RemoteIoVec {
        base: addr as usize,
        len,
    }];
    let n = process_vm_readv(pid, &mut [std::io::IoSliceMut::new(&mut buf)], &remote).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Reads a little-endian integer of the traced process.
pub fn read_u32(pid: Pid, addr: u64) -> Option<u32> {
    let b = read_memory(pid, addr, 4)?;
    Some(u32::from_le_bytes(b.get(..4)?.try_into().ok()?))
}

/// An `iovec` array (`readv`, `writev`, `sendmsg`): where each piece of a
/// message is, in the program's memory.
pub fn read_iovecs(pid: Pid, addr: u64, count: u64) -> Vec<(u64, u64)> {
    let count = count.min(1024) as usize;
    let Some(raw) = read_memory(pid, addr, count * 16) else {
        return Vec::new();
    };
    raw.chunks_exact(16)
        .map(|c| {
            let base = u64::from_le_bytes(c[..8].try_into().expect("8 bytes"));
            let len = u64::from_le_bytes(c[8..].try_into().expect("8 bytes"));
            (base, len)
        })
        .collect()
}

/// The first `keep` of the `moved` bytes a call gathered from (or
/// scattered into) `iovecs`.
pub fn gather(pid: Pid, iovecs: &[(u64, u64)], moved: usize, keep: usize) -> Vec<u8> {
    let mut want = moved.min(keep);
    let mut out = Vec::with_capacity(want);
    for &(base, len) in iovecs {
        if want == 0 {
            break;
        }
        let take = (len as usize).min(want);
        match read_memory(pid, base, take) {
            Some(b) => out.extend_from_slice(&b),
            None => break,
        }
        want -= take;
    }
    out
}

/// A `msghdr` (`sendmsg`, `recvmsg`): the address, the pieces of data,
/// and the flags the kernel wrote back.
pub struct MsgHdr {
    pub name: u64,
    pub name_len: u32,
    pub iovecs: Vec<(u64, u64)>,
    pub flags: i32,
}

/// Reads a `struct msghdr` (56 bytes on x86_64).
pub fn read_msghdr(pid: Pid, addr: u64) -> Option<MsgHdr> {
    let raw = read_memory(pid, addr, 56)?;
    let u64_at = |o: usize| u64::from_le_bytes(raw[o..o + 8].try_into().expect("8 bytes"));
    let name = u64_at(0);
    let name_len = u32::from_le_bytes(raw[8..12].try_into().expect("4 bytes"));
    let iov = u64_at(16);
    let iov_len = u64_at(24);
    let flags = i32::from_le_bytes(raw[48..52].try_into().expect("4 bytes"));
    Some(MsgHdr {
        name,
        name_len,
        iovecs: read_iovecs(pid, iov, iov_len),
        flags,
    })
}

/// An address as a socket call takes it (`struct sockaddr`), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Inet(SocketAddr),
    /// An AF_UNIX path (`@name` for the abstract namespace; empty for an
    /// unnamed socket).
    Unix(String),
    /// Another family, by number.
    Other(u16),
}

impl Address {
    /// How a learner writes it: `127.0.0.1:9000`, `/tmp/s.sock`.
    pub fn text(&self) -> String {
        match self {
            Address::Inet(a) => a.to_string(),
            Address::Unix(p) if p.is_empty() => "(unnamed)".into(),
            Address::Unix(p) => p.clone(),
            Address::Other(f) => format!("(address family {f})"),
        }
    }

    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            Address::Inet(a) => Some(*a),
            _ => None,
        }
    }
}

/// Decodes the bytes of a `sockaddr_in`, `sockaddr_in6` or `sockaddr_un`.
pub fn parse_sockaddr(raw: &[u8]) -> Option<Address> {
    let family = u16::from_le_bytes(raw.get(..2)?.try_into().ok()?);
    // The port is in network byte order (big-endian), the family is not.
    let port = || Some(u16::from_be_bytes(raw.get(2..4)?.try_into().ok()?));
    match i32::from(family) {
        libc::AF_INET => {
            let ip: [u8; 4] = raw.get(4..8)?.try_into().ok()?;
            Some(Address::Inet(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from(ip)),
                port()?,
            )))
        }
        libc::AF_INET6 => {
            let ip: [u8; 16] = raw.get(8..24)?.try_into().ok()?;
            Some(Address::Inet(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(ip)),
                port()?,
            )))
        }
        libc::AF_UNIX => {
            let path = raw.get(2..).unwrap_or_default();
            Some(Address::Unix(match path.first() {
                // The abstract namespace: a leading NUL, no file.
                Some(0) => format!("@{}", String::from_utf8_lossy(&path[1..])),
                _ => {
                    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                    String::from_utf8_lossy(&path[..end]).into_owned()
                }
            }))
        }
        _ => Some(Address::Other(family)),
    }
}

/// Reads the address at `addr` (`len` bytes) in the traced process.
pub fn read_sockaddr(pid: Pid, addr: u64, len: u64) -> Option<Address> {
    parse_sockaddr(&read_memory(pid, addr, len.min(128) as usize)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_map_back_to_their_calls() {
        for s in Syscall::ALL {
            assert_eq!(Syscall::from_number(s.number() as u64), Some(s));
        }
        assert_eq!(Syscall::from_number(libc::SYS_openat as u64), None);
    }

    #[test]
    fn addresses_decode_as_learners_write_them() {
        // sockaddr_in for 127.0.0.1:9000: family 2 (little-endian), port
        // 9000 = 0x2328 big-endian, then the four bytes of the address.
        let v4 = [2, 0, 0x23, 0x28, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_sockaddr(&v4).unwrap().text(), "127.0.0.1:9000");
        let mut un = vec![1, 0];
        un.extend_from_slice(b"/tmp/s.sock\0");
        assert_eq!(parse_sockaddr(&un).unwrap().text(), "/tmp/s.sock");
        assert_eq!(parse_sockaddr(&[1, 0, 0, b'x']).unwrap().text(), "@x");
        assert_eq!(parse_sockaddr(&[2]), None);
    }
}
