//! The Kokoro engine: Kokoro-82M on ONNX Runtime, English text, clause streaming, word
//! timestamps — model loading ([`model`]), synthesis ([`synth`]), voices ([`voices`]) and the
//! backend's config, as a plain library. The `chorus-plugin-kokoro` cdylib exports
//! [`KokoroEngine`] through the plugin ABI; this crate never sets a global allocator (the file
//! heap's allocator is for that cdylib to install), rewrites no graph itself (`chorus-kokoro-graph`)
//! and holds no ONNX Runtime kernel (`chorus-kokoro-kernels`). plugins/kokoro/ARCHITECTURE.md
//! describes the pipeline from text to audio, the derived files and the invariants.
//!
//! Serves model names `kokoro*`. Text goes through the `chorus-kokoro-text` front-end (normalization,
//! misaki phonemes, chunking); each chunk is prepared on a second thread while the previous one is
//! in inference. The model is cut into two [`halves`] at load time: a chunk's *front* (durations,
//! pitch, features) runs once, then its *decoder* — where almost all the time goes — runs on the
//! chunk's frames (optionally a short first window before the rest, so audio starts after a
//! fraction of the chunk's work). The model's leading and trailing silence is mostly never
//! decoded; chunks are joined with pauses (longer after sentences than clauses), and a request
//! ends 40 ms after its last sound (the model folds the utterance's closing pause into the last
//! phoneme's duration). Word timestamps come from the per-token durations inside the graph
//! (`/encoder/Cast_output_0`, an output of the front; for a graph that cannot be cut, an extra
//! output of the whole).
//!
//! # Assets
//! `cargo xtask setup` puts everything in the data folder (`$CHORUS_DATA_DIR`, else
//! `$XDG_DATA_HOME/chorus`, else `~/.local/share/chorus`):
//! `onnxruntime/libonnxruntime.so.1.31.1`, `kokoro/kokoro-v1.0.int8.onnx`, `kokoro/voices_ja.npz`,
//! `kokoro/vocab.json`. The plugin loads ONNX Runtime from there itself; `ORT_DYLIB_PATH` is not used.
//!
//! # Config (JSON; the `[backends.kokoro]` table)
//! - `data_dir`: the data folder (the host fills it in).
//! - `model`: path to your own `kokoro-v1.0.onnx` (int8 or fp32) instead of the installed one.
//! - `voices`: path to a voice pack: an `.npz`, or the 54-voice `voices-v1.0.bin` (same format).
//! - `vocab`: path to a `vocab.json` (Kokoro's vocabulary is built in otherwise).
//! - `ort_library`: path to `libonnxruntime.so` (1.31 or newer) instead of the installed one.
//! - `threads`: ONNX Runtime intra-op threads (default: all cores).
//! - `default_voice`: voice or blend used when a request names none (default `jf_alpha`, or the
//!   pack's first voice when it has no `jf_alpha`).
//! - `first_max_tokens`, `max_tokens`, `first_cut_at_word`: chunking. By default every chunk is
//!   whole sentences (a sentence over `max_tokens`, default 150, at most 510, is cut at clause
//!   marks), so the front decides each sentence's prosody from all of it; `first_max_tokens = 16`
//!   with `first_cut_at_word = true` is the old short first chunk, cut inside a clause.
//! - `first_window`, `first_context`, `probes`, `probe_frames`, `window`, `window_context`:
//!   decoder windows, in frames of 25 ms. `first_window` (0: off, the default) decodes the start of a
//!   request's first chunk before the rest, so audio starts sooner: at least that many frames,
//!   more when the decoder's measured speed needs more playing time to decode the rest, ending
//!   where a word starts; `first_context` (8) frames after it are decoded and cut off. The
//!   decoder's instance norms and dynamic quantizations take their statistics over what they are
//!   given, so a window that sees less than half its chunk is decoded with `probes` (8)
//!   stretches of `probe_frames` (6) frames spread over the rest of the chunk, cut off again:
//!   alone it comes out quieter (docs/BENCHMARKS.md). The rest of the chunk is then
//!   decoded from the chunk's start, so after the first window the audio is the whole
//!   sentence's exactly. `window` caps later windows (0: no cap), each with `window_context` (8)
//!   frames decoded on each side.
//! - `sentence_pause`, `clause_pause`: seconds of silence added where chunks join (0.25, 0.1).
//! - `word_timestamps`: `false` runs the unmodified graph and pushes no word timestamps.
//! - `lean_memory`: `false` takes the plain path for memory: the text front-end in ordinary
//!   memory, the saved graphs' weights copied into it, one ONNX Runtime arena per session (more
//!   memory, the same audio; plugins/kokoro/ARCHITECTURE.md, "Memory").
//!
//! # Profiling
//! `CHORUS_KOKORO_PROFILE=/tmp/prof` makes every ONNX Runtime session write its per-node profile
//! (`/tmp/prof_<date>.json`) when dropped; `xtask/src/bench/experiments/profile_ops.py` sums it
//! by operator.
//!
//! # Requests
//! Voice: a voice id or a weighted blend `jf_alpha(2)+jm_kumo(1)`. Speed 0.25–4.0. Language `en-us`
//! (the default, whatever the voice's prefix) or `en-gb`. Options (`options_json`):
//! `{"timing_detail": true}` adds each chunk's ids, durations and cut points to its progress metrics.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod audio;
pub mod config;
pub mod derived;
pub mod error;
pub mod file_heap;
pub mod front;
pub mod halves;
pub mod model;
pub mod npy;
pub mod prepare;
pub mod synth;
pub mod voices;
pub mod weights;
pub mod windows;

use chorus_kokoro_text::{ChunkPolicy, Frontend, Lang};
use chorus_plugin_api::{
    BackendInfo, Capabilities, CostModel, Engine, ModelInfo, PluginError, Sink, Summary, SynthError, SynthesisRequest,
    Voice,
};
use config::Config;
use error::LoadError;
use model::{Model, SAMPLE_RATE};
use prepare::Vocab;
use voices::VoicePack;

/// The voice used when neither the request nor the config names one.
pub const DEFAULT_VOICE: &str = "jf_alpha";

/// A loaded Kokoro backend: one ONNX session, the voice pack, the vocabulary and the front-end.
pub struct KokoroEngine {
    model: Model,
    voices: VoicePack,
    vocab: Vocab,
    frontend: std::sync::Arc<Frontend>,
    data_dir: Option<std::path::PathBuf>,
    /// The `lean_memory` switch (see plugins/kokoro/ARCHITECTURE.md, "Memory").
    lean: bool,
    policy: ChunkPolicy,
    default_voice: String,
    sentence_pause: f32,
    clause_pause: f32,
    windows: windows::Windows,
    rate: windows::Rate,
    threads: usize,
}

impl KokoroEngine {
    fn from_config(config: &Config) -> Result<Self, PluginError> {
        let paths = config.paths()?;
        let env = model::init_runtime(&paths.ort_library)?;
        let cache = config.data_dir.as_ref().map(|d| d.join("kokoro/derived"));
        let durations = config.word_timestamps.unwrap_or(true);
        let lean = config.lean_memory.unwrap_or(true);
        Self::with_model(config, |threads| Model::load(env, &paths.model, threads, durations, cache.as_deref(), lean))
    }

    /// A backend whose model `load` makes (given the thread count), with everything else —
    /// voices, vocabulary, text front-end, chunking, windows, pauses — from `config` as for ONNX
    /// Runtime. Another runtime's plugin passes [`Model::from_halves`] here.
    pub fn with_model(
        config: &Config,
        load: impl FnOnce(usize) -> Result<Model, PluginError>,
    ) -> Result<Self, PluginError> {
        let paths = config.paths()?;
        config::require_file(&paths.voices, "voice pack")?;
        let voices = VoicePack::load(&paths.voices).map_err(LoadError::Voices)?;
        let vocab = if paths.vocab.as_os_str().is_empty() {
            Vocab::builtin()
        } else {
            let text = std::fs::read_to_string(&paths.vocab)
                .map_err(|e| LoadError::Vocab { path: paths.vocab.clone(), reason: e.to_string() })?;
            Vocab::parse(&text).map_err(|reason| LoadError::Vocab { path: paths.vocab.clone(), reason })?
        };
        let threads = config.threads();
        let lean = config.lean_memory.unwrap_or(true);
        // misaki's lexicons load on their own thread while the model loads.
        let (model, frontend) = std::thread::scope(|scope| {
            let frontend = scope.spawn(|| front::shared(config.data_dir.as_deref(), lean));
            let model = load(threads);
            let frontend = frontend
                .join()
                .unwrap_or_else(|_| Err(PluginError::internal("kokoro: the text front-end panicked while starting")));
            (model, frontend)
        });
        let (model, frontend) = (model?, frontend?);
        let mut policy = ChunkPolicy::default();
        if let Some(n) = config.first_max_tokens {
            policy.first_max_tokens = n.clamp(1, prepare::MAX_TOKENS);
        }
        if let Some(n) = config.max_tokens {
            policy.max_tokens = n.clamp(1, prepare::MAX_TOKENS);
        }
        if let Some(b) = config.first_cut_at_word {
            policy.first_cut_at_word = b;
        }
        if let Some(n) = config.lookahead_words {
            policy.lookahead_words = n.min(3);
        }
        if !model.has_durations() {
            // Without per-token durations the context word's audio cannot be found and cut off.
            policy.lookahead_words = 0;
        }
        let default_voice = match &config.default_voice {
            Some(v) => {
                voices.blend(v).map_err(|e| PluginError::bad_request(format!("kokoro config default_voice: {e}")))?;
                v.clone()
            }
            None if voices.contains(DEFAULT_VOICE) => DEFAULT_VOICE.to_string(),
            None => voices.names().next().unwrap_or(DEFAULT_VOICE).to_string(),
        };
        let pause = |v: Option<f32>, d: f32, key: &str| match v {
            None => Ok(d),
            Some(s) if (0.0..=5.0).contains(&s) => Ok(s),
            Some(s) => Err(PluginError::bad_request(format!("kokoro config {key}: {s} is not 0..=5 seconds"))),
        };
        Ok(Self {
            model,
            voices,
            vocab,
            frontend,
            data_dir: config.data_dir.clone(),
            lean,
            policy,
            default_voice,
            sentence_pause: pause(config.sentence_pause, 0.25, "sentence_pause")?,
            clause_pause: pause(config.clause_pause, 0.1, "clause_pause")?,
            windows: {
                let d = windows::Windows::default();
                // At most a minute of frames: beyond that every chunk is decoded whole anyway.
                let frames = |v: Option<usize>, d: usize| v.unwrap_or(d).min(2400);
                windows::Windows {
                    first: frames(config.first_window, d.first),
                    first_context: frames(config.first_context, d.first_context),
                    probes: halves::Probes {
                        count: config.probes.unwrap_or(d.probes.count).min(64),
                        frames: frames(config.probe_frames, d.probes.frames),
                    },
                    max: frames(config.window, d.max),
                    context: config.window_context.unwrap_or(d.context).min(100),
                }
            },
            rate: windows::Rate::default(),
            threads,
        })
    }

    fn capabilities(&self) -> Capabilities {
        if self.model.has_durations() {
            Capabilities::STREAMING | Capabilities::WORD_TIMESTAMPS
        } else {
            Capabilities::STREAMING
        }
    }
}

/// Parse the request's language: empty means en-us; only English is spoken.
pub fn language(code: &str) -> Result<Lang, PluginError> {
    if code.trim().is_empty() {
        return Ok(Lang::EnUs);
    }
    Lang::parse(code).map_err(|e| {
        PluginError::unsupported(format!(
            "kokoro speaks English only (en-us, en-gb); language '{code}' is not available ({e})"
        ))
    })
}

/// Check the speed range.
pub fn check_speed(speed: f32) -> Result<(), PluginError> {
    if speed.is_finite() && (0.25..=4.0).contains(&speed) {
        Ok(())
    } else {
        Err(PluginError::bad_request(format!("kokoro: speed must be between 0.25 and 4.0, got {speed}")))
    }
}

impl Engine for KokoroEngine {
    const NAME: &'static str = "kokoro";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PATTERNS: &'static [&'static str] = &["kokoro*"];
    const DESCRIPTION: &'static str = "Kokoro-82M on ONNX Runtime: English speech with streaming and word timestamps";
    const LICENSE: &'static str = "MIT OR Apache-2.0";
    const CAPABILITIES: Capabilities = Capabilities::STREAMING.union(Capabilities::WORD_TIMESTAMPS);

    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        Self::from_config(&config)
    }

    fn info(&self) -> BackendInfo {
        let model = |id: &str, description: &str| ModelInfo {
            id: id.into(),
            description: description.into(),
            cost: CostModel::default(),
        };
        BackendInfo {
            sample_rate: SAMPLE_RATE,
            capabilities: self.capabilities(),
            languages: vec!["en-us".into(), "en-gb".into()].into(),
            models: vec![model("kokoro", Self::DESCRIPTION)].into(),
            default_voice: self.default_voice.as_str().into(),
            default_cost: CostModel::default(),
            extra_json: serde_json::json!({
                "threads": self.threads,
                "voices": self.voices.names().count(),
                "word_timestamps": self.model.has_durations(),
                // true, or why the model runs whole (then no decoder windows).
                "decoder_windows": match self.model.split() {
                    Ok(()) => serde_json::Value::Bool(true),
                    Err(why) => why.into(),
                },
                "lean_memory": self.lean,
                "shared_arena": self.lean && chorus_kokoro_kernels::arena::shared(),
                // true, or why the front-end's data is in ordinary memory.
                "file_heap": if !self.lean {
                    "lean_memory is off".into()
                } else if file_heap::in_use() {
                    serde_json::Value::Bool(true)
                } else {
                    file_heap::unused_because().unwrap_or_else(|| "not built yet".into()).into()
                },
                // true, or why the front's weights are in ordinary memory.
                "front_weights_mapped": match self.model.front_weights() {
                    Ok(()) => serde_json::Value::Bool(true),
                    Err(why) => why.into(),
                },
            })
            .to_string()
            .into(),
        }
    }

    fn voices(&self) -> Result<Vec<Voice>, PluginError> {
        Ok(self.voices.describe())
    }

    fn synthesize(&self, request: &SynthesisRequest, sink: &mut Sink) -> Result<Summary, SynthError> {
        check_speed(request.speed)?;
        let lang = language(&request.language)?;
        let voice = if request.voice.trim().is_empty() { self.default_voice.as_str() } else { request.voice.as_str() };
        let blend = self.voices.blend(voice)?;
        let options: serde_json::Value = match request.options_json.trim() {
            "" => serde_json::Value::Null,
            text => serde_json::from_str(text)
                .map_err(|e| PluginError::bad_request(format!("kokoro: options_json is not JSON: {e}")))?,
        };
        front::load_language(&self.frontend, self.data_dir.as_deref().filter(|_| self.lean), lang);
        let job = synth::Job {
            model: &self.model,
            voices: &self.voices,
            vocab: &self.vocab,
            frontend: &self.frontend,
            policy: &self.policy,
            text: request.text.as_str(),
            lang,
            blend,
            speed: request.speed,
            sentence_pause: self.sentence_pause,
            clause_pause: self.clause_pause,
            windows: self.windows,
            rate: &self.rate,
            timing_detail: options.get("timing_detail").and_then(|v| v.as_bool()).unwrap_or(false),
        };
        Ok(job.run(sink)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_outside_the_range_is_a_bad_request() {
        for bad in [0.0, 0.2, 4.5, f32::NAN] {
            assert_eq!(check_speed(bad).unwrap_err().kind, chorus_plugin_api::ErrorKind::BAD_REQUEST);
        }
        assert!(check_speed(0.25).is_ok() && check_speed(4.0).is_ok());
    }

    #[test]
    fn the_default_language_is_american_english_and_others_are_refused() {
        assert!(matches!(language("").unwrap(), Lang::EnUs));
        let e = language("ja").unwrap_err();
        assert_eq!(e.kind, chorus_plugin_api::ErrorKind::UNSUPPORTED);
        assert!(e.message.contains("en-us"));
    }
}
