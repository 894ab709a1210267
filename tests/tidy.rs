//! Tidy: rules about the source tree itself, checked so they stay true: every file says what it
//! is, the pure crates do no I/O, the code map names every crate.

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

/// The crates that must stay pure: no files, network, processes or threads (ARCHITECTURE.md's
/// invariants), so a test can feed them bytes and a host can trust them anywhere.
const PURE: [&str; 2] = ["plugin-api/src", "plugins/kokoro/graph/src"];

/// What doing I/O looks like in source: a path into one of the modules that do it.
const IO: [&str; 4] = ["fs", "net", "process", "thread"];

/// The I/O modules `source` names (`std::fs`, or `fs` inside a `use std::{…}` group).
fn io_used(source: &str) -> Vec<&'static str> {
    let mut used = Vec::new();
    for module in IO {
        let direct = source.contains(&format!("std::{module}"));
        let grouped = source.split("std::{").skip(1).any(|group| {
            let group = group.split('}').next().unwrap_or("");
            group.split(|c: char| !c.is_alphanumeric() && c != '_').any(|word| word == module)
        });
        if direct || grouped {
            used.push(module);
        }
    }
    used
}

#[test]
fn the_plugin_api_and_the_graph_crate_do_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
    for dir in PURE {
        let mut files = Vec::new();
        rust_files(&root.join(dir), &mut files);
        assert!(!files.is_empty(), "no sources under {dir}");
        let doing_io: Vec<String> = files
            .iter()
            .filter_map(|f| {
                let used = io_used(&std::fs::read_to_string(f).expect("readable file"));
                (!used.is_empty())
                    .then(|| format!("{} ({})", f.strip_prefix(root).unwrap_or(f).display(), used.join(", ")))
            })
            .collect();
        assert!(doing_io.is_empty(), "{dir} must do no I/O, but these name std's I/O modules: {doing_io:?}");
    }
}

#[test]
fn the_io_check_sees_direct_and_grouped_paths() {
    assert_eq!(io_used("let b = std::fs::read(p)?;"), ["fs"]);
    assert_eq!(io_used("use std::{collections::HashMap, thread};"), ["thread"]);
    assert!(io_used("use std::{collections::HashSet, ops::Range}; // fs-free").is_empty());
}

/// Every package of the workspace: its name and its manifest, relative to the root.
fn packages(root: &Path) -> Vec<(String, String)> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("the workspace manifest");
    let members = manifest.split("members = [").nth(1).and_then(|m| m.split(']').next()).expect("workspace members");
    let mut out = Vec::new();
    for member in members.split(',').map(|m| m.trim().trim_matches('"')).filter(|m| !m.is_empty()) {
        let dirs: Vec<PathBuf> = match member.strip_suffix("/*") {
            Some(parent) => std::fs::read_dir(root.join(parent))
                .expect("a member folder")
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("Cargo.toml").is_file())
                .collect(),
            None => vec![root.join(member)],
        };
        for dir in dirs {
            let toml = std::fs::read_to_string(dir.join("Cargo.toml")).expect("a member manifest");
            let name = toml
                .lines()
                .find_map(|l| l.strip_prefix("name = ").map(|n| n.trim().trim_matches('"').to_string()))
                .expect("a package name");
            out.push((name, dir.strip_prefix(root).unwrap_or(&dir).display().to_string()));
        }
    }
    out
}

#[test]
fn the_code_map_names_every_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let packages = packages(root);
    assert!(packages.len() > 15, "found only {packages:?}");
    let unnamed: Vec<String> = packages
        .iter()
        .filter(|(name, _)| !map.contains(&format!("`{name}`")))
        .map(|(name, dir)| format!("{name} ({dir})"))
        .collect();
    assert!(unnamed.is_empty(), "ARCHITECTURE.md's code map does not name these crates: {unnamed:?}");
}
