//! The `[backends.chatterbox]` table and the generation options a request may carry.
//!
//! ```toml
//! [backends.chatterbox]
//! base_url = "http://127.0.0.1:4123"   # chatterbox-tts-api's default PORT (app/config.py)
//! voice = "narrator"                   # voice-library name or alias (default: the server's sample)
//! streaming = true                     # /v1/audio/speech/stream (false: the whole file at once)
//! exaggeration = 0.5                   # 0.25..=2.0   (unset: the server's EXAGGERATION)
//! cfg_weight = 0.5                     # 0.0..=1.0    (unset: the server's CFG_WEIGHT)
//! temperature = 0.8                    # 0.05..=5.0   (unset: the server's TEMPERATURE)
//! streaming_chunk_size = 200           # 50..=500 characters per generated chunk
//! streaming_strategy = "sentence"      # sentence | paragraph | fixed | word
//! streaming_quality = "balanced"       # fast | balanced | high
//! connect_timeout = 5
//! read_timeout = 300
//! max_retries = 2
//! ```
//! A request's `options` may carry the same generation keys; they win over the table.

use chorus_plugin_api::PluginError;
use chorus_remote::{ClientOptions, config};
use serde_json::{Map, Value};

pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:4123";

/// Numeric generation options and their bounds (app/models/requests.py `TTSRequest`).
pub const NUMBERS: [(&str, f64, f64); 4] = [
    ("exaggeration", 0.25, 2.0),
    ("cfg_weight", 0.0, 1.0),
    ("temperature", 0.05, 5.0),
    ("streaming_chunk_size", 50.0, 500.0),
];

/// Text generation options and their allowed values (the validators in app/models/requests.py).
pub const CHOICES: [(&str, &[&str]); 2] = [
    ("streaming_strategy", &["sentence", "paragraph", "fixed", "word"]),
    ("streaming_quality", &["fast", "balanced", "high"]),
];

#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub voice: String,
    pub streaming: bool,
    /// Validated generation options from the table.
    pub options: Map<String, Value>,
    pub client: ClientOptions,
}

impl Settings {
    pub fn from_json(config_json: &str) -> Result<Self, PluginError> {
        Self::from_config(config::parse(config_json)?)
    }

    /// The settings from the config as the SDK decoded it.
    pub fn from_config(c: Value) -> Result<Self, PluginError> {
        let c = config::table(c)?;
        let client = config::local_server_client_options(&c)?;
        let text = |key: &str| config::text(&c, key);
        let streaming = match c.get("streaming") {
            None => true,
            Some(v) => v.as_bool().ok_or_else(|| {
                PluginError::not_configured(format!("chatterbox: streaming must be true or false, got {v}"))
            })?,
        };
        let options = generation_options(&c)
            .map_err(|e| PluginError::not_configured(format!("chatterbox config: {}", e.message)))?;
        Ok(Self {
            base_url: text("base_url").unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            voice: text("voice").unwrap_or_default(),
            streaming,
            options,
            client,
        })
    }

    /// The table's options overlaid with a request's `options` JSON, validated.
    pub fn merged_options(&self, options_json: &str) -> Result<Map<String, Value>, PluginError> {
        let request: Value = serde_json::from_str(if options_json.trim().is_empty() { "{}" } else { options_json })
            .map_err(|e| PluginError::bad_request(format!("options must be a JSON object: {e}")))?;
        let mut merged = self.options.clone();
        merged.extend(generation_options(&request)?);
        Ok(merged)
    }
}

/// The known generation options in `source`, checked against the server's bounds so a bad value
/// fails here with a clear message instead of as a 422 from the server.
pub fn generation_options(source: &Value) -> Result<Map<String, Value>, PluginError> {
    let mut out = Map::new();
    for (key, lo, hi) in NUMBERS {
        if let Some(v) = source.get(key) {
            let n = v.as_f64().filter(|n| (lo..=hi).contains(n)).ok_or_else(|| {
                PluginError::bad_request(format!("chatterbox: {key} must be a number in {lo}..={hi}, got {v}"))
            })?;
            let value = if key == "streaming_chunk_size" { Value::from(n.round() as u64) } else { Value::from(n) };
            out.insert(key.into(), value);
        }
    }
    for (key, allowed) in CHOICES {
        if let Some(v) = source.get(key) {
            let s = v.as_str().filter(|s| allowed.contains(s)).ok_or_else(|| {
                PluginError::bad_request(format!("chatterbox: {key} must be one of {}, got {v}", allowed.join(", ")))
            })?;
            out.insert(key.into(), Value::from(s));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let s = Settings::from_json("{}").unwrap();
        assert_eq!((s.base_url.as_str(), s.streaming), (DEFAULT_BASE_URL, true));
        let s = Settings::from_json(r#"{"exaggeration": 0.7, "streaming": false}"#).unwrap();
        assert!(!s.streaming);
        let merged = s.merged_options(r#"{"cfg_weight": 0.3, "exaggeration": 1.5}"#).unwrap();
        assert_eq!(merged["exaggeration"], 1.5);
        assert_eq!(merged["cfg_weight"], 0.3);
        assert!(s.merged_options(r#"{"temperature": 9}"#).unwrap_err().message.contains("0.05..=5"));
        assert!(Settings::from_json(r#"{"streaming_strategy": "random"}"#).is_err());
    }
}
