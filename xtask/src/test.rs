//! `cargo xtask test`: install what the full tier needs, build every crate (plugins, fixtures, the
//! binary), then run the workspace's tests in two tiers:
//!
//! 1. **Hermetic** — what plain `cargo test` runs, here isolated as the tier promises: a network
//!    namespace with only loopback, `HOME` and `TMPDIR` pointed at empty temporary folders, no
//!    `CHORUS_*`/`XDG_*` variables. Afterwards both folders must be empty again: a test that wrote
//!    to the user's data or config, or left a temporary folder behind, fails the run by name.
//! 2. **Full** — the tests plain `cargo test` skips (`#[ignore]`d: they need the Kokoro model, the
//!    Whisper judge or Python's `openai` client).
//!
//! The full tier's files live under `<target>`: the Kokoro assets in `<target>/test-env/data` and
//! the Python environment in `<target>/test-env`. The user's data folder is only read, as a cache
//! of downloaded wheels when it has one.

use crate::{cargo, dist::target_dir, root, setup, sh};
use anyhow::{Context, Result, bail};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

pub fn run(args: &[String]) -> Result<()> {
    crate::deps::ensure()?;
    let data = target_dir().join("test-env/data");
    let user_cache = setup::data_dir().join("cache/wheels");
    setup::run(&setup::SetupArgs {
        data_dir: Some(data.clone()),
        cache_dir: user_cache.is_dir().then_some(user_cache),
        ..Default::default()
    })?;
    let python = crate::pyenv::ensure_test_python()?;
    // SAFETY: single-threaded at this point; children inherit the variable.
    unsafe { std::env::set_var("CHORUS_TEST_PYTHON", &python) };
    sh(&cargo(), &["build", "--workspace"])?;
    // kokoro-torch's tests find libtorch, the converted model and the plugin here, so no test
    // downloads anything.
    crate::torch::ensure(&data, false)?;
    crate::torch::build_plugin(&data, false)?;
    // SAFETY: as above. Tells the tests' support code that every plugin and binary is built.
    unsafe { std::env::set_var("CHORUS_TESTS_PREBUILT", "1") };
    let hermetic = hermetic(args);
    println!("xtask: the full tier (tests that need the model, the judge or Python)");
    let full = sh(&cargo(), &as_strs(&test_command(args, &["--ignored"])));
    match (hermetic, full) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(e), Ok(())) => Err(e.context("the hermetic tier failed (the full tier passed)")),
        (Ok(()), Err(e)) => Err(e.context("the full tier failed (the hermetic tier passed)")),
        (Err(h), Err(f)) => bail!("both tiers failed: hermetic: {h:#}; full: {f:#}"),
    }
}

/// `cargo xtask hermetic [ARGS]`: run plain `cargo test --workspace` isolated (tier 1 above).
pub fn hermetic(args: &[String]) -> Result<()> {
    // The tier runs offline: every crate it compiles, dev-dependencies included (which `cargo
    // build` never fetches), must be downloaded first.
    sh(&cargo(), &["fetch"]).context("downloading the crates the tests need, before going offline")?;
    let scratch = tempfile::Builder::new().prefix("chorus-hermetic-").tempdir().context("temporary folder")?;
    let (home, tmp) = (scratch.path().join("home"), scratch.path().join("tmp"));
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(&tmp)?;
    let user_home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let keep = |var: &str, default: &str| std::env::var_os(var).unwrap_or_else(|| user_home.join(default).into());

    let test = test_command(args, &[]);
    let mut cmd = match loopback_only() {
        Ok(()) => {
            println!("xtask: the hermetic tier: loopback-only network, HOME={}", home.display());
            let mut cmd = Command::new("unshare");
            cmd.args([namespaces(), "sh", "-c", "ip link set lo up && exec \"$@\"", "sh", &cargo()]);
            cmd
        }
        Err(why) => {
            println!("xtask: the hermetic tier: HOME={} (no network isolation here: {why})", home.display());
            Command::new(cargo())
        }
    };
    cmd.args(&test).current_dir(root());
    for (var, _) in std::env::vars_os() {
        let name = var.to_string_lossy();
        if name.starts_with("CHORUS_") && name != "CHORUS_TESTS_PREBUILT" || name.starts_with("XDG_") {
            cmd.env_remove(&var);
        }
    }
    cmd.env("CARGO_HOME", keep("CARGO_HOME", ".cargo"))
        .env("RUSTUP_HOME", keep("RUSTUP_HOME", ".rustup"))
        .env("HOME", &home)
        .env("TMPDIR", &tmp)
        .env("CARGO_NET_OFFLINE", "true");
    let status = cmd.status().context("cannot run cargo test")?;
    let left = leftovers(&[&home, &tmp]);
    if !status.success() {
        bail!("`cargo {}` failed ({status})", test.join(" "));
    }
    if !left.is_empty() {
        bail!("the hermetic tier wrote outside its temporary folders or left them behind: {}", left.join(", "));
    }
    Ok(())
}

/// `unshare`'s flags for a network namespace: root makes one directly (its users stay as they
/// are, so tests can still run a command as `nobody`); anyone else inside a user namespace of their
/// own (`-r`), where they appear as root.
fn namespaces() -> &'static str {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root =
        status.lines().any(|l| l.strip_prefix("Uid:").is_some_and(|ids| ids.split_whitespace().nth(1) == Some("0")));
    if root { "-n" } else { "-rn" }
}

/// Whether a loopback-only network namespace can be made here (`unshare`, then `ip`).
fn loopback_only() -> Result<(), String> {
    let out = Command::new("unshare")
        .args([namespaces(), "ip", "link", "set", "lo", "up"])
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_string()) }
}

/// What is left inside `dirs`: up to 20 files and empty folders, so the message names what a test
/// wrote (`.tmpAbC/usage.sqlite3`), not only the folder it wrote into.
fn leftovers(dirs: &[&Path]) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let before = out.len();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&path, out);
            }
            if out.len() == before && out.len() < 20 {
                out.push(path.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    dirs.iter().for_each(|d| walk(d, &mut out));
    out
}

/// `cargo test --workspace --no-fail-fast [cargo args] -- [extra] [test args]`, where the caller's
/// arguments after `--` go to the test binaries.
fn test_command(args: &[String], extra: &[&str]) -> Vec<String> {
    let split = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let (cargo_args, rest) = args.split_at(split);
    let mut out: Vec<String> = ["test", "--workspace", "--no-fail-fast"].map(String::from).to_vec();
    out.extend(cargo_args.iter().cloned());
    out.push("--".into());
    out.extend(extra.iter().map(|s| s.to_string()));
    out.extend(rest.iter().skip(1).cloned());
    out
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::test_command;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_callers_arguments_keep_their_side_of_the_dashes() {
        let base = ["test", "--workspace", "--no-fail-fast"];
        assert_eq!(test_command(&[], &["--ignored"]), strings(&[&base[..], &["--", "--ignored"]].concat()));
        assert_eq!(
            test_command(&strings(&["-p", "chorus-tests", "--", "judge"]), &[]),
            strings(&[&base[..], &["-p", "chorus-tests", "--", "judge"]].concat())
        );
    }
}
