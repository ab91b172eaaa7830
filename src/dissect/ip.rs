//! The network layer: IPv4 with its options and fragment fields, or IPv6
//! with its chain of extension headers.

use super::{Layer, LayerKind};
use crate::wire::ip::protocol;
use crate::wire::{IpRepr, checksum, ipv4, ipv6};

/// Adds the IP header (and IPv6's extension headers) starting at `start`;
/// returns where they end.
pub(super) fn dissect(ip: &IpRepr, frame: &[u8], start: usize, out: &mut Vec<Layer>) -> usize {
    let end = start + ip.header_len;
    let header = &frame[start..end.min(frame.len())];
    if ip.version == 4 {
        out.push(v4(ip, header, start..end));
    } else {
        v6(ip, header, start, out);
    }
    end
}

fn v4(ip: &IpRepr, header: &[u8], range: std::ops::Range<usize>) -> Layer {
    use ipv4::field;
    let mut l = Layer::new(LayerKind::Network, "IPv4 (network layer)", range);
    let first = field::VER_IHL..field::VER_IHL + 1;
    l.field("version", first.clone(), ip.version);
    l.noted(
        "header length",
        first,
        format!("{} bytes", ip.header_len),
        "in 4-byte words on the wire (this byte's low half)",
    );
    let tos = header[field::DSCP_ECN];
    l.noted(
        "DSCP / ECN",
        field::DSCP_ECN..field::DSCP_ECN + 1,
        format!("0x{tos:02x}"),
        "priority class, and congestion marks routers may set instead of dropping",
    );
    l.noted(
        "total length",
        field::LENGTH,
        format!("{} bytes", ip.total_len),
        "this header and all it carries",
    );
    if let Some(id) = ip.ident {
        l.noted(
            "identification",
            field::IDENT,
            id,
            "shared by the fragments of one packet",
        );
    }
    l.field(
        "don't fragment",
        field::FLG_OFF,
        if ip.dont_fragment { "set" } else { "clear" },
    );
    let (more, offset) = ip.fragment.map_or((false, 0), |f| (f.more, f.offset));
    l.noted(
        "more fragments",
        field::FLG_OFF,
        if more { "set" } else { "clear" },
        if more {
            "another piece of this packet follows"
        } else {
            "no piece follows this one"
        },
    );
    l.noted(
        "fragment offset",
        field::FLG_OFF,
        offset,
        "where this piece's data sits in the whole packet, in bytes",
    );
    l.noted(
        "time to live",
        field::TTL..field::TTL + 1,
        ip.ttl_or_hop_limit,
        "routers count it down; at 0 the packet is dropped",
    );
    l.noted(
        "protocol",
        field::PROTOCOL..field::PROTOCOL + 1,
        format!("{} ({})", ip.protocol, protocol::name(ip.protocol)),
        "what the payload is",
    );
    let sum = u16::from_be_bytes([header[10], header[11]]);
    l.noted(
        "header checksum",
        field::CHECKSUM,
        format!("0x{sum:04x}"),
        if checksum::ipv4_header_checksum_ok(header) {
            "correct (the sum of the header's 16-bit words)"
        } else {
            "wrong: a router would drop this packet"
        },
    );
    l.field("source", field::SRC_ADDR, ip.src);
    l.field("destination", field::DST_ADDR, ip.dst);
    if ip.header_len > ipv4::MIN_HEADER_LEN {
        l.noted(
            "options",
            ipv4::MIN_HEADER_LEN..ip.header_len,
            format!("{} bytes", ip.header_len - ipv4::MIN_HEADER_LEN),
            "rarely used (record route, timestamps)",
        );
    }
    l
}

fn v6(ip: &IpRepr, header: &[u8], start: usize, out: &mut Vec<Layer>) {
    use ipv6::field;
    let fixed = start..start + ipv6::HEADER_LEN;
    let mut l = Layer::new(LayerKind::Network, "IPv6 (network layer)", fixed);
    let word = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    l.field("version", field::VER_TC_FLOW, ip.version);
    l.noted(
        "traffic class",
        field::VER_TC_FLOW,
        format!("0x{:02x}", (word >> 20) & 0xff),
        "priority class and congestion marks, as IPv4's DSCP / ECN",
    );
    l.noted(
        "flow label",
        field::VER_TC_FLOW,
        format!("0x{:05x}", word & 0xf_ffff),
        "the same for every packet of one flow, so routers can keep it on one path",
    );
    l.noted(
        "payload length",
        field::LENGTH,
        format!("{} bytes", ip.total_len - ipv6::HEADER_LEN),
        "everything after this 40-byte header",
    );
    l.noted(
        "next header",
        field::NXT_HDR..field::NXT_HDR + 1,
        next_name(header[field::NXT_HDR]),
        "what follows: an extension header or the payload",
    );
    l.noted(
        "hop limit",
        field::HOP_LIMIT..field::HOP_LIMIT + 1,
        ip.ttl_or_hop_limit,
        "routers count it down; at 0 the packet is dropped",
    );
    l.field("source", field::SRC_ADDR, ip.src);
    l.field("destination", field::DST_ADDR, ip.dst);
    out.push(l);
    // The extension headers the decoder walked: each names the next.
    let mut next = header[field::NXT_HDR];
    let mut at = ipv6::HEADER_LEN;
    while at + 2 <= ip.header_len && at + 2 <= header.len() {
        let len = match next {
            protocol::HOP_BY_HOP | protocol::ROUTING | protocol::DESTINATION_OPTIONS => {
                (usize::from(header[at + 1]) + 1) * 8
            }
            protocol::FRAGMENT => 8,
            protocol::AH => (usize::from(header[at + 1]) + 2) * 4,
            _ => break,
        };
        let end = (at + len).min(ip.header_len);
        let title = format!("IPv6 {} header (network layer)", ext_name(next));
        let mut e = Layer::new(LayerKind::Network, title, start + at..start + end);
        let following = header[at];
        e.noted(
            "next header",
            0..1,
            next_name(following),
            "what follows this extension header",
        );
        if next == protocol::FRAGMENT {
            let fragment = ip.fragment.unwrap_or(crate::wire::Fragment {
                offset: 0,
                more: false,
                ident: 0,
            });
            e.noted(
                "fragment offset",
                ipv6::ext_field::FRAG_OFF,
                fragment.offset,
                "where this piece's data sits in the whole packet, in bytes",
            );
            e.field(
                "more fragments",
                ipv6::ext_field::FRAG_OFF,
                if fragment.more { "set" } else { "clear" },
            );
            e.noted(
                "identification",
                ipv6::ext_field::FRAG_IDENT,
                fragment.ident,
                "shared by the fragments of one packet",
            );
        } else {
            e.field("length", 1..2, format!("{len} bytes"));
        }
        out.push(e);
        next = following;
        at += len;
    }
}

/// `hop-by-hop options`, `fragment`, `TCP`.
fn ext_name(value: u8) -> std::borrow::Cow<'static, str> {
    match value {
        protocol::HOP_BY_HOP => "hop-by-hop options".into(),
        protocol::ROUTING => "routing".into(),
        protocol::FRAGMENT => "fragment".into(),
        protocol::DESTINATION_OPTIONS => "destination options".into(),
        protocol::AH => "authentication".into(),
        other => protocol::name(other),
    }
}

/// `6 (TCP)`, `44 (fragment)`.
fn next_name(value: u8) -> String {
    format!("{value} ({})", ext_name(value))
}
