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

#[cfg(test)]
mod tests {
    use super::*;

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
