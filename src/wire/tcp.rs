//! TCP segments (RFC 9293): header, flags, options, and the payload.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-------------------------------+-------------------------------+
//! |          Source Port          |       Destination Port        |
//! +-------------------------------+-------------------------------+
//! |                        Sequence Number                        |
//! |                    Acknowledgment Number                      |
//! +-------+-----+-+---------------+-------------------------------+
//! |  Data | Rsv |A|C|E|U|A|P|R|S|F|                               |
//! | Offset|     |E|W|C|R|C|S|S|Y|I|            Window             |
//! |       |     | |R|E|G|K|H|T|N|N|                               |
//! +-------+-----+-+---------------+-------------------------------+
//! |           Checksum            |         Urgent Pointer        |
//! +-------------------------------+-------------------------------+
//! |                    Options (data offset > 5)                  |
//! +---------------------------------------------------------------+
//! ```
//!
//! TCP has no length field of its own: the segment ends where the IP
//! packet ends, so the decoder takes the segment length from IP.

use std::fmt;
use std::ops::BitOr;

use super::seq::SeqNumber;
use super::tcp_option::{TcpOption, parse_options};
use super::{DecodeError, Layer, header_fits, need, read_u16, read_u32};

/// Byte ranges of the TCP header fields.
pub mod field {
    use crate::wire::Field;

    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Sequence number of the first data byte (of the SYN, in a SYN).
    pub const SEQ_NUM: Field = 4..8;
    /// The next sequence number the sender expects (valid with ACK).
    pub const ACK_NUM: Field = 8..12;
    /// Data offset (4 bits, in 32-bit words), 3 reserved bits, 9 flags.
    pub const FLAGS: Field = 12..14;
    /// Receive window (before window scaling).
    pub const WIN_SIZE: Field = 14..16;
    /// Checksum over a pseudo-header and the whole segment.
    pub const CHECKSUM: Field = 16..18;
    /// Urgent pointer (valid with URG).
    pub const URGENT: Field = 18..20;
}

/// The header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// The largest header the data offset can express: 15 words.
pub const MAX_HEADER_LEN: usize = 60;

/// The control bits of a TCP header.
///
/// [`Display`](fmt::Display) lists the set flags separated by commas in
/// this fixed order, whatever their bit positions: SYN, FIN, RST, PSH,
/// ACK, URG, ECE, CWR, AE. So a handshake reads `SYN`, `SYN,ACK`, `ACK`,
/// and a segment with no flag at all reads `none`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u16);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// Synchronize sequence numbers (opens a connection).
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// Push: deliver to the application without waiting.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// The acknowledgment number is valid.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// The urgent pointer is valid.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECN echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// Congestion window reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// Accurate ECN (RFC 9768); the old, unused NS bit (RFC 3540).
    pub const AE: TcpFlags = TcpFlags(0x100);

    /// The names of the flags, in display order.
    const NAMES: [(TcpFlags, &'static str); 9] = [
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"),
        (TcpFlags::CWR, "CWR"),
        (TcpFlags::AE, "AE"),
    ];

    /// Flags from the low 9 bits of the header's flags field; the data
    /// offset and reserved bits above them are dropped.
    pub const fn from_bits(bits: u16) -> TcpFlags {
        TcpFlags(bits & 0x01ff)
    }

    /// The flags as the 9 low bits of the header field.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// True when every flag of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;

    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut sep = "";
        for (flag, name) in TcpFlags::NAMES {
            if self.contains(flag) {
                write!(f, "{sep}{name}")?;
                sep = ",";
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpFlags({self})")
    }
}

/// A TCP segment, owned and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number (absolute, as on the wire).
    pub seq: SeqNumber,
    /// Acknowledgment number as on the wire; meaningful only with ACK.
    pub ack: SeqNumber,
    /// Control bits.
    pub flags: TcpFlags,
    /// Receive window as on the wire, before the window scale applies.
    pub window: u16,
    /// Header length in bytes (data offset * 4), options included.
    pub header_len: usize,
    /// The checksum field as on the wire (often partial on loopback).
    pub checksum: u16,
    /// Urgent pointer; meaningful only with URG.
    pub urgent: u16,
    /// Options in the order they appear, padding left out.
    pub options: Vec<TcpOption>,
    /// The data bytes that were captured.
    pub payload: Vec<u8>,
    /// The data length from the IP header: the real length, even when the
    /// capture kept fewer bytes than that in `payload`.
    pub payload_len: usize,
}

impl TcpRepr {
    /// Sequence space this segment uses: its data, plus one each for SYN
    /// and FIN. The next segment from this side starts at `seq + seq_len()`.
    pub fn seq_len(&self) -> usize {
        let syn = usize::from(self.flags.contains(TcpFlags::SYN));
        let fin = usize::from(self.flags.contains(TcpFlags::FIN));
        self.payload_len + syn + fin
    }

    /// The MSS option, if present.
    pub fn mss(&self) -> Option<u16> {
        self.options.iter().find_map(|o| match o {
            TcpOption::Mss(mss) => Some(*mss),
            _ => None,
        })
    }

    /// The window scale shift, if present.
    pub fn window_scale(&self) -> Option<u8> {
        self.options.iter().find_map(|o| match o {
            TcpOption::WindowScale(shift) => Some(*shift),
            _ => None,
        })
    }
}

/// Decodes a TCP segment. `segment` is the captured part of it (already cut
/// at the IP length), `segment_len` the length the IP header gives.
///
/// The header must fit in the segment (else `BadLength` or
/// `BadHeaderLength`) and be captured in full, options included (else
/// `Truncated`); the data may be cut.
pub(crate) fn decode(segment: &[u8], segment_len: usize) -> Result<TcpRepr, DecodeError> {
    if segment_len < MIN_HEADER_LEN {
        return Err(DecodeError::BadLength {
            layer: Layer::Tcp,
            len: segment_len,
            min: MIN_HEADER_LEN,
            max: usize::from(u16::MAX),
        });
    }
    need(Layer::Tcp, segment, MIN_HEADER_LEN)?;
    let offset_and_flags = read_u16(segment, field::FLAGS);
    let header_len = usize::from(offset_and_flags >> 12) * 4;
    header_fits(
        Layer::Tcp,
        segment,
        header_len,
        MIN_HEADER_LEN,
        MAX_HEADER_LEN,
        segment_len,
    )?;
    Ok(TcpRepr {
        src_port: read_u16(segment, field::SRC_PORT),
        dst_port: read_u16(segment, field::DST_PORT),
        seq: SeqNumber(read_u32(segment, field::SEQ_NUM)),
        ack: SeqNumber(read_u32(segment, field::ACK_NUM)),
        flags: TcpFlags::from_bits(offset_and_flags),
        window: read_u16(segment, field::WIN_SIZE),
        header_len,
        checksum: read_u16(segment, field::CHECKSUM),
        urgent: read_u16(segment, field::URGENT),
        options: parse_options(&segment[MIN_HEADER_LEN..header_len]),
        payload: segment[header_len..].to_vec(),
        payload_len: segment_len - header_len,
    })
}

/// `TCP [SYN,ACK] seq=0 ack=1 win=65483 mss=65495 sackOK ts=1/2 ws=7 len=0`:
/// `ack` only with ACK, `urg` only with URG, options in wire order, and
/// `len` the real data length. Ports are left to [`Frame`](super::Frame),
/// which writes them beside the addresses.
impl fmt::Display for TcpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TCP [{}] seq={}", self.flags, self.seq)?;
        if self.flags.contains(TcpFlags::ACK) {
            write!(f, " ack={}", self.ack)?;
        }
        write!(f, " win={}", self.window)?;
        if self.flags.contains(TcpFlags::URG) {
            write!(f, " urg={}", self.urgent)?;
        }
        for option in &self.options {
            write!(f, " {option}")?;
        }
        write!(f, " len={}", self.payload_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::check_prefixes;
    use crate::wire::{LinkType, decode_frame};

    /// A SYN from 127.0.0.1:40000 to 127.0.0.1:7000, captured on `lo`
    /// (MTU 65536) as an Ethernet frame. 14 + 20 + 40 = 74 bytes.
    const SYN: [u8; 74] = [
        // Ethernet: lo has no addresses, only the EtherType
        0, 0, 0, 0, 0, 0, // destination MAC
        0, 0, 0, 0, 0, 0, // source MAC
        0x08, 0x00, // EtherType IPv4
        // IPv4
        0x45, 0x00, // version 4, IHL 5; DSCP/ECN 0
        0x00, 0x3c, // total length 60
        0xd5, 0x79, // identification
        0x40, 0x00, // flags DF, offset 0
        0x40, 0x06, // TTL 64, protocol TCP
        0x67, 0x40, // header checksum
        0x7f, 0x00, 0x00, 0x01, // source 127.0.0.1
        0x7f, 0x00, 0x00, 0x01, // destination 127.0.0.1
        // TCP
        0x9c, 0x40, // source port 40000
        0x1b, 0x58, // destination port 7000
        0xf5, 0xfc, 0xe9, 0xf9, // sequence number 4126992889 (random ISN)
        0x00, 0x00, 0x00, 0x00, // acknowledgment number: none yet
        0xa0, // data offset 10 words = 40 bytes
        0x02, // flags: SYN
        0xff, 0xd7, // window 65495
        0xfe, 0x30, // checksum: partial (pseudo-header sum only)
        0x00, 0x00, // urgent pointer
        0x02, 0x04, 0xff, 0xd7, // MSS 65495 (MTU 65536 - 40 - 1 word slack)
        0x04, 0x02, // SACK permitted
        0x08, 0x0a, // timestamps:
        0x91, 0x6a, 0x28, 0xfd, //   TSval 2439653629
        0x00, 0x00, 0x00, 0x00, //   TSecr 0
        0x01, // NOP, to align what follows
        0x03, 0x03, 0x0a, // window scale: shift 10 (x1024)
    ];

    /// The client's first data, `hello`, on another connection (lo MTU
    /// 1500): 14 + 20 + 32 + 5 = 71 bytes.
    const DATA: [u8; 71] = [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, // Ethernet, IPv4
        0x45, 0x00, 0x00, 0x39, // IPv4, total length 57
        0xbe, 0x10, 0x40, 0x00, // identification, DF
        0x40, 0x06, 0x7e, 0xac, // TTL 64, TCP, header checksum
        0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01, // 127.0.0.1 > 127.0.0.1
        0x9c, 0x40, 0x1b, 0x58, // ports 40000 > 7000
        0xf0, 0xe3, 0x07, 0x41, // sequence number 4041410369
        0x74, 0x20, 0x2e, 0x68, // acknowledgment number 1948266088
        0x80, 0x18, // data offset 8 words (32 bytes); PSH, ACK
        0x00, 0x3f, // window 63 (x1024: scaled)
        0xfe, 0x2d, // checksum (partial)
        0x00, 0x00, // urgent pointer
        0x01, 0x01, // NOP NOP
        0x08, 0x0a, 0x91, 0x6a, 0x13, 0x98, 0x9a, 0x48, 0xd0, 0xd7, // timestamps
        b'h', b'e', b'l', b'l', b'o',
    ];

    #[test]
    fn syn_with_linux_options() {
        let frame = decode_frame(LinkType::Ethernet, &SYN).unwrap();
        assert_eq!(frame.ip.ident, Some(0xd579));
        assert!(frame.ip.dont_fragment);
        let tcp = frame.tcp().unwrap();
        assert_eq!((tcp.src_port, tcp.dst_port), (40000, 7000));
        assert_eq!(tcp.seq, SeqNumber(4_126_992_889));
        assert_eq!(tcp.ack, SeqNumber(0));
        assert_eq!(tcp.flags, TcpFlags::SYN);
        assert_eq!(tcp.window, 65495);
        assert_eq!(tcp.header_len, 40);
        assert_eq!((tcp.checksum, tcp.urgent), (0xfe30, 0));
        assert_eq!(
            tcp.options,
            vec![
                TcpOption::Mss(65495),
                TcpOption::SackPermitted,
                TcpOption::Timestamps {
                    tsval: 2_439_653_629,
                    tsecr: 0
                },
                TcpOption::WindowScale(10),
            ]
        );
        assert_eq!((tcp.mss(), tcp.window_scale()), (Some(65495), Some(10)));
        assert_eq!((tcp.payload.len(), tcp.payload_len), (0, 0));
        assert_eq!(tcp.seq_len(), 1, "a SYN takes one sequence number");
        assert!(!frame.truncated);
        assert_eq!(
            frame.to_string(),
            "127.0.0.1:40000 > 127.0.0.1:7000 TCP [SYN] seq=4126992889 win=65495 \
             mss=65495 sackOK ts=2439653629/0 ws=10 len=0"
        );
        check_prefixes(LinkType::Ethernet, &SYN, SYN.len(), SYN.len());
    }

    #[test]
    fn data_segment() {
        let frame = decode_frame(LinkType::Ethernet, &DATA).unwrap();
        let tcp = frame.tcp().unwrap();
        assert_eq!(tcp.seq, SeqNumber(4_041_410_369));
        assert_eq!(tcp.ack, SeqNumber(1_948_266_088));
        assert_eq!(tcp.flags, TcpFlags::PSH | TcpFlags::ACK);
        assert_eq!((tcp.window, tcp.header_len), (63, 32));
        assert_eq!(
            tcp.options,
            vec![TcpOption::Timestamps {
                tsval: 0x916a_1398,
                tsecr: 0x9a48_d0d7
            }]
        );
        assert_eq!(
            (tcp.payload.as_slice(), tcp.payload_len),
            (&b"hello"[..], 5)
        );
        assert_eq!(tcp.seq_len(), 5);
        assert_eq!(
            tcp.to_string(),
            "TCP [PSH,ACK] seq=4041410369 ack=1948266088 win=63 \
             ts=2439648152/2588463319 len=5"
        );
        // Headers end at 14 + 20 + 32 = 66; prefixes beyond that cut data.
        check_prefixes(LinkType::Ethernet, &DATA, 66, DATA.len());
        let cut = decode_frame(LinkType::Ethernet, &DATA[..68]).unwrap();
        assert!(cut.truncated);
        let tcp = cut.tcp().unwrap();
        assert_eq!((tcp.payload.as_slice(), tcp.payload_len), (&b"he"[..], 5));
        assert!(cut.to_string().ends_with("len=5 [truncated]"));
    }

    /// The data segment's TCP header with another data offset.
    fn with_data_offset(words: u8) -> DecodeError {
        let mut bytes = DATA;
        bytes[46] = words << 4;
        decode_frame(LinkType::Ethernet, &bytes).unwrap_err()
    }

    #[test]
    fn lying_data_offsets() {
        // 15 words = 60 bytes, in a 37-byte segment.
        assert_eq!(
            with_data_offset(15),
            DecodeError::BadHeaderLength {
                layer: Layer::Tcp,
                len: 60,
                min: 20,
                max: 37
            }
        );
        assert_eq!(
            with_data_offset(4),
            DecodeError::BadHeaderLength {
                layer: Layer::Tcp,
                len: 16,
                min: 20,
                max: 37
            }
        );
        // An IP total length that leaves 12 bytes for TCP.
        let mut bytes = DATA;
        bytes[16..18].copy_from_slice(&32u16.to_be_bytes());
        assert!(matches!(
            decode_frame(LinkType::Ethernet, &bytes).unwrap_err(),
            DecodeError::BadLength {
                layer: Layer::Tcp,
                len: 12,
                ..
            }
        ));
    }

    #[test]
    fn flags_display_in_fixed_order() {
        let all = TcpFlags::from_bits(0xffff);
        assert_eq!(all.bits(), 0x1ff);
        assert_eq!(all.to_string(), "SYN,FIN,RST,PSH,ACK,URG,ECE,CWR,AE");
        assert_eq!((TcpFlags::ACK | TcpFlags::SYN).to_string(), "SYN,ACK");
        assert_eq!((TcpFlags::FIN | TcpFlags::ACK).to_string(), "FIN,ACK");
        assert_eq!(TcpFlags::default().to_string(), "none");
        assert!(all.contains(TcpFlags::RST | TcpFlags::URG));
        assert!(!TcpFlags::ACK.contains(TcpFlags::SYN | TcpFlags::ACK));
    }
}
