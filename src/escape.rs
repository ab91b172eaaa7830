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

/// A payload as a person reads it in a row of `lab run` or the book:
/// text in quotes, escaped as [`escape`] does; bytes that are not text in
/// hex, in brackets; and a 4-byte length header (labs 13 to 16 put one
/// before each message, in either byte order) as its value beside its bytes.
/// At most `limit` bytes are shown; `…` marks where it cut.
///
/// ```text
/// "hello"                          text
/// length=4 [04 00 00 00] "lab\n"   a message framed by its length
/// [8f 1a 22 c4 …]                  a digest, binary through and through
/// ```
///
/// A header is named only where the payload is whole messages: each 4-byte
/// value, read in one byte order or the other, is exactly the length of the
/// bytes after it, up to the end or the next header. That cannot happen
/// by chance in text (4 printable bytes make a number of at least
/// 0x20202020); a header whose message goes on past this payload (a
/// recv that took part of it, one segment of a large reply) is shown as
/// its bytes only, since which order it was written in cannot be told.
pub fn shown(bytes: &[u8], limit: usize) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut left = limit;
    let mut cut = false;
    let push = |parts: &mut Vec<String>, piece: &[u8], left: &mut usize, header: Option<u32>| {
        // Hex takes three columns a byte: binary bytes stop sooner.
        let text = header.is_some() || is_text(piece);
        let take = piece
            .len()
            .min(if text { *left } else { (*left).min(HEX_MAX) });
        *left -= take;
        let part = &piece[..take];
        let more = take < piece.len();
        if let Some(n) = header {
            parts.push(format!("length={n} {}", hex(part, more)));
        } else if text {
            parts.push(format!(
                "\"{}{}\"",
                escape(part),
                if more { "…" } else { "" }
            ));
        } else {
            parts.push(hex(part, more));
        }
        more
    };
    for (header, body) in frames(bytes) {
        if left == 0 {
            cut = true;
            break;
        }
        if let Some(n) = header {
            if push(&mut parts, &body[..4], &mut left, Some(n)) {
                cut = true;
                break;
            }
            let rest = &body[4..];
            if rest.is_empty() {
                continue;
            }
            if left == 0 {
                cut = true;
                break;
            }
            if push(&mut parts, rest, &mut left, None) {
                cut = true;
                break;
            }
        } else if push(&mut parts, body, &mut left, None) {
            cut = true;
            break;
        }
    }
    if parts.is_empty() {
        return if bytes.is_empty() {
            "\"\"".into()
        } else {
            "…".into()
        };
    }
    if cut
        && !parts
            .last()
            .is_some_and(|p| p.ends_with("…\"") || p.ends_with("…]"))
    {
        parts.push("…".into());
    }
    parts.join(" ")
}

/// Binary bytes a preview shows at most, in hex: enough to tell two
/// digests apart, on one row.
const HEX_MAX: usize = 16;

/// Messages behind length headers in one payload are named up to this
/// many; a payload that would make more is not read as messages.
const MAX_FRAMES: usize = 16;

/// `bytes` cut into messages each behind its 4-byte length, when it is
/// exactly that; else one piece with no header (or two: see below).
fn frames(bytes: &[u8]) -> Vec<(Option<u32>, &[u8])> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 && out.len() <= MAX_FRAMES {
        let head: [u8; 4] = rest[..4].try_into().expect("4 bytes");
        let after = rest.len() - 4;
        // Little-endian first (the course's struct 'i' on x86), then
        // network order. An empty message only stands alone: runs of zero
        // bytes are not a train of empty messages.
        let value = [u32::from_le_bytes(head), u32::from_be_bytes(head)]
            .into_iter()
            .find(|&n| usize::try_from(n).is_ok_and(|n| n <= after && (n > 0 || after == 0)));
        let Some(n) = value else {
            break;
        };
        let end = 4 + n as usize;
        out.push((Some(n), &rest[..end]));
        rest = &rest[end..];
    }
    if !rest.is_empty() || out.len() > MAX_FRAMES {
        // Some bytes are not whole messages: name no header at all.
        out.clear();
        rest = bytes;
    }
    if out.is_empty() {
        // Four bytes that are not text before text (a header whose message
        // goes on past these bytes) are shown apart, in hex.
        let texty = |b: &u8| b.is_ascii_graphic() || b" \n\r\t".contains(b);
        if rest.len() > 4 && !rest[..4].iter().all(texty) && rest[4..].iter().all(texty) {
            return vec![(None, &rest[..4]), (None, &rest[4..])];
        }
        out.push((None, rest));
    }
    out
}

/// Text a person reads: mostly printable ASCII, tabs and line ends.
fn is_text(bytes: &[u8]) -> bool {
    let binary = bytes
        .iter()
        .filter(|&&b| !(b.is_ascii_graphic() || b" \n\r\t".contains(&b)))
        .count();
    binary * 4 <= bytes.len() && !(bytes.len() <= 4 && binary > 0)
}

/// `[04 00 00 00]`, with `…` before the bracket when `more` follows.
fn hex(bytes: &[u8], more: bool) -> String {
    let digits: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("[{}{}]", digits.join(" "), if more { " …" } else { "" })
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
    fn text_reads_as_text_and_binary_as_hex() {
        assert_eq!(shown(b"hello", 32), "\"hello\"");
        assert_eq!(shown(b"line\n", 32), "\"line\\n\"");
        assert_eq!(shown(b"", 32), "\"\"");
        assert_eq!(
            shown(&[0x8f, 0x1a, 0x22, 0xc4, 0x00, 0x41], 4),
            "[8f 1a 22 c4 …]"
        );
        assert_eq!(shown(b"abcdefgh", 4), "\"abcd…\"");
        let digest: Vec<u8> = (0x80..0xa0).collect();
        assert_eq!(
            shown(&digest, 48),
            "[80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f …]"
        );
        // A header read on its own is 4 bytes, not a message: hex only.
        assert_eq!(shown(b"\x05\0\0\0", 32), "[05 00 00 00]");
    }

    #[test]
    fn a_length_header_is_named_with_its_value() {
        // struct.pack('i', 4) on x86: little-endian.
        assert_eq!(
            shown(b"\x04\0\0\0lab\n", 32),
            "length=4 [04 00 00 00] \"lab\\n\""
        );
        // struct.pack('!I', 4): network order.
        assert_eq!(
            shown(b"\0\0\0\x04lab\n", 32),
            "length=4 [00 00 00 04] \"lab\\n\""
        );
        // An empty message.
        assert_eq!(shown(b"\0\0\0\0", 32), "length=0 [00 00 00 00]");
        // Two messages stuck together in one read.
        assert_eq!(
            shown(b"\x02\0\0\0hi\x03\0\0\0you", 64),
            "length=2 [02 00 00 00] \"hi\" length=3 [03 00 00 00] \"you\""
        );
        // Cut in the middle of the first message's body.
        assert_eq!(
            shown(b"\x0a\0\0\0abcdefghij", 8),
            "length=10 [0a 00 00 00] \"abcd…\""
        );
        // A message that goes on past these bytes: no claim.
        assert_eq!(
            shown(b"\0\0\x10\0abcdefgh", 32),
            "[00 00 10 00] \"abcdefgh\""
        );
        assert_eq!(shown(b"\0\0\x10\0abcdefgh", 6), "[00 00 10 00] \"ab…\"");
        // Zero bytes are not a train of empty messages.
        assert_eq!(shown(&[0; 8], 32), "[00 00 00 00 00 00 00 00]");
        // Text never reads as a header.
        assert!(!shown(&vec![0u8; 1 << 20], 8).contains("length="));
        // Text never reads as a header.
        assert!(!shown(b"abcdefgh", 32).contains("length="));
    }

    #[test]
    fn preview_cuts_only_long_messages() {
        let long = vec![b'a'; PREVIEW_BYTES + 1];
        assert!(preview(&long, PREVIEW_BYTES).1);
        assert!(!preview(&long[..PREVIEW_BYTES], PREVIEW_BYTES).1);
    }
}
