//! `cargo xtask dist`: the host and every plugin in release, staged in target/dist with the assets
//! the plugins need, so `target/dist/chorus` works with no flags.

use crate::{cargo, root, setup, sh};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Plugin crates: every `plugins/*` crate whose manifest builds a cdylib, as (package, library name).
pub fn plugin_crates() -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("plugins"))? {
        let manifest = entry?.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        // kokoro-torch is its own workspace (it needs libtorch): built apart, below.
        if !text.contains("cdylib") || text.contains("\n[workspace]") {
            continue;
        }
        let name = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("name = \"").and_then(|r| r.strip_suffix('"')))
            .with_context(|| format!("no package name in {}", manifest.display()))?;
        out.push((name.to_string(), name.replace('-', "_")));
    }
    out.sort();
    Ok(out)
}

pub fn run(args: &[String]) -> Result<()> {
    crate::deps::ensure()?;
    let plugins = plugin_crates()?;
    let mut build = vec!["build", "--release", "-p", "chorus-host"];
    for (package, _) in &plugins {
        build.extend(["-p", package.as_str()]);
    }
    sh(&cargo(), &build)?;
    let release = target_dir().join("release");
    let dist = target_dir().join("dist");
    let plugin_dir = dist.join("plugins");
    std::fs::create_dir_all(&plugin_dir)?;
    copy(&release.join("chorus"), &dist.join("chorus"))?;
    for (_, lib) in &plugins {
        let file = format!("lib{lib}.so");
        copy(&release.join(&file), &plugin_dir.join(&file))?;
    }
    if !args.iter().any(|a| a == "--no-setup") {
        setup::run(&setup::SetupArgs::default())?;
    }
    let torch = crate::torch::PLUGIN_LIB;
    let torch_file = plugin_dir.join(format!("lib{torch}.so"));
    // Where it is not built, a note in its place: `chorus plugins` shows it, and so does the error
    // for a `kokoro-torch` model.
    let torch_note = plugin_dir.join("kokoro-torch.absent");
    if crate::torch::libtorch(&setup::data_dir()).is_some() {
        let built = crate::torch::build_plugin(&setup::data_dir(), true)?;
        copy(&built, &torch_file)?;
        let _ = std::fs::remove_file(&torch_note);
        eprintln!("xtask: staged the kokoro-torch plugin (libtorch from `cargo xtask torch`)");
    } else {
        let _ = std::fs::remove_file(&torch_file);
        let why = "libtorch is not installed: `cargo xtask torch` installs it (about 2.6 GB to download, \
                   4.2 GB on disk), then `cargo xtask dist` builds this plugin";
        std::fs::write(&torch_note, format!("{why}\n")).with_context(|| format!("write {}", torch_note.display()))?;
        eprintln!("xtask: kokoro-torch not built: {why}");
    }
    eprintln!(
        "xtask: staged {} and {} plugins in {}",
        dist.join("chorus").display(),
        plugins.len(),
        plugin_dir.display()
    );
    Ok(())
}

fn copy(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    // Replace rather than overwrite in place: a running chorus may have the old file mapped.
    let _ = std::fs::remove_file(to);
    std::fs::copy(from, to).with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// cargo's target folder.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}
