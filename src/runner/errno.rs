//! errno names, as learners see them in man pages and Python exceptions.

use std::io;

/// The symbolic name of an OS error (`ECONNRESET`), or a description when
/// the error did not come from the kernel.
pub fn name(err: &io::Error) -> String {
    let Some(code) = err.raw_os_error() else {
        return err.to_string();
    };
    let known = match code {
        libc::EAGAIN => "EAGAIN",
        libc::ECONNRESET => "ECONNRESET",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EPIPE => "EPIPE",
        libc::ENOTCONN => "ENOTCONN",
        libc::EISCONN => "EISCONN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EINPROGRESS => "EINPROGRESS",
        libc::EALREADY => "EALREADY",
        libc::EINVAL => "EINVAL",
        libc::EBADF => "EBADF",
        libc::EINTR => "EINTR",
        libc::ENOBUFS => "ENOBUFS",
        libc::EACCES => "EACCES",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EEXIST => "EEXIST",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EDESTADDRREQ => "EDESTADDRREQ",
        libc::ESHUTDOWN => "ESHUTDOWN",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ENETUNREACH => "ENETUNREACH",
        _ => return format!("errno {code}"),
    };
    known.to_string()
}

/// One line on what an error means to the program that got it, in a
/// learner's words: what `lab repl` prints under a failed call.
pub fn meaning(name: &str) -> Option<&'static str> {
    Some(match name {
        "EAGAIN" => {
            "nothing to do yet: the call would have to wait (non-blocking), or its timeout ran out"
        }
        "ECONNRESET" => {
            "the peer reset the connection (RST): it closed with unread data, or with SO_LINGER 0"
        }
        "ECONNREFUSED" => "nothing is listening there: the kernel answered the SYN with RST",
        "ECONNABORTED" => "the connection ended before accept took it",
        "EADDRINUSE" => {
            "another socket has that address, or a connection on it is still in TIME_WAIT (SO_REUSEADDR)"
        }
        "EADDRNOTAVAIL" => "that address is not one of this machine's",
        "EMSGSIZE" => "the datagram is larger than UDP can carry (65,507 bytes over IPv4)",
        "EPIPE" => "the peer closed and this side may write no more (Python: BrokenPipeError)",
        "ENOTCONN" => "the socket is not connected: connect first (or use sendto on UDP)",
        "EISCONN" => "the socket is connected already",
        "ETIMEDOUT" => "the other side never answered in time",
        "EINPROGRESS" => {
            "a non-blocking connect has started; the socket becomes writable when it ends"
        }
        "EALREADY" => "a connect is already in progress on this socket",
        "EINVAL" => {
            "an argument does not fit this socket in its state (listen before bind on AF_UNIX, ...)"
        }
        "EBADF" => "the socket is closed: its descriptor no longer names anything",
        "EINTR" => "the call was given up before it finished (Ctrl-C, or the session ended)",
        "ENOTSOCK" => "that descriptor is not a socket",
        "EOPNOTSUPP" => "this kind of socket cannot do that (listen on UDP, ...)",
        "EDESTADDRREQ" => "a UDP socket needs an address: use sendto, or connect it first",
        "ESHUTDOWN" => "this side was shut down for writing",
        "EHOSTUNREACH" | "ENETUNREACH" => "no route to that address",
        "ENOENT" => "no such file: nothing is bound at that path",
        "EACCES" | "EPERM" => "not allowed (a port under 1024 needs privilege)",
        _ => return None,
    })
}

/// The errno number a name stands for, as `connect_ex` returns it.
pub fn number(name: &str) -> Option<i32> {
    (1..135).find(|&code| self::name(&io::Error::from_raw_os_error(code)) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meanings_and_numbers_of_common_errors() {
        assert_eq!(number("ECONNREFUSED"), Some(libc::ECONNREFUSED));
        assert!(
            meaning("ECONNREFUSED")
                .unwrap()
                .contains("nothing is listening")
        );
        assert_eq!(number("EPLANET"), None);
    }

    #[test]
    fn names_common_errors() {
        assert_eq!(
            name(&io::Error::from_raw_os_error(libc::ECONNRESET)),
            "ECONNRESET"
        );
        // EWOULDBLOCK is EAGAIN on Linux; learners meet it under both names.
        assert_eq!(
            name(&io::Error::from_raw_os_error(libc::EWOULDBLOCK)),
            "EAGAIN"
        );
        assert_eq!(name(&io::Error::from_raw_os_error(4095)), "errno 4095");
    }
}
