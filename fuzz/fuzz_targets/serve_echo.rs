//! Fuzz target: the upper-casing echo server (`course::echo::serve`), fed
//! the bytes a hostile client could send.
//!
//! Input: one byte for the `recv` size, then the client's bytes as `recv`
//! pieces (see `socket_lab_fuzz::Wire`). The server answers byte for byte
//! and stops at the end of the stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::course::echo;
use socket_lab_fuzz::Wire;

fuzz_target!(|data: &[u8]| {
    let Some((&size, rest)) = data.split_first() else {
        return;
    };
    let mut wire = Wire::new(rest);
    let answered = echo::serve(&mut wire, usize::from(size).max(1)).expect("a wire never fails");
    assert!(answered <= wire.received);
    assert_eq!(wire.sent, wire.received, "every byte comes back");
});
