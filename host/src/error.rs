//! The host's error type: every failure a user can see, with a message that says what to do.

use chorus_plugin_api::ErrorKind;
use std::path::PathBuf;

#[derive(thiserror::Error, Debug)]
pub enum Error {
    #[error("no plugin serves model '{model}'; known models: {known}")]
    UnknownModel { model: String, known: String },
    #[error("text is empty: give something to say")]
    EmptyText,
    #[error("text is {len} characters, over the limit of {max} (set max_input_chars in the config to raise it)")]
    TextTooLong { len: usize, max: usize },
    #[error("config file {path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("plugin '{plugin}' could not create its backend: {message}")]
    BackendInit { plugin: String, kind: ErrorKind, message: String },
    #[error("{}", prefixed(plugin, message))]
    Backend { plugin: String, kind: ErrorKind, message: String },
    #[error("the synthesis thread could not start: {0}")]
    Spawn(std::io::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The plugin error kind behind this error, for mapping to statuses; `None` for host errors.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::BackendInit { kind, .. } | Error::Backend { kind, .. } => Some(*kind),
            Error::EmptyText | Error::TextTooLong { .. } => Some(ErrorKind::BAD_REQUEST),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `plugin: message`, unless the plugin already named itself ("kokoro: kokoro: ..." otherwise).
fn prefixed(plugin: &str, message: &str) -> String {
    match message.strip_prefix(plugin) {
        Some(rest) if rest.starts_with(':') => message.to_string(),
        _ => format!("{plugin}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_error_names_its_plugin_once() {
        let e = |message: &str| Error::Backend {
            plugin: "kokoro".into(),
            kind: ErrorKind::BAD_REQUEST,
            message: message.into(),
        };
        assert_eq!(e("kokoro: nothing to speak").to_string(), "kokoro: nothing to speak");
        assert_eq!(e("nothing to speak").to_string(), "kokoro: nothing to speak");
        assert_eq!(e("kokoros are birds").to_string(), "kokoro: kokoros are birds");
    }
}
