//! One text front-end per data folder for the whole process, shared by every engine loaded from it.
//!
//! misaki's lexicons and taggers take a second and ~90 MiB to build. Built once (with
//! `lean_memory`, in the file heap, [`crate::file_heap`]), they stay for the process:
//! a reloaded engine starts without rebuilding them, and nothing frees them at exit, which would
//! read every page of the heap back in just to let go of it. The first engine to build a data
//! folder's front-end decides where it lives.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use chorus_kokoro_text::{Frontend, FrontendOptions, Lang};
use chorus_plugin_api::PluginError;

use crate::file_heap;

static FRONTENDS: Mutex<Option<HashMap<Option<PathBuf>, Arc<Frontend>>>> = Mutex::new(None);

/// The front-end for `data_dir` (espeak-ng is looked for there first), built on first use, into
/// the file heap when `lean`.
pub fn shared(data_dir: Option<&Path>, lean: bool) -> Result<Arc<Frontend>, PluginError> {
    // Held while building, so engines loading at once build it once.
    let mut frontends = FRONTENDS.lock().unwrap_or_else(PoisonError::into_inner);
    let frontends = frontends.get_or_insert_with(HashMap::new);
    if let Some(f) = frontends.get(&data_dir.map(Path::to_path_buf)) {
        return Ok(f.clone());
    }
    let built = build_in(data_dir.filter(|_| lean), || {
        data_dir.map_or_else(Frontend::new, |dir| Frontend::with_options(FrontendOptions::with_data_dir(dir)))
    });
    let frontend =
        Arc::new(built.map_err(|e| PluginError::internal(format!("kokoro: the text front-end failed to start: {e}")))?);
    frontends.insert(data_dir.map(Path::to_path_buf), frontend.clone());
    Ok(frontend)
}

/// Builds `lang`'s G2P before its first use (en-gb's is built on the first request that asks for
/// it), into the file heap in `data_dir` when there is one.
pub fn load_language(frontend: &Frontend, data_dir: Option<&Path>, lang: Lang) {
    if frontend.is_loaded(lang) {
        return;
    }
    build_in(data_dir, || frontend.load(lang));
}

/// `build`, into the file heap in `data_dir` when there is one (`None`: ordinary memory).
fn build_in<T>(data_dir: Option<&Path>, build: impl FnOnce() -> T) -> T {
    match data_dir {
        Some(dir) => file_heap::load_into(dir, build).0,
        None => build(),
    }
}
