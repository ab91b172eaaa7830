//! The lab file format (`labs/NN-slug.toml`), as serde reads it.
//!
//! A lab file is content, written by a teacher without touching Rust:
//!
//! ```toml
//! id = "09-sticky-packet"
//! title = "..."
//! chapter = "9-10"          # chapters of the course the lab goes with
//! summary = "one line"
//! explain = """what the learner just saw, and why"""
//! watch = ["what to look at in the output", ...]
//!
//! [[knob]]                  # zero or more; see `crate::knob::Knob`
//! name = "delay_ms"
//! type = "int"              # int | bool | choice
//! default = 100
//! min = 0
//! max = 2000
//! help = "..."
//!
//! [[actor]]                 # each actor is a thread with its own sockets
//! name = "server"
//! steps = [
//!   { op = "listen", as = "srv", publish = "server" },
//!   { op = "accept", on = "srv", as = "conn" },
//!   { op = "recv", on = "conn", size = "${recv1}" },
//! ]
//!
//! [[expect]]                # what always holds; see `crate::check`
//! name = "..."
//! call = "server.recv#1"
//! data = "hellofeng"
//! ```
//!
//! Ops (the fields each takes are listed in `validate.rs`): the socket
//! calls (`socket`, `bind`, `listen`, `accept`, `connect`, `send`,
//! `send_all`, `recv`, `send_to`, `recv_from`, `shutdown`, `close`,
//! `set_option`, `set_nonblocking`), coordination (`sleep`, `signal`,
//! `wait`), the course's protocols from `crate::course` (`serve` for a
//! server's loops, `command`, `bench`, `put`, `get`, `auth` for clients) and
//! probes of kernel state (`netstat`, `get_option`, `lo_mtu`). A socket
//! named `srv` publishes its local port as `${srv_port}`; `send_to` with
//! `to = "@from"` answers the sender of the last datagram.
//!
//! Values that depend on knobs are templates: `"${expr}"` (see
//! [`crate::expr`]). Steps and expectations take `when = "expr"` to apply
//! only for some knob settings.

use serde::Deserialize;
use toml::Spanned;

use crate::expr::{self, Scope, Value};
use crate::knob::Knob;

/// A whole lab file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabFile {
    pub id: String,
    pub title: String,
    pub chapter: String,
    pub summary: String,
    pub explain: String,
    #[serde(default)]
    pub watch: Vec<String>,
    /// What the course claims here that a run shows to be wrong or dated.
    #[serde(default)]
    pub course_says: Option<String>,
    /// Default watchdog for blocking calls, in ms (a step can override).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// MTU of `lo` for this lab (`"${mtu}"`). Applied only inside the lab's
    /// private network namespace (see `crate::runner::apply_lo_mtu`).
    #[serde(default)]
    pub lo_mtu: Option<Tpl>,
    #[serde(default, rename = "knob")]
    pub knobs: Vec<Knob>,
    #[serde(rename = "actor")]
    pub actors: Vec<ActorDef>,
    #[serde(default, rename = "expect")]
    pub expects: Vec<Spanned<ExpectDef>>,
}

/// One actor: a thread that runs its steps in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorDef {
    pub name: String,
    /// Run this actor only when the expression holds (`clients >= 3`).
    #[serde(default)]
    pub when: Option<String>,
    pub steps: Vec<Spanned<StepDef>>,
}

/// A number, flag or text that may be a `${...}` template.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Tpl {
    Int(i64),
    Bool(bool),
    Str(String),
}

impl Tpl {
    /// Resolves the template in `scope`.
    pub fn value(&self, scope: &Scope) -> Result<Value, String> {
        match self {
            Tpl::Int(n) => Ok(Value::Int(*n)),
            Tpl::Bool(b) => Ok(Value::Bool(*b)),
            Tpl::Str(s) => expr::expand(s, scope),
        }
    }

    /// Resolves to a non-negative integer.
    pub fn int(&self, scope: &Scope) -> Result<i64, String> {
        match self.value(scope)? {
            Value::Int(n) => Ok(n),
            Value::Str(s) => s
                .parse()
                .map_err(|_| format!("`{s}` is not a whole number")),
            other => Err(format!("expected a number, got `{other}`")),
        }
    }

    /// Resolves to a boolean.
    pub fn bool(&self, scope: &Scope) -> Result<bool, String> {
        match self.value(scope)? {
            Value::Bool(b) => Ok(b),
            Value::Int(n) => Ok(n != 0),
            other => Err(format!("expected true or false, got `{other}`")),
        }
    }

    /// The names the template refers to.
    pub fn names(&self) -> Result<Vec<String>, String> {
        match self {
            Tpl::Str(s) => expr::template_names(s),
            _ => Ok(Vec::new()),
        }
    }
}

/// One step of an actor. A flat record: which fields an `op` needs is
/// checked by the catalog, so errors can say "`send` needs `data` or
/// `size`" with the line of the step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    pub op: String,
    /// Run the step only when this expression holds.
    pub when: Option<String>,
    /// The socket the step acts on.
    pub on: Option<String>,
    /// The name a new socket gets.
    #[serde(rename = "as")]
    pub name: Option<String>,
    /// `tcp` (default), `udp` or `unix`.
    pub proto: Option<String>,
    /// Address to bind (default `127.0.0.1:0`: a port the OS picks).
    pub addr: Option<String>,
    /// Make the bound address known to other actors under this name.
    pub publish: Option<String>,
    /// Where to connect or send: a published name or an address.
    pub to: Option<String>,
    pub backlog: Option<Tpl>,
    /// Bytes to send: text with `\n`, `\xNN` escapes and `${...}`.
    pub data: Option<String>,
    /// Bytes to send (a generated pattern) or the receive buffer size.
    pub size: Option<Tpl>,
    /// Watchdog for this step's blocking call, in ms.
    pub timeout_ms: Option<Tpl>,
    /// Socket option name (`TCP_NODELAY`, `SO_LINGER`, ...) and value.
    pub option: Option<String>,
    pub value: Option<Tpl>,
    /// Options applied between `socket()` and `bind()`/`connect()`.
    pub options: Option<toml::Table>,
    pub ms: Option<Tpl>,
    /// Event name for `signal` and `wait`.
    pub event: Option<String>,
    /// Save the call's return value under this name for later templates.
    pub save: Option<String>,
    /// Keep repeating the call for this long (a loop that never stops on
    /// its own); identical results are recorded once with a count.
    pub repeat_for_ms: Option<Tpl>,
    /// Repeat a `recv` until it returns 0 (end of stream) or fails.
    pub until_eof: Option<bool>,
    /// Repeat a `send` until it fails (a non-blocking writer filling the
    /// send buffer until EAGAIN). Each call offers the bytes not yet taken.
    pub until_error: Option<bool>,
    /// Repeat the step this many times.
    pub repeat: Option<Tpl>,
    /// `shutdown`: `write`, `read` or `both`.
    pub how: Option<String>,
    /// `serve`: the course protocol a server speaks (`echo_upper`,
    /// `command`, `files`, `auth_echo`, `time`; see `crate::course`).
    pub protocol: Option<String>,
    /// `serve`: how many connections (TCP) or datagrams (UDP) to answer
    /// before the step ends.
    pub clients: Option<Tpl>,
    /// `serve`: a thread per connection instead of one client at a time.
    pub threads: Option<Tpl>,
    /// How replies are framed: `raw`, `ready`, `fixed` or `json`.
    pub framing: Option<String>,
    /// Byte order of a 4-byte length: `native` (struct 'i') or `network`.
    pub order: Option<String>,
    /// HMAC key (text) and digest (`sha256` or `md5`).
    pub key: Option<String>,
    pub digest: Option<String>,
    /// File name for `put` and `get`.
    pub file: Option<String>,
    /// `put`: send only this many bytes of the file, then stop.
    pub stop_after: Option<Tpl>,
    /// `bench`: how many requests to time.
    pub requests: Option<Tpl>,
    /// `serve`: after this many requests of one client, its calls are
    /// counted, not recorded one by one (the server of a benchmark).
    pub quiet_after: Option<Tpl>,
    /// `bench`: the actor whose rate to compare with.
    pub compare: Option<String>,
    /// `netstat`: the port whose TCP sockets to list.
    pub port: Option<Tpl>,
    /// `netstat`: only the sockets between `port` and this port (one
    /// connection), not others that reused `port` on a shared loopback.
    pub peer_port: Option<Tpl>,
    /// `serve` with `protocol = "files"`: the folder (default: a fresh one).
    pub dir: Option<String>,
}

/// One expectation: a fact about the trace that always holds on Linux.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDef {
    pub name: String,
    pub when: Option<String>,
    /// One call: `actor.op#n` (the n-th such call of the actor, from 1;
    /// `#-1` is the last).
    pub call: Option<String>,
    /// Several calls: `actor.op` or `actor.op1|op2`.
    pub select: Option<String>,
    pub returned: Option<Tpl>,
    pub returned_min: Option<Tpl>,
    pub returned_max: Option<Tpl>,
    pub data: Option<String>,
    /// The call's bytes contain these bytes (or do not).
    pub contains: Option<String>,
    pub excludes: Option<String>,
    /// Errno name, or `none` for success.
    pub error: Option<String>,
    pub truncated: Option<bool>,
    pub datagram_len: Option<Tpl>,
    pub waited_ms_min: Option<Tpl>,
    pub repeat_min: Option<Tpl>,
    /// The call had returned before this other call (`actor.op#n`) began:
    /// an order, checked on the run's one clock.
    pub before: Option<String>,
    /// For `select`: number of calls, sum of returns, concatenated bytes.
    pub count: Option<Tpl>,
    pub sum_returned: Option<Tpl>,
    pub concat: Option<String>,
    /// For `select`: the bytes equal those of these other calls, e.g.
    /// `client.send|send_all` (a byte stream keeps order and content).
    pub same_bytes_as: Option<String>,
    /// Shown under the verdict: what this check teaches.
    pub explain: Option<String>,
}
