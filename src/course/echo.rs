//! The echo server of the first chapters: send back what came, upper-cased.

use super::{Conn, ProtoError};

/// Python's `bytes.upper()`: ASCII letters only, every other byte as is.
pub fn upper(data: &[u8]) -> Vec<u8> {
    data.to_ascii_uppercase()
}

/// The communication loop (通信循环) for one client: read, answer, until
/// `recv` returns nothing, which means the client closed its side. Returns
/// how many messages were answered.
pub fn serve(conn: &mut impl Conn, bufsize: usize) -> Result<u64, ProtoError> {
    let mut answered = 0;
    loop {
        let data = conn.recv(bufsize)?;
        // The check the course's first loop forgot: without it, a closed
        // client makes this loop spin on empty reads forever.
        if data.is_empty() {
            return Ok(answered);
        }
        conn.send_all(&upper(&data))?;
        answered += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::Script;

    #[test]
    fn upper_cases_ascii_only_and_stops_at_end_of_stream() {
        let mut s = Script::new(&[b"hello", "ni hao \u{4f60}".as_bytes()]);
        assert_eq!(serve(&mut s, 1024).unwrap(), 2);
        assert_eq!(s.output, "HELLONI HAO \u{4f60}".as_bytes());
    }
}
