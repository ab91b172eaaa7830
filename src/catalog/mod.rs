//! The catalog: lab files parsed, validated and found by id.
//!
//! Labs in `labs/` are embedded at build time; `lab run ./my-lab.toml` loads
//! a file from disk through the same path. Every problem in a lab file is
//! reported as `file:line: what is wrong`, before anything runs.

pub mod question;
mod schema;
pub mod step;
mod validate;

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::expr::Scope;
pub use question::Question;
pub use schema::{ActorDef, ExpectDef, LabFile, ServeDef, Tpl};
pub use step::{Action, Step};

include!(concat!(env!("OUT_DIR"), "/labs.rs"));

/// A validated lab, with where it came from (for error messages).
#[derive(Debug, Clone)]
pub struct Lab {
    pub def: LabFile,
    /// `labs/09-sticky-packet.toml` or the user's path.
    pub origin: String,
    /// The file's text, to turn spans into line numbers.
    pub source: String,
}

/// A problem with a lab file, located in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabError {
    pub origin: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.origin, line, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for LabError {}

impl Lab {
    /// Parses and validates a lab file's text.
    pub fn parse(origin: &str, source: &str) -> Result<Lab, LabError> {
        let mut def: LabFile = toml::from_str(source).map_err(|e| LabError {
            origin: origin.to_string(),
            line: e.span().map(|s| line_of(source, s.start)),
            // toml's message repeats the source excerpt over several lines;
            // keep its first sentence, the line number says where.
            message: e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_string(),
        })?;
        let mut lab = Lab {
            def: LabFile::clone(&def),
            origin: origin.to_string(),
            source: source.to_string(),
        };
        // Each step typed on its own, so an error carries its own line.
        let typed = |written: &toml::Spanned<toml::Table>| {
            let table = toml::Value::Table(written.get_ref().clone());
            Step::deserialize(table)
                .map(|step| toml::Spanned::new(written.span(), step))
                .map_err(|e| lab.error_at(written.span().start, e.message()))
        };
        for actor in &mut def.actors {
            actor.steps = actor.written.iter().map(typed).collect::<Result<_, _>>()?;
        }
        if let Some(serve) = &mut def.serve {
            serve.step = typed(&serve.written)?;
        }
        lab.def = def;
        validate::validate(&lab)?;
        Ok(lab)
    }

    /// Loads a lab file from disk.
    pub fn load(path: &Path) -> Result<Lab, LabError> {
        let origin = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|e| LabError {
            origin: origin.clone(),
            line: None,
            message: format!("cannot read the lab file: {e}"),
        })?;
        Lab::parse(&origin, &source)
    }

    pub fn id(&self) -> &str {
        &self.def.id
    }

    /// The knobs at their defaults, overridden by `settings` (`name=value`).
    /// An unknown knob or a bad value gives a message naming what fits.
    pub fn knob_values(&self, settings: &[String]) -> Result<Scope, String> {
        let mut scope = Scope::new();
        for knob in &self.def.knobs {
            // Validated at load time, so the default always parses.
            scope.insert(knob.name.clone(), knob.default_value()?);
        }
        for setting in settings {
            let (name, text) = setting
                .split_once('=')
                .ok_or_else(|| format!("`--set {setting}` needs the form name=value"))?;
            let name = name.trim();
            let knob = self
                .def
                .knobs
                .iter()
                .find(|k| k.name == name)
                .ok_or_else(|| self.unknown_knob(name))?;
            scope.insert(knob.name.clone(), knob.parse(text)?);
        }
        // Which actors join is decided on these values: a `when` that
        // cannot be worked out is the lab's mistake, said now, not an actor
        // quietly left out.
        for actor in &self.def.actors {
            if let Some(w) = &actor.when {
                crate::expr::eval_bool(w, &scope).map_err(|e| {
                    format!(
                        "{}: actor `{}`: when = \"{w}\" cannot be worked out with these knob values: {e}",
                        self.origin, actor.name
                    )
                })?;
            }
        }
        Ok(scope)
    }

    fn unknown_knob(&self, name: &str) -> String {
        let names: Vec<&str> = self.def.knobs.iter().map(|k| k.name.as_str()).collect();
        if names.is_empty() {
            format!("lab {} has no knobs (unknown knob `{name}`)", self.id())
        } else {
            format!(
                "lab {} has no knob `{name}`; its knobs are: {}",
                self.id(),
                names.join(", ")
            )
        }
    }

    /// Line number of a byte offset in the lab file.
    pub fn line(&self, offset: usize) -> usize {
        line_of(&self.source, offset)
    }

    /// An error at a byte offset of this lab's file.
    pub fn error_at(&self, offset: usize, message: impl Into<String>) -> LabError {
        LabError {
            origin: self.origin.clone(),
            line: Some(self.line(offset)),
            message: message.into(),
        }
    }
}

/// 1-based line number of `offset` in `source`.
fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// The labs embedded in the binary, in catalog order.
pub fn builtin() -> Result<Vec<Lab>, LabError> {
    EMBEDDED
        .iter()
        .map(|(file, text)| {
            let lab = Lab::parse(&format!("labs/{file}"), text)?;
            let expected = format!("{}.toml", lab.id());
            if *file != expected {
                return Err(LabError {
                    origin: format!("labs/{file}"),
                    line: Some(1),
                    message: format!("id `{}` does not match the file name", lab.id()),
                });
            }
            Ok(lab)
        })
        .collect()
}

/// Finds a lab by id, by its number (`09`) or by its slug (`sticky-packet`).
/// A miss names the closest ids.
pub fn find<'a>(labs: &'a [Lab], query: &str) -> Result<&'a Lab, String> {
    let q = query.trim();
    // `9` is lab 09: a number matches by value.
    let number = q.parse::<u32>().ok();
    if let Some(lab) = labs.iter().find(|l| {
        let id = l.id();
        id == q
            || id.split_once('-').is_some_and(|(num, slug)| {
                num == q || slug == q || (number.is_some() && num.parse::<u32>().ok() == number)
            })
    }) {
        return Ok(lab);
    }
    // A number matches by value or not at all: `99` is not a typo of `05`.
    if number.is_some() {
        let numbers: Vec<u32> = labs
            .iter()
            .filter_map(|l| l.id().split_once('-')?.0.parse().ok())
            .collect();
        let (lo, hi) = (numbers.iter().min(), numbers.iter().max());
        return Err(match (lo, hi) {
            (Some(lo), Some(hi)) => format!(
                "no lab number {q}: the labs are numbered {lo:02} to {hi:02}; `lab list` shows them all"
            ),
            _ => format!("no lab `{q}`; `lab list` shows them all"),
        });
    }
    // "Did you mean": only labs within a few typos of the id, the slug or
    // one word of it, and only the closest of those.
    let mut scored: Vec<(usize, &str)> = labs
        .iter()
        .map(|l| {
            let words = slug(l.id()).split('-').map(|w| distance(q, w));
            let d = words
                .chain([distance(q, l.id()), distance(q, slug(l.id()))])
                .min()
                .unwrap_or(usize::MAX);
            (d, l.id())
        })
        .collect();
    scored.sort();
    let limit = (q.chars().count() / 4).max(2);
    let best = scored.first().map_or(usize::MAX, |(d, _)| *d);
    let close: Vec<&str> = scored
        .iter()
        .filter(|(d, _)| *d <= limit && *d <= best + 1)
        .take(3)
        .map(|(_, id)| *id)
        .collect();
    if close.is_empty() {
        Err(format!("no lab `{q}`; `lab list` shows them all"))
    } else {
        Err(format!("no lab `{q}`; did you mean {}?", close.join(", ")))
    }
}

fn slug(id: &str) -> &str {
    id.split_once('-').map_or(id, |(_, s)| s)
}

/// Levenshtein distance, for "did you mean".
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_is_found_by_its_number_and_typos_suggest_only_close_ids() {
        let labs = builtin().unwrap();
        assert_eq!(find(&labs, "9").unwrap().id(), "09-sticky-packet");
        assert_eq!(find(&labs, "09").unwrap().id(), "09-sticky-packet");
        assert_eq!(find(&labs, "19").unwrap().id(), "19-unix-socket");
        // Once suggested 19-unix-socket as well.
        let e = find(&labs, "09-stiky-packet").unwrap_err();
        assert!(e.contains("did you mean 09-sticky-packet?"), "{e}");
        let e = find(&labs, "stiky").unwrap_err();
        assert!(e.contains("did you mean 09-sticky-packet?"), "{e}");
        let e = find(&labs, "zzzzzzzz").unwrap_err();
        assert!(e.contains("`lab list` shows them all"), "{e}");
        // A number out of range says which numbers there are, and
        // suggests no lab whose digits happen to be close.
        let last = labs.iter().map(|l| &l.id()[..2]).max().unwrap();
        let e = find(&labs, "99").unwrap_err();
        assert_eq!(
            e,
            format!(
                "no lab number 99: the labs are numbered 01 to {last}; `lab list` shows them all"
            )
        );
    }

    #[test]
    fn every_builtin_lab_is_valid() {
        let labs = builtin().unwrap_or_else(|e| panic!("{e}"));
        assert!(!labs.is_empty());
        let mut ids: Vec<&str> = labs.iter().map(|l| l.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), labs.len(), "lab ids are unique");
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("sticky", "sticky"), 0);
        assert_eq!(distance("stiky", "sticky"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
