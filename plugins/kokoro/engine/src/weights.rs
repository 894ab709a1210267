//! A saved graph's large weights in a file of their own, which ONNX Runtime maps instead of
//! copying (with `lean_memory`, the default): clean file pages the kernel can reclaim and read
//! back, instead of anonymous memory only swap could take.
//!
//! The weights are in ONNX's external-data form (`chorus_kokoro_graph::external`), in
//! `<graph>.weights`. The front's session runs with prepacking off, so its kernels read the
//! mapped bytes rather than packed copies in ordinary memory (its ~27 MB of weights never count
//! as anonymous memory); the decoder's packs what its kernels pack and reads the rest there.
//!
//! Invariant: a weights file is written whole under a temporary name and renamed into place
//! before its graph file is rewritten to point at it, and the two are evicted together
//! (`derived::evict_others`), so a mapping never sees a torn or foreign file; a graph whose
//! weights were cut short fails to load and both are rebuilt.

use crate::error::LoadError;
use std::path::{Path, PathBuf};

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
