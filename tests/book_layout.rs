//! The book's layout: transcripts fit the page, and the boxes that set the
//! course beside Linux carry their own label.
//!
//! The page width is measured on mdBook's default theme (0.5.4), which the
//! book keeps (its `theme/book.css` changes neither): `--content-max-width`
//! is 750px, a code block pads its text by 1rem (10px) on each side, and
//! code is 0.875em of the body's 16px, i.e. 14px of Source Code Pro, whose
//! glyphs are 0.6em (8.4px) wide: (750 − 20) / 8.4 = 86.9 columns.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Columns of a code block on a page (see the module docs; the same as
/// `WIDTH` in src/app/book/layout.rs).
const WIDTH: usize = 86;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

/// Every chapter of the book, with its path under `book/src`.
fn chapters() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![src()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("transcripts") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "md") {
                let name = path.strip_prefix(src()).unwrap().display().to_string();
                out.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A chapter's lines with its transcript includes expanded as mdBook does;
/// each line says whether it came from a transcript.
fn expanded(name: &str, text: &str) -> Vec<(String, bool)> {
    let dir = src().join(name).parent().unwrap().to_path_buf();
    let mut out = Vec::new();
    for line in text.lines() {
        let target = line
            .trim()
            .strip_prefix("{{#include ")
            .and_then(|r| r.strip_suffix("}}"))
            .map(str::trim);
        match target {
            Some(t) if t.contains("transcripts/") => {
                let page = std::fs::read_to_string(dir.join(t))
                    .unwrap_or_else(|e| panic!("{name}: cannot read {t}: {e}"));
                out.extend(page.lines().map(|l| (l.to_string(), true)));
            }
            _ => out.push((line.to_string(), false)),
        }
    }
    out
}

#[test]
fn every_transcript_line_in_view_fits_the_page() {
    let mut checked = 0;
    let mut folded = 0;
    let mut too_wide = Vec::new();
    for (name, text) in chapters() {
        let (mut depth, mut fenced) = (0usize, false);
        for (line, from_transcript) in expanded(&name, &text) {
            let t = line.trim();
            if !fenced && t.starts_with("<details") {
                depth += 1;
                folded += usize::from(from_transcript);
                continue;
            }
            if !fenced && t.starts_with("</details>") {
                depth = depth.saturating_sub(1);
                continue;
            }
            if t.starts_with("```") {
                fenced = !fenced;
                continue;
            }
            if !(fenced && from_transcript && depth == 0) {
                continue;
            }
            checked += 1;
            let n = line.chars().count();
            if n > WIDTH {
                too_wide.push(format!("{name}: {n} columns: {line}"));
            }
        }
        assert!(!fenced, "{name}: a code block is not closed");
    }
    assert!(
        too_wide.is_empty(),
        "{} transcript lines in view are wider than the page ({WIDTH} columns); run `lab book`:\n{}",
        too_wide.len(),
        too_wide[..too_wide.len().min(10)].join("\n")
    );
    // Not a vacuous pass: the chapters show transcripts, with packet rows
    // and maps folded away.
    assert!(checked > 1000, "only {checked} lines checked");
    assert!(folded > 40, "only {folded} folded blocks");
}

#[test]
fn the_theme_keeps_the_width_the_layout_was_measured_for() {
    let book = src().join("..");
    let toml = std::fs::read_to_string(book.join("book.toml")).unwrap();
    assert!(
        toml.contains(r#"additional-css = ["theme/book.css"]"#),
        "{toml}"
    );
    let css = std::fs::read_to_string(book.join("theme/book.css")).unwrap();
    for setting in ["content-max-width", "code-font-size", "font-family"] {
        assert!(
            !css.contains(setting),
            "theme/book.css sets {setting}: measure the page again (tests/book_layout.rs)"
        );
    }
    // No external resources: fonts, images or styles from elsewhere.
    for outside in ["url(", "@import", "http"] {
        assert!(!css.contains(outside), "theme/book.css loads `{outside}`");
    }
    assert!(css.contains(".course-box"), "{css}");
}

/// The opening of a course box, with its label.
const BOX: &str =
    "<div class=\"course-box\">\n<p class=\"course-box-label\">The course says / On Linux</p>\n\n>";

/// Course boxes in `text`: quotes that open with what the course says.
fn boxes(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("> **The course"))
        .count()
}

#[test]
fn every_course_box_carries_its_own_label() {
    let mut total = 0;
    for (name, text) in chapters() {
        // mdBook's alerts would add their own "Warning" title.
        for alert in [
            "[!WARNING]",
            "[!NOTE]",
            "[!TIP]",
            "[!IMPORTANT]",
            "[!CAUTION]",
        ] {
            assert!(!text.contains(alert), "{name}: `{alert}`: use a course box");
        }
        let n = boxes(&text);
        let labelled = text.matches(BOX).count();
        assert_eq!(
            labelled, n,
            "{name}: {n} course boxes, {labelled} opened with the label"
        );
        // Each box is closed, after its quote and a blank line.
        assert_eq!(text.matches("\n\n</div>").count(), n, "{name}");
        total += n;
    }
    assert!(total >= 15, "only {total} course boxes");
}

#[test]
fn every_course_box_renders_with_its_label() {
    // mdBook itself, when installed (CI pins it): each lab's page shows as
    // many labels as its chapter has boxes, and no alert title.
    let Ok(version) = Command::new("mdbook").arg("--version").output() else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: mdbook is not installed (`cargo install mdbook --version 0.5.4 --locked`)"
        );
        return;
    };
    assert!(version.status.success());
    let out = std::env::temp_dir().join(format!("socket-lab-book-html-{}", std::process::id()));
    let build = Command::new("mdbook")
        .arg("build")
        .arg(src().join(".."))
        .arg("--dest-dir")
        .arg(&out)
        .output()
        .expect("run mdbook");
    let log = String::from_utf8_lossy(&build.stderr).into_owned();
    assert!(build.status.success(), "{log}");
    assert!(!log.contains("WARN") && !log.contains("ERROR"), "{log}");
    let mut pages = 0;
    for (name, text) in chapters() {
        let n = boxes(&text);
        if n == 0 || name == "SUMMARY.md" {
            continue;
        }
        let html = std::fs::read_to_string(out.join(name.replace(".md", ".html"))).unwrap();
        let label = "<p class=\"course-box-label\">The course says / On Linux</p>";
        assert_eq!(html.matches(label).count(), n, "{name}");
        assert!(!html.contains("blockquote-tag-title"), "{name}");
        pages += 1;
    }
    let _ = std::fs::remove_dir_all(&out);
    assert!(pages >= 10, "only {pages} pages with boxes");
}

#[test]
fn a_run_shown_raw_or_a_layout_edited_by_hand_is_caught() {
    // A chapter shows a run as `ID.md`, laid out for the page from `ID.txt`;
    // `lab book --check` names a chapter that shows `ID.txt` itself, and an
    // `ID.md` that is not the layout of its `ID.txt`.
    let book = src();
    let dir = std::env::temp_dir().join(format!("socket-lab-book-layout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (labs, pages, keys) = (
        dir.join("src/labs"),
        dir.join("src/transcripts"),
        dir.join("keys"),
    );
    for d in [&labs, &pages, &keys] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(
        dir.join("src/SUMMARY.md"),
        "# Summary\n\n- [lab](labs/03-blocking-recv.md)\n",
    )
    .unwrap();
    std::fs::copy(book.join("reference.md"), dir.join("src/reference.md")).unwrap();
    let chapter = "# Lab 03\n\n{{#include ../transcripts/03-blocking-recv.md}}\n\n\
         ```text\n{{#include ../transcripts/03-blocking-recv--message=hi.txt}}\n```\n";
    std::fs::write(labs.join("03-blocking-recv.md"), chapter).unwrap();
    for name in ["03-blocking-recv.txt", "03-blocking-recv--message=hi.txt"] {
        std::fs::copy(book.join("transcripts").join(name), pages.join(name)).unwrap();
        let key = name.replace(".txt", ".json");
        std::fs::copy(book.join("../keys").join(&key), keys.join(&key)).unwrap();
    }
    let laid_out = std::fs::read_to_string(book.join("transcripts/03-blocking-recv.md")).unwrap();
    std::fs::write(
        pages.join("03-blocking-recv.md"),
        laid_out.replace("<details>", "<details open>"),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["book", "--check", "--dir"])
        .arg(&dir)
        .output()
        .expect("run lab book --check");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "labs/03-blocking-recv.md: includes transcripts/03-blocking-recv--message=hi.txt, a run laid out for a terminal"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "transcripts/03-blocking-recv.md is not laid out from transcripts/03-blocking-recv.txt"
        ),
        "{stdout}"
    );
}
