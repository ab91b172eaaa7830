//! Arguments in a learner's words: `AF_INET, SOCK_STREAM`, `SHUT_WR`,
//! `SO_REUSEADDR=1`, as C and Python spell them, instead of the numbers
//! the kernel sees.

/// `socket(AF_INET, SOCK_STREAM, 0)`'s first two arguments as words.
pub fn socket_args(domain: u64, ty: u64) -> String {
    let domain = match domain as i32 {
        libc::AF_INET => "AF_INET".to_string(),
        libc::AF_INET6 => "AF_INET6".to_string(),
        libc::AF_UNIX => "AF_UNIX".to_string(),
        libc::AF_NETLINK => "AF_NETLINK".to_string(),
        libc::AF_PACKET => "AF_PACKET".to_string(),
        n => format!("family {n}"),
    };
    // The type may carry flags: SOCK_NONBLOCK, SOCK_CLOEXEC.
    let ty = ty as i32;
    let mut text = match ty & 0xf {
        libc::SOCK_STREAM => "SOCK_STREAM".to_string(),
        libc::SOCK_DGRAM => "SOCK_DGRAM".to_string(),
        libc::SOCK_RAW => "SOCK_RAW".to_string(),
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET".to_string(),
        n => format!("type {n}"),
    };
    if ty & libc::SOCK_NONBLOCK != 0 {
        text.push_str("|SOCK_NONBLOCK");
    }
    if ty & libc::SOCK_CLOEXEC != 0 {
        text.push_str("|SOCK_CLOEXEC");
    }
    format!("{domain}, {text}")
}

/// `shutdown`'s second argument.
pub fn shutdown_how(how: u64) -> String {
    match how as i32 {
        libc::SHUT_RD => "SHUT_RD".into(),
        libc::SHUT_WR => "SHUT_WR".into(),
        libc::SHUT_RDWR => "SHUT_RDWR".into(),
        n => format!("how={n}"),
    }
}

/// The flags of a send or receive (`MSG_PEEK`, ...), or `None` for none.
pub fn msg_flags(flags: u64) -> Option<String> {
    let flags = flags as i32;
    let known = [
        (libc::MSG_PEEK, "MSG_PEEK"),
        (libc::MSG_WAITALL, "MSG_WAITALL"),
        (libc::MSG_DONTWAIT, "MSG_DONTWAIT"),
        (libc::MSG_OOB, "MSG_OOB"),
        (libc::MSG_TRUNC, "MSG_TRUNC"),
        (libc::MSG_MORE, "MSG_MORE"),
        (libc::MSG_NOSIGNAL, "MSG_NOSIGNAL"),
    ];
    let mut names: Vec<String> = known
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| name.to_string())
        .collect();
    let rest = known.iter().fold(flags, |f, (bit, _)| f & !bit);
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    (!names.is_empty()).then(|| names.join("|"))
}

/// The name of a socket option, as C and Python spell it.
pub fn option_name(level: i32, name: i32) -> String {
    let known = match (level, name) {
        (libc::SOL_SOCKET, libc::SO_REUSEADDR) => "SO_REUSEADDR",
        (libc::SOL_SOCKET, libc::SO_REUSEPORT) => "SO_REUSEPORT",
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => "SO_KEEPALIVE",
        (libc::SOL_SOCKET, libc::SO_BROADCAST) => "SO_BROADCAST",
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => "SO_SNDBUF",
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => "SO_RCVBUF",
        (libc::SOL_SOCKET, libc::SO_LINGER) => "SO_LINGER",
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => "SO_RCVTIMEO",
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => "SO_SNDTIMEO",
        (libc::SOL_SOCKET, libc::SO_ERROR) => "SO_ERROR",
        (libc::SOL_SOCKET, libc::SO_TYPE) => "SO_TYPE",
        (libc::SOL_SOCKET, libc::SO_DOMAIN) => "SO_DOMAIN",
        (libc::SOL_SOCKET, libc::SO_PROTOCOL) => "SO_PROTOCOL",
        (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => "SO_ACCEPTCONN",
        (libc::IPPROTO_TCP, libc::TCP_NODELAY) => "TCP_NODELAY",
        (libc::IPPROTO_TCP, libc::TCP_MAXSEG) => "TCP_MAXSEG",
        (libc::IPPROTO_TCP, libc::TCP_CORK) => "TCP_CORK",
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) => "TCP_KEEPIDLE",
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) => "TCP_KEEPINTVL",
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) => "TCP_KEEPCNT",
        (libc::IPPROTO_TCP, libc::TCP_INFO) => "TCP_INFO",
        (libc::IPPROTO_TCP, libc::TCP_QUICKACK) => "TCP_QUICKACK",
        (libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT) => "TCP_USER_TIMEOUT",
        (libc::IPPROTO_IP, libc::IP_TOS) => "IP_TOS",
        (libc::IPPROTO_IP, libc::IP_TTL) => "IP_TTL",
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) => "IPV6_V6ONLY",
        _ => return format!("level {level} option {name}"),
    };
    known.to_string()
}

/// An option's value as its bytes say: an int, a `struct linger`, a
/// `struct timeval`, or a byte count.
pub fn option_value(name: i32, raw: &[u8]) -> String {
    let int = |o: usize| {
        raw.get(o..o + 4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_le_bytes)
    };
    match (name, raw.len()) {
        (libc::SO_LINGER, 8) => match (int(0), int(4)) {
            (Some(0), _) => "off".into(),
            (Some(_), Some(s)) => format!("on, {s} s"),
            _ => "?".into(),
        },
        (libc::SO_RCVTIMEO | libc::SO_SNDTIMEO, 16) => {
            let sec = i64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
            let usec = i64::from_le_bytes(raw[8..].try_into().expect("8 bytes"));
            format!("{} ms", sec * 1000 + usec / 1000)
        }
        (_, 4) => int(0).map_or("?".into(), |v| v.to_string()),
        (_, n) => format!("<{n} bytes>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_flags_have_their_names() {
        assert_eq!(option_name(1, 2), "SO_REUSEADDR");
        assert_eq!(option_value(libc::SO_REUSEADDR, &1i32.to_le_bytes()), "1");
        assert_eq!(
            socket_args(2, 1 | 0o4000),
            "AF_INET, SOCK_STREAM|SOCK_NONBLOCK"
        );
        assert_eq!(shutdown_how(1), "SHUT_WR");
        assert_eq!(msg_flags(0), None);
        assert_eq!(
            msg_flags((libc::MSG_PEEK | libc::MSG_DONTWAIT) as u64).as_deref(),
            Some("MSG_PEEK|MSG_DONTWAIT")
        );
    }
}
