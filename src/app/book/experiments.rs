//! Every experiment the book or a lab suggests, run as the reader would.
//!
//! A lab's own text (`lab show`: its explanation, "the course says", what
//! to watch, each knob's `try` values), for each lab the book has a chapter
//! of, and the chapters tell the reader to
//! turn knobs: "try `--set reader=network`". Each such suggestion is run
//! [`RUNS`] times; it must name knobs and values that exist, and every run
//! must finish with the lab's checks holding. A suggestion that hangs,
//! fails or is refused is a broken promise to the reader.
//!
//! A chapter also tells the reader to predict first: `lab run 09
//! --predict`. That is a command for a terminal, where the reader answers
//! the questions; here, with no terminal, the same predict run (the same
//! controller, view and judging, see `app/predict.rs`) is made with every
//! question left unanswered: an answer is only read, it changes nothing
//! in the run. The book gives no `--answers`, which would give the answers
//! away. Such a suggestion must name a lab and knobs that exist, and each of
//! its [`RUNS`] runs must hold the lab's checks, ask at least one question,
//! and be able to judge every question it asked from the run's trace (a
//! question whose call never happened is a broken promise too). The
//! questions' own text is read like the lab's, for `--set` suggestions.

use std::collections::BTreeMap;

use super::chapters::{self, Chapter};
use crate::app::{CAPTURE_VERDICT, CaptureMode, execute};
use crate::catalog::question::Judgement;
use crate::catalog::{self, Lab};

/// How many times each suggested experiment runs: once is luck.
pub const RUNS: usize = 3;

/// One suggested experiment: a lab, its `--set` settings, and whether it
/// is a predict run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Experiment {
    pub lab: String,
    pub sets: Vec<String>,
    pub predict: bool,
}

impl Experiment {
    /// The command a reader types.
    pub fn command(&self) -> String {
        let mut s = format!("lab run {}", self.lab);
        for set in &self.sets {
            s.push_str(&format!(" --set {set}"));
        }
        if self.predict {
            s.push_str(" --predict");
        }
        s
    }
}

/// Every `--set k=v` in a piece of prose, in order, as experiments:
/// settings written one after the other (`--set backlog=0 --set
/// clients=3`) are one experiment. A setting in shell quotes (`--set
/// "command=cat big.log"`) keeps its spaces.
pub fn sets_in_prose(text: &str) -> Vec<Vec<String>> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let is_set = |w: &str| w.trim_start_matches(['(', '`', '"']) == "--set";
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    // Whether the last word read ended a setting that the next may join.
    let mut joins = false;
    while i + 1 < words.len() {
        if !is_set(words[i]) {
            joins = false;
            i += 1;
            continue;
        }
        let mut set = words[i + 1].to_string();
        i += 2;
        if let Some(quoted) = set.strip_prefix('"') {
            let mut whole = quoted.to_string();
            while !whole.trim_end_matches(END).ends_with('"') && i < words.len() {
                whole.push(' ');
                whole.push_str(words[i]);
                i += 1;
            }
            set = whole
                .trim_end_matches(END)
                .trim_end_matches('"')
                .to_string();
        }
        // Punctuation after a setting ends the experiment.
        let ended = set.ends_with([',', '.', ')', ':', ';']);
        let set = set.trim_end_matches(END).trim_end_matches('"').to_string();
        if set.contains('=') {
            match out.last_mut() {
                Some(last) if joins => last.push(set),
                _ => out.push(vec![set]),
            }
            joins = !ended;
        }
    }
    out
}

/// What may close a setting in prose.
const END: [char; 6] = ['`', ',', '.', ')', ':', ';'];

/// Every experiment a lab's text or a chapter suggests, with the first
/// place that suggests it.
pub fn suggested(labs: &[Lab], chapters: &[Chapter]) -> BTreeMap<Experiment, String> {
    let mut out: BTreeMap<Experiment, String> = BTreeMap::new();
    let mut add = |lab: &str, sets: Vec<String>, predict: bool, from: String| {
        let mut sets = sets;
        sets.sort();
        sets.dedup();
        out.entry(Experiment {
            lab: lab.to_string(),
            sets,
            predict,
        })
        .or_insert(from);
    };
    // A lab's own suggestions are the book's when it has a chapter (the
    // whole book has one for every lab; a scratch book, for a few).
    let in_book = |lab: &Lab| {
        let name = format!("labs/{}.md", lab.id());
        chapters.iter().any(|c| c.name == name)
    };
    for lab in labs.iter().filter(|l| in_book(l)) {
        let from = format!("labs/{}.toml (lab show {})", lab.id(), lab.id());
        let def = &lab.def;
        let questions = def.questions.iter().map(|q| q.get_ref());
        let prose = std::iter::once(def.explain.as_str())
            .chain(def.course_says.as_deref())
            .chain(def.watch.iter().map(String::as_str))
            .chain(questions.flat_map(|q| [q.ask.as_str(), q.explain.as_str()]));
        for text in prose {
            for sets in sets_in_prose(text) {
                add(lab.id(), sets, false, from.clone());
            }
        }
        for knob in &def.knobs {
            for value in &knob.tries {
                let value = match value {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                add(
                    lab.id(),
                    vec![format!("{}={value}", knob.name)],
                    false,
                    from.clone(),
                );
            }
        }
    }
    for ch in chapters {
        // A chapter of a lab speaks of that lab when it says `--set`.
        let own = ch
            .name
            .strip_prefix("labs/")
            .and_then(|n| n.strip_suffix(".md"));
        for (n, line) in ch.text.lines().enumerate() {
            let from = format!("{}:{}", ch.name, n + 1);
            let mentions = chapters::mentions(line);
            for m in &mentions {
                if (!m.sets.is_empty() || m.predict)
                    && let Ok(lab) = catalog::find(labs, &m.lab)
                {
                    add(lab.id(), m.sets.clone(), m.predict, from.clone());
                }
            }
            if mentions.is_empty()
                && let Some(id) = own
            {
                for sets in sets_in_prose(line) {
                    add(id, sets, false, from.clone());
                }
            }
        }
    }
    out
}

/// What the experiments showed: problems, and notes on what could not be
/// judged.
#[derive(Default)]
pub struct Report {
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

/// Runs every suggested experiment [`RUNS`] times; one problem line for
/// each that is refused, fails a check or cannot run. When the kernel says
/// the capture itself dropped frames (it could not keep up), the capture's own
/// check is not the experiment's claim: that is a note, not a problem,
/// and the lab's checks must still hold.
pub fn check(labs: &[Lab], chapters: &[Chapter], mode: &CaptureMode) -> Report {
    let mut report = Report::default();
    let problems = &mut report.problems;
    for (exp, from) in suggested(labs, chapters) {
        let Ok(lab) = catalog::find(labs, &exp.lab) else {
            continue; // reported by the chapter check
        };
        let knobs = match lab.knob_values(&exp.sets) {
            Ok(k) => k,
            Err(e) => {
                problems.push(format!("{from}: suggests `{}`: {e}", exp.command()));
                continue;
            }
        };
        for run in 1..=RUNS {
            let ran = if exp.predict {
                crate::app::predict::rehearse(lab, &knobs, mode).map(|(d, p)| (d, Some(p)))
            } else {
                execute(lab, &knobs, mode, crate::app::Files::default(), |_| Ok(()))
                    .map(|d| (d, None))
            };
            let failed = match ran {
                Err(e) => Some(e.to_string()),
                Ok((done, predictions)) => {
                    let dropped = done.stats.as_ref().map_or(0, |s| s.dropped);
                    let mut failed =
                        done.failed_checks(|v| !(dropped > 0 && v.name == CAPTURE_VERDICT));
                    match predictions.as_deref() {
                        None => {}
                        Some([]) => failed.push("it asked no question".into()),
                        Some(asked) => {
                            failed.extend(asked.iter().filter_map(|p| match &p.judgement {
                                Judgement::NotJudged(why) => {
                                    Some(format!("question `{}` was not judged: {why}", p.question))
                                }
                                Judgement::Judged { .. } => None,
                            }))
                        }
                    }
                    if dropped > 0 {
                        report.notes.push(format!(
                            "`{}` run {run}: the kernel says the capture dropped {dropped} frames (it could not keep up), so the capture's own check was not judged",
                            exp.command()
                        ));
                    }
                    (!failed.is_empty()).then(|| failed.join("; "))
                }
            };
            if let Some(why) = failed {
                problems.push(format!(
                    "{from}: suggests `{}`, which failed in run {run} of {RUNS}: {why}",
                    exp.command()
                ));
                break;
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_predict_suggestion_is_an_experiment_of_its_own() {
        let labs = catalog::builtin().unwrap();
        let chapter = Chapter {
            name: "labs/09-sticky-packet.md".into(),
            text: "Predict first: `lab run 09-sticky-packet --predict` asks.\n\
                   Then `lab run 09 --set recv1=2`."
                .into(),
        };
        let found = suggested(&labs, &[chapter]);
        let predict = Experiment {
            lab: "09-sticky-packet".into(),
            sets: vec![],
            predict: true,
        };
        assert_eq!(
            found.get(&predict).map(String::as_str),
            Some("labs/09-sticky-packet.md:1")
        );
        assert_eq!(predict.command(), "lab run 09-sticky-packet --predict");
        // A plain mention without `--set` is no experiment (the transcripts
        // run the lab at its defaults); a `--set` one is not a predict run.
        assert!(found.keys().all(|e| e.predict == e.sets.is_empty()));
    }

    #[test]
    fn sets_are_found_in_prose() {
        assert_eq!(
            sets_in_prose("Try --set recv1=2, then (--set nodelay=true). With --set"),
            [vec!["recv1=2"], vec!["nodelay=true"]]
        );
        assert_eq!(
            sets_in_prose("`--set reuse=both`: the same"),
            [vec!["reuse=both"]]
        );
        assert!(sets_in_prose("no knobs here").is_empty());
        assert_eq!(
            sets_in_prose("quote it: `--set \"command=cat big.log\"`): bigger"),
            [vec!["command=cat big.log"]]
        );
        // Written one after the other, two settings are one experiment.
        assert_eq!(
            sets_in_prose("With --set backlog=0 --set clients=3, client2 takes"),
            [vec!["backlog=0", "clients=3"]]
        );
        assert_eq!(
            sets_in_prose("--set a=1 and --set b=2"),
            [vec!["a=1"], vec!["b=2"]]
        );
    }

    #[test]
    fn lab_14s_agreement_in_network_order_is_one_experiment_that_runs() {
        // Lab 14's box once offered `--set order=network` alone as the run
        // where both ends agree (they do not: the reader stays native). The
        // run that shows agreement needs both settings, and it is run as
        // one experiment, not as two single settings.
        let labs = catalog::builtin().unwrap();
        let chapter = Chapter {
            name: "labs/14-fixed-header.md".into(),
            text: String::new(),
        };
        let found = suggested(&labs, &[chapter]);
        let both = Experiment {
            lab: "14-fixed-header".into(),
            sets: vec!["order=network".into(), "reader=network".into()],
            predict: false,
        };
        assert!(
            found
                .get(&both)
                .is_some_and(|from| from.contains("14-fixed-header.toml")),
            "{found:?}"
        );
        let alone = Experiment {
            lab: "14-fixed-header".into(),
            sets: vec!["order=network".into()],
            predict: false,
        };
        assert!(found.contains_key(&alone), "{found:?}");
    }
}
