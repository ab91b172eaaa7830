//! File upload and download (the course's chapter 12 homework).
//!
//! Every request is a JSON header in the course's layout (4-byte length,
//! then JSON), with the course's fields `cmd`, `filename` and `filesize`
//! plus a `sha256` checksum the course does not have:
//!
//! ```text
//! put: {"cmd":"put","filename":"a.txt","filesize":5,"sha256":"..."} then 5 bytes
//! get: {"cmd":"get","filename":"a.txt"}
//! ```
//!
//! The server answers every request with a header of its own,
//! `{"ok":true,...}` or `{"ok":false,"error":"..."}`; a `get` answer is
//! followed by `filesize` bytes. The course's client never reads the
//! answer to a `put`, which does it no harm.
//!
//! What the course's server gets wrong, and this one does not:
//!
//! - It joins the client's file name to its folder, so `../../.bashrc`
//!   writes outside it. Here a name is one plain path component, or the
//!   request is refused.
//! - It writes straight to the final name, so a client that disconnects
//!   halfway leaves a half file that looks complete. Here the bytes go to a
//!   temporary name, renamed only once all of them arrived and the checksum
//!   matched.
//! - It trusts `filesize`. Here a size over the server's limit is refused
//!   before any byte is written.

use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::framing::LengthFormat;
use super::json_header::{self, Header};
use super::{Conn, Framed, ProtoError};

/// The largest file the server accepts unless told otherwise.
pub const DEFAULT_LIMIT: u64 = 1 << 30;

/// The folder a server keeps its files in.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
    /// The largest `filesize` accepted.
    pub limit: u64,
}

/// What one request did, for the trace.
#[derive(Debug, Clone)]
pub struct Served {
    pub cmd: String,
    pub filename: String,
    /// Bytes moved (0 for a refused request).
    pub size: u64,
    /// The answer's header, as sent.
    pub answer: Header,
}

/// The SHA-256 of `data`, in lower-case hex (what `sha256sum` prints).
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `name` may be used as a file name inside the server's folder:
/// one plain component, no `/`, `\`, `..`, NUL or leading dot.
pub fn check_name(name: &str) -> Result<(), String> {
    let bad = name.is_empty()
        // 255 is the usual limit of a name; the upload's temporary name
        // adds 19 bytes (`.` and `.part-` and 12 hex digits).
        || name.len() > 236
        || name.starts_with('.')
        || name.contains(['/', '\\', '\0']);
    if bad {
        Err(format!(
            "file name {name:?} is refused: use a plain name, without folders, `..` or a leading dot"
        ))
    } else {
        Ok(())
    }
}

fn field_str(h: &Header, field: &str) -> Result<String, ProtoError> {
    match h.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(ProtoError::BadHeader(format!(
            "`{field}` is {other}, not a string"
        ))),
        None => Err(ProtoError::BadHeader(format!(
            "the header has no `{field}`"
        ))),
    }
}

fn answer_ok(extra: &[(&str, Value)]) -> Header {
    let mut h = Header::new();
    h.insert("ok".into(), true.into());
    for (k, v) in extra {
        h.insert((*k).into(), v.clone());
    }
    h
}

fn answer_err(message: &str) -> Header {
    let mut h = Header::new();
    h.insert("ok".into(), false.into());
    h.insert("error".into(), message.into());
    h
}

/// Serves one request; `Ok(None)` when the client has closed. An error
/// means the connection cannot go on (the caller closes it); a request
/// the server merely refuses gets an error answer and the loop goes on.
pub fn serve_one<C: Conn>(
    framed: &mut Framed<C>,
    store: &Store,
    format: LengthFormat,
) -> Result<Option<Served>, ProtoError> {
    let Some(header) = json_header::read_header(framed, format)? else {
        return Ok(None);
    };
    let cmd = field_str(&header, "cmd")?;
    let filename = field_str(&header, "filename")?;
    let (size, answer) = match cmd.as_str() {
        "put" => put(framed, store, &header, &filename)?,
        "get" => get(framed, store, &filename, format)?,
        other => {
            // Without `filesize` we cannot know what follows: stop here.
            return Err(ProtoError::BadHeader(format!(
                "unknown cmd {other:?}: use put or get"
            )));
        }
    };
    if cmd == "put" {
        json_header::write(&mut framed.conn, &answer, b"", format)?;
    }
    Ok(Some(Served {
        cmd,
        filename,
        size,
        answer,
    }))
}

fn put<C: Conn>(
    framed: &mut Framed<C>,
    store: &Store,
    header: &Header,
    filename: &str,
) -> Result<(u64, Header), ProtoError> {
    // A size over the limit ends the connection: we will not read that
    // many bytes just to stay in step with the client.
    let size = json_header::size_field(header, "filesize", store.limit)?;
    let expected = match header.get("sha256") {
        Some(Value::String(s)) => Some(s.to_ascii_lowercase()),
        _ => None,
    };
    if let Err(refusal) = check_name(filename) {
        // The body follows the header whatever we think of the name: read
        // it and drop it, so the next request starts where it should.
        framed.read_exact_into("a refused upload", size, |_| Ok(()))?;
        return Ok((0, answer_err(&refusal)));
    }
    let part = temp_name(&store.dir, filename)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&part)?;
    let mut hasher = Sha256::new();
    // The disk can fill up (or the file system refuse) halfway through.
    // That is not the client's fault, and the connection can go on: read
    // the rest of the body and drop it, so the next request starts where
    // it should, then answer with the error.
    let mut stored: io::Result<()> = Ok(());
    let received = framed.read_exact_into("an uploaded file", size, |piece| {
        hasher.update(piece);
        if stored.is_ok() {
            stored = file.write_all(piece);
        }
        Ok(())
    });
    let stored = stored.and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = received {
        // A half file must never appear under the real name.
        let _ = fs::remove_file(&part);
        return Err(e);
    }
    if let Err(e) = stored {
        let _ = fs::remove_file(&part);
        return Ok((0, answer_err(&format!("cannot store {filename:?}: {e}"))));
    }
    let got = hex(&hasher.finalize());
    if let Some(want) = expected
        && want != got
    {
        let _ = fs::remove_file(&part);
        return Ok((
            0,
            answer_err(&format!(
                "checksum mismatch: header says {want}, bytes give {got}"
            )),
        ));
    }
    if let Err(e) = fs::rename(&part, store.dir.join(filename)) {
        // No hidden half file left behind either.
        let _ = fs::remove_file(&part);
        return Ok((0, answer_err(&format!("cannot store {filename:?}: {e}"))));
    }
    Ok((
        size,
        answer_ok(&[("filesize", size.into()), ("sha256", got.into())]),
    ))
}

/// A fresh hidden name next to the final one: `.a.txt.part-<random>`.
fn temp_name(dir: &Path, filename: &str) -> io::Result<PathBuf> {
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(dir.join(format!(".{filename}.part-{}", hex(&r))))
}

fn get<C: Conn>(
    framed: &mut Framed<C>,
    store: &Store,
    filename: &str,
    format: LengthFormat,
) -> Result<(u64, Header), ProtoError> {
    let refuse = |framed: &mut Framed<C>, message: String| -> Result<(u64, Header), ProtoError> {
        let answer = answer_err(&message);
        json_header::write(&mut framed.conn, &answer, b"", format)?;
        Ok((0, answer))
    };
    if let Err(refusal) = check_name(filename) {
        return refuse(framed, refusal);
    }
    let path = store.dir.join(filename);
    // Two passes over one open file, a piece at a time: the checksum goes
    // in the header, before the bytes; memory stays one piece, whatever the
    // size. One handle for both passes, so that an upload renamed over the
    // name in between cannot make the bytes differ from the checksum.
    let Ok(mut file) = open_regular(&path) else {
        return refuse(framed, format!("no file named {filename:?}"));
    };
    let Ok((size, sha256)) = hash_file(&mut file) else {
        return refuse(framed, format!("cannot read {filename:?}"));
    };
    let answer = answer_ok(&[
        ("filename", filename.into()),
        ("filesize", size.into()),
        ("sha256", sha256.into()),
    ]);
    json_header::write(&mut framed.conn, &answer, b"", format)?;
    file.seek(io::SeekFrom::Start(0))?;
    let mut piece = vec![0u8; PIECE];
    let mut sent = 0u64;
    // Exactly the announced size, even if the file grew in between.
    while sent < size {
        let want = (size - sent).min(PIECE as u64) as usize;
        let n = file.read(&mut piece[..want])?;
        if n == 0 {
            return Err(ProtoError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{filename:?} shrank while it was being sent"),
            )));
        }
        framed.conn.send_all(&piece[..n])?;
        sent += n as u64;
    }
    Ok((size, answer))
}

/// How much of a file is read and sent at a time.
const PIECE: usize = 64 << 10;

/// Opens a regular file for reading. O_NONBLOCK keeps a FIFO (or a
/// device) placed in the folder from blocking the open; anything but a
/// regular file is then refused.
fn open_regular(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// The size and SHA-256 of an open file, read a piece at a time.
fn hash_file(file: &mut fs::File) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut piece = vec![0u8; PIECE];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut piece)?;
        if n == 0 {
            return Ok((size, hex(&hasher.finalize())));
        }
        hasher.update(&piece[..n]);
        size += n as u64;
    }
}

/// The client's upload. With `stop_after`, only that many bytes of the
/// file are sent and no answer is awaited: an interrupted upload.
pub fn client_put<C: Conn>(
    framed: &mut Framed<C>,
    filename: &str,
    content: &[u8],
    format: LengthFormat,
    stop_after: Option<usize>,
) -> Result<Option<Header>, ProtoError> {
    let mut h = Header::new();
    h.insert("cmd".into(), "put".into());
    h.insert("filename".into(), filename.into());
    h.insert("filesize".into(), content.len().into());
    h.insert("sha256".into(), sha256_hex(content).into());
    let bytes = json_header::encode(&h, format)?;
    framed.conn.send_all(&bytes)?;
    if let Some(n) = stop_after {
        framed.conn.send_all(&content[..n.min(content.len())])?;
        return Ok(None);
    }
    framed.conn.send_all(content)?;
    answer(framed, format).map(Some)
}

/// The client's download: the file's bytes, checked against the checksum
/// in the answer.
pub fn client_get<C: Conn>(
    framed: &mut Framed<C>,
    filename: &str,
    format: LengthFormat,
    limit: u64,
) -> Result<Vec<u8>, ProtoError> {
    let mut h = Header::new();
    h.insert("cmd".into(), "get".into());
    h.insert("filename".into(), filename.into());
    framed.conn.send_all(&json_header::encode(&h, format)?)?;
    let answer = answer(framed, format)?;
    let size = json_header::size_field(&answer, "filesize", limit)?;
    let data = framed.read_exact("a downloaded file", size as usize)?;
    let got = sha256_hex(&data);
    match answer.get("sha256").and_then(Value::as_str) {
        Some(want) if want == got => Ok(data),
        other => Err(ProtoError::BadHeader(format!(
            "checksum mismatch: answer says {other:?}, bytes give {got}"
        ))),
    }
}

/// Reads the server's answer; an `ok: false` answer is `Refused`.
fn answer<C: Conn>(framed: &mut Framed<C>, format: LengthFormat) -> Result<Header, ProtoError> {
    let answer = json_header::read_header(framed, format)?.ok_or(ProtoError::ClosedMidFrame {
        what: "the answer",
        got: 0,
        want: None,
    })?;
    if answer.get("ok") == Some(&Value::Bool(true)) {
        Ok(answer)
    } else {
        let why = answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        Err(ProtoError::Refused(why.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        for bad in [
            "../x",
            "/etc/passwd",
            "a/b",
            "..",
            ".",
            "",
            ".hidden",
            "a\\b",
            "a\0",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("notes.txt").is_ok());
        assert!(check_name("笔记.txt").is_ok());
    }

    #[test]
    fn names_leave_room_for_the_upload_temp_name() {
        assert!(check_name(&"a".repeat(236)).is_ok());
        assert!(check_name(&"a".repeat(237)).is_err());
    }

    #[test]
    fn a_fifo_in_the_folder_is_refused_without_blocking() {
        // Regression: opening a FIFO for a download waited for a writer
        // for ever.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(open_regular(&fifo).is_err());
        std::fs::write(dir.path().join("a.txt"), b"abc").unwrap();
        let mut f = open_regular(&dir.path().join("a.txt")).unwrap();
        assert_eq!(hash_file(&mut f).unwrap(), (3, sha256_hex(b"abc")));
    }

    #[test]
    fn sha256_of_empty_is_the_well_known_value() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
