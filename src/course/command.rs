//! The remote command runner (chapters 9 to 12), made safe.
//!
//! The course's server hands whatever text arrives to a shell
//! (`subprocess.Popen(cmd, shell=True)`): anyone who can connect runs any
//! command as the server's user, `rm -rf ~` included. This one never starts
//! a process. It knows a fixed list of harmless commands and answers each
//! with built-in output of a realistic size, which is all the framing
//! lessons need: a short answer, an empty one, one larger than a `recv`
//! buffer, one of a whole mebibyte.
//!
//! The reply is sent in one of the course's four ways ([`Framing`]); the
//! request is one `recv(1024)`, as in the course.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::OnceLock;

use super::framing::{self, LengthFormat};
use super::{Conn, Framed, ProtoError, json_header, ready};

/// Size of the `cat big.log` output: 1 MiB.
pub const BIG_LOG_LEN: usize = 1 << 20;

/// How a reply is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The output as is (chapter 9): it sticks to the next reply.
    Raw,
    /// Length as text, wait for `recv_ready`, then the output (chapter 11).
    Ready,
    /// A 4-byte length, then the output (chapter 12), in one write.
    Fixed(LengthFormat),
    /// The same bytes written as the course writes them: header, then
    /// body, two calls.
    FixedTwoWrites(LengthFormat),
    /// A 4-byte length, a JSON header with `data_size`, then the output
    /// (chapter 12).
    Json(LengthFormat),
}

impl Framing {
    /// `raw`, `ready`, `fixed` or `json`, with the byte order of the length.
    pub fn parse(name: &str, order: LengthFormat) -> Result<Framing, String> {
        match name {
            "raw" => Ok(Framing::Raw),
            "ready" => Ok(Framing::Ready),
            "fixed" => Ok(Framing::Fixed(order)),
            "fixed_two_writes" => Ok(Framing::FixedTwoWrites(order)),
            "json" => Ok(Framing::Json(order)),
            other => Err(format!(
                "framing `{other}`: use raw, ready, fixed, fixed_two_writes or json"
            )),
        }
    }
}

/// The commands this server knows, for `help`.
pub const KNOWN: &[&str] = &[
    "help",
    "ls",
    "ls -l",
    "ls -l /usr/bin",
    "pwd",
    "whoami",
    "date",
    "true",
    "echo TEXT",
    "echo -n TEXT",
    "cat notes.txt",
    "cat big.log",
    "ipconfig",
    "dir",
];

/// What a command prints: its stdout, or, like a shell, an error line for a
/// command it does not know (the course sends stderr when there is any).
///
/// The long outputs are made once and lent out: a client that asks for
/// `cat big.log` a thousand times in a row costs the server a thousand
/// sends, not a thousand mebibytes of formatting.
pub fn output(command: &[u8]) -> Cow<'static, [u8]> {
    static BIG_LOG: OnceLock<Vec<u8>> = OnceLock::new();
    static USR_BIN: OnceLock<Vec<u8>> = OnceLock::new();
    let text = String::from_utf8_lossy(command);
    let cmd = text.trim();
    let owned = |text: String| Cow::Owned(text.into_bytes());
    match cmd {
        "help" => owned(format!("known commands: {}\n", KNOWN.join(", "))),
        "ls" | "dir" => Cow::Borrowed(b"big.log\nnotes.txt\nphotos\nsocket-course.txt\n"),
        "ls -l" => Cow::Owned(long_listing(&FILES)),
        "ls -l /usr/bin" => Cow::Borrowed(USR_BIN.get_or_init(|| long_listing(&usr_bin()))),
        "pwd" => Cow::Borrowed(b"/home/lab\n"),
        "whoami" => Cow::Borrowed(b"lab\n"),
        "date" => owned(format!(
            "{}\n",
            super::time::format_now(b"%a %b %e %H:%M:%S %Z %Y").unwrap_or_default()
        )),
        "true" => Cow::Borrowed(b""),
        "cat notes.txt" => Cow::Borrowed(NOTES.as_bytes()),
        "cat big.log" => Cow::Borrowed(BIG_LOG.get_or_init(big_log)),
        "ipconfig" | "ifconfig" => Cow::Borrowed(IFCONFIG.as_bytes()),
        _ => {
            if let Some(text) = cmd.strip_prefix("echo -n ") {
                return Cow::Owned(text.as_bytes().to_vec());
            }
            if let Some(text) = cmd.strip_prefix("echo ") {
                return owned(format!("{text}\n"));
            }
            let name: String = cmd
                .split_whitespace()
                .next()
                .unwrap_or("")
                .chars()
                .take(64)
                .collect();
            owned(format!(
                "sh: 1: {name}: not found (this server runs only: help)\n"
            ))
        }
    }
}

const NOTES: &str = "Framing: tell the receiver where each message ends.\n\
TCP keeps the order of bytes, never the boundaries of sends.\n";

const IFCONFIG: &str = "lo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536\n        \
inet 127.0.0.1  netmask 255.0.0.0\n        inet6 ::1  prefixlen 128  scopeid 0x10<host>\n        \
loop  txqueuelen 1000  (Local Loopback)\n        RX packets 1042  bytes 88310 (88.3 KB)\n        \
TX packets 1042  bytes 88310 (88.3 KB)\n";

const FILES: [(&str, u64); 4] = [
    ("big.log", BIG_LOG_LEN as u64),
    ("notes.txt", NOTES.len() as u64),
    ("photos", 4096),
    ("socket-course.txt", 160_315),
];

fn usr_bin() -> Vec<(String, u64)> {
    // About 32 KB of listing: far more than one recv(1024) takes.
    (0..600)
        .map(|i| (format!("tool-{i:03}"), 10_000 + (i as u64 * 7919) % 900_000))
        .collect()
}

fn long_listing<S: AsRef<str>>(files: &[(S, u64)]) -> Vec<u8> {
    let mut out = format!("total {}\n", files.len() * 4);
    for (name, size) in files {
        let _ = writeln!(
            out,
            "-rw-r--r-- 1 lab lab {size:>9} Nov 26 09:00 {}",
            name.as_ref()
        );
    }
    out.into_bytes()
}

/// Exactly 1 MiB of log lines. Every byte is printable ASCII or a newline,
/// so any 4 bytes of it read as a length give a number far over any limit.
fn big_log() -> Vec<u8> {
    let mut out = String::with_capacity(BIG_LOG_LEN + 80);
    let mut i = 0u64;
    while out.len() < BIG_LOG_LEN {
        let _ = writeln!(
            out,
            "2026-11-26 09:{:02}:{:02}.{:03} INFO request {i:06} served in {}.{} ms",
            (i / 60_000) % 60,
            (i / 1000) % 60,
            i % 1000,
            i % 7,
            i % 10
        );
        i += 1;
    }
    let mut bytes = out.into_bytes();
    bytes.truncate(BIG_LOG_LEN - 1);
    bytes.push(b'\n');
    bytes
}

/// The server's side of one request: read a command, send its output.
/// Returns the command and the output's length, or `None` when the client
/// has closed.
pub fn serve_one<C: Conn>(
    framed: &mut Framed<C>,
    framing: Framing,
) -> Result<Option<(Vec<u8>, usize)>, ProtoError> {
    // The course reads the command with one recv(1024): the request side
    // has no framing at all, so a client must wait for each reply before it
    // sends the next command.
    let command = framed.conn.recv(1024)?;
    if command.is_empty() {
        return Ok(None);
    }
    let out = output(&command);
    if String::from_utf8_lossy(&command).trim() == "date" {
        framed.conn.varies(crate::trace::Varies::Clock, &out);
    }
    match framing {
        Framing::Raw => framed.conn.send_all(&out)?,
        Framing::Ready => ready::send(framed, &out)?,
        Framing::Fixed(order) => framing::write(&mut framed.conn, &out, order)?,
        Framing::FixedTwoWrites(order) => framing::write_two(&mut framed.conn, &out, order)?,
        Framing::Json(order) => {
            let cmd = String::from_utf8_lossy(&command).trim().to_string();
            let header = json_header::header(
                out.len(),
                &[("cmd", cmd.into()), ("encoding", "utf-8".into())],
            );
            json_header::write(&mut framed.conn, &header, &out, order)?;
        }
    }
    Ok(Some((command, out.len())))
}

/// The client's side: send a command and read the reply. With `Raw`
/// framing there is no way to know where the reply ends: one `recv` of
/// `bufsize` bytes is all the client can do, as in the course.
pub fn request<C: Conn>(
    framed: &mut Framed<C>,
    command: &[u8],
    framing: Framing,
    limit: u64,
) -> Result<Vec<u8>, ProtoError> {
    framed.conn.send_all(command)?;
    match framing {
        Framing::Raw => Ok(framed.conn.recv(framed.read_size)?),
        Framing::Ready => ready::recv(framed, limit),
        Framing::Fixed(order) | Framing::FixedTwoWrites(order) => {
            framing::read(framed, order, limit)?.ok_or(ProtoError::ClosedMidFrame {
                what: "the reply",
                got: 0,
                want: None,
            })
        }
        Framing::Json(order) => match json_header::read(framed, order, limit)? {
            Some((_, body)) => Ok(body),
            None => Err(ProtoError::ClosedMidFrame {
                what: "the reply",
                got: 0,
                want: None,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_have_the_sizes_the_labs_rely_on() {
        assert_eq!(&*output(b"true"), b"");
        assert_eq!(&*output(b"echo -n x"), b"x");
        assert_eq!(&*output(b"pwd\n"), b"/home/lab\n");
        let big = output(b"cat big.log");
        assert_eq!(big.len(), BIG_LOG_LEN);
        assert!(big.iter().all(|b| *b == b'\n' || (0x20..0x7f).contains(b)));
        assert!(output(b"ls -l /usr/bin").len() > 30_000);
        assert!(output(b"rm -rf /").starts_with(b"sh: 1: rm: not found"));
    }

    #[test]
    fn long_outputs_are_made_once() {
        // Regression: each `cat big.log` formatted its mebibyte anew, so a
        // client sending 370 of them in a row kept the server busy over a
        // second (an input of the `serve_command` fuzz target).
        for command in [&b"cat big.log"[..], b"ls -l /usr/bin"] {
            let (a, b) = (output(command), output(command));
            assert!(matches!(a, Cow::Borrowed(_)), "{command:?} is lent");
            assert_eq!(a.as_ptr(), b.as_ptr(), "{command:?} is made once");
        }
    }
}
