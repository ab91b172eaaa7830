//! Fuzz target: the file server of `lab serve` (`course::files::serve_one`),
//! fed the requests a hostile client could send.
//!
//! Input: one byte for the byte order, then the requests (`put` with its
//! bytes, `get`) as `recv` pieces (see `socket_lab_fuzz::Wire`).
//! The server's folder is a temporary one made once per process, emptied
//! after every input, so each input starts from the same empty folder and
//! nothing piles up across millions of runs. No request may leave a file
//! outside the folder, or a hidden partial upload inside it.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use socket_lab::course::Framed;
use socket_lab::course::files::{self, Store};
use socket_lab::course::framing::LengthFormat;
use socket_lab_fuzz::Wire;

/// The folder, made on first use; removed when the process exits.
fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // On tmpfs when there is one: uploads call fsync.
        let base = PathBuf::from("/dev/shm");
        let base = if base.is_dir() {
            base
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("socket-lab-fuzz-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        extern "C" fn remove() {
            if let Some(dir) = DIR.get() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        // SAFETY: registers a plain function with no arguments.
        unsafe { libc::atexit(remove) };
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let format = if mode & 1 == 0 {
        LengthFormat::Native
    } else {
        LengthFormat::Network
    };
    let dir = folder();
    let store = Store {
        dir: dir.clone(),
        limit: files::DEFAULT_LIMIT,
    };
    let mut framed = Framed::new(Wire::new(rest), 65_536);
    while let Ok(Some(served)) = files::serve_one(&mut framed, &store, format) {
        if served.cmd == "put" && served.size > 0 {
            assert!(dir.join(&served.filename).is_file());
        }
    }
    // What is left: only whole uploads, under their own names.
    for entry in std::fs::read_dir(dir).expect("the folder") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        assert!(
            !name.to_string_lossy().starts_with('.'),
            "a partial upload is left behind: {name:?}"
        );
        std::fs::remove_file(entry.path()).expect("remove");
    }
});
