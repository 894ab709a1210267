//! Kokoro test helpers: the installed assets, the real plugin cdylib loaded through the host's
//! loader, a recording sink, the tests' sentences and the speech judge `tests/judge/judge.py`
//! (Whisper word error rate and word times), run in the Python environment `cargo xtask test`
//! (or `cargo xtask judge-env`) builds in `<target>/test-env`.

use abi_stable::{sabi_trait::TD_Opaque, std_types::RSlice};
use chorus_plugin_api::{
    BackendBox, FfiSink, FfiSink_TO, Flow, PluginError, Progress, Summary, SynthesisRequest, Voice, WordTimestamp,
};
use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

pub const RATE: u32 = 24_000;
const LIB: &str = "chorus_plugin_kokoro";

/// The tests' own data folder, `<target>/test-env/data` (`cargo xtask test` installs the Kokoro
/// assets there): tests never read or write the user's data folder.
pub fn data_dir() -> PathBuf {
    super::target_dir().join("test-env/data")
}

/// Make sure the Kokoro assets are installed (runs `cargo xtask setup` once; it skips what is there).
pub fn ensure_assets() -> PathBuf {
    static DONE: OnceLock<PathBuf> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = data_dir();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(super::root())
            .args(["run", "--quiet", "-p", "xtask", "--", "setup", "--data-dir"])
            .arg(&dir)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "`cargo xtask setup` failed");
        dir
    })
    .clone()
}

/// The default backend config: the installed data folder.
pub fn config() -> serde_json::Value {
    serde_json::json!({ "data_dir": ensure_assets() })
}

/// A Kokoro backend from the real cdylib, through the host's loader.
pub fn backend(config: &serde_json::Value) -> Result<BackendBox, PluginError> {
    let plugin = chorus_host::plugin::load(&super::plugin_library(LIB)).expect("the kokoro plugin loads");
    (plugin.module.new_backend())(config.to_string().as_str().into()).into_result()
}

/// Everything a synthesis pushed.
#[derive(Default, Debug, Clone)]
pub struct Recording {
    pub audio: Vec<f32>,
    pub pushes: usize,
    /// Samples in each audio push, in order.
    pub sizes: Vec<usize>,
    pub words: Vec<WordTimestamp>,
    pub progress: Vec<Progress>,
    pub rates: Vec<u32>,
}

/// A sink that records, and answers Stop after `stop_after` audio pushes.
struct Recorder {
    shared: Arc<Mutex<Recording>>,
    stop_after: Option<usize>,
}

impl FfiSink for Recorder {
    fn audio(&mut self, samples: RSlice<'_, f32>, sample_rate: u32, _channels: u16) -> Flow {
        let mut r = self.shared.lock().unwrap();
        r.audio.extend_from_slice(samples.as_slice());
        r.pushes += 1;
        r.sizes.push(samples.len());
        r.rates.push(sample_rate);
        if self.stop_after.is_some_and(|n| r.pushes >= n) { Flow::Stop } else { Flow::Continue }
    }
    fn progress(&mut self, progress: &Progress) -> Flow {
        self.shared.lock().unwrap().progress.push(progress.clone());
        Flow::Continue
    }
    fn words(&mut self, words: RSlice<'_, WordTimestamp>) -> Flow {
        self.shared.lock().unwrap().words.extend_from_slice(words.as_slice());
        Flow::Continue
    }
}

/// Run one request on a worker thread; panics if it takes longer than `limit` (a hang).
pub fn speak_with(
    backend: &Arc<BackendBox>,
    request: SynthesisRequest,
    stop_after: Option<usize>,
    limit: Duration,
) -> (Result<Summary, PluginError>, Recording) {
    let shared = Arc::new(Mutex::new(Recording::default()));
    let sink = FfiSink_TO::from_value(Recorder { shared: shared.clone(), stop_after }, TD_Opaque);
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = backend.clone();
    std::thread::spawn(move || {
        let _ = tx.send(worker.synthesize(&request, sink).into_result());
    });
    let result = rx.recv_timeout(limit).unwrap_or_else(|_| panic!("synthesis did not finish within {limit:?}"));
    let recording = shared.lock().unwrap().clone();
    (result, recording)
}

/// A request for `text` with `voice` (empty: default) and options.
pub fn request(text: &str, voice: &str, options: serde_json::Value) -> SynthesisRequest {
    let mut r = SynthesisRequest::new("kokoro", text);
    r.voice = voice.into();
    r.options_json = options.to_string().into();
    r
}

pub fn voices(backend: &BackendBox) -> Vec<Voice> {
    backend.voices().into_result().expect("voices list").into_vec()
}

/// Write 16-bit mono WAV.
pub fn write_wav(path: &Path, samples: &[f32]) {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16).expect("write wav");
    }
    w.finalize().expect("finish wav");
}

/// The tests' own judge: `tests/judge/judge.py` (Whisper base through faster-whisper).
pub fn judge_script() -> PathBuf {
    super::root().join("tests/judge/judge.py")
}

/// The tests' plain English sentences, one a line: `tests/judge/sentences_en.txt`.
pub fn sentences_en() -> Vec<String> {
    let path = super::root().join("tests/judge/sentences_en.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
}

/// The judge's Python: `$CHORUS_TEST_PYTHON` (set by `cargo xtask test`), else the one `cargo xtask
/// judge-env` builds (once) in `<target>/test-env` and prints.
pub fn judge_python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        if let Some(python) = std::env::var_os("CHORUS_TEST_PYTHON").filter(|p| !p.is_empty()) {
            return PathBuf::from(python);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(super::root())
            .args(["run", "--quiet", "-p", "xtask", "--", "judge-env"])
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("cargo runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let python = stdout.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or_default();
        assert!(
            out.status.success() && !python.is_empty(),
            "`cargo xtask judge-env` failed to build the judge's Python; run `cargo xtask test`"
        );
        PathBuf::from(python)
    })
    .clone()
}

/// Word error rate per sentence and what the judge heard, for one clip per sentence.
pub fn judge_wer<S: AsRef<str>>(sentences: &[S], audio: &[Vec<f32>]) -> Vec<(f64, String)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let list = dir.path().join("sentences.txt");
    let lines: Vec<&str> = sentences.iter().map(AsRef::as_ref).collect();
    std::fs::write(&list, lines.join("\n") + "\n").expect("write sentences");
    for (n, samples) in audio.iter().enumerate() {
        write_wav(&dir.path().join(format!("{n:02}.wav")), samples);
    }
    let out =
        Command::new(judge_python()).arg(judge_script()).arg(&list).arg(dir.path()).output().expect("judge.py runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "judge.py failed: {}", String::from_utf8_lossy(&out.stderr));
    text.lines()
        .filter_map(|l| {
            let (head, hyp) = l.split_once(" | ")?;
            let wer = head.split_once("wer=")?.1.trim().parse().ok()?;
            Some((wer, hyp.to_string()))
        })
        .collect()
}

/// The judge's word start times (faster-whisper `word_timestamps`) for one WAV.
pub fn judge_word_starts(wav: &Path) -> Vec<(String, f64)> {
    let out = Command::new(judge_python()).arg(judge_script()).arg("--words").arg(wav).output().expect("judge.py runs");
    assert!(out.status.success(), "word timing failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t').skip(1);
            let start = f.next()?.parse().ok()?;
            Some((f.next()?.to_string(), start))
        })
        .collect()
}
