//! A 4-byte length, then the message: the course's fixed-length header
//! (固定长度报头, chapter 12).
//!
//! The course writes the length with Python's `struct.pack('i', n)`: a
//! *signed* 32-bit integer in the machine's *native* byte order, which is
//! little-endian on x86 and ARM as usually run. That is the default here,
//! so the course's own programs can talk to ours. A protocol that crosses
//! machines should fix the order instead; `struct.pack('!I', n)`, network
//! order (big-endian, unsigned), is [`LengthFormat::Network`].
//!
//! A receiver that assumes the wrong order reads another number: 1 written
//! as `01 00 00 00` becomes 16,777,216. Lab 14 shows what follows.

use super::{Conn, Framed, ProtoError};

/// The largest message a reader accepts unless told otherwise: a header
/// claiming more is refused before a single body byte is read.
pub const DEFAULT_LIMIT: u64 = 64 << 20;

/// Size of the length header.
pub const HEADER_LEN: usize = 4;

/// How the 4-byte length is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthFormat {
    /// `struct.pack('i', n)`: signed 32-bit, the machine's byte order
    /// (little-endian on x86). The course's format.
    Native,
    /// `struct.pack('!I', n)`: unsigned 32-bit, network order (big-endian).
    Network,
}

impl LengthFormat {
    /// `native` or `network`, as lab files and `--set` name them.
    pub fn parse(name: &str) -> Result<LengthFormat, String> {
        match name {
            "native" | "i" => Ok(LengthFormat::Native),
            "network" | "!I" => Ok(LengthFormat::Network),
            other => Err(format!(
                "byte order `{other}`: use native (struct 'i') or network (struct '!I')"
            )),
        }
    }

    /// The other order: what a receiver that got it wrong uses.
    pub fn swapped(self) -> LengthFormat {
        match self {
            LengthFormat::Native => LengthFormat::Network,
            LengthFormat::Network => LengthFormat::Native,
        }
    }

    /// The Python `struct` format that writes this header.
    pub fn python(self) -> &'static str {
        match self {
            LengthFormat::Native => "struct.pack('i', n)",
            LengthFormat::Network => "struct.pack('!I', n)",
        }
    }

    /// The 4 header bytes for a message of `len` bytes.
    pub fn header(self, len: usize) -> Result<[u8; HEADER_LEN], ProtoError> {
        let too_big = || ProtoError::TooBig {
            what: "a message",
            claimed: len as i64,
            limit: i32::MAX as u64,
        };
        Ok(match self {
            // 'i' is signed: Python refuses anything past 2**31 - 1.
            LengthFormat::Native => i32::try_from(len).map_err(|_| too_big())?.to_ne_bytes(),
            LengthFormat::Network => u32::try_from(len).map_err(|_| too_big())?.to_be_bytes(),
        })
    }

    /// The length a header claims. Native lengths are signed, so a peer
    /// can claim a negative size; the caller refuses it.
    pub fn length(self, header: [u8; HEADER_LEN]) -> i64 {
        match self {
            LengthFormat::Native => i64::from(i32::from_ne_bytes(header)),
            LengthFormat::Network => i64::from(u32::from_be_bytes(header)),
        }
    }
}

/// Checks a claimed length against the reader's limit.
pub fn bounded(what: &'static str, claimed: i64, limit: u64) -> Result<usize, ProtoError> {
    if claimed < 0 {
        return Err(ProtoError::BadHeader(format!(
            "the header claims a negative length ({claimed}) for {what}"
        )));
    }
    if claimed as u64 > limit {
        return Err(ProtoError::TooBig {
            what,
            claimed,
            limit,
        });
    }
    Ok(claimed as usize)
}

/// Tries to parse one whole frame at the start of `buf`.
///
/// `Ok(None)`: not all of it has arrived yet. `Ok(Some((message, used)))`:
/// a whole frame, `used` bytes long. The length is checked against `limit`
/// as soon as the 4 header bytes are there, before waiting for the body.
pub fn parse(
    buf: &[u8],
    format: LengthFormat,
    limit: u64,
) -> Result<Option<(Vec<u8>, usize)>, ProtoError> {
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let len = bounded("a message", format.length(*header), limit)?;
    let end = HEADER_LEN + len;
    if buf.len() < end {
        return Ok(None);
    }
    Ok(Some((buf[HEADER_LEN..end].to_vec(), end)))
}

/// Reads one framed message; `Ok(None)` if the peer closed between frames.
pub fn read<C: Conn>(
    framed: &mut Framed<C>,
    format: LengthFormat,
    limit: u64,
) -> Result<Option<Vec<u8>>, ProtoError> {
    framed.read_frame("a framed message", |buf| parse(buf, format, limit))
}

/// Writes one framed message with a single `sendall`: header and body
/// leave together.
pub fn write(conn: &mut impl Conn, body: &[u8], format: LengthFormat) -> Result<(), ProtoError> {
    let mut frame = Vec::with_capacity(HEADER_LEN + body.len());
    frame.extend_from_slice(&format.header(body.len())?);
    frame.extend_from_slice(body);
    conn.send_all(&frame)?;
    Ok(())
}

/// Writes one framed message as the course does: `send` the header, then
/// `sendall` the body. Two small writes in a row, then a wait for the
/// reader's next request, is the pattern where Nagle's algorithm holds the
/// second write until the first is acknowledged, and the reader delays
/// that acknowledgement (up to 40 ms on Linux): see lab 13.
pub fn write_two(
    conn: &mut impl Conn,
    body: &[u8],
    format: LengthFormat,
) -> Result<(), ProtoError> {
    conn.send_all(&format.header(body.len())?)?;
    if !body.is_empty() {
        conn.send_all(body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::Script;

    #[test]
    fn native_is_what_python_struct_i_writes_on_x86() {
        // struct.pack('i', 5) == b'\x05\x00\x00\x00' on little-endian hosts.
        #[cfg(target_endian = "little")]
        assert_eq!(LengthFormat::Native.header(5).unwrap(), [5, 0, 0, 0]);
        // struct.pack('!I', 5) == b'\x00\x00\x00\x05' everywhere.
        assert_eq!(LengthFormat::Network.header(5).unwrap(), [0, 0, 0, 5]);
    }

    #[test]
    fn the_wrong_order_reads_another_number() {
        let h = LengthFormat::Native.header(1).unwrap();
        #[cfg(target_endian = "little")]
        assert_eq!(LengthFormat::Network.length(h), 16_777_216);
        // Zero reads the same in any order: why a test with empty
        // messages never finds the bug.
        let z = LengthFormat::Native.header(0).unwrap();
        assert_eq!(LengthFormat::Network.length(z), 0);
    }

    #[test]
    fn incomplete_frames_are_none_and_whole_ones_are_cut_out() {
        let f = LengthFormat::Network;
        assert!(parse(&[0, 0], f, 10).unwrap().is_none());
        assert!(parse(&[0, 0, 0, 3, b'a'], f, 10).unwrap().is_none());
        let (m, used) = parse(&[0, 0, 0, 3, b'a', b'b', b'c', 9], f, 10)
            .unwrap()
            .unwrap();
        assert_eq!((m.as_slice(), used), (&b"abc"[..], 7));
    }

    #[test]
    fn a_huge_claim_is_refused_before_any_body_arrives() {
        // 10 GB does not fit 32 bits; the largest 'I' claim is 4 GiB - 1.
        let err = parse(&[0xff, 0xff, 0xff, 0xff], LengthFormat::Network, 1 << 20).unwrap_err();
        assert!(matches!(
            err,
            ProtoError::TooBig {
                claimed: 4_294_967_295,
                ..
            }
        ));
        let err = parse(&[0xff, 0xff, 0xff, 0xff], LengthFormat::Native, 1 << 20).unwrap_err();
        assert!(matches!(err, ProtoError::BadHeader(_)), "{err}");
    }

    #[test]
    fn frames_split_anywhere_and_merged_arrive_whole() {
        let f = LengthFormat::Native;
        let mut wire = Vec::new();
        for m in [&b""[..], b"x", &vec![7u8; 1 << 20]] {
            wire.extend(f.header(m.len()).unwrap());
            wire.extend(m);
        }
        // Cut the stream into odd pieces, some inside a header.
        let pieces: Vec<&[u8]> = wire.chunks(3).chain(std::iter::empty()).collect();
        let mut framed = Framed::new(Script::new(&pieces[..5]), 2);
        let rest: Vec<u8> = pieces[5..].concat();
        framed.conn.input.push_back(rest);
        framed.read_size = 4096;
        assert_eq!(read(&mut framed, f, DEFAULT_LIMIT).unwrap().unwrap(), b"");
        assert_eq!(read(&mut framed, f, DEFAULT_LIMIT).unwrap().unwrap(), b"x");
        assert_eq!(
            read(&mut framed, f, DEFAULT_LIMIT).unwrap().unwrap().len(),
            1 << 20
        );
        assert!(read(&mut framed, f, DEFAULT_LIMIT).unwrap().is_none());
    }

    #[test]
    fn a_peer_closing_mid_frame_is_an_error() {
        let mut framed = Framed::new(Script::new(&[&[0, 0, 0, 9, b'a']]), 64);
        let err = read(&mut framed, LengthFormat::Network, 100).unwrap_err();
        assert!(
            matches!(err, ProtoError::ClosedMidFrame { got: 5, .. }),
            "{err}"
        );
    }
}
