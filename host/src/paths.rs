//! Where things are: the config file, plugin folders and the data folder, by documented precedence.

use std::path::{Path, PathBuf};

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn home() -> Option<PathBuf> {
    env_path("HOME")
}

/// `--config FILE`, else `CHORUS_CONFIG`, else `$XDG_CONFIG_HOME/chorus/config.toml`
/// (`~/.config/chorus/config.toml` when XDG_CONFIG_HOME is unset).
pub fn config_file(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| env_path("CHORUS_CONFIG")).or_else(|| {
        env_path("XDG_CONFIG_HOME").or_else(|| home().map(|h| h.join(".config"))).map(|d| d.join("chorus/config.toml"))
    })
}

/// `--plugins DIR...`, else `CHORUS_PLUGIN_PATH` (colon-separated), else `plugin_dirs` from the
/// config, else the `plugins/` folder beside the running binary.
pub fn plugin_dirs(flags: &[PathBuf], configured: &[PathBuf]) -> Vec<PathBuf> {
    if !flags.is_empty() {
        return flags.to_vec();
    }
    if let Some(var) = std::env::var_os("CHORUS_PLUGIN_PATH").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&var).filter(|p| !p.as_os_str().is_empty()).collect();
    }
    if !configured.is_empty() {
        return configured.to_vec();
    }
    std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join("plugins"))).into_iter().collect()
}

/// The configured data folder, else `CHORUS_DATA_DIR`, else `$XDG_DATA_HOME/chorus`
/// (`~/.local/share/chorus` when XDG_DATA_HOME is unset).
pub fn data_dir(configured: Option<&Path>) -> PathBuf {
    configured
        .map(Path::to_path_buf)
        .or_else(|| env_path("CHORUS_DATA_DIR"))
        .or_else(|| env_path("XDG_DATA_HOME").map(|d| d.join("chorus")))
        .or_else(|| home().map(|h| h.join(".local/share/chorus")))
        .unwrap_or_else(|| PathBuf::from("chorus-data"))
}
