//! The Kokoro ONNX session: loading ONNX Runtime from a file, the model (with the durations output), and one run.

use crate::config::SETUP_HINT;
use crate::derived;
use crate::graph;
use chorus_plugin_api::PluginError;
use ort::session::{
    Session,
    builder::{GraphOptimizationLevel, SessionBuilder},
};
use ort::value::Tensor;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Output sample rate of Kokoro.
pub const SAMPLE_RATE: u32 = 24_000;

/// One inference result: the audio and, when exposed, one duration per input id (pads included).
pub struct Output {
    pub audio: Vec<f32>,
    pub durations: Option<Vec<i64>>,
}

/// A loaded model. `Session::run` needs `&mut`, so runs are serialized by a mutex.
pub struct Model {
    session: Mutex<Session>,
    durations: bool,
}

/// ONNX Runtime's graph optimization (fusions, and memory layouts chosen for this CPU) takes
/// about half a second of every load and peaks ~25 MiB higher. With a cache folder, the optimized
/// graph is saved once and later loads read it with optimization off: the same graph, so the
/// same audio bit for bit (a test checks it). It is specific to the CPU and the ONNX Runtime
/// build, so both name the file ([`machine_key`]); a saved graph that fails to load is replaced.
fn load_optimized(
    builder: &dyn Fn(GraphOptimizationLevel) -> Result<SessionBuilder, PluginError>,
    file: &Path,
    saved: &Path,
    source: &Path,
    kind: &str,
) -> Result<Session, String> {
    let error = |e: PluginError| e.message.to_string();
    if saved.is_file() {
        match builder(GraphOptimizationLevel::Disable).map_err(error)?.commit_from_file(saved) {
            Ok(session) => return Ok(session),
            Err(_) => {
                let _ = std::fs::remove_file(saved);
            }
        }
    }
    let dir = saved.parent().unwrap_or(Path::new("."));
    let _ = std::fs::create_dir_all(dir);
    let tmp = derived::temporary(saved);
    let session = builder(GraphOptimizationLevel::All)
        .map_err(error)?
        .with_optimized_model_path(&tmp)
        .map_err(|e| e.to_string())?
        .commit_from_file(file);
    match session {
        Ok(session) => {
            if std::fs::rename(&tmp, saved).is_ok() {
                derived::evict_others(dir, source, kind, saved);
            } else {
                let _ = std::fs::remove_file(&tmp);
            }
            Ok(session)
        }
        Err(_) => {
            // Saving can fail on its own (a full disk): load without saving before giving up.
            let _ = std::fs::remove_file(&tmp);
            builder(GraphOptimizationLevel::All).map_err(error)?.commit_from_file(file).map_err(|e| e.to_string())
        }
    }
}

/// What a saved optimized graph depends on besides the model: the ONNX Runtime library (path,
/// size, modification time) and the CPU (model name and feature flags).
fn machine_key() -> String {
    let runtime = match ENVIRONMENT.get() {
        Some(Ok((lib, _))) => {
            let meta = std::fs::metadata(lib).ok();
            let mtime = meta.as_ref().and_then(|m| m.modified().ok());
            format!("{}|{:?}|{mtime:?}", lib.display(), meta.map(|m| m.len()))
        }
        _ => String::new(),
    };
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_once(':')).map_or("", |(_, v)| v.trim())
    };
    format!("{runtime}|{}|{}|{}", std::env::consts::ARCH, field("model name"), field("flags"))
}

/// Where the session's model comes from.
enum Source {
    File(PathBuf),
    Memory(Vec<u8>),
}

/// The ONNX Runtime environment, created once per process from the first library path given.
static ENVIRONMENT: OnceLock<Result<(PathBuf, ort::environment::Environment), String>> = OnceLock::new();

/// Load ONNX Runtime from `library` (only the first call loads; later ones reuse it).
pub fn init_runtime(library: &Path) -> Result<&'static ort::environment::Environment, PluginError> {
    crate::config::require_file(library, "ONNX Runtime library")?;
    let env = ENVIRONMENT.get_or_init(|| {
        let env = ort::init_from(library)
            .map_err(|e| e.to_string())?
            .with_name("chorus-kokoro")
            .build()
            .map_err(|e| e.to_string())?;
        Ok((library.to_path_buf(), env))
    });
    match env {
        Ok((_, env)) => Ok(env),
        Err(e) => Err(PluginError::not_configured(format!(
            "kokoro: could not load ONNX Runtime from {}: {e}; {SETUP_HINT}",
            library.display()
        ))),
    }
}

impl Model {
    /// Load the model. With `durations`, the graph is patched to also return per-token durations.
    pub fn load(
        env: &ort::environment::Environment,
        path: &Path,
        threads: usize,
        durations: bool,
        cache: Option<&Path>,
    ) -> Result<Self, PluginError> {
        crate::config::require_file(path, "Kokoro model")?;
        let read_error = |e: std::io::Error| {
            PluginError::not_configured(format!(
                "kokoro: cannot read the model at {}: {e}; {SETUP_HINT}",
                path.display()
            ))
        };
        // Loading by path keeps the model's bytes out of this process (ONNX Runtime frees its
        // parse buffer after building the session): the durations variant is written once to
        // `cache` and loaded from there. Without a writable cache it is patched in memory.
        let source = if !durations {
            Source::File(path.to_path_buf())
        } else {
            match cache.and_then(|dir| graph::patched_copy(path, dir, graph::DURATIONS).ok()) {
                Some(patched) => Source::File(patched),
                None => {
                    let mut bytes = std::fs::read(path).map_err(read_error)?;
                    bytes.extend(graph::extra_output(graph::DURATIONS));
                    Source::Memory(bytes)
                }
            }
        };
        let broken = |e: String| {
            PluginError::not_configured(format!(
                "kokoro: the model at {} does not load ({e}); it may be corrupt or not a Kokoro v1.0 ONNX model — \
                 delete it and run `cargo xtask setup` again, or point `model` at a valid kokoro-v1.0.onnx",
                path.display()
            ))
        };
        let options = |e: ort::Error<SessionBuilder>| broken(e.to_string());
        let builder = |level: GraphOptimizationLevel| {
            Session::builder(env)
                .map_err(|e| broken(e.to_string()))?
                .with_optimization_level(level)
                .map_err(options)?
                .with_intra_threads(threads)
                .map_err(options)?
                .with_inter_threads(1)
                .map_err(options)?
                // No busy-waiting: the text thread runs beside inference, and cores are often shared.
                .with_intra_op_spinning(false)
                .map_err(options)
        };
        let session = match &source {
            Source::File(file) => {
                let kind = if durations { "durations-optimized" } else { "optimized" };
                let saved = cache.and_then(|dir| derived::path_for(path, dir, kind, Some(&machine_key())).ok());
                match saved {
                    Some(saved) => load_optimized(&builder, file, &saved, path, kind),
                    None => builder(GraphOptimizationLevel::All)?.commit_from_file(file).map_err(|e| e.to_string()),
                }
            }
            Source::Memory(bytes) => {
                builder(GraphOptimizationLevel::All)?.commit_from_memory(bytes).map_err(|e| e.to_string())
            }
        }
        .map_err(|e| {
            // A patched copy of a model that does not load is useless: remove it, so a fixed
            // model gets a fresh copy rather than this one.
            if let Source::File(file) = &source {
                if file != path {
                    let _ = std::fs::remove_file(file);
                }
            }
            broken(e)
        })?;
        drop(source);
        let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for needed in ["tokens", "style", "speed"] {
            if !inputs.contains(&needed) {
                return Err(broken(format!("it has no input '{needed}' (inputs: {inputs:?})")));
            }
        }
        Ok(Self { session: Mutex::new(session), durations })
    }

    pub fn has_durations(&self) -> bool {
        self.durations
    }

    /// Run one chunk: `ids` already padded with 0 at both ends, `style` 256 floats.
    pub fn run(&self, ids: &[i64], style: &[f32], speed: f32) -> Result<Output, PluginError> {
        let fail = |e: ort::Error| PluginError::internal(format!("kokoro: inference failed: {e}"));
        let tokens = Tensor::from_array(([1usize, ids.len()], ids.to_vec())).map_err(fail)?;
        let style = Tensor::from_array(([1usize, style.len()], style.to_vec())).map_err(fail)?;
        let speed = Tensor::from_array(([1usize], vec![speed])).map_err(fail)?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs =
            session.run(ort::inputs!["tokens" => tokens, "style" => style, "speed" => speed]).map_err(fail)?;
        let (_, audio) = outputs["audio"].try_extract_tensor::<f32>().map_err(fail)?;
        let audio = audio.to_vec();
        let durations = if self.durations {
            let (_, d) = outputs[graph::DURATIONS].try_extract_tensor::<i64>().map_err(fail)?;
            Some(d.to_vec())
        } else {
            None
        };
        Ok(Output { audio, durations })
    }
}
