//! Why a Kokoro backend does not load, said so the user can fix it.

use std::path::PathBuf;

use chorus_kokoro_graph::GraphError;
use chorus_plugin_api::PluginError;

use crate::config::SETUP_HINT;

/// A backend, model or asset that does not load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// An asset file is missing, empty or not a file.
    #[error("the {what} {problem} {}; {SETUP_HINT}", path.display())]
    Asset { what: &'static str, path: PathBuf, problem: String },
    /// The ONNX Runtime library does not load.
    #[error("could not load ONNX Runtime from {}: {reason}; {SETUP_HINT}", path.display())]
    Runtime { path: PathBuf, reason: String },
    /// A file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// A derived file cannot be written.
    #[error("cannot write {}: {source} (is the data folder writable and not full?)", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// The graph cannot be rewritten or cut as chorus needs.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// ONNX Runtime refuses a session option or the graph.
    #[error("ONNX Runtime: {0}")]
    Session(String),
    /// The model loads but does not run as Kokoro v1.0 does.
    #[error("{0}")]
    Shape(String),
    /// The voice pack does not load.
    #[error("the voice pack does not load: {0}; {SETUP_HINT}")]
    Voices(String),
    /// The vocabulary file does not load.
    #[error("{} is not a Kokoro vocab.json: {reason}; {SETUP_HINT}", path.display())]
    Vocab { path: PathBuf, reason: String },
}

impl LoadError {
    /// A failure of the model at `path`, said with the fix.
    pub fn in_model(self, path: &std::path::Path) -> PluginError {
        match self {
            e @ (LoadError::Asset { .. } | LoadError::Runtime { .. }) => e.into(),
            e => PluginError::not_configured(format!(
                "kokoro: the model at {} does not load ({e}); it may be corrupt or not a Kokoro v1.0 ONNX model — \
                 delete it and run `cargo xtask setup` again, or point `model` at a valid kokoro-v1.0.onnx",
                path.display()
            )),
        }
    }
}

impl From<ort::Error> for LoadError {
    fn from(e: ort::Error) -> Self {
        LoadError::Session(e.to_string())
    }
}

impl From<ort::Error<ort::session::builder::SessionBuilder>> for LoadError {
    fn from(e: ort::Error<ort::session::builder::SessionBuilder>) -> Self {
        LoadError::Session(e.to_string())
    }
}

impl From<LoadError> for PluginError {
    fn from(e: LoadError) -> Self {
        PluginError::not_configured(format!("kokoro: {e}"))
    }
}
