//! A file written whole or not at all.
//!
//! A pcap being written when the disk fills up, or a run that fails
//! halfway, must not leave a half file under the name the learner asked
//! for: another tool would read it as a capture that simply ended early.
//! So every file `lab` writes goes first under a hidden name beside its
//! target (`.run.pcap.4182.partial`: same folder, so same file system),
//! and is renamed into place once complete. A rename within one folder
//! replaces the target in one step: a reader sees the old file or the new
//! one, never a mix. If the write fails, or the writer is dropped before
//! [`Partial::commit`] (an error, a panic, an early return), the hidden
//! file is removed.

use std::fs::File;
use std::path::{Path, PathBuf};

/// A file being written under its hidden name, until [`Partial::commit`].
#[derive(Debug)]
pub struct Partial {
    path: PathBuf,
    partial: PathBuf,
    committed: bool,
}

impl Partial {
    /// Creates the hidden file for `path`.
    pub fn create(path: &Path) -> std::io::Result<(Partial, File)> {
        let partial = hidden(path)?;
        let file = File::create(&partial)?;
        Ok((
            Partial {
                path: path.to_path_buf(),
                partial,
                committed: false,
            },
            file,
        ))
    }

    /// Checks that `path` could be written: creates its hidden file and
    /// removes it again. Leaves nothing behind.
    pub fn probe(path: &Path) -> std::io::Result<()> {
        Partial::create(path).map(drop)
    }

    /// Moves the complete file into place (its writer flushed and closed).
    pub fn commit(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.partial, &self.path)?;
        self.committed = true;
        Ok(())
    }

    /// The name the file will have.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// `dir/.NAME.PID.partial`: the hidden name beside `path`.
fn hidden(path: &Path) -> std::io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    Ok(path.with_file_name(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        std::process::id()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_committed_file_takes_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run.pcap");
        let names = || -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        // Dropped before commit: nothing left, hidden or not.
        let (p, mut f) = Partial::create(&target).unwrap();
        std::io::Write::write_all(&mut f, b"half").unwrap();
        assert_eq!(names().len(), 1, "the hidden file while writing");
        assert!(names()[0].starts_with(".run.pcap."));
        drop(p);
        assert!(names().is_empty());
        // Probed: nothing left either.
        Partial::probe(&target).unwrap();
        assert!(names().is_empty());
        // Committed: only the target.
        let (p, mut f) = Partial::create(&target).unwrap();
        std::io::Write::write_all(&mut f, b"whole").unwrap();
        drop(f);
        p.commit().unwrap();
        assert_eq!(names(), ["run.pcap"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        // A folder that does not exist: an error, nothing made.
        assert!(Partial::create(&dir.path().join("no/such/run.pcap")).is_err());
    }
}
