//! Loading one plugin file: open it through its own library header, check layout, API version
//! and model-name patterns.

use abi_stable::library::{LibraryError, lib_header_from_path};
use chorus_plugin_api::{API_VERSION, Capabilities, PluginModuleRef};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Mutex, OnceLock},
};

/// A plugin's manifest in host-side types.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub patterns: Vec<String>,
    pub description: String,
    pub license: String,
    pub capabilities: Capabilities,
}

/// A plugin library that passed every check.
#[derive(Clone)]
pub struct LoadedPlugin {
    pub path: PathBuf,
    pub module: PluginModuleRef,
    pub info: PluginInfo,
}

/// A file that is not a usable plugin, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub file: PathBuf,
    pub reason: String,
}

/// A plugin its packager could not build here, from a `NAME.absent` note in a plugin folder.
#[derive(Debug, Clone)]
pub struct Absent {
    /// The plugin's name: the note's file name without `.absent`.
    pub name: String,
    pub file: PathBuf,
    /// The note's text, whitespace folded: why it is missing and how to build it.
    pub reason: String,
}

/// Modules already initialised, by canonical path: a library is never unloaded, and loading the
/// same file twice must give the same module.
fn cache() -> &'static Mutex<HashMap<PathBuf, Result<PluginModuleRef, String>>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Result<PluginModuleRef, String>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Load and check the plugin at `path`; the error is a one-line reason for listings.
pub fn load(path: &Path) -> Result<LoadedPlugin, String> {
    let key = path.canonicalize().map_err(|e| format!("cannot open: {e}"))?;
    let module = {
        let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
        cache.entry(key).or_insert_with_key(|key| open(key)).clone()?
    };
    let manifest = (module.manifest())();
    let info = PluginInfo {
        name: manifest.name.into(),
        version: manifest.version.into(),
        api_version: manifest.api_version.into(),
        patterns: manifest.patterns.into_iter().map(Into::into).collect(),
        description: manifest.description.into(),
        license: manifest.license.into(),
        capabilities: manifest.capabilities,
    };
    check_api_version(&info.api_version)?;
    if info.name.is_empty() {
        return Err("the plugin declares no name".into());
    }
    if info.patterns.is_empty() {
        return Err(format!("plugin '{}' declares no model-name patterns", info.name));
    }
    for pattern in &info.patterns {
        crate::registry::Pattern::new(pattern)
            .map_err(|e| format!("plugin '{}' declares an invalid model-name pattern: {e}", info.name))?;
    }
    Ok(LoadedPlugin { path: path.to_path_buf(), module, info })
}

fn open(path: &Path) -> Result<PluginModuleRef, String> {
    let header = lib_header_from_path(path).map_err(|e| describe(&e))?;
    header.init_root_module::<PluginModuleRef>().map_err(|e| describe(&e))
}

/// The plugin's API version must be compatible with this host's [`API_VERSION`].
pub fn check_api_version(plugin: &str) -> Result<(), String> {
    api_compatible(API_VERSION, plugin)
}

/// The rule: below 1.0 the same minor version (`0.2.0` loads `0.2.7`, not `0.1.x` or `0.3.x`),
/// from 1.0 the same major (`1.0.0` loads `1.4.2`, not `2.x`); the patch never matters.
pub fn api_compatible(host: &str, plugin: &str) -> Result<(), String> {
    let host = semver::Version::parse(host).map_err(|e| format!("host API version '{host}': {e}"))?;
    let theirs = semver::Version::parse(plugin.trim()).map_err(|e| {
        format!("plugin API version '{plugin}' is not a semver version ({e}); this host speaks plugin API {host}")
    })?;
    let same = |v: &semver::Version| if v.major == 0 { (0, v.minor) } else { (v.major, 0) };
    if same(&host) == same(&theirs) {
        return Ok(());
    }
    let series = if host.major == 0 { format!("{}.{}", host.major, host.minor) } else { host.major.to_string() };
    Err(format!(
        "built for plugin API {theirs}, but this host speaks plugin API {host} (it loads {series}.x); \
         rebuild the plugin against chorus-plugin-api {series}"
    ))
}

/// One line out of abi_stable's (often very long) errors.
fn describe(error: &LibraryError) -> String {
    match error {
        // abi_stable's own text puts the reason on its fourth line; the loader's (dlerror's)
        // reason is the whole story: wrong ELF class, undefined symbol, missing dependency.
        LibraryError::OpenError { path, err } => {
            format!("not a loadable library: {}", loader_reason(path, &err.to_string()))
        }
        LibraryError::GetSymbolError { .. } => "not a chorus plugin (it exports no abi_stable root module)".into(),
        LibraryError::AbiInstability(_) => {
            "the plugin's contract types differ in layout from this host's (built against an incompatible chorus-plugin-api)".into()
        }
        // abi_stable's own check: a plugin built against an older 0.x API than the host's.
        LibraryError::IncompatibleVersionNumber { actual_version, .. } => {
            api_compatible(API_VERSION, &actual_version.to_string()).err().unwrap_or_else(|| first_line(&error.to_string()))
        }
        LibraryError::InvalidAbiHeader(_) => {
            format!("incompatible plugin contract version: {}", first_line(&error.to_string()))
        }
        other => first_line(&other.to_string()),
    }
}

/// The dynamic loader's message on one line, without the file name it starts with (the listing
/// names the file already).
fn loader_reason(path: &Path, message: &str) -> String {
    let line = message.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    let prefix = format!("{}: ", path.display());
    match line.strip_prefix(&prefix) {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ if line.is_empty() => "unknown error".into(),
        _ => line,
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("unknown error");
    line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_load_by_minor_below_one_and_by_major_from_one() {
        for (host, plugin, loads) in [
            ("0.2.0", "0.2.0", true),
            ("0.2.0", "0.2.9", true),
            ("0.2.5", "0.2.0", true),
            ("0.2.0", "0.1.0", false),
            ("0.2.0", "0.3.0", false),
            ("0.2.0", "1.2.0", false),
            ("1.0.0", "1.4.2", true),
            ("1.4.2", "1.0.0", true),
            ("1.0.0", "2.0.0", false),
            ("1.0.0", "0.1.0", false),
            ("0.0.1", "0.0.2", true),
        ] {
            let result = api_compatible(host, plugin);
            assert_eq!(result.is_ok(), loads, "host {host}, plugin {plugin}: {result:?}");
            if let Err(reason) = result {
                assert!(reason.contains(plugin) && reason.contains(host), "{reason}");
            }
        }
        assert!(check_api_version(API_VERSION).is_ok());
        let err = api_compatible("0.2.0", "banana").unwrap_err();
        assert!(err.contains("banana") && err.contains("not a semver version"), "{err}");
    }
}
