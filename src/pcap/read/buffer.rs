//! The buffer between the file and the parsers: bytes read and not parsed
//! yet, refilled from the file when a record does not fit in what is left.

use std::io::{self, Read};

use super::MAX_RECORD;

/// Bytes read from the file and not parsed yet: `data[start..end]`.
pub(super) struct Buffer<R> {
    input: R,
    pub(super) data: Vec<u8>,
    start: usize,
    end: usize,
}

/// What reading more of the file gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fill {
    /// More bytes are in the buffer.
    More,
    /// The file has no more bytes.
    End,
    /// The buffer is [`MAX_RECORD`] long and full: the record at its front
    /// is longer than any we read.
    Full,
}

impl<R: Read> Buffer<R> {
    pub(super) fn new(input: R, size: usize) -> Self {
        Buffer {
            input,
            data: vec![0; size],
            start: 0,
            end: 0,
        }
    }

    /// The bytes read and not parsed yet.
    pub(super) fn unparsed(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Marks the first `n` unparsed bytes as parsed.
    pub(super) fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// Reads more of the file after the unparsed bytes.
    pub(super) fn fill(&mut self) -> io::Result<Fill> {
        // What is left is the start of a record: move it to the front, so
        // that the rest of the buffer can take the next read.
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        // A buffer full of one unfinished record: make room, up to the
        // bound, by doubling (as many reads as the record needs, not more).
        if self.end == self.data.len() {
            if self.data.len() >= MAX_RECORD {
                return Ok(Fill::Full);
            }
            let size = (self.data.len() * 2).clamp(64, MAX_RECORD);
            self.data.resize(size, 0);
        }
        loop {
            match self.input.read(&mut self.data[self.end..]) {
                Ok(0) => return Ok(Fill::End),
                Ok(n) => {
                    self.end += n;
                    return Ok(Fill::More);
                }
                // A signal arrived during the read: the caller checks for
                // signals between frames; read on.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}
