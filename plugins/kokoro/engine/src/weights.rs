//! A saved graph's large weights in a file of their own, which ONNX Runtime maps instead of
//! copying, so the pages of a graph that is not running can be handed back and read in again
//! when it next runs.
//!
//! The front (text encoder, durations, pitch) runs for a few milliseconds per chunk and then sits
//! idle while the decoder — where a request's memory peaks — runs. Held in ordinary memory its
//! ~27 MB of weights count toward every peak; mapped from a file, `MADV_DONTNEED` drops them
//! after each run and the next run reads them back from the page cache (minor faults, no disk).
//!
//! The weights are in ONNX's external-data form (`chorus_kokoro_graph::external`), in
//! `<model>.weights`. A session must run with prepacking off for its kernels to read the mapped
//! bytes rather than packed copies in ordinary memory.

use crate::error::LoadError;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The weights file of a graph file: `<model>.weights`, beside it.
pub fn sidecar(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_owned();
    name.push(".weights");
    PathBuf::from(name)
}

/// Rewrites the graph file `model` so that its large initializers live in `weights` (written
/// whole first, under a temporary name) and are referenced by `weights`' file name, which must
/// sit in the directory the graph file will finally be in.
pub fn externalize(model: &Path, weights: &Path) -> Result<(), LoadError> {
    let bytes = std::fs::read(model).map_err(|source| LoadError::Read { path: model.to_path_buf(), source })?;
    // Derived names are ASCII (`derived::path_for`).
    let location = weights.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (graph_file, data) = chorus_kokoro_graph::external::split(&bytes, &location)?;
    let tmp = crate::derived::temporary(weights);
    let written = std::fs::write(&tmp, &data)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, weights))
        .and_then(|()| std::fs::write(model, &graph_file));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(|source| LoadError::Write { path: weights.to_path_buf(), source })
}

/// Held while a session whose weights are mapped from a file is created or dropped (ONNX Runtime
/// maps and unmaps the file's pieces then) and while those pages are dropped: a range read from
/// `/proc/self/maps` is then still the same file's mapping when `madvise` reaches it, never
/// memory something else has mapped in its place.
static MAPPINGS: Mutex<()> = Mutex::new(());

/// The guard of [`MAPPINGS`].
pub fn lock() -> MutexGuard<'static, ()> {
    MAPPINGS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether `weights` is mapped in this process with no page ever written (a written page of a
/// private mapping is a copy that dropping would lose), or why its pages must stay.
pub fn check(weights: &Path) -> Result<(), String> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").map_err(|e| format!("/proc/self/smaps: {e}"))?;
    let path = weights.to_str().ok_or("the weights file needs a UTF-8 path")?;
    let (mut current, mut found) = (false, false);
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some(range), Some(_)) if is_range(range) => {
                current = line.ends_with(path);
                found |= current;
            }
            (Some("Anonymous:"), Some(kib)) if current && kib != "0" => {
                return Err(format!("{path} has pages written in memory; they stay resident"));
            }
            _ => {}
        }
    }
    if found { Ok(()) } else { Err(format!("ONNX Runtime did not map {path}")) }
}

/// Drops the resident pages of every mapping of `weights` in this process, under [`lock`]; the
/// bytes spanned. The next read maps them again from the page cache, unchanged, for a file that
/// passed [`check`].
pub fn release(weights: &Path) -> usize {
    let Some(path) = weights.to_str() else { return 0 };
    let _mappings = lock();
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return 0 };
    let mut released = 0;
    for line in maps.lines().filter(|l| l.ends_with(path)) {
        let Some((a, b)) = line.split_whitespace().next().and_then(|r| r.split_once('-')) else { continue };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) else { continue };
        // SAFETY: a mapping of the weights file, current while `MAPPINGS` is held (nothing maps
        // or unmaps that file meanwhile), with no written page (`check`); dropping its pages
        // changes no byte a reader sees.
        if unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) } == 0 {
            released += end - start;
        }
    }
    released
}

fn is_range(word: &str) -> bool {
    word.contains('-') && !word.ends_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident KiB of the mappings of `path` in this process.
    fn resident_kib(path: &Path) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut current = false;
        let mut kib = 0;
        for line in smaps.lines() {
            if line.split_whitespace().next().is_some_and(|w| w.contains('-') && !w.ends_with(':')) {
                current = line.ends_with(path.to_str().unwrap());
            } else if current && line.starts_with("Rss:") {
                kib += line.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap();
            }
        }
        kib
    }

    #[test]
    fn released_pages_stop_counting_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx.weights");
        let bytes: Vec<u8> = (0..64 * 4096u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        // SAFETY: a private read-only mapping of a file this test owns, unmapped at the end.
        let map = unsafe { libc::mmap(std::ptr::null_mut(), bytes.len(), libc::PROT_READ, libc::MAP_PRIVATE, fd, 0) };
        assert_ne!(map, libc::MAP_FAILED);
        // SAFETY: the mapping spans `bytes.len()` readable bytes.
        let mapped = unsafe { std::slice::from_raw_parts(map.cast::<u8>(), bytes.len()) };
        assert_eq!(mapped, &bytes[..]);
        assert!(resident_kib(&path) >= 200, "reading made the pages resident");
        check(&path).unwrap();
        assert_eq!(release(&path), bytes.len());
        assert_eq!(resident_kib(&path), 0, "released pages no longer count");
        assert_eq!(mapped, &bytes[..], "and read back unchanged");
        // SAFETY: the mapping made above, no longer used.
        unsafe { libc::munmap(map, bytes.len()) };
        assert_eq!(release(&path), 0, "an unmapped file has nothing to release");
    }

    #[test]
    fn a_mapping_with_a_written_page_is_never_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.onnx.weights");
        std::fs::write(&path, vec![1u8; 8 * 4096]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        // SAFETY: a private writable mapping of a file this test owns; writing it makes a private
        // copy of one page and leaves the file alone. Unmapped at the end.
        let map = unsafe {
            libc::mmap(std::ptr::null_mut(), 8 * 4096, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE, fd, 0)
        };
        assert_ne!(map, libc::MAP_FAILED);
        // SAFETY: inside the mapping.
        unsafe { *map.cast::<u8>() = 9 };
        let err = check(&path).expect_err("a written page must not be dropped");
        assert!(err.contains("written"), "{err}");
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(map, 8 * 4096) };
        assert!(check(&path).err().unwrap().contains("did not map"));
    }
}
