//! UDP datagrams (RFC 768).
//!
//! ```text
//! +-------------------------------+-------------------------------+
//! |          Source Port          |       Destination Port        |
//! +-------------------------------+-------------------------------+
//! |            Length             |           Checksum            |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! Unlike TCP, UDP states its own length (header included), so a datagram
//! has two lengths to agree: UDP's, and the room IP gives it.

use std::fmt;

use super::{DecodeError, Layer, need, read_u16};

/// Byte ranges of the UDP header fields.
pub mod field {
    use crate::wire::Field;

    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Length of the datagram, header included.
    pub const LENGTH: Field = 4..6;
    /// Checksum over a pseudo-header and the datagram; 0 means "none"
    /// over IPv4.
    pub const CHECKSUM: Field = 6..8;
}

/// The UDP header.
pub const HEADER_LEN: usize = 8;

/// A UDP datagram, owned and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The length field: header plus data of the whole datagram, even when
    /// this packet is only its first fragment.
    pub length: u16,
    /// The checksum field as on the wire.
    pub checksum: u16,
    /// The data bytes that were captured.
    pub payload: Vec<u8>,
    /// Data bytes in this packet: the UDP length minus 8, or for a first
    /// fragment what the fragment carries after the header. Larger than
    /// `payload.len()` when the capture was cut.
    pub payload_len: usize,
}

/// Decodes a UDP datagram. `datagram` is the captured IP payload (cut at the
/// IP length), `ip_payload_len` the length the IP header gives it, and
/// `first_of_many` says it is the first of several fragments.
///
/// The length field must be at least 8 and, unless the datagram is
/// fragmented, at most what IP gives it: a longer one is a lie. A shorter
/// one is allowed, and the bytes after it are not data (RFC 768 leaves
/// them undefined).
pub(crate) fn decode(
    datagram: &[u8],
    ip_payload_len: usize,
    first_of_many: bool,
) -> Result<UdpRepr, DecodeError> {
    if ip_payload_len < HEADER_LEN {
        return Err(DecodeError::BadLength {
            layer: Layer::Udp,
            len: ip_payload_len,
            min: HEADER_LEN,
            max: usize::from(u16::MAX),
        });
    }
    need(Layer::Udp, datagram, HEADER_LEN)?;
    let length = read_u16(datagram, field::LENGTH);
    let max = if first_of_many {
        usize::from(u16::MAX)
    } else {
        ip_payload_len
    };
    if usize::from(length) < HEADER_LEN || usize::from(length) > max {
        return Err(DecodeError::BadLength {
            layer: Layer::Udp,
            len: usize::from(length),
            min: HEADER_LEN,
            max,
        });
    }
    // A first fragment carries only the start of the data.
    let datagram_end = if first_of_many {
        ip_payload_len
    } else {
        usize::from(length)
    };
    let payload_len = datagram_end - HEADER_LEN;
    let end = (HEADER_LEN + payload_len).min(datagram.len());
    Ok(UdpRepr {
        src_port: read_u16(datagram, field::SRC_PORT),
        dst_port: read_u16(datagram, field::DST_PORT),
        length,
        checksum: read_u16(datagram, field::CHECKSUM),
        payload: datagram[HEADER_LEN..end].to_vec(),
        payload_len,
    })
}

/// `UDP len=5`: the data length. Ports are left to
/// [`Frame`](super::Frame), which writes them beside the addresses.
impl fmt::Display for UdpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UDP len={}", self.payload_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::check_prefixes;
    use crate::wire::{LinkType, decode_frame};

    /// `hello` from 127.0.0.1:5001 to 127.0.0.1:5000, captured on `lo`
    /// and stored as raw IP (the Ethernet header dropped).
    const HELLO: [u8; 33] = [
        0x45, 0x00, // IPv4, IHL 5; DSCP/ECN 0
        0x00, 0x21, // total length 33
        0x37, 0x62, // identification
        0x40, 0x00, // DF
        0x40, 0x11, // TTL 64, protocol UDP
        0x05, 0x68, // header checksum
        0x7f, 0x00, 0x00, 0x01, // source 127.0.0.1
        0x7f, 0x00, 0x00, 0x01, // destination 127.0.0.1
        0x13, 0x89, // source port 5001
        0x13, 0x88, // destination port 5000
        0x00, 0x0d, // length 13 = 8 + 5
        0xfe, 0x20, // checksum
        b'h', b'e', b'l', b'l', b'o',
    ];

    #[test]
    fn a_datagram() {
        let frame = decode_frame(LinkType::Raw, &HELLO).unwrap();
        let udp = frame.udp().unwrap();
        assert_eq!((udp.src_port, udp.dst_port), (5001, 5000));
        assert_eq!((udp.length, udp.checksum), (13, 0xfe20));
        assert_eq!(
            (udp.payload.as_slice(), udp.payload_len),
            (&b"hello"[..], 5)
        );
        assert_eq!(
            frame.to_string(),
            "127.0.0.1:5001 > 127.0.0.1:5000 UDP len=5"
        );
        check_prefixes(LinkType::Raw, &HELLO, 28, HELLO.len());
    }

    #[test]
    fn an_empty_datagram_is_still_a_message() {
        let mut bytes = HELLO[..28].to_vec();
        bytes[2..4].copy_from_slice(&28u16.to_be_bytes());
        bytes[24..26].copy_from_slice(&8u16.to_be_bytes());
        let udp = decode_frame(LinkType::Raw, &bytes).unwrap().udp().cloned();
        let udp = udp.unwrap();
        assert_eq!((udp.length, udp.payload_len), (8, 0));
        assert!(udp.payload.is_empty());
    }

    /// HELLO with another UDP length field.
    fn with_length(length: u16) -> Result<UdpRepr, DecodeError> {
        let mut bytes = HELLO;
        bytes[24..26].copy_from_slice(&length.to_be_bytes());
        decode(&bytes[20..], 13, false)
    }

    #[test]
    fn lying_length_fields() {
        assert_eq!(
            with_length(3).unwrap_err(),
            DecodeError::BadLength {
                layer: Layer::Udp,
                len: 3,
                min: 8,
                max: 13
            }
        );
        assert_eq!(
            with_length(60000).unwrap_err(),
            DecodeError::BadLength {
                layer: Layer::Udp,
                len: 60000,
                min: 8,
                max: 13
            }
        );
        // Shorter than IP's room: the data ends where UDP says.
        assert_eq!(with_length(10).unwrap().payload, b"he");
        // IP leaves 4 bytes for an 8-byte header.
        let mut bytes = HELLO;
        bytes[2..4].copy_from_slice(&24u16.to_be_bytes());
        assert!(matches!(
            decode_frame(LinkType::Raw, &bytes).unwrap_err(),
            DecodeError::BadLength {
                layer: Layer::Udp,
                len: 4,
                ..
            }
        ));
    }
}
