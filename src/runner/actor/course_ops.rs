//! Lab steps that speak the course's protocols (`crate::course`) on an
//! actor's sockets, and the client side of each.
//!
//! An actor's socket becomes a [`Conn`] through [`ActorConn`]: the
//! protocol code calls `send`, `send_all` and `recv` as any program would,
//! and each call is recorded exactly like a `send` or `recv` step (same
//! records, same stream offsets). After the calls, a step adds one summary
//! record named after the step (`command`, `put`, `auth`, ...) that holds
//! what the protocol delivered: the message, the file, the verdict. Lab
//! expectations check those.

use std::io;
use std::time::Duration;

use super::{Actor, StepFailed, StepResult};
use crate::catalog::Tpl;
use crate::catalog::step::{AuthStep, BenchStep, CommandStep, GetStep, PutStep};
use crate::course::command::{self, Framing};
use crate::course::framing::{self, LengthFormat};
use crate::course::{Conn, Framed, ProtoError, auth, files};
use crate::expr::{self, Value};
use crate::trace::{Call, Op};

/// The longest a `bench` step measures before it stops early.
const BENCH_BUDGET: Duration = Duration::from_secs(2);

/// Default size of each `recv` a protocol makes.
pub(super) const READ_SIZE: usize = 65_536;

/// An actor's socket seen as a [`Conn`]: every call is recorded.
pub(super) struct ActorConn<'x, 'b> {
    pub(super) actor: &'x mut Actor<'b>,
    on: String,
    /// Record the calls without emitting them (the bulk of a benchmark).
    pub(super) quiet: bool,
}

fn broken(StepFailed(m): StepFailed) -> io::Error {
    io::Error::other(m)
}

impl Conn for ActorConn<'_, '_> {
    fn send(&mut self, b: &[u8]) -> io::Result<usize> {
        self.actor.quiet = self.quiet;
        let (_, result) = self
            .actor
            .send_bytes(&self.on, b, false, !self.quiet)
            .map_err(broken)?;
        result
    }

    fn send_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.actor.quiet = self.quiet;
        let (_, result) = self
            .actor
            .send_bytes(&self.on, b, true, !self.quiet)
            .map_err(broken)?;
        result.map(|_| ())
    }

    fn recv(&mut self, max: usize) -> io::Result<Vec<u8>> {
        self.actor.quiet = self.quiet;
        let (call, result) = self.actor.recv_call(&self.on, max).map_err(broken)?;
        let data = call.data.clone().unwrap_or_default();
        if !self.quiet {
            self.actor.emit(call);
        }
        result.map(|_| data)
    }

    fn varies(&mut self, varies: crate::trace::Varies, bytes: &[u8]) {
        self.actor.board.note(varies, bytes);
    }
}

impl<'b> Actor<'b> {
    /// Socket `on` as a recorded [`Conn`].
    pub(super) fn conn<'x>(&'x mut self, on: &str) -> ActorConn<'x, 'b> {
        self.quiet = false;
        ActorConn {
            actor: self,
            on: on.to_string(),
            quiet: false,
        }
    }

    /// Socket `on` framed for a protocol step, starting with the bytes the
    /// last protocol step on it read past its own frame: a program keeps
    /// its receive buffer from one message to the next, so what one read
    /// took of the next reply is not lost (and a run does not depend on
    /// where the kernel cut the stream).
    pub(super) fn framed<'x>(
        &'x mut self,
        on: &str,
        read_size: usize,
    ) -> Framed<ActorConn<'x, 'b>> {
        let unread = self
            .sockets
            .get_mut(on)
            .map(|s| std::mem::take(&mut s.unread))
            .unwrap_or_default();
        Framed::resume(self.conn(on), read_size, unread)
    }

    /// A text field of a step, with its `${...}` expanded.
    pub(super) fn text(&self, field: Option<&String>, default: &str) -> Result<String, StepFailed> {
        match field {
            Some(t) => Ok(expr::expand(t, &self.scope)?.to_string()),
            None => Ok(default.to_string()),
        }
    }

    /// The byte order a step names (default: the course's struct 'i').
    pub(super) fn order(&self, order: Option<&String>) -> Result<LengthFormat, StepFailed> {
        Ok(LengthFormat::parse(&self.text(order, "native")?)?)
    }

    /// The size of each recv a protocol makes: the step's `size`, or
    /// [`READ_SIZE`].
    fn read_size(&self, size: Option<&Tpl>) -> Result<usize, StepFailed> {
        Ok(match size {
            Some(t) => t.int(&self.scope)?.max(1) as usize,
            None => READ_SIZE,
        })
    }

    /// Emits the summary record of a protocol step: what it delivered
    /// (`data`, `returned`) or why it stopped (`error`, with the reason
    /// in `args`).
    pub(super) fn summary(
        &self,
        op: Op,
        on: &str,
        t0: u64,
        args: String,
        outcome: Result<(i64, Vec<u8>), &ProtoError>,
    ) -> Call {
        let mut call = Call::new(t0, &self.name, op);
        call.sock = Some(on.to_string());
        call.args = args;
        match outcome {
            Ok((n, data)) => {
                call.returned = Some(n);
                call.data = Some(data);
            }
            Err(e) => {
                call.error = Some(e.name());
                // A read that ran out of time is a client gone silent, not
                // an errno to puzzle over: say so, with the time it had.
                let silent = match (e, self.sockets.get(on)) {
                    (ProtoError::Io(io), Some(sock))
                        if matches!(
                            io.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        Some(format!(
                            "nothing arrived for {:.1} s, so the connection is closed",
                            sock.timeout.as_secs_f64()
                        ))
                    }
                    _ => None,
                };
                let why = silent.unwrap_or_else(|| e.to_string());
                call.args = if call.args.is_empty() {
                    why
                } else {
                    format!("{}: {why}", call.args)
                };
            }
        }
        if let Some(sock) = self.sockets.get(on) {
            call.proto = Some(sock.proto);
            call.local = sock.local();
            call.peer = sock.peer();
        }
        call.waited_us = self.clock.now_us().saturating_sub(t0);
        self.emit(call.clone());
        call
    }

    /// `command`: one command to the course's remote-command server, and
    /// its output, framed as the step says.
    pub(super) fn command(&mut self, s: &CommandStep) -> StepResult {
        let read_size = self.read_size(s.size.as_ref())?;
        let order = self.order(s.order.as_ref())?;
        let t0 = self.clock.now_us();
        let cmd = self.text(Some(&s.data), "")?;
        let framing = Framing::parse(&self.text(Some(&s.framing), "raw")?, order)?;
        let mut framed = self.framed(&s.on, read_size);
        let reply = command::request(&mut framed, cmd.as_bytes(), framing, framing::DEFAULT_LIMIT);
        keep_unread(framed);
        let args = format!("{cmd:?}, {}", describe(framing));
        let call = self.summary(
            Op::Command,
            &s.on,
            t0,
            args,
            reply.as_ref().map(|r| (r.len() as i64, r.clone())),
        );
        self.save(s.save.as_deref(), call.returned);
        Ok(())
    }

    /// `put`: upload a file (lab 16), or leave after `stop_after` bytes.
    pub(super) fn put(&mut self, s: &PutStep) -> StepResult {
        let on = s.on.as_str();
        let order = self.order(s.order.as_ref())?;
        let t0 = self.clock.now_us();
        let name = self.text(Some(&s.file), "upload.bin")?;
        let content = self.payload(s.data.as_ref(), s.size.as_ref(), 0)?;
        let stop = match &s.stop_after {
            Some(t) => Some(self.checked_size(t.int(&self.scope)?)?),
            None => None,
        };
        let mut framed = self.framed(on, READ_SIZE);
        let answer = files::client_put(&mut framed, &name, &content, order, stop);
        keep_unread(framed);
        let args = match stop {
            Some(n) => {
                format!("{name:?}, {} B announced, stops after {n} B", content.len())
            }
            None => format!("{name:?}, {} B", content.len()),
        };
        let shown = answer.as_ref().map(|a| {
            let json = a
                .as_ref()
                .map(|h| serde_json::to_vec(h).unwrap_or_default());
            (
                content.len().min(stop.unwrap_or(usize::MAX)) as i64,
                json.unwrap_or_default(),
            )
        });
        let call = self.summary(Op::Put, on, t0, args, shown);
        self.save(s.save.as_deref(), call.returned);
        Ok(())
    }

    /// `get`: download a file (lab 16).
    pub(super) fn get(&mut self, s: &GetStep) -> StepResult {
        let read_size = self.read_size(s.size.as_ref())?;
        let order = self.order(s.order.as_ref())?;
        let t0 = self.clock.now_us();
        let name = self.text(Some(&s.file), "upload.bin")?;
        let mut framed = self.framed(&s.on, read_size);
        let got = files::client_get(&mut framed, &name, order, files::DEFAULT_LIMIT);
        keep_unread(framed);
        let shown = got.as_ref().map(|d| (d.len() as i64, d.clone()));
        let call = self.summary(Op::Get, &s.on, t0, format!("{name:?}"), shown);
        self.save(s.save.as_deref(), call.returned);
        Ok(())
    }

    /// `auth`: answer the server's HMAC challenge with `key` (lab 17).
    pub(super) fn auth(&mut self, s: &AuthStep) -> StepResult {
        let t0 = self.clock.now_us();
        let key = self.text(Some(&s.key), "")?;
        let digest = auth::Digest::parse(&self.text(s.digest.as_ref(), "sha256")?)?;
        let mut framed = self.framed(&s.on, READ_SIZE);
        let answer = auth::client(&mut framed, key.as_bytes(), digest);
        keep_unread(framed);
        let args = format!("key {key:?}, {}", digest.name());
        let call = self.summary(
            Op::Auth,
            &s.on,
            t0,
            args,
            answer.as_ref().map(|a| (a.len() as i64, a.clone())),
        );
        self.save(s.save.as_deref(), call.returned);
        Ok(())
    }

    /// `bench`: the same request `requests` times in a row, timed. The
    /// first exchange is recorded call by call, the rest only counted, so
    /// the trace stays readable; the summary gives the rate in messages
    /// per second and, with `compare`, the ratio to another actor's rate.
    pub(super) fn bench(&mut self, s: &BenchStep) -> StepResult {
        let on = s.on.as_str();
        let read_size = self.read_size(s.size.as_ref())?;
        let order = self.order(s.order.as_ref())?;
        let cmd = self.text(Some(&s.data), "whoami")?;
        let framing = Framing::parse(&self.text(Some(&s.framing), "fixed")?, order)?;
        let requests = s.requests.int(&self.scope)?.max(1) as u64;
        let t0 = self.clock.now_us();
        // The budget is lab time, like every deadline of a run.
        let started = self.board.time.now();
        let mut framed = self.framed(on, read_size);
        let mut outcome = Ok(0usize);
        let mut done = 0u64;
        for i in 0..requests {
            // A bounded measurement: a slow exchange (Nagle meeting a
            // delayed ACK) would otherwise keep a lab busy for minutes.
            if framed.conn.actor.board.time.now() - started >= BENCH_BUDGET {
                break;
            }
            done += 1;
            framed.conn.quiet = i > 0;
            match command::request(&mut framed, cmd.as_bytes(), framing, framing::DEFAULT_LIMIT) {
                Ok(reply) => outcome = outcome.map(|n| n + reply.len()),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        keep_unread(framed);
        let elapsed = (self.board.time.now() - started).max(Duration::from_micros(1));
        let rate = (done as f64 / elapsed.as_secs_f64()).round() as i64;
        let mut args = format!(
            "{done} × {cmd:?}, {}: {:.1} ms, {rate} msg/s",
            describe(framing),
            elapsed.as_secs_f64() * 1000.0
        );
        if done < requests && outcome.is_ok() {
            args.push_str(&format!(
                " (stopped at the {} s budget: {done} of {requests} requests)",
                BENCH_BUDGET.as_secs()
            ));
        }
        if outcome.is_ok() {
            self.board.set_value(&self.name, rate);
            if let Some(other) = &s.compare {
                let timeout = self.timeout(s.timeout_ms.as_ref())?;
                if let Ok(theirs) = self.board.value(other, timeout) {
                    let ratio = rate as f64 / theirs.max(1) as f64;
                    args.push_str(&if ratio >= 1.0 {
                        format!("; {ratio:.2}× the rate of {other} ({theirs} msg/s)")
                    } else {
                        format!("; {:.0}× slower than {other} ({theirs} msg/s)", 1.0 / ratio)
                    });
                    self.scope
                        .insert("ratio_pct".into(), Value::Int(rate * 100 / theirs.max(1)));
                    self.saved
                        .insert("ratio_pct".into(), Value::Int(rate * 100 / theirs.max(1)));
                }
            }
        }
        let call = self.summary(
            Op::Bench,
            on,
            t0,
            args,
            outcome.as_ref().map(|_| (rate, Vec::new())),
        );
        // What a check can rely on is how many requests were made (the
        // rate depends on the machine, and a busy one may reach the time
        // budget first).
        self.save(s.save.as_deref(), call.returned.map(|_| done as i64));
        Ok(())
    }
}

/// Keeps on its socket what a protocol step read past its last frame, for
/// the next step (see [`Actor::framed`]).
fn keep_unread(framed: Framed<ActorConn<'_, '_>>) {
    let (conn, rest) = framed.into_parts();
    if let Some(sock) = conn.actor.sockets.get_mut(&conn.on) {
        sock.unread = rest;
    }
}

/// How a framing is named in the trace.
pub(super) fn describe(framing: Framing) -> String {
    match framing {
        Framing::Raw => "no framing".into(),
        Framing::Ready => "length, recv_ready, data".into(),
        Framing::Fixed(o) => format!("4-byte length, {}", o.python()),
        Framing::FixedTwoWrites(o) => format!(
            "4-byte length, {}, header and body in two writes",
            o.python()
        ),
        Framing::Json(o) => format!("JSON header, {}", o.python()),
    }
}
