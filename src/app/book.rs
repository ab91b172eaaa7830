//! `lab book`: the course companion in `book/`, kept true by `lab` itself.
//!
//! Chapters include transcripts with mdBook's `{{#include}}`: a run as
//! `ID.md`, its page laid out for the book's width (packet rows and the
//! message map folded; see [`layout`]), on a line of its own; any other
//! page (`lab show`, `lab list`, a diagram) inside a code block:
//!
//! ```text
//! {{#include ../transcripts/09-sticky-packet--recv1=2.md}}
//! ```
//!
//! A transcript's file name is the command that makes it: the lab id, then
//! `--knob=value` for each `--set`, and `--no-capture` to run without the
//! packet capture; `09-sticky-packet--show.txt` is `lab show`, `list.txt`
//! is `lab list`. `lab book` runs each command in this process with colour
//! off, trims the output for a page (see [`transcript`]) and writes the
//! file when what it says changed. For a run it also writes the run's key
//! to `keys/ID.json` beside `src/`: what the run did, made from its events
//! with what varies from run to run set aside (see [`key`]), and a hash of
//! the page. `ID.md` is drawn from `ID.txt` as it stands, which stays the
//! record the key hashes. It also writes `reference.md` from the command
//! line's own `--help`.
//!
//! A chapter shows a run as a sequence diagram with an image,
//! `![...](../transcripts/ID.svg)`: `lab book` draws `ID.svg` from the
//! events of the same run that writes `ID.txt` (see
//! [`crate::render::svg`]) and keeps the diagram's hash in that run's key.
//! Like the page, the diagram is judged by the key, never by its pixels
//! (no two runs draw the same picture: their times differ); it is redrawn
//! when the run's story changes, when it is missing or edited, and with
//! `--rewrite` (after a change to how diagrams are drawn).
//!
//! A command whose runs tell more than one story (lab 08's server reads two
//! commands with one `recv` or two, and answers what it read) is shown once
//! per story: `ID.txt`, then `ID--run2.txt` and so on, each with its key; a
//! fresh run must tell one of their stories (see [`takes`]).
//!
//! `lab book --check` writes nothing. It fails, naming the chapter, when a
//! fresh run's key differs from the stored one, when a page is not the one
//! written with its key (edited by hand), when a transcript or key is
//! missing, when a lab has no chapter, when a chapter
//! shows `lab run`/`lab show` with a lab or a `--set` knob that does not
//! exist, when a link points to no chapter or heading, or when a chapter
//! shows a run's `ID.txt` rather than its layout `ID.md` or an `ID.md`
//! that is not the layout of its `ID.txt`.

mod chapters;
mod experiments;
mod key;
mod layout;
mod takes;
mod transcript;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use super::{CaptureMode, Failure, Outcome, labs};
use crate::catalog::{self, Lab};
use chapters::Chapter;
use key::Key;

/// Options of `lab book`.
pub struct BookArgs<'a> {
    /// The book's folder (with `book.toml` and `src/`).
    pub dir: &'a Path,
    /// Compare only; write nothing.
    pub check: bool,
    /// Write every transcript, changed or not.
    pub rewrite: bool,
}

/// The generated command reference, inside `src/`.
const REFERENCE: &str = "reference.md";

/// The folder, beside `src/`, that holds the key of each run's transcript.
const KEYS: &str = "keys";

/// `09-sticky-packet--recv1=2.txt` → `09-sticky-packet--recv1=2.json`.
fn key_name(transcript: &str) -> String {
    format!("{}.json", transcript.trim_end_matches(".txt"))
}

/// Why the stored page (and its key at `key_path`) no longer tells what a
/// fresh run tells, or `None` when it still does.
fn stale(stored: Option<&str>, key_path: &Path, fresh: &Page) -> Staleness {
    let Some(text) = stored else {
        return Staleness::Stale("missing".into());
    };
    let Some(fresh_key) = &fresh.key else {
        // `lab show` and `lab list` print the same text every time.
        if text == fresh.text {
            return Staleness::Fresh;
        }
        return Staleness::Stale(
            text.lines()
                .zip(fresh.text.lines())
                .find(|(a, b)| a != b)
                .map_or("a line was added or removed".to_string(), |(a, b)| {
                    format!("book has `{a}`, `lab` now prints `{b}`")
                }),
        );
    };
    let name = file_name(key_path);
    let stored_key: Key = match std::fs::read_to_string(key_path) {
        Err(_) => return Staleness::Stale(format!("its key keys/{name} is missing")),
        Ok(json) => match serde_json::from_str(&json) {
            Ok(k) => k,
            Err(e) => return Staleness::Stale(format!("its key keys/{name} is unreadable: {e}")),
        },
    };
    if !stored_key.matches_page(text) {
        return Staleness::Stale("the page was edited by hand after `lab book` wrote it".into());
    }
    if stored_key.same(fresh_key) {
        return Staleness::Fresh;
    }
    let why = stored_key.first_difference(fresh_key);
    match fresh_key.cannot_check(&stored_key) {
        Some(reason) => Staleness::Unchecked(format!("{reason}; {why}")),
        None => Staleness::Stale(why),
    }
}

/// Why the diagram at `svg_path` is not the one drawn from the run that
/// the key at `key_path` describes, or `None` when it is. Judged by the
/// key (what the run did), never by the drawing: a fresh run that tells
/// the same story leaves the diagram as it is.
fn diagram_stale(svg_path: &Path, key_path: &Path) -> Option<String> {
    let name = file_name(svg_path);
    let key: Key = std::fs::read_to_string(key_path)
        .ok()
        .and_then(|json| serde_json::from_str(&json).ok())?;
    match std::fs::read_to_string(svg_path) {
        Err(_) => Some(format!("transcripts/{name} is missing")),
        Ok(svg) if !key.matches_diagram(&svg) => Some(format!(
            "transcripts/{name} is not the diagram drawn from the run its key describes"
        )),
        Ok(_) => None,
    }
}

/// What a fresh run says of a stored page.
enum Staleness {
    /// It tells the same story.
    Fresh,
    /// It does not, and says where.
    Stale(String),
    /// It differs where this machine could not run the lab as the page did.
    Unchecked(String),
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned())
}

/// A page of the book as `lab` makes it now: its text and, for a run, the
/// key of that run.
struct Page {
    text: String,
    key: Option<Key>,
    /// The run's sequence diagram, when a chapter shows it (`ID.svg`).
    svg: Option<String>,
}

/// `lab book [--check] [--dir book]`.
pub fn book(out: &mut dyn Write, args: &BookArgs) -> Outcome {
    let src = args.dir.join("src");
    if !src.join("SUMMARY.md").is_file() {
        return Err(Failure::Usage(format!(
            "{} has no src/SUMMARY.md: is it the book's folder? (`lab book --dir PATH`)",
            args.dir.display()
        )));
    }
    // Pages are plain text, whatever `--color` said.
    colored::control::set_override(false);
    let chapters = chapters::read_all(&src)?;
    let labs = labs()?;
    let mut problems = Vec::new();
    coverage(&chapters, &labs, &mut problems);
    commands(&chapters, &labs, &mut problems);
    for ch in &chapters {
        for broken in chapters::broken_links(ch, &chapters) {
            problems.push(format!("{}: {broken}", ch.name));
        }
    }
    let mut notes = Vec::new();
    if args.check {
        let mode = CaptureMode::detect(true);
        let report = experiments::check(&labs, &chapters, &mode);
        problems.extend(report.problems);
        notes.extend(report.notes);
    }
    let keys = args.dir.join(KEYS);
    let written = transcripts(out, &src, &keys, &chapters, args, &mut problems)?;
    let reference = reference();
    let path = src.join(REFERENCE);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != reference {
        if args.check {
            problems.push(format!(
                "{REFERENCE}: out of date with the command line; run `lab book`"
            ));
        } else {
            std::fs::write(&path, &reference)?;
            writeln!(out, "wrote {REFERENCE}")?;
        }
    }
    for file in &written.unchecked {
        writeln!(out, "note: not checked on this machine: {file}")?;
    }
    for note in &notes {
        writeln!(out, "note: {note}")?;
    }
    for p in &problems {
        writeln!(out, "✗ {p}")?;
    }
    if problems.is_empty() {
        let verb = if args.check { "checked" } else { "up to date" };
        writeln!(
            out,
            "book {verb}: {} chapters, {} transcripts{}",
            chapters.len(),
            written.total,
            if written.changed > 0 {
                format!(" ({} rewritten)", written.changed)
            } else {
                String::new()
            }
        )?;
        if written.without_capture {
            writeln!(
                out,
                "note: this process cannot capture packets, so packet rows and message maps were not compared"
            )?;
        }
    } else {
        writeln!(
            out,
            "{} problem(s) in {}",
            problems.len(),
            args.dir.display()
        )?;
    }
    Ok(problems.is_empty())
}

/// Every lab has a chapter `labs/ID.md`, listed in SUMMARY.md, and every
/// chapter in `labs/` is a lab.
fn coverage(chapters: &[Chapter], labs: &[Lab], problems: &mut Vec<String>) {
    let summary = chapters
        .iter()
        .find(|c| c.name == "SUMMARY.md")
        .map_or("", |c| c.text.as_str());
    for lab in labs {
        let name = format!("labs/{}.md", lab.id());
        if !chapters.iter().any(|c| c.name == name) {
            problems.push(format!(
                "lab {} has no chapter: write book/src/{name} and list it in SUMMARY.md",
                lab.id()
            ));
        } else if !summary.contains(&format!("({name})")) {
            problems.push(format!("{name}: not listed in SUMMARY.md"));
        }
    }
    for ch in chapters {
        if let Some(id) = ch
            .name
            .strip_prefix("labs/")
            .and_then(|n| n.strip_suffix(".md"))
            && !labs.iter().any(|l| l.id() == id)
        {
            problems.push(format!("{}: there is no lab `{id}`", ch.name));
        }
    }
}

/// Every `lab run`/`lab show` a chapter shows names a lab, and its `--set`
/// knobs exist and take those values.
fn commands(chapters: &[Chapter], labs: &[Lab], problems: &mut Vec<String>) {
    for ch in chapters {
        if ch.name == REFERENCE {
            continue;
        }
        for m in chapters::mentions(&ch.text) {
            match catalog::find(labs, &m.lab) {
                Err(e) => problems.push(format!("{}:{}: {e}", ch.name, m.line)),
                Ok(lab) => {
                    if let Err(e) = lab.knob_values(&m.sets) {
                        problems.push(format!("{}:{}: {e}", ch.name, m.line));
                    }
                }
            }
        }
    }
}

struct Written {
    total: usize,
    /// Transcripts that differ where this machine could not run the lab as
    /// the page did, with why.
    unchecked: Vec<String>,
    changed: usize,
    without_capture: bool,
}

/// Runs what every included transcript names, and writes or checks it.
fn transcripts(
    out: &mut dyn Write,
    src: &Path,
    keys: &Path,
    chapters: &[Chapter],
    args: &BookArgs,
    problems: &mut Vec<String>,
) -> Result<Written, Failure> {
    let check = args.check;
    // Each transcript, with the first chapter that includes it.
    let mut wanted: BTreeMap<String, String> = BTreeMap::new();
    let mut layers: BTreeMap<String, String> = BTreeMap::new();
    // `ID.svg`, a sequence diagram, is drawn from the run of `ID.txt`.
    let mut svgs: BTreeMap<String, String> = BTreeMap::new();
    let mut laid_out: BTreeMap<String, String> = BTreeMap::new();
    for ch in chapters {
        problems.extend(layout::raw_runs(ch));
        for file in chapters::diagram_images(ch) {
            if let Some(stem) = file.strip_suffix(".svg") {
                wanted
                    .entry(format!("{stem}.txt"))
                    .or_insert_with(|| ch.name.clone());
            }
            svgs.entry(file).or_insert_with(|| ch.name.clone());
        }
        for file in chapters::transcript_includes(ch) {
            // `ID.layers.txt` is drawn from the run of `ID.txt` (its key).
            if let Some(stem) = file.strip_suffix(".layers.txt") {
                wanted
                    .entry(format!("{stem}.txt"))
                    .or_insert_with(|| ch.name.clone());
                layers
                    .entry(file.clone())
                    .or_insert_with(|| ch.name.clone());
                continue;
            }
            // `ID.md` is `ID.txt` laid out for the page (see [`layout`]).
            if let Some(stem) = file.strip_suffix(".md") {
                wanted
                    .entry(format!("{stem}.txt"))
                    .or_insert_with(|| ch.name.clone());
                laid_out
                    .entry(file.clone())
                    .or_insert_with(|| ch.name.clone());
                continue;
            }
            wanted.entry(file).or_insert_with(|| ch.name.clone());
        }
    }
    let dir = src.join("transcripts");
    if !check {
        std::fs::create_dir_all(&dir)?;
    }
    let mut written = Written {
        total: wanted.len() + layers.len() + svgs.len() + laid_out.len(),
        unchecked: Vec::new(),
        changed: 0,
        without_capture: false,
    };
    // Commands shown as several runs (`ID--run2.txt`), by command.
    let mut shown_again: BTreeMap<Vec<String>, Vec<takes::Take>> = BTreeMap::new();
    for (file, chapter) in &wanted {
        if let Ok(spec) = Spec::parse(file) {
            shown_again.entry(spec.args).or_default().push(takes::Take {
                n: spec.take,
                file: file.clone(),
                chapter: chapter.clone(),
            });
        }
    }
    shown_again.retain(|_, t| t.len() > 1 || t.iter().any(|t| t.n > 1));
    for (file, chapter) in &wanted {
        let spec = match Spec::parse(file) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("{chapter}: includes transcripts/{file}: {e}"));
                continue;
            }
        };
        let svg_file = format!("{}.svg", file.trim_end_matches(".txt"));
        let draw = svgs.contains_key(&svg_file);
        if shown_again.contains_key(&spec.args) {
            if draw {
                problems.push(format!(
                    "{chapter}: transcripts/{svg_file}: a command shown as several runs has no one diagram"
                ));
            }
            continue;
        }
        let fresh = match spec.run(draw) {
            Ok(page) => page,
            Err(e) => {
                problems.push(format!("{chapter}: transcripts/{file}: {e}"));
                continue;
            }
        };
        if fresh.key.as_ref().is_some_and(|k| !k.captured) && !spec.no_capture {
            written.without_capture = true;
        }
        let path = dir.join(file);
        let key_path = keys.join(key_name(file));
        let stored = std::fs::read_to_string(&path).ok();
        let why = match stale(stored.as_deref(), &key_path, &fresh) {
            Staleness::Fresh if args.rewrite => "rewritten on request".to_string(),
            Staleness::Fresh => match draw
                .then(|| diagram_stale(&dir.join(&svg_file), &key_path))
                .flatten()
            {
                None => continue,
                Some(why) => why,
            },
            Staleness::Unchecked(why) if check => {
                written
                    .unchecked
                    .push(format!("transcripts/{file} ({why})"));
                continue;
            }
            Staleness::Unchecked(why) | Staleness::Stale(why) => why,
        };
        if check {
            problems.push(format!(
                "{chapter}: transcripts/{file} is stale ({why}); run `lab book`"
            ));
        } else {
            std::fs::write(&path, &fresh.text)?;
            if let Some(key) = &fresh.key {
                std::fs::create_dir_all(keys)?;
                let json = serde_json::to_string_pretty(key)
                    .map_err(|e| Failure::Usage(format!("cannot write a key: {e}")))?;
                std::fs::write(&key_path, json + "\n")?;
            }
            written.changed += 1;
            writeln!(out, "wrote transcripts/{file}")?;
            if let Some(svg) = &fresh.svg {
                std::fs::write(dir.join(&svg_file), svg)?;
                writeln!(out, "wrote transcripts/{svg_file}")?;
            }
        }
    }
    for takes in shown_again.values_mut() {
        takes.sort_by_key(|t| t.n);
        let spec = Spec::parse(&takes[0].file).expect("parsed above");
        takes::pages(out, &spec, takes, args, &mut written, problems)?;
    }
    // Keys no transcript has.
    let runs: Vec<String> = wanted
        .keys()
        .filter(|f| Spec::parse(f).is_ok_and(|s| s.runs_lab()))
        .map(|f| key_name(f))
        .collect();
    let stray = Stray {
        folder: "keys",
        why: "no transcript has it",
    };
    stray.sweep(
        out,
        keys,
        |name| runs.iter().any(|r| r == name),
        check,
        problems,
    )?;
    // Layer pages, drawn from the first data frame of their run's key.
    for (file, chapter) in &layers {
        let source = file.replace(".layers.txt", ".txt");
        let key_path = keys.join(key_name(&source));
        let frame = std::fs::read_to_string(&key_path)
            .ok()
            .and_then(|json| serde_json::from_str::<Key>(&json).ok())
            .and_then(|k| k.first_data_frame)
            .and_then(|hex| key::unhex(&hex));
        let Some(frame) = frame else {
            problems.push(format!(
                "{chapter}: transcripts/{file}: the run of transcripts/{source} captured no data frame (write it as root)"
            ));
            continue;
        };
        let drawn = match crate::render::layers::render(crate::wire::LinkType::Ethernet, &frame) {
            Ok(text) => layout::fit(&text),
            Err(e) => {
                problems.push(format!("{chapter}: transcripts/{file}: {e}"));
                continue;
            }
        };
        let path = dir.join(file);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(drawn.as_str()) {
            continue;
        }
        if check {
            problems.push(format!(
                "{chapter}: transcripts/{file} is not drawn from the run of transcripts/{source}; run `lab book`"
            ));
        } else {
            std::fs::write(&path, drawn)?;
            written.changed += 1;
            writeln!(out, "wrote transcripts/{file}")?;
        }
    }
    layout::pages(out, &dir, &laid_out, check, &mut written.changed, problems)?;
    // Transcripts no chapter includes.
    let stray = Stray {
        folder: "transcripts",
        why: "no chapter includes it",
    };
    stray.sweep(
        out,
        &dir,
        |name| {
            wanted.contains_key(name)
                || layers.contains_key(name)
                || svgs.contains_key(name)
                || laid_out.contains_key(name)
        },
        check,
        problems,
    )?;
    Ok(written)
}

/// Files of the book's generated folders that nothing uses any more.
struct Stray {
    /// The folder, as the report names it.
    folder: &'static str,
    /// Why such a file is not wanted.
    why: &'static str,
}

impl Stray {
    /// Reports (with `check`) or removes every file of `dir` that `used`
    /// does not claim.
    fn sweep(
        &self,
        out: &mut dyn Write,
        dir: &Path,
        used: impl Fn(&str) -> bool,
        check: bool,
        problems: &mut Vec<String>,
    ) -> Result<(), Failure> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if used(&name) {
                continue;
            }
            if check {
                problems.push(format!(
                    "{}/{name}: {}; run `lab book` to remove it",
                    self.folder, self.why
                ));
            } else {
                std::fs::remove_file(entry.path())?;
                writeln!(out, "removed {}/{name} ({})", self.folder, self.why)?;
            }
        }
        Ok(())
    }
}

/// What a transcript's file name asks `lab` to run.
#[derive(Debug, PartialEq, Eq)]
struct Spec {
    /// Arguments after `lab --color never`.
    args: Vec<String>,
    no_capture: bool,
    /// Which run of the command the page shows: 1, or n for `--runN`
    /// (see [`takes`]).
    take: usize,
}

impl Spec {
    /// `09-sticky-packet--recv1=2--no-capture.txt` → `run 09-sticky-packet
    /// --set recv1=2 --no-capture`; `ID--show.txt` → `show ID`;
    /// `list.txt` → `list`; `ID--run2.txt` → `run ID`, its second story.
    fn parse(file: &str) -> Result<Spec, String> {
        let stem = file
            .strip_suffix(".txt")
            .ok_or("a transcript's name ends in .txt")?;
        if stem == "list" {
            return Ok(Spec {
                args: vec!["list".into()],
                no_capture: false,
                take: 1,
            });
        }
        let mut parts = stem.split("--");
        let id = parts.next().unwrap_or_default().to_string();
        let rest: Vec<&str> = parts.collect();
        if rest == ["show"] {
            return Ok(Spec {
                args: vec!["show".into(), id],
                no_capture: false,
                take: 1,
            });
        }
        let mut args = vec!["run".to_string(), id];
        let mut no_capture = false;
        let mut take = 1;
        for part in rest {
            let n = part
                .strip_prefix("run")
                .and_then(|n| n.parse::<usize>().ok());
            if part == "no-capture" {
                no_capture = true;
            } else if part.contains('=') {
                args.push("--set".into());
                args.push(part.to_string());
            } else if let Some(n) = n.filter(|&n| n >= 2) {
                take = n;
            } else {
                return Err(format!(
                    "`{part}` in the name is neither knob=value, show, no-capture nor run2, run3, ..."
                ));
            }
        }
        if no_capture {
            args.push("--no-capture".into());
        }
        Ok(Spec {
            args,
            no_capture,
            take,
        })
    }

    fn runs_lab(&self) -> bool {
        self.args[0] == "run"
    }

    /// Runs the command in this process and returns the page: the command,
    /// then its trimmed output, and for a run its key and, with `draw`, its
    /// sequence diagram, drawn from the same run's events.
    fn run(&self, draw: bool) -> Result<Page, String> {
        let mut buf: Vec<u8> = Vec::new();
        let command = format!("$ lab {}", self.args.join(" "));
        let failed = |e: Failure| format!("`lab {}` failed: {e}", self.args.join(" "));
        let mut drawings = super::drawing::Drawings::default();
        let key = match self.args[0].as_str() {
            "list" => {
                // As a newcomer sees it: no progress marks.
                super::list_marked(&mut buf, false, None).map_err(failed)?;
                None
            }
            "show" => {
                super::show(&mut buf, &self.args[1]).map_err(failed)?;
                None
            }
            _ => {
                let lab = super::resolve(&self.args[1]).map_err(failed)?;
                let sets: Vec<String> = self
                    .args
                    .windows(2)
                    .filter(|w| w[0] == "--set")
                    .map(|w| w[1].clone())
                    .collect();
                let knobs = lab.knob_values(&sets).map_err(|e| failed(e.into()))?;
                let mode = super::CaptureMode::detect(!self.no_capture);
                if draw {
                    let title = format!("lab {}", self.args.join(" "));
                    drawings = super::drawing::Drawings::diagram_only(&title);
                }
                let done = super::human_drawn(
                    &mut buf,
                    &lab,
                    &knobs,
                    &mode,
                    super::Files::default(),
                    &mut drawings,
                )
                .map_err(failed)?;
                if !done.passed() {
                    return Err(format!(
                        "`lab {}`: a check of the lab failed, so this run cannot stand in the book:\n{}",
                        self.args.join(" "),
                        done.failed_checks(|_| true).join("\n")
                    ));
                }
                Some((lab, knobs, done))
            }
        };
        let output = String::from_utf8_lossy(&buf);
        let text = format!("{command}\n{}", transcript::trim(&output));
        let svg = drawings.diagram.map(|d| d.render());
        let key = key.map(|(lab, knobs, done)| {
            let key = Key::of(&command, &lab, &knobs, &done, &text);
            match &svg {
                Some(svg) => key.with_diagram(svg),
                None => key,
            }
        });
        Ok(Page { text, key, svg })
    }
}

/// `reference.md`: the `--help` of `lab` and of each of its commands, as
/// clap renders them.
fn reference() -> String {
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    let mut s = String::from(
        "# Command reference\n\n\
         <!-- Written by `lab book` from the command line's own help: do not edit. -->\n\n\
         Every command and option of `lab`, as `--help` prints them. The same text is \
         one `lab COMMAND --help` away in your terminal.\n",
    );
    let mut section = |title: &str, invocation: &str, help: String| {
        s.push_str(&format!(
            "\n## {title}\n\n```text\n$ {invocation}\n{}\n```\n",
            help.trim_end()
        ));
    };
    section("lab", "lab --help", plain(cmd.render_long_help()));
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        let mut sub = sub.clone().bin_name(format!("lab {name}"));
        section(
            &format!("lab {name}"),
            &format!("lab {name} --help"),
            plain(sub.render_long_help()),
        );
    }
    s
}

/// Help text without terminal styling.
fn plain(help: clap::builder::StyledStr) -> String {
    let text = help.to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip a CSI sequence: ESC [ ... final byte.
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_commands() {
        let s = Spec::parse("09-sticky-packet--recv1=2--no-capture.txt").unwrap();
        assert_eq!(
            s.args,
            [
                "run",
                "09-sticky-packet",
                "--set",
                "recv1=2",
                "--no-capture"
            ]
        );
        assert!(s.no_capture);
        assert_eq!(Spec::parse("10--show.txt").unwrap().args, ["show", "10"]);
        assert_eq!(Spec::parse("list.txt").unwrap().args, ["list"]);
        assert!(Spec::parse("09--loud.txt").is_err());
        assert!(Spec::parse("09.md").is_err());
        // Another story of the same command.
        let again = Spec::parse("08-remote-command--run2.txt").unwrap();
        assert_eq!(again.args, ["run", "08-remote-command"]);
        assert_eq!(again.take, 2);
        assert_eq!(Spec::parse("08-remote-command.txt").unwrap().take, 1);
        assert!(Spec::parse("08--run1.txt").is_err());
        assert!(Spec::parse("08--runs.txt").is_err());
    }

    #[test]
    fn the_reference_has_every_command() {
        let r = reference();
        for name in ["lab run", "lab show", "lab list", "lab book"] {
            assert!(r.contains(&format!("## {name}\n")), "{name}");
        }
        assert!(!r.contains('\u{1b}'));
    }
}
