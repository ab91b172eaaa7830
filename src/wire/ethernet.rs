//! Link layers: Ethernet II with optional VLAN tags, and Linux cooked
//! capture (SLL), which `tcpdump -i any` uses.
//!
//! ```text
//! Ethernet II                       802.1Q tag (after the source MAC)
//! +-------------------+             +-----------+-----------+
//! | destination MAC 6 |             | TPID 8100 | PCP DEI   |
//! | source MAC      6 |             |           | VLAN ID   |
//! | EtherType       2 |             +-----------+-----------+
//! +-------------------+             then the real EtherType
//! ```
//!
//! `lo` has no hardware addresses: Linux hands a capture on it an Ethernet
//! header with both MACs zero and the EtherType of the packet.

use std::fmt;

use super::{DecodeError, Field, Layer, need, read_u16};

/// EtherType values this crate names.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP (not decoded; never seen on `lo`).
    pub const ARP: u16 = 0x0806;
    /// 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// 802.1ad service VLAN tag (the outer tag of QinQ).
    pub const QINQ: u16 = 0x88a8;
}

/// Byte ranges of the Ethernet II header.
pub mod field {
    use crate::wire::Field;

    /// Destination MAC address.
    pub const DESTINATION: Field = 0..6;
    /// Source MAC address.
    pub const SOURCE: Field = 6..12;
    /// EtherType (or a VLAN TPID).
    pub const ETHERTYPE: Field = 12..14;
}

/// Byte ranges of a VLAN tag, counted from the tag's start.
pub mod vlan_field {
    use crate::wire::Field;

    /// Priority (3 bits), drop eligible (1), VLAN ID (12).
    pub const TCI: Field = 0..2;
    /// The EtherType of what follows the tag.
    pub const ETHERTYPE: Field = 2..4;
}

/// Byte ranges of the Linux cooked capture (SLL v1) header.
pub mod sll_field {
    use crate::wire::Field;

    /// Packet type: to us (0), broadcast (1), multicast (2), to someone
    /// else (3), sent by us (4).
    pub const PACKET_TYPE: Field = 0..2;
    /// ARPHRD_ type of the interface (772 for loopback).
    pub const HA_TYPE: Field = 2..4;
    /// Length of the link-layer address.
    pub const HA_LEN: Field = 4..6;
    /// Link-layer address, at most 8 bytes kept.
    pub const ADDRESS: Field = 6..14;
    /// EtherType of the payload.
    pub const PROTOCOL: Field = 14..16;
}

/// The Ethernet header.
pub const HEADER_LEN: usize = 14;
/// One VLAN tag.
pub const VLAN_TAG_LEN: usize = 4;
/// The SLL v1 header.
pub const SLL_HEADER_LEN: usize = 16;
/// Tags we follow before giving up: QinQ has two.
const MAX_VLAN_TAGS: usize = 2;

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// An Ethernet II header, owned and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination MAC (all zero on `lo`).
    pub dst: MacAddr,
    /// Source MAC (all zero on `lo`).
    pub src: MacAddr,
    /// The EtherType of the payload, after any VLAN tags.
    pub ethertype: u16,
    /// VLAN IDs, outermost first; empty when untagged.
    pub vlans: Vec<u16>,
}

/// `00:00:00:00:00:00 > 00:00:00:00:00:00 type 0x0800 vlan 10`
impl fmt::Display for EthernetRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} > {} type {:#06x}",
            self.src, self.dst, self.ethertype
        )?;
        for id in &self.vlans {
            write!(f, " vlan {id}")?;
        }
        Ok(())
    }
}

/// A Linux cooked capture (SLL v1) header, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SllRepr {
    /// 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us.
    pub packet_type: u16,
    /// ARPHRD_ type of the interface (1 Ethernet, 772 loopback).
    pub ha_type: u16,
    /// The link-layer address, as many bytes as its length says (at most 8).
    pub address: Vec<u8>,
    /// EtherType of the payload.
    pub protocol: u16,
}

/// `In type 0x0800` style: direction, then the payload's EtherType.
impl fmt::Display for SllRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = match self.packet_type {
            0 => "In",
            1 => "B",
            2 => "M",
            3 => "P",
            4 => "Out",
            _ => "?",
        };
        write!(f, "{direction} type {:#06x}", self.protocol)
    }
}

/// Decodes an Ethernet header and any VLAN tags; returns it and the rest.
pub(crate) fn decode_ethernet(bytes: &[u8]) -> Result<(EthernetRepr, &[u8]), DecodeError> {
    need(Layer::Ethernet, bytes, HEADER_LEN)?;
    let mut repr = EthernetRepr {
        dst: mac(bytes, field::DESTINATION),
        src: mac(bytes, field::SOURCE),
        ethertype: read_u16(bytes, field::ETHERTYPE),
        vlans: Vec::new(),
    };
    let mut rest = &bytes[HEADER_LEN..];
    while matches!(repr.ethertype, ethertype::VLAN | ethertype::QINQ) {
        if repr.vlans.len() == MAX_VLAN_TAGS {
            return Err(DecodeError::Unsupported {
                layer: Layer::Vlan,
                value: repr.ethertype,
            });
        }
        need(Layer::Vlan, rest, VLAN_TAG_LEN)?;
        repr.vlans.push(read_u16(rest, vlan_field::TCI) & 0x0fff);
        repr.ethertype = read_u16(rest, vlan_field::ETHERTYPE);
        rest = &rest[VLAN_TAG_LEN..];
    }
    Ok((repr, rest))
}

/// Decodes a Linux cooked (SLL v1) header; returns it and the rest.
pub(crate) fn decode_sll(bytes: &[u8]) -> Result<(SllRepr, &[u8]), DecodeError> {
    need(Layer::LinuxSll, bytes, SLL_HEADER_LEN)?;
    let address_len = usize::from(read_u16(bytes, sll_field::HA_LEN)).min(8);
    let address_start = sll_field::ADDRESS.start;
    let repr = SllRepr {
        packet_type: read_u16(bytes, sll_field::PACKET_TYPE),
        ha_type: read_u16(bytes, sll_field::HA_TYPE),
        address: bytes[address_start..address_start + address_len].to_vec(),
        protocol: read_u16(bytes, sll_field::PROTOCOL),
    };
    Ok((repr, &bytes[SLL_HEADER_LEN..]))
}

/// Reads a MAC address from a length-checked field.
fn mac(bytes: &[u8], field: Field) -> MacAddr {
    let mut octets = [0; 6];
    octets.copy_from_slice(&bytes[field]);
    MacAddr(octets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::check_prefixes;
    use crate::wire::{LinkType, TcpFlags, decode_frame};

    /// A pure ACK (40 bytes of IP) as a real NIC sends it: Ethernet frames
    /// are at least 60 bytes before the FCS, so 6 bytes of padding follow
    /// the packet. The IP total length is what tells them apart from data.
    const PADDED_ACK: [u8; 60] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // destination MAC
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // source MAC
        0x08, 0x00, // EtherType IPv4
        0x45, 0x00, 0x00, 0x28, // IPv4, total length 40
        0x12, 0x34, 0x40, 0x00, // identification, DF
        0x40, 0x06, 0x00, 0x00, // TTL 64, TCP, header checksum (not set)
        0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // destination 10.0.0.2
        0x1f, 0x90, 0xc3, 0x50, // ports 8080 > 50000
        0x00, 0x00, 0x00, 0x01, // sequence number 1
        0x00, 0x00, 0x00, 0x06, // acknowledgment number 6
        0x50, 0x10, // data offset 5 words; ACK
        0x01, 0xf5, // window 501
        0x00, 0x00, 0x00, 0x00, // checksum, urgent pointer
        0, 0, 0, 0, 0, 0, // Ethernet padding, not TCP data
    ];

    #[test]
    fn padding_is_not_data() {
        let frame = decode_frame(LinkType::Ethernet, &PADDED_ACK).unwrap();
        let eth = frame.eth.as_ref().unwrap();
        assert_eq!(eth.dst, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(eth.src, MacAddr([2, 0, 0, 0, 0, 2]));
        assert_eq!((eth.ethertype, eth.vlans.as_slice()), (0x0800, &[][..]));
        assert_eq!(
            eth.to_string(),
            "02:00:00:00:00:02 > 02:00:00:00:00:01 type 0x0800"
        );
        let tcp = frame.tcp().unwrap();
        assert_eq!(tcp.flags, TcpFlags::ACK);
        assert_eq!((tcp.payload.len(), tcp.payload_len), (0, 0));
        assert!(!frame.truncated);
        assert_eq!(
            frame.to_string(),
            "10.0.0.1:8080 > 10.0.0.2:50000 TCP [ACK] seq=1 ack=6 win=501 len=0"
        );
        // Prefixes that cut only the padding decode in full.
        check_prefixes(LinkType::Ethernet, &PADDED_ACK, 54, 54);
    }

    #[test]
    fn vlan_tags() {
        // The same frame with an 802.1Q tag (priority 0, VLAN 10) inserted.
        let mut tagged = PADDED_ACK[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
        tagged.extend_from_slice(&PADDED_ACK[12..]);
        let frame = decode_frame(LinkType::Ethernet, &tagged).unwrap();
        let eth = frame.eth.as_ref().unwrap();
        assert_eq!((eth.ethertype, eth.vlans.as_slice()), (0x0800, &[10][..]));
        assert!(frame.tcp().is_some());
        check_prefixes(LinkType::Ethernet, &tagged, 58, 58);

        // Three tags is more than QinQ: refused, not looped over.
        let mut deep = PADDED_ACK[..12].to_vec();
        for _ in 0..3 {
            deep.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
        }
        deep.extend_from_slice(&PADDED_ACK[12..]);
        assert_eq!(
            decode_frame(LinkType::Ethernet, &deep).unwrap_err(),
            DecodeError::Unsupported {
                layer: Layer::Vlan,
                value: 0x8100
            }
        );
    }

    #[test]
    fn non_ip_and_mismatched_version() {
        let mut arp = PADDED_ACK;
        arp[12..14].copy_from_slice(&ethertype::ARP.to_be_bytes());
        assert_eq!(
            decode_frame(LinkType::Ethernet, &arp).unwrap_err(),
            DecodeError::Unsupported {
                layer: Layer::Ethernet,
                value: 0x0806
            }
        );
        // EtherType says IPv6, the header says 4.
        let mut lying = PADDED_ACK;
        lying[12..14].copy_from_slice(&ethertype::IPV6.to_be_bytes());
        assert_eq!(
            decode_frame(LinkType::Ethernet, &lying).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Ipv6,
                found: 4
            }
        );
    }

    #[test]
    fn linux_cooked_capture() {
        // `tcpdump -i any` on lo: SLL header, then the IP packet.
        let mut frame = vec![
            0x00, 0x00, // packet type: to us
            0x03, 0x04, // ARPHRD_LOOPBACK (772)
            0x00, 0x06, // address length 6
            0, 0, 0, 0, 0, 0, 0, 0, // address (zero), padded to 8
            0x08, 0x00, // protocol IPv4
        ];
        frame.extend_from_slice(&PADDED_ACK[14..54]);
        let decoded = decode_frame(LinkType::LinuxSll, &frame).unwrap();
        let sll = decoded.sll.as_ref().unwrap();
        assert_eq!(
            (sll.packet_type, sll.ha_type, sll.protocol),
            (0, 772, 0x0800)
        );
        assert_eq!(sll.address, vec![0; 6]);
        assert_eq!(sll.to_string(), "In type 0x0800");
        assert!(decoded.eth.is_none());
        assert!(decoded.tcp().is_some());
        check_prefixes(LinkType::LinuxSll, &frame, 56, 56);
    }
}
