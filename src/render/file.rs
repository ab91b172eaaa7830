//! A file a session writes once it is over (`--svg`, `--html`): checked
//! before the session starts, so that a bad path costs one line and no
//! run, then written whole under a hidden name and moved into place (see
//! [`crate::partial`]), so that a failed session leaves no half file.

use std::path::{Path, PathBuf};

use crate::partial::Partial;

/// A file to write whole, once.
#[derive(Debug)]
pub struct WholeFile {
    path: PathBuf,
}

impl WholeFile {
    /// Checks that a file can be written at `path`: not a folder, and its
    /// folder exists and takes a new file. Leaves nothing behind. `example`
    /// is a name to suggest when `path` is a folder (`run.html`).
    pub fn preflight(path: &Path, example: &str) -> Result<WholeFile, String> {
        if path.is_dir() {
            return Err(format!(
                "{}: is a folder: give the name of a file to write, e.g. {example}",
                path.display()
            ));
        }
        Partial::probe(path).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        Ok(WholeFile {
            path: path.to_path_buf(),
        })
    }

    /// Writes `contents` under the hidden name and moves the file into
    /// place (see [`crate::partial`]).
    pub fn write(&self, contents: &str) -> Result<(), String> {
        let failed = |e: std::io::Error| format!("{}: cannot write: {e}", self.path.display());
        let (partial, mut file) = Partial::create(&self.path).map_err(failed)?;
        std::io::Write::write_all(&mut file, contents.as_bytes()).map_err(failed)?;
        drop(file);
        partial.commit().map_err(failed)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_or_a_missing_folder_is_refused_and_nothing_is_left() {
        let dir = std::env::temp_dir().join(format!("lab-wholefile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = WholeFile::preflight(&dir, "run.html").unwrap_err();
        assert!(e.contains("is a folder") && e.contains("run.html"), "{e}");
        let e = WholeFile::preflight(&dir.join("no/such/run.html"), "run.html").unwrap_err();
        assert!(e.contains("cannot write"), "{e}");
        let f = WholeFile::preflight(&dir.join("run.html"), "run.html").unwrap();
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "preflight left a file"
        );
        f.write("<p>hi</p>").unwrap();
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["run.html"]);
        assert_eq!(
            std::fs::read_to_string(dir.join("run.html")).unwrap(),
            "<p>hi</p>"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
