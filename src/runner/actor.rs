//! One actor: a thread that runs its steps in order on real sockets and
//! records every call it makes.

use std::collections::BTreeMap;
use std::sync::mpsc::Sender;
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

use super::board::{Address, Board, WaitError};
use super::errno;
use super::sock::{FOREVER, INTERRUPT_SLICE, Sock, pattern, show_addr};
use super::{Controller, Decision, StepAt};
use crate::catalog::Tpl;
use crate::catalog::step::{
    AcceptStep, Action, BindStep, ConnectStep, How, ListenStep, OnStep, Options,
    SetNonblockingStep, SetTimeoutStep, SockOpt,
};
use crate::clock::{Clock, Deadline};
use crate::expr::{self, Scope, Value};
use crate::trace::{Call, Event, Op, Proto, StepStarted};

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
    /// Asked before each step (see [`Controller`]).
    pub controller: &'a dyn Controller,
    /// The calls being made are counted, not reported one by one (the
    /// bulk of a benchmark, the spins of a loop): no `CallStarted` either.
    pub quiet: bool,
    /// Given to every socket this actor makes: set from elsewhere, it
    /// ends the blocking call in progress with EINTR (`lab repl`'s Ctrl-C).
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// When set, every call this actor reports is also kept here, so the
    /// one who asked for a step learns its results (`lab repl`).
    pub record: Option<std::cell::RefCell<Vec<Call>>>,
}

impl Actor<'_> {
    /// Runs every step; stops at the first step that cannot run.
    pub fn run(&mut self, steps: &[StepAt]) -> StepResult {
        for (i, StepAt { step, line }) in steps.iter().enumerate() {
            if let Some(w) = &step.when
                && !expr::eval_bool(w, &self.scope)?
            {
                continue;
            }
            let times = match &step.repeat {
                Some(t) => t.int(&self.scope)?,
                None => 1,
            };
            if !(0..=100_000).contains(&times) {
                return Err(StepFailed(format!(
                    "step {} repeats {times} times: a step repeats 0 to 100000 times",
                    i + 1
                )));
            }
            for _ in 0..times {
                if let Some(reason) = self.board.aborted() {
                    return Err(StepFailed(reason));
                }
                let mut started = StepStarted {
                    t_us: 0,
                    actor: self.name.clone(),
                    index: i + 1,
                    line: *line,
                    text: step.to_string(),
                    ask: step.ask.clone(),
                };
                let decision = {
                    // Lab time stands still while the controller decides.
                    let _pause = self.board.time.pause();
                    self.controller.before_step(&started)
                };
                if decision == Decision::Stop {
                    // The learner's `q`, or a signal that came while the
                    // controller waited for a key: say which.
                    let reason = match crate::signals::received() {
                        Some(signal) => crate::signals::name(signal),
                        None => super::STOPPED_BY_LEARNER.to_string(),
                    };
                    self.board.abort(&reason);
                    return Err(StepFailed(reason));
                }
                started.t_us = self.clock.now_us();
                self.quiet = false;
                let _ = self.events.send(Event::StepStarted(started));
                self.step(&step.action).map_err(|StepFailed(m)| {
                    StepFailed(format!("step {} (`{}`): {m}", i + 1, step.action.name()))
                })?;
                self.save_ports();
            }
        }
        Ok(())
    }

    fn step(&mut self, action: &Action) -> StepResult {
        match action {
            Action::Socket(s) => self.socket(&s.name, s.proto, &s.options),
            Action::Bind(s) => self.bind(s),
            Action::Listen(s) => self.listen(s),
            Action::Accept(s) => self.accept(s),
            Action::Connect(s) => self.connect(s),
            Action::Send(s) => self.send(s),
            Action::SendAll(s) => self.send_all(s),
            Action::SendTo(s) => self.send_to(s),
            Action::Recv(s) => self.recv(s),
            Action::RecvFrom(s) => self.recv_from(s),
            Action::Shutdown(s) => self.shutdown(&s.on, s.how),
            Action::Close(OnStep { on }) => self.close(on),
            Action::Unlink(OnStep { on }) => self.unlink(on),
            Action::SetOption(s) => {
                let v = self.option_value(&s.value)?;
                self.set_option(&s.on, s.option, v)
            }
            Action::SetNonblocking(s) => self.set_nonblocking(s),
            Action::SetTimeout(s) => self.set_timeout(s),
            Action::Sleep(s) => self.sleep(&s.ms),
            Action::Signal(s) => {
                self.board.signal(&s.event);
                Ok(())
            }
            Action::Wait(s) => {
                let timeout = self.timeout(s.timeout_ms.as_ref())?;
                let event = &s.event;
                self.board.wait_event(event, timeout).map_err(|e| match e {
                    WaitError::TimedOut => {
                        StepFailed(format!("event `{event}` not signalled within {timeout:?}"))
                    }
                    WaitError::Aborted(r) => StepFailed(r),
                })
            }
            // The course's protocols and the probes (see course_ops.rs,
            // serve.rs and probe.rs).
            Action::Serve(s) => self.serve(s),
            Action::Command(s) => self.command(s),
            Action::Bench(s) => self.bench(s),
            Action::Put(s) => self.put(s),
            Action::Get(s) => self.get(s),
            Action::Auth(s) => self.auth(s),
            Action::Netstat(s) => self.netstat(s),
            Action::GetOption(s) => self.get_option(s),
            Action::LoMtu(s) => self.lo_mtu(s.save.as_deref()),
        }
    }

    /// `sleep`: the actor pauses; nothing happens on its sockets.
    fn sleep(&mut self, ms: &Tpl) -> StepResult {
        let ms = ms.int(&self.scope)?;
        if !(0..=MAX_SLEEP_MS).contains(&ms) {
            return Err(StepFailed(format!(
                "sleep of {ms} ms: a lab sleeps 0 to {MAX_SLEEP_MS} ms"
            )));
        }
        let mut call = Call::new(self.clock.now_us(), &self.name, Op::Sleep);
        call.args = format!("{ms} ms");
        // A sleep of lab time: it stands still while the learner decides.
        // In slices, so that a run that is stopped does not wait for a
        // long sleep to end.
        let until = self.board.time.deadline(Duration::from_millis(ms as u64));
        while !until.expired() && self.board.aborted().is_none() {
            std::thread::sleep(until.slice(Duration::from_millis(50)));
        }
        call.waited_us = self.clock.now_us() - call.t_us;
        call.returned = Some(0);
        self.emit(call);
        Ok(())
    }

    /// Closes every socket the steps left open (the end of the thread).
    pub fn close_all(&mut self) {
        for (_, sock) in std::mem::take(&mut self.sockets) {
            self.board.close(sock.socket);
        }
    }
}

/// However an actor ends (its last step, a failure, a panic that unwinds
/// its thread), its sockets leave the board before they close: an abort
/// later in the run must never shut down a number the kernel has since
/// given to another socket.
impl Drop for Actor<'_> {
    fn drop(&mut self) {
        self.close_all();
    }
}

impl Actor<'_> {
    // ----- helpers -------------------------------------------------------

    fn emit(&self, mut call: Call) {
        if call.waited_us > 0 {
            let (from, to) = (call.t_us, call.t_us + call.waited_us);
            let paused = (self.board.time).paused_within(self.clock.at(from), self.clock.at(to));
            call.paused_us = paused.as_micros() as u64;
        }
        if let Some(record) = &self.record {
            record.borrow_mut().push(call.clone());
        }
        // The receiver lives as long as the run; a send error only means
        // the renderer has gone (the process is exiting).
        let _ = self.events.send(Event::Call(call));
    }

    fn int(&self, t: &Tpl) -> Result<i64, StepFailed> {
        t.int(&self.scope).map_err(StepFailed)
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

    fn option_value(&self, t: &Tpl) -> Result<i64, StepFailed> {
        match t.value(&self.scope)? {
            Value::Int(n) => Ok(n),
            Value::Bool(b) => Ok(i64::from(b)),
            Value::Str(s) => s
                .parse()
                .map_err(|_| StepFailed(format!("`{s}` is not a number"))),
        }
    }

    fn timeout(&self, timeout_ms: Option<&Tpl>) -> Result<Duration, StepFailed> {
        match timeout_ms {
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

    /// The bytes a send step offers: its `data`, or `size` bytes of the
    /// pattern continued from `offset` (validation made sure of one).
    fn payload(
        &self,
        data: Option<&String>,
        size: Option<&Tpl>,
        offset: u64,
    ) -> Result<Vec<u8>, StepFailed> {
        if let Some(d) = data {
            let text = expr::expand(d, &self.scope)?.to_string();
            return crate::escape::unescape(&text).map_err(StepFailed);
        }
        let size = size.ok_or_else(|| StepFailed("needs `data` or `size`".into()))?;
        let n = self.int(size)?;
        Ok(pattern(offset, self.checked_size(n)?))
    }

    /// Keeps `value` under the name `save` gives, for templates and checks.
    fn save(&mut self, save: Option<&str>, value: Option<i64>) {
        if let (Some(name), Some(v)) = (save, value) {
            let name = name.to_string();
            self.scope.insert(name.clone(), Value::Int(v));
            self.saved.insert(name, Value::Int(v));
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

    /// Starts a call record on socket `on`. A call that may block is
    /// announced at once (`CallStarted`), so a view can show the actor
    /// waiting in it before it returns.
    fn begin(&self, op: Op, on: &str) -> Call {
        let mut call = Call::new(self.clock.now_us(), &self.name, op);
        let may_block = op.is_send() || op.is_recv() || matches!(op, Op::Accept | Op::Connect);
        if may_block && !self.quiet {
            let _ = self.events.send(Event::CallStarted {
                t_us: call.t_us,
                actor: self.name.clone(),
                op,
                sock: Some(on.to_string()),
            });
        }
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
    fn arm_timeout(&mut self, on: &str, timeout_ms: Option<&Tpl>) -> StepResult {
        let Some(t) = timeout_ms else {
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

    /// `socket()` named `name`, then the step's `options`.
    fn socket(&mut self, name: &str, proto: Option<Proto>, options: &Options) -> StepResult {
        let name = name.to_string();
        let proto = proto.unwrap_or(Proto::Tcp);
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
            Ok(mut sock) => {
                sock.interrupt.clone_from(&self.interrupt);
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
        for (option, value) in options {
            let value = self.option_value(value)?;
            self.set_option(&name, *option, value)?;
        }
        Ok(())
    }

    fn set_option(&mut self, on: &str, option: SockOpt, value: i64) -> StepResult {
        let mut call = self.begin(Op::SetOption, on);
        call.args = format!("{option}={value}");
        let result = self.sock(on)?.set_option(option, value);
        if let Ok(Some(note)) = &result {
            call.args.push_str(&format!(" ({note})"));
        }
        self.finish(call, result.as_ref().map(|_| 0), on);
        Ok(())
    }

    fn set_nonblocking(&mut self, s: &SetNonblockingStep) -> StepResult {
        let on = s.on.as_str();
        let flag = s.value.bool(&self.scope)?;
        let mut call = self.begin(Op::SetNonblocking, on);
        call.args = flag.to_string();
        let default = self.default_timeout;
        let sock = self.sock(on)?;
        let mut result = sock.socket.set_nonblocking(flag);
        if result.is_ok() {
            sock.nonblocking = flag;
            // Blocking again means no timeout of its own, as Python's
            // setblocking(True) is settimeout(None): the run's watchdog.
            if !flag && sock.timeout != default {
                sock.timeout = default;
                result = sock
                    .socket
                    .set_read_timeout(Some(default))
                    .and_then(|()| sock.socket.set_write_timeout(Some(default)));
            }
        }
        self.finish(call, result.as_ref().map(|_| 0), on);
        Ok(())
    }

    /// `settimeout()`: how long a call may block (None: as long as it
    /// takes; 0: not at all). Both directions, as Python sets it.
    fn set_timeout(&mut self, s: &SetTimeoutStep) -> StepResult {
        let ms = match &s.ms {
            Some(t) => Some(self.int(t)?.clamp(0, FOREVER.as_millis() as i64) as u64),
            None => None,
        };
        let mut call = self.begin(Op::SetTimeout, &s.on);
        call.args = match ms {
            None => "None".into(),
            Some(ms) => format!("{} s", ms as f64 / 1000.0),
        };
        let sock = self.sock(&s.on)?;
        let nonblocking = ms == Some(0);
        let timeout = ms
            .map_or(FOREVER, Duration::from_millis)
            .max(Duration::from_millis(1));
        let result = sock
            .socket
            .set_nonblocking(nonblocking)
            .and_then(|()| sock.socket.set_read_timeout(Some(timeout)))
            .and_then(|()| sock.socket.set_write_timeout(Some(timeout)));
        if result.is_ok() {
            sock.nonblocking = nonblocking;
            sock.timeout = timeout;
        }
        self.finish(call, result.as_ref().map(|_| 0), &s.on);
        Ok(())
    }

    fn bind(&mut self, s: &BindStep) -> StepResult {
        self.bind_to(&s.on, s.addr.as_deref(), s.publish.as_deref())
    }

    /// `bind()` socket `on` to `addr`, and publish it under `publish`.
    fn bind_to(&mut self, on: &str, addr: Option<&str>, publish: Option<&str>) -> StepResult {
        let proto = self.sock(on)?.proto;
        let addr = match proto {
            Proto::Unix => SockAddr::unix(self.unix_path(on, addr)),
            _ => {
                // `addr = "127.0.0.1:${srv_port}"`: bind a port seen earlier.
                let text = expr::expand(addr.unwrap_or("127.0.0.1:0"), &self.scope)?.to_string();
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
            && let Some(name) = publish
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
    fn unix_path(&self, on: &str, addr: Option<&str>) -> std::path::PathBuf {
        match addr {
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
    fn unlink(&mut self, on: &str) -> StepResult {
        use std::os::unix::fs::FileTypeExt;
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

    fn listen(&mut self, s: &ListenStep) -> StepResult {
        let on = match (&s.on, &s.name) {
            (Some(on), _) => on.clone(),
            (None, Some(name)) => {
                // A listening socket is published only once it listens
                // (below): bind() publishes nothing here.
                self.socket(name, s.proto, &s.options)?;
                self.bind_to(name, s.addr.as_deref(), None)?;
                name.clone()
            }
            (None, None) => return Err(StepFailed("needs `on` or `as`".into())),
        };
        let backlog = match &s.backlog {
            Some(b) => i32::try_from(b.int(&self.scope)?)
                .ok()
                .filter(|n| (0..=65_535).contains(n))
                .ok_or_else(|| StepFailed("backlog: use 0 to 65535".into()))?,
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

    fn accept(&mut self, s: &AcceptStep) -> StepResult {
        let on = s.on.as_str();
        let name = s.name.clone();
        // The step's own watchdog, else the socket's (what `settimeout`
        // set, or the lab's default): armed for this call only.
        let listener = self.sock(on)?;
        let own = listener.timeout;
        let timeout = match &s.timeout_ms {
            Some(_) => self.timeout(s.timeout_ms.as_ref())?,
            None => own,
        };
        let listener = self.sock(on)?;
        listener
            .socket
            .set_read_timeout(Some(timeout))
            .map_err(|e| StepFailed(e.to_string()))?;
        listener.timeout = timeout;
        let proto = listener.proto;
        let call = self.begin(Op::Accept, on);
        let listener = &self.sockets[on];
        let deadline = self.board.time.watchdog(listener.timeout);
        let result = on_lab_time(self.board, listener, &deadline, Socket::accept);
        if let Some(listener) = self.sockets.get_mut(on) {
            listener.timeout = own;
            let _ = listener.socket.set_read_timeout(Some(own));
        }
        match result {
            Ok((socket, _peer)) => {
                use std::os::fd::AsRawFd;
                let fd = i64::from(socket.as_raw_fd());
                let mut sock = Sock::new(socket, proto, self.default_timeout)
                    .map_err(|e| StepFailed(e.to_string()))?;
                sock.interrupt.clone_from(&self.interrupt);
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
                    // EAGAIN from a blocking socket means the watchdog
                    // ended the wait: [`on_lab_time`] gives it back only
                    // once the socket's timeout has run out in lab time.
                    call.timed_out = !sock.nonblocking && e.raw_os_error() == Some(libc::EAGAIN);
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
            Err(WaitError::Aborted(r)) => Err(StepFailed(r)),
        }
    }

    fn connect(&mut self, s: &ConnectStep) -> StepResult {
        let timeout = self.timeout(s.timeout_ms.as_ref())?;
        let to = s.to.as_str();
        // Wait for the server to publish before creating our socket, so
        // the trace shows socket() and connect() together.
        let addr = self.resolve(to, timeout)?;
        let on = match (&s.on, &s.name) {
            (Some(on), _) => on.clone(),
            (None, Some(name)) => {
                self.socket(name, s.proto, &s.options)?;
                name.clone()
            }
            (None, None) => return Err(StepFailed("needs `on` or `as`".into())),
        };
        let mut call = self.begin(Op::Connect, &on);
        call.args = show_addr(&addr);
        let board = self.board;
        let sock = self.sock(&on)?;
        // The step's own watchdog, else the socket's (`settimeout`).
        let timeout = if s.timeout_ms.is_some() {
            timeout
        } else {
            sock.timeout
        };
        let deadline = board.time.watchdog(timeout);
        let result = connect_on_lab_time(board, sock, &addr, &deadline);
        let mut call = self.finish_quiet(call, result.as_ref().map(|_| 0), &on);
        // Our own deadline ended the wait (the kernel's SYN retries were
        // still going): the watchdog, not an answer from the network.
        call.timed_out = result.is_err() && deadline.expired();
        self.emit(call);
        Ok(())
    }

    fn shutdown(&mut self, on: &str, how: How) -> StepResult {
        let mut call = self.begin(Op::Shutdown, on);
        call.args = how.name().to_string();
        let how = match how {
            How::Read => std::net::Shutdown::Read,
            How::Write => std::net::Shutdown::Write,
            How::Both => std::net::Shutdown::Both,
        };
        let result = self.sock(on)?.socket.shutdown(how);
        self.finish(call, result.as_ref().map(|_| 0), on);
        Ok(())
    }

    fn close(&mut self, on: &str) -> StepResult {
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

/// Runs one blocking call on `sock` with its watchdog on lab time.
///
/// The kernel's watchdog (SO_RCVTIMEO, SO_SNDTIMEO, armed on every socket
/// of a lab) runs on the wall clock. When it ends a wait before `deadline`
/// has passed in lab time (the learner paused the run), the call is made
/// again for the time left, so the program sees one call that waited, as
/// in a run that never paused. A non-blocking socket's EAGAIN is an answer,
/// not a watchdog, and comes back at once.
pub(super) fn on_lab_time<T>(
    board: &Board,
    sock: &Sock,
    deadline: &Deadline,
    mut call: impl FnMut(&Socket) -> std::io::Result<T>,
) -> std::io::Result<T> {
    if sock.nonblocking {
        return call(&sock.socket);
    }
    let mut rearmed = false;
    // A deadline that has partly run already (a send going on after a
    // pause) arms the kernel with the time left, not a whole timeout.
    let left = deadline.remaining();
    if left + Duration::from_millis(1) < sock.timeout && sock.interrupt.is_none() {
        let left = deadline.slice(sock.timeout);
        let _ = sock.socket.set_read_timeout(Some(left));
        let _ = sock.socket.set_write_timeout(Some(left));
        rearmed = true;
    }
    // An interruptible socket waits in slices, to look at its flag.
    let slice = match sock.interrupt {
        Some(_) => INTERRUPT_SLICE,
        None => sock.timeout,
    };
    if sock.interrupt.is_some() {
        let first = deadline.slice(slice);
        let _ = sock.socket.set_read_timeout(Some(first));
        let _ = sock.socket.set_write_timeout(Some(first));
        rearmed = true;
    }
    let result = loop {
        let result = call(&sock.socket);
        let watchdog = matches!(&result, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
        if watchdog && sock.interrupted() {
            break Err(std::io::Error::from_raw_os_error(libc::EINTR));
        }
        if !watchdog || deadline.expired() || board.aborted().is_some() {
            break result;
        }
        let left = deadline.slice(slice);
        let _ = sock.socket.set_read_timeout(Some(left));
        let _ = sock.socket.set_write_timeout(Some(left));
        rearmed = true;
    };
    if rearmed {
        let _ = sock.socket.set_read_timeout(Some(sock.timeout));
        let _ = sock.socket.set_write_timeout(Some(sock.timeout));
    }
    result
}

/// `connect()` on a blocking socket, bounded by `deadline` in lab time.
///
/// The kernel would wait for the handshake as long as its SYN retries last
/// (over two minutes). Like Python's `settimeout`, this starts the
/// handshake without blocking, then waits for the socket to become
/// writable, looking at lab time every 50 ms.
fn connect_on_lab_time(
    board: &Board,
    sock: &Sock,
    addr: &SockAddr,
    deadline: &Deadline,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let socket = &sock.socket;
    if sock.nonblocking {
        return socket.connect(addr);
    }
    socket.set_nonblocking(true)?;
    let result = match socket.connect(addr) {
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            loop {
                let mut p = libc::pollfd {
                    fd: socket.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                };
                let wait = deadline.slice(Duration::from_millis(50)).as_millis() as libc::c_int;
                // SAFETY: one valid pollfd, for the duration of the call.
                let n = unsafe { libc::poll(&mut p, 1, wait) };
                if n > 0 {
                    // Writable: the handshake ended, well or badly.
                    break match socket.take_error() {
                        Ok(Some(e)) | Err(e) => Err(e),
                        Ok(None) => Ok(()),
                    };
                }
                if deadline.expired() {
                    break Err(std::io::Error::from_raw_os_error(libc::ETIMEDOUT));
                }
                if let Some(reason) = board.aborted() {
                    break Err(std::io::Error::other(format!("stopped: {reason}")));
                }
                if sock.interrupted() {
                    break Err(std::io::Error::from_raw_os_error(libc::EINTR));
                }
            }
        }
        other => other,
    };
    socket.set_nonblocking(false)?;
    result
}

mod course_ops;
mod io;
mod probe;

pub use probe::{TcpRow, parse_proc_tcp};
mod serve;

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::{Domain, Socket, Type};

    #[test]
    fn an_actor_that_panics_takes_its_sockets_off_the_board() {
        let board = Board::default();
        let (events, _rx) = std::sync::mpsc::channel();
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        board.track(&socket);
        let sock = Sock::new(socket, Proto::Udp, Duration::from_secs(1)).unwrap();
        let actor = Actor {
            name: "a".into(),
            clock: Clock::start(),
            board: &board,
            events,
            scope: Scope::new(),
            sockets: [("s".to_string(), sock)].into_iter().collect(),
            default_timeout: Duration::from_secs(1),
            saved: Scope::new(),
            scratch: std::env::temp_dir(),
            controller: &crate::runner::Batch,
            quiet: false,
            interrupt: None,
            record: None,
        };
        assert_eq!(board.tracked(), 1);
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _actor = actor;
            panic!("a bug in a step");
        }));
        assert!(unwound.is_err());
        // Its fd number may be given to the next socket anyone opens: an
        // abort now must not shut that one down.
        assert_eq!(board.tracked(), 0);
    }
}
