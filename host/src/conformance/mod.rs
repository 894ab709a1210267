//! Conformance: load a plugin file exactly as the host does and check that it keeps the contract
//! (`chorus plugin check`, and the `chorus-plugin-test` crate for plugin authors' own tests).
//!
//! The checks, by name: `load`, `manifest`, `backend`, `voices`, `texts` (short, long,
//! punctuation only, emoji only, 100 kB), `audio`, `progress`, `words`, `stop`, `panic`,
//! `concurrent`, `unknown_voice`, `bad_speed`. Each passes, fails with the reason, or is skipped
//! with the reason (a capability the plugin does not declare, an earlier failure).

mod checks;
mod inputs;
mod record;
mod report;
mod suite;

pub use report::{CheckResult, Report, Status, heading};
pub use suite::NAMES;

use crate::Config;
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// What to check a plugin with.
#[derive(Debug, Clone)]
pub struct Options {
    /// The host config: the plugin's backend is created from its `[backends.NAME]` table.
    pub config: Config,
    /// The data folder passed to the backend (default: the host's, by its precedence).
    pub data_dir: Option<PathBuf>,
    /// The model name requests use (default: the first model the backend lists that its
    /// patterns match, else its first pattern).
    pub model: Option<String>,
    /// How long one request may take before it fails its check.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { config: Config::default(), data_dir: None, model: None, timeout: Duration::from_secs(120) }
    }
}

impl Options {
    /// Options with `toml` as the host config (e.g. `"[backends.mine]\nkey = 1"`).
    pub fn with_config_toml(toml: &str) -> Result<Self, String> {
        Ok(Self { config: Config::parse(toml)?, ..Self::default() })
    }
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }
}

/// Check the plugin library at `path`.
pub fn check(path: &Path, options: &Options) -> Report {
    check_with(path, options, |_| {})
}

/// Check the plugin library at `path`, calling `each` with every check as it finishes.
pub fn check_with(path: &Path, options: &Options, each: impl FnMut(&CheckResult)) -> Report {
    suite::run(path, options, each)
}
