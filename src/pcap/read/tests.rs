//! The reader on byte fixtures: files cut anywhere, lengths that lie,
//! time units that overflow, and many frames read in order.

use super::*;

/// The start of an IPv4 header: version 4, IHL 5.
const IPV4: [u8; 4] = [0x45, 0, 0, 20];

#[test]
fn a_record_claiming_more_than_the_file_holds_is_a_cut_not_an_allocation() {
    // A classic pcap header (little-endian, microseconds, Ethernet),
    // then one record that claims 4 GiB - 1 captured bytes.
    let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&262_144u32.to_le_bytes());
    file.extend_from_slice(&1u32.to_le_bytes());
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&u32::MAX.to_le_bytes());
    file.extend_from_slice(&u32::MAX.to_le_bytes());
    file.extend_from_slice(b"a few bytes");
    let read = read_pcap_bytes("claims.pcap", &file).unwrap();
    assert!(read.frames.is_empty());
    let why = read.cut_short.unwrap();
    assert!(
        why.starts_with("claims.pcap: the file is cut short (frame 1: it runs past the end"),
        "{why}"
    );
}

/// A little-endian pcapng file: a section, one Ethernet interface with
/// `options` (already padded, without the end marker), and one packet
/// stamped `ts` units, carrying a 20-byte IPv4 header.
fn pcapng(options: &[u8], ts: u64) -> Vec<u8> {
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        [
            &kind.to_le_bytes()[..],
            &len.to_le_bytes(),
            body,
            &len.to_le_bytes(),
        ]
        .concat()
    }
    // Byte-order magic, version 1.0, section length unknown (-1).
    let shb = [&0x1a2b_3c4du32.to_le_bytes()[..], &[1, 0, 0, 0], &[0xff; 8]].concat();
    // Link type 1 (Ethernet), reserved, snaplen; options; opt_endofopt.
    let idb = [
        &[1, 0, 0, 0][..],
        &262_144u32.to_le_bytes(),
        options,
        &[0; 4],
    ]
    .concat();
    let frame = [&[0u8; 12][..], &[0x08, 0x00], &IPV4, &[0; 16]].concat();
    let epb = [
        &0u32.to_le_bytes()[..],
        &((ts >> 32) as u32).to_le_bytes(),
        &(ts as u32).to_le_bytes(),
        &(frame.len() as u32).to_le_bytes(),
        &(frame.len() as u32).to_le_bytes(),
        &frame,
        &[0; 2], // padding to 32 bits
    ]
    .concat();
    [block(0x0a0d_0d0a, &shb), block(1, &idb), block(6, &epb)].concat()
}

#[test]
fn absurd_time_units_and_offsets_read_without_panicking() {
    // Regression, found by the `read_pcap` fuzz target: an interface
    // whose if_tsresol (option 9) says 10^-112 s per unit made
    // 10^112 overflow 128 bits. Such a unit now reads every stamp as 0.
    let tsresol = |r: u8| [9, 0, 1, 0, r, 0, 0, 0];
    let file = read_pcap_bytes("resol.pcapng", &pcapng(&tsresol(112), 5_000)).unwrap();
    assert_eq!(file.frames.len(), 1);
    assert_eq!(file.start, std::time::UNIX_EPOCH);
    // Nanoseconds (10^-9) still read as they should.
    let file = read_pcap_bytes("ns.pcapng", &pcapng(&tsresol(9), 5_000_000_000)).unwrap();
    assert_eq!(
        file.start,
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(5)
    );

    // The same code added an if_tsoffset (option 14) of 2^64 - 1 s to
    // the stamp (a Duration overflow), then made it a SystemTime (an
    // overflow of the clock). Both saturate now.
    let offset = [&[14, 0, 8, 0][..], &u64::MAX.to_le_bytes()].concat();
    let file = read_pcap_bytes("offset.pcapng", &pcapng(&offset, u64::MAX)).unwrap();
    assert_eq!(file.frames.len(), 1);
    assert_eq!(file.frames[0].t_us, 0);
}
