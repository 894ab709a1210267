//! The config file (TOML): plugin folders, routing (default model, aliases, priorities),
//! per-backend tables, limits. Missing file = defaults.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// Default maximum input length, in characters.
pub const DEFAULT_MAX_INPUT_CHARS: usize = 100_000;

/// OpenAI's voice names mapped to the Kokoro voices every install has (the five Japanese ones:
/// female voices for OpenAI's female-sounding names, jm_kumo for the male-sounding ones), so
/// clients that only know OpenAI's names work. A user's `[voice_aliases.kokoro]` overrides them
/// name by name (e.g. `alloy = "af_alloy"` with the English voice pack).
pub const KOKORO_OPENAI_VOICES: &[(&str, &str)] = &[
    ("alloy", "jf_alpha"),
    ("ash", "jm_kumo"),
    ("ballad", "jm_kumo"),
    ("coral", "jf_gongitsune"),
    ("echo", "jm_kumo"),
    ("fable", "jf_nezumi"),
    ("nova", "jf_alpha"),
    ("onyx", "jm_kumo"),
    ("sage", "jf_tebukuro"),
    ("shimmer", "jf_nezumi"),
    ("verse", "jm_kumo"),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Folders searched for plugin libraries (used when neither --plugins nor CHORUS_PLUGIN_PATH is given).
    pub plugin_dirs: Vec<PathBuf>,
    /// Where models and the usage ledger live; default `$XDG_DATA_HOME/chorus`.
    pub data_dir: Option<PathBuf>,
    /// The model used when a request names none.
    pub default_model: String,
    /// Exact model-name aliases: `"tts-1" = "kokoro"`.
    pub aliases: BTreeMap<String, String>,
    /// Prefix rewrites: `"openai_official_" = "openai/"` turns `openai_official_tts-1` into `openai/tts-1`.
    pub prefix_aliases: BTreeMap<String, String>,
    /// Plugin name → priority; higher wins when two glob patterns match the same model name.
    pub priority: BTreeMap<String, i32>,
    /// Per-backend config tables, keyed by plugin name, passed to the plugin as JSON.
    pub backends: BTreeMap<String, toml::Table>,
    /// Longest accepted input text, in characters.
    pub max_input_chars: usize,
    /// OpenAI voice names mapped to a voice per model pattern: `[voice_aliases.kokoro] alloy = "jf_alpha"`.
    pub voice_aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// Settings for `chorus serve`.
    pub server: toml::Table,
    /// Price overrides, keyed by model name (after aliases) or plugin name:
    /// `[prices."openai/tts-1"] usd_per_million_chars = 15.0`. See [`Config::price_override`].
    pub prices: BTreeMap<String, PriceOverride>,
}

/// A price set in the config, replacing what the backend declares (all fields default to 0).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PriceOverride {
    pub usd_per_million_chars: f64,
    pub usd_per_million_input_tokens: f64,
    pub usd_per_audio_minute: f64,
    /// Where the price comes from; default "config override".
    pub source: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let pairs = |items: &[(&str, &str)]| items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        Self {
            plugin_dirs: Vec::new(),
            data_dir: None,
            default_model: "kokoro".into(),
            aliases: pairs(&[("tts-1", "kokoro"), ("tts-1-hd", "kokoro"), ("gpt-4o-mini-tts", "kokoro")]),
            prefix_aliases: pairs(&[
                ("openai_official_", "openai/"),
                ("elevenlabs_", "elevenlabs/"),
                ("alltalk_", "alltalk/"),
                ("local_chatterbox_", "chatterbox/"),
                ("local_kokoro_", "kokoro/"),
            ]),
            priority: BTreeMap::new(),
            backends: BTreeMap::new(),
            max_input_chars: DEFAULT_MAX_INPUT_CHARS,
            voice_aliases: BTreeMap::from([("kokoro".to_string(), pairs(KOKORO_OPENAI_VOICES))]),
            server: toml::Table::new(),
            prices: BTreeMap::new(),
        }
    }
}

impl Config {
    /// Read `path`; a missing file gives the defaults, a malformed one an error naming the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::Config { path: path.into(), message: e.to_string() }),
        };
        Self::parse(&text).map_err(|message| Error::Config { path: path.into(), message })
    }

    /// Parse TOML text; user aliases are added to (and override) the built-in ones.
    pub fn parse(text: &str) -> Result<Self, String> {
        let user: Config = toml::from_str(text).map_err(|e| located(text, &e))?;
        let mut merged = Config::default();
        merged.aliases.extend(user.aliases);
        merged.prefix_aliases.extend(user.prefix_aliases);
        for (plugin, names) in user.voice_aliases {
            merged.voice_aliases.entry(plugin).or_default().extend(names);
        }
        Ok(Config {
            aliases: merged.aliases,
            prefix_aliases: merged.prefix_aliases,
            voice_aliases: merged.voice_aliases,
            ..user
        })
    }

    /// The configured price of `model` served by `plugin`: the entry for the model name, else the
    /// one for the plugin name. It wins over the backend's declared price and over what the
    /// backend reports as billed, because the user set it on purpose (negotiated rates, a
    /// self-hosted server's running cost).
    pub fn price_override(&self, plugin: &str, model: &str) -> Option<chorus_plugin_api::CostModel> {
        let p = self.prices.get(model).or_else(|| self.prices.get(plugin))?;
        Some(chorus_plugin_api::CostModel {
            usd_per_million_chars: p.usd_per_million_chars,
            usd_per_million_input_tokens: p.usd_per_million_input_tokens,
            usd_per_audio_minute: p.usd_per_audio_minute,
            source: p.source.clone().unwrap_or_else(|| "config override".into()).into(),
        })
    }

    /// The JSON config for backend `plugin`, with `data_dir` filled in when the user left it out.
    pub fn backend_json(&self, plugin: &str, data_dir: &Path) -> String {
        let mut table = self.backends.get(plugin).cloned().unwrap_or_default();
        table.entry("data_dir").or_insert_with(|| toml::Value::String(data_dir.display().to_string()));
        serde_json::to_string(&table).unwrap_or_else(|_| "{}".into())
    }
}

/// A TOML error in one line, with where it is: `line 2, column 1: unclosed table, expected `]``.
fn located(text: &str, e: &toml::de::Error) -> String {
    let Some(before) = e.span().and_then(|span| text.get(..span.start)) else { return e.message().to_string() };
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {}", e.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_says_where_it_is() {
        let e = Config::parse("default_model = \"kokoro\"\n[server\nport = 1\n").unwrap_err();
        assert!(e.starts_with("line 2, column "), "{e}");
        assert!(e.contains("expected `]`"), "{e}");
    }

    #[test]
    fn user_aliases_extend_the_defaults() {
        let c = Config::parse("default_model = \"example\"\n[aliases]\nfoo = \"example\"\n").unwrap();
        assert_eq!(c.default_model, "example");
        assert_eq!(c.aliases["foo"], "example");
        assert_eq!(c.aliases["tts-1"], "kokoro");
        assert_eq!(c.max_input_chars, DEFAULT_MAX_INPUT_CHARS);
    }

    #[test]
    fn openai_voice_names_map_to_kokoro_voices_and_users_override_one_by_one() {
        let c =
            Config::parse("[voice_aliases.kokoro]\nalloy = \"af_alloy\"\n[voice_aliases.example]\nalloy = \"tone\"\n")
                .unwrap();
        assert_eq!(c.voice_aliases["kokoro"]["alloy"], "af_alloy");
        assert_eq!(c.voice_aliases["kokoro"]["onyx"], "jm_kumo");
        assert_eq!(c.voice_aliases["example"]["alloy"], "tone");
        assert_eq!(Config::default().voice_aliases["kokoro"].len(), 11);
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(Config::parse("plugin_dir = 3").unwrap_err().contains("plugin_dir"));
    }

    #[test]
    fn tldw_chatbook_prefixes_are_default_rewrites() {
        let c = Config::default();
        for (from, to) in [
            ("openai_official_", "openai/"),
            ("elevenlabs_", "elevenlabs/"),
            ("alltalk_", "alltalk/"),
            ("local_chatterbox_", "chatterbox/"),
            ("local_kokoro_", "kokoro/"),
        ] {
            assert_eq!(c.prefix_aliases.get(from).map(String::as_str), Some(to), "{from}");
        }
    }

    #[test]
    fn price_overrides_match_model_then_plugin() {
        let c = Config::parse(
            "[prices.\"openai/tts-1\"]\nusd_per_million_chars = 15.0\n[prices.example]\nusd_per_audio_minute = 0.5\n",
        )
        .unwrap();
        let p = c.price_override("cloud", "openai/tts-1").unwrap();
        assert_eq!(p.usd_per_million_chars, 15.0);
        assert_eq!(p.source.as_str(), "config override");
        assert_eq!(c.price_override("example", "example-x").unwrap().usd_per_audio_minute, 0.5);
        assert!(c.price_override("cloud", "openai/tts-1-hd").is_none());
        assert!(Config::parse("[prices.x]\nusd = 1\n").is_err());
    }

    #[test]
    fn backend_json_injects_data_dir() {
        let c = Config::parse("[backends.example]\nms_per_char = 10\n").unwrap();
        let json: serde_json::Value = serde_json::from_str(&c.backend_json("example", Path::new("/d"))).unwrap();
        assert_eq!(json["ms_per_char"], 10);
        assert_eq!(json["data_dir"], "/d");
    }
}
