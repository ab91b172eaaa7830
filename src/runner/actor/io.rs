//! The calls that move bytes: send, send_all, send_to, recv, recv_from.

use std::time::Duration;

use super::{Actor, MAX_LOOP_CALLS, StepFailed, StepResult, on_lab_time};
use crate::catalog::Tpl;
use crate::catalog::step::{RecvFromStep, RecvStep, SendAllStep, SendStep, SendToStep};
use socket2::SockAddr;

use crate::runner::sock::{recv_from_into, recv_into, show_addr};
use crate::trace::{Call, Op, Proto};

/// Never raise SIGPIPE: a send to a closed peer must come back as EPIPE,
/// which the trace records, instead of killing the process.
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;

/// What a `send` or `send_all` step offers, and what it keeps.
struct Sending<'s> {
    data: Option<&'s String>,
    size: Option<&'s Tpl>,
    save: Option<&'s str>,
    timeout_ms: Option<&'s Tpl>,
    all: bool,
}

/// The fewest calls a `repeat_for_ms` loop makes.
const MIN_SPINS: usize = 3;

impl Actor<'_> {
    pub(super) fn send(&mut self, s: &SendStep) -> StepResult {
        let on = s.on.as_str();
        let once = |actor: &mut Self| {
            let sent = Sending {
                data: s.data.as_ref(),
                size: s.size.as_ref(),
                save: s.save.as_deref(),
                timeout_ms: s.timeout_ms.as_ref(),
                all: false,
            };
            actor.send_once(&sent, on)
        };
        if s.until_error {
            // A non-blocking writer's loop: offer what is left until the
            // kernel refuses (EAGAIN) or everything was taken.
            for _ in 0..MAX_LOOP_CALLS {
                let call = once(self)?;
                if call.error.is_some() || call.returned == call.len.map(|n| n as i64) {
                    return Ok(());
                }
            }
            return Err(StepFailed(format!(
                "send did not fail after {MAX_LOOP_CALLS} calls"
            )));
        }
        once(self).map(|_| ())
    }

    /// `send_all`: the loop around send that every program needs.
    pub(super) fn send_all(&mut self, s: &SendAllStep) -> StepResult {
        let sent = Sending {
            data: s.data.as_ref(),
            size: s.size.as_ref(),
            save: s.save.as_deref(),
            timeout_ms: s.timeout_ms.as_ref(),
            all: true,
        };
        self.send_once(&sent, &s.on).map(|_| ())
    }

    fn send_once(&mut self, s: &Sending, on: &str) -> Result<Call, StepFailed> {
        let offset = self.sock(on)?.sent;
        self.arm_timeout(on, s.timeout_ms)?;
        let bytes = self.payload(s.data, s.size, offset)?;
        let (call, _) = self.send_bytes(on, &bytes, s.all, true)?;
        self.save(s.save, call.returned);
        self.save_offsets(on);
        Ok(call)
    }

    /// One `send` of `bytes` on socket `on` (or, with `all`, the
    /// `send_all` loop), recorded with its stream offsets; emitted when
    /// `emit` is set. Lab steps and the course's protocols both send
    /// through here, so their calls look the same in the trace.
    pub(super) fn send_bytes(
        &mut self,
        on: &str,
        bytes: &[u8],
        all: bool,
        emit: bool,
    ) -> Result<(Call, std::io::Result<usize>), StepFailed> {
        let mut call = self.begin(if all { Op::SendAll } else { Op::Send }, on);
        call.len = Some(bytes.len());
        let board = self.board;
        let sock = self.sock(on)?;
        let (offset, proto) = (sock.sent, sock.proto);
        let deadline = board.time.watchdog(sock.timeout);
        // send_all is the loop every program needs around send: keep
        // offering the rest until the kernel has taken every byte.
        let mut taken = 0;
        let result = loop {
            let sent = on_lab_time(board, sock, &deadline, |s| {
                s.send_with_flags(&bytes[taken..], SEND_FLAGS)
            });
            match sent {
                Ok(n) => {
                    taken += n;
                    // A blocking send returns short only when its watchdog
                    // ran out; if lab time has not (the run was paused), the
                    // one call goes on, as it would have without the pause.
                    let cut_by_pause = !sock.nonblocking && n > 0 && !deadline.expired();
                    if taken == bytes.len() || !(all || cut_by_pause) {
                        break Ok(taken);
                    }
                }
                // A signal the kernel reported (EINTR) is retried, as
                // Python does (PEP 475); the learner's Ctrl-C is not.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted && !sock.interrupted() => {}
                Err(e) => break Err(e),
            }
        };
        sock.sent += taken as u64;
        call.data = Some(bytes[..taken].to_vec());
        if proto != Proto::Udp && taken > 0 {
            call.stream = Some((offset, offset + taken as u64));
        }
        if all && result.is_err() && taken > 0 {
            call.args = format!("{taken} B taken before the error");
        }
        let call = if emit {
            self.finish(call, result.as_ref().map(|n| *n as i64), on)
        } else {
            self.finish_quiet(call, result.as_ref().map(|n| *n as i64), on)
        };
        Ok((call, result))
    }

    pub(super) fn send_to(&mut self, s: &SendToStep) -> StepResult {
        let on = s.on.as_str();
        let timeout = self.timeout(None)?;
        let to = s.to.as_str();
        // `@from` answers whoever sent the last datagram (one socket, many
        // peers: the UDP server's loop).
        let addr = if to == "@from" {
            self.sock(on)?.last_from.clone().ok_or_else(|| {
                StepFailed("`to = \"@from\"`: no datagram has arrived on this socket yet".into())
            })?
        } else {
            self.resolve(to, timeout)?
        };
        let bytes = self.payload(s.data.as_ref(), s.size.as_ref(), 0)?;
        let call = self.send_to_bytes(on, &addr, &bytes)?;
        self.save(s.save.as_deref(), call.returned);
        Ok(())
    }

    /// One `sendto` of `bytes` to `addr`, recorded and emitted.
    pub(super) fn send_to_bytes(
        &mut self,
        on: &str,
        addr: &SockAddr,
        bytes: &[u8],
    ) -> Result<Call, StepFailed> {
        let mut call = self.begin(Op::SendTo, on);
        call.len = Some(bytes.len());
        call.args = show_addr(addr);
        call.peer = addr.as_socket();
        let board = self.board;
        let sock = self.sock(on)?;
        let deadline = board.time.watchdog(sock.timeout);
        let result = on_lab_time(board, sock, &deadline, |s| {
            s.send_to_with_flags(bytes, addr, SEND_FLAGS)
        });
        if let Ok(n) = result {
            call.data = Some(bytes[..n].to_vec());
        }
        Ok(self.finish(call, result.as_ref().map(|n| *n as i64), on))
    }

    pub(super) fn recv(&mut self, s: &RecvStep) -> StepResult {
        let on = s.on.as_str();
        let size = self.checked_size(self.int(&s.size)?)?;
        self.arm_timeout(on, s.timeout_ms.as_ref())?;
        let window = match &s.repeat_for_ms {
            Some(t) => Some(Duration::from_millis(t.int(&self.scope)?.max(0) as u64)),
            None => None,
        };
        if let Some(window) = window {
            return self.recv_spin(on, size, window, s);
        }
        let mut calls = 0;
        loop {
            let call = self.recv_once(on, size)?;
            self.emit(call.clone());
            self.save(s.save.as_deref(), call.returned);
            self.save_offsets(on);
            calls += 1;
            // `until_eof` is the correct receive loop: stop at 0 (the peer
            // closed its side) or at an error.
            let more = s.until_eof && call.returned.is_some_and(|n| n > 0);
            if !more {
                return Ok(());
            }
            if calls >= MAX_LOOP_CALLS {
                return Err(StepFailed(format!(
                    "no end of stream after {MAX_LOOP_CALLS} recv calls"
                )));
            }
        }
    }

    /// A loop that ignores end-of-stream, bounded by a window (and made
    /// at least [`MIN_SPINS`] times): once the
    /// peer has closed, every recv returns 0 at once and the loop spins.
    /// Identical results in a row are recorded once, with their count.
    fn recv_spin(&mut self, on: &str, size: usize, window: Duration, s: &RecvStep) -> StepResult {
        let end = self.board.time.deadline(window);
        let mut pending: Option<Call> = None;
        let mut made = 0;
        // At least MIN_SPINS calls, however long they take: on a crowded
        // machine this thread may be scheduled once in the whole window,
        // and one call alone would not show a loop.
        while made < MIN_SPINS || !end.expired() {
            made += 1;
            // Only the first call of a spin is announced: the rest return
            // at once and are counted into one record.
            self.quiet = pending.is_some();
            let call = self.recv_once(on, size)?;
            let same = pending.as_ref().is_some_and(|p| {
                p.returned == call.returned
                    && p.error == call.error
                    && call.returned.unwrap_or(0) == 0
            });
            if same {
                if let Some(p) = pending.as_mut() {
                    p.repeat += 1;
                    p.waited_us = call.t_us + call.waited_us - p.t_us;
                }
            } else {
                if let Some(p) = pending.take() {
                    self.emit(p);
                }
                self.save(s.save.as_deref(), call.returned);
                pending = Some(call);
            }
            // An error ends the loop, as it would raise in Python: only
            // the silent 0-byte returns make a loop spin.
            if pending.as_ref().is_some_and(|p| p.error.is_some()) {
                break;
            }
        }
        if let Some(p) = pending {
            self.emit(p);
        }
        self.quiet = false;
        self.save_offsets(on);
        Ok(())
    }

    /// One recv call, recorded but not yet emitted.
    fn recv_once(&mut self, on: &str, size: usize) -> Result<Call, StepFailed> {
        self.recv_call(on, size).map(|(call, _)| call)
    }

    /// One recv call, recorded but not yet emitted, with the kernel's
    /// answer as it was (for the course's protocols, which need the error
    /// itself, not its name).
    pub(super) fn recv_call(
        &mut self,
        on: &str,
        size: usize,
    ) -> Result<(Call, std::io::Result<usize>), StepFailed> {
        let mut call = self.begin(Op::Recv, on);
        call.len = Some(size);
        let mut buf = vec![0u8; size];
        let board = self.board;
        let sock = self.sock(on)?;
        let offset = sock.received;
        let deadline = board.time.watchdog(sock.timeout);
        let result = on_lab_time(board, sock, &deadline, |s| recv_into(s, &mut buf, 0));
        if let Ok(n) = result {
            sock.received += n as u64;
            call.data = Some(buf[..n].to_vec());
            if n > 0 && sock.proto != Proto::Udp {
                call.stream = Some((offset, offset + n as u64));
            }
        }
        let call = self.finish_quiet(call, result.as_ref().map(|n| *n as i64), on);
        Ok((call, result))
    }

    pub(super) fn recv_from(&mut self, s: &RecvFromStep) -> StepResult {
        let on = s.on.as_str();
        let size = self.checked_size(self.int(&s.size)?)?;
        self.arm_timeout(on, s.timeout_ms.as_ref())?;
        let (call, _) = self.recv_from_call(on, size)?;
        self.save(s.save.as_deref(), call.returned);
        Ok(())
    }

    /// One `recvfrom` of at most `size` bytes, recorded and emitted, with
    /// the sender's address. The address is also kept on the socket, so a
    /// later `send_to` with `to = "@from"` can answer that sender.
    pub(super) fn recv_from_call(
        &mut self,
        on: &str,
        size: usize,
    ) -> Result<(Call, Option<SockAddr>), StepFailed> {
        let mut call = self.begin(Op::RecvFrom, on);
        call.len = Some(size);
        let mut buf = vec![0u8; size];
        // MSG_TRUNC makes the kernel return the datagram's real length even
        // when the buffer took only its first `size` bytes; the rest of the
        // datagram is discarded either way.
        let board = self.board;
        let sock = self.sock(on)?;
        let deadline = board.time.watchdog(sock.timeout);
        let result = on_lab_time(board, sock, &deadline, |s| {
            recv_from_into(s, &mut buf, libc::MSG_TRUNC)
        });
        let mut sender = None;
        let result = result.map(|(real, from)| {
            let got = real.min(size);
            call.data = Some(buf[..got].to_vec());
            call.truncated = Some(real > size);
            call.datagram_len = Some(real);
            call.args = format!("from {}", show_addr(&from));
            call.peer = from.as_socket();
            sender = Some(from);
            got
        });
        let call = self.finish(call, result.as_ref().map(|n| *n as i64), on);
        if let Some(from) = &sender {
            self.sock(on)?.last_from = Some(from.clone());
        }
        Ok((call, sender))
    }
}
