//! Pathological text against `chorus serve` running the real Kokoro model, on loopback: runs of
//! brackets, quotes, exclamation marks and hyphens that once made the front-end quadratic are
//! spoken about as soon as ordinary text of the same length, or refused when over the server's
//! limit; a client that hangs up on one frees its slot, and its synthesis stops early.

use chorus_tests::{
    kokoro::ensure_assets,
    server::{Open, Server, assert_error},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn server() -> Server {
    let config = format!(
        "default_model = \"kokoro\"\n[backends.kokoro]\ndata_dir = {:?}\n[server]\nconcurrency = 1\n",
        ensure_assets().display().to_string()
    );
    let server = Server::start_with(&config, &["chorus_plugin_kokoro"], &[]);
    let warm = server.post("/v1/audio/speech", &speech("Warm up."));
    assert_eq!(warm.status, 200, "{}", warm.text());
    server
}

fn speech(input: &str) -> Value {
    json!({"model": "kokoro", "input": input, "voice": "jf_alpha", "response_format": "pcm"})
}

/// The response's head and its first audio bytes, and how long they took.
fn first_audio(server: &Server, input: &str) -> (Open, Duration) {
    let start = Instant::now();
    let mut open = server.open("/v1/audio/speech", &speech(input));
    if open.status != 200 {
        let status = open.status;
        panic!("status {status}: {}", String::from_utf8_lossy(&open.read_body()));
    }
    let first = open.read_some(2048);
    assert!(!first.is_empty(), "no audio for {} characters", input.len());
    (open, start.elapsed())
}

/// Ordinary sentences, repeated to `len` characters.
fn ordinary(len: usize) -> String {
    let sentences = chorus_tests::kokoro::sentences_en().join(" ");
    sentences.repeat(len / sentences.len() + 1)[..len].to_string()
}

#[test]
#[ignore = "needs the Kokoro model: `cargo xtask test` runs it"]
fn pathological_text_is_spoken_about_as_soon_as_ordinary_text_or_refused() {
    let server = server();
    let inputs = [
        ("brackets", format!("{}hello{}", "(".repeat(2000), ")".repeat(2000))),
        ("hyphen chain", "hello-".repeat(650)),
        ("quotes", format!("{}hi{}", "\"".repeat(2000), "\"".repeat(2000))),
        ("exclamations", format!("Wait{} go", "!".repeat(4000))),
        ("nested", "([{\"'".repeat(400) + "deep" + &"'\"}])".repeat(400)),
    ];
    for (name, input) in &inputs {
        assert!(input.chars().count() <= 4096, "{name} fits the server's default limit");
        let (mut open, hostile) = first_audio(&server, input);
        drop(open.read_body());
        let (mut open, plain) = first_audio(&server, &ordinary(input.len()));
        drop(open.read_body());
        eprintln!("{name}: {} characters, first audio {hostile:?}; ordinary text {plain:?}", input.len());
        // The front-end was quadratic: 15.7 s for 6000 brackets, 36 s for 800 hyphens.
        assert!(
            hostile <= plain * 3 + Duration::from_secs(2),
            "{name}: first audio after {hostile:?}, ordinary text of the same length after {plain:?}"
        );
    }
    // Over the server's limit: refused at once, naming it.
    let long = format!("{}hello{}", "(".repeat(3000), ")".repeat(3000));
    let error = assert_error(&server.post("/v1/audio/speech", &speech(&long)), 400, "invalid_request_error");
    assert!(error["message"].as_str().unwrap().contains("max_input_chars"), "{error}");
}

#[test]
#[ignore = "needs the Kokoro model: `cargo xtask test` runs it"]
fn hanging_up_on_pathological_text_frees_the_slot() {
    let server = server();
    let in_flight = || server.metric("chorus_syntheses_in_flight", "model=\"kokoro\"");
    // About 5 minutes of speech if it ran to the end.
    let (open, _) = first_audio(&server, &"hello-".repeat(650));
    open.hang_up();
    server.wait_until("the abandoned synthesis stops", || in_flight() == 0.0);
    assert_eq!(server.metric("chorus_syntheses_cancelled_total", "model=\"kokoro\""), 1.0);
    let made = server.metric("chorus_audio_seconds_total", "model=\"kokoro\"");
    assert!(made < 60.0, "the abandoned synthesis made {made} s of audio: it did not stop");
    // The only slot is free: a plain request is served.
    let response = server.post("/v1/audio/speech", &speech("Hello there."));
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response.body.len() > 24_000, "{} bytes of audio", response.body.len());
}
