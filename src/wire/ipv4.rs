//! IPv4 (RFC 791): the header, its two length fields, and fragments.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-------+-------+---------------+-------------------------------+
//! |Version|  IHL  |  DSCP   | ECN |          Total Length         |
//! +-------+-------+---------------+-----+-------------------------+
//! |        Identification         |Flags|     Fragment Offset     |
//! +---------------+---------------+-----+-------------------------+
//! |  Time to Live |    Protocol   |        Header Checksum        |
//! +---------------+---------------+-------------------------------+
//! |                        Source Address                         |
//! |                      Destination Address                      |
//! |                    Options (IHL > 5)  ...                     |
//! +---------------------------------------------------------------+
//! ```

use std::net::{IpAddr, Ipv4Addr};

use super::ip::{Fragment, IpPacket, IpRepr};
use super::{DecodeError, Layer, header_fits, need, read_u16};

/// Byte ranges of the IPv4 header fields.
pub mod field {
    use crate::wire::Field;

    /// Version (high nibble) and IHL, the header length in 32-bit words.
    pub const VER_IHL: usize = 0;
    /// DSCP and ECN.
    pub const DSCP_ECN: usize = 1;
    /// Total length of the packet, header included, in bytes.
    pub const LENGTH: Field = 2..4;
    /// Identification, shared by the fragments of one datagram.
    pub const IDENT: Field = 4..6;
    /// Flags (reserved, DF, MF) and the fragment offset in 8-byte units.
    pub const FLG_OFF: Field = 6..8;
    /// Time to live.
    pub const TTL: usize = 8;
    /// The protocol of the payload.
    pub const PROTOCOL: usize = 9;
    /// Header checksum (covers the header only).
    pub const CHECKSUM: Field = 10..12;
    /// Source address.
    pub const SRC_ADDR: Field = 12..16;
    /// Destination address.
    pub const DST_ADDR: Field = 16..20;
}

/// The header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// The largest header IHL can express: 15 words.
pub const MAX_HEADER_LEN: usize = 60;

/// Don't Fragment, in the flags-and-offset field.
const FLAG_DF: u16 = 0x4000;
/// More Fragments, in the flags-and-offset field.
const FLAG_MF: u16 = 0x2000;
/// The fragment offset, in 8-byte units.
const OFFSET_MASK: u16 = 0x1fff;

/// Decodes an IPv4 header and finds its payload.
///
/// The checks run in the order that lets each error blame the right
/// field: the fixed header must be captured; the version must be 4; IHL
/// must be at least 5 words and fit inside the total length; the total
/// length must hold at least a minimal header; and the whole header
/// (options included) must be captured. The payload is then whatever was
/// captured up to the total length: less if the capture was cut, and never
/// the Ethernet padding after it. Options are skipped, not decoded.
pub(crate) fn decode(bytes: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    need(Layer::Ipv4, bytes, MIN_HEADER_LEN)?;
    let version = bytes[field::VER_IHL] >> 4;
    if version != 4 {
        return Err(DecodeError::BadVersion {
            layer: Layer::Ipv4,
            found: version,
        });
    }
    let total_len = usize::from(read_u16(bytes, field::LENGTH));
    if total_len < MIN_HEADER_LEN {
        return Err(DecodeError::BadLength {
            layer: Layer::Ipv4,
            len: total_len,
            min: MIN_HEADER_LEN,
            max: usize::from(u16::MAX),
        });
    }
    let header_len = usize::from(bytes[field::VER_IHL] & 0x0f) * 4;
    header_fits(
        Layer::Ipv4,
        bytes,
        header_len,
        MIN_HEADER_LEN,
        MAX_HEADER_LEN,
        total_len,
    )?;

    let flags = read_u16(bytes, field::FLG_OFF);
    let offset = usize::from(flags & OFFSET_MASK) * 8;
    let more = flags & FLAG_MF != 0;
    let ident = read_u16(bytes, field::IDENT);
    let repr = IpRepr {
        version: 4,
        src: IpAddr::V4(addr(bytes, field::SRC_ADDR.start)),
        dst: IpAddr::V4(addr(bytes, field::DST_ADDR.start)),
        header_len,
        total_len,
        ttl_or_hop_limit: bytes[field::TTL],
        ident: Some(ident),
        fragment: (more || offset > 0).then_some(Fragment {
            offset,
            more,
            ident: u32::from(ident),
        }),
        protocol: bytes[field::PROTOCOL],
        dont_fragment: flags & FLAG_DF != 0,
    };
    let end = total_len.min(bytes.len());
    Ok(IpPacket {
        repr,
        payload: &bytes[header_len..end],
        payload_len: total_len - header_len,
    })
}

/// Reads the four address bytes at `at` (already length-checked).
fn addr(bytes: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::check_prefixes;
    use crate::wire::{LinkType, Transport, decode_frame};

    /// The first fragment of a 3000-byte UDP datagram from 127.0.0.1:5001
    /// to 127.0.0.1:5000, captured on `lo` with its MTU set to 1500.
    /// 20 + 8 + 1472 = 1500 bytes; the datagram is 8 + 3000 = 3008.
    const FIRST_FRAGMENT_HEADERS: [u8; 28] = [
        0x45, // version 4, IHL 5 (20 bytes)
        0x00, // DSCP 0, ECN 0
        0x05, 0xdc, // total length 1500
        0x37, 0x7a, // identification 0x377a
        0x20, 0x00, // flags: MF; fragment offset 0
        0x40, // TTL 64
        0x11, // protocol 17, UDP
        0x1f, 0x95, // header checksum
        0x7f, 0x00, 0x00, 0x01, // source 127.0.0.1
        0x7f, 0x00, 0x00, 0x01, // destination 127.0.0.1
        // UDP header
        0x13, 0x89, // source port 5001
        0x13, 0x88, // destination port 5000
        0x0b, 0xc0, // length 3008: the whole datagram, not this fragment
        0xe1, 0x78, // checksum (over the whole datagram)
    ];

    /// The second fragment of the same datagram: no UDP header, just the
    /// next 1480 bytes of it.
    const MIDDLE_FRAGMENT_HEADER: [u8; 20] = [
        0x45, 0x00, // version 4, IHL 5; DSCP/ECN 0
        0x05, 0xdc, // total length 1500
        0x37, 0x7a, // identification 0x377a, as in the first fragment
        0x20, 0xb9, // flags: MF; offset 0xb9 = 185 units of 8 = 1480 bytes
        0x40, 0x11, // TTL 64, protocol UDP
        0x1e, 0xdc, // header checksum
        0x7f, 0x00, 0x00, 0x01, // source 127.0.0.1
        0x7f, 0x00, 0x00, 0x01, // destination 127.0.0.1
    ];

    /// The last fragment: offset 2960, MF clear, 48 bytes of data.
    const LAST_FRAGMENT_HEADER: [u8; 20] = [
        0x45, 0x00, // version 4, IHL 5; DSCP/ECN 0
        0x00, 0x44, // total length 68
        0x37, 0x7a, // identification 0x377a
        0x01, 0x72, // flags: none; offset 0x172 = 370 units = 2960 bytes
        0x40, 0x11, // TTL 64, protocol UDP
        0x43, 0xbb, // header checksum
        0x7f, 0x00, 0x00, 0x01, // source 127.0.0.1
        0x7f, 0x00, 0x00, 0x01, // destination 127.0.0.1
    ];

    fn packet(headers: &[u8], data: usize) -> Vec<u8> {
        [headers, &vec![b'x'; data]].concat()
    }

    #[test]
    fn first_fragment_decodes_the_udp_header() {
        let bytes = packet(&FIRST_FRAGMENT_HEADERS, 1472);
        let frame = decode_frame(LinkType::Raw, &bytes).unwrap();
        let ip = &frame.ip;
        assert_eq!(ip.version, 4);
        assert_eq!(ip.src, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(ip.dst, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(ip.header_len, 20);
        assert_eq!(ip.total_len, 1500);
        assert_eq!(ip.ttl_or_hop_limit, 64);
        assert_eq!(ip.ident, Some(0x377a));
        assert_eq!(ip.protocol, 17);
        assert!(!ip.dont_fragment);
        let frag = Fragment {
            offset: 0,
            more: true,
            ident: 0x377a,
        };
        assert_eq!(ip.fragment, Some(frag));
        assert!(!frame.truncated);
        let udp = frame
            .udp()
            .expect("the first fragment holds the UDP header");
        assert_eq!((udp.src_port, udp.dst_port), (5001, 5000));
        assert_eq!(udp.length, 3008);
        // payload_len is what this fragment carries, not the datagram.
        assert_eq!(udp.payload_len, 1472);
        assert_eq!(udp.payload, vec![b'x'; 1472]);
        assert_eq!(
            frame.to_string(),
            "127.0.0.1:5001 > 127.0.0.1:5000 UDP len=1472 frag 14202:1480@0+"
        );
        check_prefixes(LinkType::Raw, &bytes, 28, bytes.len());
    }

    #[test]
    fn later_fragments_carry_no_transport_header() {
        let bytes = packet(&MIDDLE_FRAGMENT_HEADER, 1480);
        let frame = decode_frame(LinkType::Raw, &bytes).unwrap();
        let frag = frame.ip.fragment.unwrap();
        assert_eq!((frag.offset, frag.more, frag.ident), (1480, true, 0x377a));
        assert_eq!(frame.transport, Transport::Fragment { payload_len: 1480 });
        assert_eq!(
            frame.to_string(),
            "127.0.0.1 > 127.0.0.1 UDP frag 14202:1480@1480+"
        );
        check_prefixes(LinkType::Raw, &bytes, 20, bytes.len());

        let bytes = packet(&LAST_FRAGMENT_HEADER, 48);
        let frame = decode_frame(LinkType::Raw, &bytes).unwrap();
        let frag = frame.ip.fragment.unwrap();
        assert_eq!((frag.offset, frag.more), (2960, false));
        assert_eq!(frame.transport, Transport::Fragment { payload_len: 48 });
        check_prefixes(LinkType::Raw, &bytes, 20, bytes.len());
    }

    #[test]
    fn header_display() {
        let bytes = packet(&MIDDLE_FRAGMENT_HEADER, 1480);
        let packet = decode(&bytes).unwrap();
        assert_eq!(
            packet.repr.to_string(),
            "IPv4 127.0.0.1 > 127.0.0.1 UDP ttl=64 id=14202 len=1500 frag 14202@1480+"
        );
    }

    #[test]
    fn options_are_skipped() {
        // IHL 6: one word of options (NOP NOP NOP EOL) before the payload.
        let mut bytes = MIDDLE_FRAGMENT_HEADER.to_vec();
        bytes[0] = 0x46;
        bytes[2..4].copy_from_slice(&32u16.to_be_bytes());
        bytes.extend_from_slice(&[1, 1, 1, 0]);
        bytes.extend_from_slice(b"payload!");
        let packet = decode(&bytes).unwrap();
        assert_eq!(packet.repr.header_len, 24);
        assert_eq!(packet.payload, b"payload!");
        assert_eq!(packet.payload_len, 8);
    }

    /// Sets IHL and total length on a copy of the middle fragment, keeps
    /// `captured` bytes of it, and returns the error decoding gives.
    fn lying(ihl: u8, total_len: u16, captured: usize) -> DecodeError {
        let mut bytes = packet(&MIDDLE_FRAGMENT_HEADER, 1480);
        bytes[0] = 0x40 | ihl;
        bytes[2..4].copy_from_slice(&total_len.to_be_bytes());
        bytes.truncate(captured);
        decode(&bytes).map(|_| ()).unwrap_err()
    }

    #[test]
    fn lying_length_fields_are_errors() {
        // IHL 15 (60 bytes) in a 40-byte packet.
        assert_eq!(
            lying(15, 40, 40),
            DecodeError::BadHeaderLength {
                layer: Layer::Ipv4,
                len: 60,
                min: 20,
                max: 40
            }
        );
        // IHL 15 and a total length that agrees, but a 30-byte capture.
        assert_eq!(
            lying(15, 1500, 30),
            DecodeError::Truncated {
                layer: Layer::Ipv4,
                need: 60,
                have: 30
            }
        );
        // IHL below 5.
        assert!(matches!(
            lying(4, 1500, 1500),
            DecodeError::BadHeaderLength { len: 16, .. }
        ));
        // Total length smaller than any header.
        assert_eq!(
            lying(5, 19, 1500),
            DecodeError::BadLength {
                layer: Layer::Ipv4,
                len: 19,
                min: 20,
                max: 65535
            }
        );
        // Total length smaller than this header (IHL 6 = 24 bytes).
        assert!(matches!(
            lying(6, 22, 1500),
            DecodeError::BadHeaderLength {
                len: 24,
                max: 22,
                ..
            }
        ));
        // Version 6 in what the link layer called IPv4.
        let mut bytes = MIDDLE_FRAGMENT_HEADER;
        bytes[0] = 0x65;
        assert_eq!(
            decode(&bytes).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Ipv4,
                found: 6
            }
        );
    }

    #[test]
    fn total_length_bounds_the_payload() {
        // A capture longer than the total length (padding): the excess goes.
        let mut bytes = packet(&LAST_FRAGMENT_HEADER, 48);
        bytes.extend_from_slice(&[0xee; 10]);
        let packet = decode(&bytes).unwrap();
        assert_eq!(packet.payload.len(), 48);
        // A capture shorter than the total length: what is there, and the
        // real length beside it.
        let bytes = packet_prefix(&LAST_FRAGMENT_HEADER, 48, 30);
        let packet = decode(&bytes).unwrap();
        assert_eq!((packet.payload.len(), packet.payload_len), (10, 48));
    }

    fn packet_prefix(headers: &[u8], data: usize, keep: usize) -> Vec<u8> {
        let mut bytes = packet(headers, data);
        bytes.truncate(keep);
        bytes
    }
}
