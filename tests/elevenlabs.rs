//! ElevenLabs' API on `chorus serve` (issue #22), against the real binary and the example plugin,
//! whose audio and word times are exact: 40 ms of tone per character at 24 kHz.
//!
//! REST: the four text-to-speech routes, output formats, voice_settings.speed, xi-api-key,
//! voices and models in ElevenLabs' shapes, and its error shape for bad requests. The official
//! `elevenlabs` SDK's REST calls run in the full tier (`#[ignore]`, needs Python).

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chorus_tests::server::{Server, python_client};
use serde_json::{Value, json};

const KEY: &str = "xi-test";
const TEXT: &str = "Hello there, chorus. Speak now!";
/// Milliseconds of audio per character (the example plugin's default).
const MS_PER_CHAR: f64 = 40.0;

fn start() -> Server {
    Server::start(&format!(
        "default_model = \"example\"\n[voice_aliases.example]\nRachel = \"tone\"\n[server]\napi_key = \"{KEY}\"\n"
    ))
}

fn tts(server: &Server, path: &str, body: &Value) -> chorus_tests::server::Response {
    server.post_raw(path, &[("xi-api-key", KEY)], body.to_string().as_bytes())
}

fn seconds(text: &str) -> f64 {
    text.chars().count() as f64 * MS_PER_CHAR / 1000.0
}

/// An error in ElevenLabs' shape: `{"detail": {"status", "message"}}`.
fn assert_detail(response: &chorus_tests::server::Response, status: u16, code: &str) -> String {
    assert_eq!(response.status, status, "{}", response.text());
    let body = response.json();
    assert_eq!(body["detail"]["status"], code, "{body}");
    let message = body["detail"]["message"].as_str().unwrap_or_default().to_string();
    assert!(!message.is_empty(), "{body}");
    message
}

#[test]
fn text_to_speech_streams_audio_in_the_asked_format() {
    let server = start();
    let body = json!({"text": TEXT, "model_id": "example"});
    let pcm = tts(&server, "/v1/text-to-speech/tone/stream?output_format=pcm_16000", &body);
    assert_eq!(pcm.status, 200, "{}", pcm.text());
    assert_eq!(pcm.header("content-type"), Some("audio/pcm"));
    assert!(pcm.chunked, "the audio streams with chunked transfer");
    assert_eq!(pcm.body.len() / 2, (seconds(TEXT) * 16_000.0).round() as usize, "pcm_16000 samples");

    let ulaw = tts(&server, "/v1/text-to-speech/tone?output_format=ulaw_8000", &body);
    assert_eq!(ulaw.status, 200, "{}", ulaw.text());
    assert_eq!(ulaw.header("content-type"), Some("audio/basic"));
    assert_eq!(ulaw.body.len(), (seconds(TEXT) * 8_000.0).round() as usize, "one μ-law byte per sample");
    assert!(ulaw.body.iter().any(|&b| b != 0xFF && b != 0x7F), "μ-law of tones, not only silence");

    // No output_format: ElevenLabs' default, mp3 at 44.1 kHz.
    let mp3 = tts(&server, "/v1/text-to-speech/tone", &json!({"text": TEXT}));
    assert_eq!((mp3.status, mp3.header("content-type")), (200, Some("audio/mpeg")));
    assert!(mp3.body.len() > 1000);
}

#[test]
fn voice_settings_speed_and_elevenlabs_model_ids() {
    let server = start();
    // An ElevenLabs model id no plugin serves means the default model; a voice alias maps "Rachel".
    let body =
        json!({"text": TEXT, "model_id": "eleven_flash_v2_5", "voice_settings": {"speed": 2.0, "stability": 0.5}});
    let fast = tts(&server, "/v1/text-to-speech/Rachel/stream?output_format=pcm_24000", &body);
    assert_eq!(fast.status, 200, "{}", fast.text());
    assert_eq!(fast.body.len() / 2, (seconds(TEXT) * 24_000.0 / 2.0).round() as usize, "speed 2 halves the audio");
}

#[test]
fn with_timestamps_aligns_every_character_of_the_input() {
    let server = start();
    let body = json!({"text": TEXT});
    let response = tts(&server, "/v1/text-to-speech/tone/with-timestamps?output_format=pcm_24000", &body);
    assert_eq!(response.status, 200, "{}", response.text());
    let object = response.json();
    let audio = STANDARD.decode(object["audio_base64"].as_str().unwrap()).unwrap();
    assert_eq!(audio.len() / 2, (seconds(TEXT) * 24_000.0).round() as usize);
    let alignment = &object["alignment"];
    let chars: Vec<&str> = alignment["characters"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(chars.concat(), TEXT, "the characters concatenate back to the input");
    let starts = alignment["character_start_times_seconds"].as_array().unwrap();
    let ends = alignment["character_end_times_seconds"].as_array().unwrap();
    assert_eq!((starts.len(), ends.len()), (chars.len(), chars.len()));
    let starts: Vec<f64> = starts.iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    // The example plugin speaks every character for 40 ms: "Speak" starts at its own offset.
    let at = TEXT.find("Speak").unwrap();
    assert!((starts[at] - at as f64 * 0.04).abs() < 0.002, "{} vs {}", starts[at], at as f64 * 0.04);
    assert!((ends.last().unwrap().as_f64().unwrap() - seconds(TEXT)).abs() < 0.002);
    assert_eq!(object["normalized_alignment"]["characters"], alignment["characters"]);
}

#[test]
fn stream_with_timestamps_sends_lines_as_the_audio_is_made() {
    let server = start();
    let response =
        tts(&server, "/v1/text-to-speech/tone/stream/with-timestamps?output_format=pcm_24000", &json!({"text": TEXT}));
    assert_eq!(response.status, 200, "{}", response.text());
    let lines: Vec<Value> =
        response.text().lines().filter(|l| !l.is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 3, "one line per word of the example plugin, got {}", lines.len());
    let mut audio = Vec::new();
    let mut text = String::new();
    for line in &lines {
        audio.extend(STANDARD.decode(line["audio_base64"].as_str().unwrap()).unwrap());
        for c in line["alignment"]["characters"].as_array().unwrap() {
            text.push_str(c.as_str().unwrap());
        }
    }
    assert_eq!(text, TEXT, "the lines' characters, in order, are the input");
    assert_eq!(audio.len() / 2, (seconds(TEXT) * 24_000.0).round() as usize);
}

#[test]
fn voices_and_models_in_elevenlabs_shape() {
    let server = start();
    let voices = chorus_tests::server::request(server.addr, "GET", "/v1/voices", &[("xi-api-key", KEY)], b"");
    assert_eq!(voices.status, 200, "{}", voices.text());
    let ids: Vec<String> = voices.json()["voices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["voice_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["tone", "low"]);

    let models = chorus_tests::server::request(server.addr, "GET", "/v1/models", &[("xi-api-key", KEY)], b"");
    let list = models.json();
    let model = list.as_array().expect("ElevenLabs lists models as an array").first().cloned().unwrap();
    assert_eq!((model["model_id"].as_str(), model["can_do_text_to_speech"].as_bool()), (Some("example"), Some(true)));
    // An OpenAI client (bearer key) still gets OpenAI's list.
    let auth = format!("Bearer {KEY}");
    let openai = chorus_tests::server::request(server.addr, "GET", "/v1/models", &[("Authorization", &auth)], b"");
    assert_eq!(openai.json()["object"], "list");
}

#[test]
fn bad_requests_get_elevenlabs_errors_and_the_server_keeps_serving() {
    let server = start();
    let body = json!({"text": TEXT});
    let no_key = server.post("/v1/text-to-speech/tone", &body);
    assert!(assert_detail(&no_key, 401, "invalid_api_key").contains("xi-api-key"));
    let wrong = server.post_raw("/v1/text-to-speech/tone", &[("xi-api-key", "nope")], body.to_string().as_bytes());
    assert_detail(&wrong, 401, "invalid_api_key");
    let format = tts(&server, "/v1/text-to-speech/tone?output_format=wma_44100", &body);
    assert!(assert_detail(&format, 422, "invalid_parameters").contains("ulaw_8000"));
    let voice = tts(&server, "/v1/text-to-speech/nobody", &body);
    assert!(assert_detail(&voice, 400, "voice_not_found").contains("nobody"));
    let json = server.post_raw("/v1/text-to-speech/tone", &[("xi-api-key", KEY)], b"{\"text\": ");
    assert!(assert_detail(&json, 422, "invalid_parameters").contains("JSON"));
    let empty = tts(&server, "/v1/text-to-speech/tone", &json!({"text": "  "}));
    assert_detail(&empty, 422, "invalid_parameters");
    let speed = tts(&server, "/v1/text-to-speech/tone", &json!({"text": "hi", "voice_settings": {"speed": 9}}));
    assert!(assert_detail(&speed, 422, "invalid_parameters").contains("speed"));
    let model = tts(&server, "/v1/text-to-speech/tone", &json!({"text": "hi", "model_id": "nosuch"}));
    assert_detail(&model, 400, "model_not_found");
    let ok = tts(&server, "/v1/text-to-speech/tone?output_format=pcm_24000", &body);
    assert_eq!(ok.status, 200, "the server still serves: {}", ok.text());
    server.wait_until("nothing left in flight", || {
        server.metric("chorus_syntheses_in_flight", "model=\"example\"") == 0.0
    });
}

/// The official `elevenlabs` Python SDK, unmodified but for its base URL: convert, stream,
/// convert_with_timestamps, stream_with_timestamps, voices and models.
#[test]
#[ignore = "needs Python with the `elevenlabs` package: `cargo xtask test` runs it"]
fn the_official_elevenlabs_sdk_speaks_through_chorus() {
    let server = start();
    let base = format!("http://{}", server.addr);
    let report = python_client(&server, "elevenlabs", "elevenlabs_rest.py", &[&base, &KEY, &TEXT]);
    let pcm_samples = (seconds(TEXT) * 16_000.0).round() as u64;
    assert_eq!(report["convert_bytes"].as_u64(), Some(pcm_samples * 2), "{report}");
    assert_eq!(report["stream_bytes"].as_u64(), Some(pcm_samples * 2), "{report}");
    assert_eq!(report["timestamps_text"], TEXT, "{report}");
    assert_eq!(report["timestamps_bytes"].as_u64(), Some(pcm_samples * 2), "{report}");
    assert_eq!(report["stream_timestamps_text"], TEXT, "{report}");
    assert!(report["stream_timestamps_chunks"].as_u64().unwrap() >= 3, "{report}");
    assert_eq!(report["voices"], json!(["tone", "low"]), "{report}");
    assert!(report["models"].as_array().unwrap().contains(&json!("example")), "{report}");
    assert_eq!(report["bad_voice_status"], 400, "{report}");
}
