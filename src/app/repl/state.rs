//! `state` and `help` in `lab repl`: what the kernel's socket tables say
//! about the session's sockets, and the calls the REPL takes.

use crate::repl::translate::{Address, Value, Vars};
use crate::trace::Proto;

/// `state`: each socket's TCP state and queues, as the kernel's socket
/// tables report them (the numbers `ss` shows: SIOCINQ and SIOCOUTQ; for a
/// listening socket, the connections waiting in its accept queue and the
/// backlog `listen` asked for).
pub(super) fn state(vars: &Vars, backlog: &std::collections::BTreeMap<String, i64>) -> String {
    let mut lines = Vec::new();
    let tables = [("tcp", "/proc/net/tcp"), ("udp", "/proc/net/udp")];
    let rows: Vec<(&str, crate::runner::TcpRow)> = tables
        .iter()
        .flat_map(|(kind, path)| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            crate::runner::parse_proc_tcp(&text)
                .into_iter()
                .map(move |r| (*kind, r))
        })
        .collect();
    for (name, value) in &vars.names {
        let Value::Socket(proto) = value else {
            continue;
        };
        let local = match vars.local.get(name) {
            Some(Address::Inet(local)) => *local,
            // AF_UNIX: the kernel's table is /proc/net/unix, keyed by
            // inode; the path is what a learner knows.
            Some(Address::Path(path)) => {
                lines.push(format!("{name:<8} unix bound to {path}"));
                continue;
            }
            None => {
                lines.push(format!("{name:<8} {}: not bound yet", proto.name()));
                continue;
            }
        };
        let peer = vars.peer.get(name);
        let kind = if *proto == Proto::Udp { "udp" } else { "tcp" };
        let row = rows.iter().find(|(k, r)| {
            *k == kind
                && r.local.port() == local.port()
                && peer.is_none_or(|p| matches!(p, Address::Inet(p) if *p == r.remote))
        });
        match row {
            None => lines.push(format!("{name:<8} {kind} {local}: gone from the kernel's table (closed)")),
            Some((_, r)) if r.state == "LISTEN" => lines.push(format!(
                "{name:<8} {kind} {local} LISTEN  {} connection(s) waiting for accept (backlog {})",
                r.rx_queue,
                backlog.get(name).map_or("?".to_string(), |b| b.to_string())
            )),
            Some((_, r)) => lines.push(format!(
                "{name:<8} {kind} {local} -> {} {}  unread {} B (recv-Q), unacknowledged {} B (send-Q)",
                r.remote, r.state, r.rx_queue, r.tx_queue
            )),
        }
    }
    if lines.is_empty() {
        "no sockets yet".into()
    } else {
        lines.join("\n")
    }
}

/// `help`, or `help NAME` for one call.
pub(super) fn help(topic: Option<&str>) -> String {
    const CALLS: &[(&str, &str)] = &[
        (
            "socket",
            "s = socket(AF_INET, SOCK_STREAM)   a TCP socket (SOCK_DGRAM: UDP; AF_UNIX: a local stream)",
        ),
        (
            "bind",
            "s.bind(('127.0.0.1', 0))           give it an address; port 0 lets the kernel pick",
        ),
        (
            "listen",
            "s.listen(5)                        accept connections; 5 is the accept queue's backlog",
        ),
        (
            "accept",
            "conn, addr = s.accept()            take the next connection off the queue (blocks while it is empty)",
        ),
        (
            "connect",
            "c.connect(s.getsockname())         the three-way handshake; or c.connect(('127.0.0.1', 8080))",
        ),
        (
            "connect_ex",
            "err = c.connect_ex(addr)           connect, returning 0 or an errno number instead of raising",
        ),
        (
            "send",
            "c.send(b'hello')                   copy bytes into the send buffer; returns how many it took",
        ),
        (
            "sendall",
            "c.sendall(b'hello')                send until every byte is taken",
        ),
        (
            "recv",
            "conn.recv(1024)                    up to 1024 bytes (blocks while the buffer is empty); b'' when the peer closed",
        ),
        (
            "sendto",
            "u.sendto(b'hi', ('127.0.0.1', 9000))  one UDP datagram to an address",
        ),
        (
            "recvfrom",
            "data, addr = u.recvfrom(1024)      one datagram and its sender",
        ),
        (
            "setsockopt",
            "s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)   also SO_LINGER, SO_RCVBUF, SO_SNDBUF, TCP_NODELAY, TCP_CORK",
        ),
        (
            "getsockopt",
            "s.getsockopt(SOL_SOCKET, SO_RCVBUF)   read an option back (the kernel doubles buffer sizes)",
        ),
        (
            "setblocking",
            "s.setblocking(False)               calls return EAGAIN instead of waiting",
        ),
        (
            "settimeout",
            "s.settimeout(2.5)                  a call waits at most 2.5 s (None: as long as it takes)",
        ),
        (
            "shutdown",
            "c.shutdown(SHUT_WR)                send FIN: no more sending, reading goes on",
        ),
        (
            "close",
            "c.close()                          let the socket go (FIN, or RST if unread data is left)",
        ),
        (
            "getsockname",
            "s.getsockname()                    the socket's own address",
        ),
        (
            "getpeername",
            "conn.getpeername()                 the address of the other end",
        ),
    ];
    const COMMANDS: &str = "map: which bytes rode in which packet so far · state: each socket's TCP state and queues · save FILE: the session as a lab file · help NAME · Ctrl-C: give up a blocking call · Ctrl-D: close everything and leave";
    match topic {
        Some(t) => match CALLS.iter().find(|(name, _)| *name == t) {
            Some((_, text)) => text.to_string(),
            None => format!("no call `{t}`; `help` lists them"),
        },
        None => {
            let mut out = String::from("The course's socket calls, as Python writes them:\n");
            for (_, text) in CALLS {
                out.push_str("  ");
                out.push_str(text);
                out.push('\n');
            }
            out.push_str(COMMANDS);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_table_gives_state_and_queues() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n   \
0: 0100007F:1F90 00000000:0000 0A 00000005:00000001 00:00000000 00000000     0\n   \
1: 0100007F:A2C4 0100007F:1F90 01 00000000:00000009 00:00000000 00000000     0\n";
        let rows = crate::runner::parse_proc_tcp(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].state, "LISTEN");
        assert_eq!((rows[0].rx_queue, rows[0].tx_queue), (1, 5));
        assert_eq!(rows[1].state, "ESTABLISHED");
        assert_eq!(rows[1].rx_queue, 9);
        assert_eq!(rows[1].remote.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn help_names_every_call_the_repl_takes() {
        let all = help(None);
        for m in [
            "socket",
            "bind",
            "accept",
            "recv",
            "sendto",
            "setsockopt",
            "settimeout",
            "shutdown",
        ] {
            assert!(all.contains(m), "{m}");
        }
        assert!(help(Some("recv")).contains("b''"));
        assert!(help(Some("recieve")).contains("no call"));
    }
}
