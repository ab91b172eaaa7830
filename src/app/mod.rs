//! The commands of `lab`, on top of the library's modules.

mod book;
mod catalog_views;
mod detail;
mod drawing;
mod files;
mod inspect;
mod predict;
mod progress;
mod repl;
mod run;
mod serve;
mod step;
mod trace;
mod watch;

use std::io::Write;

pub use book::{BookArgs, book};
pub use catalog_views::{list, list_marked, show};
pub use detail::Chosen;
pub use inspect::{InspectArgs, inspect};
pub use predict::{Answers, Prediction, Score, predicted};
pub use progress::{next, progress, reset, run_and_record};
pub use repl::{ReplArgs, repl};
pub use run::{
    CAPTURE_VERDICT, CaptureMode, Files, Finished, RunArgs, execute, human, human_drawn, run_all,
    run_one,
};
pub use serve::{ServeArgs, serve};
pub use trace::{TraceArgs, trace};
pub use watch::{CaptureArgs, capture};

use crate::catalog::{self, Lab};

/// What went wrong, for `main` to report and turn into an exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad input or an environment problem: `lab: <message>`, exit 2.
    Usage(String),
    /// The output went away (`lab list | head -1`): exit quietly.
    BrokenPipe,
    /// The learner stopped a run before its end (`q` at a step): what was
    /// done is shown, nothing is judged or recorded; exit 0.
    Stopped,
    /// A stopping signal came (see [`crate::signals`]): what was done is
    /// shown and its files are complete; exit 128 + the signal's number.
    Interrupted(i32),
    /// Any other I/O error while writing output.
    Io(std::io::Error),
}

impl std::fmt::Display for Failure {
    /// The failure as the one line `lab` prints after `lab: `.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(m) => f.write_str(m),
            Failure::BrokenPipe => f.write_str("the output went away"),
            Failure::Stopped => f.write_str("stopped by the learner"),
            Failure::Interrupted(signal) => {
                write!(f, "stopped by {}", crate::signals::name(*signal))
            }
            Failure::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Io(e)
        }
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Usage(s)
    }
}

/// Exit codes: 0 everything held, 1 an expectation failed, 2 bad input or
/// an error.
pub type Outcome = Result<bool, Failure>;

/// The embedded catalog; a broken embedded lab is a bug, reported as such.
pub fn labs() -> Result<Vec<Lab>, Failure> {
    catalog::builtin().map_err(|e| Failure::Usage(e.to_string()))
}

/// A lab named on the command line: an id, number or slug from the
/// catalog, or the path of a lab file.
pub fn resolve(query: &str) -> Result<Lab, Failure> {
    if is_path(query) {
        return Lab::load(std::path::Path::new(query)).map_err(|e| Failure::Usage(e.to_string()));
    }
    let labs = labs()?;
    catalog::find(&labs, query).cloned().map_err(Failure::Usage)
}

/// Whether `query` names a lab file (`./my.toml`) rather than a catalog lab.
pub fn is_path(query: &str) -> bool {
    query.contains('/') || query.ends_with(".toml")
}

/// Flushes stdout, mapping a closed pipe to a quiet exit.
pub fn flush(out: &mut dyn Write) -> Result<(), Failure> {
    out.flush().map_err(Failure::from)
}
