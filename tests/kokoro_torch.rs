//! Kokoro on PyTorch: the converter (xtask/src/torch/convert.py) on the real int8 model, run in the
//! environment `cargo xtask torch` builds — every initializer is mapped onto KModel's parameters,
//! and a model whose initializer name is corrupted is refused with that name — and the
//! `kokoro-torch` plugin (built against that environment's libtorch) beside the ONNX engine: the
//! same token ids, durations within one frame per token, and speech the judge hears alike.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use chorus_plugin_api::BackendBox;
use chorus_tests::{artifacts, kokoro as k, library_file, root, stderr};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(900);

const CORRUPTED_FROM: &[u8] = b"decoder.decoder.generator.resblocks.4.adain2.2.fc.bias";
const CORRUPTED_TO: &[u8] = b"decoder.decoder.generator.resblocks.4.adain2.2.fc.bia5";

/// `cargo xtask torch [extra]` on the tests' data folder: the converter's environment, the
/// converted model, and with `--plugin` the kokoro-torch cdylib.
fn xtask_torch(extra: &[&str]) -> PathBuf {
    let data = k::ensure_assets();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root())
        .args(["run", "--quiet", "-p", "xtask", "--", "torch", "--data-dir"])
        .arg(&data)
        .args(extra)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "`cargo xtask torch {}` failed", extra.join(" "));
    data
}

/// The converter's Python, after `cargo xtask torch` made the environment and the conversion.
fn converter_python() -> PathBuf {
    xtask_torch(&[]).join("kokoro-torch/venv/bin/python")
}

/// Both engines on the tests' data folder, each from its real cdylib through the host's loader.
fn engines() -> (Arc<BackendBox>, Arc<BackendBox>) {
    let data = xtask_torch(&["--plugin"]);
    let onnx = Arc::new(k::backend(&k::config()).unwrap_or_else(|e| panic!("kokoro backend: {e:?}")));
    let path = artifacts().join(library_file("chorus_plugin_kokoro_torch"));
    let plugin = chorus_host::plugin::load(&path).unwrap_or_else(|e| panic!("{} loads: {e:?}", path.display()));
    let config = json!({ "data_dir": data });
    let torch = (plugin.module.new_backend())(config.to_string().as_str().into())
        .into_result()
        .unwrap_or_else(|e| panic!("kokoro-torch backend: {e:?}"));
    (onnx, Arc::new(torch))
}

/// Each chunk's token ids and durations, from the progress a `timing_detail` request reports.
fn chunks(rec: &k::Recording) -> Vec<(Vec<i64>, Vec<i64>)> {
    rec.progress
        .iter()
        .filter_map(|p| serde_json::from_str::<serde_json::Value>(p.metrics_json.as_str()).ok())
        .map(|m| m["timing"].clone())
        .filter(|t| !t.is_null())
        .map(|t| {
            let ints = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
            (ints(&t["ids"]), ints(&t["durations"]))
        })
        .collect()
}

#[test]
#[ignore = "needs libtorch and the converted model (cargo xtask torch, about 2.6 GB), the Kokoro model and the judge"]
fn both_engines_give_the_same_durations_and_speech_the_judge_hears_alike() {
    let (onnx, torch) = engines();
    let sentences: Vec<String> = k::sentences_en().into_iter().take(4).collect();
    let mut audio = Vec::new();
    let (mut tokens, mut equal) = (0, 0);
    for text in &sentences {
        let speak = |b: &Arc<BackendBox>| {
            let (result, rec) =
                k::speak_with(b, k::request(text, "jf_alpha", json!({"timing_detail": true})), None, LIMIT);
            result.unwrap_or_else(|e| panic!("synthesis of {text:?}: {e:?}"));
            rec
        };
        let (a, b) = (speak(&onnx), speak(&torch));
        let (ca, cb) = (chunks(&a), chunks(&b));
        assert!(!ca.is_empty() && ca.len() == cb.len(), "the same chunks for {text:?}: {} and {}", ca.len(), cb.len());
        for ((ids_a, dur_a), (ids_b, dur_b)) in ca.iter().zip(&cb) {
            assert_eq!(ids_a, ids_b, "the same phonemes reach both models");
            assert_eq!(dur_a.len(), dur_b.len());
            for (x, y) in dur_a.iter().zip(dur_b) {
                assert!((x - y).abs() <= 1, "durations {dur_a:?} and {dur_b:?} differ by more than a frame");
                tokens += 1;
                equal += usize::from(x == y);
            }
        }
        audio.push(a.audio);
        audio.push(b.audio);
    }
    eprintln!("durations: {equal} of {tokens} tokens equal, the rest within one frame");
    let said: Vec<&String> = sentences.iter().flat_map(|s| [s, s]).collect();
    let judged = k::judge_wer(&said, &audio);
    for (pair, text) in judged.chunks(2).zip(&sentences) {
        let [(wer_onnx, heard_onnx), (wer_torch, heard_torch)] = pair else { unreachable!() };
        eprintln!("{text:?}\n  onnx  {wer_onnx:.2} {heard_onnx:?}\n  torch {wer_torch:.2} {heard_torch:?}");
        assert!(
            *wer_torch <= wer_onnx + 0.1,
            "the judge hears PyTorch's {text:?} worse: {heard_torch:?} ({wer_torch:.2}) against ONNX's {heard_onnx:?} ({wer_onnx:.2})"
        );
    }
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
#[ignore = "needs the converter's Python environment (cargo xtask torch, about 2.6 GB) and the Kokoro model"]
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
