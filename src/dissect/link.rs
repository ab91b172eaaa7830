//! The link layer: Ethernet II (with any VLAN tags), or the Linux cooked
//! header that `tcpdump -i any` writes instead, or nothing for raw IP.

use super::{Layer, LayerKind};
use crate::wire::ethernet::{
    HEADER_LEN, SLL_HEADER_LEN, VLAN_TAG_LEN, ethertype, field, sll_field, vlan_field,
};
use crate::wire::{Frame, LinkType};

/// Adds the link layer's header; returns where the IP header starts.
pub(super) fn dissect(link: LinkType, f: &Frame, out: &mut Vec<Layer>) -> usize {
    match (link, &f.eth, &f.sll) {
        (LinkType::Ethernet, Some(eth), _) => {
            let end = HEADER_LEN + VLAN_TAG_LEN * eth.vlans.len();
            let mut l = Layer::new(LayerKind::Link, "Ethernet (link layer)", 0..end);
            l.field("destination MAC", field::DESTINATION, eth.dst);
            l.field("source MAC", field::SOURCE, eth.src);
            // With VLAN tags, the first EtherType says "a tag follows", and
            // the real one comes after the last tag.
            let mut type_at = field::ETHERTYPE;
            for id in &eth.vlans {
                let tag = type_at.end..type_at.end + VLAN_TAG_LEN;
                l.noted(
                    "VLAN tag",
                    type_at.start..tag.start + vlan_field::TCI.end,
                    id,
                    "802.1Q: which virtual LAN the frame belongs to",
                );
                type_at = tag.start + vlan_field::ETHERTYPE.start..tag.end;
            }
            l.noted(
                "EtherType",
                type_at,
                format!(
                    "0x{:04x} ({})",
                    eth.ethertype,
                    ethertype_name(eth.ethertype)
                ),
                "what the payload is",
            );
            if eth.src.0 == [0; 6] && eth.dst.0 == [0; 6] {
                l.remark = Some(
                    "(lo is not a real Ethernet: its addresses are all zero, but the header is there)"
                        .into(),
                );
            }
            out.push(l);
            end
        }
        (LinkType::LinuxSll, _, Some(sll)) => {
            let mut l = Layer::new(
                LayerKind::Link,
                "Linux cooked capture (link layer)",
                0..SLL_HEADER_LEN,
            );
            l.noted(
                "packet type",
                sll_field::PACKET_TYPE,
                sll.packet_type,
                match sll.packet_type {
                    0 => "to this host",
                    1 => "broadcast",
                    2 => "multicast",
                    3 => "to another host",
                    4 => "sent by this host",
                    _ => "unknown",
                },
            );
            l.noted(
                "link type",
                sll_field::HA_TYPE,
                sll.ha_type,
                match sll.ha_type {
                    1 => "Ethernet",
                    772 => "loopback",
                    _ => "another ARPHRD_ type",
                },
            );
            l.field("address length", sll_field::HA_LEN, sll.address.len());
            let address: Vec<String> = sll.address.iter().map(|b| format!("{b:02x}")).collect();
            l.field("address", sll_field::ADDRESS, address.join(":"));
            l.noted(
                "protocol",
                sll_field::PROTOCOL,
                format!("0x{:04x} ({})", sll.protocol, ethertype_name(sll.protocol)),
                "what the payload is",
            );
            l.remark = Some(
                "(a capture on every interface at once: the kernel writes this header in place of each interface's own)"
                    .into(),
            );
            out.push(l);
            SLL_HEADER_LEN
        }
        _ => 0,
    }
}

fn ethertype_name(value: u16) -> &'static str {
    match value {
        ethertype::IPV4 => "IPv4",
        ethertype::IPV6 => "IPv6",
        ethertype::ARP => "ARP",
        _ => "other",
    }
}
