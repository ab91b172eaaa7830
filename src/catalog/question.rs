//! A lab's questions: predict, then observe (`lab run ID --predict`).
//!
//! A question is content, like the rest of a lab file. A teacher writes it
//! as a `[[question]]` table and names it from the step that carries the
//! lesson, with `ask`; the run stops before that step, puts the question,
//! reads the learner's answer, and runs on:
//!
//! ```toml
//! [[actor]]
//! name = "server"
//! steps = [
//!   # ...
//!   { op = "recv", on = "conn", size = "${recv1}", ask = "first-recv" },
//! ]
//!
//! [[question]]
//! name = "first-recv"
//! ask = "How many bytes will the server's recv(${recv1}) return?"
//! kind = "number"               # number | error | choice
//! field = "returned"            # number: returned | datagram_len
//! call = "server.recv#1"        # the call that answers it, as [[expect]] names calls
//! explain = "Both sends were already waiting in the receive buffer."
//! ```
//!
//! The right answer is never written in the file: it is read off the
//! trace of the run the learner just watched, so the same question has a
//! different answer under other knobs (`--set recv1=2`), and a question
//! whose lesson the kernel stopped teaching cannot be marked right by a
//! stale file. What each kind reads off the call:
//!
//! - `number`: the call's `field`, `returned` or `datagram_len`.
//! - `error`: the errno name the call failed with (`EAGAIN`), or `none`
//!   when it did not fail. Compared without regard to case; `EWOULDBLOCK`
//!   is `EAGAIN` (one number on Linux).
//! - `choice`: `choices = [{ text = "...", when = "expr" }, ...]`. The
//!   right choice is the one whose `when` holds for what the call did: an
//!   expression (see [`crate::expr`]) over the knobs and the call's own
//!   [`CALL_FIELDS`]. Exactly one must hold; when none or several do, the
//!   question is not judged, and the learner is told why.
//!
//! `ask` and a choice's `text` may hold `${knob}`. Load-time validation
//! (with the file's line) makes sure that every `ask` names a question,
//! that each question is asked by exactly one step, that `call` names an
//! actor and an op, and that every name an expression uses exists.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{Lab, LabError};
use crate::expr::{self, Scope, Value};
use crate::trace::Call;

/// One `[[question]]` of a lab file.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// What steps name it by (`ask = "first-recv"`).
    pub name: String,
    /// The question, as the learner reads it; may hold `${knob}`.
    pub ask: String,
    /// The call whose result answers it: `actor.op#n` (`#-1` the last).
    pub call: String,
    /// Shown with the verdict, right or wrong.
    pub explain: String,
    /// What kind of answer it takes, and how the call gives it.
    pub kind: Kind,
}

/// What kind of answer a question takes: one variant per `kind`, each with
/// exactly the fields that kind needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Kind {
    /// A number the call gave back.
    Number { field: Field },
    /// The errno name the call failed with, or `none`.
    Error {},
    /// One of a few choices; the call's fields say which is right.
    Choice { choices: Vec<Choice> },
}

/// The number a `number` question reads off its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// What the call returned (bytes, for a send or a recv).
    Returned,
    /// A datagram's real length, however much of it the buffer took.
    DatagramLen,
}

/// One choice of a `choice` question.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// What the learner reads; may hold `${knob}`.
    pub text: String,
    /// When this choice is the right one: an expression over the knobs
    /// and the call's [`CALL_FIELDS`].
    pub when: String,
}

/// The names a choice's `when` may use for what its call did:
///
/// - `returned`: what the call returned; -1 when it failed, as in C.
/// - `error`: the errno name it failed with, or `'none'`.
/// - `data`: the bytes it moved, as text.
/// - `datagram_len`, `truncated`: for a datagram receive.
/// - `waited_ms`: how long the call took, in ms of lab time (a pause of
///   the learner's is not counted).
/// - `repeat`: how many identical calls in a row the record stands for.
pub const CALL_FIELDS: [&str; 7] = [
    "returned",
    "error",
    "data",
    "datagram_len",
    "truncated",
    "waited_ms",
    "repeat",
];

// As with a step (see `step.rs`), serde cannot combine `flatten` with
// `deny_unknown_fields`: the fields every question has come off first, and
// the rest must be exactly one kind's fields.
impl<'de> Deserialize<'de> for Question {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Question, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        let mut text = |key: &str| match table.remove(key) {
            Some(toml::Value::String(s)) => Ok(s),
            Some(other) => Err(D::Error::custom(format!(
                "a question's `{key}` is text in quotes, not {other}"
            ))),
            None => Err(D::Error::custom(format!("a question needs `{key}`"))),
        };
        let (name, ask, call, explain) =
            (text("name")?, text("ask")?, text("call")?, text("explain")?);
        let kind = match table.get("kind") {
            Some(toml::Value::String(k)) if ["number", "error", "choice"].contains(&k.as_str()) => {
                k.clone()
            }
            _ => {
                return Err(D::Error::custom(format!(
                    "question `{name}` needs `kind`: number, error or choice"
                )));
            }
        };
        let kind = Kind::deserialize(toml::Value::Table(table)).map_err(|e| {
            let first = e.message().lines().next().unwrap_or("bad question");
            D::Error::custom(format!("question `{name}` (kind {kind}): {first}"))
        })?;
        Ok(Question {
            name,
            ask,
            call,
            explain,
            kind,
        })
    }
}

/// What one run says of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// The call happened: `right` is the answer this run gave, `seen` what
    /// the call did, `correct` whether the learner's answer was it.
    Judged {
        right: String,
        seen: String,
        correct: bool,
    },
    /// This run cannot say (the call never happened, no choice fits), and
    /// why.
    NotJudged(String),
}

impl Question {
    /// The question as the learner reads it, with the knobs filled in.
    pub fn text(&self, knobs: &Scope) -> String {
        filled(&self.ask, knobs)
    }

    /// `a) ...`, `b) ...`: the choices of a `choice` question, filled in.
    pub fn choices(&self, knobs: &Scope) -> Vec<String> {
        match &self.kind {
            Kind::Choice { choices } => choices
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{}) {}", letter(i), filled(&c.text, knobs)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// What an answer looks like, for the prompt: `a number`.
    pub fn form(&self) -> String {
        match &self.kind {
            Kind::Number { .. } => "a number".into(),
            Kind::Error {} => "an errno name, or none".into(),
            Kind::Choice { choices } => {
                format!("a letter, a to {}", letter(choices.len().saturating_sub(1)))
            }
        }
    }

    /// Whether `answer` has the form this question takes (a number, a
    /// name, one of the letters); `Err` says what it takes.
    pub fn reads(&self, answer: &str) -> Result<(), String> {
        let a = answer.trim();
        let fits = match &self.kind {
            Kind::Number { .. } => a.parse::<i64>().is_ok(),
            Kind::Error {} => {
                let key = errno_key(a);
                if key != "NONE" && crate::runner::errno_number(&key).is_none() {
                    // A typo would be judged wrong; asked again instead.
                    return Err(format!(
                        "`{a}` is not an errno name{}",
                        closest_errno(&key)
                            .map_or(String::new(), |n| format!("; did you mean {n}?"))
                    ));
                }
                true
            }
            Kind::Choice { choices } => picked(a, choices).is_some(),
        };
        if fits {
            Ok(())
        } else {
            Err(format!("`{a}` is not {}", self.form()))
        }
    }

    /// Judges `answer` (`None`: the learner gave none) against what this
    /// run's `calls` did, with the run's `knobs`.
    pub fn judge(&self, answer: Option<&str>, calls: &[Call], knobs: &Scope) -> Judgement {
        let (call, name) = match crate::check::find_call(&self.call, calls) {
            Ok(found) => found,
            Err(why) => return Judgement::NotJudged(why),
        };
        let seen = crate::check::describe(&name, call);
        let answer = answer.map(str::trim).filter(|a| !a.is_empty());
        match &self.kind {
            Kind::Number { field } => {
                let value = match field {
                    Field::Returned => call.returned,
                    Field::DatagramLen => match call.datagram_len {
                        Some(n) => Some(n as i64),
                        None => {
                            return Judgement::NotJudged(format!(
                                "{seen}: it is not a datagram receive, so it has no datagram length"
                            ));
                        }
                    },
                };
                let Some(value) = value else {
                    // A failed call gives back no number: any number is wrong.
                    let err = call.error.as_deref().unwrap_or("an error");
                    return Judgement::Judged {
                        right: format!("no number: it failed with {err}"),
                        seen,
                        correct: false,
                    };
                };
                let correct = answer.and_then(|a| a.parse::<i64>().ok()) == Some(value);
                Judgement::Judged {
                    right: value.to_string(),
                    seen,
                    correct,
                }
            }
            Kind::Error {} => {
                let right = call.error.clone().unwrap_or_else(|| "none".into());
                let correct = answer.is_some_and(|a| errno_key(a) == errno_key(&right));
                Judgement::Judged {
                    right,
                    seen,
                    correct,
                }
            }
            Kind::Choice { choices } => {
                let mut scope = knobs.clone();
                scope.extend(facts(call));
                let mut fit = Vec::new();
                for (i, c) in choices.iter().enumerate() {
                    match expr::eval_bool(&c.when, &scope) {
                        Ok(true) => fit.push(i),
                        Ok(false) => {}
                        Err(e) => {
                            return Judgement::NotJudged(format!(
                                "{seen}; choice {} cannot be worked out for it: {e}",
                                letter(i)
                            ));
                        }
                    }
                }
                let seen = if choices.iter().any(|c| c.when.contains("waited_ms")) {
                    format!("{seen}, after {} ms", call.lab_waited_us() / 1000)
                } else {
                    seen
                };
                match fit[..] {
                    [i] => Judgement::Judged {
                        right: format!("{}) {}", letter(i), filled(&choices[i].text, knobs)),
                        seen,
                        correct: answer.and_then(|a| picked(a, choices)) == Some(i),
                    },
                    [] => Judgement::NotJudged(format!("{seen}; none of the choices fits that")),
                    _ => {
                        let letters: Vec<String> = fit.iter().map(|i| letter(*i)).collect();
                        Judgement::NotJudged(format!(
                            "{seen}; choices {} all fit that",
                            letters.join(", ")
                        ))
                    }
                }
            }
        }
    }
}

/// What a call did, under the names of [`CALL_FIELDS`].
pub fn facts(call: &Call) -> Scope {
    let mut s = Scope::new();
    s.insert("returned".into(), Value::Int(call.returned.unwrap_or(-1)));
    let error = call.error.clone().unwrap_or_else(|| "none".into());
    s.insert("error".into(), Value::Str(error));
    let data = String::from_utf8_lossy(call.data.as_deref().unwrap_or_default());
    s.insert("data".into(), Value::Str(data.into_owned()));
    if let Some(n) = call.datagram_len {
        s.insert("datagram_len".into(), Value::Int(n as i64));
    }
    if let Some(t) = call.truncated {
        s.insert("truncated".into(), Value::Bool(t));
    }
    s.insert(
        "waited_ms".into(),
        Value::Int((call.lab_waited_us() / 1000) as i64),
    );
    s.insert("repeat".into(), Value::Int(call.repeat as i64));
    s
}

/// `a`, `b`, ...: the letter of the `i`-th choice.
fn letter(i: usize) -> String {
    char::from(b'a' + (i.min(25) as u8)).to_string()
}

/// The choice an answer picks: its letter (`b`, `b)`), its number from 1,
/// or its text.
fn picked(answer: &str, choices: &[Choice]) -> Option<usize> {
    let a = answer.trim().trim_end_matches(')').to_lowercase();
    let by_letter = (0..choices.len()).find(|i| letter(*i) == a);
    let by_number = a
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=choices.len()).contains(n))
        .map(|n| n - 1);
    let by_text = choices.iter().position(|c| c.text.to_lowercase() == a);
    by_letter.or(by_number).or(by_text)
}

/// The errno name closest to a mistyped one, if one is within two edits.
fn closest_errno(typed: &str) -> Option<String> {
    (1..135)
        .map(|code| crate::runner::errno_name(&std::io::Error::from_raw_os_error(code)))
        .filter(|n| !n.starts_with("errno "))
        .map(|n| (super::distance(typed, &n), n))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| n)
}

/// An errno name as compared: upper case, and EWOULDBLOCK as EAGAIN.
fn errno_key(name: &str) -> String {
    match name.trim().to_uppercase().as_str() {
        "EWOULDBLOCK" => "EAGAIN".into(),
        other => other.into(),
    }
}

/// A text with `${...}` filled in from `knobs`, or as written if it cannot
/// be (validation makes sure it can).
fn filled(text: &str, knobs: &Scope) -> String {
    expr::expand(text, knobs).map_or_else(|_| text.to_string(), |v| v.to_string())
}

/// The cross-references serde cannot check: each step's `ask` names a
/// question, each question is asked by exactly one step, its `call` names
/// an actor and an op, and its texts and expressions use names that exist.
/// `knobs` holds each knob at its default.
pub(super) fn validate(
    lab: &Lab,
    actors: &BTreeSet<String>,
    knobs: &Scope,
) -> Result<(), LabError> {
    let def = &lab.def;
    let mut lines: BTreeMap<&str, usize> = BTreeMap::new();
    for q in &def.questions {
        let at = |m: String| lab.error_at(q.span().start, m);
        let question = q.get_ref();
        let name = question.name.as_str();
        if name.is_empty() {
            return Err(at("a question needs a `name`".into()));
        }
        if let Some(line) = lines.insert(name, lab.line(q.span().start)) {
            return Err(at(format!(
                "question `{name}` is declared twice (first at line {line})"
            )));
        }
        super::validate::check_target(&question.call, true, actors)
            .map_err(|e| at(format!("question `{name}`: {e}")))?;
        let mut texts = vec![question.ask.as_str()];
        if let Kind::Choice { choices } = &question.kind {
            if !(2..=26).contains(&choices.len()) {
                return Err(at(format!(
                    "question `{name}`: a choice question needs 2 to 26 choices"
                )));
            }
            // Placeholders for what the call did, to try each `when` on.
            let mut scope = knobs.clone();
            scope.extend(facts(&Call::new(0, "", crate::trace::Op::Recv)));
            for (i, c) in choices.iter().enumerate() {
                texts.push(&c.text);
                let bad = |m: String| at(format!("question `{name}`, choice {}: {m}", letter(i)));
                for n in expr::names(&c.when).map_err(&bad)? {
                    if !knobs.contains_key(&n) && !CALL_FIELDS.contains(&n.as_str()) {
                        return Err(bad(format!(
                            "unknown name `{n}` in `when`: not a knob or one of the call's fields ({})",
                            CALL_FIELDS.join(", ")
                        )));
                    }
                }
                if let Err(e) = expr::eval_bool(&c.when, &scope)
                    && !e.contains("unknown name")
                {
                    return Err(bad(e));
                }
            }
            if let Some(k) = CALL_FIELDS.iter().find(|f| knobs.contains_key(**f)) {
                return Err(at(format!(
                    "question `{name}`: knob `{k}` has the name of a call's field, so a `when` could not tell them apart"
                )));
            }
        }
        for t in texts {
            for n in expr::template_names(t).map_err(|e| at(format!("question `{name}`: {e}")))? {
                if !knobs.contains_key(&n) {
                    return Err(at(format!(
                        "question `{name}`: `${{{n}}}` is not a knob (a question is put before the run has saved anything)"
                    )));
                }
            }
        }
    }

    // Every `ask` names a question; every question is asked once.
    let mut asked: BTreeMap<String, usize> = BTreeMap::new();
    let listed = || {
        let names: Vec<&str> = lines.keys().copied().collect();
        if names.is_empty() {
            "the lab has no [[question]]".to_string()
        } else {
            format!("its questions are: {}", names.join(", "))
        }
    };
    for actor in &def.actors {
        for step in &actor.steps {
            let Some(name) = &step.get_ref().ask else {
                continue;
            };
            let here = lab.line(step.span().start);
            let at = |m: String| lab.error_at(step.span().start, m);
            if !lines.contains_key(name.as_str()) {
                return Err(at(format!(
                    "`ask = \"{name}\"`: no [[question]] is named `{name}`; {}",
                    listed()
                )));
            }
            if let Some(first) = asked.insert(name.clone(), here) {
                return Err(at(format!(
                    "question `{name}` is already asked by the step at line {first}: a question is put before one step"
                )));
            }
        }
    }
    if let Some(serve) = &def.serve
        && serve.step.get_ref().ask.is_some()
    {
        return Err(lab.error_at(
            serve.step.span().start,
            "[serve]'s step asks nothing: `lab serve` puts no questions",
        ));
    }
    for q in &def.questions {
        let name = &q.get_ref().name;
        if !asked.contains_key(name) {
            return Err(lab.error_at(
                q.span().start,
                format!(
                    "question `{name}` is asked by no step: add `ask = \"{name}\"` to the step it comes before"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Op;

    const LAB: &str = r#"id = "90-ask"
title = "t"
chapter = "1"
summary = "s"
explain = "e"

[[knob]]
name = "size"
type = "int"
default = 1024
help = "h"

[[actor]]
name = "server"
steps = [
  { op = "listen", as = "srv", publish = "server" },
  { op = "accept", on = "srv", as = "conn" },
  { op = "recv", on = "conn", size = "${size}", ask = "first" },
]

[[actor]]
name = "client"
steps = [
  { op = "connect", to = "server", as = "c" },
  { op = "send", on = "c", data = "hellofeng" },
]

[[question]]
name = "first"
ask = "How many bytes will recv(${size}) return?"
kind = "number"
field = "returned"
call = "server.recv#1"
explain = "x"
"#;

    fn parse(text: &str) -> Result<Lab, String> {
        Lab::parse("labs/90-ask.toml", text).map_err(|e| e.to_string())
    }

    fn recv(returned: Option<i64>, error: Option<&str>, data: &str) -> Call {
        let mut c = Call::new(10, "server", Op::Recv);
        c.returned = returned;
        c.error = error.map(str::to_string);
        c.data = Some(data.as_bytes().to_vec());
        c
    }

    #[test]
    fn a_question_reads_into_its_kind() {
        let lab = parse(LAB).unwrap();
        let q = lab.def.questions[0].get_ref();
        assert_eq!(
            q.kind,
            Kind::Number {
                field: Field::Returned
            }
        );
        let knobs = lab.knob_values(&[]).unwrap();
        assert_eq!(q.text(&knobs), "How many bytes will recv(1024) return?");
        let steps = &lab.def.actors[0].steps;
        assert_eq!(steps[2].get_ref().ask.as_deref(), Some("first"));
    }

    #[test]
    fn mistakes_in_questions_are_load_errors_with_their_line() {
        let cases = [
            // A kind's fields, and only those.
            (
                LAB.replace("field = \"returned\"\n", ""),
                "labs/90-ask.toml:28: question `first` (kind number): missing field `field`",
            ),
            (
                LAB.replace("field = \"returned\"", "field = \"returned\"\nchoices = []"),
                "question `first` (kind number): unknown field `choices`",
            ),
            (
                LAB.replace("kind = \"number\"", "kind = \"guess\""),
                "question `first` needs `kind`: number, error or choice",
            ),
            // The call must be one the run could make.
            (
                LAB.replace("server.recv#1", "server.recv"),
                "question `first`: `server.recv` needs `#n`",
            ),
            (
                LAB.replace("server.recv#1", "sever.recv#1"),
                "question `first`: `sever.recv#1`: no actor `sever`",
            ),
            // Steps and questions name each other exactly once.
            (
                LAB.replace("ask = \"first\"", "ask = \"frist\""),
                "labs/90-ask.toml:18: `ask = \"frist\"`: no [[question]] is named `frist`; its questions are: first",
            ),
            (
                LAB.replace(", ask = \"first\"", ""),
                "labs/90-ask.toml:28: question `first` is asked by no step",
            ),
            (
                LAB.replace(
                    "data = \"hellofeng\" }",
                    "data = \"hellofeng\", ask = \"first\" }",
                ),
                "labs/90-ask.toml:25: question `first` is already asked by the step at line 18",
            ),
            (
                LAB.replace("recv(${size})", "recv(${sise})"),
                "question `first`: `${sise}` is not a knob",
            ),
        ];
        for (text, want) in cases {
            let e = parse(&text).unwrap_err();
            assert!(e.contains(want), "want {want}\n got {e}");
        }
    }

    #[test]
    fn a_choice_is_judged_by_its_when_over_the_call() {
        let text = LAB.replace(
            "kind = \"number\"\nfield = \"returned\"",
            "kind = \"choice\"\nchoices = [\n  { text = \"all ${size}\", when = \"returned == size\" },\n  { text = \"fewer\", when = \"returned >= 0 && returned < size\" },\n  { text = \"it fails\", when = \"error != 'none'\" },\n]",
        );
        let lab = parse(&text).unwrap();
        let q = lab.def.questions[0].get_ref();
        let knobs = lab.knob_values(&[]).unwrap();
        assert_eq!(q.choices(&knobs)[0], "a) all 1024");
        let calls = [recv(Some(9), None, "hellofeng")];
        let Judgement::Judged { right, correct, .. } = q.judge(Some("B"), &calls, &knobs) else {
            panic!("not judged")
        };
        assert_eq!(right, "b) fewer");
        assert!(correct);
        assert!(matches!(
            q.judge(Some("2"), &calls, &knobs),
            Judgement::Judged { correct: true, .. }
        ));
        assert!(matches!(
            q.judge(Some("a"), &calls, &knobs),
            Judgement::Judged { correct: false, .. }
        ));
        // A failed call returns -1, as in C: only the third choice fits.
        let failed = [recv(None, Some("ECONNRESET"), "")];
        let Judgement::Judged { right, .. } = q.judge(None, &failed, &knobs) else {
            panic!("not judged")
        };
        assert_eq!(right, "c) it fails");
        assert!(q.reads("c").is_ok());
        assert!(q.reads("d").is_err());

        // A name that is neither a knob nor a call's field.
        let e = parse(&text.replace("returned == size", "returnd == size")).unwrap_err();
        assert!(e.contains("choice a: unknown name `returnd`"), "{e}");
    }

    #[test]
    fn numbers_and_errors_come_from_the_call_not_the_file() {
        let lab = parse(LAB).unwrap();
        let knobs = lab.knob_values(&[]).unwrap();
        let q = lab.def.questions[0].get_ref();
        let nine = [recv(Some(9), None, "hellofeng")];
        let two = [recv(Some(2), None, "he")];
        assert!(matches!(
            q.judge(Some("9"), &nine, &knobs),
            Judgement::Judged { correct: true, .. }
        ));
        assert!(matches!(
            q.judge(Some("9"), &two, &knobs),
            Judgement::Judged { correct: false, .. }
        ));
        assert!(matches!(
            q.judge(None, &two, &knobs),
            Judgement::Judged { correct: false, .. }
        ));
        // A failed call gives back no number.
        let reset = [recv(None, Some("ECONNRESET"), "")];
        let Judgement::Judged { right, correct, .. } = q.judge(Some("0"), &reset, &knobs) else {
            panic!("not judged")
        };
        assert_eq!(right, "no number: it failed with ECONNRESET");
        assert!(!correct);
        // No such call: not judged, and why.
        let Judgement::NotJudged(why) = q.judge(Some("9"), &[], &knobs) else {
            panic!("judged without a call")
        };
        assert_eq!(why, "server.recv#1: the run made only 0 such calls");

        let error = Question {
            kind: Kind::Error {},
            ..q.clone()
        };
        let timed_out = [recv(None, Some("EAGAIN"), "")];
        for (answer, calls, correct) in [
            ("EAGAIN", &timed_out, true),
            ("ewouldblock", &timed_out, true),
            ("none", &timed_out, false),
            ("none", &nine, true),
            ("ECONNRESET", &nine, false),
        ] {
            let Judgement::Judged { correct: got, .. } = error.judge(Some(answer), calls, &knobs)
            else {
                panic!("not judged")
            };
            assert_eq!(got, correct, "{answer}");
        }
        // A name that is no errno is read as a typo, not judged wrong.
        assert!(error.reads("econnreset").is_ok());
        assert!(error.reads("None").is_ok());
        assert_eq!(
            error.reads("ECONREFUSED").unwrap_err(),
            "`ECONREFUSED` is not an errno name; did you mean ECONNREFUSED?"
        );
        assert_eq!(
            error.reads("banana").unwrap_err(),
            "`banana` is not an errno name"
        );
    }

    #[test]
    fn every_lab_asks_at_least_one_question_at_its_defaults() {
        // A step asks only when it runs: at the defaults, at least one
        // step with `ask` must run (its actor's and its own `when` hold).
        for lab in crate::catalog::builtin().unwrap() {
            assert!(
                !lab.def.questions.is_empty(),
                "{} has no question",
                lab.id()
            );
            let knobs = lab.knob_values(&[]).unwrap();
            let holds = |w: &Option<String>| {
                w.as_deref()
                    .is_none_or(|w| expr::eval_bool(w, &knobs).unwrap_or(false))
            };
            let asking = lab
                .def
                .actors
                .iter()
                .filter(|a| holds(&a.when))
                .flat_map(|a| &a.steps)
                .filter(|s| s.get_ref().ask.is_some() && holds(&s.get_ref().when))
                .count();
            assert!(asking >= 1, "{} asks nothing at its defaults", lab.id());
        }
    }
}
