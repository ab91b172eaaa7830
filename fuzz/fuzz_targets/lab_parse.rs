//! Fuzz target: `socket_lab::catalog::Lab::parse`, the loader and validator
//! of lab files (`lab run ./my-lab.toml` reads files from anyone).
//!
//! The input is the file's text. A file either loads or gives one
//! `file:line: message` error; it never panics, and the line an error
//! names is in the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::catalog::Lab;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Lab::parse("fuzz.toml", text) {
        Ok(lab) => {
            // A valid lab has knob defaults that parse (validation says so).
            lab.knob_values(&[]).expect("validated defaults parse");
        }
        Err(e) => {
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= text.matches('\n').count() + 1, "{e}");
            }
            assert!(!e.to_string().is_empty());
        }
    }
});
