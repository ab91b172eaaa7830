//! Bytes as text a learner can read.
//!
//! Printable ASCII is shown as is; a few control characters get their usual
//! names (`\n`, `\r`, `\t`, `\0`), the backslash doubles, and every other
//! byte is written `\xNN`. The output is always valid UTF-8, so JSON Lines
//! and terminals never break on binary payloads (a length header, an HMAC
//! digest, a truncated UTF-8 sequence).

/// Messages up to this many bytes always appear whole in previews.
pub const PREVIEW_BYTES: usize = 256;

/// Escapes all of `bytes`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        // `\0` then `1` would read as one escape, `\01`: a NUL before a
        // digit is written `\x00`.
        if b == 0 && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            out.push_str("\\x00");
            continue;
        }
        push_escaped(&mut out, b);
    }
    out
}

/// Escapes at most `limit` bytes of `bytes`; the flag says whether it cut.
pub fn preview(bytes: &[u8], limit: usize) -> (String, bool) {
    if bytes.len() <= limit {
        (escape(bytes), false)
    } else {
        (escape(&bytes[..limit]), true)
    }
}

fn push_escaped(out: &mut String, b: u8) {
    match b {
        b'\\' => out.push_str("\\\\"),
        b'\n' => out.push_str("\\n"),
        b'\r' => out.push_str("\\r"),
        b'\t' => out.push_str("\\t"),
        0 => out.push_str("\\0"),
        0x20..=0x7e => out.push(b as char),
        _ => out.push_str(&format!("\\x{b:02x}")),
    }
}

/// Parses the escapes [`escape`] writes (plus `\"`), as used in lab files
/// to write binary payloads. Returns an error naming the bad escape.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('\\') => out.push(b'\\'),
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some('"') => out.push(b'"'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 2)
                    .ok_or_else(|| format!("bad escape `\\x{hex}`: expected two hex digits"))?;
                out.push(byte);
            }
            Some(other) => return Err(format!("unknown escape `\\{other}`")),
            None => return Err("a lone `\\` at the end".to_string()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_is_unchanged() {
        assert_eq!(escape(b"hello feng"), "hello feng");
    }

    #[test]
    fn control_and_high_bytes_are_escaped() {
        assert_eq!(escape(b"a\nb\x00\xff\\"), "a\\nb\\0\\xff\\\\");
        // A NUL before a digit cannot be `\0`: `\01` would read as one
        // escape. (A 4-byte length header of 1 MiB, then "1...".)
        assert_eq!(escape(b"\x00\x10\x00\x001x"), "\\0\\x10\\0\\x001x");
        assert_eq!(unescape(&escape(b"\x001")).unwrap(), b"\x001");
        // A UTF-8 sequence is shown byte by byte: the wire carries bytes.
        assert_eq!(escape("粘".as_bytes()), "\\xe7\\xb2\\x98");
    }

    #[test]
    fn unescape_inverts_escape() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&escape(&all)).unwrap(), all);
    }

    #[test]
    fn bad_escapes_are_named() {
        assert!(unescape("\\x4").unwrap_err().contains("\\x4"));
        assert!(unescape("\\q").unwrap_err().contains("\\q"));
    }

    #[test]
    fn preview_cuts_only_long_messages() {
        let long = vec![b'a'; PREVIEW_BYTES + 1];
        assert!(preview(&long, PREVIEW_BYTES).1);
        assert!(!preview(&long[..PREVIEW_BYTES], PREVIEW_BYTES).1);
    }
}
