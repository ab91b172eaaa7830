//! Fuzz target: the remote command server of `lab serve`
//! (`course::command::serve_one`), fed the commands a hostile client could
//! send.
//!
//! Input: one byte for the reply framing (raw, `recv_ready`, fixed header
//! in either byte order and in one or two writes, JSON header), then the
//! client's bytes as `recv` pieces (see `socket_lab_fuzz::Wire`). The server
//! never starts a process; it answers from a fixed list, for as long as
//! the client sends.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::course::Framed;
use socket_lab::course::command::{self, Framing};
use socket_lab::course::framing::LengthFormat;
use socket_lab_fuzz::Wire;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let order = if mode & 1 == 0 {
        LengthFormat::Native
    } else {
        LengthFormat::Network
    };
    let framing = match (mode >> 1) % 5 {
        0 => Framing::Raw,
        1 => Framing::Ready,
        2 => Framing::Fixed(order),
        3 => Framing::FixedTwoWrites(order),
        _ => Framing::Json(order),
    };
    let mut framed = Framed::new(Wire::new(rest), 65_536);
    while let Ok(Some((cmd, len))) = command::serve_one(&mut framed, framing) {
        assert!(!cmd.is_empty() && cmd.len() <= 1024);
        assert!(len <= command::BIG_LOG_LEN);
    }
});
