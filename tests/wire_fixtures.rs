//! Decoder tests on real captures, and on garbage.
//!
//! # Real captures
//!
//! The frames below were captured on `lo` in a fresh network namespace
//! (`unshare -n`, `lo` MTU 1500) while a Python script ran: a TCP
//! connection with a handshake, `hello`/`pong`, and FIN teardown; a UDP
//! datagram; the same over IPv6; a 3000-byte UDP datagram over IPv4 and
//! IPv6 (fragmented); urgent data (`MSG_OOB`); a 5000-byte send that GSO
//! keeps in one segment on `lo`; a reset (`SO_LINGER` 0); an empty UDP
//! datagram and the ICMP errors the closed ports sent back.
//!
//! `SNAPLEN_80` is `tcpdump -i lo -s 80`: every frame cut after 80 bytes,
//! as an old default snap length would. `COOKED` is a selection from
//! `tcpdump -i any -y LINUX_SLL`, uncut.
//!
//! Every decoded field behind the expected lines was compared with tshark
//! 4.0.17 (`tshark -T fields`, reassembly off): IP addresses, total and
//! payload length, TTL/hop limit, identification, DF, MF, fragment offset,
//! the IPv6 fragment header, TCP ports, raw sequence and acknowledgment
//! numbers, flags, window, header length, data length, urgent pointer,
//! MSS, window scale, SACK permitted and timestamps, UDP ports and length.
//! They agree, with two differences by design: tshark decodes the packet
//! quoted inside an ICMP error (we report ICMP and its length), and tshark
//! shows what it can of a TCP header whose options the snap length cut,
//! where we report `Truncated` (a cut header is an error here, see
//! `socket_lab::wire`).
//!
//! # Garbage
//!
//! The decoder must never panic. The property tests at the end feed it
//! hundreds of thousands of random and mutated frames from a fixed seed,
//! the stable-toolchain sibling of `fuzz/fuzz_targets/decode_frame.rs`.

use socket_lab::wire::checksum::internet_checksum;
use socket_lab::wire::{
    DecodeError, Frame, LinkType, Transport, decode_frame, transport_checksum_ok,
};

/// `tcpdump -i lo -s 80`: (frame as hex, expected summary line or error).
const SNAPLEN_80: &[(&str, &str)] = &[
    (
        "00000000000000000000000008004500003c3ca14000400600197f0000017f0000019c401b5881076e1200000000a002faf0fe300000020405b40402080a9170a1e9000000000103030a",
        "127.0.0.1:40000 > 127.0.0.1:7000 TCP [SYN] seq=2164747794 win=64240 mss=1460 sackOK ts=2440077801/0 ws=10 len=0",
    ),
    (
        "00000000000000000000000008004500003c0000400040063cba7f0000017f0000011b589c40044493de81076e13a012fe88fe300000020405b40402080a9a4f5f289170a1e90103030a",
        "127.0.0.1:7000 > 127.0.0.1:40000 TCP [SYN,ACK] seq=71603166 ack=2164747795 win=65160 mss=1460 sackOK ts=2588892968/2440077801 ws=10 len=0",
    ),
    (
        "0000000000000000000000000800450000343ca24000400600207f0000017f0000019c401b5881076e13044493df8010003ffe2800000101080a9170a1e99a4f5f28",
        "127.0.0.1:40000 > 127.0.0.1:7000 TCP [ACK] seq=2164747795 ack=71603167 win=63 ts=2440077801/2588892968 len=0",
    ),
    (
        "0000000000000000000000000800450000393ca340004006001a7f0000017f0000019c401b5881076e13044493df8018003ffe2d00000101080a9170a1e99a4f5f2868656c6c6f",
        "127.0.0.1:40000 > 127.0.0.1:7000 TCP [PSH,ACK] seq=2164747795 ack=71603167 win=63 ts=2440077801/2588892968 len=5",
    ),
    (
        "000000000000000000000000080045000034c4d64000400677eb7f0000017f0000011b589c40044493df81076e1880100040fe2800000101080a9a4f5f289170a1e9",
        "127.0.0.1:7000 > 127.0.0.1:40000 TCP [ACK] seq=71603167 ack=2164747800 win=64 ts=2588892968/2440077801 len=0",
    ),
    (
        "000000000000000000000000080045000038c4d74000400677e67f0000017f0000011b589c40044493df81076e1880180040fe2c00000101080a9a4f5f289170a1e9706f6e67",
        "127.0.0.1:7000 > 127.0.0.1:40000 TCP [PSH,ACK] seq=71603167 ack=2164747800 win=64 ts=2588892968/2440077801 len=4",
    ),
    (
        "0000000000000000000000000800450000343ca440004006001e7f0000017f0000019c401b5881076e18044493e38010003ffe2800000101080a9170a1e99a4f5f28",
        "127.0.0.1:40000 > 127.0.0.1:7000 TCP [ACK] seq=2164747800 ack=71603171 win=63 ts=2440077801/2588892968 len=0",
    ),
    (
        "000000000000000000000000080045000034c4d84000400677e97f0000017f0000011b589c40044493e381076e1880110040fe2800000101080a9a4f5f8c9170a1e9",
        "127.0.0.1:7000 > 127.0.0.1:40000 TCP [FIN,ACK] seq=71603171 ack=2164747800 win=64 ts=2588893068/2440077801 len=0",
    ),
    (
        "0000000000000000000000000800450000343ca540004006001d7f0000017f0000019c401b5881076e18044493e48010003ffe2800000101080a9170a2769a4f5f8c",
        "127.0.0.1:40000 > 127.0.0.1:7000 TCP [ACK] seq=2164747800 ack=71603172 win=63 ts=2440077942/2588893068 len=0",
    ),
    (
        "0000000000000000000000000800450000343ca640004006001c7f0000017f0000019c401b5881076e18044493e48011003ffe2800000101080a9170a2b19a4f5f8c",
        "127.0.0.1:40000 > 127.0.0.1:7000 TCP [FIN,ACK] seq=2164747800 ack=71603172 win=63 ts=2440078001/2588893068 len=0",
    ),
    (
        "0000000000000000000000000800450000340000400040063cc27f0000017f0000011b589c40044493e481076e19801000400b3700000101080a9a4f5ff09170a2b1",
        "127.0.0.1:7000 > 127.0.0.1:40000 TCP [ACK] seq=71603172 ack=2164747801 win=64 ts=2588893168/2440078001 len=0",
    ),
    (
        "000000000000000000000000080045000021e6ed4000401155dc7f0000017f00000113891388000dfe2068656c6c6f",
        "127.0.0.1:5001 > 127.0.0.1:5000 UDP len=5",
    ),
    (
        "00000000000000000000000086dd60054b030028064000000000000000000000000000000001000000000000000000000000000000019c411b5927b8197000000000a002fd2000300000020405a00402",
        "error: TCP header truncated: need 40 bytes, captured 26",
    ),
    (
        "00000000000000000000000086dd60041ac90028064000000000000000000000000000000001000000000000000000000000000000011b599c41dee9cff627b81971a012fb0400300000020405a00402",
        "error: TCP header truncated: need 40 bytes, captured 26",
    ),
    (
        "00000000000000000000000086dd60054b030020064000000000000000000000000000000001000000000000000000000000000000019c411b5927b81971dee9cff780100040002800000101080afa94",
        "error: TCP header truncated: need 32 bytes, captured 26",
    ),
    (
        "00000000000000000000000086dd60054b030023064000000000000000000000000000000001000000000000000000000000000000019c411b5927b81971dee9cff780180040002b00000101080afa94",
        "error: TCP header truncated: need 32 bytes, captured 26",
    ),
    (
        "00000000000000000000000086dd60041ac90020064000000000000000000000000000000001000000000000000000000000000000011b599c41dee9cff727b819748010003f002800000101080a5dee",
        "error: TCP header truncated: need 32 bytes, captured 26",
    ),
    (
        "0000000000000000000000000800450005dce7052000401170097f0000017f000001138913880bc0e1787878787878787878787878787878787878787878787878787878787878787878787878787878",
        "127.0.0.1:5001 > 127.0.0.1:5000 UDP len=1472 frag 59141:1480@0+ [truncated]",
    ),
    (
        "0000000000000000000000000800450005dce70520b940116f507f0000017f00000178787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878",
        "127.0.0.1 > 127.0.0.1 UDP frag 59141:1480@1480+ [truncated]",
    ),
    (
        "000000000000000000000000080045000044e70501724011942f7f0000017f00000178787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878",
        "127.0.0.1 > 127.0.0.1 UDP frag 59141:48@2960 [truncated]",
    ),
    (
        "00000000000000000000000086dd6007117405b02c400000000000000000000000000000000100000000000000000000000000000001110000018fd1b763ba1b138a0bc0570379797979797979797979",
        "[::1]:47643 > [::1]:5002 UDP len=1440 frag 2412885859:1448@0+ [truncated]",
    ),
    (
        "00000000000000000000000086dd6007117405b02c400000000000000000000000000000000100000000000000000000000000000001110005a98fd1b763797979797979797979797979797979797979",
        "::1 > ::1 UDP frag 2412885859:1448@1448+ [truncated]",
    ),
    (
        "00000000000000000000000086dd6007117400782c40000000000000000000000000000000010000000000000000000000000000000111000b508fd1b763797979797979797979797979797979797979",
        "::1 > ::1 UDP frag 2412885859:112@2896 [truncated]",
    ),
    (
        "00000000000000000000000086dd6004b36604d83a4000000000000000000000000000000001000000000000000000000000000000010104521800000000600711740bc0114000000000000000000000",
        "::1 > ::1 ICMPv6 len=1240 [truncated]",
    ),
    (
        "00000000000000000000000008004500003c457e40004006f73b7f0000017f00000187481bbca4bab30900000000a002faf0fe300000020405b40402080a25b7711d000000000103030a",
        "127.0.0.1:34632 > 127.0.0.1:7100 TCP [SYN] seq=2763698953 win=64240 mss=1460 sackOK ts=632779037/0 ws=10 len=0",
    ),
    (
        "00000000000000000000000008004500003c0000400040063cba7f0000017f0000011bbc87484f381df9a4bab30aa012fe88fe300000020405b40402080a3a3fb8f725b7711d0103030a",
        "127.0.0.1:7100 > 127.0.0.1:34632 TCP [SYN,ACK] seq=1329077753 ack=2763698954 win=65160 mss=1460 sackOK ts=977254647/632779037 ws=10 len=0",
    ),
    (
        "000000000000000000000000080045000034457f40004006f7427f0000017f00000187481bbca4bab30a4f381dfa8010003ffe2800000101080a25b7711d3a3fb8f7",
        "127.0.0.1:34632 > 127.0.0.1:7100 TCP [ACK] seq=2763698954 ack=1329077754 win=63 ts=632779037/977254647 len=0",
    ),
    (
        "000000000000000000000000080045000035458040004006f7407f0000017f00000187481bbca4bab30a4f381dfa8038003ffe2900010101080a25b7711e3a3fb8f721",
        "127.0.0.1:34632 > 127.0.0.1:7100 TCP [PSH,ACK,URG] seq=2763698954 ack=1329077754 win=63 urg=1 ts=632779038/977254647 len=1",
    ),
    (
        "0000000000000000000000000800450000348f8340004006ad3e7f0000017f0000011bbc87484f381dfaa4bab30b80100040fe2800000101080a3a3fb8f825b7711e",
        "127.0.0.1:7100 > 127.0.0.1:34632 TCP [ACK] seq=1329077754 ack=2763698955 win=64 ts=977254648/632779038 len=0",
    ),
    (
        "0000000000000000000000000800450013bc458140004006e3b87f0000017f00000187481bbca4bab30b4f381dfa8018003f11b100000101080a25b771503a3fb8f87a7a7a7a7a7a7a7a7a7a7a7a7a7a",
        "127.0.0.1:34632 > 127.0.0.1:7100 TCP [PSH,ACK] seq=2763698955 ack=1329077754 win=63 ts=632779088/977254648 len=5000 [truncated]",
    ),
    (
        "0000000000000000000000000800450000348f8440004006ad3d7f0000017f0000011bbc87484f381dfaa4bac6938010004afe2800000101080a3a3fb92a25b77150",
        "127.0.0.1:7100 > 127.0.0.1:34632 TCP [ACK] seq=1329077754 ack=2763703955 win=74 ts=977254698/632779088 len=0",
    ),
    (
        "000000000000000000000000080045000034458540004006f73c7f0000017f00000187481bbca4bac6934f381dfa8014003ffe2800000101080a25b771823a3fb92a",
        "127.0.0.1:34632 > 127.0.0.1:7100 TCP [RST,ACK] seq=2763703955 ack=1329077754 win=63 ts=632779138/977254698 len=0",
    ),
    (
        "00000000000000000000000008004500001ce7374000401155977f0000017f00000193ff138d0008fe1b",
        "127.0.0.1:37887 > 127.0.0.1:5005 UDP len=0",
    ),
    (
        "000000000000000000000000080045c00038789b0000400103687f0000017f0000010303574c000000004500001ce7374000401155977f0000017f00000193ff138d0008fe1b",
        "127.0.0.1 > 127.0.0.1 ICMP len=36",
    ),
    (
        "00000000000000000000000086dd600f3fc8000b11400000000000000000000000000000000100000000000000000000000000000001cc1d138e000b001e616263",
        "[::1]:52253 > [::1]:5006 UDP len=3",
    ),
    (
        "00000000000000000000000086dd6004b366003b3a4000000000000000000000000000000001000000000000000000000000000000010104a92800000000600f3fc8000b114000000000000000000000",
        "::1 > ::1 ICMPv6 len=59 [truncated]",
    ),
];

/// `tcpdump -i any -y LINUX_SLL`, frames 1, 13, 16, 20, 23, 28, 32, 33, 35
/// of that capture: (frame as hex, expected summary line).
const COOKED: &[(&str, &str)] = &[
    (
        "000003040006000000000000000008004500003ceb8a40004006512f7f0000017f0000019c401b588360583800000000a002faf0fe300000020405b40402080a9170abc1000000000103030a",
        "127.0.0.1:40000 > 127.0.0.1:7000 TCP [SYN] seq=2204129336 win=64240 mss=1460 sackOK ts=2440080321/0 ws=10 len=0",
    ),
    (
        "000003040006000000000000000086dd600b315f0028064000000000000000000000000000000001000000000000000000000000000000019c411b592a10fffc00000000a002fd2000300000020405a00402080afa949c04000000000103030a",
        "[::1]:40001 > [::1]:7001 TCP [SYN] seq=705757180 win=64800 mss=1440 sackOK ts=4204043268/0 ws=10 len=0",
    ),
    (
        "000003040006000000000000000086dd600b315f0023064000000000000000000000000000000001000000000000000000000000000000019c411b592a10fffde142b69580180040002b00000101080afa949c055dee7695686936",
        "[::1]:40001 > [::1]:7001 TCP [PSH,ACK] seq=705757181 ack=3779245717 win=64 ts=4204043269/1575909013 len=3",
    ),
    (
        "000003040006000000000000000008004500004404d50172401176607f0000017f000001787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878",
        "127.0.0.1 > 127.0.0.1 UDP frag 1237:48@2960",
    ),
    (
        "000003040006000000000000000086dd600728f400782c40000000000000000000000000000000010000000000000000000000000000000111000b5052508fc879797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979",
        "::1 > ::1 UDP frag 1381011400:112@2896",
    ),
    (
        "0000030400060000000000000000080045000035b35a4000400689667f0000017f00000187561bbc4af245023844307c8038003ffe2900010101080ade4a826304ec71b621",
        "127.0.0.1:34646 > 127.0.0.1:7100 TCP [PSH,ACK,URG] seq=1257391362 ack=943992956 win=63 urg=1 ts=3729424995/82604470 len=1",
    ),
    (
        "0000030400060000000000000000080045000034b35f4000400689627f0000017f00000187561bbc4af2588b3844307c8014003ffe2800000101080ade4a82c804ec71e8",
        "127.0.0.1:34646 > 127.0.0.1:7100 TCP [RST,ACK] seq=1257396363 ack=943992956 win=63 ts=3729425096/82604520 len=0",
    ),
    (
        "000003040006000000000000000008004500001c051f4000401137b07f0000017f000001ddf5138d0008fe1b",
        "127.0.0.1:56821 > 127.0.0.1:5005 UDP len=0",
    ),
    (
        "000003040006000000000000000086dd6009e8a2000b1140000000000000000000000000000000010000000000000000000000000000000197eb138e000b001e616263",
        "[::1]:38891 > [::1]:5006 UDP len=3",
    ),
];

/// Parses a fixture's hex string.
fn unhex(hex: &str) -> Vec<u8> {
    assert_eq!(hex.len() % 2, 0, "odd hex length");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// The summary line, or `error: ...`, that decoding `bytes` gives.
fn summary(link: LinkType, bytes: &[u8]) -> String {
    match decode_frame(link, bytes) {
        Ok(frame) => frame.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn wire_snaplen_80_session() {
    for (i, (hex, expected)) in SNAPLEN_80.iter().enumerate() {
        let bytes = unhex(hex);
        assert_eq!(
            summary(LinkType::Ethernet, &bytes),
            *expected,
            "frame {}",
            i + 1
        );
    }
    // The 5000-byte GSO segment (frame 30): 80 bytes kept, the real
    // length from the IP header.
    let frame = decode_frame(LinkType::Ethernet, &unhex(SNAPLEN_80[29].0)).unwrap();
    assert!(frame.truncated);
    assert_eq!(frame.ip.total_len, 5052);
    let tcp = frame.tcp().unwrap();
    assert_eq!((tcp.payload.len(), tcp.payload_len), (14, 5000));
    assert_eq!(tcp.payload, b"zzzzzzzzzzzzzz");
    // A cut frame has nothing to check the checksum against.
    assert_eq!(
        transport_checksum_ok(LinkType::Ethernet, &unhex(SNAPLEN_80[29].0)),
        None
    );
}

#[test]
fn wire_linux_cooked_frames() {
    for (i, (hex, expected)) in COOKED.iter().enumerate() {
        let bytes = unhex(hex);
        assert_eq!(
            summary(LinkType::LinuxSll, &bytes),
            *expected,
            "entry {}",
            i + 1
        );
        let frame = decode_frame(LinkType::LinuxSll, &bytes).unwrap();
        let sll = frame.sll.as_ref().unwrap();
        assert_eq!(
            (sll.ha_type, sll.address.len()),
            (772, 6),
            "ARPHRD_LOOPBACK"
        );
        assert!(!frame.truncated);
    }
}

#[test]
fn wire_checksums_on_loopback() {
    // Linux leaves TCP and UDP checksums on lo unfinished
    // (CHECKSUM_PARTIAL); tshark calls them all bad too. The decoder
    // accepts them, and the helper says what they are.
    let syn = unhex(COOKED[0].0);
    assert_eq!(transport_checksum_ok(LinkType::LinuxSll, &syn), Some(false));

    // The empty datagram 127.0.0.1:56821 > 127.0.0.1:5005.
    let mut empty = unhex(COOKED[7].0);
    let udp = decode_frame(LinkType::LinuxSll, &empty)
        .unwrap()
        .udp()
        .cloned()
        .unwrap();
    assert_eq!(
        transport_checksum_ok(LinkType::LinuxSll, &empty),
        Some(false)
    );
    // What the partial field holds: the sum of the pseudo-header
    // (addresses, protocol 17, UDP length 8), not yet complemented, for a
    // NIC to finish. `lo` has no NIC, so nobody does.
    let pseudo = [127, 0, 0, 1, 127, 0, 0, 1, 0, 17, 0, 8];
    assert_eq!(udp.checksum, !internet_checksum(&pseudo));
    assert_eq!(udp.checksum, 0xfe1b);

    // Finish it by hand: the checksum of pseudo-header plus the datagram
    // with its checksum field zeroed.
    let datagram_at = empty.len() - 8;
    empty[datagram_at + 6..].copy_from_slice(&[0, 0]);
    let full = internet_checksum(&[&pseudo[..], &empty[datagram_at..]].concat());
    empty[datagram_at + 6..].copy_from_slice(&full.to_be_bytes());
    assert_eq!(
        transport_checksum_ok(LinkType::LinuxSll, &empty),
        Some(true)
    );
    // Over IPv4, 0 means "no checksum", which is fine.
    empty[datagram_at + 6..].copy_from_slice(&[0, 0]);
    assert_eq!(
        transport_checksum_ok(LinkType::LinuxSll, &empty),
        Some(true)
    );
}

// ---------------------------------------------------------------------
// Property tests: never panic, and keep the invariants the rest of the
// crate relies on.
// ---------------------------------------------------------------------

/// xorshift64*: a tiny, fixed-seed generator, so a failure replays.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

const LINKS: [LinkType; 3] = [LinkType::Ethernet, LinkType::Raw, LinkType::LinuxSll];

/// Values that sit on the edges of the length checks, and the protocol
/// numbers that steer the decoder (IPv4/IPv6 nibbles, TCP, UDP, IPv6
/// extension headers, VLAN).
const INTERESTING_BYTES: [u8; 16] = [
    0x00, 0x01, 0x05, 0x06, 0x0f, 0x11, 0x2b, 0x2c, 0x33, 0x3c, 0x45, 0x4f, 0x50, 0x60, 0x81, 0xff,
];
const INTERESTING_U16: [u16; 12] = [0, 1, 3, 7, 8, 19, 20, 40, 0x0800, 0x8100, 0x86dd, 0xffff];

/// What one decode reached, for the coverage check at the end.
#[derive(Default)]
struct Reached {
    ok: usize,
    truncated: usize,
    tcp: usize,
    udp: usize,
    fragment: usize,
    other: usize,
    errors: std::collections::BTreeMap<&'static str, usize>,
}

/// Decodes one input and checks the invariants of the result.
fn check(link: LinkType, bytes: &[u8], reached: &mut Reached) {
    let _ = transport_checksum_ok(link, bytes);
    let frame: Frame = match decode_frame(link, bytes) {
        Ok(frame) => frame,
        Err(e) => {
            let kind = match e {
                DecodeError::Truncated { need, have, .. } => {
                    assert!(have < need, "{e}");
                    "truncated"
                }
                DecodeError::BadHeaderLength { .. } => "bad header length",
                DecodeError::BadLength { .. } => "bad length",
                DecodeError::BadVersion { .. } => "bad version",
                DecodeError::Unsupported { .. } => "unsupported",
            };
            assert!(!e.to_string().is_empty());
            *reached.errors.entry(kind).or_default() += 1;
            return;
        }
    };
    reached.ok += 1;
    reached.truncated += usize::from(frame.truncated);
    let ip = &frame.ip;
    assert!(ip.version == 4 || ip.version == 6);
    assert!(ip.header_len <= ip.total_len, "{ip:?}");
    let line = frame.to_string();
    assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
    let (payload, payload_len) = match &frame.transport {
        Transport::Tcp(tcp) => {
            reached.tcp += 1;
            assert!((20..=60).contains(&tcp.header_len));
            (tcp.payload.len(), tcp.payload_len)
        }
        Transport::Udp(udp) => {
            reached.udp += 1;
            assert!(udp.length >= 8);
            (udp.payload.len(), udp.payload_len)
        }
        Transport::Fragment { .. } => {
            reached.fragment += 1;
            return;
        }
        Transport::Other { .. } => {
            reached.other += 1;
            return;
        }
    };
    assert!(payload <= payload_len, "{line}");
    if !frame.truncated {
        assert_eq!(payload, payload_len, "{line}");
    }
}

/// Changes a few things in a copy of `seed`, the way a fuzzer would.
fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len().max(1);
        match rng.below(6) {
            0 => {
                let at = rng.below(len);
                if let Some(b) = bytes.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                let at = rng.below(len);
                let value = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
                if let Some(b) = bytes.get_mut(at) {
                    *b = value;
                }
            }
            2 => {
                let at = rng.below(len);
                let value = INTERESTING_U16[rng.below(INTERESTING_U16.len())];
                if at + 2 <= bytes.len() {
                    bytes[at..at + 2].copy_from_slice(&value.to_be_bytes());
                }
            }
            3 => bytes.truncate(rng.below(len + 1)),
            4 => {
                let extra = rng.below(64);
                bytes.extend((0..extra).map(|_| rng.byte()));
            }
            _ => {
                let at = rng.below(len);
                if let Some(b) = bytes.get_mut(at) {
                    *b = rng.byte();
                }
            }
        }
    }
    bytes
}

#[test]
fn wire_never_panics_on_random_bytes() {
    let mut rng = XorShift(0x5eed_f00d_c0de_1ab5);
    let mut reached = Reached::default();
    for _ in 0..200_000 {
        let link = LINKS[rng.below(3)];
        let len = rng.below(120);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        // Give the decoder a fair chance to get past the first check.
        let ip_start = match link {
            LinkType::Ethernet => 14,
            LinkType::LinuxSll => 16,
            LinkType::Raw => 0,
        };
        if rng.below(2) == 0 && bytes.len() > ip_start {
            bytes[ip_start] = [0x45, 0x46, 0x4f, 0x60][rng.below(4)];
            if ip_start >= 2 {
                let ethertype: u16 = if bytes[ip_start] == 0x60 {
                    0x86dd
                } else {
                    0x0800
                };
                bytes[ip_start - 2..ip_start].copy_from_slice(&ethertype.to_be_bytes());
            }
        }
        check(link, &bytes, &mut reached);
    }
    assert!(
        reached.ok > 0 && reached.errors.len() >= 4,
        "{:?}",
        reached.errors
    );
}

#[test]
fn wire_never_panics_on_mutated_captures() {
    let mut seeds: Vec<(LinkType, Vec<u8>)> = Vec::new();
    seeds.extend(
        SNAPLEN_80
            .iter()
            .map(|(h, _)| (LinkType::Ethernet, unhex(h))),
    );
    seeds.extend(COOKED.iter().map(|(h, _)| (LinkType::LinuxSll, unhex(h))));
    // The same packets as raw IP, so the mutations also hit IP first.
    seeds.extend(
        COOKED
            .iter()
            .map(|(h, _)| (LinkType::Raw, unhex(h)[16..].to_vec())),
    );

    let mut rng = XorShift(0xf0dd_e7c0_ffee);
    let mut reached = Reached::default();
    for _ in 0..300_000 {
        let (link, seed) = &seeds[rng.below(seeds.len())];
        let bytes = mutate(&mut rng, seed);
        check(*link, &bytes, &mut reached);
    }
    // The mutations must have reached every outcome, or this test proves
    // less than it claims.
    for kind in [
        "truncated",
        "bad header length",
        "bad length",
        "bad version",
        "unsupported",
    ] {
        assert!(
            reached.errors.contains_key(kind),
            "never hit {kind}: {:?}",
            reached.errors
        );
    }
    assert!(reached.tcp > 0 && reached.udp > 0 && reached.fragment > 0 && reached.other > 0);
    assert!(reached.truncated > 0 && reached.ok > reached.truncated);
}
