//! `--json`: JSON Lines, one object per line, each with a `kind`.
//!
//! The contract (fields may be added, never renamed):
//!
//! - `{"kind":"lab","id":..,"title":..,"knobs":{name: value}}` first.
//! - `{"kind":"step","t_us":..,"actor":..,"index":..,"line":..,"step":..}`
//!   when an actor starts a step (`index` from 1 among its steps, `line`
//!   in the lab file or null, `step` as the lab file writes it).
//! - `{"kind":"call_started","t_us":..,"actor":..,"op":..,"sock":..}` when
//!   a call that may block (accept, connect, send, recv, ...) begins; its
//!   `call` line follows when it returns.
//! - `{"kind":"call","t_us":..,"actor":..,"op":..,"len":..,"returned":..,
//!   "data":..,"error":..}` for every socket call, plus `waited_us`,
//!   `sock`, `args`, `local`, `peer`, `timed_out`, `repeat`; `data` is the
//!   moved bytes as text with `\xNN` escapes, cut after 256 bytes (then
//!   `"data_truncated":true`); a call that moved TCP data carries
//!   `"stream":[start,end]`, its offsets in that direction's byte stream.
//!   A datagram receive adds `truncated` and `datagram_len`. A call that
//!   waited across a learner's pause (`--step`) adds `paused_us`, the part
//!   of `waited_us` when lab time stood still.
//!   Under `lab trace`, a call also carries `pid`, `tid`, `comm` (the process's
//!   command name) and `fd`, plus `syscall` when the system call's name
//!   differs from `op` (`"op":"send","syscall":"sendto"`); `data` keeps
//!   the first 256 bytes of a longer call, with `"data_truncated":true`.
//! - `lab trace` starts with `{"kind":"trace","pid":N,"command":[..]}`
//!   (no `command` with `--pid`) instead of the `lab` line, and ends with a
//!   summary that adds `"exit":{"code":N}`, `{"signal":N}` or
//!   `{"detached":true}`; its `check` line is the capture's own.
//! - `{"kind":"packet","t_us":..,"proto":"tcp"|"udp","src":"ip:port",
//!   "dst":"ip:port","flags":"SYN,ACK","seq":..,"ack":..,"len":..,"data":..}`
//!   for every captured packet, with `seq`/`ack` relative to each
//!   direction's initial sequence number, `"stream":[start,end]` on every
//!   TCP packet that carries data (the same offsets as the calls'), plus
//!   `window`, `wire_len`, and `fragment` for IP fragments. A frame that
//!   cannot be decoded has `error` instead. `frame` is the packet's number
//!   in the capture (and in a pcap file written or read), from 1, as
//!   Wireshark's `frame.number`: `--filter` leaves gaps in it.
//!   Under `lab inspect`, a packet
//!   that carries comments in a pcapng file (what `--pcapng` writes) adds
//!   `"comments":[..]`, and a file whose section has comments starts with
//!   `{"kind":"file","comments":[..]}`.
//!   A TCP packet about which
//!   Wireshark's TCP analysis has something to say (see
//!   [`crate::analysis`]) carries `"analysis":{"flags":[..],"acks":F,
//!   "ack_rtt_us":..,"bytes_in_flight":..}` (each part only when known):
//!   `flags` holds objects `{"flag":NAME}`, NAME being the Wireshark field
//!   without `tcp.analysis.` (`retransmission`, `fast_retransmission`,
//!   `spurious_retransmission`, `out_of_order`, `duplicate_ack`,
//!   `zero_window`, `zero_window_probe`, `zero_window_probe_ack`,
//!   `window_full`, `window_update`, `keep_alive`, `keep_alive_ack`,
//!   `lost_segment`, `ack_lost_segment`); a `retransmission` adds `of`
//!   (the oldest unacknowledged segment, Wireshark's `rto_frame`) and
//!   `after_us`, a `duplicate_ack` adds `number` (from 1) and `of` (the
//!   frame whose ACK it repeats). `acks` is the segment this ACK
//!   acknowledges exactly, `ack_rtt_us` the time since it. Frames F are
//!   numbered from 1 among the packet lines, as the timeline's `#N` and
//!   Wireshark's `frame.number`.
//! - `{"kind":"actor_failed","actor":..,"message":..}` when an actor could
//!   not finish its steps.
//! - `{"kind":"map","call":I,"packets":[J,..],"from":[{"call":K,"range":[s,e]}]}`
//!   after the events: I, J and K are 0-based indices among the call lines
//!   and the packet lines; `from` names the sends a receive's bytes came
//!   from and which of their bytes.
//! - `{"kind":"check","name":..,"passed":..,"detail":..}` per expectation,
//!   after the map rows: the session judges them once every call and
//!   packet is in.
//! - `{"kind":"summary","passed":..,"calls":..,"capture":"on"|"off: <reason>"}`
//!   last; with the capture on also `packets`, `dropped` (the kernel's
//!   count) and `truncated`.
//!
//! Events come in timeline order: a call when it returned, a packet when it
//! crossed `lo`, a step or a call_started when it began.

use std::io::{self, Write};

use serde_json::{Value as Json, json};

use crate::analysis::{Flag, TcpAnalysis};
use crate::capture::CaptureStats;
use crate::check::Verdict;
use crate::correlate::MapEntry;
use crate::escape::{PREVIEW_BYTES, preview};
use crate::expr::{Scope, Value};
use crate::trace::{Call, Event, Packet};
use crate::wire::Transport;

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
        Event::StepStarted(s) => line(
            out,
            json!({"kind": "step", "t_us": s.t_us, "actor": s.actor, "index": s.index,
                   "line": s.line, "step": s.text}),
        ),
        Event::CallStarted {
            t_us,
            actor,
            op,
            sock,
        } => line(
            out,
            json!({"kind": "call_started", "t_us": t_us, "actor": actor, "op": op.name(),
                   "sock": sock}),
        ),
        Event::Packet(p) => line(out, packet(p)),
        Event::Map(m) => map_line(out, m),
        Event::Check(v) => check_line(out, v),
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

/// A packet's line with the comments a pcapng file holds on it (`lab
/// inspect`), as `"comments":[..]` when there are any.
pub fn packet_line(out: &mut dyn Write, p: &Packet, comments: &[String]) -> io::Result<()> {
    let mut v = packet(p);
    if !comments.is_empty()
        && let Some(o) = v.as_object_mut()
    {
        o.insert("comments".into(), json!(comments));
    }
    line(out, v)
}

pub fn check_line(out: &mut dyn Write, v: &Verdict) -> io::Result<()> {
    line(
        out,
        json!({"kind": "check", "name": v.name, "passed": v.passed, "detail": v.detail}),
    )
}

pub fn map_line(out: &mut dyn Write, m: &MapEntry) -> io::Result<()> {
    let from: Vec<Json> = m
        .sources
        .iter()
        .map(|(k, s, e)| json!({"call": k, "range": [s, e]}))
        .collect();
    line(
        out,
        json!({"kind": "map", "call": m.call, "packets": m.packets, "from": from}),
    )
}

pub fn summary_line(
    out: &mut dyn Write,
    passed: bool,
    calls: usize,
    capture: &str,
    stats: Option<&CaptureStats>,
) -> io::Result<()> {
    line(out, summary(passed, calls, capture, stats))
}

fn summary(passed: bool, calls: usize, capture: &str, stats: Option<&CaptureStats>) -> Json {
    let mut o = json!({"kind": "summary", "passed": passed, "calls": calls, "capture": capture});
    if let Some(st) = stats {
        let m = o.as_object_mut().expect("object literal");
        m.insert("packets".into(), st.packets.into());
        m.insert("dropped".into(), st.dropped.into());
        m.insert("truncated".into(), st.truncated.into());
    }
    o
}

/// `lab trace`'s first line: the command started, or the pid attached to.
pub fn trace_line(out: &mut dyn Write, command: &[String], pid: i32) -> io::Result<()> {
    let mut o = json!({"kind": "trace", "pid": pid});
    if !command.is_empty() {
        o["command"] = json!(command);
    }
    line(out, o)
}

/// `lab trace`'s last line: the summary, and how the program ended.
pub fn trace_summary_line(
    out: &mut dyn Write,
    passed: bool,
    calls: usize,
    capture: &str,
    stats: Option<&CaptureStats>,
    exit: Json,
) -> io::Result<()> {
    let mut o = summary(passed, calls, capture, stats);
    o["exit"] = exit;
    line(out, o)
}

/// A packet as its JSON object: relative sequence numbers, and the stream
/// offsets of the data it carries in the same terms as the calls'.
/// Wireshark's TCP analysis of one segment (see the contract above).
pub fn analysis(a: &TcpAnalysis) -> Json {
    let flags: Vec<Json> = a
        .flags
        .iter()
        .map(|f| {
            let mut o = json!({"flag": f.kind().name()});
            let m = o.as_object_mut().expect("object literal");
            match f {
                Flag::Retransmission { original, after_us } => {
                    m.insert("of".into(), (*original).into());
                    m.insert("after_us".into(), (*after_us).into());
                }
                Flag::DuplicateAck { number, of } => {
                    m.insert("number".into(), (*number).into());
                    m.insert("of".into(), (*of).into());
                }
                _ => {}
            }
            o
        })
        .collect();
    let mut o = json!({"flags": flags});
    let m = o.as_object_mut().expect("object literal");
    if let Some(acked) = a.acked {
        m.insert("acks".into(), acked.frame.into());
        m.insert("ack_rtt_us".into(), acked.rtt_us.into());
    }
    if let Some(n) = a.bytes_in_flight {
        m.insert("bytes_in_flight".into(), n.into());
    }
    o
}

pub fn packet(p: &Packet) -> Json {
    let mut o =
        json!({"kind": "packet", "frame": p.info.number, "t_us": p.t_us, "wire_len": p.orig_len});
    let m = o.as_object_mut().expect("object literal");
    let frame = match &p.frame {
        Ok(f) => f,
        Err(e) => {
            m.insert("error".into(), e.to_string().into());
            return o;
        }
    };
    let (src, dst) = match frame.endpoints() {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (frame.ip.src.to_string(), frame.ip.dst.to_string()),
    };
    m.insert("src".into(), src.into());
    m.insert("dst".into(), dst.into());
    if let Some(a) = &p.info.from {
        m.insert("from".into(), a.clone().into());
    }
    if let Some(a) = &p.info.to {
        m.insert("to".into(), a.clone().into());
    }
    let payload: &[u8] = match &frame.transport {
        Transport::Tcp(t) => {
            m.insert("proto".into(), "tcp".into());
            m.insert("flags".into(), t.flags.to_string().into());
            m.insert("seq".into(), p.info.rel_seq.into());
            m.insert("ack".into(), p.info.rel_ack.into());
            m.insert("len".into(), t.payload_len.into());
            m.insert(
                "window".into(),
                p.info.window.unwrap_or(u32::from(t.window)).into(),
            );
            if let Some((a, b)) = p.info.stream {
                m.insert("stream".into(), json!([a, b]));
            }
            if let Some(a) = p.info.analysis.as_ref().filter(|a| !a.is_empty()) {
                m.insert("analysis".into(), analysis(a));
            }
            &t.payload
        }
        Transport::Udp(u) => {
            m.insert("proto".into(), "udp".into());
            m.insert("len".into(), u.length.saturating_sub(8).into());
            &u.payload
        }
        Transport::Fragment { payload_len } => {
            m.insert("proto".into(), "ip-fragment".into());
            m.insert("len".into(), (*payload_len).into());
            &[]
        }
        Transport::Other {
            protocol,
            payload_len,
        } => {
            m.insert("proto".into(), format!("ip-{protocol}").into());
            m.insert("len".into(), (*payload_len).into());
            &[]
        }
    };
    let (text, cut) = preview(payload, PREVIEW_BYTES);
    m.insert("data".into(), text.into());
    if cut {
        m.insert("data_truncated".into(), true.into());
    }
    if let Some(f) = frame.ip.fragment {
        m.insert(
            "fragment".into(),
            json!({"id": f.ident, "offset": f.offset, "more": f.more}),
        );
    }
    if frame.truncated {
        m.insert("truncated".into(), true.into());
    }
    o
}

/// A call as its JSON object.
pub fn call(c: &Call) -> Json {
    let mut o = json!({
        "kind": "call",
        "t_us": c.t_us,
        "waited_us": c.waited_us,
        "actor": c.actor,
        "op": c.op.name(),
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
        // `lab trace` keeps only the first bytes of a long call.
        let kept_less =
            c.returned.is_some_and(|n| n > d.len() as i64) && (c.is_send() || c.is_recv());
        if cut || kept_less {
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
    if c.paused_us > 0 {
        m.insert("paused_us".into(), c.paused_us.into());
    }
    // `lab trace` only: who made the call, on which descriptor.
    if let Some(p) = c.pid {
        m.insert("pid".into(), p.into());
    }
    if let Some(t) = c.tid {
        m.insert("tid".into(), t.into());
    }
    if let Some(comm) = &c.comm {
        m.insert("comm".into(), comm.clone().into());
    }
    if let Some(fd) = c.fd {
        m.insert("fd".into(), fd.into());
    }
    if let Some(s) = c.syscall {
        m.insert("syscall".into(), s.into());
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
