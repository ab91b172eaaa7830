//! `lab book`: the course companion in `book/`, kept true by `lab` itself.
//!
//! Chapters include transcripts with mdBook's `{{#include}}`:
//!
//! ```text
//! {{#include ../transcripts/09-sticky-packet--recv1=2.txt}}
//! ```
//!
//! A transcript's file name is the command that makes it: the lab id, then
//! `--knob=value` for each `--set`, and `--no-capture` to run without the
//! packet capture; `09-sticky-packet--show.txt` is `lab show`, `list.txt`
//! is `lab list`. `lab book` runs each command with colour off, trims the
//! output for a page (see [`transcript`]) and writes the file when what it
//! says changed. It also writes `reference.md` from the command line's own
//! `--help`.
//!
//! `lab book --check` writes nothing. It fails, naming the chapter, when a
//! transcript is stale or missing, when a lab has no chapter, when a chapter
//! shows `lab run`/`lab show` with a lab or a `--set` knob that does not
//! exist, or when a link points to no chapter or heading.

mod chapters;
mod diagram;
mod key;
mod transcript;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use clap::CommandFactory;

use super::{Failure, Outcome, labs};
use crate::catalog::{self, Lab};
use chapters::Chapter;

/// Options of `lab book`.
pub struct BookArgs<'a> {
    /// The book's folder (with `book.toml` and `src/`).
    pub dir: &'a Path,
    /// Compare only; write nothing.
    pub check: bool,
}

/// The generated command reference, inside `src/`.
const REFERENCE: &str = "reference.md";

/// `lab book [--check] [--dir book]`.
pub fn book(out: &mut dyn Write, args: &BookArgs) -> Outcome {
    let src = args.dir.join("src");
    if !src.join("SUMMARY.md").is_file() {
        return Err(Failure::Usage(format!(
            "{} has no src/SUMMARY.md: is it the book's folder? (`lab book --dir PATH`)",
            args.dir.display()
        )));
    }
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
    let written = transcripts(out, &src, &chapters, args.check, &mut problems)?;
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
        writeln!(
            out,
            "note: not checked without capture privilege (run as root to check it): {file}"
        )?;
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
    /// Transcripts that differ but could not be checked without privilege.
    unchecked: Vec<String>,
    changed: usize,
    without_capture: bool,
}

/// Runs what every included transcript names, and writes or checks it.
fn transcripts(
    out: &mut dyn Write,
    src: &Path,
    chapters: &[Chapter],
    check: bool,
    problems: &mut Vec<String>,
) -> Result<Written, Failure> {
    // Each transcript, with the first chapter that includes it.
    let mut wanted: BTreeMap<String, String> = BTreeMap::new();
    let mut diagrams: BTreeMap<String, String> = BTreeMap::new();
    for ch in chapters {
        for file in chapters::transcript_includes(ch) {
            // `ID.diagram.txt` is drawn from the transcript `ID.txt`.
            if let Some(stem) = file.strip_suffix(".diagram.txt") {
                wanted
                    .entry(format!("{stem}.txt"))
                    .or_insert_with(|| ch.name.clone());
                diagrams
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
        total: wanted.len() + diagrams.len(),
        unchecked: Vec::new(),
        changed: 0,
        without_capture: false,
    };
    for (file, chapter) in &wanted {
        let spec = match Spec::parse(file) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("{chapter}: includes transcripts/{file}: {e}"));
                continue;
            }
        };
        let fresh = match spec.run() {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{chapter}: transcripts/{file}: {e}"));
                continue;
            }
        };
        let fresh_key = key::key(&fresh);
        if spec.runs_lab() && !spec.no_capture && !fresh_key.captured {
            written.without_capture = true;
        }
        let path = dir.join(file);
        let stored = std::fs::read_to_string(&path).ok();
        let stale = match &stored {
            None => Some("missing".to_string()),
            Some(text) => {
                let stored_key = key::key(text);
                (!stored_key.same(&fresh_key)).then(|| stored_key.first_difference(&fresh_key))
            }
        };
        let Some(why) = stale else { continue };
        let unprivileged =
            !fresh_key.captured && stored.as_deref().is_some_and(|t| key::key(t).captured);
        if check && unprivileged {
            // Made as root (capture on, MTU knobs work), checked without:
            // a difference here may be the missing privilege, not the book.
            written
                .unchecked
                .push(format!("transcripts/{file} ({why})"));
            continue;
        }
        if check {
            problems.push(format!(
                "{chapter}: transcripts/{file} is stale ({why}); run `lab book`"
            ));
        } else {
            std::fs::write(&path, &fresh)?;
            written.changed += 1;
            writeln!(out, "wrote transcripts/{file}")?;
        }
    }
    // Diagrams, drawn from the transcripts as they now stand.
    for (file, chapter) in &diagrams {
        let source = file.replace(".diagram.txt", ".txt");
        let Ok(text) = std::fs::read_to_string(dir.join(&source)) else {
            continue; // reported above as missing
        };
        let Some(drawn) = diagram::render(&text) else {
            problems.push(format!(
                "{chapter}: transcripts/{file}: only a run with two actors makes a diagram"
            ));
            continue;
        };
        let path = dir.join(file);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(drawn.as_str()) {
            continue;
        }
        if check {
            problems.push(format!(
                "{chapter}: transcripts/{file} is not drawn from transcripts/{source}; run `lab book`"
            ));
        } else {
            std::fs::write(&path, drawn)?;
            written.changed += 1;
            writeln!(out, "wrote transcripts/{file}")?;
        }
    }
    // Transcripts no chapter includes.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if wanted.contains_key(&name) || diagrams.contains_key(&name) {
                continue;
            }
            if check {
                problems.push(format!(
                    "transcripts/{name}: no chapter includes it; run `lab book` to remove it"
                ));
            } else {
                std::fs::remove_file(entry.path())?;
                writeln!(out, "removed transcripts/{name} (no chapter includes it)")?;
            }
        }
    }
    Ok(written)
}

/// What a transcript's file name asks `lab` to run.
#[derive(Debug, PartialEq, Eq)]
struct Spec {
    /// Arguments after `lab --color never`.
    args: Vec<String>,
    no_capture: bool,
}

impl Spec {
    /// `09-sticky-packet--recv1=2--no-capture.txt` → `run 09-sticky-packet
    /// --set recv1=2 --no-capture`; `ID--show.txt` → `show ID`;
    /// `list.txt` → `list`.
    fn parse(file: &str) -> Result<Spec, String> {
        let stem = file
            .strip_suffix(".txt")
            .ok_or("a transcript's name ends in .txt")?;
        if stem == "list" {
            return Ok(Spec {
                args: vec!["list".into()],
                no_capture: false,
            });
        }
        let mut parts = stem.split("--");
        let id = parts.next().unwrap_or_default().to_string();
        let rest: Vec<&str> = parts.collect();
        if rest == ["show"] {
            return Ok(Spec {
                args: vec!["show".into(), id],
                no_capture: false,
            });
        }
        let mut args = vec!["run".to_string(), id];
        let mut no_capture = false;
        for part in rest {
            if part == "no-capture" {
                no_capture = true;
            } else if part.contains('=') {
                args.push("--set".into());
                args.push(part.to_string());
            } else {
                return Err(format!(
                    "`{part}` in the name is neither knob=value, show nor no-capture"
                ));
            }
        }
        if no_capture {
            args.push("--no-capture".into());
        }
        Ok(Spec { args, no_capture })
    }

    fn runs_lab(&self) -> bool {
        self.args[0] == "run"
    }

    /// Runs `lab` (this very binary) and returns the page: the command,
    /// then its trimmed output.
    fn run(&self) -> Result<String, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find `lab` itself: {e}"))?;
        let output = Command::new(exe)
            .args(["--color", "never"])
            .args(&self.args)
            .env("NO_COLOR", "1")
            .output()
            .map_err(|e| format!("cannot run `lab`: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0) => {}
            Some(1) if self.runs_lab() => {
                return Err(format!(
                    "`lab {}`: a check of the lab failed, so this run cannot stand in the book:\n{}",
                    self.args.join(" "),
                    stdout
                        .lines()
                        .filter(|l| l.starts_with('✗'))
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
            }
            _ => {
                return Err(format!(
                    "`lab {}` failed: {}",
                    self.args.join(" "),
                    stderr.trim()
                ));
            }
        }
        Ok(format!(
            "$ lab {}\n{}",
            self.args.join(" "),
            transcript::trim(&stdout)
        ))
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
