//! Reading the book's Markdown: which transcripts a chapter includes, which
//! `lab` commands it tells the reader to type, and where its links go.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// One Markdown file of the book.
pub struct Chapter {
    /// Path relative to `book/src`, with `/` separators: `labs/09-sticky-packet.md`.
    pub name: String,
    pub text: String,
}

/// Every `.md` file under `src`, except generated transcripts, sorted.
pub fn read_all(src: &Path) -> std::io::Result<Vec<Chapter>> {
    let mut out = Vec::new();
    walk(src, src, &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Chapter>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "transcripts") {
                walk(root, &path, out)?;
            }
        } else if path.extension().is_some_and(|x| x == "md") {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push(Chapter {
                name,
                text: std::fs::read_to_string(&path)?,
            });
        }
    }
    Ok(())
}

static INCLUDE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{#include\s+([^}\s]+)\s*\}\}").expect("pattern"));

/// The transcript files a chapter includes, as file names inside
/// `src/transcripts/` (`09-sticky-packet.txt`), or an error for an include
/// that points elsewhere into the transcripts folder in a way we cannot read.
pub fn transcript_includes(ch: &Chapter) -> Vec<String> {
    let dir = Path::new(&ch.name).parent().unwrap_or(Path::new(""));
    INCLUDE
        .captures_iter(&ch.text)
        .filter_map(|c| {
            // `file.txt:anchor` or `file.txt:10:20` select part of a file.
            let target = c[1].split(':').next().unwrap_or("");
            let path = normalize(&dir.join(target));
            let rel = path.strip_prefix("transcripts").ok()?;
            Some(rel.to_string_lossy().into_owned())
        })
        .collect()
}

static IMAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"!\[[^\]]*\]\(([^)\s]+\.svg)\)").expect("pattern"));

/// The sequence diagrams a chapter shows as images (`![...](../transcripts/ID.svg)`),
/// as file names inside `src/transcripts/`.
pub fn diagram_images(ch: &Chapter) -> Vec<String> {
    let dir = Path::new(&ch.name).parent().unwrap_or(Path::new(""));
    IMAGE
        .captures_iter(&ch.text)
        .filter_map(|c| {
            let path = normalize(&dir.join(&c[1]));
            let rel = path.strip_prefix("transcripts").ok()?;
            Some(rel.to_string_lossy().into_owned())
        })
        .collect()
}

/// `a/b/../c` → `a/c`, without touching the disk.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A `lab run` or `lab show` command a chapter shows.
#[derive(Debug, PartialEq, Eq)]
pub struct Mention {
    pub lab: String,
    pub sets: Vec<String>,
    /// `lab run ID --predict`: the run with the lab's questions.
    pub predict: bool,
    pub line: usize,
}

static COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\blab (?:run|show) ([A-Za-z0-9_./-]+)((?:\s+--(?:set\s+\S+|[a-z-]+))*)")
        .expect("pattern")
});
static SET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"--set\s+([^\s`]+)").expect("pattern"));

/// Every `lab run ID ...` and `lab show ID` in a chapter's text, with its
/// `--set` settings. Placeholders in capitals (`lab run ID`) and lab files
/// (`./my-lab.toml`) are not lab ids and are skipped.
pub fn mentions(text: &str) -> Vec<Mention> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for c in COMMAND.captures_iter(line) {
            let lab = c[1].to_string();
            let placeholder = lab.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_');
            if placeholder || lab.ends_with(".toml") || lab.contains('/') || lab.starts_with('-') {
                continue;
            }
            let sets = SET
                .captures_iter(&c[2])
                .map(|s| s[1].trim_end_matches(['`', ',', '.', ')']).to_string())
                .collect();
            let predict = c[2].split_whitespace().any(|w| w == "--predict");
            out.push(Mention {
                lab,
                sets,
                predict,
                line: n + 1,
            });
        }
    }
    out
}

static LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\]\(([^)\s]+)\)").expect("pattern"));
static HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^#{1,6}\s+(.+?)\s*$").expect("pattern"));
static CODE_BLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?ms)^```.*?^```").expect("pattern"));

/// The id mdBook gives a heading: lower case, spaces to `-`, other
/// punctuation dropped.
pub fn heading_id(heading: &str) -> String {
    let plain = heading.replace('`', "");
    let mut id = String::new();
    for c in plain.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            id.extend(c.to_lowercase());
        } else if c.is_whitespace() {
            id.push('-');
        }
    }
    id
}

/// The heading ids of a chapter.
pub fn anchors(text: &str) -> BTreeSet<String> {
    let prose = CODE_BLOCK.replace_all(text, "");
    HEADING
        .captures_iter(&prose)
        .map(|c| heading_id(&c[1]))
        .collect()
}

/// Links of a chapter that do not resolve: a missing file, or a `#anchor`
/// that is not a heading of its target. External links are not followed.
pub fn broken_links(ch: &Chapter, all: &[Chapter]) -> Vec<String> {
    let prose = CODE_BLOCK.replace_all(&ch.text, "");
    let dir = Path::new(&ch.name).parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    let images = diagram_images(ch);
    for c in LINK.captures_iter(&prose) {
        let target = &c[1];
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        // A diagram, shown in this chapter (and so drawn by `lab book`):
        // the image itself, or a link to see it whole.
        if target.ends_with(".svg") {
            let path = normalize(&dir.join(target));
            let shown = path
                .strip_prefix("transcripts")
                .is_ok_and(|rel| images.iter().any(|i| Path::new(i) == rel));
            if !shown {
                out.push(format!(
                    "link to `{target}`: no diagram of that name is shown in this chapter"
                ));
            }
            continue;
        }
        let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
        let name = if file.is_empty() {
            ch.name.clone()
        } else {
            normalize(&dir.join(file)).to_string_lossy().into_owned()
        };
        let Some(found) = all.iter().find(|c| c.name == name) else {
            out.push(format!("link to `{target}`: no such chapter"));
            continue;
        };
        if !anchor.is_empty() && !anchors(&found.text).contains(anchor) {
            out.push(format!(
                "link to `{target}`: {name} has no heading `#{anchor}`"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_their_knobs_are_found() {
        let text = "Run `lab run 09-sticky-packet --set recv1=2 --set nodelay=true`.\n\
                    Then `lab show 10` and `lab run ID`, `lab run ./my-lab.toml`.\n\
                    Predict first: `lab run 03-blocking-recv --predict` asks.";
        let m = mentions(text);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].lab, "09-sticky-packet");
        assert_eq!(m[0].sets, vec!["recv1=2", "nodelay=true"]);
        assert!(!m[0].predict);
        assert_eq!(m[1].lab, "10");
        assert_eq!(m[1].line, 2);
        assert_eq!(m[2].lab, "03-blocking-recv");
        assert!(m[2].predict && m[2].sets.is_empty());
    }

    #[test]
    fn includes_resolve_relative_to_the_chapter() {
        let ch = Chapter {
            name: "labs/09-sticky-packet.md".into(),
            text: "{{#include ../transcripts/09-sticky-packet.txt}}\n{{#include other.md}}".into(),
        };
        assert_eq!(transcript_includes(&ch), vec!["09-sticky-packet.txt"]);
    }

    #[test]
    fn heading_ids_follow_mdbook() {
        assert_eq!(heading_id("What to notice"), "what-to-notice");
        assert_eq!(heading_id("`send` vs. `sendall`"), "send-vs-sendall");
    }

    #[test]
    fn a_link_to_a_missing_heading_is_reported() {
        let a = Chapter {
            name: "a.md".into(),
            text: "# A\n\nSee [b](labs/b.md#nope) and [b](labs/b.md#there).".into(),
        };
        let b = Chapter {
            name: "labs/b.md".into(),
            text: "# B\n\n## There\n".into(),
        };
        let all = [a, b];
        let broken = broken_links(&all[0], &all);
        assert_eq!(broken.len(), 1);
        assert!(broken[0].contains("#nope"));
    }
}
