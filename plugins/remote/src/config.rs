//! Reading the connection settings every remote plugin shares from its JSON config (the
//! `[backends.<plugin>]` table): `base_url`, `api_key`, `connect_timeout` and `read_timeout`
//! (seconds), `max_retries`.

use crate::client::ClientOptions;
use chorus_plugin_api::PluginError;
use serde_json::Value;
use std::time::Duration;

/// Parse the plugin's config JSON (`{}` when empty).
pub fn parse(config_json: &str) -> Result<Value, PluginError> {
    let text = if config_json.trim().is_empty() { "{}" } else { config_json };
    let value: Value = serde_json::from_str(text)
        .map_err(|e| PluginError::not_configured(format!("the plugin config is not valid JSON: {e}")))?;
    table(value)
}

/// The config as the SDK decoded it (`null` when the user gave none), checked to be a table.
pub fn table(value: Value) -> Result<Value, PluginError> {
    match value {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(value),
        _ => Err(PluginError::not_configured("the plugin config must be a table")),
    }
}

/// A string setting: the config's non-empty value, else the non-empty environment variable `env`.
pub fn string_or_env(config: &Value, key: &str, env: Option<&str>) -> Option<String> {
    let from_config =
        config.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    from_config.or_else(|| {
        env.and_then(|name| std::env::var(name).ok()).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    })
}

/// A non-empty, trimmed string setting.
pub fn text(config: &Value, key: &str) -> Option<String> {
    string_or_env(config, key, None)
}

/// Client options for a server on the user's own machine or network: it either answers at once
/// or is not running (connect timeout 5 s), and endpoints that answer only when the whole text is
/// generated need a long read timeout (300 s). The config's own values win.
pub fn local_server_client_options(config: &Value) -> Result<ClientOptions, PluginError> {
    let mut client = client_options(config)?;
    if config.get("connect_timeout").is_none() {
        client.connect_timeout = Duration::from_secs(5);
    }
    if config.get("read_timeout").is_none() {
        client.read_timeout = Duration::from_secs(300);
    }
    Ok(client)
}

/// Client options from `connect_timeout`, `read_timeout` (seconds, > 0) and `max_retries`.
pub fn client_options(config: &Value) -> Result<ClientOptions, PluginError> {
    let mut options = ClientOptions::default();
    let seconds = |key: &str| -> Result<Option<Duration>, PluginError> {
        match config.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(s) if s > 0.0 && s.is_finite() => Ok(Some(Duration::from_secs_f64(s))),
                _ => Err(PluginError::not_configured(format!("{key} must be a number of seconds above 0, got {v}"))),
            },
        }
    };
    if let Some(d) = seconds("connect_timeout")? {
        options.connect_timeout = d;
    }
    if let Some(d) = seconds("read_timeout")? {
        options.read_timeout = d;
    }
    if let Some(v) = config.get("max_retries") {
        options.retry.max_retries =
            v.as_u64().filter(|n| *n <= 10).ok_or_else(|| {
                PluginError::not_configured(format!("max_retries must be a whole number 0..=10, got {v}"))
            })? as u32;
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_config() {
        let c = parse(r#"{"connect_timeout": 2, "read_timeout": 0.5, "max_retries": 0, "data_dir": "/x"}"#).unwrap();
        let o = client_options(&c).unwrap();
        assert_eq!(o.connect_timeout, Duration::from_secs(2));
        assert_eq!(o.read_timeout, Duration::from_millis(500));
        assert_eq!(o.retry.max_retries, 0);
        assert!(client_options(&parse(r#"{"read_timeout": -1}"#).unwrap()).is_err());
        assert!(parse("[1]").is_err());
    }

    #[test]
    fn config_beats_env() {
        let c = parse(r#"{"api_key": "from-config", "empty": " "}"#).unwrap();
        assert_eq!(string_or_env(&c, "api_key", Some("PATH")).as_deref(), Some("from-config"));
        // An empty config value falls back to the environment.
        assert_eq!(string_or_env(&c, "empty", Some("PATH")), std::env::var("PATH").ok());
        assert_eq!(string_or_env(&c, "missing", None), None);
    }
}
