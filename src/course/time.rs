//! The UDP time server (chapter 8): the datagram is a `strftime` format,
//! the answer is the local time in that format; an empty datagram asks for
//! the default `%Y-%m-%d %X`.

/// The format an empty request stands for.
pub const DEFAULT_FORMAT: &str = "%Y-%m-%d %X";

/// The longest format accepted, and the longest answer produced.
const MAX_FORMAT: usize = 256;
const MAX_ANSWER: usize = 1024;

/// The answer to one request: the formatted time, or a one-line error
/// that says what was wrong with the request.
pub fn answer(request: &[u8]) -> Vec<u8> {
    match format_now(request) {
        Ok(text) => text.into_bytes(),
        Err(e) => format!("error: {e}").into_bytes(),
    }
}

/// The local time formatted by `format` (C's `strftime`, as Python's
/// `time.strftime` uses).
pub fn format_now(format: &[u8]) -> Result<String, String> {
    let format = if format.is_empty() {
        DEFAULT_FORMAT.as_bytes()
    } else {
        format
    };
    if format.len() > MAX_FORMAT {
        return Err(format!("the format is longer than {MAX_FORMAT} bytes"));
    }
    let c_format =
        std::ffi::CString::new(format).map_err(|_| "the format contains a NUL byte".to_string())?;
    let mut buf = vec![0u8; MAX_ANSWER];
    // SAFETY: time(NULL) and localtime_r only write into `tm`; strftime
    // writes at most `buf.len()` bytes into `buf` and reads a
    // NUL-terminated format. A format is plain data, with no varargs.
    let n = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return Err("the local time is not available".into());
        }
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c_format.as_ptr(), &tm)
    };
    buf.truncate(n);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_the_default_format() {
        let t = answer(b"");
        assert_eq!(t.len(), "2026-01-01 12:00:00".len(), "{t:?}");
        assert_eq!(answer(b"%Y").len(), 4);
        assert_eq!(answer(b"year %%"), b"year %");
        assert!(answer(b"a\0b").starts_with(b"error:"));
        assert!(answer(&[b'%'; 300]).starts_with(b"error:"));
    }
}
