//! Kokoro on PyTorch: the converter (xtask/src/torch/convert.py) on the real int8 model, run in the
//! environment `cargo xtask torch` builds. Every initializer is mapped onto KModel's parameters, and
//! a model whose initializer name is corrupted is refused with that name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chorus_tests::{kokoro as k, root, stderr};

const CORRUPTED_FROM: &[u8] = b"decoder.decoder.generator.resblocks.4.adain2.2.fc.bias";
const CORRUPTED_TO: &[u8] = b"decoder.decoder.generator.resblocks.4.adain2.2.fc.bia5";

/// The converter's Python, after `cargo xtask torch` made the environment and the conversion.
fn converter_python() -> PathBuf {
    let data = k::ensure_assets();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root())
        .args(["run", "--quiet", "-p", "xtask", "--", "torch", "--data-dir"])
        .arg(&data)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "`cargo xtask torch` failed");
    data.join("kokoro-torch/venv/bin/python")
}

fn check(python: &Path, model: &Path) -> Output {
    let data = k::data_dir();
    let out = tempfile::tempdir().unwrap();
    Command::new(python)
        .arg("-W")
        .arg("ignore")
        .arg(root().join("xtask/src/torch/convert.py"))
        .arg(model)
        .arg(data.join("kokoro/vocab.json"))
        .arg(out.path())
        .arg("--check-only")
        .output()
        .expect("the converter's Python runs")
}

/// `bytes` with every occurrence of `from` replaced by `to` (same length, so the protobuf framing holds).
fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut count = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            count += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    count
}

#[test]
#[ignore = "needs the converter's Python environment (cargo xtask torch, about 3 GB) and the Kokoro model"]
fn every_initializer_maps_and_a_corrupted_name_is_refused() {
    let python = converter_python();
    let model = k::data_dir().join("kokoro/kokoro-v1.0.int8.onnx");

    let good = check(&python, &model);
    let said = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success(), "the real model maps: {}", stderr(&good));
    assert!(said.contains("457 parameters mapped, every initializer accounted for"), "{said}");

    let mut bytes = std::fs::read(&model).unwrap();
    let renamed = replace_all(&mut bytes, CORRUPTED_FROM, CORRUPTED_TO);
    assert!(renamed >= 2, "the initializer and the node reading it are renamed ({renamed})");
    let dir = tempfile::tempdir().unwrap();
    let corrupted = dir.path().join("corrupted.onnx");
    std::fs::write(&corrupted, &bytes).unwrap();
    let bad = check(&python, &corrupted);
    let err = stderr(&bad);
    assert!(!bad.status.success(), "a corrupted name must stop the conversion");
    assert!(err.contains("decoder.generator.resblocks.4.adain2.2.fc.bia5"), "the error names the tensor: {err}");
}
