//! Checks a parsed lab file before it runs, so mistakes are reported with
//! their line instead of surfacing as a strange trace.

use std::collections::BTreeSet;

use super::{Lab, LabError, StepDef, Tpl};
use crate::expr::{self, Scope};

/// Fields each op requires (`a|b` means one of them) and allows.
/// `when` and `repeat` are allowed everywhere.
const OPS: &[(&str, &[&str], &[&str])] = &[
    ("socket", &["as"], &["proto", "options"]),
    ("bind", &["on"], &["addr", "publish"]),
    // `listen` with `as` is socket + bind + listen in one step.
    (
        "listen",
        &["on|as"],
        &["backlog", "addr", "publish", "options", "proto"],
    ),
    ("accept", &["on", "as"], &["timeout_ms"]),
    // `connect` with `as` is socket + connect.
    (
        "connect",
        &["to", "on|as"],
        &["options", "timeout_ms", "proto"],
    ),
    (
        "send",
        &["on", "data|size"],
        &["save", "timeout_ms", "until_error"],
    ),
    ("send_all", &["on", "data|size"], &["save", "timeout_ms"]),
    (
        "recv",
        &["on", "size"],
        &["timeout_ms", "save", "repeat_for_ms", "until_eof"],
    ),
    ("recv_from", &["on", "size"], &["timeout_ms", "save"]),
    ("send_to", &["on", "to", "data|size"], &["save"]),
    ("shutdown", &["on", "how"], &[]),
    ("close", &["on"], &[]),
    // Lab 19: an AF_UNIX socket's file stays after close until removed.
    // Only the run's own socket files: a lab file names no path to delete.
    ("unlink", &["on"], &[]),
    ("set_option", &["on", "option", "value"], &[]),
    ("set_nonblocking", &["on", "value"], &[]),
    ("sleep", &["ms"], &[]),
    ("signal", &["event"], &[]),
    ("wait", &["event"], &["timeout_ms"]),
    // The course's protocols (src/course) and probes of kernel state.
    (
        "serve",
        &["on", "protocol"],
        &[
            "clients",
            "threads",
            "framing",
            "order",
            "key",
            "digest",
            "size",
            "dir",
            "quiet_after",
        ],
    ),
    (
        "command",
        &["on", "data", "framing"],
        &["order", "size", "save"],
    ),
    (
        "bench",
        &["on", "data", "framing", "requests"],
        &["order", "size", "save", "compare", "timeout_ms"],
    ),
    (
        "put",
        &["on", "file", "data|size"],
        &["order", "stop_after", "save"],
    ),
    ("get", &["on", "file"], &["order", "size", "save"]),
    ("auth", &["on", "key"], &["digest", "save"]),
    ("netstat", &["port"], &["save", "peer_port"]),
    ("get_option", &["on", "option"], &["save"]),
    ("lo_mtu", &[], &["save"]),
];

/// Socket options a lab may set, by the name learners know.
pub const OPTIONS: &[&str] = &[
    "SO_REUSEADDR",
    "SO_REUSEPORT",
    "SO_LINGER",
    "SO_SNDBUF",
    "SO_RCVBUF",
    "SO_KEEPALIVE",
    "TCP_NODELAY",
    "TCP_CORK",
    "TCP_QUICKACK",
    "TCP_MAXSEG",
];

/// The ops a lab may use, for `call = "actor.op#n"` checks.
pub fn op_names() -> impl Iterator<Item = &'static str> {
    OPS.iter().map(|(op, _, _)| *op)
}

fn present(step: &StepDef) -> Vec<&'static str> {
    let mut f = Vec::new();
    macro_rules! has {
        ($($field:ident => $name:literal),*) => { $( if step.$field.is_some() { f.push($name); } )* };
    }
    has!(on => "on", name => "as", proto => "proto", addr => "addr", publish => "publish",
         to => "to", backlog => "backlog", data => "data", size => "size",
         timeout_ms => "timeout_ms", option => "option", value => "value", options => "options",
         ms => "ms", event => "event", save => "save", repeat_for_ms => "repeat_for_ms",
         until_eof => "until_eof", until_error => "until_error", how => "how",
         protocol => "protocol", clients => "clients", threads => "threads",
         framing => "framing", order => "order", key => "key", digest => "digest",
         file => "file", stop_after => "stop_after", requests => "requests",
         compare => "compare", port => "port", peer_port => "peer_port", dir => "dir", quiet_after => "quiet_after");
    f
}

pub(super) fn validate(lab: &Lab) -> Result<(), LabError> {
    let def = &lab.def;
    let top = |message: String| LabError {
        origin: lab.origin.clone(),
        line: None,
        message,
    };
    let id_ok = def.id.len() > 3
        && def.id.as_bytes()[..2].iter().all(u8::is_ascii_digit)
        && def.id.as_bytes()[2] == b'-'
        && def.id[3..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        return Err(top(format!(
            "id `{}` must look like `NN-some-slug` (two digits, a dash, lower-case words)",
            def.id
        )));
    }
    if def.actors.is_empty() {
        return Err(top("a lab needs at least one [[actor]]".into()));
    }

    // Knobs: unique names, defaults and tries that fit their own type.
    let mut scope = Scope::new();
    for knob in &def.knobs {
        if scope.contains_key(&knob.name) {
            return Err(top(format!("knob `{}` is declared twice", knob.name)));
        }
        if knob.kind == crate::knob::KnobType::Choice && knob.values.is_empty() {
            return Err(top(format!("choice knob `{}` needs `values`", knob.name)));
        }
        let v = knob
            .default_value()
            .map_err(|e| top(format!("default of {e}")))?;
        for t in &knob.tries {
            knob.from_toml(t)
                .map_err(|e| top(format!("`try` value of {e}")))?;
        }
        scope.insert(knob.name.clone(), v);
    }

    // Names saved by steps join the scope (as placeholders) for validation.
    let mut saved = BTreeSet::new();
    let mut published = BTreeSet::new();
    let mut signalled = BTreeSet::new();
    for actor in &def.actors {
        for step in &actor.steps {
            if let Some(s) = &step.get_ref().save {
                saved.insert(s.clone());
            }
            if let Some(n) = &step.get_ref().name {
                saved.insert(format!("{n}_sent"));
                saved.insert(format!("{n}_received"));
                saved.insert(format!("{n}_port"));
            }
            if step.get_ref().compare.is_some() {
                saved.insert("ratio_pct".to_string());
            }
            if let Some(p) = &step.get_ref().publish {
                published.insert(p.clone());
            }
            if step.get_ref().op == "signal"
                && let Some(e) = &step.get_ref().event
            {
                signalled.insert(e.clone());
            }
        }
    }
    let known = |name: &str| {
        scope.contains_key(name) || saved.contains(name) || name == "min" || name == "max"
    };

    let mut actor_names = BTreeSet::new();
    for actor in &def.actors {
        if !actor_names.insert(actor.name.clone()) {
            return Err(top(format!("actor `{}` is declared twice", actor.name)));
        }
        if let Some(w) = &actor.when {
            for n in expr::names(w).map_err(|e| top(format!("actor `{}`: {e}", actor.name)))? {
                if !scope.contains_key(&n) {
                    return Err(top(format!(
                        "actor `{}`: `when` may use knobs only, not `{n}`",
                        actor.name
                    )));
                }
            }
        }
        let mut sockets: BTreeSet<String> = BTreeSet::new();
        for step in &actor.steps {
            let at = |m: String| lab.error_at(step.span().start, m);
            let s = step.get_ref();
            let Some((_, required, allowed)) = OPS.iter().find(|(op, _, _)| *op == s.op) else {
                let all: Vec<&str> = op_names().collect();
                return Err(at(format!(
                    "unknown op `{}`; ops are: {}",
                    s.op,
                    all.join(", ")
                )));
            };
            let fields = present(s);
            for req in *required {
                if !req.split('|').any(|r| fields.contains(&r)) {
                    return Err(at(format!(
                        "`{}` needs `{}`",
                        s.op,
                        req.replace('|', "` or `")
                    )));
                }
            }
            for f in &fields {
                let ok =
                    required.iter().any(|r| r.split('|').any(|x| x == *f)) || allowed.contains(f);
                if !ok {
                    return Err(at(format!("`{}` does not take `{f}`", s.op)));
                }
            }
            if let Some(on) = &s.on
                && !sockets.contains(on)
            {
                return Err(at(format!(
                    "socket `{on}` is not created by an earlier step of actor `{}`",
                    actor.name
                )));
            }
            if let Some(name) = &s.name {
                sockets.insert(name.clone());
            }
            if let Some(proto) = &s.proto
                && !["tcp", "udp", "unix"].contains(&proto.as_str())
            {
                return Err(at(format!("proto `{proto}`: use tcp, udp or unix")));
            }
            if let Some(opt) = &s.option {
                check_option(opt).map_err(at)?;
            }
            if let Some(opts) = &s.options {
                for name in opts.keys() {
                    check_option(name).map_err(at)?;
                }
            }
            if let Some(to) = &s.to
                && !published.contains(to)
                && to.parse::<std::net::SocketAddr>().is_err()
                && !to.starts_with('/')
                && to != "@from"
            {
                return Err(at(format!(
                    "`to = \"{to}\"`: no actor publishes that name, and it is not an address"
                )));
            }
            if s.op == "wait"
                && let Some(e) = &s.event
                && !signalled.contains(e)
            {
                return Err(at(format!(
                    "no actor signals event `{e}`, so this wait would time out"
                )));
            }
            if let Some(how) = &s.how
                && !["read", "write", "both"].contains(&how.as_str())
            {
                return Err(at(format!("`how = \"{how}\"`: use read, write or both")));
            }
            // Literal numbers the runner would refuse, refused here with
            // their line (templates are checked when they are worked out).
            for (field, value, max) in [
                ("size", &s.size, 64 << 20),
                ("ms", &s.ms, 60_000),
                ("timeout_ms", &s.timeout_ms, 600_000),
            ] {
                if let Some(Tpl::Int(n)) = value
                    && !(0..=max).contains(n)
                {
                    return Err(at(format!("`{field} = {n}`: use 0 to {max}")));
                }
            }
            // Every name an expression uses must be a knob or a saved value.
            let mut exprs: Vec<String> = Vec::new();
            if let Some(w) = &s.when {
                exprs.extend(expr::names(w).map_err(&at)?);
            }
            for t in [
                &s.backlog,
                &s.size,
                &s.timeout_ms,
                &s.value,
                &s.ms,
                &s.repeat_for_ms,
                &s.repeat,
                &s.clients,
                &s.threads,
                &s.stop_after,
                &s.requests,
                &s.port,
                &s.quiet_after,
            ]
            .into_iter()
            .flatten()
            {
                exprs.extend(t.names().map_err(&at)?);
            }
            for t in [
                &s.addr,
                &s.framing,
                &s.order,
                &s.key,
                &s.digest,
                &s.file,
                &s.protocol,
                &s.dir,
            ]
            .into_iter()
            .flatten()
            {
                exprs.extend(expr::template_names(t).map_err(&at)?);
            }
            if let Some(d) = &s.data {
                exprs.extend(expr::template_names(d).map_err(&at)?);
                crate::escape::unescape(d).map_err(|e| at(format!("data: {e}")))?;
            }
            for n in exprs {
                if !known(&n) {
                    return Err(at(format!(
                        "unknown name `{n}`: not a knob or a saved value"
                    )));
                }
            }
        }
    }

    for exp in &def.expects {
        let at = |m: String| lab.error_at(exp.span().start, m);
        let e = exp.get_ref();
        if e.call.is_some() == e.select.is_some() {
            return Err(at(format!(
                "expectation `{}` needs exactly one of `call` or `select`",
                e.name
            )));
        }
        // What an expectation asserts depends on its kind: a `call` is
        // judged by its own result, a `select` by what its calls add up to.
        // A field of the other kind would be silently ignored, and an
        // expectation with no assertion at all would always pass.
        let of_a_call = [
            ("returned", e.returned.is_some()),
            ("returned_min", e.returned_min.is_some()),
            ("returned_max", e.returned_max.is_some()),
            ("data", e.data.is_some()),
            ("contains", e.contains.is_some()),
            ("excludes", e.excludes.is_some()),
            ("error", e.error.is_some()),
            ("truncated", e.truncated.is_some()),
            ("datagram_len", e.datagram_len.is_some()),
            ("waited_ms_min", e.waited_ms_min.is_some()),
            ("repeat_min", e.repeat_min.is_some()),
            ("before", e.before.is_some()),
        ];
        let of_a_selection = [
            ("count", e.count.is_some()),
            ("sum_returned", e.sum_returned.is_some()),
            ("concat", e.concat.is_some()),
            ("same_bytes_as", e.same_bytes_as.is_some()),
        ];
        let (own, other, kind, other_kind) = if e.call.is_some() {
            (&of_a_call[..], &of_a_selection[..], "call", "select")
        } else {
            (&of_a_selection[..], &of_a_call[..], "select", "call")
        };
        if let Some((field, _)) = other.iter().find(|(_, set)| *set) {
            return Err(at(format!(
                "expectation `{}`: `{field}` applies to a `{other_kind}`, not a `{kind}`",
                e.name
            )));
        }
        if !own.iter().any(|(_, set)| *set) {
            let fields: Vec<&str> = own.iter().map(|(f, _)| *f).collect();
            return Err(at(format!(
                "expectation `{}` asserts nothing: give it one of {}",
                e.name,
                fields.join(", ")
            )));
        }
        let target = e
            .call
            .as_deref()
            .or(e.select.as_deref())
            .unwrap_or_default();
        check_target(target, e.call.is_some(), &actor_names).map_err(&at)?;
        if let Some(other) = &e.before {
            check_target(other, true, &actor_names).map_err(&at)?;
        }
        let mut exprs = Vec::new();
        if let Some(w) = &e.when {
            exprs.extend(expr::names(w).map_err(&at)?);
        }
        for t in [
            &e.returned,
            &e.returned_min,
            &e.returned_max,
            &e.count,
            &e.sum_returned,
            &e.waited_ms_min,
            &e.repeat_min,
            &e.datagram_len,
        ]
        .into_iter()
        .flatten()
        {
            exprs.extend(t.names().map_err(&at)?);
        }
        for d in [&e.data, &e.concat, &e.contains, &e.excludes]
            .into_iter()
            .flatten()
        {
            exprs.extend(expr::template_names(d).map_err(&at)?);
        }
        for n in exprs {
            if !known(&n) {
                return Err(at(format!(
                    "unknown name `{n}`: not a knob or a saved value"
                )));
            }
        }
    }
    Ok(())
}

fn check_option(name: &str) -> Result<(), String> {
    if OPTIONS.contains(&name) {
        Ok(())
    } else {
        Err(format!(
            "unknown socket option `{name}`; known: {}",
            OPTIONS.join(", ")
        ))
    }
}

/// `actor.op` (a selection) or `actor.op#n` (one call, `call` true): the
/// actor exists, each op is one, and the number is where it must be.
fn check_target(target: &str, call: bool, actor_names: &BTreeSet<String>) -> Result<(), String> {
    let (actor, rest) = target
        .split_once('.')
        .ok_or_else(|| format!("`{target}`: write actor.op (select) or actor.op#n (call)"))?;
    // `server/conn2`: the thread a `serve` step started for a connection.
    let declared = actor.split_once('/').map_or(actor, |(parent, _)| parent);
    if !actor_names.contains(declared) {
        return Err(format!("`{target}`: no actor `{actor}`"));
    }
    let ops = rest.split_once('#').map_or(rest, |(ops, _)| ops);
    for op in ops.split('|') {
        // `served` is the summary a `serve` step records per client.
        if op != "*" && !op_names().any(|o| o == op) && op != "socket" && op != "served" {
            return Err(format!("`{target}`: unknown op `{op}`"));
        }
    }
    match rest.split_once('#') {
        Some(_) if !call => Err(format!("`select = \"{target}\"` takes no `#n`; use `call`")),
        Some((_, n)) => n
            .parse::<i64>()
            .ok()
            .filter(|n| *n != 0)
            .map(|_| ())
            .ok_or_else(|| {
                format!("`{target}`: `#{n}` must be a call number from 1 (or -1 for the last)")
            }),
        None if call => Err(format!("`{target}` needs `#n`, e.g. `{target}#1`")),
        None => Ok(()),
    }
}
