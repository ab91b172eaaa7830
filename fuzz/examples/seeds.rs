//! Writes the seed inputs of the `serve_*` targets: the bytes the crate's
//! own clients send (`files::client_put`, `auth::client`, ...), recorded,
//! in the input layout of each target (a mode byte, then `recv` pieces).
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds -- fuzz/corpus
//! ```

use std::collections::VecDeque;
use std::io;
use std::path::Path;

use socket_lab::course::auth::{self, Digest};
use socket_lab::course::command::{self, Framing};
use socket_lab::course::framing::{self, LengthFormat};
use socket_lab::course::{Conn, Framed, files, json_header};
use socket_lab_fuzz::Wire;

/// Records what a client sends; its `recv`s return canned answers.
#[derive(Default)]
struct Recorder {
    sent: Vec<u8>,
    answers: VecDeque<u8>,
}

impl Recorder {
    fn answering(answers: &[u8]) -> Recorder {
        Recorder {
            sent: Vec::new(),
            answers: answers.iter().copied().collect(),
        }
    }
}

impl Conn for Recorder {
    fn send(&mut self, b: &[u8]) -> io::Result<usize> {
        self.sent.extend_from_slice(b);
        Ok(b.len())
    }
    fn send_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.sent.extend_from_slice(b);
        Ok(())
    }
    fn recv(&mut self, max: usize) -> io::Result<Vec<u8>> {
        let n = max.min(self.answers.len());
        Ok(self.answers.drain(..n).collect())
    }
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("corpus folder");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed file");
}

/// A seed: the mode byte, then the stream as pieces cut every `cut` bytes.
fn seed(mode: u8, stream: &[u8], cut: u8) -> Vec<u8> {
    [&[mode][..], &Wire::pieces(stream, cut)].concat()
}

const ORDERS: [(LengthFormat, u8, &str); 2] = [
    (LengthFormat::Native, 0, "native"),
    (LengthFormat::Network, 1, "network"),
];

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    let out = Path::new(&out);
    let bodies: [&[u8]; 4] = [b"", b"x", b"hello", &[b'a'; 100]];

    for (order, bit, name) in ORDERS {
        // Fixed header: messages in one write each, then as the course
        // writes them (header, then body).
        let mut rec = Recorder::default();
        for body in bodies {
            framing::write(&mut rec, body, order).unwrap();
            framing::write_two(&mut rec, body, order).unwrap();
        }
        for (cut, how) in [(0, "stream"), (3, "cut3")] {
            write(
                out,
                "serve_framing",
                &format!("{name}-{how}"),
                &seed(bit, &rec.sent, cut),
            );
        }
        write(
            out,
            "serve_framing",
            &format!("{name}-small-limit"),
            &seed(bit | 2, &rec.sent, 0),
        );

        // JSON header with a body.
        let mut rec = Recorder::default();
        for body in bodies {
            let h = json_header::header(body.len(), &[("cmd", "ls".into())]);
            json_header::write(&mut rec, &h, body, order).unwrap();
        }
        for (cut, how) in [(0, "stream"), (5, "cut5")] {
            write(
                out,
                "serve_json_header",
                &format!("{name}-{how}"),
                &seed(bit, &rec.sent, cut),
            );
        }

        // Files: an upload, an upload cut short, a download, and names
        // the server refuses.
        let mut rec = Recorder::default();
        let answer = |extra: &[(&str, serde_json::Value)]| {
            let mut h = json_header::Header::new();
            h.insert("ok".into(), true.into());
            for (k, v) in extra {
                h.insert((*k).into(), v.clone());
            }
            json_header::encode(&h, order).unwrap()
        };
        let content = b"Framing: tell the receiver where each message ends.\n";
        let mut framed = Framed::new(Recorder::answering(&answer(&[])), 4096);
        files::client_put(&mut framed, "notes.txt", content, order, None).unwrap();
        let mut got = answer(&[
            ("filesize", content.len().into()),
            ("sha256", files::sha256_hex(content).into()),
        ]);
        got.extend_from_slice(content);
        framed.conn.answers = got.into_iter().collect();
        files::client_get(&mut framed, "notes.txt", order, 1 << 20).unwrap();
        for bad in ["../escape.txt", ".hidden", "missing.txt"] {
            framed.conn.answers = answer(&[]).into_iter().collect();
            let _ = files::client_put(&mut framed, bad, b"x", order, Some(1));
            let _ = files::client_get(&mut framed, bad, order, 1 << 20);
        }
        rec.sent.extend_from_slice(&framed.conn.sent);
        write(
            out,
            "serve_files",
            &format!("{name}-put-get"),
            &seed(bit, &rec.sent, 0),
        );
        let mut framed = Framed::new(Recorder::default(), 4096);
        files::client_put(&mut framed, "half.txt", content, order, Some(10)).unwrap();
        write(
            out,
            "serve_files",
            &format!("{name}-cut"),
            &seed(bit, &framed.conn.sent, 0),
        );
    }

    // HMAC: the answer to a challenge (the server's is fresh, so this one
    // is refused; it still has the right length).
    for (digest, bit, name) in [(Digest::Sha256, 0, "sha256"), (Digest::Md5, 1, "md5")] {
        let mut framed = Framed::new(Recorder::answering(&[7; 32]), 1024);
        auth::client(&mut framed, b"secret", digest).unwrap();
        let mut stream = framed.conn.sent.clone();
        stream.extend_from_slice(b"hello");
        // Mode: a read size of 127, then the digest bit.
        write(out, "serve_auth", name, &seed(0xfe | bit, &stream, 0));
        write(
            out,
            "serve_auth",
            &format!("{name}-cut7"),
            &seed(2 | bit, &stream, 7),
        );
    }

    // Commands: each one a recv of its own; `recv_ready` after each for the
    // framing that waits for it.
    let commands: Vec<String> = command::KNOWN
        .iter()
        .map(|c| c.replace("TEXT", "hello"))
        .chain(["rm -rf /".to_string(), "ls\n".to_string()])
        .collect();
    for (framing, mode, name) in [
        (Framing::Raw, 0u8, "raw"),
        (Framing::Ready, 2, "ready"),
        (Framing::Fixed(LengthFormat::Native), 4, "fixed"),
        (
            Framing::FixedTwoWrites(LengthFormat::Network),
            7,
            "fixed-two-writes",
        ),
        (Framing::Json(LengthFormat::Native), 8, "json"),
    ] {
        let mut pieces = vec![mode];
        for c in &commands {
            // The `big` ones only once, in the raw seed.
            if c.contains("big") && framing != Framing::Raw {
                continue;
            }
            pieces.push(c.len() as u8);
            pieces.extend_from_slice(c.as_bytes());
            if framing == Framing::Ready {
                pieces.push(10);
                pieces.extend_from_slice(b"recv_ready");
            }
        }
        write(out, "serve_command", name, &pieces);
    }

    // Echo: a recv size, then text.
    write(out, "serve_echo", "hello", &seed(255, b"hello", 0));
    write(
        out,
        "serve_echo",
        "nihao",
        &seed(4, "ni hao \u{4f60}".as_bytes(), 3),
    );
}
