//! `chorus serve` end to end: the real binary on 127.0.0.1 with the real example plugin, called
//! by the official `openai` Python package and by raw HTTP for exact statuses, SSE, errors, auth,
//! limits, hang-ups and shutdown. The example plugin makes 40 ms of tone per input character, so
//! every length below is known in advance.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chorus_tests::server::{Server, assert_error, decode, python_client, rms};
use serde_json::{Value, json};

/// The example plugin's default: 40 ms per character, at 24 kHz.
const SAMPLES_PER_CHAR: usize = 960;
const TEXT: &str = "hello chorus server speaking now";

/// Routes OpenAI's model and voice names to the example plugin.
const BASE: &str = r#"
default_model = "example"
[aliases]
"tts-1" = "example"
[voice_aliases.example]
alloy = "tone"
onyx = "low"
"#;

fn config(server: &str) -> String {
    format!("{BASE}\n[server]\n{server}\n")
}

fn seconds(samples: usize) -> f64 {
    samples as f64 / 24_000.0
}

fn expected_seconds(text: &str) -> f64 {
    seconds(text.chars().count() * SAMPLES_PER_CHAR)
}

fn speech(input: &str, format: &str) -> Value {
    json!({"model": "tts-1", "input": input, "voice": "alloy", "response_format": format})
}

#[test]
#[ignore = "needs Python with the `openai` package: `cargo xtask test` runs it"]
fn the_openai_python_package_speaks_every_format_streaming_and_not() {
    let server = Server::start(&config("api_key = \"sk-test\""));
    let out = tempfile::tempdir().unwrap();
    let base = format!("http://{}/v1", server.addr);
    let report =
        python_client(&server, "openai", "openai_speech.py", &[&base, &"sk-test", &out.path(), &TEXT, &"alloy"]);

    let models: Vec<&str> = report["models"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(models.contains(&"tts-1") && models.contains(&"example"), "{models:?}");

    let want = expected_seconds(TEXT);
    for format in ["mp3", "opus", "aac", "flac", "wav", "pcm"] {
        for mode in ["full", "stream"] {
            let bytes = std::fs::read(out.path().join(format!("{format}.{mode}"))).unwrap();
            let samples = decode(&bytes, format, 24_000);
            let got = seconds(samples.len());
            assert!((got - want).abs() < 0.15, "{format} {mode}: {got:.3} s of audio, expected {want:.3} s");
            assert!(rms(&samples) > 0.05, "{format} {mode}: the audio is silent (rms {})", rms(&samples));
        }
    }
    for format in ["wav", "pcm"] {
        let full = std::fs::read(out.path().join(format!("{format}.full"))).unwrap();
        let stream = std::fs::read(out.path().join(format!("{format}.stream"))).unwrap();
        assert_eq!(full, stream, "{format}: streaming and non-streaming bytes differ");
    }
    let pcm16 = std::fs::read(out.path().join("pcm16k.full")).unwrap();
    assert_eq!(pcm16.len() / 2, (want * 16_000.0).round() as usize, "pcm at 16 kHz has the wrong length");
    assert!(rms(&decode(&pcm16, "pcm", 16_000)) > 0.05);

    let error = |name: &str, class: &str, status: u16| {
        let e = &report[name];
        assert_eq!(e["class"], class, "{name}: {e}");
        assert_eq!(e["status"], status, "{name}: {e}");
        e.clone()
    };
    assert_eq!(error("bad_voice", "BadRequestError", 400)["param"], "voice");
    assert_eq!(error("bad_speed", "BadRequestError", 400)["param"], "speed");
    assert_eq!(error("bad_model", "BadRequestError", 400)["code"], "model_not_found");
    assert_eq!(error("bad_key", "AuthenticationError", 401)["type"], "authentication_error");
}

#[test]
fn audio_goes_out_with_chunked_transfer_and_the_formats_mime_type() {
    let server = Server::start(&config(""));
    for (format, mime) in [
        ("wav", "audio/wav"),
        ("mp3", "audio/mpeg"),
        ("pcm", "audio/pcm"),
        ("flac", "audio/flac"),
        ("aac", "audio/aac"),
    ] {
        let response = server.post("/v1/audio/speech", &speech(TEXT, format));
        assert_eq!(response.status, 200, "{format}: {}", response.text());
        assert!(response.chunked, "{format}: not chunked: {:?}", response.headers);
        assert_eq!(response.header("content-type"), Some(mime));
        let got = seconds(decode(&response.body, format, 24_000).len());
        assert!((got - expected_seconds(TEXT)).abs() < 0.15, "{format}: {got} s");
    }
    let opus = server.post("/v1/audio/speech", &speech(TEXT, "opus"));
    assert!(opus.header("content-type").is_some_and(|t| t.starts_with("audio/ogg")), "{:?}", opus.headers);
    assert_eq!(&opus.body[..4], b"OggS");
}

#[test]
fn sse_sends_base64_deltas_then_done_with_usage() {
    let server = Server::start(&config(""));
    let mut body = speech(TEXT, "pcm");
    body["stream_format"] = json!("sse");
    let response = server.post("/v1/audio/speech", &body);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    let events: Vec<Value> = response
        .text()
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            serde_json::from_str(e.strip_prefix("data: ").unwrap_or_else(|| panic!("not a data event: {e:?}"))).unwrap()
        })
        .collect();
    let (done, deltas) = events.split_last().expect("events");
    assert!(deltas.len() >= 2, "expected several deltas for five words, got {}", deltas.len());
    let mut pcm = Vec::new();
    for delta in deltas {
        assert_eq!(delta["type"], "speech.audio.delta", "{delta}");
        pcm.extend(STANDARD.decode(delta["audio"].as_str().unwrap()).unwrap());
    }
    assert_eq!(pcm.len(), TEXT.len() * SAMPLES_PER_CHAR * 2, "pcm bytes in the deltas");
    assert_eq!(done["type"], "speech.audio.done");
    assert_eq!(done["usage"]["input_tokens"], TEXT.len());
    assert!(done["usage"]["total_tokens"].is_u64());
}

#[test]
fn every_error_is_openais_json_before_any_audio() {
    let server = Server::start(&format!("max_input_chars = 200\n{}", config("max_body_bytes = 65536")));
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (json!({"input": TEXT, "voice": "alloy"}), "model", None),
        (json!({"model": "tts-1", "voice": "alloy"}), "input", None),
        (json!({"model": "tts-1", "input": TEXT}), "voice", None),
        (json!({"model": "tts-1", "input": "   ", "voice": "alloy"}), "input", None),
        (json!({"model": "tts-1", "input": 42, "voice": "alloy"}), "input", None),
        (json!({"model": "nonesuch", "input": TEXT, "voice": "alloy"}), "model", Some("model_not_found")),
        (json!({"model": "tts-1", "input": TEXT, "voice": "nonesuch"}), "voice", Some("voice_not_found")),
        (json!({"model": "tts-1", "input": TEXT, "voice": "alloy", "response_format": "wma"}), "response_format", None),
        (json!({"model": "tts-1", "input": TEXT, "voice": "alloy", "speed": 0.1}), "speed", None),
        (json!({"model": "tts-1", "input": TEXT, "voice": "alloy", "speed": 4.5}), "speed", None),
        (
            json!({"model": "tts-1", "input": TEXT, "voice": "alloy", "stream_format": "websocket"}),
            "stream_format",
            None,
        ),
        (json!({"model": "tts-1", "input": "x".repeat(201), "voice": "alloy"}), "input", Some("input_too_long")),
    ];
    for (body, param, code) in cases {
        let response = server.post("/v1/audio/speech", &body);
        let error = assert_error(&response, 400, "invalid_request_error");
        assert_eq!(error["param"], param, "{body} -> {error}");
        if let Some(code) = code {
            assert_eq!(error["code"], code, "{body} -> {error}");
        }
    }
    let malformed = server.post_raw("/v1/audio/speech", &[], b"{\"model\": \"tts-1\", \"input\": ");
    assert_eq!(assert_error(&malformed, 400, "invalid_request_error")["code"], "invalid_json");

    let huge = json!({"model": "tts-1", "input": "x".repeat(100_000), "voice": "alloy"});
    let too_large = server.post("/v1/audio/speech", &huge);
    assert_eq!(assert_error(&too_large, 413, "invalid_request_error")["code"], "request_too_large");

    // The server still works, and counted the errors by model.
    assert_eq!(server.post("/v1/audio/speech", &speech(TEXT, "wav")).status, 200);
    assert_eq!(server.metric("chorus_errors_total", "model=\"example\",endpoint=\"speech\",status=\"400\""), 2.0);
}

#[test]
fn voice_aliases_map_openai_names_also_inside_blends() {
    let server = Server::start(&config(""));
    let low = server
        .post("/v1/audio/speech", &json!({"model": "tts-1", "input": "ab", "voice": "onyx", "response_format": "pcm"}));
    let tone = server
        .post("/v1/audio/speech", &json!({"model": "tts-1", "input": "ab", "voice": "tone", "response_format": "pcm"}));
    assert_eq!((low.status, tone.status), (200, 200));
    assert_ne!(low.body, tone.body, "onyx should be the low voice");
    // A blend passes through to the backend with each part mapped; the example plugin has no blends.
    let blend = server.post("/v1/audio/speech", &json!({"model": "tts-1", "input": TEXT, "voice": "alloy(2)+onyx"}));
    let error = assert_error(&blend, 400, "invalid_request_error");
    assert!(error["message"].as_str().unwrap().contains("tone(2)+low"), "{error}");
}

#[test]
fn a_client_that_hangs_up_stops_its_synthesis() {
    let server = Server::start(&config("max_input_chars = 100000"));
    // 50 000 characters = 2000 s of audio (96 MB of wav): far more than the socket buffers hold,
    // so the plugin can only finish if someone reads it all.
    let text = "lorem ipsum ".repeat(50_000 / 12);
    let full = expected_seconds(&text);
    let mut open = server.open("/v1/audio/speech", &speech(&text, "wav"));
    assert_eq!(open.status, 200);
    assert_eq!(&open.read_some(4)[..], b"RIFF", "audio arrives while the synthesis runs");
    assert_eq!(server.metric("chorus_syntheses_in_flight", "model=\"example\""), 1.0);
    open.hang_up();
    server
        .wait_until("the synthesis stops", || server.metric("chorus_syntheses_in_flight", "model=\"example\"") == 0.0);
    assert_eq!(server.metric("chorus_syntheses_cancelled_total", "model=\"example\""), 1.0);
    let made = server.metric("chorus_audio_seconds_total", "model=\"example\"");
    assert!(made > 0.0 && made < full / 4.0, "the plugin made {made} s of the {full} s asked for: it did not stop");
}

#[test]
fn a_busy_backend_queues_then_answers_429_with_retry_after() {
    // The holder's 24 000 characters would leave no room ahead in the default queue_chars.
    let server = Server::start(&config(
        "concurrency = 1\nqueue = 1\nretry_after_secs = 3\nmax_input_chars = 100000\nqueue_chars = 1000000",
    ));
    let long = "lorem ipsum ".repeat(2_000);
    let holder = server.open("/v1/audio/speech", &speech(&long, "wav"));
    assert_eq!(holder.status, 200);
    let addr = server.addr;
    let queued = std::thread::spawn(move || {
        chorus_tests::server::request(addr, "POST", "/v1/audio/speech", &[], speech(TEXT, "wav").to_string().as_bytes())
    });
    server.wait_until("one request waits in the queue", || {
        server.metric("chorus_backend_waiting", "plugin=\"example\"") == 1.0
    });
    let refused = server.post("/v1/audio/speech", &speech(TEXT, "wav"));
    let error = assert_error(&refused, 429, "rate_limit_error");
    assert_eq!(error["code"], "rate_limit_exceeded");
    assert_eq!(refused.header("retry-after"), Some("3"));
    holder.hang_up();
    let queued = queued.join().unwrap();
    assert_eq!(queued.status, 200, "the queued request runs once the slot frees: {}", queued.text());
    assert!(rms(&decode(&queued.body, "wav", 24_000)) > 0.05);
}

#[test]
fn waiting_past_the_request_timeout_is_a_504() {
    // queue_chars large enough to admit the late request, so that its wait runs out.
    let server = Server::start(&config(
        "concurrency = 1\nqueue = 4\nrequest_timeout_secs = 1\nmax_input_chars = 100000\nqueue_chars = 1000000",
    ));
    let holder = server.open("/v1/audio/speech", &speech(&"lorem ipsum ".repeat(2_000), "wav"));
    assert_eq!(holder.status, 200);
    let late = server.post("/v1/audio/speech", &speech(TEXT, "wav"));
    assert_eq!(assert_error(&late, 504, "server_error")["code"], "timeout");
    holder.hang_up();
}

#[test]
fn a_backend_that_cannot_start_is_a_503() {
    // The example plugin refuses ms_per_char over 1000 when its backend is created.
    let server =
        Server::start(&format!("{}\n[backends.example]\nms_per_char = 5000\n", config("retry_after_secs = 2")));
    let response = server.post("/v1/audio/speech", &speech(TEXT, "mp3"));
    let error = assert_error(&response, 503, "server_error");
    assert_eq!(error["code"], "backend_unavailable");
    assert!(error["message"].as_str().unwrap().contains("ms_per_char"), "{error}");
    assert_eq!(response.header("retry-after"), Some("2"));
    let voices = server.get("/v1/audio/voices?model=example");
    assert_error(&voices, 503, "server_error");
}

#[test]
fn an_api_key_is_required_when_configured() {
    let check = |server: &Server, key: &str| {
        let get = |auth: Option<&str>| {
            let header = auth.map(|a| format!("Bearer {a}"));
            let headers: Vec<(&str, &str)> = header.iter().map(|h| ("Authorization", h.as_str())).collect();
            chorus_tests::server::request(server.addr, "GET", "/v1/models", &headers, b"")
        };
        assert_eq!(assert_error(&get(None), 401, "authentication_error")["code"], "invalid_api_key");
        assert_error(&get(Some("wrong")), 401, "authentication_error");
        assert_eq!(get(Some(key)).status, 200);
        let unauthorized = server.post("/v1/audio/speech", &speech(TEXT, "wav"));
        assert_error(&unauthorized, 401, "authentication_error");
        let authorized = server.post_raw(
            "/v1/audio/speech",
            &[("Authorization", &format!("Bearer {key}"))],
            speech(TEXT, "wav").to_string().as_bytes(),
        );
        assert_eq!(authorized.status, 200);
        assert_eq!(server.get("/health").status, 200, "health needs no key");
    };
    check(&Server::start(&config("api_key = \"from-config\"")), "from-config");
    let from_env = Server::start_with(&config(""), &["chorus_plugin_example"], &[("CHORUS_API_KEY", "from-env")]);
    check(&from_env, "from-env");
}

#[test]
fn models_voices_health_and_metrics() {
    let server = Server::start(&config(""));
    let models = server.get("/v1/models").json();
    assert_eq!(models["object"], "list");
    let example =
        models["data"].as_array().unwrap().iter().find(|m| m["id"] == "example").expect("example listed").clone();
    assert_eq!(example["object"], "model");
    assert_eq!(example["owned_by"], "example");
    assert!(example["created"].is_u64());
    assert_eq!(server.get("/v1/models/tts-1").json()["owned_by"], "example");
    assert_error(&server.get("/v1/models/nonesuch"), 404, "invalid_request_error");

    let voices = server.get("/v1/audio/voices?model=example").json();
    let ids: Vec<&str> = voices["voices"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["tone", "low"]);
    assert_eq!(voices["voices"][0]["name"], "tone");
    assert_eq!(server.get("/v1/audio/voices?model=example&legacy=true").json()["voices"], json!(["tone", "low"]));
    assert_error(&server.get("/v1/audio/voices?model=nonesuch"), 400, "invalid_request_error");

    let health = server.get("/health").json();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["plugins"], json!(["example"]));

    assert_eq!(server.post("/v1/audio/speech", &speech(TEXT, "mp3")).status, 200);
    let metrics = server.get("/metrics");
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    assert_eq!(server.metric("chorus_requests_total", "model=\"example\",endpoint=\"speech\""), 1.0);
    assert_eq!(server.metric("chorus_time_to_first_audio_seconds_count", "model=\"example\""), 1.0);
    assert_eq!(server.metric("chorus_realtime_factor_count", "model=\"example\""), 1.0);
    assert_eq!(server.metric("chorus_syntheses_in_flight", "model=\"example\""), 0.0);
    let audio = server.metric("chorus_audio_seconds_total", "model=\"example\"");
    assert!((audio - expected_seconds(TEXT)).abs() < 1e-6, "{audio}");
}

#[test]
fn captioned_speech_returns_audio_and_word_timestamps_like_kokoro_fastapi() {
    let server = Server::start(&config(""));
    let words: Vec<&str> = TEXT.split(' ').collect();
    let check_words = |stamps: &[Value]| {
        let got: Vec<&str> = stamps.iter().map(|w| w["word"].as_str().unwrap()).collect();
        assert_eq!(got, words);
        let mut last = 0.0;
        for w in stamps {
            let (start, end) = (w["start_time"].as_f64().unwrap(), w["end_time"].as_f64().unwrap());
            assert!(last <= start && start < end, "{w}");
            last = end;
        }
        assert!((last - expected_seconds(TEXT)).abs() < 0.01, "the last word ends at {last}");
    };

    let whole = server.post(
        "/dev/captioned_speech",
        &json!({"input": TEXT, "voice": "alloy", "response_format": "wav", "stream": false}),
    );
    assert_eq!(whole.status, 200, "{}", whole.text());
    let body = whole.json();
    assert_eq!(body["audio_format"], "audio/wav");
    let audio = STANDARD.decode(body["audio"].as_str().unwrap()).unwrap();
    assert!((seconds(decode(&audio, "wav", 24_000).len()) - expected_seconds(TEXT)).abs() < 0.01);
    check_words(body["timestamps"].as_array().unwrap());

    let streamed =
        server.post("/dev/captioned_speech", &json!({"input": TEXT, "voice": "alloy", "response_format": "pcm"}));
    assert_eq!(streamed.status, 200, "{}", streamed.text());
    let lines: Vec<Value> = streamed.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 2, "expected a line per chunk, got {}", lines.len());
    let mut pcm = Vec::new();
    let mut stamps = Vec::new();
    for line in &lines {
        assert_eq!(line["audio_format"], "audio/pcm");
        pcm.extend(STANDARD.decode(line["audio"].as_str().unwrap()).unwrap());
        stamps.extend(line["timestamps"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(pcm.len(), TEXT.len() * SAMPLES_PER_CHAR * 2);
    check_words(&stamps);
    // Each line's words are spoken within the audio sent so far.
    let mut sent = 0.0;
    for line in &lines {
        sent += STANDARD.decode(line["audio"].as_str().unwrap()).unwrap().len() as f64 / 48_000.0;
        for w in line["timestamps"].as_array().unwrap() {
            assert!(w["end_time"].as_f64().unwrap() <= sent + 1e-6, "{w} is not in the audio sent so far ({sent} s)");
        }
    }
}

#[test]
fn sigterm_lets_a_running_response_finish_then_exits() {
    let mut server = Server::start(&config("shutdown_grace_secs = 60"));
    let text = "lorem ipsum ".repeat(300);
    let mut open = server.open("/v1/audio/speech", &speech(&text, "pcm"));
    assert_eq!(open.status, 200);
    server.signal_term();
    server.wait_until("the server logs the shutdown", || server.log().contains("shutting down"));
    let (body, clean) = open.read_to_end_cleanly();
    assert!(clean, "the response was cut off after {} bytes", body.len());
    assert_eq!(body.len(), text.len() * SAMPLES_PER_CHAR * 2);
    let status = server.wait_exit();
    assert!(status.success(), "exit status {status}");
}
