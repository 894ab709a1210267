//! The plugin's config (the `[backends.cloud]` table, as JSON) resolved per provider.
//!
//! ```toml
//! [backends.cloud]
//! read_timeout = 60          # seconds; also connect_timeout, max_retries (chorus-remote)
//! [backends.cloud.openai]
//! api_key = "sk-..."         # else OPENAI_API_KEY
//! base_url = "http://127.0.0.1:8000/v1"   # else OPENAI_BASE_URL, else OpenAI's own; includes /v1
//! [backends.cloud.elevenlabs]
//! api_key = "..."            # else ELEVENLABS_API_KEY
//! base_url = "https://api.elevenlabs.io"  # the default; no /v1
//! max_pcm_rate = 48000       # 44.1 kHz PCM needs ElevenLabs' Pro tier
//! [backends.cloud.prices."openai/tts-1"]
//! usd_per_million_chars = 15
//! ```
//! Timeouts and retries may also be set inside a provider table, which wins.

use chorus_plugin_api::PluginError;
use chorus_remote::{Client, ClientOptions, config};
use serde_json::{Map, Value};

/// OpenAI's own API, as the official SDKs default to (openai/openai-python, src/openai/_client.py:
/// `base_url = os.environ.get("OPENAI_BASE_URL")`, else `https://api.openai.com/v1`).
pub const OPENAI_DEFAULT_BASE: &str = "https://api.openai.com/v1";
/// ElevenLabs' production environment (elevenlabs/elevenlabs-python, src/elevenlabs/environment.py).
pub const ELEVENLABS_DEFAULT_BASE: &str = "https://api.elevenlabs.io";

/// One provider's resolved settings.
#[derive(Debug, Clone)]
pub struct Provider {
    pub api_key: Option<String>,
    pub base_url: String,
    /// True when `base_url` is the provider's own host (not a compatible server).
    pub official: bool,
    pub options: ClientOptions,
    /// The provider's table merged over the shared keys.
    pub table: Value,
}

impl Provider {
    pub fn client(&self, name: &str) -> Result<Client, PluginError> {
        Client::new(name, &self.base_url, self.options.clone())
    }
}

/// Resolve `section` (`openai` / `elevenlabs`) of `config`.
pub fn provider(
    config: &Value,
    section: &str,
    key_env: &str,
    base_env: Option<&str>,
    default_base: &str,
) -> Result<Provider, PluginError> {
    let mut merged = Map::new();
    for key in ["connect_timeout", "read_timeout", "max_retries"] {
        if let Some(v) = config.get(key) {
            merged.insert(key.into(), v.clone());
        }
    }
    match config.get(section) {
        None => {}
        Some(Value::Object(table)) => merged.extend(table.clone()),
        Some(other) => {
            return Err(PluginError::not_configured(format!(
                "[backends.cloud.{section}] must be a table, got {other}"
            )));
        }
    }
    let table = Value::Object(merged);
    let options = config::client_options(&table)?;
    let api_key = config::string_or_env(&table, "api_key", Some(key_env));
    let base_url = config::string_or_env(&table, "base_url", base_env).unwrap_or_else(|| default_base.to_string());
    let base_url = base_url.trim_end_matches('/').to_string();
    let official = host_of(&base_url) == host_of(default_base);
    Ok(Provider { api_key, base_url, official, options, table })
}

/// The host part of a URL, lower-cased.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.split(':').next().unwrap_or_default().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_tables_and_defaults() {
        let c: Value =
            serde_json::json!({"read_timeout": 5, "openai": {"base_url": "http://127.0.0.1:9/v1/", "api_key": "k"}});
        let p = provider(&c, "openai", "CHORUS_TEST_UNSET_KEY", None, OPENAI_DEFAULT_BASE).unwrap();
        assert_eq!(p.base_url, "http://127.0.0.1:9/v1");
        assert!(!p.official);
        assert_eq!(p.api_key.as_deref(), Some("k"));
        assert_eq!(p.options.read_timeout.as_secs(), 5);
        let e = provider(&c, "elevenlabs", "CHORUS_TEST_UNSET_KEY", None, ELEVENLABS_DEFAULT_BASE).unwrap();
        assert!(e.official);
        assert_eq!(e.api_key, None);
    }

    #[test]
    fn hosts() {
        assert_eq!(host_of("https://API.openai.com/v1"), "api.openai.com");
        assert_eq!(host_of("http://user@127.0.0.1:8000/v1"), "127.0.0.1");
    }
}
