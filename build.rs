//! Embeds every `labs/*.toml` into the binary, so `lab` runs from anywhere.

use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("labs");
    println!("cargo:rerun-if-changed=labs");
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("labs/ exists beside Cargo.toml")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    entries.sort();
    let mut out = String::from(
        "/// Every lab file in `labs/`, as (file name, contents).\npub static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for path in &entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let abs = fs::canonicalize(path).expect("lab file path");
        let name = path.file_name().unwrap().to_string_lossy();
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("labs.rs");
    fs::write(dest, out).expect("write labs.rs");
}
