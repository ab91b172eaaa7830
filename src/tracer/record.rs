//! From a finished system call to the [`Call`] records a lab run would
//! have made: the op a learner knows, arguments in words, the bytes moved,
//! the socket's addresses and the stream offsets of its bytes.

use nix::unistd::Pid;

use super::sockets::Sockets;
use super::syscalls::{self, Address, Regs, Syscall, read_memory};
use super::words;
use crate::escape::PREVIEW_BYTES;
use crate::runner::errno;
use crate::trace::{Call, Op, Proto};

/// Who made a call: the thread, its process, and the actor name shown.
#[derive(Debug, Clone)]
pub struct Who {
    pub tgid: Pid,
    pub tid: Pid,
    pub comm: String,
    pub actor: String,
}

/// The op a call is shown as. Where a lab has the same call, its op:
/// `sendto` without an address is what C's and Python's `send` compile to
/// on Linux, so it is a `send`; `accept4` is an `accept`. The calls labs
/// never make keep their own ops (`write`, `sendmsg`, ...). The real
/// system call's name is kept in [`Call::syscall`] either way.
pub fn op_of(syscall: Syscall, regs: &Regs) -> Option<Op> {
    use Syscall as S;
    Some(match syscall {
        S::Socket => Op::Socket,
        S::SocketPair => Op::SocketPair,
        S::Bind => Op::Bind,
        S::Listen => Op::Listen,
        S::Accept | S::Accept4 => Op::Accept,
        S::Connect => Op::Connect,
        S::SendTo if regs.args[4] == 0 => Op::Send,
        S::SendTo => Op::SendTo,
        S::RecvFrom if regs.args[4] == 0 => Op::Recv,
        S::RecvFrom => Op::RecvFrom,
        S::SendMsg => Op::SendMsg,
        S::RecvMsg => Op::RecvMsg,
        S::SendMmsg => Op::SendMmsg,
        S::RecvMmsg => Op::RecvMmsg,
        S::Shutdown => Op::Shutdown,
        S::SetSockOpt => Op::SetOption,
        S::GetSockOpt => Op::GetOption,
        S::GetSockName => Op::GetSockName,
        S::GetPeerName => Op::GetPeerName,
        S::Read => Op::Read,
        S::Write => Op::Write,
        S::ReadV => Op::ReadV,
        S::WriteV => Op::WriteV,
        S::SendFile => Op::SendFile,
        S::Close => Op::Close,
        // Only bookkeeping: the descriptor they overwrite is forgotten.
        S::Dup2 | S::Dup3 | S::CloseRange => return None,
    })
}

/// The records of one call that returned: one, or one per message for
/// `sendmmsg` and `recvmmsg`. `inode` is the socket the call's descriptor
/// named at entry.
pub fn finish(
    who: &Who,
    syscall: Syscall,
    t_us: u64,
    waited_us: u64,
    regs: &Regs,
    inode: Option<u64>,
    sockets: &mut Sockets,
) -> Vec<Call> {
    let Some(op) = op_of(syscall, regs) else {
        return Vec::new();
    };
    let pid = who.tgid;
    let a = regs.args;
    let fd = regs.fd();
    let mut call = Call::new(t_us, &who.actor, op);
    call.waited_us = waited_us;
    call.pid = Some(who.tgid.as_raw() as u32);
    call.tid = Some(who.tid.as_raw() as u32);
    call.comm = Some(who.comm.clone());
    if syscall.name() != op.name() {
        call.syscall = Some(syscall.name());
    }
    let result = regs.result();
    match result {
        Ok(n) => call.returned = Some(n),
        Err(e) => call.error = Some(errno::name(&std::io::Error::from_raw_os_error(e))),
    }
    let ok = result.is_ok();
    let moved = result.unwrap_or(0).max(0) as usize;
    // The socket the call acts on: its descriptor, or the new one.
    let mut target = (fd, inode);
    // The address a datagram went to or came from.
    let mut msg_peer: Option<Address> = None;

    match syscall {
        Syscall::Socket => {
            call.args = words::socket_args(a[0], a[1]);
            target = (-1, None);
            if let Ok(n) = result {
                let new = n as i32;
                target = (new, sockets.born(pid.as_raw(), new));
            }
        }
        Syscall::SocketPair => {
            call.args = words::socket_args(a[0], a[1]);
            target = (-1, None);
            if ok && let Some(raw) = read_memory(pid, a[3], 8) {
                let fds = [0, 4].map(|o| i32::from_le_bytes(raw[o..o + 4].try_into().expect("4")));
                for f in fds {
                    sockets.born(pid.as_raw(), f);
                }
                call.args
                    .push_str(&format!(" -> fd{}, fd{}", fds[0], fds[1]));
                target = (fds[0], sockets.lookup(pid.as_raw(), fds[0]));
            }
        }
        Syscall::Bind | Syscall::Connect => {
            if let Some(addr) = syscalls::read_sockaddr(pid, a[1], a[2]) {
                call.args = addr.text();
            }
        }
        Syscall::Listen => call.args = format!("backlog={}", a[1] as i32),
        Syscall::Accept | Syscall::Accept4 => {
            if let Ok(n) = result {
                let new = n as i32;
                call.args = format!("-> fd{new}");
                target = (new, sockets.born(pid.as_raw(), new));
            }
        }
        Syscall::SendTo | Syscall::Write | Syscall::RecvFrom | Syscall::Read => {
            call.len = Some(a[2] as usize);
            if ok {
                call.data = read_memory(pid, a[1], moved.min(PREVIEW_BYTES));
            }
            if op == Op::SendTo {
                msg_peer = syscalls::read_sockaddr(pid, a[4], a[5]);
                call.args = msg_peer.as_ref().map(Address::text).unwrap_or_default();
            }
            if op == Op::RecvFrom && ok {
                let len = syscalls::read_u32(pid, a[5]).unwrap_or(0);
                msg_peer = syscalls::read_sockaddr(pid, a[4], u64::from(len));
                if let Some(from) = &msg_peer {
                    call.args = format!("from {}", from.text());
                }
            }
        }
        Syscall::ReadV | Syscall::WriteV => {
            let iov = syscalls::read_iovecs(pid, a[1], a[2]);
            call.len = Some(iov.iter().map(|v| v.1 as usize).sum());
            if ok {
                call.data = Some(syscalls::gather(pid, &iov, moved, PREVIEW_BYTES));
            }
        }
        Syscall::SendMsg | Syscall::RecvMsg => {
            if let Some(m) = syscalls::read_msghdr(pid, a[1]) {
                call.len = Some(m.iovecs.iter().map(|v| v.1 as usize).sum());
                if ok {
                    call.data = Some(syscalls::gather(pid, &m.iovecs, moved, PREVIEW_BYTES));
                    msg_peer = syscalls::read_sockaddr(pid, m.name, u64::from(m.name_len));
                    if syscall == Syscall::RecvMsg && m.flags & libc::MSG_TRUNC != 0 {
                        call.truncated = Some(true);
                    }
                }
                if let Some(p) = &msg_peer {
                    let word = if syscall == Syscall::SendMsg {
                        "to"
                    } else {
                        "from"
                    };
                    call.args = format!("{word} {}", p.text());
                }
            }
        }
        Syscall::SendMmsg | Syscall::RecvMmsg => {
            return messages(call, syscall, regs, inode, sockets);
        }
        Syscall::SendFile => {
            call.len = Some(a[3] as usize);
            call.args = format!("from fd{}", a[1] as i32);
        }
        Syscall::Shutdown => call.args = words::shutdown_how(a[1]),
        Syscall::SetSockOpt => {
            let (level, name) = (a[1] as i32, a[2] as i32);
            let value = read_memory(pid, a[3], (a[4] as usize).min(64)).unwrap_or_default();
            call.args = format!(
                "{}={}",
                words::option_name(level, name),
                words::option_value(name, &value)
            );
        }
        Syscall::GetSockOpt => {
            let (level, name) = (a[1] as i32, a[2] as i32);
            call.args = words::option_name(level, name);
            if ok {
                let len = syscalls::read_u32(pid, a[4]).unwrap_or(0) as usize;
                let value = read_memory(pid, a[3], len.min(64)).unwrap_or_default();
                call.args = format!("{}={}", call.args, words::option_value(name, &value));
            }
        }
        Syscall::GetSockName | Syscall::GetPeerName => {
            if ok {
                let len = syscalls::read_u32(pid, a[2]).unwrap_or(0);
                if let Some(addr) = syscalls::read_sockaddr(pid, a[1], u64::from(len)) {
                    call.args = format!("-> {}", addr.text());
                }
            }
        }
        Syscall::Close | Syscall::Dup2 | Syscall::Dup3 | Syscall::CloseRange => {}
    }
    // Flags that change what a send or receive does, in words.
    let flags = match syscall {
        Syscall::SendTo | Syscall::RecvFrom => Some(a[3]),
        Syscall::SendMsg | Syscall::RecvMsg => Some(a[2]),
        _ => None,
    };
    if let Some(words) = flags.and_then(words::msg_flags) {
        call.args = match call.args.is_empty() {
            true => words,
            false => format!("{}, {words}", call.args),
        };
    }

    let (fd, inode) = target;
    if fd >= 0 {
        call.fd = Some(fd);
        call.sock = Some(format!("fd{fd}"));
    }
    if let Some(inode) = inode {
        describe(
            &mut call,
            syscall,
            fd,
            inode,
            msg_peer.as_ref(),
            sockets,
            pid,
            peeks(syscall, regs),
        );
    }
    if syscall == Syscall::SocketPair {
        // Both new descriptors are in its arguments already.
        call.sock = None;
    }
    if matches!(op, Op::Accept) {
        // Shown on the listener it was called on; addresses are the new
        // connection's (as in a lab run).
        call.fd = Some(regs.fd());
        call.sock = Some(format!("fd{}", regs.fd()));
    }
    if syscall == Syscall::Close {
        sockets.forget_fd(pid.as_raw(), fd);
    }
    vec![call]
}

/// Whether a receive only looked (`MSG_PEEK`): the bytes stay in the
/// socket for the next receive, which returns them again.
fn peeks(syscall: Syscall, regs: &Regs) -> bool {
    let flags = match syscall {
        Syscall::RecvFrom | Syscall::RecvMmsg => regs.args[3],
        Syscall::RecvMsg => regs.args[2],
        _ => 0,
    };
    flags as i32 & libc::MSG_PEEK != 0
}

/// Fills in the socket's protocol and addresses, and the call's stream
/// offsets, from what the kernel says about the socket.
#[allow(clippy::too_many_arguments)]
fn describe(
    call: &mut Call,
    syscall: Syscall,
    fd: i32,
    inode: u64,
    msg_peer: Option<&Address>,
    sockets: &mut Sockets,
    pid: Pid,
    peek: bool,
) {
    let ok = call.error.is_none();
    let s = sockets.get(inode);
    // Ask the kernel again when the call may have changed the addresses
    // (an implicit bind, a connect) or when they are not known yet.
    let inet = matches!(s.proto, Some(Proto::Tcp | Proto::Udp));
    let stale = !s.described
        || (inet && s.local.is_none_or(|l| l.port() == 0))
        || (s.proto == Some(Proto::Tcp) && s.peer.is_none() && syscall != Syscall::Close)
        || matches!(
            syscall,
            Syscall::Bind | Syscall::Listen | Syscall::Connect | Syscall::Accept | Syscall::Accept4
        );
    if stale && syscall != Syscall::Close && fd >= 0 {
        sockets.refresh(pid.as_raw(), fd, inode);
    }
    let s = sockets.get(inode);
    call.proto = s.proto;
    call.local = s.local;
    call.peer = msg_peer.and_then(Address::inet).or(s.peer);
    // Stream offsets: bytes counted per socket and direction, from the
    // connection's first byte, as the capture counts them.
    if ok && s.proto == Some(Proto::Tcp) && s.from_start {
        let n = call.returned.unwrap_or(0).max(0) as u64;
        if call.op.is_send() {
            call.stream = Some((s.sent, s.sent + n));
            s.sent += n;
        } else if call.op.is_recv() {
            call.stream = Some((s.received, s.received + n));
            if !peek {
                s.received += n;
            }
        }
    }
}

/// `sendmmsg` / `recvmmsg`: one record per message the call moved, each
/// with its own length, bytes and address.
fn messages(
    base: Call,
    syscall: Syscall,
    regs: &Regs,
    inode: Option<u64>,
    sockets: &mut Sockets,
) -> Vec<Call> {
    let pid = Pid::from_raw(base.pid.unwrap_or(0) as i32);
    let fd = regs.fd();
    let mut base = base;
    base.fd = Some(fd);
    base.sock = Some(format!("fd{fd}"));
    let Ok(count) = regs.result() else {
        if let Some(inode) = inode {
            describe(&mut base, syscall, fd, inode, None, sockets, pid, false);
        }
        return vec![base];
    };
    // struct mmsghdr: a msghdr (56 bytes), then the length moved (4),
    // padded to 64.
    let mut out = Vec::new();
    for i in 0..count.max(0) as u64 {
        let at = regs.args[1] + i * 64;
        let Some(m) = syscalls::read_msghdr(pid, at) else {
            break;
        };
        let moved = syscalls::read_u32(pid, at + 56).unwrap_or(0) as usize;
        let mut c = base.clone();
        c.returned = Some(moved as i64);
        c.len = Some(m.iovecs.iter().map(|v| v.1 as usize).sum());
        c.data = Some(syscalls::gather(pid, &m.iovecs, moved, PREVIEW_BYTES));
        let peer = syscalls::read_sockaddr(pid, m.name, u64::from(m.name_len));
        if let Some(p) = &peer {
            let word = if syscall == Syscall::SendMmsg {
                "to"
            } else {
                "from"
            };
            c.args = format!("{word} {} (message {} of {count})", p.text(), i + 1);
        } else {
            c.args = format!("message {} of {count}", i + 1);
        }
        if let Some(inode) = inode {
            describe(
                &mut c,
                syscall,
                fd,
                inode,
                peer.as_ref(),
                sockets,
                pid,
                peeks(syscall, regs),
            );
        }
        out.push(c);
    }
    out
}
