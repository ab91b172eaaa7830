//! Expectations: facts a lab claims about its own trace, checked after
//! the run. They claim only what always holds on Linux; timing-dependent
//! behaviour is shown and explained, never asserted.

use crate::catalog::{ExpectDef, Lab, Tpl};
use crate::escape;
use crate::expr::{self, Scope};
use crate::trace::Call;

pub use crate::trace::Verdict;

/// Checks every expectation of `lab` that applies to these knob values.
/// `scope` holds the knobs and the values saved during the run.
pub fn check_all(
    lab: &Lab,
    scope: &Scope,
    calls: &[Call],
    failures: &[(String, String)],
) -> Vec<Verdict> {
    let mut out = Vec::new();
    for (actor, message) in failures {
        out.push(Verdict {
            name: format!("actor `{actor}` ran all its steps"),
            passed: false,
            detail: message.clone(),
            explain: None,
        });
    }
    for exp in &lab.def.expects {
        let e = exp.get_ref();
        let applies = match &e.when {
            Some(w) => expr::eval_bool(w, scope),
            None => Ok(true),
        };
        let verdict = match applies {
            Ok(false) => continue,
            Ok(true) => check(e, scope, calls),
            Err(m) => Err(m),
        };
        out.push(match verdict {
            Ok(detail) => Verdict {
                name: e.name.clone(),
                passed: true,
                detail,
                explain: e.explain.clone(),
            },
            Err(detail) => Verdict {
                name: e.name.clone(),
                passed: false,
                detail,
                explain: e.explain.clone(),
            },
        });
    }
    out
}

/// `Ok(what was seen)` or `Err(what differed)`.
fn check(e: &ExpectDef, scope: &Scope, calls: &[Call]) -> Result<String, String> {
    let int = |t: &Tpl| t.int(scope);
    if let Some(target) = &e.call {
        let (call, name) = find_call(target, calls)?;
        let mut seen = vec![describe(&name, call)];
        if let Some(t) = &e.returned {
            want_eq(&seen[0], call.returned, Some(int(t)?))?;
        }
        if let Some(t) = &e.returned_min {
            let min = int(t)?;
            if call.returned.is_none_or(|r| r < min) {
                return Err(format!("{}: expected a return of at least {min}", seen[0]));
            }
        }
        if let Some(t) = &e.returned_max {
            let max = int(t)?;
            if call.returned.is_none_or(|r| r > max) {
                return Err(format!("{}: expected a return of at most {max}", seen[0]));
            }
        }
        if let Some(d) = &e.data {
            let want = bytes(d, scope)?;
            let got = call.data.as_deref().unwrap_or_default();
            if got != want.as_slice() {
                return Err(format!(
                    "{}: expected data \"{}\"",
                    seen[0],
                    escape::preview(&want, 64).0
                ));
            }
        }
        let got = call.data.as_deref().unwrap_or_default();
        if let Some(d) = &e.contains {
            let want = bytes(d, scope)?;
            if !has(got, &want) {
                return Err(format!(
                    "{}: expected the bytes to contain \"{}\"",
                    seen[0],
                    escape::preview(&want, 64).0
                ));
            }
        }
        if let Some(d) = &e.excludes {
            let unwanted = bytes(d, scope)?;
            if has(got, &unwanted) {
                return Err(format!(
                    "{}: expected the bytes not to contain \"{}\"",
                    seen[0],
                    escape::preview(&unwanted, 64).0
                ));
            }
        }
        if let Some(err) = &e.error {
            let got = call.error.as_deref().unwrap_or("none");
            if got != err {
                return Err(format!("{}: expected error {err}", seen[0]));
            }
        }
        if let Some(t) = e.truncated
            && call.truncated != Some(t)
        {
            return Err(format!("{}: expected truncated={t}", seen[0]));
        }
        if let Some(t) = &e.datagram_len {
            want_eq(
                "datagram length",
                call.datagram_len.map(|n| n as i64),
                Some(int(t)?),
            )?;
        }
        if let Some(t) = &e.waited_ms_min {
            let min = int(t)?;
            if ((call.lab_waited_us() / 1000) as i64) < min {
                return Err(format!("{}: expected a wait of at least {min} ms", seen[0]));
            }
            seen.push(format!("waited {} ms", call.lab_waited_us() / 1000));
        }
        if let Some(other) = &e.before {
            let (later, later_name) = find_call(other, calls)?;
            let returned_at = call.t_us + call.waited_us;
            if returned_at > later.t_us {
                return Err(format!(
                    "{}: expected it to return before {later_name} began; it returned {} µs after",
                    seen[0],
                    returned_at - later.t_us
                ));
            }
            seen.push(format!("then {}", describe(&later_name, later)));
        }
        if let Some(t) = &e.repeat_min {
            let min = int(t)?;
            if (call.repeat as i64) < min {
                return Err(format!(
                    "{}: expected at least {min} calls in a row",
                    seen[0]
                ));
            }
        }
        return Ok(seen.join(", "));
    }

    let target = e.select.as_deref().unwrap_or_default();
    let picked = select(target, calls);
    // Folded repeats (a spinning loop) only ever return 0, so a plain sum
    // over records is the sum over calls.
    let total: i64 = picked.iter().filter_map(|c| c.returned).sum();
    let joined: Vec<u8> = picked
        .iter()
        .flat_map(|c| c.data.clone().unwrap_or_default())
        .collect();
    // A folded spin record stands for `repeat` calls.
    let count: i64 = picked.iter().map(|c| c.repeat.max(1) as i64).sum();
    // Bytes add up only for calls that move bytes; the results of other
    // calls (fd numbers, message counts) are not summed into a claim.
    let moved_bytes = !picked.is_empty() && picked.iter().all(|c| c.is_send() || c.is_recv());
    let calls_word = if count == 1 { "call" } else { "calls" };
    let seen = if moved_bytes {
        format!("{target}: {count} {calls_word}, {total} B in all")
    } else if e.sum_returned.is_some() {
        format!("{target}: {count} {calls_word}, returning {total} in all")
    } else {
        format!("{target}: {count} {calls_word}")
    };
    if let Some(t) = &e.count {
        let want = int(t)?;
        if count != want {
            return Err(format!("{seen}; expected {want} calls"));
        }
    }
    if let Some(t) = &e.sum_returned {
        let want = int(t)?;
        if total != want {
            let unit = if moved_bytes { " B" } else { "" };
            return Err(format!("{seen}; expected {want}{unit} in all"));
        }
    }
    if let Some(d) = &e.concat {
        let want = bytes(d, scope)?;
        if joined != want {
            return Err(format!(
                "{seen}: got \"{}\", expected \"{}\"",
                escape::preview(&joined, 64).0,
                escape::preview(&want, 64).0
            ));
        }
    }
    if let Some(other) = &e.same_bytes_as {
        let theirs: Vec<u8> = select(other, calls)
            .iter()
            .flat_map(|c| c.data.clone().unwrap_or_default())
            .collect();
        if joined != theirs {
            let at = joined
                .iter()
                .zip(&theirs)
                .position(|(a, b)| a != b)
                .unwrap_or(joined.len().min(theirs.len()));
            return Err(format!(
                "{seen}; {other} moved {} B; the bytes differ from offset {at}",
                theirs.len()
            ));
        }
        return Ok(format!("{seen}, identical to {other}"));
    }
    Ok(seen)
}

fn want_eq(what: &str, got: Option<i64>, want: Option<i64>) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        let show =
            |v: Option<i64>| v.map_or("nothing (the call failed)".to_string(), |n| n.to_string());
        Err(format!(
            "{what}: expected {}, got {}",
            show(want),
            show(got)
        ))
    }
}

/// Whether `needle` occurs in `hay` (an empty needle always does).
fn has(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fn bytes(template: &str, scope: &Scope) -> Result<Vec<u8>, String> {
    escape::unescape(&expr::expand(template, scope)?.to_string())
}

/// `actor.op1|op2` (or `actor.*`): the matching calls, in time order.
pub fn select<'a>(target: &str, calls: &'a [Call]) -> Vec<&'a Call> {
    let (actor, ops) = target.split_once('.').unwrap_or((target, "*"));
    let ops: Vec<&str> = ops.split('|').collect();
    calls
        .iter()
        .filter(|c| c.actor == actor && (ops.contains(&"*") || ops.contains(&c.op.name())))
        .collect()
}

/// `actor.op#n`: the n-th such call (from 1; `#-1` is the last), and its
/// name with the number counted from the start (`client.send#5`).
pub fn find_call<'a>(target: &str, calls: &'a [Call]) -> Result<(&'a Call, String), String> {
    let (sel, n) = target.split_once('#').unwrap_or((target, "1"));
    let n: i64 = n
        .parse()
        .map_err(|_| format!("bad call number in `{target}`"))?;
    let picked = select(sel, calls);
    let index = if n < 0 {
        picked.len() as i64 + n
    } else {
        n - 1
    };
    usize::try_from(index)
        .ok()
        .and_then(|i| picked.get(i).map(|c| (*c, format!("{sel}#{}", i + 1))))
        .ok_or_else(|| {
            format!(
                "{target}: the run made only {} such call{}",
                picked.len(),
                if picked.len() == 1 { "" } else { "s" }
            )
        })
}

/// One line on what a call did, for verdict details.
pub fn describe(target: &str, c: &Call) -> String {
    match (&c.returned, &c.error) {
        (_, Some(err)) => format!(
            "{target} failed with {err}{}",
            if c.timed_out { " (watchdog)" } else { "" }
        ),
        (Some(n), None)
            if c.data
                .as_ref()
                .is_some_and(|d| !d.is_empty() || c.is_recv()) =>
        {
            let (text, cut) = escape::preview(c.data.as_deref().unwrap_or_default(), 40);
            // A send or recv returns bytes; a course op (`command`, `get`)
            // returns what its own row says, with the bytes it moved.
            let unit = if c.is_send() || c.is_recv() { " B" } else { "" };
            format!(
                "{target} returned {n}{unit} \"{text}{}\"",
                if cut { "…" } else { "" }
            )
        }
        (Some(n), None) if c.op.returns_fd() => {
            format!("{target} returned fd {n}")
        }
        (Some(n), None) => format!("{target} returned {n}"),
        (None, None) => format!("{target} returned nothing"),
    }
}
