//! The Kokoro model on ONNX Runtime: loading the runtime from a file, the model cut into its two
//! [`Halves`] (or whole, for a graph that cannot be cut), the derived graphs cached in the data
//! folder, and one run.

use crate::derived;
use crate::error::LoadError;
use crate::halves::{Feature, Feed, Frames, Halves};
use crate::weights;
use chorus_kokoro_graph::{Rewrites, durations::DURATIONS, split::FEATURES};
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

/// ONNX Runtime's graph optimization (fusions, and memory layouts chosen for this CPU) takes
/// about half a second of every load and peaks ~25 MiB higher. With a cache folder, the optimized
/// graph is saved once and later loads read it with optimization off: the same graph, so the
/// same audio bit for bit (a test checks it). It is specific to the CPU and the ONNX Runtime
/// build, so both name the file ([`machine_key`]); a saved graph that fails to load is replaced.
///
/// With `store` other than [`Store::Inline`], the saved graph keeps its large weights in a file
/// of their own that ONNX Runtime maps ([`weights`]).
fn load_optimized(
    builder: &Builder,
    file: &Path,
    saved: &Path,
    source: &Path,
    kind: &str,
    store: Store,
) -> Result<Loaded, LoadError> {
    let load_saved = || -> Result<Loaded, LoadError> {
        let mut b = builder(GraphOptimizationLevel::Disable)?;
        if store == Store::Mapped {
            b = b.with_config_entry("session.disable_prepacking", "1")?;
        }
        let mapped = store != Store::Inline;
        let session = b.commit_from_file(saved)?;
        Ok((session, mapped.then(|| weights::sidecar(saved))))
    };
    if saved.is_file() {
        match load_saved() {
            Ok(loaded) => return Ok(loaded),
            Err(_) => {
                let _ = std::fs::remove_file(saved);
            }
        }
    }
    let dir = saved.parent().unwrap_or(Path::new("."));
    let _ = std::fs::create_dir_all(dir);
    let tmp = derived::temporary(saved);
    let session = builder(GraphOptimizationLevel::All)?.with_optimized_model_path(&tmp)?.commit_from_file(file);
    match session {
        Ok(session) => {
            let mapped = store != Store::Inline;
            let externalized = !mapped || weights::externalize(&tmp, &weights::sidecar(saved)).is_ok();
            if externalized && std::fs::rename(&tmp, saved).is_ok() {
                derived::evict_others(dir, source, kind, saved);
                if mapped {
                    // Run from the saved file from the start, its weights mapped.
                    drop(session);
                    return load_saved();
                }
            } else {
                let _ = std::fs::remove_file(&tmp);
            }
            Ok((session, None))
        }
        Err(_) => {
            // Saving can fail on its own (a full disk): load without saving before giving up.
            let _ = std::fs::remove_file(&tmp);
            Ok((builder(GraphOptimizationLevel::All)?.commit_from_file(file)?, None))
        }
    }
}

/// Where a saved optimized graph keeps its large weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    /// Inside the graph file: ONNX Runtime copies them into ordinary memory.
    Inline,
    /// In their own file, mapped, read there by every kernel (prepacking off): clean file pages,
    /// never anonymous memory.
    Mapped,
    /// In their own file, mapped; kernels that pack their weights copy them into ordinary memory
    /// at load, the rest read them in the mapping. Loading no longer holds the parsed file and
    /// the weights copied from it at once.
    MappedPacked,
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

/// Developers' switch: with a path prefix in it, every session writes ONNX Runtime's per-node
/// profile (`PREFIX_<date>.json`) when it is dropped; `xtask/src/bench/experiments/profile_ops.py`
/// sums it by operator.
pub const PROFILE_VAR: &str = "CHORUS_KOKORO_PROFILE";

/// Where the session's model comes from.
enum Source {
    File(PathBuf),
    Memory(Vec<u8>),
}

/// The ONNX Runtime environment, created once per process from the first library path given.
static ENVIRONMENT: OnceLock<Result<(PathBuf, ort::environment::Environment), String>> = OnceLock::new();

/// Load ONNX Runtime from `library` (only the first call loads; later ones reuse it).
pub fn init_runtime(library: &Path) -> Result<&'static ort::environment::Environment, LoadError> {
    crate::config::require_file(library, "ONNX Runtime library")?;
    let env = ENVIRONMENT.get_or_init(|| {
        let env = ort::init_from(library)
            .map_err(|e| e.to_string())?
            .with_name("chorus-kokoro")
            .build()
            .map_err(|e| e.to_string())?;
        // Without it each session keeps its own arena: more memory, the same audio.
        let _ = chorus_kokoro_kernels::arena::share(&env);
        Ok((library.to_path_buf(), env))
    });
    match env {
        Ok((_, env)) => Ok(env),
        Err(reason) => Err(LoadError::Runtime { path: library.to_path_buf(), reason: reason.clone() }),
    }
}

/// A loaded model: cut into two [`Halves`] when it can be, else one session.
pub struct Model {
    engine: Engine,
    /// Why the model runs whole (`Ok` when it is cut).
    split: Result<(), String>,
    /// Whether the front's weights are mapped from their file, or why not.
    front_weights: Result<(), String>,
}

enum Engine {
    /// The whole graph in one session, with the durations output when `durations`.
    Whole { session: Mutex<Session>, durations: bool },
    /// The front (tokens → durations and features) and the decoder (features → audio).
    Halves(Box<dyn Halves>),
}

/// ONNX Runtime's two sessions for a model cut in two.
struct OnnxHalves {
    front: Mutex<Session>,
    decoder: Mutex<Session>,
}

/// How sessions are built: level of graph optimization in, builder out.
type Builder<'a> = dyn Fn(GraphOptimizationLevel) -> Result<SessionBuilder, LoadError> + Sync + 'a;

/// A session and, when its weights are mapped from their own file, that file.
type Loaded = (Session, Option<PathBuf>);

/// Open `source` as a session; with a cache folder, through its saved optimized graph (`kind`).
/// With a cache folder and `store` other than [`Store::Inline`], the saved graph's weights are
/// mapped from their own file, which comes back with the session.
fn open(
    builder: &Builder,
    source: &Source,
    original: &Path,
    kind: &str,
    cache: Option<&Path>,
    store: Store,
) -> Result<Loaded, LoadError> {
    match source {
        Source::File(file) => {
            // The saved graph depends on the file it was optimized from, whose name says which
            // source and which rewrite it holds.
            let key = format!("{}|{}|{store:?}", machine_key(), file.display());
            let saved = cache.and_then(|dir| derived::path_for(original, dir, kind, Some(&key)).ok());
            match saved {
                Some(saved) => load_optimized(builder, file, &saved, original, kind, store),
                None => Ok((builder(GraphOptimizationLevel::All)?.commit_from_file(file)?, None)),
            }
        }
        Source::Memory(bytes) => Ok((builder(GraphOptimizationLevel::All)?.commit_from_memory(bytes)?, None)),
    }
}

/// Whether ONNX Runtime multiplies u8×s8 exactly on this CPU (AVX-512 VNNI or AVX-VNNI), so the
/// convolutions may run as integer products (`chorus_kokoro_graph::gemm`).
pub fn exact_products_here() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512vnni") || std::arch::is_x86_feature_detected!("avxvnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// What the derived front made on this machine holds: the convolution rewrite's version, or
/// `conv` without it.
fn front_key() -> &'static str {
    if exact_products_here() { chorus_kokoro_graph::gemm::VERSION } else { "conv" }
}

/// What the derived decoder made on this machine holds: the convolution rewrite's key and the
/// versions of the decoder's rewrites `fused` says to make.
fn decoder_key(fused: Rewrites) -> String {
    let mut key = front_key().to_string();
    for (on, version) in [
        (fused.moments, chorus_kokoro_graph::moments::VERSION),
        (fused.snake, chorus_kokoro_graph::snake::VERSION),
        (fused.stft, chorus_kokoro_graph::stft::VERSION),
    ] {
        if on {
            key = format!("{key}+{version}");
        }
    }
    key
}

/// The front and decoder files for `model` in `cache` (written once), or in memory without one.
fn split_sources(model: &Path, cache: Option<&Path>, fused: Rewrites) -> Result<(Source, Source), LoadError> {
    let paths = cache.map(|dir| {
        (
            derived::path_for(model, dir, "front", Some(front_key())),
            derived::path_for(model, dir, "decoder", Some(&decoder_key(fused))),
            dir,
        )
    });
    if let Some((Ok(front), Ok(decoder), _)) = &paths {
        if front.is_file() && decoder.is_file() {
            return Ok((Source::File(front.clone()), Source::File(decoder.clone())));
        }
    }
    let bytes = std::fs::read(model).map_err(|source| LoadError::Read { path: model.to_path_buf(), source })?;
    let rewrites = Rewrites { convolutions: exact_products_here(), ..fused };
    let chorus_kokoro_graph::Halves { front, decoder } = chorus_kokoro_graph::derive(&bytes, rewrites)?;
    drop(bytes);
    if let Some((Ok(front_path), Ok(decoder_path), dir)) = paths {
        let saved =
            derived::write(dir, &front_path, &front).and_then(|()| derived::write(dir, &decoder_path, &decoder));
        if saved.is_ok() {
            derived::evict_others(dir, model, "front", &front_path);
            derived::evict_others(dir, model, "decoder", &decoder_path);
            return Ok((Source::File(front_path), Source::File(decoder_path)));
        }
    }
    Ok((Source::Memory(front), Source::Memory(decoder)))
}

impl Model {
    /// Load the model. With `durations`, the graph is cut into front and decoder
    /// (`chorus_kokoro_graph::split`); a graph that cannot be cut there (another export) runs
    /// whole, patched to also return per-token durations, and [`Model::split`] says why. Without,
    /// the unmodified graph runs whole. With `lean` (the `lean_memory` switch), the saved graphs'
    /// weights are mapped from their own files and the sessions share one arena.
    pub fn load(
        env: &ort::environment::Environment,
        path: &Path,
        threads: usize,
        durations: bool,
        cache: Option<&Path>,
        lean: bool,
    ) -> Result<Self, PluginError> {
        crate::config::require_file(path, "Kokoro model")?;
        let builder = |level: GraphOptimizationLevel| -> Result<SessionBuilder, LoadError> {
            let b = Session::builder(env)?
                .with_optimization_level(level)?
                .with_intra_threads(threads)?
                .with_inter_threads(1)?
                // Workers spin between a run's nodes, never after it. The decoder's ~600 nodes are
                // nearly all split across the threads: a worker that slept between them was woken
                // ~600 times a sentence (7 % of the CPU time in the kernel's wake-ups, first audio
                // 8 % later); the front's LSTMs hand every step to the workers (66 ms a sentence
                // woken from sleep, 42 spinning). A worker still spinning after its run (the
                // runtime's default) takes the CPU from the other half's run (10 % later), from the
                // text thread beside inference, and from whatever else shares the cores.
                .with_intra_op_spinning(true)?
                .with_config_entry("session.force_spinning_stop", "1")?
                // Every chunk has other shapes: a memory pattern planned (and kept) per shape only
                // adds blocks to the arena.
                .with_memory_pattern(false)?
                .with_config_entry(
                    "session.use_env_allocators",
                    if lean && chorus_kokoro_kernels::arena::shared() { "1" } else { "0" },
                )?
                // chorus's own nodes in a derived graph.
                .with_operators(chorus_kokoro_kernels::domain()?)?;
            Ok(match std::env::var_os(PROFILE_VAR) {
                Some(prefix) => b.with_profiling(prefix)?,
                None => b,
            })
        };
        let split = if durations {
            match Self::load_split(&builder, path, cache, lean) {
                Ok((halves, front_weights)) => {
                    return Ok(Self { engine: Engine::Halves(Box::new(halves)), split: Ok(()), front_weights });
                }
                Err(e) => {
                    let why = format!("the model cannot be cut into front and decoder ({e})");
                    // No silent fallback: the plugin has no logger, so the reason goes to stderr
                    // once per load, and into the backend's info (`decoder_windows`).
                    eprintln!("kokoro: {why}; it runs whole, without decoder windows");
                    Err(why)
                }
            }
        } else {
            Err("word timestamps are off, so the unmodified graph runs whole".to_string())
        };
        let session = Self::load_whole(&builder, path, durations, cache).map_err(|e| e.in_model(path))?;
        let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for needed in ["tokens", "style", "speed"] {
            if !inputs.contains(&needed) {
                let e = LoadError::Shape(format!("it has no input '{needed}' (inputs: {inputs:?})"));
                return Err(e.in_model(path));
            }
        }
        let engine = Engine::Whole { session: Mutex::new(session), durations };
        Ok(Self { engine, split, front_weights: Err("the model runs whole".into()) })
    }

    /// A model whose two halves run elsewhere than ONNX Runtime.
    pub fn from_halves(halves: Box<dyn Halves>) -> Self {
        Self { engine: Engine::Halves(halves), split: Ok(()), front_weights: Err("not an ONNX model".into()) }
    }

    fn load_split(
        builder: &Builder,
        path: &Path,
        cache: Option<&Path>,
        lean: bool,
    ) -> Result<(OnnxHalves, Result<(), String>), LoadError> {
        // chorus's kernels keep the audio bit for bit only where the runtime's sine, sums and
        // Fourier transform are the ones they reproduce: small runs decide (a few ms each).
        let matches = |check: fn(SessionBuilder) -> bool| builder(GraphOptimizationLevel::All).is_ok_and(check);
        let fused = Rewrites {
            snake: matches(chorus_kokoro_kernels::snake::matches_runtime),
            moments: matches(chorus_kokoro_kernels::moments::matches_runtime),
            stft: matches(chorus_kokoro_kernels::stft::matches_runtime),
            ..Rewrites::default()
        };
        let (front, decoder) = split_sources(path, cache, fused)?;
        let load = |builder: &Builder, source: &Source, kind: &str, store: Store| {
            open(builder, source, path, kind, cache, store).inspect_err(|_| {
                // A cut file that does not load is useless: remove it, so the next load cuts again.
                if let Source::File(file) = source {
                    let _ = std::fs::remove_file(file);
                }
            })
        };
        // Building a session is mostly one thread's work (ONNX Runtime's memory planning): the two
        // load side by side.
        let (front_store, decoder_store) =
            if lean { (Store::Mapped, Store::MappedPacked) } else { (Store::Inline, Store::Inline) };
        let (front, decoder) = std::thread::scope(|scope| {
            let front = scope.spawn(|| load(builder, &front, "front-optimized", front_store));
            let decoder = load(builder, &decoder, "decoder-optimized", decoder_store);
            let front =
                front.join().unwrap_or_else(|_| Err(LoadError::Shape("loading the front panicked".to_string())));
            (front, decoder)
        });
        let ((front, front_weights), (decoder, _)) = (front?, decoder?);
        let status = match (lean, front_weights) {
            (false, _) => Err("lean_memory is off".to_string()),
            (true, None) => {
                Err("the front is not loaded from a saved graph (no data folder to save it in)".to_string())
            }
            (true, Some(_)) => Ok(()),
        };
        let halves = OnnxHalves { front: Mutex::new(front), decoder: Mutex::new(decoder) };
        // Another export may have tensors of the same names laid out otherwise: one short run
        // through both halves checks the shapes now, so such a model runs whole instead of
        // failing every request.
        let ids = [0, 16, 0];
        let style = vec![0.0f32; 256];
        let frames = halves.front(&ids, &style, 1.0).map_err(|e| LoadError::Shape(e.message.to_string()))?;
        halves.decode(&frames, &style, &frames.whole()).map_err(|e| LoadError::Shape(e.message.to_string()))?;
        Ok((halves, status))
    }

    fn load_whole(builder: &Builder, path: &Path, durations: bool, cache: Option<&Path>) -> Result<Session, LoadError> {
        // Loading by path keeps the model's bytes out of this process (ONNX Runtime frees its
        // parse buffer after building the session): the durations variant is written once to
        // `cache` and loaded from there. Without a writable cache it is patched in memory.
        let source = if !durations {
            Source::File(path.to_path_buf())
        } else {
            match cache.and_then(|dir| derived::patched_copy(path, dir, DURATIONS).ok()) {
                Some(patched) => Source::File(patched),
                None => {
                    let mut bytes =
                        std::fs::read(path).map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
                    bytes.extend(chorus_kokoro_graph::durations::extra_output(DURATIONS));
                    Source::Memory(bytes)
                }
            }
        };
        let kind = if durations { "durations-optimized" } else { "optimized" };
        open(builder, &source, path, kind, cache, Store::Inline).map(|(session, _)| session).inspect_err(|_| {
            // A patched copy of a model that does not load is useless: remove it, so a fixed
            // model gets a fresh copy rather than this one.
            if let Source::File(file) = &source {
                if file != path {
                    let _ = std::fs::remove_file(file);
                }
            }
        })
    }

    pub fn has_durations(&self) -> bool {
        match &self.engine {
            Engine::Whole { durations, .. } => *durations,
            Engine::Halves(_) => true,
        }
    }

    /// The model's two halves, when it is cut (the decoder then runs on stretches of frames).
    pub fn halves(&self) -> Option<&dyn Halves> {
        match &self.engine {
            Engine::Halves(halves) => Some(halves.as_ref()),
            Engine::Whole { .. } => None,
        }
    }

    /// Whether the decoder can run on stretches of frames ([`Model::halves`]).
    pub fn is_split(&self) -> bool {
        self.halves().is_some()
    }

    /// Whether the model is cut in two, or why it runs whole.
    pub fn split(&self) -> Result<(), &str> {
        self.split.as_ref().map(|_| ()).map_err(String::as_str)
    }

    /// Whether the front's weights are mapped from their file, or why not.
    pub fn front_weights(&self) -> Result<(), String> {
        self.front_weights.clone()
    }

    /// Run one chunk whole: `ids` already padded with 0 at both ends, `style` 256 floats.
    pub fn run(&self, ids: &[i64], style: &[f32], speed: f32) -> Result<Output, PluginError> {
        let (session, durations) = match &self.engine {
            Engine::Whole { session, durations } => (session, *durations),
            Engine::Halves(halves) => {
                let frames = halves.front(ids, style, speed)?;
                let audio = halves.decode(&frames, style, &frames.whole())?;
                return Ok(Output { audio, durations: Some(frames.durations) });
            }
        };
        let mut session = session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = run_tokens(&mut session, ids, style, speed)?;
        let (_, audio) = outputs["audio"].try_extract_tensor::<f32>().map_err(fail)?;
        let audio = audio.to_vec();
        let durations = if durations {
            let (_, d) = outputs[DURATIONS].try_extract_tensor::<i64>().map_err(fail)?;
            Some(d.to_vec())
        } else {
            None
        };
        Ok(Output { audio, durations })
    }
}

impl Halves for OnnxHalves {
    fn front(&self, ids: &[i64], style: &[f32], speed: f32) -> Result<Frames, PluginError> {
        let mut session = self.front.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = run_tokens(&mut session, ids, style, speed)?;
        let (_, d) = outputs[DURATIONS].try_extract_tensor::<i64>().map_err(fail)?;
        let mut features = Vec::with_capacity(FEATURES.len());
        for feature in FEATURES {
            let (shape, data) = outputs[feature.name].try_extract_tensor::<f32>().map_err(fail)?;
            let shape: Vec<usize> = shape.iter().map(|&n| n.max(0) as usize).collect();
            features.push(Feature { shape, data: data.to_vec(), axis: feature.axis, per_frame: feature.per_frame });
        }
        Frames { durations: d.to_vec(), features }.checked(ids.len(), "kokoro")
    }

    fn decode(&self, frames: &Frames, style: &[f32], feed: &Feed) -> Result<Vec<f32>, PluginError> {
        let input = |i: usize| Tensor::from_array(frames.features[i].gather(feed)).map_err(fail);
        let mut session = self.decoder.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session
            .run(ort::inputs![
                FEATURES[0].name => input(0)?,
                FEATURES[1].name => input(1)?,
                FEATURES[2].name => input(2)?,
                FEATURES[3].name => input(3)?,
                "style" => tensor_f32(style).map_err(fail)?
            ])
            .map_err(fail)?;
        let (_, audio) = outputs["audio"].try_extract_tensor::<f32>().map_err(fail)?;
        Ok(feed.cut(audio))
    }
}

/// Run a graph whose inputs are the model's own: token ids, style and speed.
fn run_tokens<'s>(
    session: &'s mut Session,
    ids: &[i64],
    style: &[f32],
    speed: f32,
) -> Result<ort::session::SessionOutputs<'s>, PluginError> {
    session
        .run(ort::inputs![
            "tokens" => tensor_i64(ids).map_err(fail)?,
            "style" => tensor_f32(style).map_err(fail)?,
            "speed" => Tensor::from_array(([1usize], vec![speed])).map_err(fail)?
        ])
        .map_err(fail)
}

fn fail(e: ort::Error) -> PluginError {
    PluginError::internal(format!("kokoro: inference failed: {e}"))
}

fn tensor_i64(v: &[i64]) -> Result<Tensor<i64>, ort::Error> {
    Tensor::from_array(([1usize, v.len()], v.to_vec()))
}

fn tensor_f32(v: &[f32]) -> Result<Tensor<f32>, ort::Error> {
    Tensor::from_array(([1usize, v.len()], v.to_vec()))
}
