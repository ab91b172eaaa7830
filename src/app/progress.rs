//! `lab next`, `lab progress`, `lab reset`, and the record a passing
//! `lab run ID` leaves (see [`crate::progress`] for the file and its
//! promises).
//!
//! Progress is a convenience: no command fails because of it. When the file
//! cannot be read or written, `lab` says so in one line on stderr
//! (`lab: warning: ...`) and goes on; when there is no place for it
//! (neither `XDG_STATE_HOME` nor `HOME`), runs are not recorded, and only
//! `lab progress` and `lab next`, which are about progress, say so.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use colored::Colorize;
use serde_json::{Map, Value as Json};

use super::{Failure, Outcome, RunArgs, is_path, labs, resolve, run_one};
use crate::catalog::{self, Lab};
use crate::expr::{Scope, Value};
use crate::progress::{Progress, ProgressError, Removed, Store};

/// `lab run ID`: [`run_one`], then, when every check held and the lab is
/// one of the catalog's, the lab is recorded as done.
pub fn run_and_record(out: &mut dyn Write, query: &str, args: &RunArgs) -> Outcome {
    if args.predict {
        // Also keeps the score of the questions (see `predict.rs`).
        return super::predict::run_and_record(out, query, args);
    }
    let passed = run_one(out, query, args)?;
    // A lab file from a path may carry a catalog lab's id, but it is not
    // that lab: never recorded.
    if passed && !is_path(query) {
        record(out, query, args)?;
    }
    Ok(passed)
}

/// Records the catalog lab `query` as done now, with the knobs of `args`.
pub(super) fn record(out: &mut dyn Write, query: &str, args: &RunArgs) -> Result<(), Failure> {
    let Ok(store) = Store::from_env() else {
        return Ok(());
    };
    let lab = resolve(query)?;
    let knobs = knobs_json(&lab.knob_values(args.set)?);
    let recorded = store.update(|p| p.mark_done(lab.id(), unix_now(), knobs));
    let progress = match recorded {
        Ok(((), progress)) => progress,
        Err(e) => {
            warn(&e, "this run is not recorded");
            return Ok(());
        }
    };
    // JSON Lines stay JSON Lines: the record is said in the human view only.
    if !args.json {
        let labs = labs()?;
        let done = count_done(&progress, &labs);
        let then = if done == labs.len() {
            "every lab is done".to_string()
        } else {
            "`lab next` runs the next one".to_string()
        };
        writeln!(
            out,
            "{} {} is done: {done} of {} labs; {then}",
            "·".dimmed(),
            lab.id(),
            labs.len()
        )?;
    }
    Ok(())
}

/// `lab next`: the first lab of the catalog not done yet, run as
/// `lab run ID` runs it (default knobs, recorded when its checks hold).
pub fn next(out: &mut dyn Write, capture: bool) -> Outcome {
    let labs = labs()?;
    let progress = load_for("every lab counts as not done");
    let Some(lab) = labs.iter().find(|l| !progress.is_done(l.id())) else {
        writeln!(out, "every lab is done; `lab reset` starts over")?;
        return Ok(true);
    };
    let args = RunArgs {
        set: &[],
        json: false,
        capture,
        pcap: None,
        svg: None,
        html: None,
        pcapng: None,
        step: false,
        predict: false,
        answers: None,
        detail: None,
        diagram: false,
    };
    run_and_record(out, lab.id(), &args)
}

/// `lab progress`: how many labs are done, the ones left, and where the
/// file is.
pub fn progress(out: &mut dyn Write) -> Outcome {
    let labs = labs()?;
    let store = Store::from_env();
    let progress = load_for("no lab is shown as done");
    let done = count_done(&progress, &labs);
    writeln!(out, "{done} of {} labs done.", labs.len())?;
    let left: Vec<&Lab> = labs.iter().filter(|l| !progress.is_done(l.id())).collect();
    if left.is_empty() {
        writeln!(out, "Every lab is done; `lab reset` starts over.")?;
    } else {
        writeln!(out)?;
        writeln!(out, "{}", "Not done yet".bold())?;
        let width = left.iter().map(|l| l.id().len()).max().unwrap_or(0);
        for l in &left {
            writeln!(out, "  {:<width$}  {}", l.id(), l.def.title)?;
        }
        writeln!(out)?;
        writeln!(out, "`lab next` runs {}.", left[0].id())?;
    }
    match store {
        Ok(store) if store.path().exists() => {
            writeln!(out, "Progress is kept in {}.", store.path().display())?
        }
        Ok(store) => writeln!(
            out,
            "Progress will be kept in {} (nothing recorded yet).",
            store.path().display()
        )?,
        Err(why) => writeln!(out, "Progress is off: {why}.")?,
    }
    Ok(true)
}

/// `lab reset [ID]`: forgets every lab, or one.
pub fn reset(out: &mut dyn Write, query: Option<&str>) -> Outcome {
    let store = match Store::from_env() {
        Ok(store) => store,
        Err(why) => {
            writeln!(out, "nothing to clear: progress is off ({why})")?;
            return Ok(true);
        }
    };
    let path = store.path();
    let Some(query) = query else {
        match store.remove().map_err(|e| Failure::Usage(e.to_string()))? {
            Removed::Nothing => {
                writeln!(out, "nothing to clear: {} does not exist", path.display())?
            }
            Removed::Held(progress) => {
                let done: Vec<&str> = progress.done().collect();
                let what = match done.len() {
                    0 => "no lab was done".to_string(),
                    1 => format!("1 lab was done: {}", done[0]),
                    n => format!("{n} labs were done: {}", done.join(", ")),
                };
                writeln!(out, "cleared: {what}; removed {}", path.display())?;
            }
            Removed::Unparsable(reason) => writeln!(
                out,
                "cleared: removed {}, which could not be read ({reason})",
                path.display()
            )?,
        }
        return Ok(true);
    };
    let labs = labs()?;
    let lab = catalog::find(&labs, query).map_err(Failure::Usage)?;
    let not_done =
        |out: &mut dyn Write| writeln!(out, "nothing to clear: {} is not done", lab.id());
    // No file, nothing to clear (and no folder made only to find that).
    if !path.exists() {
        not_done(out)?;
        return Ok(true);
    }
    let (cleared, now) = store.update(|p| p.clear(lab.id())).map_err(|e| {
        let all = match e {
            ProgressError::Corrupt { .. } => "; `lab reset` removes the whole file",
            _ => "",
        };
        Failure::Usage(format!("{e}; nothing was cleared{all}"))
    })?;
    match cleared {
        None => not_done(out)?,
        Some(_) => writeln!(
            out,
            "cleared {}: {} of {} labs still done",
            lab.id(),
            count_done(&now, &labs),
            labs.len()
        )?,
    }
    Ok(true)
}

/// The progress for `lab list`'s marks: `None` when progress is off or
/// unreadable (then with a warning), and the list shows no marks.
pub fn marks() -> Option<Progress> {
    let store = Store::from_env().ok()?;
    match store.load() {
        Ok(progress) => Some(progress),
        Err(e) => {
            warn(&e, "no lab is shown as done");
            None
        }
    }
}

/// The progress for a command about progress; when there is none to read,
/// a warning that ends with `consequence`, and no lab done.
fn load_for(consequence: &str) -> Progress {
    match Store::from_env() {
        Err(why) => {
            eprintln!("lab: warning: progress is off ({why}); {consequence}");
            Progress::default()
        }
        Ok(store) => store.load().unwrap_or_else(|e| {
            warn(&e, consequence);
            Progress::default()
        }),
    }
}

/// `lab: warning: <what went wrong>; <consequence>`, one line on stderr.
pub(super) fn warn(e: &ProgressError, consequence: &str) {
    match e {
        ProgressError::Corrupt { .. } => eprintln!(
            "lab: warning: {e}; it is left as it is and {consequence}; `lab reset` removes it"
        ),
        _ => eprintln!("lab: warning: {e}; {consequence}"),
    }
}

/// How many labs of the catalog `progress` has done (labs that left the
/// catalog do not count).
fn count_done(progress: &Progress, labs: &[Lab]) -> usize {
    labs.iter().filter(|l| progress.is_done(l.id())).count()
}

fn knobs_json(knobs: &Scope) -> Map<String, Json> {
    knobs
        .iter()
        .map(|(name, v)| {
            let v = match v {
                Value::Int(n) => Json::from(*n),
                Value::Bool(b) => Json::from(*b),
                Value::Str(s) => Json::from(s.clone()),
            };
            (name.clone(), v)
        })
        .collect()
}

/// Now, in unix seconds (0 on a clock set before 1970).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The cells `lab list` adds to a lab's row: a done mark, and the
/// questions' score when some lab has been asked questions.
pub(super) fn list_cells(progress: &Progress, labs: &[Lab], lab: &Lab) -> Vec<String> {
    let mut cells = vec![if progress.is_done(lab.id()) {
        "✓".green().bold().to_string()
    } else {
        String::new()
    }];
    if asks_questions(progress, labs) {
        cells.push(
            progress
                .questions(lab.id())
                .map_or(String::new(), |(right, asked)| format!("{right}/{asked}")),
        );
    }
    cells
}

/// The headers of [`list_cells`].
pub(super) fn list_headers(progress: &Progress, labs: &[Lab]) -> Vec<&'static str> {
    let mut headers = vec!["done"];
    if asks_questions(progress, labs) {
        headers.push("questions");
    }
    headers
}

fn asks_questions(progress: &Progress, labs: &[Lab]) -> bool {
    labs.iter().any(|l| progress.questions(l.id()).is_some())
}
