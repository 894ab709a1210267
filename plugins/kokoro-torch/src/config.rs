//! The `[backends.kokoro-torch]` table: every key of the ONNX engine's (voices, chunking, windows,
//! pauses, `threads`, `data_dir`) plus `cuda` (run on the GPU when libtorch sees one; default
//! false) and `torch_dir` (the converted model's folder; default `<data_dir>/kokoro-torch`).

use std::path::PathBuf;

use chorus_kokoro::config::Config;
use serde::Deserialize;

/// The ONNX engine's keys that mean nothing here: its model file and its runtime library.
const ONNX_ONLY: [&str; 2] = ["model", "ort_library"];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "serde_json::Value")]
pub struct TorchConfig {
    pub base: Config,
    pub cuda: bool,
    pub torch_dir: Option<PathBuf>,
}

impl TryFrom<serde_json::Value> for TorchConfig {
    type Error = String;

    fn try_from(value: serde_json::Value) -> Result<Self, String> {
        let mut map = match value {
            serde_json::Value::Object(map) => map,
            serde_json::Value::Null => Default::default(),
            other => return Err(format!("kokoro-torch config: expected a table, got {other}")),
        };
        if let Some(key) = ONNX_ONLY.iter().find(|k| map.contains_key(**k)) {
            return Err(format!(
                "kokoro-torch config: `{key}` is an ONNX Runtime setting; this engine reads `torch_dir`"
            ));
        }
        let cuda = match map.remove("cuda") {
            None => false,
            Some(serde_json::Value::Bool(b)) => b,
            Some(other) => return Err(format!("kokoro-torch config: `cuda` must be true or false, got {other}")),
        };
        let torch_dir = match map.remove("torch_dir") {
            None => None,
            Some(serde_json::Value::String(s)) => Some(PathBuf::from(s)),
            Some(other) => return Err(format!("kokoro-torch config: `torch_dir` must be a path, got {other}")),
        };
        let base = Config::parse(&serde_json::Value::Object(map).to_string()).map_err(|e| e.message.to_string())?;
        Ok(Self { base, cuda, torch_dir })
    }
}
