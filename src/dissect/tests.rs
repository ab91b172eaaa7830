//! Field offsets checked on frames built byte by byte.

use super::*;

/// IPv6 + fragment header + UDP, as `tcpdump -i any` (Linux cooked v1)
/// would show the first fragment of a large datagram sent to ::1.
fn cooked_v6_fragment() -> Vec<u8> {
    // SLL: sent by us (4), loopback (772), 6-byte address, IPv6.
    let mut f = vec![0, 4, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xdd];
    // IPv6: flow label 0x12345, payload 8 + 8 + 4 = 20, next header 44
    // (fragment), hop limit 64, ::1 -> ::1.
    f.extend_from_slice(&[0x60, 0x01, 0x23, 0x45, 0, 20, 44, 64]);
    let mut one = [0u8; 16];
    one[15] = 1;
    f.extend_from_slice(&one);
    f.extend_from_slice(&one);
    // Fragment header: next UDP, offset 0, M set, ident 7.
    f.extend_from_slice(&[17, 0, 0, 1, 0, 0, 0, 7]);
    // UDP: 5000 -> 6000, length 3000 (the whole datagram), checksum.
    f.extend_from_slice(&[0x13, 0x88, 0x17, 0x70, 0x0b, 0xb8, 0xab, 0xcd]);
    f.extend_from_slice(b"abcd");
    f
}

fn field<'a>(d: &'a Dissection, layer: &str, name: &str) -> &'a Field {
    d.layers
        .iter()
        .filter(|l| l.title.starts_with(layer))
        .flat_map(|l| &l.fields)
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {layer} {name} in {d:#?}"))
}

#[test]
fn a_cooked_ipv6_fragment_with_every_field_on_its_bytes() {
    let f = cooked_v6_fragment();
    let d = dissect(LinkType::LinuxSll, &f).unwrap();
    let titles: Vec<&str> = d.layers.iter().map(|l| l.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Linux cooked capture (link layer)",
            "IPv6 (network layer)",
            "IPv6 fragment header (network layer)",
            "UDP (transport layer)",
            "Data (application layer: what send() was given)",
        ]
    );
    let sent = field(&d, "Linux", "packet type");
    assert_eq!((sent.range.clone(), sent.value.as_str()), (0..2, "4"));
    assert_eq!(field(&d, "IPv6 (", "flow label").value, "0x12345");
    assert_eq!(field(&d, "IPv6 (", "next header").range, 22..23);
    assert_eq!(field(&d, "IPv6 (", "hop limit").range, 23..24);
    assert_eq!(field(&d, "IPv6 (", "source").range, 24..40);
    let more = field(&d, "IPv6 fragment", "more fragments");
    assert_eq!((more.range.clone(), more.value.as_str()), (58..60, "set"));
    assert_eq!(field(&d, "IPv6 fragment", "identification").range, 60..64);
    let port = field(&d, "UDP", "destination port");
    assert_eq!((port.range.clone(), port.value.as_str()), (66..68, "6000"));
    assert_eq!(field(&d, "Data", "data").range, 72..76);
}

#[test]
fn tcp_options_padding_included_cover_the_options_area() {
    // Ethernet, IPv4, then a SYN with MSS, SACK permitted, timestamps,
    // NOP and window scale: Linux's 40-byte SYN header.
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[
        0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
    ]);
    f.extend_from_slice(&[
        0x9c, 0x40, 0x23, 0x28, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, 0x02, 0xff, 0xd7, 0, 0, 0, 0,
    ]);
    f.extend_from_slice(&[
        2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ]);
    let d = dissect(LinkType::Ethernet, &f).unwrap();
    let tcp = d
        .layers
        .iter()
        .find(|l| l.title.starts_with("TCP"))
        .unwrap();
    assert_eq!(tcp.range, 34..74);
    let options: Vec<(Range<usize>, &str)> = tcp
        .fields
        .iter()
        .filter(|f| f.name.starts_with("option"))
        .map(|f| (f.range.clone(), f.value.as_str()))
        .collect();
    assert_eq!(
        options,
        [
            (54..58, "mss=65495"),
            (58..60, "sackOK"),
            (60..70, "ts=1/0"),
            (70..71, ""),
            (71..74, "ws=7"),
        ]
    );
    // No data: no data layer.
    assert_eq!(d.layers.last().unwrap().title, "TCP (transport layer)");
}
