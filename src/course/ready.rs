//! The course's first framing (chapter 11): send the length as text, wait
//! until the receiver answers `recv_ready`, then send the data.
//!
//! It works, because the sender says nothing more until the receiver has
//! taken the length, so the length and the data cannot stick together. It
//! costs a whole round trip per message: the sender waits for the
//! receiver's answer before the first data byte leaves. Lab 13 measures
//! the price against a length header (lab 14).

use super::{Conn, Framed, ProtoError};

/// What the receiver answers once it knows the length.
pub const READY: &[u8] = b"recv_ready";

/// The longest length text accepted (`"18446744073709551615"` is 20).
const MAX_DIGITS: usize = 20;

/// The sender's side: the length, the wait, the data.
pub fn send<C: Conn>(framed: &mut Framed<C>, data: &[u8]) -> Result<(), ProtoError> {
    framed.conn.send(data.len().to_string().as_bytes())?;
    let answer = framed.conn.recv(1024)?;
    if answer.is_empty() {
        return Err(ProtoError::ClosedMidFrame {
            what: "the wait for recv_ready",
            got: 0,
            want: Some(READY.len() as u64),
        });
    }
    if answer != READY {
        return Err(ProtoError::BadHeader(format!(
            "expected `recv_ready`, got {:?}",
            String::from_utf8_lossy(&answer)
        )));
    }
    framed.conn.send_all(data)?;
    Ok(())
}

/// The receiver's side: read the length, answer `recv_ready`, read exactly
/// that many bytes. `limit` bounds what a sender may announce.
pub fn recv<C: Conn>(framed: &mut Framed<C>, limit: u64) -> Result<Vec<u8>, ProtoError> {
    // The sender waits for our answer, so this one recv holds the whole
    // length text and nothing after it.
    let text = framed.conn.recv(MAX_DIGITS)?;
    if text.is_empty() {
        return Err(ProtoError::ClosedMidFrame {
            what: "the length",
            got: 0,
            want: None,
        });
    }
    let len: u64 = std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| {
            ProtoError::BadHeader(format!(
                "the length is not a number: {:?}",
                String::from_utf8_lossy(&text)
            ))
        })?;
    let len = super::framing::bounded("a message", len.min(i64::MAX as u64) as i64, limit)?;
    framed.conn.send(READY)?;
    framed.read_exact("a message", len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::Script;

    #[test]
    fn length_then_ready_then_data() {
        let mut framed = Framed::new(Script::new(&[b"recv_ready"]), 1024);
        send(&mut framed, b"hello").unwrap();
        assert_eq!(framed.conn.output, b"5hello");

        let mut framed = Framed::new(Script::new(&[b"5", b"hel", b"lo"]), 1024);
        assert_eq!(recv(&mut framed, 100).unwrap(), b"hello");
        assert_eq!(framed.conn.output, b"recv_ready");
    }

    #[test]
    fn a_huge_length_is_refused_before_answering() {
        let mut framed = Framed::new(Script::new(&[b"10000000000"]), 1024);
        assert!(matches!(
            recv(&mut framed, 1 << 20),
            Err(ProtoError::TooBig { .. })
        ));
        assert!(framed.conn.output.is_empty());
    }
}
