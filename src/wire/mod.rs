//! Frame decoders: from the bytes a capture returns to owned, validated
//! records of every layer (link, IP, TCP or UDP).
//!
//! # Layout
//!
//! One file per protocol, in the style of smoltcp's `wire` module:
//!
//! - [`ethernet`]: Ethernet II (with 802.1Q/802.1ad tags) and Linux cooked
//!   capture (SLL), the link layers a capture on `lo` can hand us.
//! - [`ip`]: the version-independent [`IpRepr`] and IP fragments.
//! - [`ipv4`] and [`ipv6`] (with its extension-header chain).
//! - [`tcp`], [`tcp_option`] and [`seq`] (wrapping sequence numbers).
//! - [`udp`].
//! - [`checksum`]: the Internet checksum, offered as a check, never enforced.
//!
//! Each protocol file names its fields as byte ranges (`field::SRC_PORT`),
//! checks every length field against the bytes it has before reading
//! anything behind it, and ends with tests on an annotated byte fixture.
//!
//! # What "captured" means
//!
//! A capture may keep fewer bytes than the packet had (a snap length, a
//! small read buffer). The length fields in the IP header are the truth
//! about the packet; the captured bytes are what we can show. So:
//!
//! - a header cut by the capture is an error ([`DecodeError::Truncated`]);
//! - a payload cut by the capture is not: the record keeps the bytes that
//!   are there and the real length beside them (`payload.len() <
//!   payload_len`), and [`Frame::truncated`] is set;
//! - bytes beyond the IP total length (Ethernet padding up to 60 bytes) are
//!   ignored.
//!
//! A length field that contradicts the packet that holds it (an IPv4 total
//! length smaller than its header, a TCP data offset pointing past the end
//! of the segment) is an error, never a panic. `fuzz/` and
//! `tests/wire_fixtures.rs` feed the decoder garbage to keep it that way.
//!
//! # Checksums
//!
//! The decoder does not verify checksums. On loopback the kernel leaves
//! TCP and UDP checksums unfinished (`CHECKSUM_PARTIAL`: the field holds
//! only the pseudo-header sum, for a NIC that `lo` does not have), so a
//! strict decoder would reject every segment and datagram it sees there.
//! [`transport_checksum_ok`] checks on request.

pub mod checksum;
pub mod ethernet;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod seq;
pub mod tcp;
pub mod tcp_option;
pub mod udp;

use std::fmt;
use std::net::SocketAddr;

pub use ethernet::{EthernetRepr, MacAddr, SllRepr};
pub use ip::{Fragment, IpRepr};
pub use seq::SeqNumber;
pub use tcp::{TcpFlags, TcpRepr};
pub use tcp_option::TcpOption;
pub use udp::UdpRepr;

/// A header field as a byte range, as smoltcp spells it.
pub(crate) type Field = std::ops::Range<usize>;

/// Reads a big-endian `u16` from a field the caller has length-checked.
pub(crate) fn read_u16(bytes: &[u8], field: Field) -> u16 {
    let b = &bytes[field];
    u16::from_be_bytes([b[0], b[1]])
}

/// Reads a big-endian `u32` from a field the caller has length-checked.
pub(crate) fn read_u32(bytes: &[u8], field: Field) -> u32 {
    let b = &bytes[field];
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Fails with [`DecodeError::Truncated`] unless `bytes` holds `need` bytes.
pub(crate) fn need(layer: Layer, bytes: &[u8], need: usize) -> Result<(), DecodeError> {
    if bytes.len() < need {
        return Err(DecodeError::Truncated {
            layer,
            need,
            have: bytes.len(),
        });
    }
    Ok(())
}

/// Checks a header-length field (IPv4 IHL, TCP data offset): at least
/// `min`, at most `max`, and within the `room` the packet's own length
/// field leaves. Then the captured `bytes` must hold the whole header.
pub(crate) fn header_fits(
    layer: Layer,
    bytes: &[u8],
    header_len: usize,
    min: usize,
    max: usize,
    room: usize,
) -> Result<(), DecodeError> {
    if header_len < min || header_len > room {
        return Err(DecodeError::BadHeaderLength {
            layer,
            len: header_len,
            min,
            max: room.min(max),
        });
    }
    need(layer, bytes, header_len)
}

/// The protocol layer an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Ethernet II header.
    Ethernet,
    /// An 802.1Q or 802.1ad VLAN tag.
    Vlan,
    /// Linux cooked capture header (SLL).
    LinuxSll,
    /// An IP header whose version is not known yet (raw IP capture).
    Ip,
    /// IPv4 header.
    Ipv4,
    /// IPv6 fixed header.
    Ipv6,
    /// An IPv6 extension header (hop-by-hop, routing, fragment, ...).
    Ipv6Extension,
    /// TCP header.
    Tcp,
    /// UDP header.
    Udp,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Ethernet => "Ethernet",
            Layer::Vlan => "VLAN",
            Layer::LinuxSll => "Linux cooked",
            Layer::Ip => "IP",
            Layer::Ipv4 => "IPv4",
            Layer::Ipv6 => "IPv6",
            Layer::Ipv6Extension => "IPv6 extension",
            Layer::Tcp => "TCP",
            Layer::Udp => "UDP",
        })
    }
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The capture ends inside a header: it needs `need` bytes from the
    /// start of that header and only `have` were captured.
    #[error("{layer} header truncated: need {need} bytes, captured {have}")]
    Truncated {
        /// The header that was cut.
        layer: Layer,
        /// Bytes that header needs.
        need: usize,
        /// Bytes captured from its start.
        have: usize,
    },
    /// A header-length field (IPv4 IHL, TCP data offset, IPv6 extension
    /// length) is below its minimum or runs past the packet that holds it.
    #[error("{layer} header length {len} is invalid: must be {min}..={max} bytes")]
    BadHeaderLength {
        /// The header with the bad field.
        layer: Layer,
        /// The header length in bytes that the field claims.
        len: usize,
        /// The smallest valid header.
        min: usize,
        /// The largest header the packet has room for.
        max: usize,
    },
    /// A packet-length field (IPv4 total length, UDP length) is smaller
    /// than its own header or larger than the packet that holds it.
    #[error("{layer} length {len} is invalid: must be {min}..={max} bytes")]
    BadLength {
        /// The header with the bad field.
        layer: Layer,
        /// The length in bytes that the field claims.
        len: usize,
        /// The smallest valid length.
        min: usize,
        /// The largest valid length.
        max: usize,
    },
    /// The IP version field is not the one the link layer announced
    /// (or, in a raw IP capture, neither 4 nor 6).
    #[error("{layer} header has version {found}")]
    BadVersion {
        /// The layer the link layer announced ([`Layer::Ip`] for raw IP).
        layer: Layer,
        /// The version nibble found.
        found: u8,
    },
    /// The link layer carries something that is not IP (ARP, say).
    #[error("unsupported {layer} payload type {value:#06x}")]
    Unsupported {
        /// The link layer.
        layer: Layer,
        /// The EtherType (or SLL protocol) found.
        value: u16,
    },
}

/// How a captured frame starts: which link-layer header comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// Ethernet II (`LINKTYPE_ETHERNET`, 1). An `AF_PACKET` capture on `lo`
    /// gives this, with all-zero MAC addresses.
    Ethernet,
    /// Raw IP, no link header (`LINKTYPE_RAW`, 101): the version nibble
    /// tells IPv4 from IPv6.
    Raw,
    /// Linux cooked capture v1 (`LINKTYPE_LINUX_SLL`, 113), what
    /// `tcpdump -i any` writes.
    LinuxSll,
}

impl LinkType {
    /// The link type a pcap file header names, if we decode it.
    /// Accepts the historic raw-IP values 12 and 14 besides 101.
    pub fn from_pcap(linktype: u32) -> Option<LinkType> {
        match linktype {
            1 => Some(LinkType::Ethernet),
            101 | 12 | 14 => Some(LinkType::Raw),
            113 => Some(LinkType::LinuxSll),
            _ => None,
        }
    }

    /// The `LINKTYPE_*` value to write in a pcap file header.
    pub fn to_pcap(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::LinuxSll => 113,
        }
    }
}

/// One decoded frame: every layer as an owned record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The Ethernet header, for [`LinkType::Ethernet`] captures.
    pub eth: Option<EthernetRepr>,
    /// The cooked header, for [`LinkType::LinuxSll`] captures.
    pub sll: Option<SllRepr>,
    /// The IP header.
    pub ip: IpRepr,
    /// What the IP packet carries.
    pub transport: Transport,
    /// True when the capture kept fewer bytes than the IP header says the
    /// packet has: payloads are then shorter than their `payload_len`.
    pub truncated: bool,
}

/// What an IP packet carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A TCP segment.
    Tcp(TcpRepr),
    /// A UDP datagram.
    Udp(UdpRepr),
    /// A non-first fragment: it holds the middle or end of a datagram and
    /// no transport header.
    Fragment {
        /// Bytes of the datagram this fragment carries (from the IP header).
        payload_len: usize,
    },
    /// A protocol we do not decode (ICMP, say), or an IPv6 chain that ends
    /// in an extension header we cannot walk (ESP).
    Other {
        /// The IP protocol number.
        protocol: u8,
        /// Bytes after the IP headers (from the IP header).
        payload_len: usize,
    },
}

/// Decodes one captured frame.
///
/// `bytes` is what was captured, possibly shorter than the packet was on
/// the wire (see the module documentation for what happens then). Never
/// panics, whatever the bytes.
///
/// # Errors
///
/// [`DecodeError`] when a header is cut by the capture, a length field
/// contradicts the packet, the IP version is wrong, or the link layer
/// carries something other than IP.
pub fn decode_frame(link: LinkType, bytes: &[u8]) -> Result<Frame, DecodeError> {
    decode_layers(link, bytes).map(|(frame, _)| frame)
}

/// Checks the TCP or UDP checksum of a captured frame.
///
/// `None` when there is nothing to check: not TCP or UDP, a fragment (the
/// checksum covers the whole datagram), or a capture that lost bytes. On
/// loopback expect `Some(false)`: the kernel leaves TCP and UDP checksums
/// partial there (see the module documentation).
pub fn transport_checksum_ok(link: LinkType, bytes: &[u8]) -> Option<bool> {
    let (frame, segment) = decode_layers(link, bytes).ok()?;
    if frame.truncated || frame.ip.fragment.is_some_and(|f| f.more || f.offset > 0) {
        return None;
    }
    let (src, dst) = (frame.ip.src, frame.ip.dst);
    match frame.transport {
        Transport::Tcp(_) => Some(checksum::tcp_checksum_ok(src, dst, segment)),
        Transport::Udp(_) => Some(checksum::udp_checksum_ok(src, dst, segment)),
        _ => None,
    }
}

/// Decodes all layers; also returns the captured bytes of the IP payload
/// (bounded by the IP length), which the checksum needs.
fn decode_layers(link: LinkType, bytes: &[u8]) -> Result<(Frame, &[u8]), DecodeError> {
    let (eth, sll, ethertype, rest) = match link {
        LinkType::Ethernet => {
            let (eth, rest) = ethernet::decode_ethernet(bytes)?;
            let ethertype = eth.ethertype;
            (Some(eth), None, Some((Layer::Ethernet, ethertype)), rest)
        }
        LinkType::LinuxSll => {
            let (sll, rest) = ethernet::decode_sll(bytes)?;
            let protocol = sll.protocol;
            (None, Some(sll), Some((Layer::LinuxSll, protocol)), rest)
        }
        LinkType::Raw => (None, None, None, bytes),
    };
    let packet = match ethertype {
        None => ip::decode(rest)?,
        Some((_, ethernet::ethertype::IPV4)) => ipv4::decode(rest)?,
        Some((_, ethernet::ethertype::IPV6)) => ipv6::decode(rest)?,
        Some((layer, value)) => return Err(DecodeError::Unsupported { layer, value }),
    };
    let transport = decode_transport(&packet)?;
    let frame = Frame {
        eth,
        sll,
        truncated: packet.payload.len() < packet.payload_len,
        ip: packet.repr,
        transport,
    };
    Ok((frame, packet.payload))
}

/// Decodes what an IP packet carries.
fn decode_transport(packet: &ip::IpPacket<'_>) -> Result<Transport, DecodeError> {
    let payload_len = packet.payload_len;
    let fragment = packet.repr.fragment;
    // Only the first fragment (offset 0) holds the transport header.
    if fragment.is_some_and(|f| f.offset > 0) {
        return Ok(Transport::Fragment { payload_len });
    }
    // The first of several fragments carries only part of the datagram, so
    // UDP's length field (the whole datagram) may exceed this packet.
    let first_of_many = fragment.is_some_and(|f| f.more);
    Ok(match packet.repr.protocol {
        ip::protocol::TCP => Transport::Tcp(tcp::decode(packet.payload, payload_len)?),
        ip::protocol::UDP => {
            Transport::Udp(udp::decode(packet.payload, payload_len, first_of_many)?)
        }
        protocol => Transport::Other {
            protocol,
            payload_len,
        },
    })
}

impl Frame {
    /// The TCP segment, if this frame carries one.
    pub fn tcp(&self) -> Option<&TcpRepr> {
        match &self.transport {
            Transport::Tcp(tcp) => Some(tcp),
            _ => None,
        }
    }

    /// The UDP datagram, if this frame carries one.
    pub fn udp(&self) -> Option<&UdpRepr> {
        match &self.transport {
            Transport::Udp(udp) => Some(udp),
            _ => None,
        }
    }

    /// Source and destination socket addresses, for TCP and UDP.
    pub fn endpoints(&self) -> Option<(SocketAddr, SocketAddr)> {
        let (sport, dport) = match &self.transport {
            Transport::Tcp(t) => (t.src_port, t.dst_port),
            Transport::Udp(u) => (u.src_port, u.dst_port),
            _ => return None,
        };
        Some((
            SocketAddr::new(self.ip.src, sport),
            SocketAddr::new(self.ip.dst, dport),
        ))
    }
}

/// One line in the spirit of tcpdump:
/// `127.0.0.1:40000 > 127.0.0.1:7000 TCP [SYN] seq=0 win=65495 mss=65495 ws=7 len=0`.
///
/// Sequence numbers are absolute; IPv6 addresses with a port are in
/// brackets. A fragment adds tcpdump's `frag ID:LEN@OFFSET` (`+` when more
/// follow); a frame the capture cut ends in `[truncated]`.
impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = &self.ip;
        match &self.transport {
            Transport::Tcp(tcp) => write!(
                f,
                "{} > {} {tcp}",
                SocketAddr::new(ip.src, tcp.src_port),
                SocketAddr::new(ip.dst, tcp.dst_port)
            )?,
            Transport::Udp(udp) => write!(
                f,
                "{} > {} {udp}",
                SocketAddr::new(ip.src, udp.src_port),
                SocketAddr::new(ip.dst, udp.dst_port)
            )?,
            Transport::Fragment { .. } | Transport::Other { .. } => write!(
                f,
                "{} > {} {}",
                ip.src,
                ip.dst,
                ip::protocol::name(ip.protocol)
            )?,
        }
        if let Transport::Other { payload_len, .. } = self.transport {
            write!(f, " len={payload_len}")?;
        }
        if let Some(frag) = &ip.fragment {
            let len = ip.total_len.saturating_sub(ip.header_len);
            let more = if frag.more { "+" } else { "" };
            write!(f, " frag {}:{len}@{}{more}", frag.ident, frag.offset)?;
        }
        if self.truncated {
            f.write_str(" [truncated]")?;
        }
        Ok(())
    }
}

/// Helpers shared by the protocol files' tests.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decodes every strict prefix of a fixture, as a capture cut short
    /// would hand it over, and checks what each must give: below
    /// `headers_end` (where the last header ends) a `Truncated` error; from
    /// there to `packet_end` (where the IP packet ends) a decode marked
    /// truncated; beyond it (Ethernet padding) the same as the whole frame.
    pub(crate) fn check_prefixes(
        link: LinkType,
        bytes: &[u8],
        headers_end: usize,
        packet_end: usize,
    ) {
        let whole = decode_frame(link, bytes).expect("the whole fixture decodes");
        for n in 0..bytes.len() {
            let result = decode_frame(link, &bytes[..n]);
            if n < headers_end {
                assert!(
                    matches!(result, Err(DecodeError::Truncated { .. })),
                    "prefix of {n} bytes: {result:?}"
                );
            } else if n < packet_end {
                let frame = result.unwrap_or_else(|e| panic!("prefix of {n} bytes: {e}"));
                assert!(
                    frame.truncated,
                    "prefix of {n} bytes is not marked truncated"
                );
                assert_eq!((&frame.ip, &frame.eth), (&whole.ip, &whole.eth));
            } else {
                assert_eq!(result.as_ref(), Ok(&whole), "prefix of {n} bytes");
            }
        }
    }
}
