//! The book in `book/` tells the truth about the current labs.
//!
//! `lab book --check` runs every command a chapter shows output of and
//! compares what it prints now with the transcript in the book (after
//! masking ports, times and other run-to-run noise). It also fails when a
//! lab has no chapter, when a chapter names a lab or knob that does not
//! exist, or when a link goes nowhere. When this test fails after you
//! changed a lab, run `cargo run --release -- book` and read the diff of
//! `book/src/transcripts/` before committing it.

use std::path::Path;
use std::process::Command;

#[test]
fn the_book_is_up_to_date_with_the_labs() {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book");
    let output = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["book", "--check", "--dir"])
        .arg(&book)
        .output()
        .expect("run lab book --check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "lab book --check failed:\n{stdout}{stderr}"
    );
    assert!(stdout.contains("book checked"), "{stdout}");
}

#[test]
fn a_stale_transcript_is_caught_and_named() {
    // A book of one chapter whose transcript was edited by hand: the check
    // must fail and name the chapter and the file.
    let dir = scratch_book("stale", "09-sticky-packet.md");
    let transcript = dir.join("src/transcripts/09-sticky-packet--recv1=2.txt");
    let text = std::fs::read_to_string(&transcript).expect("lab 09's transcript");
    std::fs::write(&transcript, text.replace("\"llofeng\"", "\"llofeng!\"")).unwrap();
    let stdout = check(&dir);
    assert!(
        stdout.contains(
            "labs/09-sticky-packet.md: transcripts/09-sticky-packet--recv1=2.txt is stale"
        ),
        "{stdout}"
    );
}

#[test]
fn a_chapter_naming_a_missing_knob_is_caught() {
    let dir = scratch_book("knob", "09-sticky-packet.md");
    let chapter = dir.join("src/labs/09-sticky-packet.md");
    let mut text = std::fs::read_to_string(&chapter).unwrap();
    text.push_str("\nTry `lab run 09-sticky-packet --set nagle=off`.\n");
    std::fs::write(&chapter, text).unwrap();
    let stdout = check(&dir);
    assert!(stdout.contains("09-sticky-packet.md:"), "{stdout}");
    assert!(stdout.contains("has no knob `nagle`"), "{stdout}");
}

/// A copy of the book with one lab chapter (and its transcripts), in a
/// folder of its own; the other labs are reported as having no chapter.
fn scratch_book(name: &str, chapter: &str) -> std::path::PathBuf {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let dir = std::env::temp_dir().join(format!("socket-lab-book-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("labs")).unwrap();
    std::fs::create_dir_all(src.join("transcripts")).unwrap();
    std::fs::write(
        src.join("SUMMARY.md"),
        format!("# Summary\n\n- [lab](labs/{chapter})\n"),
    )
    .unwrap();
    let text = std::fs::read_to_string(book.join("labs").join(chapter)).unwrap();
    // Links to other chapters would dangle in this one-chapter book.
    let text = text.replace("](../", "](https://example.invalid/");
    let text = text.replace("](0", "](https://example.invalid/0");
    let text = text.replace("](1", "](https://example.invalid/1");
    std::fs::write(src.join("labs").join(chapter), &text).unwrap();
    let stem = chapter.trim_end_matches(".md");
    for entry in std::fs::read_dir(book.join("transcripts")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with(stem) {
            std::fs::copy(
                entry.path(),
                src.join("transcripts").join(entry.file_name()),
            )
            .unwrap();
        }
    }
    dir
}

/// `lab book --check` on `dir`, which must fail; its report.
fn check(dir: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["book", "--check", "--dir"])
        .arg(dir)
        .output()
        .expect("run lab book --check");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    stdout
}
