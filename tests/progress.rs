//! Progress as a learner meets it: `lab run` marks a lab done, `lab list`
//! shows it, `lab progress` counts, `lab next` runs the next lab, `lab
//! reset` forgets, and a state file `lab` cannot read or write never costs
//! a run or the progress it held.
//!
//! Each test has its own `XDG_STATE_HOME`, so they run in parallel and
//! never touch the developer's own progress. The labs they run are fast
//! ones (01, 06, 19) without the capture; as root each still runs in its
//! own network namespace, and no test picks a port.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;

/// `lab ARGS` with `state` as XDG_STATE_HOME and no colour.
fn lab(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .arg("--color=never")
        .env("XDG_STATE_HOME", state)
        .env("HOME", state.join("home"))
        .output()
        .expect("run lab")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The progress file under `state`.
fn progress_file(state: &Path) -> PathBuf {
    state.join("socket-lab/progress.json")
}

/// Writes a progress file under `state` in which `done` are done.
fn seed(state: &Path, done: &[&str]) {
    let labs: serde_json::Map<String, Json> = done
        .iter()
        .map(|id| {
            (
                id.to_string(),
                serde_json::json!({"done_at": 1, "knobs": {}}),
            )
        })
        .collect();
    let file = progress_file(state);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let json = serde_json::json!({"version": 1, "labs": labs});
    std::fs::write(file, json.to_string()).unwrap();
}

/// Every lab id, in the catalog's order, from `lab list --json`.
fn lab_ids(state: &Path) -> Vec<String> {
    list_json(state)
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

fn list_json(state: &Path) -> Vec<Json> {
    let out = lab(state, &["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice::<Json>(&out.stdout)
        .expect("valid JSON")
        .as_array()
        .expect("an array")
        .clone()
}

fn done_in_list(state: &Path, id: &str) -> bool {
    let labs = list_json(state);
    let lab = labs.iter().find(|l| l["id"] == id).expect("the lab");
    lab["done"].as_bool().expect("a done field")
}

/// The row of `lab list`'s table that names `id`.
fn table_row(table: &str, id: &str) -> String {
    table
        .lines()
        .find(|l| l.contains(&format!(" {id} ")))
        .unwrap_or_else(|| panic!("no row for {id}:\n{table}"))
        .to_string()
}

/// The one line `lab` wrote on stderr, which must be a warning.
fn one_warning(out: &Output) -> String {
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("lab: warning: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn a_run_whose_checks_hold_marks_the_lab_done() {
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    assert!(!done_in_list(s, "01-phone-call"));

    let out = lab(s, &["run", "01", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("01-phone-call is done: 1 of 19 labs"),
        "{stdout}"
    );

    // The table marks it, and only it.
    let out = lab(s, &["list"]);
    let table = text(&out.stdout);
    assert!(table.contains(" done "), "a done column: {table}");
    assert!(table_row(&table, "01-phone-call").contains('✓'), "{table}");
    assert!(!table_row(&table, "02-echo-loops").contains('✓'), "{table}");
    assert!(table.contains("1 of 19 done"), "{table}");
    // No lab asks questions: no column for them.
    assert!(!table.contains("questions"), "{table}");

    assert!(done_in_list(s, "01-phone-call"));
    assert!(!done_in_list(s, "02-echo-loops"));

    // The record: when (a number; the clock is not the test's business)
    // and every knob of the run.
    let file: Json = serde_json::from_slice(&std::fs::read(progress_file(s)).unwrap()).unwrap();
    let record = &file["labs"]["01-phone-call"];
    assert!(record["done_at"].is_u64(), "{file}");
    assert_eq!(record["knobs"]["closer"], "client", "{file}");
}

#[test]
fn the_knobs_of_the_run_are_recorded() {
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    let out = lab(s, &["run", "01", "--set", "closer=server", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file: Json = serde_json::from_slice(&std::fs::read(progress_file(s)).unwrap()).unwrap();
    assert_eq!(file["labs"]["01-phone-call"]["knobs"]["closer"], "server");
}

#[test]
fn json_lines_stay_json_lines_when_a_run_is_recorded() {
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    let out = lab(s, &["run", "19", "--json", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for line in text(&out.stdout).lines() {
        serde_json::from_str::<Json>(line).expect("each line is JSON");
    }
    assert!(done_in_list(s, "19-unix-socket"));
}

#[test]
fn progress_counts_the_done_labs_and_names_the_rest() {
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    let out = lab(s, &["progress"]);
    assert_eq!(out.status.code(), Some(0));
    let summary = text(&out.stdout);
    assert!(summary.contains("0 of 19 labs done"), "{summary}");
    assert!(summary.contains("nothing recorded yet"), "{summary}");

    let out = lab(s, &["run", "01", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = lab(s, &["progress"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "");
    let summary = text(&out.stdout);
    assert!(summary.contains("1 of 19 labs done"), "{summary}");
    // The undone labs, each with its title; not the done one.
    let row = summary
        .lines()
        .find(|l| l.trim_start().starts_with("02-echo-loops "))
        .unwrap_or_else(|| panic!("no row for lab 02:\n{summary}"));
    assert!(
        row.ends_with("Two loops: one client after another, many messages each"),
        "{row}"
    );
    assert!(summary.contains("19-unix-socket"), "{summary}");
    assert!(!summary.contains("01-phone-call"), "{summary}");
    assert!(
        summary.contains("`lab next` runs 02-echo-loops"),
        "{summary}"
    );
    let file = progress_file(s);
    assert!(
        summary.contains(&format!("Progress is kept in {}.", file.display())),
        "{summary}"
    );
}

#[test]
fn next_runs_the_first_lab_not_done_then_says_all_is_done() {
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    // Every lab done but 06 and 19: next runs 06, then 19, then none.
    let ids = lab_ids(s);
    let done: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| !["06-udp-echo", "19-unix-socket"].contains(id))
        .collect();
    seed(s, &done);

    let out = lab(s, &["next", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first = text(&out.stdout);
    // The run `lab run 06` prints: its header, its checks, its explanation.
    let header = first.lines().next().unwrap_or_default();
    assert!(header.starts_with("06-udp-echo"), "{first}");
    let alone = text(&lab(s, &["run", "06", "--no-capture"]).stdout);
    assert_eq!(header, alone.lines().next().unwrap());
    assert!(
        first.contains("06-udp-echo is done: 18 of 19 labs"),
        "{first}"
    );

    let out = lab(s, &["next", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let second = text(&out.stdout);
    assert!(second.starts_with("19-unix-socket"), "{second}");
    assert!(
        second.contains("19 of 19 labs; every lab is done"),
        "{second}"
    );

    let out = lab(s, &["next", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "every lab is done; `lab reset` starts over\n"
    );
    assert!(text(&lab(s, &["progress"]).stdout).contains("19 of 19 labs done"));
}

#[test]
fn reset_forgets_one_lab_or_every_lab() {
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    seed(s, &["01-phone-call", "02-echo-loops", "09-sticky-packet"]);

    let out = lab(s, &["reset", "09"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "cleared 09-sticky-packet: 2 of 19 labs still done\n"
    );
    assert!(!done_in_list(s, "09-sticky-packet"));
    assert!(done_in_list(s, "02-echo-loops"));

    let out = lab(s, &["reset", "09"]);
    assert_eq!(
        text(&out.stdout),
        "nothing to clear: 09-sticky-packet is not done\n"
    );

    let out = lab(s, &["reset"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("2 labs were done: 01-phone-call, 02-echo-loops"),
        "{said}"
    );
    assert!(!progress_file(s).exists());
    assert!(text(&lab(s, &["progress"]).stdout).contains("0 of 19 labs done"));

    let out = lab(s, &["reset"]);
    assert!(text(&out.stdout).starts_with("nothing to clear"));

    // An unknown lab is bad input, as for `lab run`.
    let out = lab(s, &["reset", "99"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("lab: "));
}

#[test]
fn a_lab_file_from_a_path_is_not_recorded() {
    // A copy of lab 01 has lab 01's id, but it is the learner's file, not
    // the lab: running it must not mark 01 done.
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    let copy = s.join("my-phone-call.toml");
    let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    std::fs::copy(labs.join("01-phone-call.toml"), &copy).unwrap();
    let out = lab(s, &["run", copy.to_str().unwrap(), "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("is done"));
    assert!(!progress_file(s).exists());
    assert!(!done_in_list(s, "01-phone-call"));
}

#[test]
fn a_corrupt_state_file_is_left_as_it_is() {
    // Half a file, as an editor crash might leave it: `lab` must not
    // "repair" it into a file with less in it.
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    let file = progress_file(s);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let garbage = b"{\"version\": 1, \"labs\": {\"01-phone-call\": {\"done_at\": 17";
    std::fs::write(&file, garbage).unwrap();

    let out = lab(s, &["run", "19", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "the run stands");
    let warning = one_warning(&out);
    assert!(warning.contains("progress.json"), "{warning}");
    assert!(warning.contains("not recorded"), "{warning}");
    assert_eq!(std::fs::read(&file).unwrap(), garbage);

    let out = lab(s, &["list"]);
    assert_eq!(out.status.code(), Some(0));
    one_warning(&out);
    let out = lab(s, &["progress"]);
    assert_eq!(out.status.code(), Some(0));
    one_warning(&out);
    assert_eq!(std::fs::read(&file).unwrap(), garbage);

    // Clearing one lab needs to read the file: refused, file kept.
    let out = lab(s, &["reset", "01"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nothing was cleared"));
    assert_eq!(std::fs::read(&file).unwrap(), garbage);
    // `lab reset` is asked to clear it all, and does.
    let out = lab(s, &["reset"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!file.exists());
}

#[test]
fn an_unwritable_state_folder_costs_a_warning_not_the_run() {
    // Nothing can be made in /proc/self, not even by root.
    let out = lab(Path::new("/proc/self"), &["run", "19", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let warning = one_warning(&out);
    assert!(warning.contains("cannot write"), "{warning}");

    // A folder the learner may not write in, holding earlier progress.
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    seed(s, &["02-echo-loops"]);
    let folder = progress_file(s).parent().unwrap().to_path_buf();
    let before = std::fs::read(progress_file(s)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(folder.join("probe"), b"").is_ok() {
        // Root writes in a read-only folder: only /proc says no to it.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "an_unwritable_state_folder: read-only folder half skipped: this process writes in it anyway (root)"
        );
        return;
    }
    let out = lab(s, &["run", "19", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let warning = one_warning(&out);
    assert!(warning.contains("not recorded"), "{warning}");
    assert_eq!(std::fs::read(progress_file(s)).unwrap(), before);
    assert!(done_in_list(s, "02-echo-loops"));
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn without_a_home_progress_is_off_and_only_progress_commands_say_so() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(args)
            .env_remove("HOME")
            .env_remove("XDG_STATE_HOME")
            .output()
            .expect("run lab")
    };
    let out = run(&["run", "19", "--no-capture"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "", "a run says nothing of progress");
    let out = run(&["list"]);
    assert_eq!(text(&out.stderr), "");
    assert!(!text(&out.stdout).contains(" done "), "no done column");

    let out = run(&["progress"]);
    assert_eq!(out.status.code(), Some(0));
    let warning = one_warning(&out);
    assert!(warning.contains("progress is off"), "{warning}");
    assert!(text(&out.stdout).contains("0 of 19 labs done"));
}
