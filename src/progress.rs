//! Progress, as rustlings keeps it: which labs a learner has done.
//!
//! A lab is *done* once a `lab run ID` of it ended with every check held:
//! a lab of the catalog, run on its own (not `--all`), with its default
//! knobs or not. A lab file given by its path is never recorded, even when
//! its id is a catalog lab's. A failed run does not undo an earlier one.
//!
//! # The file
//!
//! One JSON file, `$XDG_STATE_HOME/socket-lab/progress.json`, or
//! `$HOME/.local/state/socket-lab/progress.json` when `XDG_STATE_HOME` is
//! unset (or, as the XDG spec says, not an absolute path):
//!
//! ```json
//! {
//!   "version": 1,
//!   "labs": {
//!     "01-phone-call": { "done_at": 1767225600, "knobs": { "closer": "client" } },
//!     "09-sticky-packet": { "done_at": 1767229200, "knobs": { "recv1": 2 } }
//!   }
//! }
//! ```
//!
//! `done_at` is the time of the last run whose checks all held, in unix
//! seconds, and `knobs` every knob's value in that run. `questions_right`
//! and `questions_asked` are the score of the lab's last `lab run ID
//! --predict`: of the questions that run could judge, how many the learner
//! got right. They are left out until a predict run has judged one, and a
//! predict run keeps its score whether or not the lab's checks held.
//!
//! # Never less than it held
//!
//! A learner's progress is hours of work; a bug or a crash must not lose it:
//!
//! - The file is replaced, never rewritten in place: the new text goes to a
//!   temporary file in the same folder, which is flushed to disk (`fsync`)
//!   and then renamed over the old one. A crash leaves the old file or the
//!   new one, never half of either.
//! - A change holds a lock on the folder (`flock`) from reading the file to
//!   renaming the new one, so two `lab run`s that finish together do not
//!   each write a file without the other's lab.
//! - A file that cannot be read, or read as progress, is left as it is: the
//!   change fails with a [`ProgressError`] and the caller warns. Only
//!   `lab reset` removes it, because it was asked to.
//! - Fields this version does not know (a newer `lab` wrote them) are kept,
//!   and a file of a newer `version` is read but never written.
//!
//! An empty file (`touch progress.json`) holds nothing, so it reads as no
//! progress yet and may be replaced.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// The version of the file's layout this `lab` writes.
pub const VERSION: u32 = 1;

/// The file's name, inside [`Store::folder`].
pub const FILE: &str = "progress.json";

/// What the progress file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The layout's version ([`VERSION`] when the file does not say).
    #[serde(default = "current_version")]
    pub version: u32,
    /// Each lab with something recorded, by id (`09-sticky-packet`).
    #[serde(default)]
    pub labs: BTreeMap<String, LabProgress>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub other: Map<String, Json>,
}

fn current_version() -> u32 {
    VERSION
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            version: VERSION,
            labs: BTreeMap::new(),
            other: Map::new(),
        }
    }
}

/// What is recorded of one lab.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabProgress {
    /// When a run of the lab last ended with every check held, in unix
    /// seconds; `None` while it never has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<u64>,
    /// Every knob's value in that run, by name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub knobs: Map<String, Json>,
    /// Questions answered right, for a lab that asks some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questions_right: Option<u32>,
    /// Questions asked, for a lab that asks some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questions_asked: Option<u32>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub other: Map<String, Json>,
}

impl Progress {
    /// Whether the lab `id` is done.
    pub fn is_done(&self, id: &str) -> bool {
        self.labs.get(id).is_some_and(|l| l.done_at.is_some())
    }

    /// Records a run of `id` whose checks all held, at `at` (unix seconds)
    /// with these knob values. Anything else recorded of the lab stays.
    pub fn mark_done(&mut self, id: &str, at: u64, knobs: Map<String, Json>) {
        let lab = self.labs.entry(id.to_string()).or_default();
        lab.done_at = Some(at);
        lab.knobs = knobs;
    }

    /// Forgets everything recorded of `id`; what was recorded, if anything.
    pub fn clear(&mut self, id: &str) -> Option<LabProgress> {
        self.labs.remove(id)
    }

    /// `(right, asked)` for a lab that has been asked questions.
    pub fn questions(&self, id: &str) -> Option<(u32, u32)> {
        let lab = self.labs.get(id)?;
        match lab.questions_asked {
            Some(asked) if asked > 0 => Some((lab.questions_right.unwrap_or(0), asked)),
            _ => None,
        }
    }

    /// The ids of the labs that are done, in id order.
    pub fn done(&self) -> impl Iterator<Item = &str> {
        self.labs
            .iter()
            .filter(|(_, l)| l.done_at.is_some())
            .map(|(id, _)| id.as_str())
    }
}

/// Why progress could not be read or kept. Each is one line, for
/// `lab: warning: ...` or `lab: ...`.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error("cannot read the progress file {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("the progress file {} is not progress `lab` can read ({reason})", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "the progress file {} was written by a newer `lab` (layout version {version}; this one writes {VERSION})",
        path.display()
    )]
    Newer { path: PathBuf, version: u32 },
    #[error("cannot write the progress file {}: {source}", path.display())]
    Unwritable { path: PathBuf, source: io::Error },
}

/// What `Store::remove` took away.
#[derive(Debug)]
pub enum Removed {
    /// There was no progress file.
    Nothing,
    /// The file, and the progress it held.
    Held(Progress),
    /// A file that was not progress (the reason); removed all the same.
    Unparsable(String),
}

/// Where progress is kept: the folder of the progress file.
#[derive(Debug, Clone)]
pub struct Store {
    folder: PathBuf,
}

impl Store {
    /// A store in `folder` (created when something is first recorded).
    pub fn new(folder: impl Into<PathBuf>) -> Store {
        Store {
            folder: folder.into(),
        }
    }

    /// The store this process's environment names; `Err` says why there is
    /// none (progress is then off).
    pub fn from_env() -> Result<Store, String> {
        locate(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
            .map(Store::new)
            .ok_or_else(|| "neither XDG_STATE_HOME nor HOME is set".to_string())
    }

    /// The folder that holds the file.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The progress file.
    pub fn path(&self) -> PathBuf {
        self.folder.join(FILE)
    }

    /// The progress recorded so far; none yet when there is no file.
    pub fn load(&self) -> Result<Progress, ProgressError> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Progress::default()),
            Err(source) => return Err(ProgressError::Unreadable { path, source }),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Progress::default());
        }
        serde_json::from_slice(&bytes).map_err(|e| ProgressError::Corrupt {
            path,
            reason: e.to_string(),
        })
    }

    /// Reads the progress, lets `change` change it, and writes it back when
    /// it changed, all under the folder's lock. Returns what `change`
    /// returned and the progress as it now is. A file that cannot be read
    /// as progress is left as it is and the change is not made.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Progress) -> T,
    ) -> Result<(T, Progress), ProgressError> {
        let path = self.path();
        let unwritable = |source| ProgressError::Unwritable {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(&self.folder).map_err(unwritable)?;
        let folder = lock(&self.folder).map_err(unwritable)?;
        let mut progress = self.load()?;
        if progress.version > VERSION {
            return Err(ProgressError::Newer {
                path,
                version: progress.version,
            });
        }
        let before = progress.clone();
        let answer = change(&mut progress);
        if progress != before {
            self.replace(&progress, &folder).map_err(unwritable)?;
        }
        Ok((answer, progress))
    }

    /// Removes the progress file (`lab reset`), whatever it holds, and
    /// says what it held.
    pub fn remove(&self) -> Result<Removed, ProgressError> {
        let path = self.path();
        if !path.exists() {
            return Ok(Removed::Nothing);
        }
        let unwritable = |source| ProgressError::Unwritable {
            path: path.clone(),
            source,
        };
        let folder = lock(&self.folder).map_err(unwritable)?;
        let held = match self.load() {
            Ok(progress) => Removed::Held(progress),
            Err(ProgressError::Corrupt { reason, .. }) => Removed::Unparsable(reason),
            Err(e) => return Err(e),
        };
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Removed::Nothing),
            Err(e) => return Err(unwritable(e)),
        }
        // The removal itself must reach the disk, like a rename.
        folder.sync_all().map_err(unwritable)?;
        Ok(held)
    }

    /// Replaces the file with `progress`: temporary file, fsync, rename,
    /// then fsync of the folder so that the rename itself is on disk.
    /// `folder` is the locked folder.
    fn replace(&self, progress: &Progress, folder: &File) -> io::Result<()> {
        // One writer at a time holds the lock, so a name per process is
        // enough; one left by a crash is simply overwritten.
        let temp = self
            .folder
            .join(format!(".{FILE}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&temp)?;
            serde_json::to_writer_pretty(&mut file, progress)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&temp, self.path())
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written?;
        folder.sync_all()
    }
}

/// The folder of the progress file: `$XDG_STATE_HOME/socket-lab`, else
/// `$HOME/.local/state/socket-lab`. An empty or relative `XDG_STATE_HOME`
/// is ignored, as the XDG Base Directory spec says; an empty `HOME` is no
/// home.
pub fn locate(xdg_state_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let xdg = xdg_state_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let home = home
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".local/state"));
    xdg.or(home).map(|state| state.join("socket-lab"))
}

/// Opens `folder` and takes its exclusive lock, held until the returned
/// file is dropped. The lock is advisory: it keeps `lab`s apart, no one
/// else.
fn lock(folder: &Path) -> io::Result<File> {
    let dir = File::open(folder)?;
    loop {
        // SAFETY: flock on a descriptor this function owns, open for the
        // call's whole duration.
        let r = unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) };
        if r == 0 {
            return Ok(dir);
        }
        let e = io::Error::last_os_error();
        // A signal woke the wait up; wait again.
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn knobs(v: Json) -> Map<String, Json> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_folder_follows_xdg_then_home() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            locate(os("/state"), os("/home/ada")),
            Some(PathBuf::from("/state/socket-lab"))
        );
        assert_eq!(
            locate(None, os("/home/ada")),
            Some(PathBuf::from("/home/ada/.local/state/socket-lab"))
        );
        // The spec: a relative XDG_STATE_HOME is invalid and ignored.
        assert_eq!(
            locate(os("state"), os("/home/ada")),
            Some(PathBuf::from("/home/ada/.local/state/socket-lab"))
        );
        assert_eq!(
            locate(os(""), os("/home/ada")),
            Some(PathBuf::from("/home/ada/.local/state/socket-lab"))
        );
        assert_eq!(locate(None, os("")), None);
        assert_eq!(locate(None, None), None);
    }

    #[test]
    fn no_file_is_no_progress_and_reading_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("socket-lab"));
        assert_eq!(store.load().unwrap(), Progress::default());
        assert!(!store.folder().exists());
    }

    #[test]
    fn a_recorded_lab_reads_back_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("socket-lab"));
        let ((), now) = store
            .update(|p| p.mark_done("09-sticky-packet", 1000, knobs(json!({"recv1": 2}))))
            .unwrap();
        assert!(now.is_done("09-sticky-packet"));
        let read = store.load().unwrap();
        assert_eq!(read, now);
        assert_eq!(read.labs["09-sticky-packet"].knobs["recv1"], 2);
        assert_eq!(read.done().collect::<Vec<_>>(), ["09-sticky-packet"]);
        let names: Vec<_> = fs::read_dir(store.folder())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [FILE]);
        // No questions asked: none written.
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains("questions"), "{text}");
    }

    #[test]
    fn a_later_run_updates_the_time_and_knobs_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store
            .update(|p| {
                p.mark_done("01-phone-call", 1, knobs(json!({"closer": "client"})));
                let lab = p.labs.get_mut("01-phone-call").unwrap();
                lab.questions_right = Some(2);
                lab.questions_asked = Some(3);
            })
            .unwrap();
        store
            .update(|p| p.mark_done("01-phone-call", 2, knobs(json!({"closer": "server"}))))
            .unwrap();
        let p = store.load().unwrap();
        let lab = &p.labs["01-phone-call"];
        assert_eq!(lab.done_at, Some(2));
        assert_eq!(lab.knobs["closer"], "server");
        assert_eq!(p.questions("01-phone-call"), Some((2, 3)));
        assert_eq!(p.questions("02-echo-loops"), None);
    }

    #[test]
    fn a_corrupt_file_is_left_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let garbage = b"{\"labs\": {\"01-phone-call\": {\"done_at\": 17";
        fs::write(store.path(), garbage).unwrap();
        let e = store
            .update(|p| p.mark_done("02-echo-loops", 5, Map::new()))
            .unwrap_err();
        assert!(matches!(e, ProgressError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("progress.json"), "{e}");
        assert_eq!(fs::read(store.path()).unwrap(), garbage);
        // JSON, but not progress: the same.
        fs::write(store.path(), b"[1, 2]").unwrap();
        assert!(store.update(|_| ()).is_err());
        assert_eq!(fs::read(store.path()).unwrap(), b"[1, 2]");
    }

    #[test]
    fn fields_a_newer_lab_wrote_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let text = r#"{"version": 1, "streak": 4,
            "labs": {"01-phone-call": {"done_at": 7, "notes": "ask about TIME_WAIT"}}}"#;
        fs::write(store.path(), text).unwrap();
        store
            .update(|p| p.mark_done("02-echo-loops", 8, Map::new()))
            .unwrap();
        let back: Json = serde_json::from_slice(&fs::read(store.path()).unwrap()).unwrap();
        assert_eq!(back["streak"], 4);
        assert_eq!(
            back["labs"]["01-phone-call"]["notes"],
            "ask about TIME_WAIT"
        );
        assert_eq!(back["labs"]["01-phone-call"]["done_at"], 7);
        assert_eq!(back["labs"]["02-echo-loops"]["done_at"], 8);
    }

    #[test]
    fn a_newer_layout_is_read_but_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let text = r#"{"version": 2, "labs": {"01-phone-call": {"done_at": 7}}}"#;
        fs::write(store.path(), text).unwrap();
        assert!(store.load().unwrap().is_done("01-phone-call"));
        let e = store.update(|p| p.clear("01-phone-call")).unwrap_err();
        assert!(matches!(e, ProgressError::Newer { version: 2, .. }), "{e}");
        assert_eq!(fs::read_to_string(store.path()).unwrap(), text);
    }

    #[test]
    fn an_empty_file_holds_nothing_to_lose() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        fs::write(store.path(), b"\n").unwrap();
        assert_eq!(store.load().unwrap(), Progress::default());
        store
            .update(|p| p.mark_done("03-blocking-recv", 1, Map::new()))
            .unwrap();
        assert!(store.load().unwrap().is_done("03-blocking-recv"));
    }

    #[test]
    fn clearing_one_lab_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store
            .update(|p| {
                p.mark_done("01-phone-call", 1, Map::new());
                p.mark_done("09-sticky-packet", 2, Map::new());
            })
            .unwrap();
        let (cleared, now) = store.update(|p| p.clear("09-sticky-packet")).unwrap();
        assert_eq!(cleared.and_then(|l| l.done_at), Some(2));
        assert_eq!(now.done().collect::<Vec<_>>(), ["01-phone-call"]);
        let (again, _) = store.update(|p| p.clear("09-sticky-packet")).unwrap();
        assert!(again.is_none());
    }

    #[test]
    fn remove_says_what_the_file_held() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(matches!(store.remove().unwrap(), Removed::Nothing));
        store
            .update(|p| p.mark_done("01-phone-call", 1, Map::new()))
            .unwrap();
        match store.remove().unwrap() {
            Removed::Held(p) => assert!(p.is_done("01-phone-call")),
            other => panic!("{other:?}"),
        }
        assert!(!store.path().exists());
        fs::write(store.path(), b"not json").unwrap();
        assert!(matches!(store.remove().unwrap(), Removed::Unparsable(_)));
        assert!(!store.path().exists());
    }

    #[test]
    fn runs_that_finish_together_each_keep_their_lab() {
        // Without the folder's lock, each writer reads the file before the
        // other has renamed its own over it, and one lab is lost.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("socket-lab"));
        let ids: Vec<String> = (1..=12).map(|n| format!("{n:02}-lab")).collect();
        std::thread::scope(|s| {
            for id in &ids {
                let store = store.clone();
                s.spawn(move || store.update(|p| p.mark_done(id, 1, Map::new())).unwrap());
            }
        });
        let p = store.load().unwrap();
        assert_eq!(p.done().collect::<Vec<_>>(), ids);
    }
}
