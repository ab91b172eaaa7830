//! One step of an actor, typed: what a lab file's `{ op = "...", ... }`
//! line means, checked by the compiler instead of by hand.
//!
//! A step is an [`Action`] (one variant per `op`, each with exactly the
//! fields that op takes) plus the fields every step may carry: `when`
//! (run the step only for some knob settings), `repeat`, and `ask` (the
//! lab's question to put before the step, see [`super::question`]). serde reads it
//! straight from TOML, so a missing field (`send` without `on`), a field an
//! op does not take (`unlink` with `addr`) or an unknown op is a load error
//! with the step's line, and the runner never has to guess a default.
//!
//! The same value comes from a lab file and from a line typed into
//! `lab repl`, and serialises back to a lab file's step (`save FILE`).
//!
//! Values that depend on knobs stay templates until the run: a number is a
//! [`Tpl`], a text field may hold `${...}`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

mod ops;

pub use ops::*;

use super::Tpl;
use crate::trace::Op;

/// One step: an action, and when and how often to run it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Run the step only when this expression of the knobs holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Run the step this many times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Tpl>,
    /// The `[[question]]` (by name) that `lab run --predict` asks before
    /// the step runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask: Option<String>,
    #[serde(flatten)]
    pub action: Action,
}

impl Step {
    /// A step that always runs once.
    pub fn new(action: Action) -> Step {
        Step {
            when: None,
            repeat: None,
            ask: None,
            action,
        }
    }
}

/// The step as a lab file writes it, on one line:
/// `{ op = "recv", on = "conn", size = 1024 }`; `ask` comes last.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{ op = \"{}\"", self.action.name())?;
        if let Ok(toml::Value::Table(fields)) = toml::Value::try_from(self) {
            let (asks, rest): (Vec<_>, Vec<_>) = fields
                .iter()
                .filter(|(k, _)| *k != "op")
                .partition(|(k, _)| *k == "ask");
            for (key, value) in rest.into_iter().chain(asks) {
                write!(f, ", {key} = {value}")?;
            }
        }
        f.write_str(" }")
    }
}

// serde cannot combine `flatten` with `deny_unknown_fields`, so a step is
// read in two passes: the fields every step has come off first, and the
// rest must be exactly one action's fields.
impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        let when = match table.remove("when") {
            None => None,
            Some(toml::Value::String(s)) => Some(s),
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "`when` must be an expression in quotes, not {other}"
                )));
            }
        };
        let repeat = match table.remove("repeat") {
            None => None,
            Some(v) => Some(Tpl::deserialize(v).map_err(D::Error::custom)?),
        };
        let ask = match table.remove("ask") {
            None => None,
            Some(toml::Value::String(s)) => Some(s),
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "`ask` names a [[question]] in quotes, not {other}"
                )));
            }
        };
        let op = match table.get("op") {
            Some(toml::Value::String(op)) if Action::NAMES.contains(&op.as_str()) => op.clone(),
            Some(toml::Value::String(op)) => {
                return Err(D::Error::custom(format!(
                    "unknown op `{op}`; ops are: {}",
                    Action::NAMES.join(", ")
                )));
            }
            _ => {
                return Err(D::Error::custom(format!(
                    "a step needs `op`: one of {}",
                    Action::NAMES.join(", ")
                )));
            }
        };
        let action = Action::deserialize(toml::Value::Table(table))
            .map_err(|e| D::Error::custom(in_words_of_a_step(&op, e.message())))?;
        Ok(Step {
            when,
            repeat,
            ask,
            action,
        })
    }
}

/// serde's message about one step's fields, said as the lab file's author
/// thinks of it: `send` needs `on`, `unlink` does not take `addr`.
fn in_words_of_a_step(op: &str, message: &str) -> String {
    let first = message.lines().next().unwrap_or("bad step");
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_string);
    if let Some(rest) = first.strip_prefix("missing field ") {
        let field = quoted(rest).unwrap_or_default();
        return format!("`{op}` needs `{field}`");
    }
    if let Some(rest) = first.strip_prefix("unknown field ") {
        let field = quoted(rest).unwrap_or_default();
        let takes = rest
            .split_once(", expected ")
            .map(|(_, e)| e.trim_start_matches("one of ").to_string())
            .unwrap_or_else(|| "nothing else".into());
        return format!("`{op}` does not take `{field}`; it takes {takes}");
    }
    format!("`{op}`: {first}")
}

/// A socket option, by the name learners know from C and Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SockOpt {
    /// Bind a port whose old connections are still in TIME_WAIT (lab 05).
    SoReuseaddr,
    /// Several sockets share one port (the kernel spreads connections).
    SoReuseport,
    /// What close() does with unsent data; 0 means: send RST at once.
    SoLinger,
    /// The send buffer (the kernel doubles what is asked).
    SoSndbuf,
    /// The receive buffer (the kernel doubles what is asked).
    SoRcvbuf,
    /// Probe an idle connection now and then.
    SoKeepalive,
    /// Turn Nagle's algorithm off: small writes leave at once.
    TcpNodelay,
    /// Hold small writes until the cork is removed (or 200 ms pass).
    TcpCork,
    /// Acknowledge at once instead of delaying the ACK.
    TcpQuickack,
    /// The largest segment this connection sends.
    TcpMaxseg,
}

impl SockOpt {
    pub const ALL: [SockOpt; 10] = [
        SockOpt::SoReuseaddr,
        SockOpt::SoReuseport,
        SockOpt::SoLinger,
        SockOpt::SoSndbuf,
        SockOpt::SoRcvbuf,
        SockOpt::SoKeepalive,
        SockOpt::TcpNodelay,
        SockOpt::TcpCork,
        SockOpt::TcpQuickack,
        SockOpt::TcpMaxseg,
    ];

    /// `SO_REUSEADDR`, `TCP_NODELAY`, ...
    pub fn name(self) -> &'static str {
        match self {
            SockOpt::SoReuseaddr => "SO_REUSEADDR",
            SockOpt::SoReuseport => "SO_REUSEPORT",
            SockOpt::SoLinger => "SO_LINGER",
            SockOpt::SoSndbuf => "SO_SNDBUF",
            SockOpt::SoRcvbuf => "SO_RCVBUF",
            SockOpt::SoKeepalive => "SO_KEEPALIVE",
            SockOpt::TcpNodelay => "TCP_NODELAY",
            SockOpt::TcpCork => "TCP_CORK",
            SockOpt::TcpQuickack => "TCP_QUICKACK",
            SockOpt::TcpMaxseg => "TCP_MAXSEG",
        }
    }

    /// The option a name stands for.
    pub fn from_name(name: &str) -> Option<SockOpt> {
        SockOpt::ALL.into_iter().find(|o| o.name() == name)
    }
}

impl fmt::Display for SockOpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which direction `shutdown` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// SHUT_RD: this side will read no more.
    Read,
    /// SHUT_WR: this side sends FIN, and can still read.
    Write,
    /// SHUT_RDWR: both.
    Both,
}

impl How {
    /// The constant's name in C and Python.
    pub fn name(self) -> &'static str {
        match self {
            How::Read => "SHUT_RD",
            How::Write => "SHUT_WR",
            How::Both => "SHUT_RDWR",
        }
    }
}

/// What a `serve` step's communication loop speaks (see `crate::course`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Answers each message upper-cased (labs 01, 02, 06).
    EchoUpper,
    /// Answers each datagram with the time (lab 07).
    Time,
    /// Runs an allow-listed command, answers its output (labs 08, 13-15, 18).
    Command,
    /// Upload and download of files with a header (lab 16).
    Files,
    /// An HMAC challenge first, then echo (lab 17).
    AuthEcho,
}

/// Options set between `socket()` and `bind()` or `connect()`.
pub type Options = BTreeMap<SockOpt, Tpl>;

/// What a step does: one variant per `op`, with the fields that op takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Action {
    /// `socket()`: a new socket named `as`.
    Socket(SocketStep),
    /// `bind()` socket `on` to `addr` (default `127.0.0.1:0`).
    Bind(BindStep),
    /// `listen()` on `on`, or socket + bind + listen for a new socket `as`.
    Listen(ListenStep),
    /// `accept()` one connection on `on` as a new socket `as`.
    Accept(AcceptStep),
    /// `connect()` to `to`, on `on` or a new socket `as`.
    Connect(ConnectStep),
    /// One `send()`: it may take fewer bytes than offered.
    Send(SendStep),
    /// `sendall()`: `send` in a loop until every byte is taken.
    SendAll(SendAllStep),
    /// One `sendto()` of a datagram.
    SendTo(SendToStep),
    /// One `recv()` (or a loop of them).
    Recv(RecvStep),
    /// One `recvfrom()` of a datagram.
    RecvFrom(RecvFromStep),
    /// `shutdown()` one direction (or both).
    Shutdown(ShutdownStep),
    /// `close()`.
    Close(OnStep),
    /// Removes the file an AF_UNIX socket bound (lab 19). Only the run's own
    /// socket files: a lab file names no path to delete.
    Unlink(OnStep),
    /// `setsockopt()`.
    SetOption(SetOptionStep),
    /// `setblocking(False)` (value true) or back.
    SetNonblocking(SetNonblockingStep),
    /// `settimeout()`: the socket's watchdog, as Python sets it.
    SetTimeout(SetTimeoutStep),
    /// `getsockopt()`.
    GetOption(GetOptionStep),
    /// Pause the actor.
    Sleep(SleepStep),
    /// Tell the other actors that `event` happened.
    Signal(EventStep),
    /// Wait until another actor signals `event`.
    Wait(WaitStep),
    /// A server's loops around one of the course's protocols.
    Serve(ServeStep),
    /// The course's remote-command client: one command, its output.
    Command(CommandStep),
    /// Many commands, timed (lab 13).
    Bench(BenchStep),
    /// Upload a file (lab 16).
    Put(PutStep),
    /// Download a file (lab 16).
    Get(GetStep),
    /// Answer an HMAC challenge (lab 17).
    Auth(AuthStep),
    /// The kernel's TCP sockets on a port, with their states.
    Netstat(NetstatStep),
    /// The MTU of `lo`.
    LoMtu(SaveStep),
}

impl Action {
    /// The names an `op` field may take, for messages.
    pub const NAMES: [&'static str; 28] = [
        "socket",
        "bind",
        "listen",
        "accept",
        "connect",
        "send",
        "send_all",
        "send_to",
        "recv",
        "recv_from",
        "shutdown",
        "close",
        "unlink",
        "set_option",
        "set_nonblocking",
        "set_timeout",
        "get_option",
        "sleep",
        "signal",
        "wait",
        "serve",
        "command",
        "bench",
        "put",
        "get",
        "auth",
        "netstat",
        "lo_mtu",
    ];

    /// The op's name as a lab file writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Socket(_) => "socket",
            Action::Bind(_) => "bind",
            Action::Listen(_) => "listen",
            Action::Accept(_) => "accept",
            Action::Connect(_) => "connect",
            Action::Send(_) => "send",
            Action::SendAll(_) => "send_all",
            Action::SendTo(_) => "send_to",
            Action::Recv(_) => "recv",
            Action::RecvFrom(_) => "recv_from",
            Action::Shutdown(_) => "shutdown",
            Action::Close(_) => "close",
            Action::Unlink(_) => "unlink",
            Action::SetOption(_) => "set_option",
            Action::SetNonblocking(_) => "set_nonblocking",
            Action::SetTimeout(_) => "set_timeout",
            Action::GetOption(_) => "get_option",
            Action::Sleep(_) => "sleep",
            Action::Signal(_) => "signal",
            Action::Wait(_) => "wait",
            Action::Serve(_) => "serve",
            Action::Command(_) => "command",
            Action::Bench(_) => "bench",
            Action::Put(_) => "put",
            Action::Get(_) => "get",
            Action::Auth(_) => "auth",
            Action::Netstat(_) => "netstat",
            Action::LoMtu(_) => "lo_mtu",
        }
    }

    /// The ops of the calls this step records (a check names them as
    /// `actor.op#n`): `connect` with `as` also records `socket`, a `serve`
    /// step records the calls of its protocol, and so on. Steps that only
    /// coordinate (`signal`, `wait`) record none.
    pub fn ops(&self) -> &'static [Op] {
        use Op::*;
        match self {
            Action::Socket(_) => &[Socket, SetOption],
            Action::Bind(_) => &[Bind],
            Action::Listen(_) => &[Socket, SetOption, Bind, Listen],
            Action::Accept(_) => &[Accept],
            Action::Connect(_) => &[Socket, SetOption, Connect],
            Action::Send(_) => &[Send],
            Action::SendAll(_) => &[SendAll],
            Action::SendTo(_) => &[SendTo],
            Action::Recv(_) => &[Recv],
            Action::RecvFrom(_) => &[RecvFrom],
            Action::Shutdown(_) => &[Shutdown],
            Action::Close(_) => &[Close],
            Action::Unlink(_) => &[Unlink],
            Action::SetOption(_) => &[SetOption],
            Action::SetNonblocking(_) => &[SetNonblocking],
            Action::SetTimeout(_) => &[SetTimeout],
            Action::GetOption(_) => &[GetOption],
            Action::Sleep(_) => &[Sleep],
            Action::Signal(_) | Action::Wait(_) => &[],
            Action::Serve(_) => &[
                Accept, Recv, RecvFrom, Send, SendAll, SendTo, Close, Served, Command, Put, Get,
                Auth,
            ],
            Action::Command(_) => &[Send, SendAll, Recv, Command],
            Action::Bench(_) => &[Send, SendAll, Recv, Bench],
            Action::Put(_) => &[Send, SendAll, Recv, Put],
            Action::Get(_) => &[Send, SendAll, Recv, Get],
            Action::Auth(_) => &[Send, SendAll, Recv, Auth],
            Action::Netstat(_) => &[Netstat],
            Action::LoMtu(_) => &[LoMtu],
        }
    }

    /// The socket the step acts on, if it names one that must exist.
    pub fn on(&self) -> Option<&str> {
        match self {
            Action::Socket(_) | Action::Sleep(_) | Action::Signal(_) | Action::Wait(_) => None,
            Action::Netstat(_) | Action::LoMtu(_) => None,
            Action::Listen(s) => s.on.as_deref(),
            Action::Connect(s) => s.on.as_deref(),
            Action::Bind(s) => Some(&s.on),
            Action::Accept(s) => Some(&s.on),
            Action::Send(s) => Some(&s.on),
            Action::SendAll(s) => Some(&s.on),
            Action::SendTo(s) => Some(&s.on),
            Action::Recv(s) => Some(&s.on),
            Action::RecvFrom(s) => Some(&s.on),
            Action::Shutdown(s) => Some(&s.on),
            Action::Close(s) | Action::Unlink(s) => Some(&s.on),
            Action::SetOption(s) => Some(&s.on),
            Action::SetNonblocking(s) => Some(&s.on),
            Action::SetTimeout(s) => Some(&s.on),
            Action::GetOption(s) => Some(&s.on),
            Action::Serve(s) => Some(&s.on),
            Action::Command(s) => Some(&s.on),
            Action::Bench(s) => Some(&s.on),
            Action::Put(s) => Some(&s.on),
            Action::Get(s) => Some(&s.on),
            Action::Auth(s) => Some(&s.on),
        }
    }

    /// The name of the socket the step creates, if any.
    pub fn creates(&self) -> Option<&str> {
        match self {
            Action::Socket(s) => Some(&s.name),
            Action::Listen(s) => s.name.as_deref(),
            Action::Connect(s) => s.name.as_deref(),
            Action::Accept(s) => Some(&s.name),
            _ => None,
        }
    }

    /// The name under which the step publishes its address.
    pub fn publishes(&self) -> Option<&str> {
        match self {
            Action::Bind(s) => s.publish.as_deref(),
            Action::Listen(s) => s.publish.as_deref(),
            _ => None,
        }
    }

    /// Where the step sends or connects: a published name or an address.
    pub fn to(&self) -> Option<&str> {
        match self {
            Action::Connect(s) => Some(&s.to),
            Action::SendTo(s) => Some(&s.to),
            _ => None,
        }
    }

    /// The name the step saves its result under.
    pub fn save(&self) -> Option<&str> {
        match self {
            Action::Send(s) => s.save.as_deref(),
            Action::SendAll(s) => s.save.as_deref(),
            Action::SendTo(s) => s.save.as_deref(),
            Action::Recv(s) => s.save.as_deref(),
            Action::RecvFrom(s) => s.save.as_deref(),
            Action::GetOption(s) => s.save.as_deref(),
            Action::Command(s) => s.save.as_deref(),
            Action::Bench(s) => s.save.as_deref(),
            Action::Put(s) => s.save.as_deref(),
            Action::Get(s) => s.save.as_deref(),
            Action::Auth(s) => s.save.as_deref(),
            Action::Netstat(s) => s.save.as_deref(),
            Action::LoMtu(s) => s.save.as_deref(),
            _ => None,
        }
    }

    /// The step's own watchdog, if it sets one.
    pub fn timeout_ms(&self) -> Option<&Tpl> {
        match self {
            Action::Accept(s) => s.timeout_ms.as_ref(),
            Action::Connect(s) => s.timeout_ms.as_ref(),
            Action::Send(s) => s.timeout_ms.as_ref(),
            Action::SendAll(s) => s.timeout_ms.as_ref(),
            Action::Recv(s) => s.timeout_ms.as_ref(),
            Action::RecvFrom(s) => s.timeout_ms.as_ref(),
            Action::Wait(s) => s.timeout_ms.as_ref(),
            Action::Bench(s) => s.timeout_ms.as_ref(),
            _ => None,
        }
    }

    /// Every number of the step that may be a template, with its field
    /// name and the largest value the runner accepts (`None`: any).
    pub fn numbers<'a>(&'a self) -> Vec<(&'static str, &'a Tpl, Option<i64>)> {
        const SIZE: Option<i64> = Some(64 << 20);
        let mut v: Vec<(&'static str, &'a Tpl, Option<i64>)> = Vec::new();
        let mut push = |name: &'static str, t: Option<&'a Tpl>, max: Option<i64>| {
            if let Some(t) = t {
                v.push((name, t, max));
            }
        };
        push("timeout_ms", self.timeout_ms(), Some(600_000));
        match self {
            Action::Socket(s) => s
                .options
                .values()
                .for_each(|t| push("options", Some(t), None)),
            Action::Listen(s) => {
                push("backlog", s.backlog.as_ref(), None);
                s.options
                    .values()
                    .for_each(|t| push("options", Some(t), None));
            }
            Action::Connect(s) => s
                .options
                .values()
                .for_each(|t| push("options", Some(t), None)),
            Action::Send(s) => push("size", s.size.as_ref(), SIZE),
            Action::SendAll(s) => push("size", s.size.as_ref(), SIZE),
            Action::SendTo(s) => push("size", s.size.as_ref(), SIZE),
            Action::Recv(s) => {
                push("size", Some(&s.size), SIZE);
                push("repeat_for_ms", s.repeat_for_ms.as_ref(), Some(60_000));
            }
            Action::RecvFrom(s) => push("size", Some(&s.size), SIZE),
            Action::SetOption(s) => push("value", Some(&s.value), None),
            Action::SetNonblocking(s) => push("value", Some(&s.value), None),
            Action::SetTimeout(s) => push("ms", s.ms.as_ref(), Some(86_400_000)),
            Action::Sleep(s) => push("ms", Some(&s.ms), Some(60_000)),
            Action::Serve(s) => {
                push("clients", s.clients.as_ref(), None);
                push("threads", s.threads.as_ref(), None);
                push("size", s.size.as_ref(), SIZE);
                push("quiet_after", s.quiet_after.as_ref(), None);
            }
            Action::Command(s) => push("size", s.size.as_ref(), SIZE),
            Action::Bench(s) => {
                push("requests", Some(&s.requests), None);
                push("size", s.size.as_ref(), SIZE);
            }
            Action::Put(s) => {
                push("size", s.size.as_ref(), SIZE);
                push("stop_after", s.stop_after.as_ref(), SIZE);
            }
            Action::Get(s) => push("size", s.size.as_ref(), SIZE),
            Action::Netstat(s) => {
                push("port", Some(&s.port), None);
                push("peer_port", s.peer_port.as_ref(), None);
            }
            _ => {}
        }
        v
    }

    /// Every text field of the step that may hold `${...}`.
    pub fn texts<'a>(&'a self) -> Vec<(&'static str, &'a str)> {
        let mut v = Vec::new();
        let mut push = |name: &'static str, t: Option<&'a String>| {
            if let Some(t) = t {
                v.push((name, t.as_str()));
            }
        };
        match self {
            Action::Bind(s) => push("addr", s.addr.as_ref()),
            Action::Listen(s) => push("addr", s.addr.as_ref()),
            Action::Send(s) => push("data", s.data.as_ref()),
            Action::SendAll(s) => push("data", s.data.as_ref()),
            Action::SendTo(s) => push("data", s.data.as_ref()),
            Action::Serve(s) => {
                push("framing", s.framing.as_ref());
                push("order", s.order.as_ref());
                push("key", s.key.as_ref());
                push("digest", s.digest.as_ref());
                push("dir", s.dir.as_ref());
            }
            Action::Command(s) => {
                push("data", Some(&s.data));
                push("framing", Some(&s.framing));
                push("order", s.order.as_ref());
            }
            Action::Bench(s) => {
                push("data", Some(&s.data));
                push("framing", Some(&s.framing));
                push("order", s.order.as_ref());
            }
            Action::Put(s) => {
                push("file", Some(&s.file));
                push("data", s.data.as_ref());
                push("order", s.order.as_ref());
            }
            Action::Get(s) => {
                push("file", Some(&s.file));
                push("order", s.order.as_ref());
            }
            Action::Auth(s) => {
                push("key", Some(&s.key));
                push("digest", s.digest.as_ref());
            }
            _ => {}
        }
        v
    }

    /// The bytes a sending step offers, as written: `data`, or a `size`
    /// of generated bytes. `None` for other steps.
    pub fn payload(&self) -> Option<(Option<&String>, Option<&Tpl>)> {
        match self {
            Action::Send(s) => Some((s.data.as_ref(), s.size.as_ref())),
            Action::SendAll(s) => Some((s.data.as_ref(), s.size.as_ref())),
            Action::SendTo(s) => Some((s.data.as_ref(), s.size.as_ref())),
            Action::Put(s) => Some((s.data.as_ref(), s.size.as_ref())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(text: &str) -> Result<Step, String> {
        #[derive(Deserialize)]
        struct One {
            step: Step,
        }
        toml::from_str::<One>(&format!("step = {text}"))
            .map(|o| o.step)
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn a_step_reads_into_its_own_type() {
        let s = step(r#"{ op = "recv", on = "conn", size = "${recv1}", when = "x > 1" }"#).unwrap();
        assert_eq!(s.when.as_deref(), Some("x > 1"));
        let Action::Recv(r) = &s.action else {
            panic!("not a recv: {s:?}")
        };
        assert_eq!(r.on, "conn");
        assert_eq!(r.size, Tpl::Str("${recv1}".into()));
        assert!(!r.until_eof);
    }

    #[test]
    fn typed_fields_refuse_what_they_cannot_hold() {
        // Each of these was once a string that a typo turned into a default.
        let e = step(r#"{ op = "socket", as = "s", proto = "sctp" }"#).unwrap_err();
        assert!(e.contains("unknown variant `sctp`"), "{e}");
        let e = step(r#"{ op = "shutdown", on = "s", how = "half" }"#).unwrap_err();
        assert!(e.contains("unknown variant `half`"), "{e}");
        let e = step(r#"{ op = "set_option", on = "s", option = "SO_NODELAY", value = 1 }"#)
            .unwrap_err();
        assert!(e.contains("SO_NODELAY"), "{e}");
    }

    #[test]
    fn missing_unknown_and_foreign_fields_are_errors() {
        let e = step(r#"{ op = "recv", on = "conn" }"#).unwrap_err();
        assert!(e.contains("`recv` needs `size`"), "{e}");
        let e = step(r#"{ op = "unlink", on = "s", addr = "/tmp/x" }"#).unwrap_err();
        assert!(
            e.contains("`unlink` does not take `addr`; it takes `on`"),
            "{e}"
        );
        let e = step(r#"{ op = "recieve", on = "s" }"#).unwrap_err();
        assert!(
            e.contains("unknown op `recieve`; ops are: socket, bind"),
            "{e}"
        );
        let e = step(r#"{ on = "s" }"#).unwrap_err();
        assert!(e.contains("a step needs `op`"), "{e}");
    }

    #[test]
    fn a_step_writes_back_as_the_same_step() {
        // What `lab repl`'s `save` relies on: a step serialised to TOML
        // reads back as the same value.
        for text in [
            r#"{ op = "listen", as = "srv", backlog = 5, publish = "server", options = { SO_RCVBUF = 4096 } }"#,
            r#"{ op = "send", on = "sock", data = "hello", when = "a == 1", repeat = 3 }"#,
            r#"{ op = "shutdown", on = "sock", how = "write" }"#,
            r#"{ op = "serve", on = "srv", protocol = "echo_upper", clients = 2 }"#,
            r#"{ op = "recv", on = "conn", size = 1024, ask = "first-recv" }"#,
        ] {
            let s = step(text).unwrap();
            #[derive(Serialize)]
            struct One<'a> {
                step: &'a Step,
            }
            let written = toml::to_string(&One { step: &s }).unwrap();
            #[derive(Deserialize)]
            struct Back {
                step: Step,
            }
            let back: Back = toml::from_str(&written).unwrap();
            assert_eq!(back.step, s, "{written}");
        }
    }

    #[test]
    fn a_step_shows_as_one_line_of_a_lab_file() {
        let s = step(r#"{ op = "recv", size = 1024, on = "conn", when = "a > 1" }"#).unwrap();
        assert_eq!(
            s.to_string(),
            r#"{ op = "recv", on = "conn", size = 1024, when = "a > 1" }"#
        );
        assert_eq!(step(&s.to_string()).unwrap(), s);
        // The question comes last, after what the step does.
        let s = step(r#"{ ask = "first", op = "recv", size = 9, on = "conn" }"#).unwrap();
        assert_eq!(s.ask.as_deref(), Some("first"));
        assert_eq!(
            s.to_string(),
            r#"{ op = "recv", on = "conn", size = 9, ask = "first" }"#
        );
        let e = step(r#"{ op = "close", on = "s", ask = 3 }"#).unwrap_err();
        assert!(e.contains("`ask` names a [[question]]"), "{e}");
    }

    #[test]
    fn every_op_name_is_listed_once() {
        let mut names = Action::NAMES.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::NAMES.len());
    }
}
