//! The AllTalk and Chatterbox plugins, loaded as real cdylibs by the host, against fixture servers
//! on 127.0.0.1 that speak each upstream protocol (tests/support/fixtures): every endpoint,
//! streaming, error bodies, retries, slow servers, cut connections, servers that are down,
//! voices and cloning uploads.

use chorus_host::{Chorus, Config, Event, ProgressUpdate, Report, Request};
use chorus_plugin_api::ErrorKind;
use chorus_tests::fixtures::{
    alltalk::{self, AllTalk},
    chatterbox::{self, Chatterbox},
    local::{dead_url, lock, tone, wav_file},
};
use std::time::Duration;

const PLUGINS: [&str; 2] = ["chorus_plugin_alltalk", "chorus_plugin_chatterbox"];

/// A host loading both plugins, with `toml` as its config and a private data folder.
struct Host {
    chorus: Chorus,
    _plugins: tempfile::TempDir,
    _data: tempfile::TempDir,
}

fn host(toml: &str) -> Host {
    let plugins = chorus_tests::plugin_dir(&PLUGINS);
    let data = tempfile::tempdir().expect("data dir");
    let text = format!("data_dir = {:?}\n{toml}", data.path().display().to_string());
    let config = Config::parse(&text).expect("test config parses");
    let chorus = Chorus::with_config(config, &[plugins.path().to_path_buf()]);
    assert!(
        chorus.rejected().is_empty(),
        "plugins rejected: {:?}",
        chorus.rejected().iter().map(|r| r.reason.clone()).collect::<Vec<_>>()
    );
    Host { chorus, _plugins: plugins, _data: data }
}

/// Everything one synthesis produced.
struct Outcome {
    samples: Vec<f32>,
    audio_events: usize,
    progress: Vec<ProgressUpdate>,
    result: Result<Report, (Option<ErrorKind>, String)>,
}

fn speak(host: &Host, request: Request) -> Outcome {
    let mut stream = host.chorus.synthesize(request).expect("request is accepted");
    let mut outcome =
        Outcome { samples: Vec::new(), audio_events: 0, progress: Vec::new(), result: Err((None, "no end".into())) };
    while let Some(event) = stream.blocking_next() {
        match event {
            Event::Audio(chunk) => {
                assert_eq!((chunk.sample_rate, chunk.channels), (24_000, 1));
                outcome.samples.extend_from_slice(&chunk.samples);
                outcome.audio_events += 1;
            }
            Event::Progress(p) => outcome.progress.push(p),
            Event::Words(_) => {}
            Event::Done(report) => outcome.result = Ok(report),
            Event::Error(e) => outcome.result = Err((e.kind(), e.to_string())),
        }
    }
    outcome
}

fn error_of(outcome: &Outcome) -> (ErrorKind, String) {
    match &outcome.result {
        Ok(report) => panic!("expected an error, got success with {} s of audio", report.audio_seconds),
        Err((kind, message)) => (kind.expect("a backend error has a kind"), message.clone()),
    }
}

/// The samples decode to exactly the fixture's tone (16-bit quantised).
fn assert_is_tone(samples: &[f32], expected_len: usize) {
    assert_eq!(samples.len(), expected_len, "sample count");
    let reference = tone(0, expected_len, 24_000);
    let worst = samples.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "audio differs from the fixture's tone by up to {worst}");
}

fn alltalk_host(at: &str, extra: &str) -> Host {
    host(&format!("[backends.alltalk]\nbase_url = {at:?}\nmax_retries = 1\n{extra}"))
}

fn chatterbox_host(at: &str, extra: &str) -> Host {
    host(&format!("[backends.chatterbox]\nbase_url = {at:?}\nmax_retries = 1\n{extra}"))
}

// ---------------------------------------------------------------- AllTalk

#[test]
fn alltalk_native_generates_then_downloads_the_file() {
    let server = AllTalk::start();
    let h = alltalk_host(server.url(), "mode = \"native\"");
    let mut request = Request::new("Hello from the native endpoint.").model("alltalk_xtts").voice("male_01.wav");
    request.language = Some("en-GB".into());
    request.speed = 1.25;
    request.options = serde_json::json!({"temperature": 0.7});
    let out = speak(&h, request);
    let report = out.result.as_ref().expect("native synthesis succeeds");
    assert_eq!(
        (report.plugin.as_str(), report.model.as_str()),
        ("alltalk", "alltalk/xtts"),
        "the tldw alias alltalk_ rewrites"
    );
    assert_is_tone(&out.samples, server.samples());
    assert_eq!(server.shared.seen("/api/ready").len(), 1, "readiness is checked first");
    let generate = server.shared.seen("/api/tts-generate");
    assert_eq!(generate.len(), 1);
    let form = &generate[0];
    assert_eq!(form.field("text_input").as_deref(), Some("Hello from the native endpoint."));
    assert_eq!(form.field("character_voice_gen").as_deref(), Some("male_01.wav"));
    assert_eq!(form.field("language").as_deref(), Some("en"), "en-GB maps to AllTalk's en");
    assert_eq!(form.field("speed").as_deref(), Some("1.25"));
    assert_eq!(form.field("temperature").as_deref(), Some("0.7"));
    assert_eq!(server.shared.seen("/audio/").len(), 1, "the generated file is fetched once");
    assert!(out.progress.iter().any(|p| p.status.contains("native")), "progress names the step");
}

#[test]
fn alltalk_streaming_pushes_audio_as_it_arrives() {
    let server = AllTalk::start();
    server.shared.set(|k| {
        k.chunks = 5;
        k.chunk_gap = Duration::from_millis(30);
    });
    let h = alltalk_host(server.url(), "mode = \"native\"\nvoice = \"female_01.wav\"");
    // The model name picks the streaming endpoint over the configured mode.
    let out = speak(&h, Request::new("Streaming, chunk by chunk.").model("alltalk/streaming"));
    out.result.as_ref().expect("streaming synthesis succeeds");
    assert_is_tone(&out.samples, server.samples());
    assert!(out.audio_events >= 3, "audio arrived in {} pushes, not as it streamed", out.audio_events);
    let seen = server.shared.seen("/api/tts-generate-streaming");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].field("text").as_deref(), Some("Streaming, chunk by chunk."));
    assert_eq!(seen[0].field("voice").as_deref(), Some("female_01.wav"));
    assert_eq!(seen[0].field("language").as_deref(), Some("auto"));
    assert!(seen[0].field("output_file").is_some());
}

#[test]
fn alltalk_openai_endpoint_takes_only_openai_voice_names() {
    let server = AllTalk::start();
    let h = alltalk_host(server.url(), "mode = \"openai\"");
    let out = speak(&h, Request::new("OpenAI style.").model("alltalk/tts-1").voice("nova"));
    out.result.as_ref().expect("openai-mode synthesis succeeds");
    assert_is_tone(&out.samples, server.samples());
    let seen = server.shared.seen("/v1/audio/speech");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].field("voice").as_deref(), Some("nova"));
    assert_eq!(seen[0].field("input").as_deref(), Some("OpenAI style."));
    assert_eq!(seen[0].field("response_format").as_deref(), Some("wav"));

    // An engine voice cannot go to that endpoint (upstream would answer a bare 500): refused here.
    let out = speak(&h, Request::new("Engine voice.").model("alltalk/tts-1").voice("female_01.wav"));
    let (kind, message) = error_of(&out);
    assert_eq!(kind, ErrorKind::UNKNOWN_VOICE);
    assert!(message.contains("native"), "{message}");
    assert_eq!(server.shared.seen("/v1/audio/speech").len(), 1, "nothing was sent for the refused voice");
}

#[test]
fn alltalk_down_is_one_clear_line() {
    let url = dead_url();
    let h = alltalk_host(&url, "");
    let out = speak(&h, Request::new("Anyone there?").model("alltalk/native"));
    let (kind, message) = error_of(&out);
    assert_eq!(kind, ErrorKind::UNAVAILABLE);
    assert!(message.contains(&format!("AllTalk is not reachable at {url}")), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

#[test]
fn alltalk_unloaded_engine_is_reported_before_generating() {
    let server = AllTalk::start();
    *lock(&server.state.unloaded) = true;
    let h = alltalk_host(server.url(), "");
    let (kind, message) = error_of(&speak(&h, Request::new("Too early.").model("alltalk/native")));
    assert_eq!(kind, ErrorKind::UNAVAILABLE);
    assert!(message.contains("not loaded"), "{message}");
    assert!(server.shared.seen("/api/tts-generate").is_empty());
}

#[test]
fn alltalk_error_bodies_and_retries() {
    let server = AllTalk::start();
    let h = alltalk_host(server.url(), "mode = \"native\"");
    // A voice the engine does not have: 404 {"status": "generate-failure", "error": "Resource not found"}.
    let (kind, message) = error_of(&speak(&h, Request::new("Who?").model("alltalk/native").voice("nobody.wav")));
    assert_eq!(kind, ErrorKind::BAD_REQUEST);
    assert!(message.contains("Resource not found") && message.contains("404"), "{message}");

    // One 503 before any audio is retried, and the request then succeeds.
    server.shared.set(|k| k.fail_with = vec![503]);
    let out = speak(&h, Request::new("Second time lucky.").model("alltalk/native"));
    out.result.as_ref().expect("retried request succeeds");
    assert_is_tone(&out.samples, server.samples());
    assert!(out.progress.iter().any(|p| p.status.contains("retry 1 of 1")), "the retry is reported as progress");

    // 500s beyond max_retries: the server's message reaches the user.
    server.shared.set(|k| k.fail_with = vec![500, 500]);
    let (kind, message) = error_of(&speak(&h, Request::new("Broken.").model("alltalk/native")));
    assert_eq!(kind, ErrorKind::UNAVAILABLE);
    assert!(message.contains("HTTP 500") && message.contains("TTS generation failed"), "{message}");
}

#[test]
fn alltalk_slow_server_hits_the_read_timeout() {
    let server = AllTalk::start();
    server.shared.set(|k| k.delay = Duration::from_secs(5));
    let h = alltalk_host(server.url(), "read_timeout = 0.5");
    let (kind, message) =
        error_of(&speak(&h, Request::new("Slowly.").model("alltalk/streaming").voice("female_01.wav")));
    assert_eq!(kind, ErrorKind::UNAVAILABLE);
    assert!(message.contains("read_timeout"), "{message}");
    assert_eq!(server.shared.seen("/api/tts-generate-streaming").len(), 1, "a timeout is not retried");
}

#[test]
fn alltalk_cut_connection_is_an_error_not_a_short_success() {
    let server = AllTalk::start();
    server.shared.set(|k| k.cut_after = Some(2));
    let h = alltalk_host(server.url(), "voice = \"female_01.wav\"");
    let out = speak(&h, Request::new("Cut mid stream.").model("alltalk/streaming"));
    let (kind, message) = error_of(&out);
    assert_eq!(kind, ErrorKind::UNAVAILABLE);
    assert!(message.contains("incomplete"), "{message}");
    assert!(!out.samples.is_empty(), "audio before the cut was delivered");
    // The native file download cut short of its Content-Length fails the same way.
    let out = speak(&h, Request::new("Cut file.").model("alltalk/native"));
    assert!(error_of(&out).1.contains("incomplete"), "{}", error_of(&out).1);
}

#[test]
fn alltalk_lists_engine_voices() {
    let server = AllTalk::start();
    let h = alltalk_host(server.url(), "");
    let voices = h.chorus.voices(Some("alltalk/native")).expect("voices");
    let ids: Vec<&str> = voices.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, alltalk::VOICES);
    assert!(voices[2].description.contains("voice set"));
}

// ---------------------------------------------------------------- Chatterbox

#[test]
fn chatterbox_streams_chunks_with_generation_options() {
    let server = Chatterbox::start();
    server.shared.set(|k| {
        k.chunks = 4;
        k.chunk_gap = Duration::from_millis(30);
    });
    let h = chatterbox_host(server.url(), "voice = \"narrator\"\nexaggeration = 0.8\ntemperature = 0.6");
    let mut request = Request::new("Chatterbox streams each chunk.").model("local_chatterbox_default");
    request.options = serde_json::json!({"cfg_weight": 0.3, "temperature": 0.9, "streaming_strategy": "sentence"});
    let out = speak(&h, request);
    let report = out.result.as_ref().expect("streaming synthesis succeeds");
    assert_eq!(report.model, "chatterbox/default", "the tldw alias local_chatterbox_ rewrites");
    assert_is_tone(&out.samples, server.samples());
    assert!(out.audio_events >= 3, "audio arrived in {} pushes", out.audio_events);
    assert!(out.progress.iter().any(|p| p.status.contains("receiving audio")));
    let seen = server.shared.seen("/v1/audio/speech/stream");
    assert_eq!(seen.len(), 1);
    let body = &seen[0].fields;
    assert_eq!(body["input"], "Chatterbox streams each chunk.");
    assert_eq!(body["voice"], "narrator");
    assert_eq!(body["exaggeration"], 0.8);
    assert_eq!(body["cfg_weight"], 0.3);
    assert_eq!(body["temperature"], 0.9, "request options win over the config table");
    assert_eq!(body["streaming_strategy"], "sentence");
}

#[test]
fn chatterbox_whole_file_mode_reads_the_float_wav() {
    let server = Chatterbox::start();
    let h = chatterbox_host(server.url(), "streaming = false");
    let out = speak(&h, Request::new("All at once.").model("chatterbox/default"));
    out.result.as_ref().expect("whole-file synthesis succeeds");
    assert_is_tone(&out.samples, server.samples());
    assert_eq!(server.shared.seen("/v1/audio/speech").len(), 1);
    assert!(server.shared.seen("/v1/audio/speech/stream").is_empty());
}

#[test]
fn chatterbox_clones_from_an_uploaded_reference() {
    let server = Chatterbox::start();
    let h = chatterbox_host(server.url(), "cfg_weight = 0.4");
    let reference = wav_file(&tone(0, 2400, 24_000), 24_000, false);
    let mut request = Request::new("Speak like the reference.").model("chatterbox/default");
    request.reference_audio = Some((reference.clone(), "audio/wav".into()));
    let out = speak(&h, request);
    out.result.as_ref().expect("cloning synthesis succeeds");
    assert_is_tone(&out.samples, server.samples());
    let seen = server.shared.seen("/v1/audio/speech/stream/upload");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].field("input").as_deref(), Some("Speak like the reference."));
    assert_eq!(seen[0].field("cfg_weight").as_deref(), Some("0.4"));
    assert_eq!(seen[0].files.len(), 1);
    let (field, file_name, bytes) = &seen[0].files[0];
    assert_eq!((field.as_str(), file_name.as_str()), ("voice_file", "reference.wav"));
    assert_eq!(bytes, &reference, "the reference arrives byte for byte");

    // A format the server refuses is refused before anything is sent.
    let mut request = Request::new("Text file?").model("chatterbox/default");
    request.reference_audio = Some((b"just text".to_vec(), "text/plain".into()));
    assert_eq!(error_of(&speak(&h, request)).0, ErrorKind::UNSUPPORTED);
    assert_eq!(server.shared.seen("/v1/audio/speech/stream/upload").len(), 1);
}

#[test]
fn chatterbox_refuses_out_of_range_options_before_sending() {
    let server = Chatterbox::start();
    let h = chatterbox_host(server.url(), "");
    let mut request = Request::new("Too much.").model("chatterbox/default");
    request.options = serde_json::json!({"exaggeration": 3.0});
    let (kind, message) = error_of(&speak(&h, request));
    assert_eq!(kind, ErrorKind::BAD_REQUEST);
    assert!(message.contains("exaggeration") && message.contains("0.25..=2"), "{message}");
    assert!(server.shared.seen("/v1/audio").is_empty());
}

#[test]
fn chatterbox_error_bodies_and_retries() {
    let server = Chatterbox::start();
    let h = chatterbox_host(server.url(), "");
    server.shared.set(|k| k.fail_with = vec![503]);
    let out = speak(&h, Request::new("Retry me.").model("chatterbox/default"));
    out.result.as_ref().expect("one 503 is retried");
    assert_is_tone(&out.samples, server.samples());
    assert_eq!(server.shared.seen("/v1/audio/speech/stream").len(), 2);

    server.shared.set(|k| k.fail_with = vec![500, 500]);
    let (kind, message) = error_of(&speak(&h, Request::new("Still broken.").model("chatterbox/default")));
    assert_eq!(kind, ErrorKind::UNAVAILABLE);
    assert!(message.contains("HTTP 500") && message.contains("Model not loaded"), "{message}");
}

#[test]
fn chatterbox_cut_connection_is_an_error_not_a_short_success() {
    let server = Chatterbox::start();
    server.shared.set(|k| k.cut_after = Some(1));
    let h = chatterbox_host(server.url(), "");
    let out = speak(&h, Request::new("Cut.").model("chatterbox/default"));
    let (kind, message) = error_of(&out);
    assert_eq!(kind, ErrorKind::UNAVAILABLE);
    assert!(message.contains("incomplete"), "{message}");
    assert_eq!(server.shared.seen("/v1/audio/speech/stream").len(), 1, "nothing is retried after audio started");
}

#[test]
fn chatterbox_slow_server_hits_the_read_timeout() {
    let server = Chatterbox::start();
    server.shared.set(|k| k.delay = Duration::from_secs(5));
    let h = chatterbox_host(server.url(), "read_timeout = 0.5");
    let (kind, message) = error_of(&speak(&h, Request::new("Slow.").model("chatterbox/default")));
    assert_eq!(kind, ErrorKind::UNAVAILABLE);
    assert!(message.contains("read_timeout"), "{message}");
}

#[test]
fn chatterbox_down_and_voices() {
    let url = dead_url();
    let h = chatterbox_host(&url, "");
    let (_, message) = error_of(&speak(&h, Request::new("Hello?").model("chatterbox/default")));
    assert!(message.contains(&format!("Chatterbox is not reachable at {url}")), "{message}");

    let server = Chatterbox::start();
    let h = chatterbox_host(server.url(), "");
    let voices = h.chorus.voices(Some("chatterbox/default")).expect("voices");
    let got: Vec<(&str, &str)> = voices.iter().map(|v| (v.id.as_str(), v.language.as_str())).collect();
    assert_eq!(got, chatterbox::VOICES.iter().map(|(n, l, _)| (*n, *l)).collect::<Vec<_>>());
    assert!(voices[0].description.contains("alloy"), "aliases are listed");
}
