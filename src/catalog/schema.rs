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
//!
//! [[question]]              # asked before a step with `ask = "NAME"`;
//! name = "first-recv"       # see `question.rs`
//! ask = "How many bytes will the server's first recv return?"
//! kind = "number"
//! field = "returned"
//! call = "server.recv#1"
//! explain = "..."
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

use super::step::Step;
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
    /// Time the run's threads spent waiting for a CPU is not counted (see
    /// `crate::clock::LabTime::watchdog`).
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
    /// What `lab run --predict` asks before the steps that name them
    /// (`ask = "NAME"`); see [`super::question`].
    #[serde(default, rename = "question")]
    pub questions: Vec<Spanned<super::question::Question>>,
    /// The lab's server, for `lab serve` and the learner's own clients.
    #[serde(default)]
    pub serve: Option<ServeDef>,
}

/// `[serve]`: what `lab serve` runs for this lab. The learner's clients
/// meet the same protocol, in the course's own wire format, that the lab's
/// actors speak.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeDef {
    /// One line on what the server does, printed when it starts.
    pub says: String,
    /// `tcp` (the default) or `udp`.
    #[serde(default)]
    pub proto: Option<crate::trace::Proto>,
    /// A `serve` step on socket `srv`, with no `clients` bound: it runs
    /// until Ctrl-C.
    #[serde(rename = "step")]
    pub(super) written: Spanned<toml::Table>,
    /// The step, typed from `written` by [`crate::catalog::Lab::parse`].
    #[serde(skip, default = "no_step")]
    pub step: Spanned<Step>,
}

/// A placeholder until the written step is typed.
fn no_step() -> Spanned<Step> {
    Spanned::new(
        0..0,
        Step::new(super::step::Action::LoMtu(super::step::SaveStep {
            save: None,
        })),
    )
}

/// One actor: a thread that runs its steps in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorDef {
    pub name: String,
    /// Run this actor only when the expression holds (`clients >= 3`).
    #[serde(default)]
    pub when: Option<String>,
    /// The steps as the file wrote them; [`crate::catalog::Lab::parse`]
    /// types each one into `steps`, so that an error names the step's own
    /// line rather than the line where the list begins.
    #[serde(rename = "steps")]
    pub(super) written: Vec<Spanned<toml::Table>>,
    #[serde(skip)]
    pub steps: Vec<Spanned<Step>>,
}

/// A number, flag or text that may be a `${...}` template.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
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
