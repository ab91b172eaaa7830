//! Fuzz target: the fixed-length header reader (`course::framing::read`),
//! fed the bytes a hostile peer could send.
//!
//! Input: one byte for the byte order and limit, then the peer's bytes as
//! `recv` pieces (see `socket_lab_fuzz::Wire`). Every message read must fit
//! the limit; a claim over it is refused without reading.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::course::Framed;
use socket_lab::course::framing::{self, DEFAULT_LIMIT, LengthFormat};
use socket_lab_fuzz::Wire;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let format = if mode & 1 == 0 {
        LengthFormat::Native
    } else {
        LengthFormat::Network
    };
    let limit = if mode & 2 == 0 { DEFAULT_LIMIT } else { 64 };
    let mut framed = Framed::new(Wire::new(rest), 4096);
    while let Ok(Some(message)) = framing::read(&mut framed, format, limit) {
        assert!(message.len() as u64 <= limit);
    }
});
