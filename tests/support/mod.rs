//! Test helpers: build and locate the real plugin cdylibs and the `chorus` binary, lay out plugin
//! folders, run the CLI. Tests read like specs on top of these.

pub mod audio;
pub mod fixtures;
pub mod kokoro;
pub mod server;

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::{Mutex, OnceLock},
};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The folder cargo writes to (`$CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    if target.is_absolute() { target } else { root().join(target) }
}

/// The folder cargo writes debug artifacts to.
pub fn artifacts() -> PathBuf {
    target_dir().join("debug")
}

/// Build `packages` (once per process; a no-op when `cargo xtask test` built them already).
pub fn build(packages: &[&str]) {
    // `cargo xtask test` builds the whole workspace first and says so; building single packages
    // again here would only re-resolve features and relink.
    if std::env::var_os("CHORUS_TESTS_PREBUILT").is_some() {
        return;
    }
    static BUILT: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !built.contains(*p)).collect();
    if missing.is_empty() {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root()).arg("build").arg("--quiet");
    for p in &missing {
        cmd.args(["-p", p]);
    }
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "cargo build -p {} failed", missing.join(" -p "));
    built.extend(missing.iter().map(|p| p.to_string()));
}

/// The file name of library `lib_name` (`chorus_plugin_example`) on this platform.
pub fn library_file(lib_name: &str) -> String {
    format!("{}{lib_name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// The built cdylib of crate `lib_name` (underscored), building its package first.
pub fn plugin_library(lib_name: &str) -> PathBuf {
    build(&[&lib_name.replace('_', "-")]);
    let path = artifacts().join(library_file(lib_name));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A fresh folder holding copies of the named plugin libraries (`chorus_plugin_example`, ...).
pub fn plugin_dir(lib_names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in lib_names {
        add_plugin(dir.path(), name);
    }
    dir
}

/// Copy plugin library `lib_name` into `dir`.
pub fn add_plugin(dir: &Path, lib_name: &str) {
    let from = plugin_library(lib_name);
    std::fs::copy(&from, dir.join(library_file(lib_name))).expect("copy plugin");
}

/// The `chorus` binary, built first.
pub fn chorus_bin() -> PathBuf {
    build(&["chorus-host"]);
    artifacts().join(format!("chorus{}", std::env::consts::EXE_SUFFIX))
}

/// A library host over the plugins in `plugins`, with its data folder (usage ledger, caches) in a
/// fresh temporary folder that lives as long as the host.
pub fn library(plugins: &Path, mut config: chorus_host::Config) -> Library {
    let data = tempfile::tempdir().expect("temp dir");
    config.data_dir = Some(data.path().to_path_buf());
    Library { chorus: chorus_host::Chorus::with_config(config, &[plugins.to_path_buf()]), _data: data }
}

/// A [`chorus_host::Chorus`] and the temporary data folder it writes to.
pub struct Library {
    pub chorus: chorus_host::Chorus,
    _data: tempfile::TempDir,
}

impl std::ops::Deref for Library {
    type Target = chorus_host::Chorus;
    fn deref(&self) -> &chorus_host::Chorus {
        &self.chorus
    }
}

impl std::ops::DerefMut for Library {
    fn deref_mut(&mut self) -> &mut chorus_host::Chorus {
        &mut self.chorus
    }
}

/// A `chorus` command isolated from the user's config and data: `--plugins DIR`, an empty
/// config home and a data dir inside `home`.
pub fn chorus(plugins: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(chorus_bin());
    cmd.arg("--plugins")
        .arg(plugins)
        .env_remove("CHORUS_PLUGIN_PATH")
        .env_remove("CHORUS_CONFIG")
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("CHORUS_DATA_DIR", home.join("data"));
    cmd
}

/// Run a command, returning its output.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("command runs")
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether this process runs as root, from /proc.
pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().any(|l| l.strip_prefix("Uid:").is_some_and(|ids| ids.split_whitespace().next() == Some("0")))
}

/// The user a command must run as for file modes to bind: `Some(None)` when they bind already
/// (not root), `Some(Some(65534))` (`nobody`) for root, whom they do not bind, and `None` when
/// they cannot be made to: root inside a user namespace that maps no other user (`unshare -r`,
/// as `cargo xtask test` isolates an ordinary user's run).
pub fn unprivileged_uid() -> Option<Option<u32>> {
    const NOBODY: u32 = 65_534;
    if !is_root() {
        return Some(None);
    }
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let mapped = map.lines().any(|l| {
        let n: Vec<u64> = l.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        n.len() == 3 && (n[0]..n[0] + n[2]).contains(&u64::from(NOBODY))
    });
    mapped.then_some(Some(NOBODY))
}

/// Set the permission bits of `path`.
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Threads of this process, from /proc.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

/// Resident memory of this process in KiB, from /proc.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
