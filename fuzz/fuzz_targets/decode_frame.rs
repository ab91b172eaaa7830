//! Fuzz target: `socket_lab::wire::decode_frame` must never panic.
//!
//! The first input byte picks the link type (Ethernet, raw IP, Linux
//! cooked), the rest is the captured frame. Beyond "no panic", it checks
//! the invariants the rest of the crate relies on: a record never holds
//! more payload than its real length, an untruncated frame holds all of
//! it, and the summary is one line. `tests/wire_fixtures.rs` runs the same
//! checks on stable Rust from a fixed seed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::wire::{LinkType, Transport, decode_frame, transport_checksum_ok};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let link = match selector % 3 {
        0 => LinkType::Ethernet,
        1 => LinkType::Raw,
        _ => LinkType::LinuxSll,
    };
    let _ = transport_checksum_ok(link, frame);
    let Ok(decoded) = decode_frame(link, frame) else {
        return;
    };
    assert!(decoded.ip.header_len <= decoded.ip.total_len);
    let line = decoded.to_string();
    assert!(!line.contains('\n'));
    let (have, len) = match &decoded.transport {
        Transport::Tcp(tcp) => (tcp.payload.len(), tcp.payload_len),
        Transport::Udp(udp) => (udp.payload.len(), udp.payload_len),
        _ => return,
    };
    assert!(have <= len);
    assert!(decoded.truncated || have == len);
});
