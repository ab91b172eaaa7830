//! A length, a JSON header, then the body: the course's custom header
//! (自定制报头, chapter 12).
//!
//! ```text
//! [4-byte length of the header] [header: JSON object] [body: data_size bytes]
//!  struct.pack('i', len(h))      {"data_size": 1234, ...}
//! ```
//!
//! The fixed 4 bytes say how long the header is; the header says how long
//! the body is and anything else the receiver should know (a file name, a
//! checksum). The header's own length is bounded much tighter than the
//! body: nobody needs a 1 GB header.

use serde_json::{Map, Value};

use super::framing::{self, HEADER_LEN, LengthFormat};
use super::{Conn, Framed, ProtoError};

/// The longest header a reader accepts.
pub const HEADER_LIMIT: u64 = 64 << 10;

/// A header: a JSON object. `data_size` is the body's length.
pub type Header = Map<String, Value>;

/// Encodes `header` with its 4-byte length in front.
pub fn encode(header: &Header, format: LengthFormat) -> Result<Vec<u8>, ProtoError> {
    let json = serde_json::to_vec(header).map_err(|e| ProtoError::BadHeader(e.to_string()))?;
    let mut out = format.header(json.len())?.to_vec();
    out.extend(json);
    Ok(out)
}

/// Tries to parse a whole header at the start of `buf` (`Ok(None)`: not
/// all there yet).
pub fn parse(buf: &[u8], format: LengthFormat) -> Result<Option<(Header, usize)>, ProtoError> {
    let Some(len) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let len = framing::bounded("a JSON header", format.length(*len), HEADER_LIMIT)?;
    let end = HEADER_LEN + len;
    if buf.len() < end {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(&buf[HEADER_LEN..end]) {
        Ok(Value::Object(map)) => Ok(Some((map, end))),
        Ok(other) => Err(ProtoError::BadHeader(format!(
            "the header is JSON but not an object: {other}"
        ))),
        Err(e) => Err(ProtoError::BadHeader(format!(
            "the header is not JSON: {e}"
        ))),
    }
}

/// Reads one header; `Ok(None)` if the peer closed between messages.
pub fn read_header<C: Conn>(
    framed: &mut Framed<C>,
    format: LengthFormat,
) -> Result<Option<Header>, ProtoError> {
    framed.read_frame("a JSON header", |buf| parse(buf, format))
}

/// A header's unsigned integer field, checked against `limit`.
pub fn size_field(header: &Header, field: &str, limit: u64) -> Result<u64, ProtoError> {
    let value = header
        .get(field)
        .ok_or_else(|| ProtoError::BadHeader(format!("the header has no `{field}`")))?;
    let n = value.as_u64().ok_or_else(|| {
        ProtoError::BadHeader(format!("`{field}` is {value}, not a whole number of bytes"))
    })?;
    if n > limit {
        return Err(ProtoError::TooBig {
            what: "a body",
            claimed: n.min(i64::MAX as u64) as i64,
            limit,
        });
    }
    Ok(n)
}

/// Reads a header and the `data_size` bytes of body after it.
pub fn read<C: Conn>(
    framed: &mut Framed<C>,
    format: LengthFormat,
    limit: u64,
) -> Result<Option<(Header, Vec<u8>)>, ProtoError> {
    let Some(header) = read_header(framed, format)? else {
        return Ok(None);
    };
    let size = size_field(&header, "data_size", limit)?;
    let body = framed.read_exact("a body", size as usize)?;
    Ok(Some((header, body)))
}

/// Writes length, header and body in the course's layout, with one
/// `sendall` (the course uses three calls; the bytes on the stream are the
/// same, without the wait that small writes in a row can cause, lab 13).
pub fn write(
    conn: &mut impl Conn,
    header: &Header,
    body: &[u8],
    format: LengthFormat,
) -> Result<(), ProtoError> {
    let mut bytes = encode(header, format)?;
    bytes.extend_from_slice(body);
    conn.send_all(&bytes)?;
    Ok(())
}

/// A header with `data_size` and the given extra fields.
pub fn header(data_size: usize, extra: &[(&str, Value)]) -> Header {
    let mut h = Header::new();
    h.insert("data_size".into(), Value::from(data_size));
    for (k, v) in extra {
        h.insert((*k).into(), v.clone());
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::Script;

    #[test]
    fn round_trip_in_the_course_layout() {
        let h = header(3, &[("cmd", "ls".into())]);
        let mut out = Script::new(&[]);
        write(&mut out, &h, b"a\nb", LengthFormat::Native).unwrap();
        // serde_json keeps object keys sorted; any order is valid JSON.
        let json = br#"{"cmd":"ls","data_size":3}"#;
        let mut want = (json.len() as i32).to_ne_bytes().to_vec();
        want.extend(json);
        want.extend(b"a\nb");
        assert_eq!(out.output, want);

        let mut framed = Framed::new(Script::new(&[&want[..2], &want[2..9], &want[9..]]), 1024);
        let (got, body) = read(&mut framed, LengthFormat::Native, 100)
            .unwrap()
            .unwrap();
        assert_eq!((got, body.as_slice()), (h, &b"a\nb"[..]));
    }

    #[test]
    fn garbage_and_lies_are_errors_not_allocations() {
        let mut bad = 4i32.to_ne_bytes().to_vec();
        bad.extend(b"nope");
        let mut framed = Framed::new(Script::new(&[&bad]), 64);
        assert!(matches!(
            read(&mut framed, LengthFormat::Native, 10),
            Err(ProtoError::BadHeader(_))
        ));

        let h = header(10_000_000_000, &[]);
        let bytes = encode(&h, LengthFormat::Native).unwrap();
        let mut framed = Framed::new(Script::new(&[&bytes]), 64);
        let err = read(&mut framed, LengthFormat::Native, 1 << 20).unwrap_err();
        assert!(
            matches!(
                err,
                ProtoError::TooBig {
                    claimed: 10_000_000_000,
                    ..
                }
            ),
            "{err}"
        );
    }
}
