//! From a line of Python to a lab step: what `server.listen(5)` means.
//!
//! [`super::line`] parsed the line into a call; here the call becomes the
//! same typed [`Step`] a lab file holds, run on the thread of the socket
//! it names. So a session typed by hand records exactly what a lab records,
//! and `save` can write it back as a lab file.
//!
//! The REPL keeps a small table of names ([`Vars`]): which names are
//! sockets (and of which kind), and which hold an address (`addr` after
//! `conn, addr = server.accept()`) or bytes (`data = conn.recv(1024)`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::line::{CallExpr, Expr, Statement};
use crate::catalog::step::{
    AcceptStep, Action, BindStep, ConnectStep, GetOptionStep, How, ListenStep, OnStep,
    RecvFromStep, RecvStep, SendAllStep, SendStep, SendToStep, SetNonblockingStep, SetOptionStep,
    SetTimeoutStep, ShutdownStep, SockOpt, SocketStep,
};
use crate::catalog::{Step, Tpl};
use crate::trace::Proto;

/// A value a name holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A socket of this kind, on the thread of the same name.
    Socket(Proto),
    /// An address: `('127.0.0.1', 8080)`, or an AF_UNIX path.
    Addr(Address),
    /// Bytes a call returned.
    Bytes(Vec<u8>),
    /// A number a call returned (`connect_ex`).
    Int(i64),
}

/// An address as Python shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Inet(SocketAddr),
    Path(String),
}

impl Address {
    /// As a lab file's `addr` or `to` writes it: `127.0.0.1:8080`, or the
    /// path.
    pub fn lab_text(self) -> String {
        match self {
            Address::Inet(a) => a.to_string(),
            Address::Path(p) => p,
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Inet(a) => write!(f, "('{}', {})", a.ip(), a.port()),
            Address::Path(p) => write!(f, "'{p}'"),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Socket(p) => write!(f, "<socket {}>", p.name()),
            Value::Addr(a) => write!(f, "{a}"),
            Value::Bytes(b) => write!(f, "b'{}'", crate::escape::escape(b).replace('\'', "\\'")),
            Value::Int(n) => write!(f, "{n}"),
        }
    }
}

/// The names of a session, and the addresses its sockets have.
#[derive(Debug, Default)]
pub struct Vars {
    pub names: BTreeMap<String, Value>,
    /// Each socket's own address, as its last call reported it.
    pub local: BTreeMap<String, Address>,
    /// Each socket's peer, as its last call reported it.
    pub peer: BTreeMap<String, Address>,
}

/// What to do once a step has run: where its result goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    Nothing,
    /// `conn, addr = server.accept()`: the new socket, and where its peer
    /// address goes.
    Accept {
        conn: String,
        addr: Option<String>,
    },
    /// `err = s.connect_ex(...)`: the errno number is the result.
    ConnectEx {
        into: Option<String>,
    },
    /// `data = conn.recv(1024)`: the bytes go into a name.
    Bytes {
        into: String,
    },
    /// `data, addr = s.recvfrom(1024)`.
    Datagram {
        data: Option<String>,
        addr: Option<String>,
    },
    /// `n = s.send(...)`, `v = s.getsockopt(...)`: the number goes into a name.
    Number {
        into: String,
    },
}

/// What a line asks for.
#[derive(Debug, Clone, PartialEq)]
// Made once per line typed: boxing the step would gain nothing.
#[allow(clippy::large_enum_variant)]
pub enum Plan {
    /// Run `step` on the thread of `socket`, then [`After`].
    Run {
        socket: String,
        step: Step,
        after: After,
    },
    /// Answer at once: no system call the trace needs to show
    /// (`getsockname()` as the REPL knows it).
    Show(String),
    /// Bind a name to a value (`addr = ('127.0.0.1', 8080)` is not Python
    /// the REPL takes; but `a = s.getsockname()` is).
    Assign { name: String, value: Value },
}

/// The methods a socket has here, for messages and completion.
pub const METHODS: [&str; 21] = [
    "bind",
    "listen",
    "accept",
    "connect",
    "connect_ex",
    "send",
    "sendall",
    "recv",
    "sendto",
    "recvfrom",
    "setsockopt",
    "getsockopt",
    "setblocking",
    "settimeout",
    "shutdown",
    "close",
    "getsockname",
    "getpeername",
    "fileno",
    "gettimeout",
    "getblocking",
];

/// Turns one statement into a plan, or says in one line what is wrong.
pub fn translate(s: &Statement, vars: &Vars) -> Result<Plan, String> {
    let call = &s.call;
    let Some(receiver) = &call.receiver else {
        return function(s, vars);
    };
    let Some(Value::Socket(proto)) = vars.names.get(receiver) else {
        return Err(not_a_socket(receiver, vars));
    };
    let proto = *proto;
    let on = receiver.clone();
    let args = &call.args;
    let step = |action: Action, after: After| {
        Ok(Plan::Run {
            socket: on.clone(),
            step: Step::new(action),
            after,
        })
    };
    let one_target = || -> Result<Option<String>, String> {
        match s.targets.as_slice() {
            [] => Ok(None),
            [name] => Ok(Some(name.clone())),
            _ => Err(format!("`{}` returns one value", call.method)),
        }
    };
    match call.method.as_str() {
        "bind" => {
            arity(call, 1)?;
            let addr = address(&args[0], vars, proto)?;
            let addr = addr.lab_text();
            step(
                Action::Bind(BindStep {
                    on: on.clone(),
                    addr: Some(addr),
                    publish: None,
                }),
                After::Nothing,
            )
        }
        "listen" => {
            if call.args.len() > 1 {
                return Err("listen takes one number, the backlog: listen(5)".into());
            }
            let backlog = match args.first() {
                Some(e) => Some(Tpl::Int(int(e, "the backlog")?)),
                None => None,
            };
            step(
                Action::Listen(ListenStep {
                    on: Some(on.clone()),
                    name: None,
                    backlog,
                    addr: None,
                    publish: None,
                    options: Default::default(),
                    proto: None,
                }),
                After::Nothing,
            )
        }
        "accept" => {
            arity(call, 0)?;
            let (conn, addr) = match s.targets.as_slice() {
                [conn, addr] => (conn.clone(), Some(addr.clone())),
                [conn] => (conn.clone(), None),
                [] => (fresh("conn", vars), None),
                _ => return Err("accept returns two values: conn, addr = s.accept()".into()),
            };
            if conn == on {
                return Err(format!(
                    "`{conn}` is the listening socket: name the new connection otherwise (conn, addr = {on}.accept())"
                ));
            }
            step(
                Action::Accept(AcceptStep {
                    on: on.clone(),
                    name: conn.clone(),
                    timeout_ms: None,
                }),
                After::Accept { conn, addr },
            )
        }
        "connect" | "connect_ex" => {
            arity(call, 1)?;
            let to = address(&args[0], vars, proto)?.lab_text();
            let after = if call.method == "connect_ex" {
                After::ConnectEx {
                    into: one_target()?,
                }
            } else {
                After::Nothing
            };
            step(
                Action::Connect(ConnectStep {
                    to,
                    on: Some(on.clone()),
                    name: None,
                    options: Default::default(),
                    timeout_ms: None,
                    proto: None,
                }),
                after,
            )
        }
        "send" | "sendall" => {
            arity(call, 1)?;
            let data = Some(lab_text(&bytes(&args[0], vars)?));
            let save = None;
            let action = if call.method == "send" {
                Action::Send(SendStep {
                    on: on.clone(),
                    data,
                    size: None,
                    save,
                    timeout_ms: None,
                    until_error: false,
                })
            } else {
                Action::SendAll(SendAllStep {
                    on: on.clone(),
                    data,
                    size: None,
                    save,
                    timeout_ms: None,
                })
            };
            let after = match one_target()? {
                Some(into) => After::Number { into },
                None => After::Nothing,
            };
            step(action, after)
        }
        "recv" => {
            arity(call, 1)?;
            let size = int(&args[0], "the buffer size")?;
            if size == 0 {
                // CPython answers recv(0) itself, without calling recv (the
                // kernel would wait for a byte): so does the REPL.
                return Ok(match one_target()? {
                    Some(name) => Plan::Assign {
                        name,
                        value: Value::Bytes(Vec::new()),
                    },
                    None => Plan::Show(
                        "b''  (Python returns this for recv(0) without asking the kernel)".into(),
                    ),
                });
            }
            if !(0..=64 << 20).contains(&size) {
                return Err("recv takes a buffer size from 0 to 64 MiB".into());
            }
            let after = match one_target()? {
                Some(into) => After::Bytes { into },
                None => After::Nothing,
            };
            step(
                Action::Recv(RecvStep {
                    on: on.clone(),
                    size: Tpl::Int(size),
                    timeout_ms: None,
                    save: None,
                    repeat_for_ms: None,
                    until_eof: false,
                }),
                after,
            )
        }
        "sendto" => {
            arity(call, 2)?;
            let data = Some(lab_text(&bytes(&args[0], vars)?));
            let to = address(&args[1], vars, proto)?.lab_text();
            step(
                Action::SendTo(SendToStep {
                    on: on.clone(),
                    to,
                    data,
                    size: None,
                    save: None,
                }),
                After::Nothing,
            )
        }
        "recvfrom" => {
            arity(call, 1)?;
            let size = int(&args[0], "the buffer size")?;
            if !(0..=64 << 20).contains(&size) {
                return Err("recvfrom takes a buffer size from 0 to 64 MiB".into());
            }
            let (data, addr) = match s.targets.as_slice() {
                [] => (None, None),
                [d, a] => (Some(d.clone()), Some(a.clone())),
                _ => {
                    return Err("recvfrom returns two values: data, addr = s.recvfrom(1024)".into());
                }
            };
            step(
                Action::RecvFrom(RecvFromStep {
                    on: on.clone(),
                    size: Tpl::Int(size),
                    timeout_ms: None,
                    save: None,
                }),
                After::Datagram { data, addr },
            )
        }
        "setsockopt" => {
            arity(call, 3)?;
            let option = option(&args[0], &args[1])?;
            let value = match (&args[2], option) {
                // struct.pack('ii', l_onoff, l_linger): lingering on (with
                // its seconds) or off.
                (Expr::Pack { values, .. }, SockOpt::SoLinger) => match values.as_slice() {
                    [0, _] => -1,
                    [_, secs] => *secs,
                    _ => return Err("SO_LINGER takes struct.pack('ii', onoff, seconds)".into()),
                },
                (Expr::Bool(b), _) => i64::from(*b),
                (e, _) => int(e, "the option's value")?,
            };
            step(
                Action::SetOption(SetOptionStep {
                    on: on.clone(),
                    option,
                    value: Tpl::Int(value),
                }),
                After::Nothing,
            )
        }
        "getsockopt" => {
            arity(call, 2)?;
            let option = option(&args[0], &args[1])?;
            let after = match one_target()? {
                Some(into) => After::Number { into },
                None => After::Nothing,
            };
            step(
                Action::GetOption(GetOptionStep {
                    on: on.clone(),
                    option,
                    save: None,
                }),
                after,
            )
        }
        "setblocking" => {
            arity(call, 1)?;
            let blocking = match &args[0] {
                Expr::Bool(b) => *b,
                Expr::Int(n) => *n != 0,
                _ => return Err("setblocking takes True or False".into()),
            };
            step(
                Action::SetNonblocking(SetNonblockingStep {
                    on: on.clone(),
                    value: Tpl::Bool(!blocking),
                }),
                After::Nothing,
            )
        }
        "settimeout" => {
            arity(call, 1)?;
            // Seconds to ms: a timeout that is not zero stays one (at
            // least 1 ms); a day is the longest.
            const DAY_MS: f64 = 86_400_000.0;
            let seconds = match &args[0] {
                Expr::None => None,
                Expr::Int(n) if *n >= 0 => Some(*n as f64),
                Expr::Float(x) if *x >= 0.0 && x.is_finite() => Some(*x),
                _ => return Err("settimeout takes seconds (2.5), 0, or None".into()),
            };
            let ms = match seconds {
                None => None,
                Some(s) if s * 1000.0 > DAY_MS => {
                    return Err("settimeout: a day (86400 s) is the longest here; None waits as long as it takes".into());
                }
                Some(0.0) => Some(0),
                Some(s) => Some(((s * 1000.0).round() as i64).max(1)),
            };
            step(
                Action::SetTimeout(SetTimeoutStep {
                    on: on.clone(),
                    ms: ms.map(Tpl::Int),
                }),
                After::Nothing,
            )
        }
        "shutdown" => {
            arity(call, 1)?;
            let how = match &args[0] {
                Expr::Name(n) if n == "SHUT_RD" => How::Read,
                Expr::Name(n) if n == "SHUT_WR" => How::Write,
                Expr::Name(n) if n == "SHUT_RDWR" => How::Both,
                Expr::Int(0) => How::Read,
                Expr::Int(1) => How::Write,
                Expr::Int(2) => How::Both,
                _ => return Err("shutdown takes SHUT_RD, SHUT_WR or SHUT_RDWR".into()),
            };
            step(
                Action::Shutdown(ShutdownStep {
                    on: on.clone(),
                    how,
                }),
                After::Nothing,
            )
        }
        "close" => {
            arity(call, 0)?;
            step(Action::Close(OnStep { on: on.clone() }), After::Nothing)
        }
        "getsockname" | "getpeername" => {
            arity(call, 0)?;
            let known = if call.method == "getsockname" {
                vars.local.get(&on)
            } else {
                vars.peer.get(&on)
            };
            let value = match known {
                Some(a) => Value::Addr(a.clone()),
                None if call.method == "getsockname" => {
                    Value::Addr(Address::Inet(SocketAddr::from(([0, 0, 0, 0], 0))))
                }
                None => return Err("ENOTCONN: the socket is not connected".into()),
            };
            match one_target()? {
                Some(name) => Ok(Plan::Assign { name, value }),
                None => Ok(Plan::Show(value.to_string())),
            }
        }
        other => Err(unknown_method(other)),
    }
}

/// `socket(...)`, the one function the REPL takes.
fn function(s: &Statement, vars: &Vars) -> Result<Plan, String> {
    let call = &s.call;
    if call.method != "socket" {
        return Err(format!(
            "unknown function `{}`: make a socket with socket(AF_INET, SOCK_STREAM), then call its methods",
            call.method
        ));
    }
    let [name] = s.targets.as_slice() else {
        return Err("name the new socket: s = socket(AF_INET, SOCK_STREAM)".into());
    };
    let constant = |i: usize, default: &str| -> Result<String, String> {
        match call.args.get(i) {
            None => Ok(default.to_string()),
            Some(Expr::Name(n)) => Ok(n.clone()),
            Some(_) => Err("socket takes constants: socket(AF_INET, SOCK_STREAM)".into()),
        }
    };
    let family = constant(0, "AF_INET")?;
    let kind = constant(1, "SOCK_STREAM")?;
    let proto = match (family.as_str(), kind.as_str()) {
        ("AF_INET", "SOCK_STREAM") => Proto::Tcp,
        ("AF_INET", "SOCK_DGRAM") => Proto::Udp,
        ("AF_UNIX", "SOCK_STREAM") => Proto::Unix,
        ("AF_UNIX", "SOCK_DGRAM") => {
            return Err(
                "AF_UNIX datagram sockets are not here yet: AF_UNIX, SOCK_STREAM is".into(),
            );
        }
        ("AF_INET6", _) => return Err("AF_INET6 is not here yet: use AF_INET".into()),
        (f, k) => {
            return Err(format!(
                "socket({f}, {k}): use AF_INET or AF_UNIX, and SOCK_STREAM or SOCK_DGRAM"
            ));
        }
    };
    if call.args.len() > 2 {
        return Err("socket takes two constants: socket(AF_INET, SOCK_STREAM)".into());
    }
    let _ = vars;
    Ok(Plan::Run {
        socket: name.clone(),
        step: Step::new(Action::Socket(SocketStep {
            name: name.clone(),
            proto: Some(proto),
            options: Default::default(),
        })),
        after: After::Nothing,
    })
}

/// A socket option from its level and name, checked together.
fn option(level: &Expr, name: &Expr) -> Result<SockOpt, String> {
    let Expr::Name(name) = name else {
        return Err("name the option: SO_REUSEADDR, TCP_NODELAY, ...".into());
    };
    let option = SockOpt::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = SockOpt::ALL.iter().map(|o| o.name()).collect();
        format!("unknown option `{name}`; known: {}", known.join(", "))
    })?;
    let want = if name.starts_with("TCP_") {
        "IPPROTO_TCP"
    } else {
        "SOL_SOCKET"
    };
    match level {
        Expr::Name(l) if l == want => Ok(option),
        Expr::Name(l) => Err(format!("{name} is set at level {want}, not {l}")),
        _ => Err(format!("the level of {name} is {want}")),
    }
}

/// An address argument: a tuple `(host, port)`, another socket's
/// `getsockname()`, a name holding an address, or a path for AF_UNIX.
fn address(e: &Expr, vars: &Vars, proto: Proto) -> Result<Address, String> {
    match e {
        Expr::Tuple(parts) if proto != Proto::Unix => match parts.as_slice() {
            [Expr::Str(host), Expr::Int(port)] => {
                let port =
                    u16::try_from(*port).map_err(|_| format!("port {port}: use 0 to 65535"))?;
                let ip = match host.as_str() {
                    "" | "0.0.0.0" => std::net::Ipv4Addr::UNSPECIFIED,
                    "localhost" => std::net::Ipv4Addr::LOCALHOST,
                    h => h.parse().map_err(|_| {
                        format!("`{h}` is not an IPv4 address (this REPL is on loopback)")
                    })?,
                };
                Ok(Address::Inet(SocketAddr::from((ip, port))))
            }
            _ => Err("an address is a tuple: ('127.0.0.1', 8080)".into()),
        },
        Expr::Str(path) if proto == Proto::Unix => Ok(Address::Path(path.clone())),
        Expr::Call(inner) => {
            let (Some(r), "getsockname", true) = (
                &inner.receiver,
                inner.method.as_str(),
                inner.args.is_empty(),
            ) else {
                return Err(
                    "an address is a tuple, a name, or another socket's getsockname()".into(),
                );
            };
            match vars.local.get(r) {
                Some(a) => Ok(a.clone()),
                None if matches!(vars.names.get(r), Some(Value::Socket(_))) => {
                    Err(format!("`{r}` has no address yet: bind it first"))
                }
                None => Err(not_a_socket(r, vars)),
            }
        }
        Expr::Name(n) => match vars.names.get(n) {
            Some(Value::Addr(a)) => Ok(a.clone()),
            Some(other) => Err(format!("`{n}` holds {other}, not an address")),
            None => Err(unknown_name(n, vars)),
        },
        _ if proto == Proto::Unix => Err("an AF_UNIX address is a path: '/tmp/lab.sock'".into()),
        _ => Err("an address is a tuple: ('127.0.0.1', 8080)".into()),
    }
}

/// Bytes to send: a bytes literal, `'...'.encode()`, or a name that holds
/// bytes. A str is refused as Python 3 refuses it.
fn bytes(e: &Expr, vars: &Vars) -> Result<Vec<u8>, String> {
    match e {
        Expr::Bytes(b) => Ok(b.clone()),
        Expr::Str(_) => Err(
            "send takes bytes, not str: b'hello' or 'hello'.encode() (Python 3 raises TypeError)"
                .into(),
        ),
        Expr::Name(n) => match vars.names.get(n) {
            Some(Value::Bytes(b)) => Ok(b.clone()),
            Some(other) => Err(format!("`{n}` holds {other}, not bytes")),
            None => Err(unknown_name(n, vars)),
        },
        _ => Err("send takes bytes: b'hello'".into()),
    }
}

fn int(e: &Expr, what: &str) -> Result<i64, String> {
    match e {
        Expr::Int(n) => Ok(*n),
        _ => Err(format!("{what} is a whole number")),
    }
}

fn arity(call: &CallExpr, n: usize) -> Result<(), String> {
    if call.args.len() == n {
        return Ok(());
    }
    let takes = match n {
        0 => "no arguments".to_string(),
        1 => "one argument".to_string(),
        n => format!("{n} arguments"),
    };
    Err(format!(
        "{}() takes {takes}, got {}",
        call.method,
        call.args.len()
    ))
}

/// Bytes as a lab file's `data` text: escapes, and `$` written `\x24` so
/// that no `${...}` template is read into them.
pub fn lab_text(bytes: &[u8]) -> String {
    crate::escape::escape(bytes).replace('$', "\\x24")
}

/// A name not taken yet: `conn`, else `conn2`, ...
fn fresh(base: &str, vars: &Vars) -> String {
    (1..)
        .map(|i| {
            if i == 1 {
                base.to_string()
            } else {
                format!("{base}{i}")
            }
        })
        .find(|n| !vars.names.contains_key(n))
        .unwrap_or_else(|| base.to_string())
}

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (crate::catalog::distance(name, c), c))
        .filter(|(d, _)| *d <= 2.max(name.chars().count() / 2))
        .min()
        .map(|(_, c)| c)
}

fn not_a_socket(name: &str, vars: &Vars) -> String {
    match vars.names.get(name) {
        Some(other) => format!("`{name}` holds {other}, not a socket"),
        None => unknown_name(name, vars),
    }
}

fn unknown_name(name: &str, vars: &Vars) -> String {
    match closest(name, vars.names.keys().map(String::as_str)) {
        Some(c) => format!("no name `{name}`; did you mean `{c}`?"),
        None if vars.names.is_empty() => {
            format!("no name `{name}` yet: make a socket first, s = socket(AF_INET, SOCK_STREAM)")
        }
        None => {
            let known: Vec<&str> = vars.names.keys().map(String::as_str).collect();
            format!("no name `{name}`; the names are: {}", known.join(", "))
        }
    }
}

fn unknown_method(method: &str) -> String {
    match closest(method, METHODS.iter().copied()) {
        Some(c) => format!("a socket has no method `{method}`; did you mean `{c}`?"),
        None => format!("a socket has no method `{method}`; `help` lists them"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::line::{Line, parse};
    use super::*;

    fn plan(line: &str, vars: &Vars) -> Result<Plan, String> {
        match parse(line).unwrap() {
            Line::Statement(s) => translate(&s, vars),
            other => panic!("not a statement: {other:?}"),
        }
    }

    fn session() -> Vars {
        let mut v = Vars::default();
        v.names.insert("server".into(), Value::Socket(Proto::Tcp));
        v.names.insert("client".into(), Value::Socket(Proto::Tcp));
        v.names.insert("u".into(), Value::Socket(Proto::Udp));
        let at: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        v.local.insert("server".into(), Address::Inet(at));
        v
    }

    fn action(p: Plan) -> (String, Action, After) {
        match p {
            Plan::Run {
                socket,
                step,
                after,
            } => (socket, step.action, after),
            other => panic!("not a step: {other:?}"),
        }
    }

    #[test]
    fn the_course_calls_become_lab_steps() {
        let v = session();
        let (on, a, _) = action(plan("s = socket(AF_INET, SOCK_DGRAM)", &v).unwrap());
        assert_eq!(on, "s");
        assert!(matches!(
            a,
            Action::Socket(SocketStep {
                proto: Some(Proto::Udp),
                ..
            })
        ));
        let (_, a, _) = action(plan("server.bind(('127.0.0.1', 0))", &v).unwrap());
        assert_eq!(
            Step::new(a).to_string(),
            r#"{ op = "bind", addr = "127.0.0.1:0", on = "server" }"#
        );
        let (_, a, after) = action(plan("conn, addr = server.accept()", &v).unwrap());
        assert!(matches!(a, Action::Accept(AcceptStep { ref name, .. }) if name == "conn"));
        assert_eq!(
            after,
            After::Accept {
                conn: "conn".into(),
                addr: Some("addr".into())
            }
        );
        let (_, a, _) = action(plan("client.connect(server.getsockname())", &v).unwrap());
        assert!(
            matches!(a, Action::Connect(ConnectStep { ref to, .. }) if to == "127.0.0.1:40001")
        );
        let (_, a, _) = action(plan("client.send(b'a${x}')", &v).unwrap());
        // A `$` in the bytes never becomes a template.
        assert!(matches!(a, Action::Send(SendStep { data: Some(ref d), .. }) if d == "a\\x24{x}"));
        let (_, a, _) = action(
            plan(
                "client.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0))",
                &v,
            )
            .unwrap(),
        );
        assert!(matches!(
            a,
            Action::SetOption(SetOptionStep {
                value: Tpl::Int(0),
                ..
            })
        ));
        let (_, a, _) = action(plan("client.settimeout(2.5)", &v).unwrap());
        assert!(matches!(
            a,
            Action::SetTimeout(SetTimeoutStep {
                ms: Some(Tpl::Int(2500)),
                ..
            })
        ));
        let (_, a, _) = action(plan("client.shutdown(SHUT_WR)", &v).unwrap());
        assert!(matches!(
            a,
            Action::Shutdown(ShutdownStep {
                how: How::Write,
                ..
            })
        ));
        let (_, _, after) = action(plan("err = client.connect_ex(('127.0.0.1', 9))", &v).unwrap());
        assert_eq!(
            after,
            After::ConnectEx {
                into: Some("err".into())
            }
        );
    }

    #[test]
    fn getsockname_answers_from_what_the_calls_reported() {
        let v = session();
        assert_eq!(
            plan("server.getsockname()", &v).unwrap(),
            Plan::Show("('127.0.0.1', 40001)".into())
        );
    }

    #[test]
    fn mistakes_get_one_line_with_the_closest_name() {
        let v = session();
        let e = plan("servr.listen(5)", &v).unwrap_err();
        assert!(e.contains("did you mean `server`"), "{e}");
        let e = plan("server.recieve(1024)", &v).unwrap_err();
        assert!(e.contains("did you mean `recv`"), "{e}");
        let e = plan("client.send('text')", &v).unwrap_err();
        assert!(e.contains("bytes, not str"), "{e}");
        let e = plan("client.setsockopt(SOL_SOCKET, TCP_NODELAY, 1)", &v).unwrap_err();
        assert!(e.contains("IPPROTO_TCP"), "{e}");
        let e = plan("client.connect(u.getsockname())", &v).unwrap_err();
        assert!(e.contains("bind it first"), "{e}");
        let e = plan("server.recv()", &v).unwrap_err();
        assert!(e.contains("takes one argument"), "{e}");
    }
}
