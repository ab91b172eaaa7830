//! IPv6 (RFC 8200): the fixed header and the chain of extension headers.
//!
//! ```text
//! +-------+---------------+---------------------------------------+
//! |Version| Traffic Class |              Flow Label               |
//! +-------+---------------+-------+---------------+---------------+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-------------------------------+---------------+---------------+
//! |                 Source Address (16 bytes)                     |
//! |               Destination Address (16 bytes)                  |
//! +---------------------------------------------------------------+
//! ```
//!
//! Next Header names either the transport protocol or an extension header
//! that sits in front of it, and each extension header has a Next Header
//! of its own. The decoder walks that chain (hop-by-hop, routing,
//! destination options, fragment, authentication) to the transport header.

use std::net::{IpAddr, Ipv6Addr};

use super::ip::{Fragment, IpPacket, IpRepr, protocol};
use super::{DecodeError, Layer, need, read_u16, read_u32};

/// Byte ranges of the IPv6 fixed header fields.
pub mod field {
    use crate::wire::Field;

    /// Version (4 bits), traffic class (8) and flow label (20).
    pub const VER_TC_FLOW: Field = 0..4;
    /// Length of everything after the fixed header, extension headers
    /// included.
    pub const LENGTH: Field = 4..6;
    /// The first extension header or the transport protocol.
    pub const NXT_HDR: usize = 6;
    /// Hop limit, IPv6's TTL.
    pub const HOP_LIMIT: usize = 7;
    /// Source address.
    pub const SRC_ADDR: Field = 8..24;
    /// Destination address.
    pub const DST_ADDR: Field = 24..40;
}

/// Byte ranges shared by extension headers, and the fragment header's own.
pub mod ext_field {
    use crate::wire::Field;

    /// Next Header, in every extension header.
    pub const NXT_HDR: usize = 0;
    /// Header length: in 8-byte units beyond the first 8 for hop-by-hop,
    /// routing and destination options; in 4-byte units minus 2 for AH.
    /// Reserved (zero) in the fragment header, which is always 8 bytes.
    pub const LENGTH: usize = 1;
    /// Fragment header: offset in 8-byte units (13 bits), 2 reserved
    /// bits, M (more fragments).
    pub const FRAG_OFF: Field = 2..4;
    /// Fragment header: identification shared by the fragments.
    pub const FRAG_IDENT: Field = 4..8;
}

/// The fixed header.
pub const HEADER_LEN: usize = 40;
/// The smallest extension header (and the size of a fragment header).
const MIN_EXT_LEN: usize = 8;

/// Decodes an IPv6 header and its extension headers, and finds the payload.
///
/// Extension headers are headers: one the capture cut is
/// [`DecodeError::Truncated`], one longer than the payload length is
/// [`DecodeError::BadHeaderLength`]. The walk stops at the first Next
/// Header that is not an extension header we know, which becomes
/// [`IpRepr::protocol`], and after a fragment header with a nonzero offset,
/// because what follows it is the middle of someone else's data.
///
/// Jumbograms (payload length 0 and a hop-by-hop jumbo option, RFC 2675)
/// are not decoded: they give `BadHeaderLength`.
pub(crate) fn decode(bytes: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    need(Layer::Ipv6, bytes, HEADER_LEN)?;
    let version = bytes[0] >> 4;
    if version != 6 {
        return Err(DecodeError::BadVersion {
            layer: Layer::Ipv6,
            found: version,
        });
    }
    let declared = usize::from(read_u16(bytes, field::LENGTH));
    let total_len = HEADER_LEN + declared;
    // What follows the fixed header, as captured, cut at the payload length.
    let after = &bytes[HEADER_LEN..total_len.min(bytes.len())];

    let mut next = bytes[field::NXT_HDR];
    let mut ext_len = 0;
    let mut fragment = None;
    loop {
        let len_of: fn(u8) -> usize = match next {
            protocol::HOP_BY_HOP | protocol::ROUTING | protocol::DESTINATION_OPTIONS => {
                |len| (usize::from(len) + 1) * 8
            }
            protocol::FRAGMENT => |_| MIN_EXT_LEN,
            protocol::AH => |len| (usize::from(len) + 2) * 4,
            _ => break,
        };
        // Each header is at least 8 bytes, so the walk ends within 8192
        // steps even on a maximal payload of garbage.
        let room = declared - ext_len;
        if room < MIN_EXT_LEN {
            return Err(bad_ext_len(MIN_EXT_LEN, room));
        }
        let ext = &after[ext_len.min(after.len())..];
        need(Layer::Ipv6Extension, ext, MIN_EXT_LEN)?;
        let len = len_of(ext[ext_field::LENGTH]);
        if len > room {
            return Err(bad_ext_len(len, room));
        }
        need(Layer::Ipv6Extension, ext, len)?;

        if next == protocol::FRAGMENT {
            let off = read_u16(ext, ext_field::FRAG_OFF);
            fragment = Some(Fragment {
                offset: usize::from(off >> 3) * 8,
                more: off & 1 != 0,
                ident: read_u32(ext, ext_field::FRAG_IDENT),
            });
        }
        next = ext[ext_field::NXT_HDR];
        ext_len += len;
        if fragment.is_some_and(|f| f.offset > 0) {
            break;
        }
    }

    let repr = IpRepr {
        version: 6,
        src: IpAddr::V6(addr(bytes, field::SRC_ADDR.start)),
        dst: IpAddr::V6(addr(bytes, field::DST_ADDR.start)),
        header_len: HEADER_LEN + ext_len,
        total_len,
        ttl_or_hop_limit: bytes[field::HOP_LIMIT],
        ident: None,
        fragment,
        protocol: next,
        dont_fragment: false,
    };
    Ok(IpPacket {
        repr,
        payload: &after[ext_len.min(after.len())..],
        payload_len: declared - ext_len,
    })
}

/// An extension header of `len` bytes where only `room` are left.
fn bad_ext_len(len: usize, room: usize) -> DecodeError {
    DecodeError::BadHeaderLength {
        layer: Layer::Ipv6Extension,
        len,
        min: MIN_EXT_LEN,
        max: room,
    }
}

/// Reads the sixteen address bytes at `at` (already length-checked).
fn addr(bytes: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0; 16];
    octets.copy_from_slice(&bytes[at..at + 16]);
    Ipv6Addr::from(octets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::check_prefixes;
    use crate::wire::{LinkType, SeqNumber, TcpFlags, TcpOption, Transport, decode_frame};

    const LOOPBACK: [u8; 16] = Ipv6Addr::LOCALHOST.octets();

    /// A data segment `hi6` from [::1]:40001 to [::1]:7001, captured on `lo`.
    fn tcp_segment() -> Vec<u8> {
        let mut b = vec![
            0x60, 0x03, 0xc4, 0xc7, // version 6, traffic class 0, flow label 0x3c4c7
            0x00, 0x23, // payload length 35 = 32 TCP header + 3 data
            0x06, // next header 6, TCP
            0x40, // hop limit 64
        ];
        b.extend_from_slice(&LOOPBACK); // source ::1
        b.extend_from_slice(&LOOPBACK); // destination ::1
        b.extend_from_slice(&[
            0x9c, 0x41, // source port 40001
            0x1b, 0x59, // destination port 7001
            0x97, 0x93, 0xb8, 0xac, // sequence number
            0x4e, 0xc5, 0x70, 0x30, // acknowledgment number
            0x80, // data offset 8 words (32 bytes)
            0x18, // flags PSH, ACK
            0x00, 0x40, // window 64 (scaled by 2^10 on this connection)
            0x00, 0x2b, // checksum: partial, as usual on lo
            0x00, 0x00, // urgent pointer
            0x01, 0x01, // NOP, NOP
            0x08, 0x0a, 0xfa, 0x8e, 0x03, 0xdb, // timestamps: TSval 4203611099
            0x5d, 0xe7, 0xde, 0x6b, //             TSecr 1575476843
            b'h', b'i', b'6', // data
        ]);
        b
    }

    #[test]
    fn tcp_over_ipv6() {
        let bytes = tcp_segment();
        let frame = decode_frame(LinkType::Raw, &bytes).unwrap();
        let ip = &frame.ip;
        assert_eq!(ip.version, 6);
        assert_eq!(ip.src, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(ip.dst, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!((ip.header_len, ip.total_len), (40, 75));
        assert_eq!(ip.ttl_or_hop_limit, 64);
        assert_eq!((ip.ident, ip.fragment, ip.protocol), (None, None, 6));
        assert!(!ip.dont_fragment);
        let tcp = frame.tcp().unwrap();
        assert_eq!((tcp.src_port, tcp.dst_port), (40001, 7001));
        assert_eq!(tcp.seq, SeqNumber(0x9793_b8ac));
        assert_eq!(tcp.ack, SeqNumber(0x4ec5_7030));
        assert_eq!(tcp.flags, TcpFlags::PSH | TcpFlags::ACK);
        assert_eq!(tcp.window, 64);
        assert_eq!(
            tcp.options,
            vec![TcpOption::Timestamps {
                tsval: 4_203_611_099,
                tsecr: 1_575_476_843
            }]
        );
        assert_eq!((tcp.payload.as_slice(), tcp.payload_len), (&b"hi6"[..], 3));
        assert_eq!(
            frame.to_string(),
            "[::1]:40001 > [::1]:7001 TCP [PSH,ACK] seq=2543040684 ack=1321562160 \
             win=64 ts=4203611099/1575476843 len=3"
        );
        check_prefixes(LinkType::Raw, &bytes, 72, bytes.len());
    }

    /// The first fragment of a 3000-byte UDP datagram from [::1]:43225 to
    /// [::1]:5002, `lo` MTU 1500: 40 + 8 fragment header + 8 UDP + 1440.
    fn first_fragment() -> Vec<u8> {
        let mut b = vec![
            0x60, 0x0d, 0x59, 0xa6, // version 6, flow label 0xd59a6
            0x05, 0xb0, // payload length 1456
            0x2c, // next header 44, fragment
            0x40, // hop limit 64
        ];
        b.extend_from_slice(&LOOPBACK);
        b.extend_from_slice(&LOOPBACK);
        b.extend_from_slice(&[
            // fragment header
            0x11, // next header 17, UDP
            0x00, // reserved
            0x00, 0x01, // offset 0, M set
            0x79, 0x88, 0x7f, 0x88, // identification 0x79887f88
            // UDP header
            0xa8, 0xd9, // source port 43225
            0x13, 0x8a, // destination port 5002
            0x0b, 0xc0, // length 3008, the whole datagram
            0x68, 0x45, // checksum
        ]);
        b.extend_from_slice(&[b'y'; 1440]);
        b
    }

    #[test]
    fn fragment_header_fills_fragment() {
        let bytes = first_fragment();
        let frame = decode_frame(LinkType::Raw, &bytes).unwrap();
        let frag = Fragment {
            offset: 0,
            more: true,
            ident: 0x7988_7f88,
        };
        assert_eq!(frame.ip.fragment, Some(frag));
        assert_eq!((frame.ip.header_len, frame.ip.protocol), (48, 17));
        let udp = frame.udp().unwrap();
        assert_eq!(
            (udp.src_port, udp.dst_port, udp.length),
            (43225, 5002, 3008)
        );
        assert_eq!(udp.payload_len, 1440);
        check_prefixes(LinkType::Raw, &bytes, 56, bytes.len());

        // The next fragment: offset 1448 (181 units), M still set. Its
        // data starts mid-datagram, so nothing after the fragment header
        // is parsed, even though it happens to look like a UDP header.
        let mut bytes = bytes;
        bytes[42..44].copy_from_slice(&((181 << 3) | 1u16).to_be_bytes());
        let frame = decode_frame(LinkType::Raw, &bytes).unwrap();
        assert_eq!(frame.ip.fragment.unwrap().offset, 1448);
        assert_eq!(frame.transport, Transport::Fragment { payload_len: 1448 });
        assert_eq!(
            frame.to_string(),
            "::1 > ::1 UDP frag 2038988680:1448@1448+"
        );
    }

    #[test]
    fn walks_hop_by_hop_and_destination_options() {
        let mut b = vec![0x60, 0, 0, 0, 0x00, 0x1c, protocol::HOP_BY_HOP, 1];
        b.extend_from_slice(&LOOPBACK);
        b.extend_from_slice(&LOOPBACK);
        b.extend_from_slice(&[
            // hop-by-hop: next = destination options, length 0 (8 bytes),
            // a router alert option (type 5, length 2, value 0)
            protocol::DESTINATION_OPTIONS,
            0,
            0x05,
            0x02,
            0x00,
            0x00,
            0x01,
            0x00,
            // destination options: next = ICMPv6, length 1 (16 bytes), PadN
            protocol::ICMPV6,
            1,
            0x01,
            0x0c,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            // ICMPv6 echo request header, 4 bytes
            0x80,
            0x00,
            0x00,
            0x00,
        ]);
        let frame = decode_frame(LinkType::Raw, &b).unwrap();
        assert_eq!((frame.ip.header_len, frame.ip.protocol), (64, 58));
        assert_eq!(
            frame.transport,
            Transport::Other {
                protocol: 58,
                payload_len: 4
            }
        );
        assert_eq!(frame.to_string(), "::1 > ::1 ICMPv6 len=4");
        check_prefixes(LinkType::Raw, &b, 64, b.len());

        // The destination options header claims 2040 bytes (length 254).
        b[49] = 254;
        assert_eq!(
            decode(&b).unwrap_err(),
            DecodeError::BadHeaderLength {
                layer: Layer::Ipv6Extension,
                len: 2040,
                min: 8,
                max: 20
            }
        );
        // A payload length too small for even one extension header.
        b[4..6].copy_from_slice(&4u16.to_be_bytes());
        assert!(matches!(
            decode(&b).unwrap_err(),
            DecodeError::BadHeaderLength { len: 8, max: 4, .. }
        ));
    }

    #[test]
    fn fixed_header_checks() {
        let mut bytes = tcp_segment();
        bytes[0] = 0x45;
        assert_eq!(
            decode(&bytes).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Ipv6,
                found: 4
            }
        );
        // A payload length too small for the TCP header: TCP's error.
        let mut bytes = tcp_segment();
        bytes[4..6].copy_from_slice(&10u16.to_be_bytes());
        assert!(matches!(
            decode_frame(LinkType::Raw, &bytes).unwrap_err(),
            DecodeError::BadLength {
                layer: Layer::Tcp,
                ..
            }
        ));
    }
}
