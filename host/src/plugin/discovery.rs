//! Discovery: every file with the platform's library suffix in the plugin folders, loaded or
//! rejected. Nothing is skipped without a word: a plugin folder that cannot be read, and an entry
//! with the suffix that is a dangling symbolic link, a link loop, a file that cannot be read or no
//! file at all, is listed as rejected with its reason. Only a missing folder is passed over (the
//! default folders need not exist).
//!
//! A packager that could not build a plugin here leaves a note in its place, `NAME.absent`, whose
//! text says why and how to build it (`cargo xtask dist` writes `kokoro-torch.absent` when
//! libtorch is not installed); [`absent`] reads those, so `chorus plugins` and an unknown model's
//! error can say why a plugin is missing instead of only that it is.

use super::{Absent, LoadedPlugin, Rejected, load};
use std::{
    io::ErrorKind,
    path::{Path, PathBuf},
};

/// Library files in `dirs` that can be opened, each folder's files sorted by name.
pub fn library_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    scan(dirs).0
}

/// Library files in `dirs` that can be opened (each folder's sorted by name), and the folders and
/// entries that cannot, with why.
pub fn scan(dirs: &[PathBuf]) -> (Vec<PathBuf>, Vec<Rejected>) {
    let suffix = std::env::consts::DLL_SUFFIX;
    let (mut files, mut rejected) = (Vec::new(), Vec::new());
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => {
                rejected.push(Rejected { file: dir.clone(), reason: format!("cannot read the plugin folder: {e}") });
                continue;
            }
        };
        let mut here = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => here.push(entry.path()),
                Err(e) => {
                    rejected.push(Rejected { file: dir.clone(), reason: format!("cannot list the plugin folder: {e}") })
                }
            }
        }
        here.retain(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(suffix)));
        here.sort();
        for path in here {
            match unusable(&path) {
                None => files.push(path),
                Some(reason) => rejected.push(Rejected { file: path, reason }),
            }
        }
    }
    (files, rejected)
}

/// Why the entry at `path` cannot be opened as a library, if it cannot.
fn unusable(path: &Path) -> Option<String> {
    let link = std::fs::read_link(path).ok();
    let shown = |target: &Path| target.display().to_string();
    match std::fs::metadata(path) {
        Err(e) => Some(match (&link, e.kind()) {
            (Some(target), ErrorKind::NotFound) => format!("dangling symbolic link to {}", shown(target)),
            (Some(target), _) if e.raw_os_error() == Some(LINK_LOOP) => {
                format!("symbolic link loop (through {})", shown(target))
            }
            _ => format!("cannot read: {e}"),
        }),
        Ok(meta) if meta.is_dir() => Some("a folder, not a library file".into()),
        Ok(meta) if !meta.is_file() => Some("not a regular file".into()),
        Ok(_) => std::fs::File::open(path).err().map(|e| format!("cannot read: {e}")),
    }
}

/// `ELOOP`: too many levels of symbolic links.
#[cfg(target_os = "linux")]
const LINK_LOOP: i32 = 40;
#[cfg(not(target_os = "linux"))]
const LINK_LOOP: i32 = 62;

/// The suffix of a packager's note that a plugin was not built here.
pub const ABSENT_SUFFIX: &str = ".absent";
/// The most of a note that is read: a reason, not a file.
const ABSENT_NOTE_MAX: u64 = 1024;

/// The `NAME.absent` notes in `dirs` (each folder's sorted by name): the plugins a packager could
/// not build here, each with the note's text as the reason. A note that cannot be read says so.
pub fn absent(dirs: &[PathBuf]) -> Vec<Absent> {
    use std::io::Read;
    let mut notes = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut here: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(ABSENT_SUFFIX)))
            .collect();
        here.sort();
        for file in here {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let name = name.strip_suffix(ABSENT_SUFFIX).unwrap_or(name).to_string();
            let mut bytes = Vec::new();
            let read = std::fs::File::open(&file).and_then(|f| f.take(ABSENT_NOTE_MAX).read_to_end(&mut bytes));
            // Lossy: the cut at ABSENT_NOTE_MAX may fall inside a character.
            let text = String::from_utf8_lossy(&bytes);
            let reason = match read {
                Ok(_) if !text.trim().is_empty() => text.split_whitespace().collect::<Vec<_>>().join(" "),
                Ok(_) => "not built here (its note gives no reason)".into(),
                Err(e) => format!("not built here (its note cannot be read: {e})"),
            };
            notes.push(Absent { name, file, reason });
        }
    }
    notes
}

/// Load every library in `dirs`. One bad file never stops the others; a second file offering a
/// plugin name already loaded is rejected as a duplicate.
pub fn discover(dirs: &[PathBuf]) -> (Vec<LoadedPlugin>, Vec<Rejected>) {
    let mut loaded: Vec<LoadedPlugin> = Vec::new();
    let (files, mut rejected) = scan(dirs);
    for file in files {
        match load(&file) {
            Ok(plugin) => match loaded.iter().find(|p| p.info.name == plugin.info.name) {
                Some(first) => rejected.push(Rejected {
                    file: file.clone(),
                    reason: format!(
                        "duplicate plugin '{}', already loaded from {}",
                        plugin.info.name,
                        show(&first.path)
                    ),
                }),
                None => loaded.push(plugin),
            },
            Err(reason) => rejected.push(Rejected { file, reason }),
        }
    }
    (loaded, rejected)
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_that_lead_nowhere_and_folders_are_named_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let name = |stem: &str| dir.path().join(format!("{stem}{}", std::env::consts::DLL_SUFFIX));
        std::fs::write(name("good"), b"bytes").unwrap();
        std::os::unix::fs::symlink(name("nowhere"), name("dangling")).unwrap();
        std::os::unix::fs::symlink(name("loop_b"), name("loop_a")).unwrap();
        std::os::unix::fs::symlink(name("loop_a"), name("loop_b")).unwrap();
        std::fs::create_dir(name("folder")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not a library name").unwrap();
        let (files, rejected) = scan(&[dir.path().to_path_buf(), dir.path().join("missing")]);
        assert_eq!(files, vec![name("good")]);
        let reason = |stem: &str| rejected.iter().find(|r| r.file == name(stem)).map(|r| r.reason.clone());
        assert!(reason("dangling").unwrap().contains("dangling symbolic link to"), "{rejected:?}");
        assert!(reason("loop_a").unwrap().contains("loop"), "{rejected:?}");
        assert!(reason("loop_b").unwrap().contains("loop"), "{rejected:?}");
        assert!(reason("folder").unwrap().contains("folder"), "{rejected:?}");
        assert_eq!(rejected.len(), 4, "{rejected:?}");
    }

    #[test]
    fn a_packagers_note_names_the_missing_plugin_and_why() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kokoro-torch.absent"),
            "libtorch is not installed:\n  run `cargo xtask torch`\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("empty.absent"), "").unwrap();
        let notes = absent(&[dir.path().to_path_buf(), dir.path().join("missing")]);
        let found: Vec<(&str, &str)> = notes.iter().map(|n| (n.name.as_str(), n.reason.as_str())).collect();
        assert_eq!(
            found,
            vec![
                ("empty", "not built here (its note gives no reason)"),
                ("kokoro-torch", "libtorch is not installed: run `cargo xtask torch`")
            ]
        );
        assert!(scan(&[dir.path().to_path_buf()]).1.is_empty(), "a note is not a rejected library");
    }
}
