//! Files derived from a model, kept in the data folder's cache: named after their source (and
//! whatever else they depend on), written under a temporary name and renamed into place, and
//! evicted when a newer copy of the same kind for the same source is written.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The cache file `<stem>.<size>-<mtime>[-<extra hash>].<kind>.onnx` for `source` in `dir`: a
/// changed source (or a change in `extra`, e.g. the CPU or the ONNX Runtime build) names a new
/// file.
pub fn path_for(source: &Path, dir: &Path, kind: &str, extra: Option<&str>) -> std::io::Result<PathBuf> {
    let meta = std::fs::metadata(source)?;
    let mtime = meta.modified()?.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut key = format!("{}-{mtime}", meta.len());
    if let Some(extra) = extra {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        extra.hash(&mut h);
        key.push_str(&format!("-{:016x}", h.finish()));
    }
    Ok(dir.join(format!("{}.{key}.{kind}.onnx", stem(source))))
}

fn stem(path: &Path) -> &str {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("model")
}

/// A temporary name beside `out`, unique per process and call, so concurrent writers never share
/// a file; rename it to `out` once complete.
pub fn temporary(out: &Path) -> PathBuf {
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    out.with_extension(format!("partial-{}-{n}", std::process::id()))
}

/// Write `bytes` to `out` in `dir` through a temporary file, so a crash never leaves a torn copy.
pub fn write(dir: &Path, out: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = temporary(out);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, out)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Removes the other `kind` files made from a source with the same stem as `source` (exactly:
/// `kokoro-v1.0` never evicts `kokoro-v1.0.int8`'s), keeping `keep`.
pub fn evict_others(dir: &Path, source: &Path, kind: &str, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let suffix = format!(".{kind}.onnx");
    for old in entries.flatten().map(|e| e.path()) {
        let name = old.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // A graph's weights file (`<graph>.weights`) goes with it.
        let (name, graph) = match name.strip_suffix(".weights") {
            Some(graph) => (graph, old.with_file_name(graph)),
            None => (name, old.clone()),
        };
        let old_stem = name.strip_suffix(suffix.as_str()).and_then(|n| n.rsplit_once('.')).map(|(s, _)| s);
        if graph != keep && old_stem == Some(stem(source)) {
            let _ = std::fs::remove_file(old);
        }
    }
}

/// A copy of `model` with the output `name` added, in `dir`, made once and reused: its file name
/// holds the source's name, size and modification time, so a changed source gets a new copy.
/// Written to a temporary file first, then renamed, so a crash never leaves a torn copy.
pub fn patched_copy(model: &std::path::Path, dir: &std::path::Path, name: &str) -> std::io::Result<std::path::PathBuf> {
    let extra = chorus_kokoro_graph::durations::extra_output(name);
    let out = path_for(model, dir, "durations", None)?;
    let full = std::fs::metadata(model)?.len() + extra.len() as u64;
    if std::fs::metadata(&out).is_ok_and(|m| m.len() == full) {
        return Ok(out);
    }
    let mut bytes = std::fs::read(model)?;
    bytes.extend(extra);
    write(dir, &out, &bytes)?;
    evict_others(dir, model, "durations", &out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_matches_the_exact_stem_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let src = d.join("kokoro-v1.0.int8.onnx");
        std::fs::write(&src, b"model").unwrap();
        let keep = path_for(&src, d, "durations", None).unwrap();
        let extra = path_for(&src, d, "durations", Some("cpu")).unwrap();
        assert_ne!(keep, extra, "the extra key names another file");
        for name in [
            "kokoro-v1.0.int8.1-1.durations.onnx",
            "kokoro-v1.0.1-1.durations.onnx",
            "kokoro-v1.0.int8.1-1.optimized.onnx",
            "kokoro-v1.0.int8.1-2.durations.onnx.weights",
        ] {
            std::fs::write(d.join(name), b"x").unwrap();
        }
        std::fs::write(&keep, b"x").unwrap();
        std::fs::write(crate::weights::sidecar(&keep), b"x").unwrap();
        evict_others(d, &src, "durations", &keep);
        let mut left: Vec<String> =
            std::fs::read_dir(d).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        let kept = keep.file_name().unwrap().to_string_lossy().into_owned();
        let mut expected = vec![
            "kokoro-v1.0.1-1.durations.onnx".to_string(),
            "kokoro-v1.0.int8.1-1.optimized.onnx".to_string(),
            "kokoro-v1.0.int8.onnx".to_string(),
            format!("{kept}.weights"),
            kept,
        ];
        expected.sort();
        assert_eq!(left, expected);
    }
}
