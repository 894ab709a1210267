//! The SDK as the host meets it: an engine exported through `root_module`, its config decoded,
//! its `?`-returned stops answered with the summary of what was pushed, its errors and panics
//! carried over.

use abi_stable::{sabi_trait::TD_Opaque, std_types::RSlice};
use chorus_plugin_api::{
    BackendBox, BackendInfo, Capabilities, Engine, ErrorKind, FfiSink, FfiSink_TO, Flow, PluginError, Progress, Sink,
    Summary, SynthError, SynthesisRequest, Voice, WordTimestamp, sdk,
};
use serde::Deserialize;
use std::sync::{Arc, Mutex};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Config {
    chunks: u32,
}

/// Pushes `chunks` chunks of 100 frames of stereo at 1 kHz, then fails when the text says so.
struct Counter {
    chunks: u32,
}

impl Engine for Counter {
    const NAME: &'static str = "counter";
    const VERSION: &'static str = "1.0.0";
    const PATTERNS: &'static [&'static str] = &["counter"];
    const DESCRIPTION: &'static str = "counts";
    const LICENSE: &'static str = "MIT";
    const CAPABILITIES: Capabilities = Capabilities::STREAMING;
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        Ok(Self { chunks: config.chunks })
    }
    fn info(&self) -> BackendInfo {
        BackendInfo::new(1_000)
    }
    fn voices(&self) -> Result<Vec<Voice>, PluginError> {
        Ok(vec![])
    }
    fn synthesize(&self, request: &SynthesisRequest, sink: &mut Sink) -> Result<Summary, SynthError> {
        for i in 0..self.chunks {
            sink.audio(&[0.0; 200], 1_000, 2)?;
            sink.progress(&Progress::new(i as u64 + 1, self.chunks as u64))?;
            sink.words(&[WordTimestamp::new("w", 0..1, 0.0, 0.1)])?;
        }
        match request.text.as_str() {
            "fail" => Err(PluginError::unavailable("down").into()),
            "panic" => panic!("told to"),
            _ => Ok(Summary { cost_usd: 0.5, ..sink.summary(request) }),
        }
    }
}

/// Answers stop from push number `stop_at` (1-based) on, and counts pushes.
struct Recorder {
    pushes: Arc<Mutex<u32>>,
    stop_at: u32,
}

impl Recorder {
    fn push(&mut self) -> Flow {
        let mut n = self.pushes.lock().unwrap();
        *n += 1;
        if *n >= self.stop_at { Flow::Stop } else { Flow::Continue }
    }
}

impl FfiSink for Recorder {
    fn audio(&mut self, _: RSlice<'_, f32>, _: u32, _: u16) -> Flow {
        self.push()
    }
    fn progress(&mut self, _: &Progress) -> Flow {
        self.push()
    }
    fn words(&mut self, _: RSlice<'_, WordTimestamp>) -> Flow {
        self.push()
    }
}

fn backend(config: &str) -> Result<BackendBox, PluginError> {
    (sdk::root_module::<Counter>().new_backend())(config.into()).into_result()
}

fn run(backend: &BackendBox, text: &str, stop_at: u32) -> (Result<Summary, PluginError>, u32) {
    let pushes = Arc::new(Mutex::new(0));
    let sink = FfiSink_TO::from_value(Recorder { pushes: pushes.clone(), stop_at }, TD_Opaque);
    let result = backend.synthesize(&SynthesisRequest::new("counter", text), sink);
    let pushed = *pushes.lock().unwrap();
    (result.into_result(), pushed)
}

#[test]
fn a_stop_returned_with_question_mark_is_a_summary_of_what_was_pushed() {
    let backend = backend(r#"{"chunks": 3, "data_dir": "/d"}"#).unwrap();
    let (summary, pushed) = run(&backend, "héllo", 5);
    let summary = summary.unwrap();
    // Pushes 1-3 are chunk 1; push 4 is chunk 2's audio, 5 its progress, answered with stop.
    assert_eq!(pushed, 5, "no push reaches the host after a stop");
    assert_eq!((summary.chunks, summary.characters, summary.cost_usd), (2, 5, -1.0));
    assert!((summary.audio_seconds - 0.2).abs() < 1e-12, "{}", summary.audio_seconds);

    let (summary, pushed) = run(&backend, "done", u32::MAX);
    assert_eq!((pushed, summary.unwrap().cost_usd), (9, 0.5));
}

#[test]
fn errors_and_panics_in_synthesize_reach_the_host_as_errors() {
    let backend = backend("{}").unwrap();
    let error = run(&backend, "fail", u32::MAX).0.unwrap_err();
    assert_eq!((error.kind, error.message.as_str()), (ErrorKind::UNAVAILABLE, "down"));
    let error = run(&backend, "panic", u32::MAX).0.unwrap_err();
    assert_eq!(error.kind, ErrorKind::INTERNAL);
    assert!(error.message.contains("panicked in synthesize: told to"), "{error:?}");
}

#[test]
fn a_config_that_does_not_fit_fails_the_constructor_naming_the_key() {
    let error = backend(r#"{"chunks": -1}"#).err().unwrap();
    assert_eq!(error.kind, ErrorKind::NOT_CONFIGURED);
    assert!(error.message.starts_with("counter config: chunks: invalid value: integer `-1`"), "{error:?}");
    let error = backend(r#"{"chunk": 1}"#).err().unwrap();
    assert_eq!(error.message.as_str(), "counter config: unknown key chunk");
    assert!(matches!(backend(""), Ok(_)));
}
