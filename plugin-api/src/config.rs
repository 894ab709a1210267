//! A plugin's config: its `[backends.NAME]` table, as JSON, decoded into the engine's own type.

use crate::PluginError;
use serde::{Deserialize, de::DeserializeOwned};

/// Keys the host adds to every plugin's config. An engine's config type may declare them (as
/// `data_dir: Option<PathBuf>`, the chorus data folder) or leave them out; either is fine.
pub const HOST_KEYS: &[&str] = &["data_dir"];

/// The config of an engine that takes none: any key but the [`HOST_KEYS`] is an error.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct NoConfig {}

/// Decode `json` into `C` for plugin `plugin`; empty text gives `C::default()`.
///
/// A value of the wrong type names its key, line and column (`example config: ms_per_char:
/// invalid type: string "fast", expected f64 at line 1 column 25`); a key `C` does not read is
/// an error naming it, except the [`HOST_KEYS`]. Both are [`crate::ErrorKind::NOT_CONFIGURED`].
pub fn decode<C: DeserializeOwned + Default>(plugin: &str, json: &str) -> Result<C, PluginError> {
    if json.trim().is_empty() {
        return Ok(C::default());
    }
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let mut input = serde_json::Deserializer::from_str(json);
    let decoded = serde_ignored::deserialize(serde_path_to_error::Deserializer::new(&mut input, &mut track), |path| {
        unknown.push(path.to_string())
    })
    .and_then(|config| input.end().map(|()| config));
    let config = decoded.map_err(|e| {
        let path = track.path().to_string();
        let key = if path == "." { String::new() } else { format!("{path}: ") };
        PluginError::not_configured(format!("{plugin} config: {key}{e}"))
    })?;
    unknown.retain(|key| !HOST_KEYS.contains(&key.as_str()));
    if unknown.is_empty() {
        Ok(config)
    } else {
        Err(PluginError::not_configured(format!("{plugin} config: unknown key {}", unknown.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default)]
    struct Config {
        rate: u32,
        voice: String,
        limits: Limits,
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    struct Limits {
        chars: Option<u64>,
    }

    impl Default for Config {
        fn default() -> Self {
            Self { rate: 24_000, voice: "tone".into(), limits: Limits::default() }
        }
    }

    #[test]
    fn absent_keys_take_their_defaults_and_empty_text_is_the_default() {
        let c: Config = decode("t", r#"{"voice": "low", "data_dir": "/d"}"#).unwrap();
        assert_eq!((c.rate, c.voice.as_str()), (24_000, "low"));
        assert_eq!(decode::<Config>("t", "  ").unwrap(), Config::default());
    }

    #[test]
    fn a_wrong_type_names_its_key_and_where_it_is() {
        let e = decode::<Config>("t", "{\"rate\": 1,\n \"limits\": {\"chars\": \"many\"}}").unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::NOT_CONFIGURED);
        assert!(e.message.starts_with("t config: limits.chars: invalid type: string"), "{e}");
        assert!(e.message.contains("line 2"), "{e}");
    }

    #[test]
    fn an_unknown_key_is_named_and_host_keys_are_not() {
        let e = decode::<Config>("t", r#"{"rat": 1, "limits": {"char": 2}, "data_dir": "/d"}"#).unwrap_err();
        assert_eq!(e.message, "t config: unknown key rat, limits.char");
    }

    #[test]
    fn no_config_takes_only_the_host_keys() {
        assert!(decode::<NoConfig>("t", r#"{"data_dir": "/d"}"#).is_ok());
        assert_eq!(decode::<NoConfig>("t", r#"{"x": 1}"#).unwrap_err().message, "t config: unknown key x");
    }

    #[test]
    fn text_that_is_not_a_table_is_refused() {
        assert!(decode::<Config>("t", "true").unwrap_err().message.starts_with("t config: invalid type"));
        assert!(decode::<Config>("t", "{} x").unwrap_err().message.contains("trailing characters"));
    }
}
