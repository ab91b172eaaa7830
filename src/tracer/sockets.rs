//! What the tracer knows about the program's sockets.
//!
//! A system call names a socket by a small number, its file descriptor:
//! `send(4, ...)`. To show a learner `127.0.0.1:41234 → 127.0.0.1:9000` and
//! to join calls to packets, the tracer needs what the descriptor stands
//! for. It asks the kernel rather than guessing from the calls it saw:
//!
//! - `/proc/PID/fd/4` is a symbolic link that reads `socket:[81234]` for a
//!   socket (`pipe:[...]`, a path, ... otherwise). The number is the
//!   socket's inode: the socket itself, whatever descriptor or process
//!   holds it. After `fork`, parent and child hold the same socket under
//!   the same inode; the byte counters below are kept per inode.
//! - `pidfd_getfd` (Linux 5.6) copies a descriptor of another process into
//!   ours, as if it had been passed over a Unix socket. On the copy, the
//!   ordinary calls work: `getsockname`, `getpeername`, and
//!   `getsockopt(SO_TYPE / SO_DOMAIN)` for TCP, UDP or AF_UNIX. Then the
//!   copy is closed; the program's socket is untouched. Only a process
//!   allowed to ptrace the program may do this, which the tracer is.
//!
//! Descriptor numbers are reused: after `close(4)` the next `socket()` or
//! `open()` may return 4 again. So the map from (process, fd) to inode is
//! forgotten at `close`, `dup2`/`dup3` over it, and `exec`, and learnt
//! again from `/proc` when needed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::unistd::Pid;

use crate::trace::Proto;

/// One socket, as the kernel describes it.
#[derive(Debug, Clone, Default)]
pub struct Socket {
    pub proto: Option<Proto>,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    /// Bytes sent and received so far: the stream offsets of the next
    /// byte in each direction (TCP).
    pub sent: u64,
    pub received: u64,
    /// The tracer saw the socket being made (`socket`, `accept`,
    /// `socketpair`): its counters start at the connection's first byte.
    /// A socket met later (`lab trace --pid`) gets no stream offsets.
    pub from_start: bool,
    /// The kernel has been asked about it at least once.
    pub described: bool,
}

/// Sockets by inode, and which descriptor of which process names which.
#[derive(Debug, Default)]
pub struct Sockets {
    by_inode: HashMap<u64, Socket>,
    /// (process id, fd) -> inode.
    fds: HashMap<(i32, i32), u64>,
    /// Descriptors known not to be sockets (files, pipes, the terminal):
    /// a program that writes a million lines must not cost a million
    /// lookups in `/proc`. A number leaves this set when it is closed
    /// (`close`, `close_range`, `dup2` over it, `exec`): only then can it
    /// come back as something else.
    not_sockets: std::collections::HashSet<(i32, i32)>,
    /// A pidfd per process, opened once (`pidfd_open`).
    pidfds: HashMap<i32, OwnedFd>,
}

/// The inode of the socket `fd` names in process `pid`, or `None` when it
/// names something else (a file, a pipe, the terminal) or nothing.
pub fn inode_of(pid: i32, fd: i32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    let text = link.to_str()?;
    text.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

impl Sockets {
    /// The inode of `fd` in process `pid` when it is a socket: from what we
    /// learnt before, or from `/proc`.
    pub fn lookup(&mut self, pid: i32, fd: i32) -> Option<u64> {
        if fd < 0 {
            return None;
        }
        if let Some(&inode) = self.fds.get(&(pid, fd)) {
            return Some(inode);
        }
        if self.not_sockets.contains(&(pid, fd)) {
            return None;
        }
        match inode_of(pid, fd) {
            Some(inode) => {
                self.fds.insert((pid, fd), inode);
                Some(inode)
            }
            None => {
                self.not_sockets.insert((pid, fd));
                None
            }
        }
    }

    /// A new socket the program just made (`socket`, `accept`, ...).
    pub fn born(&mut self, pid: i32, fd: i32) -> Option<u64> {
        self.forget_fd(pid, fd);
        let inode = self.lookup(pid, fd)?;
        let s = self.by_inode.entry(inode).or_default();
        s.from_start = true;
        Some(inode)
    }

    /// The socket of an inode.
    pub fn get(&mut self, inode: u64) -> &mut Socket {
        self.by_inode.entry(inode).or_default()
    }

    /// `fd` of process `pid` no longer names what it named.
    pub fn forget_fd(&mut self, pid: i32, fd: i32) {
        self.fds.remove(&(pid, fd));
        self.not_sockets.remove(&(pid, fd));
    }

    /// Descriptors `first` to `last` of process `pid` were closed.
    pub fn forget_range(&mut self, pid: i32, first: u32, last: u32) {
        let gone =
            |&(p, fd): &(i32, i32)| p == pid && fd >= 0 && (first..=last).contains(&(fd as u32));
        self.fds.retain(|k, _| !gone(k));
        self.not_sockets.retain(|k| !gone(k));
    }

    /// Process `pid` ran `exec` (descriptors marked close-on-exec are gone)
    /// or ended.
    pub fn forget_process(&mut self, pid: i32) {
        self.fds.retain(|(p, _), _| *p != pid);
        self.not_sockets.retain(|(p, _)| *p != pid);
        self.pidfds.remove(&pid);
    }

    /// Asks the kernel for the type and addresses of `fd` (a socket of
    /// process `pid`, whose inode is `inode`) and keeps them.
    pub fn refresh(&mut self, pid: i32, fd: i32, inode: u64) {
        let Some(copy) = self.copy_fd(pid, fd) else {
            return;
        };
        let raw = copy.as_raw_fd();
        let s = self.by_inode.entry(inode).or_default();
        s.described = true;
        if s.proto.is_none() {
            s.proto = proto_of(raw);
        }
        s.local = name_of(raw, libc::getsockname).or(s.local);
        s.peer = name_of(raw, libc::getpeername);
        // `copy` is closed here.
    }

    /// A copy of the program's descriptor in this process.
    fn copy_fd(&mut self, pid: i32, fd: i32) -> Option<OwnedFd> {
        let pidfd = match self.pidfds.entry(pid) {
            std::collections::hash_map::Entry::Occupied(e) => e.get().as_raw_fd(),
            std::collections::hash_map::Entry::Vacant(e) => {
                // SAFETY: pidfd_open takes a pid and flags and returns a
                // new descriptor or -1.
                let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
                if pidfd < 0 {
                    return None;
                }
                // SAFETY: the kernel just gave us this descriptor.
                e.insert(unsafe { OwnedFd::from_raw_fd(pidfd as i32) })
                    .as_raw_fd()
            }
        };
        // SAFETY: pidfd_getfd(pidfd, targetfd, flags) returns a new
        // descriptor of ours or -1.
        let copy = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) };
        // SAFETY: as above, a fresh descriptor that nobody else owns.
        (copy >= 0).then(|| unsafe { OwnedFd::from_raw_fd(copy as i32) })
    }
}

/// TCP, UDP or AF_UNIX, from the socket's type and domain.
fn proto_of(fd: i32) -> Option<Proto> {
    let int_option = |name: i32| -> Option<i32> {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: v and len are valid for the kernel to write.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        (r == 0).then_some(v)
    };
    let domain = int_option(libc::SO_DOMAIN)?;
    let ty = int_option(libc::SO_TYPE)?;
    match (domain, ty) {
        (libc::AF_UNIX, _) => Some(Proto::Unix),
        (libc::AF_INET | libc::AF_INET6, libc::SOCK_STREAM) => Some(Proto::Tcp),
        (libc::AF_INET | libc::AF_INET6, libc::SOCK_DGRAM) => Some(Proto::Udp),
        _ => None,
    }
}

type NameCall =
    unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;

/// `getsockname` or `getpeername` of `fd`, when it is an IP address.
fn name_of(fd: i32, call: NameCall) -> Option<SocketAddr> {
    // SAFETY: sockaddr_storage is plain bytes; zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: storage and len are valid for the kernel to write.
    let r = unsafe {
        call(
            fd,
            (&mut storage as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return None;
    }
    // SAFETY: the kernel wrote `len` bytes of a sockaddr into storage.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&storage as *const libc::sockaddr_storage).cast::<u8>(),
            (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>()),
        )
    };
    super::syscalls::parse_sockaddr(bytes)?.inet()
}

/// The process `pid`'s thread group id (its "process id" as `ps` shows
/// it; `pid` may be a thread).
pub fn tgid_of(pid: Pid) -> Option<Pid> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
        .map(Pid::from_raw)
}

/// The command name of a process (`/proc/PID/comm`: at most 15 bytes).
pub fn comm_of(pid: Pid) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_of_this_process_is_described_by_the_kernel() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let me = std::process::id() as i32;
        let fd = listener.as_raw_fd();
        let mut sockets = Sockets::default();
        let inode = sockets.born(me, fd).expect("a socket");
        sockets.refresh(me, fd, inode);
        let s = sockets.get(inode);
        assert_eq!(s.proto, Some(Proto::Tcp));
        assert_eq!(s.local, listener.local_addr().ok());
        assert_eq!(s.peer, None);
        // Standard input is not a socket (a terminal, a pipe or /dev/null).
        let file = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(sockets.lookup(me, file.as_raw_fd()), None);
    }
}
