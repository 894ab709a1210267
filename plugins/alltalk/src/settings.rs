//! The `[backends.alltalk]` table: where the server is, which of its endpoints to use, defaults.
//!
//! ```toml
//! [backends.alltalk]
//! base_url = "http://127.0.0.1:7851"   # AllTalk's default API port (confignew.json `api_port_number`)
//! mode = "native"                      # openai | native | streaming
//! voice = "female_01.wav"              # engine voice for native/streaming (default: the server's)
//! language = "auto"                    # AllTalk code or "auto" (server-side detection)
//! connect_timeout = 5                  # seconds
//! read_timeout = 120                   # seconds without a byte before giving up
//! max_retries = 2
//! [backends.alltalk.voice_map]         # request voice → engine voice, for native/streaming
//! alloy = "female_01.wav"
//! ```

use chorus_plugin_api::PluginError;
use chorus_remote::{ClientOptions, config};
use serde_json::Value;
use std::collections::BTreeMap;

pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:7851";

/// Which AllTalk endpoint synthesizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// POST /v1/audio/speech: OpenAI voice names only (mapped by the server), language detected.
    OpenAi,
    /// POST /api/tts-generate, then GET the file it names: any engine voice, language, speed.
    Native,
    /// GET /api/tts-generate-streaming: audio while it is generated (XTTS only), no speed.
    Streaming,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "openai" => Some(Self::OpenAi),
            "native" => Some(Self::Native),
            "streaming" | "stream" => Some(Self::Streaming),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Native => "native",
            Self::Streaming => "streaming",
        }
    }
}

/// The plugin's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub mode: Mode,
    /// Engine voice used when a request names none (empty: the server's default voice).
    pub voice: String,
    /// AllTalk language code or `auto`.
    pub language: String,
    pub voice_map: BTreeMap<String, String>,
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
        let mode = match text("mode") {
            None => Mode::Native,
            Some(m) => Mode::parse(&m).ok_or_else(|| {
                PluginError::not_configured(format!("alltalk: mode must be openai, native or streaming, got '{m}'"))
            })?,
        };
        let language = text("language").unwrap_or_else(|| "auto".into());
        crate::language::to_alltalk(&language)
            .map_err(|e| PluginError::not_configured(format!("alltalk: language in the config: {}", e.message)))?;
        let voice_map = match c.get("voice_map") {
            None => BTreeMap::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v.as_str() {
                    Some(s) => Ok((k.clone(), s.to_string())),
                    None => Err(PluginError::not_configured(format!("alltalk: voice_map.{k} must be a voice name"))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(PluginError::not_configured(format!("alltalk: voice_map must be a table, got {other}")));
            }
        };
        Ok(Self {
            base_url: text("base_url").unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            mode,
            voice: text("voice").unwrap_or_default(),
            language,
            voice_map,
            client,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn defaults_and_overrides() {
        let s = Settings::from_json("{}").unwrap();
        assert_eq!((s.base_url.as_str(), s.mode, s.language.as_str()), (DEFAULT_BASE_URL, Mode::Native, "auto"));
        assert_eq!(s.client.connect_timeout, Duration::from_secs(5));
        let s = Settings::from_json(r#"{"mode":"streaming","voice_map":{"alloy":"male_01.wav"},"read_timeout":2}"#)
            .unwrap();
        assert_eq!(s.mode, Mode::Streaming);
        assert_eq!(s.voice_map["alloy"], "male_01.wav");
        assert_eq!(s.client.read_timeout, Duration::from_secs(2));
        assert!(Settings::from_json(r#"{"mode":"fast"}"#).is_err());
        assert!(Settings::from_json(r#"{"language":"xx"}"#).is_err());
    }
}
