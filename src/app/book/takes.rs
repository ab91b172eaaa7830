//! One command, shown as several runs because its runs tell more than one
//! story.
//!
//! Most variation between two runs is noise that a key sets aside (see
//! [`super::key`]). Some is not: in lab 08's unframed run the server reads
//! `pwd` and `rm -rf ~` with one `recv` or with two, depending on whether
//! the second command arrived before the server read the first, and it
//! answers what it read, so even its answers differ. Setting that aside
//! would set aside the answers too. A chapter shows such a command once per
//! story instead: `08-remote-command.txt` is its first run, and
//! `08-remote-command--run2.txt` a run that tells another story. Each page
//! has its own key.
//!
//! `lab book --check` runs the command [`RUNS`] times: each fresh run must
//! tell the story of one of the pages, and no two pages may tell the same
//! one. `lab book` writes the pages again when that fails: it runs the
//! command until it has seen as many stories as the chapter shows (at most
//! [`TRIES`] runs) and puts them in a fixed order (by what their keys say),
//! so that a rewrite keeps each story on its page.

use std::io::Write;
use std::path::Path;

use super::key::Key;
use super::{BookArgs, KEYS, Page, Spec, Written, key_name};
use crate::app::Failure;

/// How many fresh runs `--check` compares with the pages.
pub const RUNS: usize = 3;

/// How many runs `lab book` may take to find every story.
pub const TRIES: usize = 50;

/// One page of a command shown as several runs.
pub struct Take {
    /// 1 for `ID.txt`, n for `ID--runN.txt`.
    pub n: usize,
    pub file: String,
    /// The first chapter that includes it.
    pub chapter: String,
}

/// Checks, or writes, the pages of one command shown as `takes` (sorted
/// by `n`).
pub fn pages(
    out: &mut dyn Write,
    spec: &Spec,
    takes: &[Take],
    args: &BookArgs,
    written: &mut Written,
    problems: &mut Vec<String>,
) -> Result<(), Failure> {
    let dir = &args.dir.join("src").join("transcripts");
    let keys = &args.dir.join(KEYS);
    let first = &takes[0];
    let command = format!("lab {}", spec.args.join(" "));
    for (i, t) in takes.iter().enumerate() {
        if t.n != i + 1 {
            problems.push(format!(
                "{}: transcripts/{} is run {} of `{command}`, but the book has no run {}",
                t.chapter,
                t.file,
                t.n,
                i + 1
            ));
            return Ok(());
        }
    }
    let why = match stale(dir, keys, spec, takes, written) {
        Ok(()) if args.rewrite => "rewritten on request".to_string(),
        Ok(()) => return Ok(()),
        Err(why) => why,
    };
    if args.check {
        problems.push(format!(
            "{}: transcripts/{} and its other runs are stale ({why}); run `lab book`",
            first.chapter, first.file
        ));
        return Ok(());
    }
    // Find as many stories as the chapter shows.
    let mut stories: Vec<Page> = Vec::new();
    for _ in 0..TRIES {
        let page = match spec.run(false) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!(
                    "{}: transcripts/{}: {e}",
                    first.chapter, first.file
                ));
                return Ok(());
            }
        };
        let key = page.key.as_ref().expect("a run has a key");
        if !stories
            .iter()
            .any(|s| s.key.as_ref().is_some_and(|k| k.same(key)))
        {
            stories.push(page);
        }
        if stories.len() == takes.len() {
            break;
        }
    }
    if stories.len() < takes.len() {
        problems.push(format!(
            "{}: shows {} runs of `{command}`, but {TRIES} runs told only {} different stories",
            first.chapter,
            takes.len(),
            stories.len()
        ));
        return Ok(());
    }
    stories.sort_by_key(order);
    std::fs::create_dir_all(keys)?;
    for (t, page) in takes.iter().zip(&stories) {
        let key = page.key.as_ref().expect("a run has a key");
        std::fs::write(dir.join(&t.file), &page.text)?;
        let json = serde_json::to_string_pretty(key)
            .map_err(|e| Failure::Usage(format!("cannot write a key: {e}")))?;
        std::fs::write(keys.join(key_name(&t.file)), json + "\n")?;
        written.changed += 1;
        writeln!(out, "wrote transcripts/{} ({why})", t.file)?;
    }
    Ok(())
}

/// The order of stories on their pages: by what their keys say.
fn order(page: &Page) -> (String, String) {
    let key = page.key.as_ref().expect("a run has a key");
    (
        format!("{:?}", key.calls),
        format!("{:?}{:?}", key.verdicts, key.packets),
    )
}

/// Why the pages no longer show what the command does, if so.
fn stale(
    dir: &Path,
    keys: &Path,
    spec: &Spec,
    takes: &[Take],
    written: &mut Written,
) -> Result<(), String> {
    let mut stored: Vec<Key> = Vec::new();
    for t in takes {
        let Ok(text) = std::fs::read_to_string(dir.join(&t.file)) else {
            return Err(format!("transcripts/{} is missing", t.file));
        };
        let name = key_name(&t.file);
        let key: Key = std::fs::read_to_string(keys.join(&name))
            .map_err(|_| format!("its key keys/{name} is missing"))
            .and_then(|json| {
                serde_json::from_str(&json)
                    .map_err(|e| format!("its key keys/{name} is unreadable: {e}"))
            })?;
        if !key.matches_page(&text) {
            return Err(format!(
                "transcripts/{} was edited by hand after `lab book` wrote it",
                t.file
            ));
        }
        if let Some(twin) = stored.iter().position(|k| k.same(&key)) {
            return Err(format!(
                "transcripts/{} tells the same story as transcripts/{}",
                t.file, takes[twin].file
            ));
        }
        stored.push(key);
    }
    for run in 1..=RUNS {
        let page = spec.run(false)?;
        let fresh = page.key.as_ref().expect("a run has a key");
        if !fresh.captured && !spec.no_capture {
            written.without_capture = true;
        }
        if stored.iter().any(|k| k.same(fresh)) {
            continue;
        }
        if let Some(reason) = stored.iter().find_map(|k| fresh.cannot_check(k)) {
            written
                .unchecked
                .push(format!("transcripts/{} ({reason})", takes[0].file));
            return Ok(());
        }
        return Err(format!(
            "fresh run {run} of {RUNS} tells a story none of its {} pages shows; against transcripts/{}: {}",
            takes.len(),
            takes[0].file,
            stored[0].first_difference(fresh)
        ));
    }
    Ok(())
}
