//! The Kokoro ONNX session: loading ONNX Runtime from a file, the model (with the durations output), and one run.

use crate::config::SETUP_HINT;
use crate::graph;
use chorus_plugin_api::PluginError;
use ort::session::{Session, builder::GraphOptimizationLevel};
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
        let options = |e: ort::Error<ort::session::builder::SessionBuilder>| broken(e.to_string());
        let mut builder = Session::builder(env)
            .map_err(|e| broken(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(options)?
            .with_intra_threads(threads)
            .map_err(options)?
            .with_inter_threads(1)
            .map_err(options)?
            // No busy-waiting: the text thread runs beside inference, and cores are often shared.
            .with_intra_op_spinning(false)
            .map_err(options)?;
        let session = match &source {
            Source::File(file) => builder.commit_from_file(file),
            Source::Memory(bytes) => builder.commit_from_memory(bytes),
        }
        .map_err(|e| {
            // A patched copy of a model that does not load is useless: remove it, so a fixed
            // model gets a fresh copy rather than this one.
            if let Source::File(file) = &source {
                if file != path {
                    let _ = std::fs::remove_file(file);
                }
            }
            broken(e.to_string())
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
