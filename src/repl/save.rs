//! `save FILE`: a session typed in `lab repl`, written as a lab file that
//! `lab run FILE` replays.
//!
//! Three things turn a session into a lab:
//!
//! - **Actors.** Each socket made with `socket()` becomes an actor of the
//!   same name; a connection it accepts belongs to it too (in the lab file,
//!   one actor runs its steps one after another).
//! - **Order.** In the session, the learner's lines ran in the order they
//!   were typed. In a lab, actors run at once; a `signal`/`wait` pair
//!   between two lines of different actors keeps the order. A step that was
//!   still blocked when the next line was typed (`conn.recv` waiting for
//!   the client's send) signals *before* it starts, so its peer can act; a
//!   step that had finished signals after it.
//! - **Addresses.** Ports the OS picked in the session will differ in the
//!   replay: a bound socket is published under its name, and a `connect`
//!   or `sendto` to that address names the socket instead.
//!
//! What each call returned becomes an `[[expect]]`, so the replay checks
//! that it did what the session did: the same bytes, the same errors.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::translate::lab_text;
use crate::catalog::Step;
use crate::catalog::step::Action;
use crate::trace::{Call, Op};

/// One line of the session that ran a step.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Lines are numbered as they are typed; the entries are in this order.
    pub id: u64,
    /// The line as typed.
    pub line: String,
    /// The socket whose thread ran it.
    pub socket: String,
    pub step: Step,
    /// The step had not finished when the next line was typed.
    pub overlapped: bool,
    /// What its calls did.
    pub calls: Vec<Call>,
}

/// The lab file text of a session. `id` must look like `NN-slug`.
///
/// A session the lab format cannot replay as typed is refused, with the
/// two lines in the way (see [`concurrent_in_one_actor`]).
pub fn lab_file(id: &str, entries: &[Entry]) -> Result<String, String> {
    // Which actor each socket belongs to: its own, or its listener's.
    let mut family: BTreeMap<String, String> = BTreeMap::new();
    for e in entries {
        match &e.step.action {
            Action::Socket(s) => {
                family.insert(s.name.clone(), s.name.clone());
            }
            Action::Accept(a) => {
                let owner = family.get(&a.on).cloned().unwrap_or_else(|| a.on.clone());
                family.insert(a.name.clone(), owner);
            }
            _ => {}
        }
    }
    let actor_of = |socket: &str| family.get(socket).cloned().unwrap_or(socket.to_string());
    if let Some((first, second)) = concurrent_in_one_actor(entries, &actor_of) {
        return Err(format!(
            "cannot save: `{}` was still waiting when `{}` ran, and in a lab file one actor (`{}`) runs its steps one after the other, so the replay would wait forever; let the first call finish before typing the second, then save",
            first.line.trim(),
            second.line.trim(),
            actor_of(&first.socket)
        ));
    }
    // The address each bound socket had, to name it instead.
    let mut bound: BTreeMap<String, String> = BTreeMap::new();
    for e in entries {
        if let Action::Bind(_) = e.step.action {
            for c in e
                .calls
                .iter()
                .filter(|c| c.op == Op::Bind && c.error.is_none())
            {
                if let Some(local) = c.local {
                    bound.insert(local.to_string(), e.socket.clone());
                }
            }
        }
    }
    // Each actor's steps, each with the line it came from (if any).
    let mut steps: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut push = |actor: &str, text: String, line: Option<&str>| {
        if !order.iter().any(|a| a == actor) {
            order.push(actor.to_string());
        }
        let line = line.map(|l| l.trim().replace(['\n', '\r'], " "));
        steps
            .entry(actor.to_string())
            .or_default()
            .push((text, line));
    };
    for (i, e) in entries.iter().enumerate() {
        let actor = actor_of(&e.socket);
        let mut step = e.step.clone();
        match &mut step.action {
            Action::Bind(b) => b.publish = Some(e.socket.clone()),
            Action::Connect(c) => {
                if let Some(name) = bound.get(&c.to) {
                    c.to = name.clone();
                }
            }
            Action::SendTo(s) => {
                if let Some(name) = bound.get(&s.to) {
                    s.to = name.clone();
                }
            }
            _ => {}
        }
        let next = entries.get(i + 1).map(|n| actor_of(&n.socket));
        let hand_over = next.as_ref().is_some_and(|n| *n != actor);
        let signal = format!("{{ op = \"signal\", event = \"line{}\" }}", i + 1);
        if i > 0 && actor_of(&entries[i - 1].socket) != actor {
            push(
                &actor,
                format!("{{ op = \"wait\", event = \"line{i}\" }}"),
                None,
            );
        }
        if hand_over && e.overlapped {
            push(&actor, signal.clone(), None);
        }
        push(&actor, step.to_string(), Some(&e.line));
        if hand_over && !e.overlapped {
            push(&actor, signal, None);
        }
    }

    let mut out = String::new();
    let _ = writeln!(out, "id = \"{id}\"");
    let _ = writeln!(out, "title = \"A session typed in lab repl\"");
    let _ = writeln!(out, "chapter = \"repl\"");
    let _ = writeln!(
        out,
        "summary = \"The calls of a lab repl session, in the order they were typed.\""
    );
    let _ = writeln!(
        out,
        "explain = \"\"\"\nWritten by `save` in `lab repl`: each socket is an actor, and signal/wait\nsteps keep the order the lines were typed in. The checks below hold what\neach call did in the session.\n\"\"\""
    );
    for actor in &order {
        let _ = writeln!(out, "\n[[actor]]\nname = \"{actor}\"\nsteps = [");
        for (step, line) in &steps[actor] {
            // The comment after a step names the line it came from.
            match line {
                Some(line) => {
                    let _ = writeln!(out, "  {step},  # {line}");
                }
                None => {
                    let _ = writeln!(out, "  {step},");
                }
            }
        }
        let _ = writeln!(out, "]");
    }
    // What each call did, numbered as checks number them: the n-th call
    // of that op by that actor.
    let mut counts: BTreeMap<(String, Op), usize> = BTreeMap::new();
    for e in entries {
        let actor = actor_of(&e.socket);
        for c in &e.calls {
            let n = counts.entry((actor.clone(), c.op)).or_default();
            *n += 1;
            let target = format!("{actor}.{}#{n}", c.op);
            let assertion = match (&c.error, c.op) {
                (Some(err), _) => Some(format!("error = \"{err}\"")),
                (None, op) if op.is_recv() => c
                    .data
                    .as_ref()
                    .map(|d| format!("data = \"{}\"", toml_escape(&lab_text(d)))),
                (None, op) if op.is_send() => c.returned.map(|n| format!("returned = {n}")),
                (None, Op::Accept | Op::Connect | Op::Bind | Op::Listen) => {
                    Some("error = \"none\"".to_string())
                }
                _ => None,
            };
            if let Some(a) = assertion {
                let _ = writeln!(
                    out,
                    "\n[[expect]]\nname = \"{}\"\ncall = \"{target}\"\n{a}",
                    toml_escape(&format!("as in the session: {}", e.line.trim()))
                );
            }
        }
    }
    Ok(out)
}

/// Two lines of the session that ran at the same time on two sockets that
/// a lab file gives to one actor (a connection and the listener that
/// accepted it), if any: a `conn.recv` still blocked when
/// `server.accept()` for a second client ran. In the session each socket
/// had its own thread; in the lab, one actor would wait in the first call
/// before it could make the second.
fn concurrent_in_one_actor<'e>(
    entries: &'e [Entry],
    actor_of: &dyn Fn(&str) -> String,
) -> Option<(&'e Entry, &'e Entry)> {
    let end = |e: &Entry| e.calls.iter().map(|c| c.t_us + c.waited_us).max();
    let start = |e: &Entry| e.calls.iter().map(|c| c.t_us).min();
    for (i, first) in entries.iter().enumerate() {
        let Some(ended) = end(first).filter(|_| first.overlapped) else {
            continue;
        };
        let actor = actor_of(&first.socket);
        let clash = entries[i + 1..].iter().find(|later| {
            later.socket != first.socket
                && actor_of(&later.socket) == actor
                && start(later).is_some_and(|t| t < ended)
        });
        if let Some(second) = clash {
            return Some((first, second));
        }
    }
    None
}

/// Text inside a TOML basic string: backslashes and quotes escaped (the
/// lab's own `\xNN` escapes survive as text, unescaped by the loader).
fn toml_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A lab id from a file name: `my-session.toml` gives `00-my-session`.
pub fn id_for(path: &std::path::Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let slug: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let slug = slug.trim_matches('-');
    let has_number = slug.len() > 3
        && slug.as_bytes()[..2].iter().all(u8::is_ascii_digit)
        && slug.as_bytes()[2] == b'-';
    if has_number {
        slug.to_string()
    } else if slug.is_empty() {
        "00-repl-session".to_string()
    } else {
        format!("00-{slug}")
    }
}
