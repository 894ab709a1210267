//! `cargo xtask derive` (and `cargo xtask bench --derived`): a model derived from the installed
//! int8 Kokoro model, written beside it as `<data>/kokoro/kokoro-v1.0.derived.onnx`.
//!
//! The rewrite (derive.py, run in the tests' Python environment with the `onnx` package) turns every
//! dynamically quantized convolution (ConvInteger, about half of the inference time) into a float
//! convolution on the dequantized weights, keeping the activations' quantization so the sums stay
//! close to the int8 graph's. Measured here it is slower than the int8 model (AVX2 int8 kernels
//! beat float ones) and its audio is about 20 dB SNR from the original's, so chorus does not use
//! it; it stays as the reproducible record of that experiment (docs/BENCHMARKS.md). A stamp beside
//! the file records the source and script it was made from, so either changing remakes it.

use crate::{bench::ensure_pip, pyenv, setup};
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The derived model, relative to the data folder (the plugin looks for the same name).
pub const DERIVED: &str = "kokoro/kokoro-v1.0.derived.onnx";
/// The model it is derived from, relative to the data folder.
pub const SOURCE: &str = "kokoro/kokoro-v1.0.int8.onnx";
const SCRIPT: &str = include_str!("derive.py");

pub fn run(args: &[String]) -> Result<()> {
    let force = match args {
        [] => false,
        [f] if f == "--force" => true,
        _ => bail!("usage: cargo xtask derive [--force]"),
    };
    setup::run(&setup::SetupArgs::default())?;
    let path = ensure(&setup::data_dir(), force)?;
    println!("derive: {} is ready", path.display());
    Ok(())
}

/// Make the derived model unless an up-to-date one is there; its path.
pub fn ensure(data: &Path, force: bool) -> Result<PathBuf> {
    let source = data.join(SOURCE);
    let dest = data.join(DERIVED);
    let stamp = dest.with_extension("onnx.stamp");
    let want = format!("{} {}", digest(SCRIPT.as_bytes()), file_stamp(&source)?);
    if !force && dest.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == want) {
        return Ok(dest);
    }
    let python = pyenv::ensure_test_python()?;
    ensure_pip(&python, &["onnx"])?;
    let script = std::env::temp_dir().join(format!("chorus-derive-{}.py", std::process::id()));
    std::fs::write(&script, SCRIPT)?;
    eprintln!("xtask: deriving {} from {}", dest.display(), source.display());
    let status = std::process::Command::new(&python).arg(&script).arg(&source).arg(&dest).status();
    let _ = std::fs::remove_file(&script);
    if !status.context("run derive.py")?.success() {
        let _ = std::fs::remove_file(&dest);
        bail!("deriving the model failed (see above); chorus keeps using {}", source.display());
    }
    std::fs::write(&stamp, want)?;
    Ok(dest)
}

fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The source model's identity: its size and modification time (hashing 90 MB each run is slow).
fn file_stamp(path: &Path) -> Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{} is missing: run `cargo xtask setup`", path.display()))?;
    let modified = meta.modified()?.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Ok(format!("{}-{modified}", meta.len()))
}
