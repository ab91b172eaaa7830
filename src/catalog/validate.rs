//! Checks a parsed lab file before it runs, so mistakes are reported with
//! their line instead of surfacing as a strange trace.

use std::collections::BTreeSet;

use super::step::Action;
use super::{Lab, LabError, Tpl};
use crate::expr::{self, Scope};
use crate::trace::Op;

/// The ops a check may name (`call = "actor.op#n"`): those of the calls a
/// run records.
pub fn op_names() -> impl Iterator<Item = &'static str> {
    Op::ALL.into_iter().map(Op::name)
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
            let action = &step.get_ref().action;
            if let Some(s) = action.save() {
                saved.insert(s.to_string());
            }
            if let Some(n) = action.creates() {
                saved.insert(format!("{n}_sent"));
                saved.insert(format!("{n}_received"));
                saved.insert(format!("{n}_port"));
                saved.insert(format!("{n}_peer_port"));
            }
            if let Action::Bench(b) = action
                && b.compare.is_some()
            {
                saved.insert("ratio_pct".to_string());
            }
            if let Some(p) = action.publishes() {
                published.insert(p.to_string());
            }
            if let Action::Signal(e) = action {
                signalled.insert(e.event.clone());
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
            check_step(s, &sockets, &published, &signalled, &known, &actor.name).map_err(at)?;
            if let Some(name) = s.action.creates() {
                sockets.insert(name.to_string());
            }
        }
    }

    if let Some(serve) = &def.serve {
        let at = |m: String| lab.error_at(serve.step.span().start, m);
        let step = serve.step.get_ref();
        let Action::Serve(s) = &step.action else {
            return Err(at(format!(
                "[serve] runs a `serve` step, not `{}`",
                step.action.name()
            )));
        };
        if s.on != "srv" || s.clients.is_some() || step.when.is_some() || step.repeat.is_some() {
            return Err(at(
                "[serve]'s step acts on `srv` and runs until stopped: no `clients`, `when` or `repeat`"
                    .into(),
            ));
        }
        if serve.proto == Some(crate::trace::Proto::Unix) {
            return Err(at("[serve] listens on tcp or udp".into()));
        }
        let sockets = BTreeSet::from(["srv".to_string()]);
        let knobs_only = |n: &str| scope.contains_key(n);
        check_step(step, &sockets, &published, &signalled, &knobs_only, "serve").map_err(at)?;
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
    super::question::validate(lab, &actor_names, &scope)
}

/// What serde cannot check about one step: that the sockets, names and
/// events it refers to exist, and that its literal numbers are in range.
fn check_step(
    s: &super::Step,
    sockets: &BTreeSet<String>,
    published: &BTreeSet<String>,
    signalled: &BTreeSet<String>,
    known: &dyn Fn(&str) -> bool,
    actor: &str,
) -> Result<(), String> {
    let action = &s.action;
    let op = action.name();
    match action {
        Action::Listen(l) if l.on.is_some() == l.name.is_some() => {
            return Err("`listen` needs `on` (a socket) or `as` (a new one), not both".into());
        }
        Action::Connect(c) if c.on.is_some() == c.name.is_some() => {
            return Err("`connect` needs `on` (a socket) or `as` (a new one), not both".into());
        }
        // `addr`, `proto` and `options` make the new socket of `as`; on a
        // socket that exists they would be silently ignored.
        Action::Listen(l)
            if l.on.is_some()
                && (l.addr.is_some() || l.proto.is_some() || !l.options.is_empty()) =>
        {
            return Err(
                "`listen` with `on` takes no `addr`, `proto` or `options`: bind and set them in earlier steps"
                    .into(),
            );
        }
        Action::Connect(c) if c.on.is_some() && (c.proto.is_some() || !c.options.is_empty()) => {
            return Err(
                "`connect` with `on` takes no `proto` or `options`: the socket was made earlier"
                    .into(),
            );
        }
        _ => {}
    }
    if let Some(Tpl::Int(n)) = &s.repeat
        && !(0..=100_000).contains(n)
    {
        return Err(format!("`repeat = {n}`: use 0 to 100000"));
    }
    if let Action::Listen(l) = action
        && let Some(Tpl::Int(n)) = &l.backlog
        && !(0..=65_535).contains(n)
    {
        return Err(format!("`backlog = {n}`: use 0 to 65535"));
    }
    if let Some((data, size)) = action.payload() {
        match (data, size) {
            (None, None) => return Err(format!("`{op}` needs `data` or `size`")),
            (Some(_), Some(_)) => {
                return Err(format!("`{op}` takes `data` or `size`, not both"));
            }
            _ => {}
        }
    }
    if let Some(on) = action.on()
        && !sockets.contains(on)
    {
        return Err(format!(
            "socket `{on}` is not created by an earlier step of actor `{actor}`"
        ));
    }
    if let Some(to) = action.to()
        && !published.contains(to)
        && to.parse::<std::net::SocketAddr>().is_err()
        && !to.starts_with('/')
        && !(to == "@from" && matches!(action, Action::SendTo(_)))
    {
        return Err(format!(
            "`to = \"{to}\"`: no actor publishes that name, and it is not an address"
        ));
    }
    if let Action::Wait(w) = action
        && !signalled.contains(&w.event)
    {
        return Err(format!(
            "no actor signals event `{}`, so this wait would time out",
            w.event
        ));
    }
    // Every name an expression uses must be a knob or a saved value, and
    // literal numbers the runner would refuse are refused here with their
    // line (templates are checked when they are worked out).
    let mut names: Vec<String> = Vec::new();
    if let Some(w) = &s.when {
        names.extend(expr::names(w)?);
    }
    if let Some(r) = &s.repeat {
        names.extend(r.names()?);
    }
    for (field, value, max) in action.numbers() {
        if let (Tpl::Int(n), Some(max)) = (value, max)
            && !(0..=max).contains(n)
        {
            return Err(format!("`{field} = {n}`: use 0 to {max}"));
        }
        names.extend(value.names()?);
    }
    for (field, text) in action.texts() {
        names.extend(expr::template_names(text)?);
        if field == "data" {
            crate::escape::unescape(text).map_err(|e| format!("data: {e}"))?;
        }
    }
    for n in names {
        if !known(&n) {
            return Err(format!("unknown name `{n}`: not a knob or a saved value"));
        }
    }
    Ok(())
}

/// `actor.op` (a selection) or `actor.op#n` (one call, `call` true): the
/// actor exists, each op is one, and the number is where it must be.
pub(super) fn check_target(
    target: &str,
    call: bool,
    actor_names: &BTreeSet<String>,
) -> Result<(), String> {
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
