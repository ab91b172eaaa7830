//! The IP layer, whichever the version: the owned [`IpRepr`] that IPv4 and
//! IPv6 both decode into, fragments, and protocol numbers.

use std::fmt;
use std::net::IpAddr;

use super::{DecodeError, Layer, ipv4, ipv6, need};

/// IP protocol numbers (the IPv4 Protocol field, IPv6 Next Header) that
/// this crate names.
pub mod protocol {
    /// IPv6 hop-by-hop options extension header.
    pub const HOP_BY_HOP: u8 = 0;
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 routing extension header.
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment extension header.
    pub const FRAGMENT: u8 = 44;
    /// Encapsulating Security Payload: encrypted, nothing to walk past it.
    pub const ESP: u8 = 50;
    /// Authentication Header.
    pub const AH: u8 = 51;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header": nothing follows.
    pub const NO_NEXT_HEADER: u8 = 59;
    /// IPv6 destination options extension header.
    pub const DESTINATION_OPTIONS: u8 = 60;

    /// A short name for a protocol number: `TCP`, `ICMP`, or `proto 132`.
    pub fn name(protocol: u8) -> std::borrow::Cow<'static, str> {
        match protocol {
            ICMP => "ICMP".into(),
            TCP => "TCP".into(),
            UDP => "UDP".into(),
            ESP => "ESP".into(),
            AH => "AH".into(),
            ICMPV6 => "ICMPv6".into(),
            NO_NEXT_HEADER => "no-next-header".into(),
            other => format!("proto {other}").into(),
        }
    }
}

/// An IP header, IPv4 or IPv6, owned and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRepr {
    /// 4 or 6.
    pub version: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Bytes of headers before the transport header: IPv4 IHL * 4 (options
    /// included), IPv6 40 plus the extension headers.
    pub header_len: usize,
    /// The packet's length from the IP header (IPv4 total length, IPv6 40 +
    /// payload length): the real length, even when the capture kept less.
    pub total_len: usize,
    /// IPv4 time to live or IPv6 hop limit.
    pub ttl_or_hop_limit: u8,
    /// IPv4 identification; `None` for IPv6, whose only identification is
    /// in the fragment header (see [`Fragment::ident`]).
    pub ident: Option<u16>,
    /// `Some` when this packet is a fragment: IPv4 with MF set or a
    /// nonzero offset, or IPv6 with a fragment extension header.
    pub fragment: Option<Fragment>,
    /// The transport protocol: IPv4 Protocol, or for IPv6 the Next Header
    /// found after the last extension header we walked.
    pub protocol: u8,
    /// IPv4 Don't Fragment flag. Always false for IPv6, which has no such
    /// flag because routers never fragment IPv6 (only the sender may).
    pub dont_fragment: bool,
}

/// Where a fragment sits in the original datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Offset of this fragment's data in the datagram, in bytes.
    pub offset: usize,
    /// More Fragments: another fragment follows this one.
    pub more: bool,
    /// The identification shared by all fragments of one datagram
    /// (16 bits in IPv4, 32 in IPv6).
    pub ident: u32,
}

/// An IP packet decoded down to its payload, borrowed from the capture.
#[derive(Debug)]
pub(crate) struct IpPacket<'a> {
    /// The decoded headers.
    pub repr: IpRepr,
    /// The captured payload after all IP headers, bounded by the IP length
    /// (so Ethernet padding is gone); may be shorter than `payload_len`.
    pub payload: &'a [u8],
    /// The payload length the IP header claims.
    pub payload_len: usize,
}

/// Decodes an IP packet whose version is known only from its first nibble
/// (a raw IP capture).
pub(crate) fn decode(bytes: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    need(Layer::Ip, bytes, 1)?;
    match bytes[0] >> 4 {
        4 => ipv4::decode(bytes),
        6 => ipv6::decode(bytes),
        found => Err(DecodeError::BadVersion {
            layer: Layer::Ip,
            found,
        }),
    }
}

/// `IPv4 127.0.0.1 > 127.0.0.1 TCP ttl=64 id=14202 len=60 DF`, with
/// `frag ID:@OFFSET+` for a fragment.
impl fmt::Display for IpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv{} {} > {} {} ",
            self.version,
            self.src,
            self.dst,
            protocol::name(self.protocol)
        )?;
        let ttl = if self.version == 4 { "ttl" } else { "hlim" };
        write!(f, "{ttl}={}", self.ttl_or_hop_limit)?;
        if let Some(ident) = self.ident {
            write!(f, " id={ident}")?;
        }
        write!(f, " len={}", self.total_len)?;
        if self.dont_fragment {
            f.write_str(" DF")?;
        }
        if let Some(frag) = &self.fragment {
            let more = if frag.more { "+" } else { "" };
            write!(f, " frag {}@{}{more}", frag.ident, frag.offset)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ip_dispatches_on_the_version_nibble() {
        assert_eq!(
            decode(&[]).unwrap_err(),
            DecodeError::Truncated {
                layer: Layer::Ip,
                need: 1,
                have: 0
            }
        );
        assert_eq!(
            decode(&[0x50; 40]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Ip,
                found: 5
            }
        );
        // A 4 goes to the IPv4 decoder, which then wants its 20 bytes.
        assert!(matches!(
            decode(&[0x45, 0]).unwrap_err(),
            DecodeError::Truncated {
                layer: Layer::Ipv4,
                ..
            }
        ));
        assert!(matches!(
            decode(&[0x60, 0]).unwrap_err(),
            DecodeError::Truncated {
                layer: Layer::Ipv6,
                ..
            }
        ));
    }

    #[test]
    fn protocol_names() {
        assert_eq!(protocol::name(6), "TCP");
        assert_eq!(protocol::name(58), "ICMPv6");
        assert_eq!(protocol::name(132), "proto 132");
    }
}
