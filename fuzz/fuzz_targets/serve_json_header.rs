//! Fuzz target: the JSON header reader (`course::json_header::read`), fed
//! the bytes a hostile peer could send.
//!
//! Input: one byte for the byte order and body limit, then the peer's
//! bytes as `recv` pieces (see `socket_lab_fuzz::Wire`). Headers are JSON
//! objects and bodies fit the limit, whatever the header claims.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::course::Framed;
use socket_lab::course::framing::LengthFormat;
use socket_lab::course::json_header;
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
    let limit = if mode & 2 == 0 { 64 << 20 } else { 64 };
    let mut framed = Framed::new(Wire::new(rest), 4096);
    while let Ok(Some((header, body))) = json_header::read(&mut framed, format, limit) {
        assert!(body.len() as u64 <= limit);
        assert_eq!(
            header.get("data_size").and_then(|v| v.as_u64()),
            Some(body.len() as u64)
        );
    }
});
