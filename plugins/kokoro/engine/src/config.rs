//! The backend's JSON configuration and where each asset is looked for.

use crate::error::LoadError;
use chorus_plugin_api::PluginError;
use serde::Deserialize;
use std::path::PathBuf;

/// The fix printed with every missing or broken asset.
pub const SETUP_HINT: &str = "run `cargo xtask setup` to fetch the ONNX Runtime library, the model and the voices \
into the data folder (or point the kokoro config keys `model`, `voices`, `ort_library` at your own files)";

/// The ONNX Runtime library file `cargo xtask setup` installs, relative to the data folder.
pub const ORT_LIBRARY: &str = "onnxruntime/libonnxruntime.so.1.31.1";
/// The model, voices and vocabulary, relative to the data folder.
pub const MODEL: &str = "kokoro/kokoro-v1.0.int8.onnx";
pub const VOICES: &str = "kokoro/voices_ja.npz";
pub const VOCAB: &str = "kokoro/vocab.json";

/// Config keys of the `[backends.kokoro]` table (see the crate docs). A key it does not know is
/// an error naming it, never silently ignored (a misspelt `frist_window` would do nothing).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: Option<PathBuf>,
    pub model: Option<PathBuf>,
    pub voices: Option<PathBuf>,
    pub vocab: Option<PathBuf>,
    pub ort_library: Option<PathBuf>,
    pub threads: Option<usize>,
    pub default_voice: Option<String>,
    pub first_max_tokens: Option<usize>,
    pub max_tokens: Option<usize>,
    pub first_cut_at_word: Option<bool>,
    /// Words of context synthesized after a cut between two words and crossfaded away (0: none).
    pub lookahead_words: Option<usize>,
    /// Decoder windows, in frames of 25 ms (see `synth::Windows`): the request's first window
    /// (short, so audio starts early) and the frames decoded after it for its statistics; the
    /// most frames of any later window, and the context decoded on each side of one.
    pub first_window: Option<usize>,
    pub first_context: Option<usize>,
    /// Stretches of the chunk's other frames decoded with a short window for its statistics:
    /// how many, and frames each.
    pub probes: Option<usize>,
    pub probe_frames: Option<usize>,
    pub window: Option<usize>,
    pub window_context: Option<usize>,
    /// Seconds of silence after a sentence and after a clause when chunks are joined.
    pub sentence_pause: Option<f32>,
    pub clause_pause: Option<f32>,
    /// Expose the word-duration output of the graph (on by default; off gives plain audio only).
    pub word_timestamps: Option<bool>,
    /// The memory switch: the file heap, mapped weights and the shared arena (on by default;
    /// off is the plain path, more memory, the same audio).
    pub lean_memory: Option<bool>,
}

/// Every asset path, resolved.
#[derive(Debug, Clone)]
pub struct Paths {
    pub model: PathBuf,
    pub voices: PathBuf,
    /// Empty when the built-in vocabulary is used.
    pub vocab: PathBuf,
    pub ort_library: PathBuf,
}

impl Config {
    pub fn parse(json: &str) -> Result<Self, PluginError> {
        let json = if json.trim().is_empty() { "{}" } else { json };
        serde_json::from_str(json).map_err(|e| {
            PluginError::bad_request(format!(
                "kokoro config: {e} (known keys: data_dir, model, voices, vocab, ort_library, threads, default_voice, \
                 first_max_tokens, max_tokens, first_cut_at_word, lookahead_words, first_window, first_context, probes, probe_frames, window, window_context, sentence_pause, clause_pause, word_timestamps, lean_memory)"
            ))
        })
    }

    /// Resolve each asset: an explicit key wins, else the file under `data_dir`.
    pub fn paths(&self) -> Result<Paths, PluginError> {
        let under = |rel: &str, key: &str| -> Result<PathBuf, PluginError> {
            match &self.data_dir {
                Some(dir) => Ok(dir.join(rel)),
                None => Err(PluginError::not_configured(format!(
                    "kokoro: no `{key}` and no `data_dir` in its config, so the {key} file cannot be found; {SETUP_HINT}"
                ))),
            }
        };
        Ok(Paths {
            model: self.model.clone().map_or_else(|| under(MODEL, "model"), Ok)?,
            voices: self.voices.clone().map_or_else(|| under(VOICES, "voices"), Ok)?,
            vocab: match (&self.vocab, &self.data_dir) {
                (Some(v), _) => v.clone(),
                (None, Some(dir)) if dir.join(VOCAB).exists() => dir.join(VOCAB),
                // Not installed: Kokoro's vocabulary is built in.
                (None, _) => PathBuf::new(),
            },
            ort_library: self.ort_library.clone().map_or_else(|| under(ORT_LIBRARY, "ort_library"), Ok)?,
        })
    }

    pub fn threads(&self) -> usize {
        self.threads.filter(|&n| n > 0).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// Check that an asset exists and is a non-empty file, else say how to fix it.
pub fn require_file(path: &std::path::Path, what: &'static str) -> Result<(), LoadError> {
    let problem = match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() > 0 => return Ok(()),
        Ok(_) => "is empty or not a file:".to_string(),
        Err(e) => format!("was not found ({e}) at"),
    };
    Err(LoadError::Asset { what, path: path.to_path_buf(), problem })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_an_error_that_names_it() {
        let e = Config::parse(r#"{"data_dir": "/d", "frist_window": 16}"#).unwrap_err();
        assert_eq!(e.kind, chorus_plugin_api::ErrorKind::BAD_REQUEST);
        assert!(e.message.contains("frist_window") && e.message.contains("first_window"), "{}", e.message);
    }

    #[test]
    fn explicit_paths_win_over_the_data_dir() {
        let c = Config::parse(r#"{"data_dir": "/d", "model": "/m.onnx"}"#).unwrap();
        let p = c.paths().unwrap();
        assert_eq!(p.model, PathBuf::from("/m.onnx"));
        assert_eq!(p.voices, PathBuf::from("/d/kokoro/voices_ja.npz"));
        assert_eq!(p.ort_library, PathBuf::from("/d/onnxruntime/libonnxruntime.so.1.31.1"));
    }

    #[test]
    fn no_data_dir_is_a_not_configured_error_that_names_setup() {
        let e = Config::parse("{}").unwrap().paths().unwrap_err();
        assert_eq!(e.kind, chorus_plugin_api::ErrorKind::NOT_CONFIGURED);
        assert!(e.message.contains("cargo xtask setup"));
    }

    #[test]
    fn a_missing_or_empty_asset_names_itself_its_path_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("kokoro-v1.0.onnx");
        let e = PluginError::from(require_file(&missing, "Kokoro model").unwrap_err());
        assert_eq!(e.kind, chorus_plugin_api::ErrorKind::NOT_CONFIGURED);
        for part in ["Kokoro model was not found", "kokoro-v1.0.onnx", "cargo xtask setup"] {
            assert!(e.message.contains(part), "{part}: {}", e.message);
        }
        std::fs::write(&missing, b"").unwrap();
        let e = PluginError::from(require_file(&missing, "Kokoro model").unwrap_err());
        assert!(e.message.contains("is empty or not a file"), "{}", e.message);
    }

    #[test]
    fn a_mistyped_value_is_a_clear_error() {
        let e = Config::parse(r#"{"threads": "many"}"#).unwrap_err();
        assert!(e.message.contains("known keys"), "{e}");
    }
}
