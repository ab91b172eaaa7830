//! Steps that look at the kernel's state instead of moving bytes: the TCP
//! socket table (`netstat`), a socket option's value, the MTU of `lo`.
//! Each is recorded as a call, so expectations can check what it saw.

use std::net::{Ipv4Addr, SocketAddr};

use super::{Actor, StepFailed, StepResult};
use crate::catalog::step::{GetOptionStep, NetstatStep, SockOpt};
use crate::expr::Value;
use crate::trace::{Call, Op};

/// TCP states as numbered in `include/net/tcp_states.h`.
const TCP_STATES: [&str; 13] = [
    "?",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
];

/// One row of the kernel's TCP (or UDP) socket table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRow {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: &'static str,
    /// Bytes sent and not yet acknowledged (send-Q).
    pub tx_queue: u64,
    /// Bytes received and not yet read (recv-Q); for a listening socket,
    /// the connections waiting in its accept queue.
    pub rx_queue: u64,
}

impl std::fmt::Display for TcpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {} {}", self.local, self.remote, self.state)
    }
}

/// Parses `/proc/net/tcp` (or `/proc/net/udp`) text: `sl local_address
/// rem_address st tx_queue:rx_queue ...`, addresses as `0100007F:1F90`
/// (the IPv4 address in host byte order), numbers in hex.
pub fn parse_proc_tcp(text: &str) -> Vec<TcpRow> {
    fn addr(field: &str) -> Option<SocketAddr> {
        let (ip, port) = field.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?;
        let port = u16::from_str_radix(port, 16).ok()?;
        // The kernel prints the address's 4 bytes as one host-order word.
        Some(SocketAddr::from((Ipv4Addr::from(ip.to_ne_bytes()), port)))
    }
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let state = usize::from_str_radix(f.get(3)?, 16).ok()?;
            let (tx, rx) = f.get(4)?.split_once(':')?;
            Some(TcpRow {
                local: addr(f.get(1)?)?,
                remote: addr(f.get(2)?)?,
                state: TCP_STATES.get(state).copied().unwrap_or("?"),
                tx_queue: u64::from_str_radix(tx, 16).ok()?,
                rx_queue: u64::from_str_radix(rx, 16).ok()?,
            })
        })
        .collect()
}

impl Actor<'_> {
    /// Saves `<sock>_port`, the local port of every socket that has one,
    /// and `<sock>_peer_port`, the port it is connected to, for templates
    /// such as `addr = "127.0.0.1:${srv_port}"`.
    pub(super) fn save_ports(&mut self) {
        let ports: Vec<(String, i64)> = self
            .sockets
            .iter()
            .flat_map(|(name, s)| {
                let local = s
                    .local()
                    .map(|a| (format!("{name}_port"), i64::from(a.port())));
                let peer = s
                    .peer()
                    .map(|a| (format!("{name}_peer_port"), i64::from(a.port())));
                local.into_iter().chain(peer)
            })
            .filter(|(_, port)| *port != 0)
            .collect();
        for (name, port) in ports {
            self.scope.insert(name.clone(), Value::Int(port));
            self.saved.insert(name, Value::Int(port));
        }
    }

    /// `netstat`: the TCP sockets of this network namespace that use
    /// `port`, one per line, like `ss -tan` would list them.
    pub(super) fn netstat(&mut self, s: &NetstatStep) -> StepResult {
        let port = self.int(&s.port)?;
        let peer = match &s.peer_port {
            Some(t) => Some(t.int(&self.scope)?),
            None => None,
        };
        let mut call = Call::new(self.clock.now_us(), &self.name, Op::Netstat);
        call.args = match peer {
            Some(p) => format!("port {port} ⇄ port {p}"),
            None => format!("port {port}"),
        };
        // thread-self: the table of this thread's network namespace, which
        // may be the lab's private one.
        let text = std::fs::read_to_string("/proc/thread-self/net/tcp")
            .map_err(|e| StepFailed(format!("cannot read the TCP table: {e}")))?;
        let rows: Vec<String> = parse_proc_tcp(&text)
            .into_iter()
            .filter(|r| {
                let (a, b) = (i64::from(r.local.port()), i64::from(r.remote.port()));
                match peer {
                    // One connection: its two ports, either way round.
                    Some(p) => (a, b) == (port, p) || (a, b) == (p, port),
                    None => a == port || b == port,
                }
            })
            .map(|r| r.to_string())
            .collect();
        call.returned = Some(rows.len() as i64);
        call.data = Some(rows.join("\n").into_bytes());
        call.waited_us = self.clock.now_us().saturating_sub(call.t_us);
        self.save(s.save.as_deref(), call.returned);
        self.emit(call);
        Ok(())
    }

    /// `get_option`: read a socket option back (`TCP_MAXSEG`, `SO_SNDBUF`,
    /// `SO_RCVBUF`).
    pub(super) fn get_option(&mut self, s: &GetOptionStep) -> StepResult {
        let on = s.on.as_str();
        let option = s.option;
        let mut call = self.begin(Op::GetOption, on);
        call.args = option.to_string();
        let sock = &self.sock(on)?.socket;
        let result = match option {
            SockOpt::TcpMaxseg => sock.tcp_mss().map(i64::from),
            SockOpt::SoSndbuf => sock.send_buffer_size().map(|n| n as i64),
            SockOpt::SoRcvbuf => sock.recv_buffer_size().map(|n| n as i64),
            SockOpt::TcpNodelay => sock.tcp_nodelay().map(i64::from),
            SockOpt::TcpCork => sock.tcp_cork().map(i64::from),
            SockOpt::TcpQuickack => sock.tcp_quickack().map(i64::from),
            SockOpt::SoReuseaddr => sock.reuse_address().map(i64::from),
            SockOpt::SoReuseport => sock.reuse_port().map(i64::from),
            SockOpt::SoKeepalive => sock.keepalive().map(i64::from),
            // Python's getsockopt gives the raw struct; we give l_onoff
            // and l_linger as one number: the seconds, or -1 when off.
            SockOpt::SoLinger => sock.linger().map(|l| l.map_or(-1, |d| d.as_secs() as i64)),
        };
        let call = self.finish(call, result.as_ref().copied(), on);
        self.save(s.save.as_deref(), call.returned);
        Ok(())
    }

    /// `lo_mtu`: the MTU of `lo` as this lab sees it.
    pub(super) fn lo_mtu(&mut self, save: Option<&str>) -> StepResult {
        let mut call = Call::new(self.clock.now_us(), &self.name, Op::LoMtu);
        match crate::netns::lo_mtu() {
            Ok(mtu) => call.returned = Some(i64::from(mtu)),
            Err(e) => call.error = Some(crate::runner::errno_name(&e)),
        }
        self.save(save, call.returned);
        self.emit(call);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernel_table_format() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue\n   \
0: 0100007F:1F90 0100007F:A2C4 06 00000000:00000000 03:00001770 00000000\n";
        let rows = parse_proc_tcp(text);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].to_string(),
            "127.0.0.1:8080 -> 127.0.0.1:41668 TIME_WAIT"
        );
    }
}
