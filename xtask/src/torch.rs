//! `cargo xtask torch`: Kokoro for PyTorch, converted from the installed int8 ONNX model into
//! `<data>/kokoro-torch/{front,decoder}.pt` (TorchScript, float weights) by `torch/convert.py`.
//!
//! The converter runs in its own environment, `<data>/kokoro-torch/venv`: PyTorch 2.13.0 (the
//! version the `tch` 0.26 crate binds), the `kokoro` package's model code (KModel, without its
//! G2P dependencies), transformers (ALBERT) and `onnx` (to read the model). PyTorch's wheel on the
//! package index is built for CUDA and does not import without its CUDA runtime wheels, so they
//! are installed too (about 2.6 GB downloaded: torch 0.53 GB, the CUDA wheels 2.0 GB; 4.2 GB on disk).
//!
//! Idempotent: a stamp records the script, the source model, the vocabulary and the package list
//! the outputs were made from, and `SHA256SUMS` their checksums; anything missing, changed or
//! corrupt makes it convert again (about a minute).

use crate::setup;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The converted model's folder, relative to the data folder.
pub const DIR: &str = "kokoro-torch";
/// The TorchScript halves the converter writes.
pub const OUTPUTS: [&str; 2] = ["front.pt", "decoder.pt"];
const SOURCE: &str = "kokoro/kokoro-v1.0.int8.onnx";
const VOCAB: &str = "kokoro/vocab.json";
const SCRIPT: &str = include_str!("torch/convert.py");

/// Installed without their declared dependencies: torch's would pull Triton and the CUDA
/// compiler tools, kokoro's the misaki G2P stack; what they need is in [`PACKAGES`].
const NO_DEPS: &[&str] = &["torch==2.13.0", "kokoro==0.9.4"];
/// What `import torch` and KModel's modules load, pinned.
const PACKAGES: &[&str] = &[
    "filelock==4.3.1",
    "typing-extensions==4.16.0",
    "sympy==1.14.0",
    "networkx==3.6.1",
    "jinja2==3.1.6",
    "fsspec==2026.9.0",
    "numpy==2.4.6",
    "cuda-toolkit[cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.0.3",
    "nvidia-cudnn-cu13==9.20.0.48",
    "nvidia-cusparselt-cu13==0.8.1",
    "nvidia-nccl-cu13==2.29.7",
    "nvidia-nvshmem-cu13==3.4.5",
    "transformers==4.57.1",
    "loguru==0.7.3",
    "attrs==26.1.0",
    "onnx==1.23.2",
];

/// The plugin crate: its own workspace, so the main one never needs libtorch.
pub const PLUGIN_MANIFEST: &str = "plugins/kokoro-torch/Cargo.toml";
/// The plugin's library name.
pub const PLUGIN_LIB: &str = "chorus_plugin_kokoro_torch";

pub fn run(args: &[String]) -> Result<()> {
    let force = args.iter().any(|a| a == "--force");
    let plugin = args.iter().any(|a| a == "--plugin");
    let rest: Vec<String> = args.iter().filter(|a| *a != "--force" && *a != "--plugin").cloned().collect();
    let setup_args =
        setup::SetupArgs::parse(&rest).context("usage: cargo xtask torch [--force] [--plugin] [--data-dir DIR]")?;
    setup::run(&setup_args)?;
    let data = setup_args.data_dir.clone().unwrap_or_else(setup::data_dir);
    let dir = ensure(&data, force)?;
    println!("torch: {} is ready", dir.display());
    if plugin {
        build_plugin(&data, false)?;
        println!("torch: built the kokoro-torch plugin (debug)");
    }
    Ok(())
}

/// libtorch inside the converter's environment (the torch package folder, holding `lib/` and
/// `include/`), when `cargo xtask torch` installed it.
pub fn libtorch(data: &Path) -> Option<PathBuf> {
    let lib = data.join(DIR).join("venv/lib");
    std::fs::read_dir(lib)
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages/torch"))
        .find(|t| t.join("lib/libtorch_cpu.so").is_file() && t.join("include/torch").is_dir())
}

/// Build the kokoro-torch cdylib against the environment's libtorch (debug, or release) in its
/// own folder `<target>/kokoro-torch` (its own workspace: no lock or feature churn with the main
/// one), and copy it beside the main workspace's plugins in `<target>/debug` or `<target>/release`;
/// that copy's path.
pub fn build_plugin(data: &Path, release: bool) -> Result<PathBuf> {
    let Some(libtorch) = libtorch(data) else {
        bail!("libtorch is not installed in {}: run `cargo xtask torch` first", data.join(DIR).display());
    };
    let target = crate::dist::target_dir();
    let own = target.join("kokoro-torch");
    let mut cargo = Command::new(crate::cargo());
    cargo
        .current_dir(crate::root())
        .args(["build", "--manifest-path", PLUGIN_MANIFEST, "--target-dir"])
        .arg(&own)
        .env("LIBTORCH", &libtorch);
    if release {
        cargo.arg("--release");
    }
    if !cargo.status().is_ok_and(|s| s.success()) {
        bail!("building the kokoro-torch plugin against {} failed (see above)", libtorch.display());
    }
    let profile = if release { "release" } else { "debug" };
    let file = format!("lib{PLUGIN_LIB}.so");
    let dest = target.join(profile).join(&file);
    std::fs::create_dir_all(target.join(profile))?;
    let _ = std::fs::remove_file(&dest);
    std::fs::copy(own.join(profile).join(&file), &dest)
        .with_context(|| format!("copy {file} to {}", dest.display()))?;
    Ok(dest)
}

/// The converter's Python, `<data>/kokoro-torch/venv/bin/python`, built once.
pub fn ensure_python(data: &Path) -> Result<PathBuf> {
    let venv = data.join(DIR).join("venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("chorus-packages.txt");
    let want = [NO_DEPS, PACKAGES].concat().join("\n") + "\n";
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(python);
    }
    eprintln!("xtask: building the converter's environment in {} (about 2.6 GB to download)", venv.display());
    if !python.exists() {
        std::fs::create_dir_all(data.join(DIR))?;
        let status = Command::new("python3").arg("-m").arg("venv").arg(&venv).status();
        if !status.is_ok_and(|s| s.success()) {
            let _ = std::fs::remove_dir_all(&venv);
            bail!("`python3 -m venv {}` failed: install Python 3 with venv (Debian: python3-venv)", venv.display());
        }
    }
    for (packages, no_deps) in [(NO_DEPS, true), (PACKAGES, false)] {
        let mut pip = Command::new(&python);
        pip.args(["-m", "pip", "install", "-q", "--no-cache-dir"]);
        if no_deps {
            pip.arg("--no-deps");
        }
        if !pip.args(packages).status().is_ok_and(|s| s.success()) {
            bail!(
                "`pip install {}` failed in {}: check that pip can reach the package index and that the disk has 5 GB free, then run `cargo xtask torch` again",
                packages.join(" "),
                venv.display()
            );
        }
    }
    std::fs::write(&stamp, want)?;
    Ok(python)
}

/// Convert unless up-to-date outputs are there; the folder holding them.
pub fn ensure(data: &Path, force: bool) -> Result<PathBuf> {
    let dir = data.join(DIR);
    let (source, vocab) = (data.join(SOURCE), data.join(VOCAB));
    let stamp_path = dir.join("stamp");
    let want = format!(
        "script {}\nsource {}\nvocab {}\npackages {}\n",
        digest(SCRIPT.as_bytes()),
        file_stamp(&source)?,
        file_stamp(&vocab)?,
        digest([NO_DEPS, PACKAGES].concat().join("\n").as_bytes())
    );
    if !force && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == want) && checksums_hold(&dir)? {
        return Ok(dir);
    }
    let python = ensure_python(data)?;
    let _ = std::fs::remove_file(&stamp_path);
    let script = dir.join("convert.py");
    std::fs::write(&script, SCRIPT)?;
    eprintln!("xtask: converting {} into {}", source.display(), dir.display());
    let status = Command::new(&python).arg("-W").arg("ignore").arg(&script).arg(&source).arg(&vocab).arg(&dir).status();
    if !status.context("run convert.py")?.success() {
        for name in OUTPUTS {
            let _ = std::fs::remove_file(dir.join(name));
        }
        bail!("converting {} for PyTorch failed (see above)", source.display());
    }
    let mut sums = String::new();
    for name in OUTPUTS {
        sums += &format!("{}  {name}\n", sha256_file(&dir.join(name))?);
    }
    std::fs::write(dir.join("SHA256SUMS"), sums)?;
    std::fs::write(&stamp_path, want)?;
    Ok(dir)
}

/// Whether every output is there with the checksum `SHA256SUMS` records.
fn checksums_hold(dir: &Path) -> Result<bool> {
    let Ok(sums) = std::fs::read_to_string(dir.join("SHA256SUMS")) else { return Ok(false) };
    for name in OUTPUTS {
        let Some(line) = sums.lines().find(|l| l.ends_with(&format!("  {name}"))) else { return Ok(false) };
        let path = dir.join(name);
        if !path.is_file() || !line.starts_with(&sha256_file(&path)?) {
            eprintln!("xtask: {} is missing or changed; converting again", path.display());
            return Ok(false);
        }
    }
    Ok(true)
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A file's identity: its size and modification time.
fn file_stamp(path: &Path) -> Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{} is missing: run `cargo xtask setup`", path.display()))?;
    let modified = meta.modified()?.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Ok(format!("{}-{modified}", meta.len()))
}
