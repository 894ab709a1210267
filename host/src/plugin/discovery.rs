//! Discovery: every file with the platform's library suffix in the plugin folders, loaded or rejected.

use super::{LoadedPlugin, Rejected, load};
use std::path::{Path, PathBuf};

/// Library files in `dirs`, each folder's files sorted by name; missing folders are skipped.
pub fn library_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let suffix = std::env::consts::DLL_SUFFIX;
    let mut files = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut here: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(suffix)))
            .collect();
        here.sort();
        files.extend(here);
    }
    files
}

/// Load every library in `dirs`. One bad file never stops the others; a second file offering a
/// plugin name already loaded is rejected as a duplicate.
pub fn discover(dirs: &[PathBuf]) -> (Vec<LoadedPlugin>, Vec<Rejected>) {
    let mut loaded: Vec<LoadedPlugin> = Vec::new();
    let mut rejected = Vec::new();
    for file in library_files(dirs) {
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
