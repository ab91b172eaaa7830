//! `--json`: JSON Lines, one object per line, each with a `kind`.
//!
//! The contract (fields may be added, never renamed):
//!
//! - `{"kind":"lab","id":..,"title":..,"knobs":{name: value}}` first.
//! - `{"kind":"call","t_us":..,"actor":..,"op":..,"len":..,"returned":..,
//!   "data":..,"error":..}` for every socket call, plus `waited_us`,
//!   `sock`, `args`, `local`, `peer`, `timed_out`, `repeat`; `data` is the
//!   moved bytes as text with `\xNN` escapes, cut after 256 bytes (then
//!   `"data_truncated":true`); a call that moved TCP data carries
//!   `"stream":[start,end]`, its offsets in that direction's byte stream.
//!   A datagram receive adds `truncated` and `datagram_len`.
//! - `{"kind":"actor_failed","actor":..,"message":..}` when an actor could
//!   not finish its steps.
//! - `{"kind":"check","name":..,"passed":..,"detail":..}` per expectation.
//! - `{"kind":"summary","passed":..,"calls":..,"capture":"off: <reason>"}` last.
//!
//! Lines come in the order events finished (a call when it returned).

use std::io::{self, Write};

use serde_json::{Value as Json, json};

use crate::check::Verdict;
use crate::escape::{PREVIEW_BYTES, preview};
use crate::expr::{Scope, Value};
use crate::trace::{Call, Event};

pub fn lab_line(out: &mut dyn Write, id: &str, title: &str, knobs: &Scope) -> io::Result<()> {
    let knobs: serde_json::Map<String, Json> =
        knobs.iter().map(|(k, v)| (k.clone(), value(v))).collect();
    line(
        out,
        json!({"kind": "lab", "id": id, "title": title, "knobs": knobs}),
    )
}

pub fn event_line(out: &mut dyn Write, event: &Event) -> io::Result<()> {
    match event {
        Event::Call(c) => line(out, call(c)),
        Event::ActorFailed {
            t_us,
            actor,
            message,
        } => line(
            out,
            json!({"kind": "actor_failed", "t_us": t_us, "actor": actor, "message": message}),
        ),
    }
}

pub fn check_line(out: &mut dyn Write, v: &Verdict) -> io::Result<()> {
    line(
        out,
        json!({"kind": "check", "name": v.name, "passed": v.passed, "detail": v.detail}),
    )
}

pub fn summary_line(
    out: &mut dyn Write,
    passed: bool,
    calls: usize,
    capture: &str,
) -> io::Result<()> {
    line(
        out,
        json!({"kind": "summary", "passed": passed, "calls": calls, "capture": capture}),
    )
}

/// A call as its JSON object.
pub fn call(c: &Call) -> Json {
    let mut o = json!({
        "kind": "call",
        "t_us": c.t_us,
        "waited_us": c.waited_us,
        "actor": c.actor,
        "op": c.op,
        "sock": c.sock,
        "args": c.args,
        "len": c.len,
        "returned": c.returned,
        "data": Json::Null,
        "error": c.error,
    });
    let m = o.as_object_mut().expect("object literal");
    if let Some(d) = &c.data {
        let (text, cut) = preview(d, PREVIEW_BYTES);
        m.insert("data".into(), text.into());
        if cut {
            m.insert("data_truncated".into(), true.into());
        }
    }
    if let Some(p) = c.proto {
        m.insert("proto".into(), p.name().into());
    }
    if let Some((a, b)) = c.stream {
        m.insert("stream".into(), json!([a, b]));
    }
    if let Some(a) = c.local {
        m.insert("local".into(), a.to_string().into());
    }
    if let Some(a) = c.peer {
        m.insert("peer".into(), a.to_string().into());
    }
    if let Some(t) = c.truncated {
        m.insert("truncated".into(), t.into());
    }
    if let Some(n) = c.datagram_len {
        m.insert("datagram_len".into(), n.into());
    }
    if c.timed_out {
        m.insert("timed_out".into(), true.into());
    }
    if c.repeat > 1 {
        m.insert("repeat".into(), c.repeat.into());
    }
    o
}

fn value(v: &Value) -> Json {
    match v {
        Value::Int(n) => (*n).into(),
        Value::Bool(b) => (*b).into(),
        Value::Str(s) => s.clone().into(),
    }
}

fn line(out: &mut dyn Write, v: Json) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &v)?;
    out.write_all(b"\n")
}
