//! The course's wire protocols, as clean Rust.
//!
//! Each module is one protocol of the course, written against [`Conn`], a
//! connected byte stream. Inside a lab step the stream is an actor's socket
//! and every call lands in the trace; in `lab serve` it is an accepted
//! connection of the learner's own client. The same code runs in both.
//!
//! Reading follows one pattern everywhere (see [`Framed`]): try to parse a
//! whole frame from what has arrived so far; if it is incomplete, read more
//! and try again. An incomplete frame is the normal state of a byte stream,
//! not an error. A peer that closes in the middle of a frame is an error,
//! and so is a header that claims more bytes than the reader allows: memory
//! never grows with a size a peer merely claims.
//!
//! - [`framing`]: a 4-byte length, then the message (the course's
//!   `struct.pack('i', n)`, 固定长度报头).
//! - [`json_header`]: a 4-byte length, a JSON header with `data_size`, then
//!   the body (自定制报头).
//! - [`ready`]: the length as text, wait for `recv_ready`, then the data.
//! - [`command`]: the remote command runner, on an allow-list, never a shell.
//! - [`files`]: upload and download with `cmd`, `filename`, `filesize` and
//!   a checksum.
//! - [`auth`]: HMAC challenge and response (认证客户端的链接合法性).
//! - [`echo`]: the upper-casing echo of the first chapters.
//! - [`time`]: the UDP time server's formatting.

pub mod auth;
pub mod command;
pub mod echo;
pub mod files;
pub mod framing;
pub mod json_header;
pub mod ready;
pub mod time;

use std::io;

/// A connected stream whose every call is recorded.
pub trait Conn {
    /// One `send()`: the kernel may take fewer bytes than offered.
    fn send(&mut self, b: &[u8]) -> io::Result<usize>;
    /// `sendall()`: the loop around `send()` until every byte is taken.
    fn send_all(&mut self, b: &[u8]) -> io::Result<()>;
    /// One `recv()` of at most `max` bytes; empty means end of stream.
    fn recv(&mut self, max: usize) -> io::Result<Vec<u8>>;
    /// Says that `bytes`, about to be sent, differ from run to run (a
    /// clock reading, random bytes). A recorder notes it so that two runs
    /// can be compared without them; others ignore it.
    fn varies(&mut self, _varies: crate::trace::Varies, _bytes: &[u8]) {}
}

impl<C: Conn + ?Sized> Conn for &mut C {
    fn send(&mut self, b: &[u8]) -> io::Result<usize> {
        (**self).send(b)
    }
    fn send_all(&mut self, b: &[u8]) -> io::Result<()> {
        (**self).send_all(b)
    }
    fn recv(&mut self, max: usize) -> io::Result<Vec<u8>> {
        (**self).recv(max)
    }
    fn varies(&mut self, varies: crate::trace::Varies, bytes: &[u8]) {
        (**self).varies(varies, bytes)
    }
}

/// Why a protocol exchange stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// A socket call failed (ECONNRESET, a watchdog timeout, ...).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer closed its side in the middle of a frame.
    #[error(
        "the peer closed the connection in the middle of {what}: {got} bytes{} arrived",
        want.map(|w| format!(" of {w}")).unwrap_or_default()
    )]
    ClosedMidFrame {
        what: &'static str,
        got: u64,
        want: Option<u64>,
    },
    /// A header claims more bytes than this reader accepts.
    #[error("the header claims {claimed} bytes of {what}, over the limit of {limit} bytes")]
    TooBig {
        what: &'static str,
        claimed: i64,
        limit: u64,
    },
    /// A header that cannot be read at all.
    #[error("bad header: {0}")]
    BadHeader(String),
    /// The server understood the request and said no.
    #[error("refused: {0}")]
    Refused(String),
}

impl ProtoError {
    /// A short name for the trace and for lab expectations.
    pub fn name(&self) -> String {
        match self {
            ProtoError::Io(e) => crate::runner::errno_name(e),
            ProtoError::ClosedMidFrame { .. } => "closed_mid_frame".into(),
            ProtoError::TooBig { .. } => "too_big".into(),
            ProtoError::BadHeader(_) => "bad_header".into(),
            ProtoError::Refused(_) => "refused".into(),
        }
    }
}

/// A stream plus the bytes read from it that no frame has used yet.
///
/// TCP hands over bytes, not messages: one `recv` may return half a header,
/// or the end of one message and the start of the next (粘包). `Framed`
/// keeps whatever arrived until a parser finds a whole frame in it.
pub struct Framed<C> {
    pub conn: C,
    buffer: Vec<u8>,
    /// How many bytes each `recv` asks for.
    pub read_size: usize,
}

impl<C: Conn> Framed<C> {
    /// Wraps `conn`; each read asks for up to `read_size` bytes.
    pub fn new(conn: C, read_size: usize) -> Self {
        Framed {
            conn,
            buffer: Vec::new(),
            read_size: read_size.max(1),
        }
    }

    /// Wraps `conn` with bytes read from it before (past an earlier
    /// frame): the next frame starts with them.
    pub fn resume(conn: C, read_size: usize, buffer: Vec<u8>) -> Self {
        Framed {
            conn,
            buffer,
            read_size: read_size.max(1),
        }
    }

    /// Reads until `parse` finds a whole frame at the start of the buffer.
    ///
    /// `parse` returns `Ok(None)` while the frame is incomplete, or the
    /// frame and how many bytes it used. Returns `Ok(None)` when the peer
    /// closed cleanly between frames.
    pub fn read_frame<T>(
        &mut self,
        what: &'static str,
        mut parse: impl FnMut(&[u8]) -> Result<Option<(T, usize)>, ProtoError>,
    ) -> Result<Option<T>, ProtoError> {
        loop {
            if let Some((frame, used)) = parse(&self.buffer)? {
                self.buffer.drain(..used);
                return Ok(Some(frame));
            }
            // Not enough bytes yet: that is normal on a stream. Read more.
            let more = self.conn.recv(self.read_size)?;
            if more.is_empty() {
                return if self.buffer.is_empty() {
                    Ok(None)
                } else {
                    Err(ProtoError::ClosedMidFrame {
                        what,
                        got: self.buffer.len() as u64,
                        want: None,
                    })
                };
            }
            self.buffer.extend_from_slice(&more);
        }
    }

    /// Reads exactly `n` bytes and hands them to `sink` piece by piece, so
    /// a large body (a file) never has to fit in memory.
    pub fn read_exact_into(
        &mut self,
        what: &'static str,
        n: u64,
        mut sink: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<(), ProtoError> {
        let mut got = 0u64;
        // First what an earlier read left in the buffer.
        let take = (self.buffer.len() as u64).min(n) as usize;
        if take > 0 {
            sink(&self.buffer[..take])?;
            self.buffer.drain(..take);
            got += take as u64;
        }
        while got < n {
            let ask = (n - got).min(self.read_size as u64) as usize;
            let more = self.conn.recv(ask)?;
            if more.is_empty() {
                return Err(ProtoError::ClosedMidFrame {
                    what,
                    got,
                    want: Some(n),
                });
            }
            sink(&more)?;
            got += more.len() as u64;
        }
        Ok(())
    }

    /// Reads exactly `n` bytes into memory; `n` must already be bounded.
    pub fn read_exact(&mut self, what: &'static str, n: usize) -> Result<Vec<u8>, ProtoError> {
        let mut out = Vec::with_capacity(n.min(1 << 20));
        self.read_exact_into(what, n as u64, |b| {
            out.extend_from_slice(b);
            Ok(())
        })?;
        Ok(out)
    }

    /// Bytes received but not used by any frame yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buffer
    }

    /// The stream back, with the bytes no frame has used yet.
    pub fn into_parts(self) -> (C, Vec<u8>) {
        (self.conn, self.buffer)
    }
}

/// An in-memory [`Conn`] for unit tests: reads come from `input` in the
/// pieces given, writes go to `output`.
#[cfg(test)]
pub(crate) struct Script {
    pub input: std::collections::VecDeque<Vec<u8>>,
    pub output: Vec<u8>,
}

#[cfg(test)]
impl Script {
    pub fn new(pieces: &[&[u8]]) -> Self {
        Script {
            input: pieces.iter().map(|p| p.to_vec()).collect(),
            output: Vec::new(),
        }
    }
}

#[cfg(test)]
impl Conn for Script {
    fn send(&mut self, b: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(b);
        Ok(b.len())
    }
    fn send_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.output.extend_from_slice(b);
        Ok(())
    }
    fn recv(&mut self, max: usize) -> io::Result<Vec<u8>> {
        match self.input.front_mut() {
            None => Ok(Vec::new()),
            Some(p) if p.len() <= max => Ok(self.input.pop_front().unwrap_or_default()),
            Some(p) => Ok(p.drain(..max).collect()),
        }
    }
}
