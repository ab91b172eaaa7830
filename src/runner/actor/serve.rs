//! `serve`: a server's two loops, around any of the course's protocols.
//!
//! The connection loop (链接循环) accepts clients one after another; the
//! protocol's communication loop (通信循环) talks to one client until it
//! leaves. With `threads`, each accepted connection gets its own thread
//! (the course's `ThreadingTCPServer`), recorded as an actor of its own
//! named `server/conn2`. On a UDP socket there is no connection: each
//! datagram is answered to the address it came from.
//!
//! `clients` bounds the loop for a lab; without it the loop runs until the
//! run is stopped (`lab serve` and Ctrl-C). A client that misbehaves ends
//! its own connection with a recorded error, never the server.

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Actor, StepFailed, StepResult};
use crate::catalog::step::{self, AcceptStep, ServeStep};
use crate::course::command::{self, Framing};
use crate::course::framing::LengthFormat;
use crate::course::{Framed, ProtoError, auth, echo, files, time};
use crate::expr::Scope;
use crate::trace::{Op, Proto};

/// At most this many connections are served at once with `threads` in a
/// lab (a few clients); the next one is closed at once.
const MAX_CONNECTIONS: usize = 64;

/// `lab serve` (a `serve` step with no end) meets whoever comes, up to
/// this many at once, and never more than the descriptor limit allows.
/// Each connection is a thread blocked in `recv`, with a small stack
/// ([`THREAD_STACK`]): an idle client costs a few KiB, so thousands of
/// them leave room for the next client, and `--idle` closes them.
const SERVE_MAX_CONNECTIONS: usize = 16_384;

/// The stack of a connection's thread: the protocols keep their buffers
/// on the heap, and touch a few KiB of it.
const THREAD_STACK: usize = 256 * 1024;

/// How many connections a `serve` step handles at once.
fn connection_cap(forever: bool) -> usize {
    if !forever {
        return MAX_CONNECTIONS;
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    let soft = match unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } {
        0 => limit.rlim_cur as usize,
        _ => 1024,
    };
    // Descriptors beyond the connections' own: the capture, files being
    // transferred, the terminal.
    soft.saturating_sub(64)
        .clamp(MAX_CONNECTIONS, SERVE_MAX_CONNECTIONS)
}

/// What a server speaks, with its settings.
#[derive(Debug, Clone)]
pub(super) enum Protocol {
    EchoUpper {
        bufsize: usize,
    },
    Time {
        bufsize: usize,
    },
    Command {
        framing: Framing,
        /// Requests per client recorded call by call; the rest are counted.
        quiet_after: u64,
    },
    Files {
        store: files::Store,
        order: LengthFormat,
    },
    AuthEcho {
        key: Vec<u8>,
        digest: auth::Digest,
        bufsize: usize,
    },
}

impl Actor<'_> {
    fn protocol(&self, s: &ServeStep) -> Result<Protocol, StepFailed> {
        let bufsize = match &s.size {
            Some(t) => t.int(&self.scope)?.max(1) as usize,
            None => 1024,
        };
        let order = self.order(s.order.as_ref())?;
        Ok(match s.protocol {
            step::Protocol::EchoUpper => Protocol::EchoUpper { bufsize },
            step::Protocol::Time => Protocol::Time { bufsize },
            step::Protocol::Command => Protocol::Command {
                framing: Framing::parse(&self.text(s.framing.as_ref(), "raw")?, order)?,
                quiet_after: match &s.quiet_after {
                    Some(t) => t.int(&self.scope)?.max(0) as u64,
                    None => u64::MAX,
                },
            },
            step::Protocol::Files => {
                let dir = match &s.dir {
                    Some(_) => self.text(s.dir.as_ref(), "")?.into(),
                    None => self.scratch.join(format!("files-{}", self.name)),
                };
                std::fs::create_dir_all(&dir)
                    .map_err(|e| StepFailed(format!("cannot make {}: {e}", dir.display())))?;
                Protocol::Files {
                    store: files::Store {
                        dir,
                        limit: files::DEFAULT_LIMIT,
                    },
                    order,
                }
            }
            step::Protocol::AuthEcho => Protocol::AuthEcho {
                key: self.text(s.key.as_ref(), "")?.into_bytes(),
                digest: auth::Digest::parse(&self.text(s.digest.as_ref(), "sha256")?)?,
                bufsize,
            },
        })
    }

    pub(super) fn serve(&mut self, s: &ServeStep) -> StepResult {
        let on = s.on.clone();
        let protocol = self.protocol(s)?;
        let clients = match &s.clients {
            Some(t) => t.int(&self.scope)?.max(0) as u64,
            None => 0,
        };
        let threads = match &s.threads {
            Some(t) => t.bool(&self.scope)?,
            None => false,
        };
        let udp = self.sock(&on)?.proto == Proto::Udp;
        if matches!(protocol, Protocol::Time { .. }) && !udp {
            return Err(StepFailed("the time server speaks UDP only".into()));
        }
        if udp {
            self.serve_datagrams(&on, &protocol, clients)
        } else {
            self.serve_streams(&on, &protocol, clients, threads)
        }
    }

    /// Waits until `on` has something to read, checking for the end of the
    /// run every 200 ms. False when the run was stopped.
    fn wait_readable(&self, on: &str) -> Result<bool, StepFailed> {
        let fd = self
            .sockets
            .get(on)
            .ok_or_else(|| StepFailed(format!("socket `{on}` does not exist")))?
            .socket
            .as_raw_fd();
        loop {
            if self.board.aborted().is_some() {
                return Ok(false);
            }
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, for the duration of the call.
            let n = unsafe { libc::poll(&mut p, 1, 200) };
            if n > 0 {
                return Ok(self.board.aborted().is_none());
            }
        }
    }

    fn serve_streams(
        &mut self,
        on: &str,
        protocol: &Protocol,
        clients: u64,
        threads: bool,
    ) -> StepResult {
        let forever = clients == 0;
        let cap = connection_cap(forever);
        let active = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|scope| {
            let mut n = 0u64;
            let mut handles = Vec::new();
            while forever || n < clients {
                if forever && !self.wait_readable(on)? {
                    break;
                }
                n += 1;
                let name = format!("conn{n}");
                self.accept(&AcceptStep {
                    on: on.to_string(),
                    name: name.clone(),
                    timeout_ms: None,
                })?;
                if !self.sockets.contains_key(&name) {
                    // The accept failed and was recorded. A lab's server
                    // cannot go on; `lab serve` waits for the next client.
                    if forever && self.board.aborted().is_none() {
                        continue;
                    }
                    if forever {
                        break;
                    }
                    return Err(StepFailed(format!("accept for client {n} failed")));
                }
                if !threads {
                    self.handle(&name, protocol);
                    self.close_named(&name);
                    continue;
                }
                if active.load(Ordering::SeqCst) >= cap {
                    let t0 = self.clock.now_us();
                    let busy =
                        ProtoError::Refused(format!("{cap} connections are being served already"));
                    self.summary(Op::Served, &name, t0, String::new(), Err(&busy));
                    self.close_named(&name);
                    continue;
                }
                let sock = self.sockets.remove(&name).expect("accepted just now");
                let mut child = Actor {
                    name: format!("{}/{name}", self.name),
                    clock: self.clock,
                    board: self.board,
                    events: self.events.clone(),
                    scope: self.scope.clone(),
                    sockets: BTreeMap::from([(name.clone(), sock)]),
                    default_timeout: self.default_timeout,
                    saved: Scope::new(),
                    scratch: self.scratch.clone(),
                    controller: self.controller,
                    quiet: false,
                    interrupt: self.interrupt.clone(),
                    record: None,
                };
                let protocol = protocol.clone();
                let counted = Arc::clone(&active);
                active.fetch_add(1, Ordering::SeqCst);
                let spawned = std::thread::Builder::new()
                    .stack_size(THREAD_STACK)
                    .spawn_scoped(scope, move || {
                        child.handle(&name, &protocol);
                        child.close_named(&name);
                        child.close_all();
                        counted.fetch_sub(1, Ordering::SeqCst);
                    });
                match spawned {
                    Ok(h) => handles.push(h),
                    // No thread to be had (the system's limit): the closure,
                    // and the connection with it, is dropped, which closes
                    // it and leaves the board.
                    Err(_) => self.active_failed(&active),
                }
                handles.retain(|h| !h.is_finished());
            }
            Ok(())
        })
    }

    /// A connection's thread could not start: it no longer counts.
    fn active_failed(&self, active: &AtomicUsize) {
        active.fetch_sub(1, Ordering::SeqCst);
    }

    /// Closes one socket with a recorded `close`, if it is still open.
    fn close_named(&mut self, name: &str) {
        if self.sockets.contains_key(name) {
            let _ = self.close(name);
        }
    }

    /// One client, from accept to its end. Errors are recorded, not raised:
    /// a bad client ends its own connection only.
    fn handle(&mut self, conn: &str, protocol: &Protocol) {
        let t0 = self.clock.now_us();
        match protocol {
            // `serve` refuses the time protocol on a stream socket.
            Protocol::EchoUpper { bufsize } | Protocol::Time { bufsize } => {
                let served = echo::serve(&mut self.conn(conn), *bufsize);
                let shown = served.as_ref().map(|n| (*n as i64, Vec::new()));
                self.summary(Op::Served, conn, t0, "messages answered".into(), shown);
            }
            Protocol::Command {
                framing,
                quiet_after,
            } => {
                let mut framed = Framed::new(self.conn(conn), super::course_ops::READ_SIZE);
                let mut answered = 0u64;
                let ended = loop {
                    let t = framed.conn.actor.clock.now_us();
                    framed.conn.quiet = answered >= *quiet_after;
                    match command::serve_one(&mut framed, *framing) {
                        Ok(Some((cmd, len))) => {
                            answered += 1;
                            if framed.conn.quiet {
                                continue;
                            }
                            let args = format!(
                                "{:?} → {len} B, {}",
                                String::from_utf8_lossy(&cmd),
                                super::course_ops::describe(*framing)
                            );
                            let actor = &framed.conn.actor;
                            actor.summary(Op::Command, conn, t, args, Ok((len as i64, cmd)));
                        }
                        Ok(None) => break Ok(answered),
                        Err(e) => break Err(e),
                    }
                };
                framed.conn.quiet = false;
                let shown = ended.as_ref().map(|n| (*n as i64, Vec::new()));
                let args = "commands answered".to_string();
                framed.conn.actor.summary(Op::Served, conn, t0, args, shown);
            }
            Protocol::Files { store, order } => {
                let mut framed = Framed::new(self.conn(conn), super::course_ops::READ_SIZE);
                let mut requests = 0i64;
                let ended = loop {
                    let t = framed.conn.actor.clock.now_us();
                    match files::serve_one(&mut framed, store, *order) {
                        Ok(Some(done)) => {
                            requests += 1;
                            let op = if done.cmd == "put" { Op::Put } else { Op::Get };
                            let answer = serde_json::to_vec(&done.answer).unwrap_or_default();
                            let args = format!("{:?}, {} B", done.filename, done.size);
                            let actor = &framed.conn.actor;
                            actor.summary(op, conn, t, args, Ok((done.size as i64, answer)));
                        }
                        Ok(None) => break Ok(requests),
                        Err(e) => break Err(e),
                    }
                };
                let shown = ended.as_ref().map(|n| (*n, Vec::new()));
                let args = "requests answered".to_string();
                framed.conn.actor.summary(Op::Served, conn, t0, args, shown);
            }
            Protocol::AuthEcho {
                key,
                digest,
                bufsize,
            } => {
                let mut framed = Framed::new(self.conn(conn), *bufsize);
                let verdict = auth::server(&mut framed, key, *digest);
                let shown = verdict.as_ref().map(|()| (1, b"accepted".to_vec()));
                let args = digest.name().to_string();
                framed.conn.actor.summary(Op::Auth, conn, t0, args, shown);
                if verdict.is_ok() {
                    let t = framed.conn.actor.clock.now_us();
                    let (mut c, early) = framed.into_parts();
                    // A client may send its first message right behind
                    // its answer: answer what is already here first.
                    let first = if early.is_empty() {
                        Ok(())
                    } else {
                        crate::course::Conn::send_all(&mut c, &echo::upper(&early))
                    };
                    let served = first
                        .map_err(ProtoError::from)
                        .and_then(|()| echo::serve(&mut c, *bufsize));
                    let shown = served.as_ref().map(|n| (*n as i64, Vec::new()));
                    c.actor
                        .summary(Op::Served, conn, t, "messages answered".into(), shown);
                }
            }
        }
    }

    fn serve_datagrams(&mut self, on: &str, protocol: &Protocol, clients: u64) -> StepResult {
        let bufsize = match protocol {
            Protocol::EchoUpper { bufsize } | Protocol::Time { bufsize } => *bufsize,
            _ => {
                return Err(StepFailed(
                    "over UDP, serve speaks echo_upper or time".into(),
                ));
            }
        };
        let forever = clients == 0;
        let mut n = 0;
        while forever || n < clients {
            if forever && !self.wait_readable(on)? {
                break;
            }
            n += 1;
            let (call, from) = self.recv_from_call(on, bufsize)?;
            let Some(from) = from else {
                if forever && self.board.aborted().is_none() {
                    continue;
                }
                if forever {
                    break;
                }
                return Err(StepFailed(format!("recv_from for datagram {n} failed")));
            };
            let request = call.data.unwrap_or_default();
            let reply = match protocol {
                Protocol::Time { .. } => {
                    let now = time::answer(&request);
                    self.board.note(crate::trace::Varies::Clock, &now);
                    now
                }
                _ => echo::upper(&request),
            };
            self.send_to_bytes(on, &from, &reply)?;
        }
        Ok(())
    }
}
