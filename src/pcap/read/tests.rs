//! The reader on byte fixtures: files cut anywhere, lengths that lie,
//! time units that overflow, and many frames read in order.

use std::io::Read;
use std::path::Path;

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

/// A little-endian classic pcap (microseconds, Ethernet) of `count`
/// frames: frame `i` (from 0) is 14 + `i * 37 % 1500` bytes long, starts
/// with its number, and is stamped `i` ms after the first.
fn classic(count: u32) -> Vec<u8> {
    let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&262_144u32.to_le_bytes());
    file.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..count {
        let len = 14 + (i * 37 % 1500);
        let (sec, usec) = (1_000 + i / 1000, i % 1000 * 1000);
        for field in [sec, usec, len, len] {
            file.extend_from_slice(&field.to_le_bytes());
        }
        let mut frame = vec![(i % 251) as u8; len as usize];
        frame[..4].copy_from_slice(&i.to_be_bytes());
        file.extend_from_slice(&frame);
    }
    file
}

/// Where the record of frame `n` (from 1) begins in [`classic`]'s file.
fn classic_record_at(n: u32) -> usize {
    24 + (0..n - 1)
        .map(|i| 16 + 14 + (i * 37 % 1500) as usize)
        .sum::<usize>()
}

/// A file handed over a few bytes per read, as a pipe or a slow disk may:
/// records come split across reads, and now and then a read is
/// interrupted by a signal.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
    reads: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.reads += 1;
        if self.reads % 5 == 0 {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let n = self.step.min(out.len()).min(self.bytes.len());
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

fn trickle(bytes: &[u8], step: usize) -> Trickle<'_> {
    Trickle {
        bytes,
        step,
        reads: 0,
    }
}

#[test]
fn frames_split_across_reads_come_in_order_as_in_one_read() {
    let file = classic(3_000);
    assert!(file.len() > 4 * BUFFER, "several buffers: {} B", file.len());
    let whole = read_pcap_bytes("many.pcap", &file).unwrap();
    assert_eq!(whole.frames.len(), 3_000);
    assert!(whole.cut_short.is_none());
    // In file order, each with its own bytes and time.
    for (i, f) in whole.frames.iter().enumerate() {
        assert_eq!(f.data[..4], (i as u32).to_be_bytes(), "frame {}", i + 1);
        assert_eq!(f.data.len(), 14 + i * 37 % 1500);
        assert_eq!(f.t_us, i as u64 * 1000);
    }
    // The same frames, whatever size the reads come in: 7 bytes (a
    // record header split), 1,000 (most records split), and a buffer of
    // 64 bytes that must grow for the long records.
    for (step, size) in [(7, BUFFER), (1_000, BUFFER), (4_096, 64)] {
        let mut frames = Frames::with_buffer(Path::new("f"), trickle(&file, step), size).unwrap();
        let read: Vec<CapturedFrame> = frames.by_ref().map(Result::unwrap).collect();
        assert!(read == whole.frames, "reads of {step} B, buffer {size} B");
        assert_eq!(frames.frames_read(), 3_000);
        assert!(frames.cut_short().is_none());
        assert!(frames.next().is_none(), "ended for good");
    }
}

#[test]
fn a_record_cut_far_into_the_file_ends_the_frames_with_a_cut() {
    let file = classic(3_000);
    // Frame 2,500 begins long after the first buffer: cut inside its
    // record header, then inside its bytes.
    let at = classic_record_at(2_500);
    assert!(at > 4 * BUFFER);
    for cut in [at + 9, at + 16 + 5] {
        for step in [BUFFER, 333] {
            let mut frames = Frames::new("cut.pcap", trickle(&file[..cut], step)).unwrap();
            let read: Vec<CapturedFrame> = frames.by_ref().map(Result::unwrap).collect();
            assert_eq!(read.len(), 2_499, "the frames before the cut");
            assert_eq!(read[2_498].data[..4], 2_498u32.to_be_bytes());
            assert_eq!(
                frames.cut_short(),
                Some(
                    "cut.pcap: the file is cut short (frame 2500: it runs past the end of the file); \
                     the frames before the cut are shown"
                )
            );
        }
    }
    // Cut exactly between two records: no cut at all.
    let read = read_pcap_bytes("even.pcap", &file[..at]).unwrap();
    assert_eq!((read.frames.len(), read.cut_short), (2_499, None));
}

#[test]
fn a_pcapng_block_cut_while_streaming_keeps_the_packets_before() {
    let one = pcapng(&[], 5);
    // The section and interface blocks, then 500 packet blocks.
    // Block header and trailer 12, fields 20, frame 34, padding 2.
    let epb = 12 + 20 + 34 + 2;
    let (head, packet) = one.split_at(one.len() - epb);
    let mut file = head.to_vec();
    for _ in 0..500 {
        file.extend_from_slice(packet);
    }
    let whole = read_pcap_bytes("ng.pcapng", &file).unwrap();
    assert_eq!((whole.frames.len(), whole.cut_short), (500, None));
    let mut frames = Frames::new("ng.pcapng", trickle(&file[..file.len() - 30], 50)).unwrap();
    assert_eq!(frames.by_ref().filter(Result::is_ok).count(), 499);
    let why = frames.cut_short().unwrap();
    assert!(
        why.contains("(the block after frame 499: it runs past the end of the file)"),
        "{why}"
    );
}

#[test]
fn a_record_that_never_ends_stops_at_the_bound_not_at_the_end_of_the_file() {
    // One good frame, then a record claiming 4 GiB - 1 bytes, followed by
    // more bytes than the bound: the reader must not buffer past it.
    let mut file = classic(1);
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&u32::MAX.to_le_bytes());
    file.extend_from_slice(&u32::MAX.to_le_bytes());
    let endless = (&file[..]).chain(std::io::repeat(7).take(4 * MAX_RECORD as u64));
    let mut frames = Frames::new("endless.pcap", endless).unwrap();
    assert!(frames.next().unwrap().is_ok());
    assert!(frames.next().is_none());
    assert!(frames.buffer.data.len() <= MAX_RECORD);
    let why = frames.cut_short().unwrap();
    assert!(
        why.contains("(frame 2: it does not end within 16 MiB"),
        "{why}"
    );
}
