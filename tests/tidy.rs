//! Tidy: rules about the source tree itself, checked so they stay true.

use std::path::{Path, PathBuf};

/// Every `.rs` file of the workspace under `dir` (build output and hidden folders left out).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder").flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_line_saying_what_it_is() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
    let mut files = Vec::new();
    rust_files(root, &mut files);
    assert!(files.len() > 100, "found only {} files under {}", files.len(), root.display());
    let bare: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).expect("readable file").starts_with("//!"))
        .map(|f| f.strip_prefix(root).unwrap_or(f).display().to_string())
        .collect();
    assert!(bare.is_empty(), "files without a `//!` first line: {bare:?}");
}
