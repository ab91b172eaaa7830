//! What the fuzz targets share: a connection whose peer is the fuzzer.
//!
//! The `lab serve` protocols read from a [`Conn`]. [`Wire`] is one whose
//! peer sends the fuzz input, so the bytes a hostile client could send,
//! and how TCP cuts them into `recv` results, are exactly what libFuzzer
//! mutates. What the server sends back is counted and dropped.

use std::io;

use socket_lab::course::Conn;

/// A connection whose peer sends pieces of the input, then closes.
///
/// The input is a list of pieces, each one length byte and that many
/// bytes: one `recv` returns at most what is left of the current piece
/// (and at most what it asks for). A length byte of 0 makes the rest of
/// the input one piece, so `[0, stream...]` is a plain stream.
pub struct Wire<'a> {
    input: &'a [u8],
    /// Bytes left in the current piece.
    piece: usize,
    /// Bytes the server received, and sent (the latter dropped).
    pub received: u64,
    pub sent: u64,
}

impl<'a> Wire<'a> {
    /// A wire that carries the pieces in `input`.
    pub fn new(input: &'a [u8]) -> Wire<'a> {
        Wire {
            input,
            piece: 0,
            received: 0,
            sent: 0,
        }
    }

    /// The pieces of a plain stream cut every `n` bytes (0: not cut), as
    /// a seed for a target reading a [`Wire`].
    pub fn pieces(stream: &[u8], n: u8) -> Vec<u8> {
        if n == 0 {
            return [&[0], stream].concat();
        }
        stream
            .chunks(usize::from(n))
            .flat_map(|c| std::iter::once(c.len() as u8).chain(c.iter().copied()))
            .collect()
    }
}

impl Conn for Wire<'_> {
    fn send(&mut self, b: &[u8]) -> io::Result<usize> {
        self.sent += b.len() as u64;
        Ok(b.len())
    }

    fn send_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.sent += b.len() as u64;
        Ok(())
    }

    fn recv(&mut self, max: usize) -> io::Result<Vec<u8>> {
        if self.piece == 0 {
            let Some((&len, rest)) = self.input.split_first() else {
                return Ok(Vec::new());
            };
            self.input = rest;
            self.piece = match len {
                0 => rest.len(),
                n => usize::from(n).min(rest.len()),
            };
        }
        let n = max.min(self.piece);
        let (now, later) = self.input.split_at(n);
        self.input = later;
        self.piece -= n;
        self.received += n as u64;
        Ok(now.to_vec())
    }
}
