//! Fuzz target: the HMAC challenge and response (`course::auth`), fed the
//! answer a hostile client could send.
//!
//! Input: one byte for the digest and the read size, then the client's
//! bytes as `recv` pieces (see `socket_lab_fuzz::Wire`). The server sends a
//! fresh random challenge, so no input may pass; any answer must be
//! refused or cut short, never panic. The same bytes also go through
//! `verify` with a challenge taken from the input, where the right answer
//! must pass and a changed one must not.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::course::Framed;
use socket_lab::course::ProtoError;
use socket_lab::course::auth::{self, Digest};
use socket_lab_fuzz::Wire;

const KEY: &[u8] = b"secret";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let digest = if mode & 1 == 0 {
        Digest::Sha256
    } else {
        Digest::Md5
    };
    let bufsize = usize::from(mode >> 1).max(1);
    let mut framed = Framed::new(Wire::new(rest), bufsize);
    match auth::server(&mut framed, KEY, digest) {
        Ok(()) => panic!("an answer to a challenge it never saw passed"),
        Err(ProtoError::Refused(_) | ProtoError::ClosedMidFrame { .. }) => {}
        Err(e) => panic!("unexpected error: {e}"),
    }

    let (challenge, response) = rest.split_at(rest.len() / 2);
    let right = auth::answer(KEY, challenge, digest);
    assert_eq!(right.len(), digest.output_len());
    assert!(auth::verify(KEY, challenge, &right, digest));
    assert_eq!(
        auth::verify(KEY, challenge, response, digest),
        response == right
    );
});
