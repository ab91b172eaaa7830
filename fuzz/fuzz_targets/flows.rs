//! Fuzz target: a sequence of captured frames through `Packet::decode`, the
//! flow tracker (`socket_lab::correlate::Flows::observe`, relative sequence
//! numbers and stream offsets) and the stream reassembly
//! (`socket_lab::streams::Streams`), as a capture or `lab inspect` runs them.
//!
//! Input: one byte for the link type (Ethernet, raw IP, Linux cooked), then
//! frames, each a 2-byte big-endian length and that many bytes (the last
//! one takes what is left). Stream offsets are ranges, and what the
//! reassembly keeps stays within its bound.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::correlate::Flows;
use socket_lab::streams::{KEEP, Streams};
use socket_lab::trace::Packet;
use socket_lab::wire::LinkType;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut rest)) = data.split_first() else {
        return;
    };
    let link = match selector % 3 {
        0 => LinkType::Ethernet,
        1 => LinkType::Raw,
        _ => LinkType::LinuxSll,
    };
    let mut flows = Flows::default();
    let mut streams = Streams::default();
    let mut t_us = 0;
    while !rest.is_empty() {
        let (frame, after) = match rest {
            [hi, lo, tail @ ..] => {
                let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
                tail.split_at(len)
            }
            _ => (rest, &[][..]),
        };
        rest = after;
        t_us += 10;
        let mut packet = Packet::decode_link(link, t_us, frame.to_vec(), frame.len());
        packet.info = flows.observe(&packet);
        if let Some((start, end)) = packet.info.stream {
            assert!(start <= end);
        }
        streams.add(&packet);
    }
    for stream in streams.tcp.values() {
        assert!(stream.bytes.len() <= KEEP);
        assert!(stream.missing() <= stream.end);
    }
});
