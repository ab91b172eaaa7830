//! One actor: a thread that runs its steps in order on real sockets and
//! records every call it makes.

use std::collections::BTreeMap;
use std::sync::mpsc::Sender;
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

use super::board::{Address, Board, WaitError};
use super::errno;
use super::sock::{Sock, pattern, show_addr};
use crate::catalog::{StepDef, Tpl};
use crate::clock::Clock;
use crate::expr::{self, Scope, Value};
use crate::trace::{Call, Event, Op, Proto};

/// Largest buffer or message a step may ask for: a number in a lab file
/// must not be able to exhaust the machine's memory.
pub(super) const MAX_SIZE: i64 = 64 << 20;

/// Longest `sleep` a step may ask for.
const MAX_SLEEP_MS: i64 = 60_000;

/// Upper bound on calls one `until_eof` loop may make, so a peer that
/// trickles bytes forever cannot keep a lab alive.
const MAX_LOOP_CALLS: usize = 100_000;

/// A step could not run: the experiment is broken (not an errno, which is
/// part of the lesson and recorded in the call).
pub struct StepFailed(pub String);

impl From<String> for StepFailed {
    fn from(s: String) -> Self {
        StepFailed(s)
    }
}

type StepResult = Result<(), StepFailed>;

/// The running state of one actor.
pub struct Actor<'a> {
    pub name: String,
    pub clock: Clock,
    pub board: &'a Board,
    pub events: Sender<Event>,
    /// Knobs plus the values saved by this actor's steps.
    pub scope: Scope,
    pub sockets: BTreeMap<String, Sock>,
    pub default_timeout: Duration,
    /// Saved values, reported back to the runner for expectations.
    pub saved: Scope,
    /// Where unnamed AF_UNIX sockets are bound.
    pub scratch: std::path::PathBuf,
}

impl Actor<'_> {
    /// Runs every step; stops at the first step that cannot run.
    pub fn run(&mut self, steps: &[StepDef]) -> StepResult {
        for (i, step) in steps.iter().enumerate() {
            if let Some(w) = &step.when
                && !expr::eval_bool(w, &self.scope)?
            {
                continue;
            }
            let times = match &step.repeat {
                Some(t) => t.int(&self.scope)?,
                None => 1,
            };
            for _ in 0..times {
                if let Some(reason) = self.board.aborted() {
                    return Err(StepFailed(format!("stopped: {reason}")));
                }
                self.step(step).map_err(|StepFailed(m)| {
                    StepFailed(format!("step {} (`{}`): {m}", i + 1, step.op))
                })?;
                self.save_ports();
            }
        }
        Ok(())
    }

    fn step(&mut self, s: &StepDef) -> StepResult {
        match s.op.as_str() {
            "socket" => self.socket(s).map(|_| ()),
            "bind" => self.bind(s.on.as_deref().unwrap_or_default(), s),
            "listen" => self.listen(s),
            "accept" => self.accept(s),
            "connect" => self.connect(s),
            "send" | "send_all" => self.send(s),
            "send_to" => self.send_to(s),
            "recv" => self.recv(s),
            "recv_from" => self.recv_from(s),
            "shutdown" => self.shutdown(s),
            "close" => self.close(s),
            "set_option" => {
                let v = self.option_value(s.value.as_ref())?;
                self.set_option(
                    s.on.as_deref().unwrap_or_default(),
                    s.option.as_deref().unwrap_or_default(),
                    v,
                )
            }
            "set_nonblocking" => self.set_nonblocking(s),
            "sleep" => {
                let ms = self.int(s.ms.as_ref())?;
                if !(0..=MAX_SLEEP_MS).contains(&ms) {
                    return Err(StepFailed(format!(
                        "sleep of {ms} ms: a lab sleeps 0 to {MAX_SLEEP_MS} ms"
                    )));
                }
                let mut call = Call::new(self.clock.now_us(), &self.name, Op::Sleep);
                call.args = format!("{ms} ms");
                // In slices, so that a run that is stopped does not wait
                // for a long sleep to end.
                let until = std::time::Instant::now() + Duration::from_millis(ms as u64);
                while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
                    if left.is_zero() || self.board.aborted().is_some() {
                        break;
                    }
                    std::thread::sleep(left.min(Duration::from_millis(50)));
                }
                call.waited_us = self.clock.now_us() - call.t_us;
                call.returned = Some(0);
                self.emit(call);
                Ok(())
            }
            "signal" => {
                self.board.signal(s.event.as_deref().unwrap_or_default());
                Ok(())
            }
            "wait" => {
                let event = s.event.as_deref().unwrap_or_default();
                let timeout = self.timeout(s)?;
                self.board.wait_event(event, timeout).map_err(|e| match e {
                    WaitError::TimedOut => {
                        StepFailed(format!("event `{event}` not signalled within {timeout:?}"))
                    }
                    WaitError::Aborted(r) => StepFailed(format!("stopped: {r}")),
                })
            }
            // The course's protocols and the probes (see course_ops.rs).
            "serve" => self.serve(s),
            "command" | "bench" | "put" | "get" | "auth" => self.course_client(s),
            "unlink" => self.unlink(s),
            "netstat" => self.netstat(s),
            "get_option" => self.get_option(s),
            "lo_mtu" => self.lo_mtu(s),
            other => Err(StepFailed(format!("unknown op `{other}`"))),
        }
    }

    /// Closes every socket the steps left open (the end of the thread).
    pub fn close_all(&mut self) {
        for (_, sock) in std::mem::take(&mut self.sockets) {
            self.board.close(sock.socket);
        }
    }

    // ----- helpers -------------------------------------------------------

    fn emit(&self, call: Call) {
        // The receiver lives as long as the run; a send error only means
        // the renderer has gone (the process is exiting).
        let _ = self.events.send(Event::Call(call));
    }

    fn int(&self, t: Option<&Tpl>) -> Result<i64, StepFailed> {
        t.ok_or_else(|| StepFailed("missing value".into()))?
            .int(&self.scope)
            .map_err(StepFailed)
    }

    /// A byte count from a lab file, within 0..=[`MAX_SIZE`].
    pub(super) fn checked_size(&self, n: i64) -> Result<usize, StepFailed> {
        if (0..=MAX_SIZE).contains(&n) {
            Ok(n as usize)
        } else {
            Err(StepFailed(format!(
                "size {n}: a step moves 0 to {MAX_SIZE} bytes"
            )))
        }
    }

    fn option_value(&self, t: Option<&Tpl>) -> Result<i64, StepFailed> {
        let t = t.ok_or_else(|| StepFailed("missing value".into()))?;
        match t.value(&self.scope)? {
            Value::Int(n) => Ok(n),
            Value::Bool(b) => Ok(i64::from(b)),
            Value::Str(s) => s
                .parse()
                .map_err(|_| StepFailed(format!("`{s}` is not a number"))),
        }
    }

    fn timeout(&self, s: &StepDef) -> Result<Duration, StepFailed> {
        match &s.timeout_ms {
            Some(t) => Ok(Duration::from_millis(t.int(&self.scope)?.max(1) as u64)),
            None => Ok(self.default_timeout),
        }
    }

    fn sock(&mut self, name: &str) -> Result<&mut Sock, StepFailed> {
        self.sockets.get_mut(name).ok_or_else(|| {
            StepFailed(format!(
                "socket `{name}` does not exist (an earlier call failed or closed it)"
            ))
        })
    }

    /// The bytes a send step offers.
    fn payload(&self, s: &StepDef, offset: u64) -> Result<Vec<u8>, StepFailed> {
        if let Some(d) = &s.data {
            let text = expr::expand(d, &self.scope)?.to_string();
            return crate::escape::unescape(&text).map_err(StepFailed);
        }
        let n = self.int(s.size.as_ref())?;
        Ok(pattern(offset, self.checked_size(n)?))
    }

    fn save(&mut self, s: &StepDef, value: Option<i64>) {
        if let (Some(name), Some(v)) = (&s.save, value) {
            self.scope.insert(name.clone(), Value::Int(v));
            self.saved.insert(name.clone(), Value::Int(v));
        }
    }

    /// Publishes `<sock>_sent` and `<sock>_received`, the stream offsets so
    /// far, for templates such as `size = "${total - sock_sent}"`.
    fn save_offsets(&mut self, on: &str) {
        if let Some(sock) = self.sockets.get(on) {
            let (sent, received) = (sock.sent as i64, sock.received as i64);
            self.scope.insert(format!("{on}_sent"), Value::Int(sent));
            self.scope
                .insert(format!("{on}_received"), Value::Int(received));
        }
    }

    /// Starts a call record on socket `on`.
    fn begin(&self, op: Op, on: &str) -> Call {
        let mut call = Call::new(self.clock.now_us(), &self.name, op);
        call.sock = Some(on.to_string());
        if let Some(sock) = self.sockets.get(on) {
            call.proto = Some(sock.proto);
        }
        call
    }

    /// Applies a step's `timeout_ms` to the watchdog of socket `on`, in
    /// both directions (SO_RCVTIMEO and SO_SNDTIMEO), so that the one value
    /// the socket remembers is the one a timed-out call is judged by. It
    /// stays in force for the socket's later calls.
    fn arm_timeout(&mut self, on: &str, s: &StepDef) -> StepResult {
        let Some(t) = &s.timeout_ms else {
            return Ok(());
        };
        let ms = t.int(&self.scope)?.max(1) as u64;
        let sock = self.sock(on)?;
        sock.timeout = Duration::from_millis(ms);
        sock.socket
            .set_read_timeout(Some(sock.timeout))
            .and_then(|()| sock.socket.set_write_timeout(Some(sock.timeout)))
            .map_err(|e| StepFailed(format!("cannot set the watchdog: {e}")))
    }

    /// Completes a call record with the result and emits it.
    fn finish(&self, call: Call, result: Result<i64, &std::io::Error>, on: &str) -> Call {
        let call = self.finish_quiet(call, result, on);
        self.emit(call.clone());
        call
    }

    // ----- socket lifecycle ----------------------------------------------

    /// `socket()`, then the step's `options`.
    fn socket(&mut self, s: &StepDef) -> Result<String, StepFailed> {
        let name = s.name.clone().unwrap_or_default();
        let proto = match s.proto.as_deref() {
            Some("udp") => Proto::Udp,
            Some("unix") => Proto::Unix,
            _ => Proto::Tcp,
        };
        let (domain, ty, args) = match proto {
            Proto::Tcp => (Domain::IPV4, Type::STREAM, "AF_INET, SOCK_STREAM"),
            Proto::Udp => (Domain::IPV4, Type::DGRAM, "AF_INET, SOCK_DGRAM"),
            Proto::Unix => (Domain::UNIX, Type::STREAM, "AF_UNIX, SOCK_STREAM"),
        };
        let mut call = Call::new(self.clock.now_us(), &self.name, Op::Socket);
        call.sock = Some(name.clone());
        call.proto = Some(proto);
        call.args = args.to_string();
        let created =
            Socket::new(domain, ty, None).and_then(|sk| Sock::new(sk, proto, self.default_timeout));
        match created {
            Ok(sock) => {
                use std::os::fd::AsRawFd;
                self.board.track(&sock.socket);
                call.returned = Some(i64::from(sock.socket.as_raw_fd()));
                if let Some(old) = self.sockets.insert(name.clone(), sock) {
                    // A name reused (a step under `repeat`): the old socket
                    // is closed through the board, like any other close.
                    self.board.close(old.socket);
                }
                self.emit(call);
            }
            Err(e) => {
                call.error = Some(errno::name(&e));
                self.emit(call);
                return Err(StepFailed(format!("socket() failed: {e}")));
            }
        }
        if let Some(opts) = &s.options {
            for (opt, v) in opts {
                let value = match v {
                    toml::Value::Integer(n) => *n,
                    toml::Value::Boolean(b) => i64::from(*b),
                    toml::Value::String(t) => {
                        Tpl::Str(t.clone()).int(&self.scope).map_err(StepFailed)?
                    }
                    other => return Err(StepFailed(format!("option {opt}: bad value {other}"))),
                };
                self.set_option(&name, opt, value)?;
            }
        }
        Ok(name)
    }

    fn set_option(&mut self, on: &str, option: &str, value: i64) -> StepResult {
        let mut call = self.begin(Op::SetOption, on);
        call.args = format!("{option}={value}");
        let result = self.sock(on)?.set_option(option, value);
        if let Ok(Some(note)) = &result {
            call.args.push_str(&format!(" ({note})"));
        }
        self.finish(call, result.as_ref().map(|_| 0), on);
        Ok(())
    }

    fn set_nonblocking(&mut self, s: &StepDef) -> StepResult {
        let on = s.on.as_deref().unwrap_or_default();
        let flag = s
            .value
            .as_ref()
            .map(|v| v.bool(&self.scope))
            .transpose()?
            .unwrap_or(true);
        let mut call = self.begin(Op::SetNonblocking, on);
        call.args = flag.to_string();
        let sock = self.sock(on)?;
        let result = sock.socket.set_nonblocking(flag);
        if result.is_ok() {
            sock.nonblocking = flag;
        }
        self.finish(call, result.as_ref().map(|_| 0), on);
        Ok(())
    }

    fn bind(&mut self, on: &str, s: &StepDef) -> StepResult {
        let proto = self.sock(on)?.proto;
        let addr = match proto {
            Proto::Unix => SockAddr::unix(self.unix_path(on, s)),
            _ => {
                // `addr = "127.0.0.1:${srv_port}"`: bind a port seen earlier.
                let text = expr::expand(s.addr.as_deref().unwrap_or("127.0.0.1:0"), &self.scope)?
                    .to_string();
                let a: std::net::SocketAddr = text
                    .parse()
                    .map_err(|_| StepFailed(format!("`{text}` is not an address")))?;
                Ok(SockAddr::from(a))
            }
        }
        .map_err(|e| StepFailed(format!("bad address: {e}")))?;
        let mut call = self.begin(Op::Bind, on);
        call.args = show_addr(&addr);
        let result = self.sock(on)?.socket.bind(&addr);
        let call = self.finish(call, result.as_ref().map(|_| 0), on);
        // A listening socket is published only once it listens: a client
        // that connected between bind() and listen() would be refused.
        if result.is_ok()
            && s.op == "bind"
            && let Some(name) = &s.publish
        {
            let published = match addr.as_pathname() {
                Some(p) => Address::Unix(p.to_path_buf()),
                None => Address::Inet(
                    call.local
                        .ok_or_else(|| StepFailed("bound socket has no address".into()))?,
                ),
            };
            self.board.publish(name, published);
        }
        Ok(())
    }

    /// The file an AF_UNIX socket `on` binds: the step's `addr`, or a name
    /// of its own in the run's scratch folder.
    fn unix_path(&self, on: &str, s: &StepDef) -> std::path::PathBuf {
        match s.addr.as_deref() {
            Some(path) => path.into(),
            None => self.own_unix_path(on),
        }
    }

    /// The scratch-folder file of socket `on`, when its step names none.
    fn own_unix_path(&self, on: &str) -> std::path::PathBuf {
        self.scratch.join(format!("{}-{on}.sock", self.name))
    }

    /// `unlink`: removes the file an AF_UNIX socket `on` binds by default,
    /// in the run's scratch folder. The file outlives the socket that made
    /// it, and while it is there a new bind to that path fails with
    /// EADDRINUSE (lab 19). Only a socket file is ever removed.
    fn unlink(&mut self, s: &StepDef) -> StepResult {
        use std::os::unix::fs::FileTypeExt;
        let on = s.on.as_deref().unwrap_or_default();
        let path = self.own_unix_path(on);
        let mut call = self.begin(Op::Unlink, on);
        call.args = path.display().to_string();
        let result = std::fs::symlink_metadata(&path).and_then(|m| {
            if m.file_type().is_socket() {
                std::fs::remove_file(&path)
            } else {
                Err(std::io::Error::from_raw_os_error(libc::EPERM))
            }
        });
        self.finish(call, result.as_ref().map(|_| 0), on);
        Ok(())
    }

    fn listen(&mut self, s: &StepDef) -> StepResult {
        let on = match (&s.on, &s.name) {
            (Some(on), _) => on.clone(),
            (None, Some(_)) => {
                let name = self.socket(s)?;
                self.bind(&name, s)?;
                name
            }
            (None, None) => return Err(StepFailed("needs `on` or `as`".into())),
        };
        let backlog = match &s.backlog {
            Some(b) => b.int(&self.scope)? as i32,
            None => 128,
        };
        let mut call = self.begin(Op::Listen, &on);
        call.args = format!("backlog={backlog}");
        let result = self.sock(&on)?.socket.listen(backlog);
        let call = self.finish(call, result.as_ref().map(|_| 0), &on);
        if result.is_ok()
            && let Some(name) = &s.publish
        {
            let published = match self
                .sockets
                .get(&on)
                .and_then(|k| k.socket.local_addr().ok())
            {
                Some(a) => match (a.as_pathname(), call.local) {
                    (Some(p), _) => Address::Unix(p.to_path_buf()),
                    (None, Some(inet)) => Address::Inet(inet),
                    (None, None) => {
                        return Err(StepFailed("listening socket has no address".into()));
                    }
                },
                None => return Err(StepFailed("listening socket has no address".into())),
            };
            self.board.publish(name, published);
        }
        Ok(())
    }

    fn accept(&mut self, s: &StepDef) -> StepResult {
        let on = s.on.as_deref().unwrap_or_default();
        let name = s.name.clone().unwrap_or_default();
        let timeout = self.timeout(s)?;
        let listener = self.sock(on)?;
        listener
            .socket
            .set_read_timeout(Some(timeout))
            .map_err(|e| StepFailed(e.to_string()))?;
        listener.timeout = timeout;
        let proto = listener.proto;
        let call = self.begin(Op::Accept, on);
        let result = self.sockets[on].socket.accept();
        match result {
            Ok((socket, _peer)) => {
                use std::os::fd::AsRawFd;
                let fd = i64::from(socket.as_raw_fd());
                let sock = Sock::new(socket, proto, self.default_timeout)
                    .map_err(|e| StepFailed(e.to_string()))?;
                self.board.track(&sock.socket);
                if let Some(old) = self.sockets.insert(name.clone(), sock) {
                    // A name reused (a step under `repeat`): the old socket
                    // is closed through the board, like any other close.
                    self.board.close(old.socket);
                }
                let mut call = call;
                call.args = format!("-> {name}");
                // Report the new connection's addresses, not the listener's.
                let mut done = self.finish_quiet(call, Ok(fd), &name);
                done.sock = Some(on.to_string());
                self.emit(done);
                Ok(())
            }
            Err(e) => {
                self.finish(call, Err(&e), on);
                Ok(())
            }
        }
    }

    /// [`Actor::finish`] without emitting (the caller adjusts, then emits).
    fn finish_quiet(&self, mut call: Call, result: Result<i64, &std::io::Error>, on: &str) -> Call {
        call.waited_us = self.clock.now_us().saturating_sub(call.t_us);
        match result {
            Ok(n) => call.returned = Some(n),
            Err(e) => {
                call.error = Some(errno::name(e));
                if let Some(sock) = self.sockets.get(on) {
                    // EAGAIN from a blocking socket means SO_RCVTIMEO or
                    // SO_SNDTIMEO ran out: the watchdog ended the wait.
                    call.timed_out = !sock.nonblocking
                        && e.raw_os_error() == Some(libc::EAGAIN)
                        && Duration::from_micros(call.waited_us) >= sock.timeout.mul_f32(0.9);
                }
            }
        }
        if let Some(sock) = self.sockets.get(on) {
            call.local = sock.local();
            // An unconnected datagram socket has no peer: keep the address
            // the call sent to or received from.
            call.peer = sock.peer().or(call.peer);
        }
        call
    }

    fn resolve(&self, to: &str, timeout: Duration) -> Result<SockAddr, StepFailed> {
        if let Ok(a) = to.parse::<std::net::SocketAddr>() {
            return Ok(a.into());
        }
        if to.starts_with('/') {
            return SockAddr::unix(to).map_err(|e| StepFailed(e.to_string()));
        }
        match self.board.address(to, timeout) {
            Ok(Address::Inet(a)) => Ok(a.into()),
            Ok(Address::Unix(p)) => SockAddr::unix(p).map_err(|e| StepFailed(e.to_string())),
            Err(WaitError::TimedOut) => Err(StepFailed(format!(
                "no actor published `{to}` within {timeout:?}"
            ))),
            Err(WaitError::Aborted(r)) => Err(StepFailed(format!("stopped: {r}"))),
        }
    }

    fn connect(&mut self, s: &StepDef) -> StepResult {
        let timeout = self.timeout(s)?;
        let to = s.to.as_deref().unwrap_or_default();
        // Wait for the server to publish before creating our socket, so
        // the trace shows socket() and connect() together.
        let addr = self.resolve(to, timeout)?;
        let on = match (&s.on, &s.name) {
            (Some(on), _) => on.clone(),
            _ => self.socket(s)?,
        };
        let mut call = self.begin(Op::Connect, &on);
        call.args = show_addr(&addr);
        let result = self.sock(&on)?.socket.connect_timeout(&addr, timeout);
        self.finish(call, result.as_ref().map(|_| 0), &on);
        Ok(())
    }

    fn shutdown(&mut self, s: &StepDef) -> StepResult {
        let on = s.on.as_deref().unwrap_or_default();
        let how = match s.how.as_deref() {
            Some("read") => std::net::Shutdown::Read,
            Some("write") => std::net::Shutdown::Write,
            _ => std::net::Shutdown::Both,
        };
        let mut call = self.begin(Op::Shutdown, on);
        call.args = format!(
            "SHUT_{}",
            s.how
                .as_deref()
                .unwrap_or("both")
                .to_uppercase()
                .replace("BOTH", "RDWR")
                .replace("READ", "RD")
                .replace("WRITE", "WR")
        );
        let result = self.sock(on)?.socket.shutdown(how);
        self.finish(call, result.as_ref().map(|_| 0), on);
        Ok(())
    }

    fn close(&mut self, s: &StepDef) -> StepResult {
        let on = s.on.as_deref().unwrap_or_default();
        let mut call = self.begin(Op::Close, on);
        let sock = self
            .sockets
            .remove(on)
            .ok_or_else(|| StepFailed(format!("socket `{on}` does not exist")))?;
        call.local = sock.local();
        call.peer = sock.peer();
        // Dropping the socket is close(2); an RST (SO_LINGER 0, unread
        // data) or a FIN leaves right here.
        self.board.close(sock.socket);
        call.returned = Some(0);
        call.waited_us = self.clock.now_us().saturating_sub(call.t_us);
        self.emit(call);
        Ok(())
    }
}

mod course_ops;
mod io;
mod probe;
mod serve;
