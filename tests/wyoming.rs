//! The Wyoming server (`chorus serve --wyoming`), against a real `chorus serve` on 127.0.0.1.
//!
//! Hermetic: raw frames written by hand to the socket and read back with this file's own reader,
//! against the example plugin (40 ms of tone per char at 24 kHz, so every length is exact):
//! describe, plain and streamed synthesis, the duplicate synthesize ignored, bad events answered
//! with error events while the server goes on, a client leaving mid-reply, the shared backend
//! slots, the connection cap and the idle timeout, and Wyoming alone without HTTP.
//!
//! Full tier: the real `wyoming` Python package as the client (tests/clients/wyoming_client.py),
//! also reading as Home Assistant does, for a cloud voice against the loopback OpenAI fixture and
//! for Kokoro.

use chorus_tests::{
    fixtures::openai::{self, OpenAi},
    server::{Server, python_client},
};
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::Path,
    time::Duration,
};

/// Bytes of 16-bit PCM per char the example plugin speaks.
const BYTES_PER_CHAR: usize = 960 * 2;

const WYOMING: [&str; 2] = ["--wyoming", "tcp://127.0.0.1:0"];

fn example(config: &str) -> Server {
    Server::start_args(&format!("default_model = \"example\"\n{config}"), &["chorus_plugin_example"], &[], &WYOMING)
}

/// One event as it came off the wire.
#[derive(Debug, Clone)]
struct Event {
    kind: String,
    data: Value,
    payload: Vec<u8>,
}

/// A raw Wyoming connection.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect to the Wyoming port");
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        Client { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream }
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// Send an event the way the Python package writes it: data after the header line.
    fn send(&mut self, kind: &str, data: Value) {
        let data = data.to_string();
        let header = json!({"type": kind, "version": "1.10.2", "data_length": data.len()});
        self.raw(format!("{header}\n{data}").as_bytes());
    }

    /// The next event; `None` when the server closed the connection.
    fn next(&mut self) -> Option<Event> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).expect("read a header line") == 0 {
            return None;
        }
        let header: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("header {line:?}: {e}"));
        let length = |key: &str| header.get(key).and_then(Value::as_u64).unwrap_or(0) as usize;
        let mut data = header.get("data").cloned().unwrap_or(json!({}));
        let mut extra = vec![0; length("data_length")];
        self.reader.read_exact(&mut extra).expect("read the data");
        if !extra.is_empty() {
            let more: Value = serde_json::from_slice(&extra).expect("data is JSON");
            data.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        }
        let mut payload = vec![0; length("payload_length")];
        self.reader.read_exact(&mut payload).expect("read the payload");
        Some(Event { kind: header["type"].as_str().expect("a type").to_string(), data, payload })
    }

    fn expect(&mut self) -> Event {
        self.next().expect("an event before the server closed the connection")
    }

    /// Events up to and including the first of kind `last`.
    fn until(&mut self, last: &str) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            let event = self.expect();
            let done = event.kind == last;
            events.push(event);
            if done {
                return events;
            }
        }
    }

    /// The server closes the connection (after any events still in flight).
    fn assert_closed(&mut self) {
        while let Some(event) = self.next() {
            assert_ne!(event.kind, "audio-chunk", "audio after the connection should have ended");
        }
    }
}

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).filter(|k| *k != "audio-chunk").collect()
}

fn pcm(events: &[Event]) -> usize {
    events.iter().filter(|e| e.kind == "audio-chunk").map(|e| e.payload.len()).sum()
}

fn assert_error(event: &Event, code: &str) {
    assert_eq!((event.kind.as_str(), event.data["code"].as_str()), ("error", Some(code)), "{event:?}");
    assert!(event.data["text"].as_str().is_some_and(|t| !t.is_empty()), "{event:?}");
}

/// What the HTTP endpoint answers for the same text, as 24 kHz pcm bytes.
fn http_pcm(server: &Server, text: &str, voice: &str, model: &str) -> Vec<u8> {
    let body = json!({"model": model, "input": text, "voice": voice, "response_format": "pcm"});
    let response = server.post("/v1/audio/speech", &body);
    assert_eq!(response.status, 200, "{}", response.text());
    response.body
}

// ---------------------------------------------------------------- hermetic

#[test]
fn describe_lists_a_streaming_program_with_named_voices() {
    let server = example("");
    let mut client = Client::connect(server.wyoming.unwrap());
    client.send("describe", json!({}));
    let info = client.expect();
    assert_eq!(info.kind, "info");
    let programs = info.data["tts"].as_array().expect("tts programs");
    assert_eq!(programs.len(), 1, "{info:?}");
    let program = &programs[0];
    assert_eq!((program["name"].as_str(), program["installed"].as_bool()), (Some("example"), Some(true)));
    assert_eq!(program["supports_synthesize_streaming"], true);
    let voices = program["voices"].as_array().unwrap();
    let names: Vec<&str> = voices.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["example:tone", "example:low"]);
    for voice in voices {
        assert_eq!(voice["languages"], json!(["en_US"]));
        assert_eq!(voice["installed"], true);
        assert!(voice["description"].as_str().is_some_and(|d| d.contains("sine tones")), "{voice}");
        assert_eq!(voice["attribution"]["name"], "chorus");
        assert!(voice["attribution"]["url"].as_str().is_some_and(|u| u.starts_with("https://")), "{voice}");
    }
    for domain in ["asr", "handle", "intent", "wake", "mic", "snd"] {
        assert_eq!(info.data[domain], json!([]), "{domain}");
    }
}

#[test]
fn a_plain_synthesize_is_one_audio_stream_as_long_as_the_http_answer() {
    let server = example("");
    let mut client = Client::connect(server.wyoming.unwrap());
    let text = "Hello there. Two sentences, one reply.";
    client.send("synthesize", json!({"text": text, "voice": {"name": "example:low"}}));
    let events = client.until("audio-stop");
    assert_eq!(kinds(&events), ["audio-start", "audio-stop"]);
    for event in events.iter().filter(|e| e.kind != "audio-stop") {
        assert_eq!(
            (&event.data["rate"], &event.data["width"], &event.data["channels"]),
            (&json!(24000), &json!(2), &json!(1))
        );
    }
    assert_eq!(pcm(&events), text.chars().count() * BYTES_PER_CHAR);
    let wyoming: Vec<u8> = events.iter().flat_map(|e| e.payload.clone()).collect();
    assert_eq!(wyoming, http_pcm(&server, text, "low", "example"), "the same audio as POST /v1/audio/speech");
    assert_eq!(events.last().unwrap().data["timestamp"], json!(text.chars().count() * 40));

    // The connection stays open for the next request, and the rate can be set.
    client.send("synthesize", json!({"text": "Again."}));
    assert_eq!(pcm(&client.until("audio-stop")), 6 * BYTES_PER_CHAR);
    assert_eq!(server.metric("chorus_requests_total", "model=\"example\",endpoint=\"wyoming\""), 2.0);
    let server = example("[server]\nwyoming_sample_rate = 16000\n");
    let mut client = Client::connect(server.wyoming.unwrap());
    client.send("synthesize", json!({"text": "Again."}));
    let events = client.until("audio-stop");
    assert_eq!(events[0].data["rate"], 16000);
    assert_eq!(pcm(&events), 6 * BYTES_PER_CHAR * 2 / 3);
}

#[test]
fn a_stream_speaks_each_sentence_before_the_stop_and_ignores_the_duplicate_synthesize() {
    let server = example("");
    let mut client = Client::connect(server.wyoming.unwrap());
    client.send("synthesize-start", json!({"voice": {"name": "example:tone"}}));
    client.send("synthesize-chunk", json!({"text": "First sentence. Sec"}));
    // The first sentence's audio comes while the client has not even sent the rest.
    let first = client.until("audio-stop");
    assert_eq!(kinds(&first), ["audio-start", "audio-stop"]);
    assert_eq!(pcm(&first), "First sentence. ".len() * BYTES_PER_CHAR);
    client.send("synthesize-chunk", json!({"text": "ond one"}));
    client.send("synthesize", json!({"text": "First sentence. Second one", "voice": {"name": "example:tone"}}));
    client.send("synthesize-stop", json!({}));
    let rest = client.until("synthesize-stopped");
    assert_eq!(kinds(&rest), ["audio-start", "audio-stop", "synthesize-stopped"], "the duplicate was not spoken");
    assert_eq!(pcm(&rest), "Second one".len() * BYTES_PER_CHAR);
    assert_eq!(rest[0].data["timestamp"], json!(16 * 40), "timestamps run over the whole stream");

    // An empty stream ends at once; the connection then takes a plain synthesize.
    client.send("synthesize-start", json!({}));
    client.send("synthesize-stop", json!({}));
    assert_eq!(kinds(&client.until("synthesize-stopped")), ["synthesize-stopped"]);
    client.send("synthesize", json!({"text": "Plain."}));
    assert_eq!(pcm(&client.until("audio-stop")), 6 * BYTES_PER_CHAR);
}

#[test]
fn bad_events_get_error_events_and_the_connection_goes_on() {
    let server = example("");
    let mut client = Client::connect(server.wyoming.unwrap());
    client.raw(b"{not json\n");
    assert_error(&client.expect(), "malformed-header");
    client.raw(b"{\"data\":{}}\n");
    assert_error(&client.expect(), "malformed-header");
    client.raw(b"{\"type\":\"synthesize\",\"data_length\":5}\n[1,2]");
    assert_error(&client.expect(), "malformed-data");
    client.send("synthesize-chunk", json!({"text": "no stream"}));
    assert_error(&client.expect(), "no-stream");
    client.send("select-program", json!({"name": "nothing"}));
    assert_error(&client.expect(), "unknown-program");
    client.send("synthesize-start", json!({}));
    client.send("synthesize-start", json!({}));
    assert_error(&client.expect(), "busy");
    client.send("synthesize-stop", json!({}));
    assert_eq!(client.expect().kind, "synthesize-stopped");
    // An event type the server does not know is dropped, as Wyoming servers do.
    client.send("transcribe", json!({}));
    client.send("ping", json!({"text": "still there?"}));
    let pong = client.expect();
    assert_eq!((pong.kind.as_str(), &pong.data["text"]), ("pong", &json!("still there?")));

    // A stream whose synthesis fails: the error, then synthesize-stopped once the client stops.
    client.send("synthesize-start", json!({"voice": {"name": "example:nobody"}}));
    client.send("synthesize-chunk", json!({"text": "One. Two."}));
    let failed = client.expect();
    assert_error(&failed, "synthesis-failed");
    assert!(failed.data["text"].as_str().unwrap().contains("nobody"), "{failed:?}");
    client.send("synthesize-chunk", json!({"text": " Three."}));
    client.send("synthesize-stop", json!({}));
    assert_eq!(client.expect().kind, "synthesize-stopped");
}

#[test]
fn an_error_answering_a_plain_synthesize_ends_its_connection_as_wyoming_piper_does() {
    let server = example("");
    for (request, code) in [
        (json!({"text": 5}), "bad-request"),
        (json!({"text": "  "}), "bad-request"),
        (json!({"text": "x".repeat(5000)}), "bad-request"),
        (json!({"text": "Hi.", "voice": {"name": "example:nobody"}}), "synthesis-failed"),
        (json!({"text": "Hi.", "voice": {"language": "tlh"}}), "unknown-voice"),
        (json!({"text": "Hi.", "voice": {"name": "nomodel:x"}}), "synthesis-failed"),
    ] {
        let mut client = Client::connect(server.wyoming.unwrap());
        client.send("synthesize", request.clone());
        let error = client.expect();
        assert_error(&error, code);
        // Home Assistant reads a plain synthesize until audio-stop or the end of the connection.
        client.assert_closed();
    }
    let mut client = Client::connect(server.wyoming.unwrap());
    client.send("synthesize", json!({"text": "Fine."}));
    assert_eq!(pcm(&client.until("audio-stop")), 5 * BYTES_PER_CHAR);
}

#[test]
fn broken_framing_ends_only_its_own_connection() {
    let server = example("");
    let addr = server.wyoming.unwrap();
    // A payload length that promises more than is sent, then the client leaves.
    let mut liar = Client::connect(addr);
    liar.raw(b"{\"type\":\"synthesize\",\"data\":{\"text\":\"Hi.\"},\"payload_length\":1000}\nabc");
    liar.writer.shutdown(std::net::Shutdown::Write).unwrap();
    liar.assert_closed();
    // A header line that never ends.
    let mut endless = Client::connect(addr);
    endless.raw(&vec![b'x'; 70 * 1024]);
    assert_error(&endless.expect(), "too-large");
    endless.assert_closed();
    // A length past the limit.
    let mut huge = Client::connect(addr);
    huge.raw(b"{\"type\":\"synthesize\",\"payload_length\":99999999999}\n");
    assert_error(&huge.expect(), "too-large");
    huge.assert_closed();
    // The server still serves.
    let mut client = Client::connect(addr);
    client.send("synthesize", json!({"text": "Fine."}));
    assert_eq!(pcm(&client.until("audio-stop")), 5 * BYTES_PER_CHAR);
}

#[test]
fn a_reply_holds_its_backends_slot_and_a_client_that_leaves_mid_reply_frees_it() {
    // One slot, no queue, and a reply long enough to be cut off: 300 chars at 200 ms each.
    let server = example("[backends.example]\nms_per_char = 200\n[server]\nconcurrency = 1\nqueue = 0\n");
    let mut leaver = Client::connect(server.wyoming.unwrap());
    leaver.send("synthesize", json!({"text": "word ".repeat(60)}));
    assert_eq!(leaver.expect().kind, "audio-start");
    assert_eq!(leaver.expect().kind, "audio-chunk");

    // Wyoming and HTTP share the backend's slots.
    let refused = server.post(
        "/v1/audio/speech",
        &json!({"model": "example", "input": "Hi.", "voice": "tone", "response_format": "pcm"}),
    );
    assert_eq!(refused.status, 429, "{}", refused.text());
    let mut other = Client::connect(server.wyoming.unwrap());
    other.send("synthesize", json!({"text": "Hi."}));
    assert_error(&other.expect(), "busy");
    other.assert_closed();

    drop(leaver);
    server.wait_until("the slot is free again", || {
        server
            .post(
                "/v1/audio/speech",
                &json!({"model": "example", "input": "Hi.", "voice": "tone", "response_format": "pcm"}),
            )
            .status
            == 200
    });
    let mut again = Client::connect(server.wyoming.unwrap());
    again.send("synthesize", json!({"text": "Hi."}));
    assert_eq!(pcm(&again.until("audio-stop")), 3 * 200 * 24 * 2);
}

#[test]
fn wyoming_alone_with_a_connection_cap_and_an_idle_timeout() {
    let config = "default_model = \"example\"\n[server]\nwyoming = \"tcp://127.0.0.1:0\"\nwyoming_max_connections = 1\nwyoming_idle_timeout_secs = 1\n";
    let server = Server::start_args(config, &["chorus_plugin_example"], &[], &["--no-http"]);
    assert!(!server.log().contains("http://"), "no HTTP server: {}", server.log());
    let addr = server.wyoming.expect("the config's Wyoming address");
    let mut first = Client::connect(addr);
    first.send("describe", json!({}));
    assert_eq!(first.expect().kind, "info");
    let mut second = Client::connect(addr);
    assert_error(&second.expect(), "busy");
    second.assert_closed();
    // Nothing from the first client for a second: an error event, then the connection closes,
    // and its place is free.
    assert_error(&first.expect(), "idle");
    first.assert_closed();
    server.wait_until("a new connection is served", || {
        let mut client = Client::connect(addr);
        client.send("describe", json!({}));
        client.next().is_some_and(|e| e.kind == "info")
    });
}

#[test]
fn no_http_or_zeroconf_without_a_wyoming_address_is_refused_with_the_fix() {
    let plugins = chorus_tests::plugin_dir(&["chorus_plugin_example"]);
    let home = tempfile::tempdir().unwrap();
    let out = chorus_tests::run(chorus_tests::chorus(plugins.path(), home.path()).args(["serve", "--no-http"]));
    assert!(!out.status.success());
    assert!(chorus_tests::stderr(&out).contains("--wyoming tcp://HOST:PORT"), "{}", chorus_tests::stderr(&out));
    let out =
        chorus_tests::run(chorus_tests::chorus(plugins.path(), home.path()).args(["serve", "--wyoming", "10200"]));
    assert!(!out.status.success());
    assert!(chorus_tests::stderr(&out).contains("tcp://HOST:PORT"), "{}", chorus_tests::stderr(&out));
    let out = chorus_tests::run(chorus_tests::chorus(plugins.path(), home.path()).args(["serve", "--zeroconf", "x"]));
    assert!(!out.status.success());
    let stderr = chorus_tests::stderr(&out);
    assert!(stderr.contains("zeroconf announces the Wyoming server"), "{stderr}");
}

/// With `--zeroconf NAME` the server is found by browsing for `_wyoming._tcp.local.` (here on
/// loopback, where it listens), at its port and address, and withdrawn when it stops.
#[test]
fn zeroconf_announces_the_wyoming_server_while_it_runs() {
    use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent};
    let name = format!("chorus test {}", std::process::id());
    let mut server = Server::start_args(
        "default_model = \"example\"\n",
        &["chorus_plugin_example"],
        &[],
        &["--no-http", "--wyoming", "tcp://127.0.0.1:0", "--zeroconf", &name],
    );
    server.wait_until("the server says it announced itself", || server.log().contains("announced over zeroconf"));
    let port = server.wyoming.unwrap().port();
    let browser = ServiceDaemon::new().expect("an mDNS daemon");
    browser.enable_interface(IfKind::LoopbackV4).unwrap();
    let events = browser.browse("_wyoming._tcp.local.").unwrap();
    let fullname = format!("{name}._wyoming._tcp.local.");
    let mut found = None;
    while found.is_none() {
        match events.recv_timeout(Duration::from_secs(30)).expect("the announcement within 30 s") {
            ServiceEvent::ServiceResolved(service) if service.get_fullname() == fullname => found = Some(service),
            _ => {}
        }
    }
    let service = found.unwrap();
    assert_eq!(service.get_port(), port);
    assert!(service.get_addresses_v4().iter().any(|ip| ip.is_loopback()), "{:?}", service.get_addresses());
    server.terminate();
    loop {
        match events.recv_timeout(Duration::from_secs(30)).expect("the withdrawal within 30 s") {
            ServiceEvent::ServiceRemoved(_, removed) if removed == fullname => break,
            _ => {}
        }
    }
    let _ = browser.shutdown();
}

// ---------------------------------------------------------------- the `wyoming` Python package

/// Run tests/clients/wyoming_client.py against `server` and parse what it printed.
fn client(server: &Server, args: &[&str]) -> Value {
    let port = server.wyoming.expect("a Wyoming server").port().to_string();
    let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&port];
    all.extend(args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
    python_client(server, "wyoming", "wyoming_client.py", &all)
}

fn types(result: &Value) -> Vec<String> {
    result["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .filter(|t| t != "audio-chunk")
        .collect()
}

/// `audio` is within `percent` % of `reference` in length.
fn assert_close(audio: usize, reference: usize, percent: f64) {
    let off = (audio as f64 - reference as f64).abs() / reference as f64 * 100.0;
    assert!(off <= percent, "{audio} bytes against {reference}: {off:.2} % apart, over {percent} %");
}

/// describe, a plain synthesize matching HTTP, a stream with audio before its stop and the
/// duplicate ignored, and bad events, all through the `wyoming` package, for `voice`.
fn the_package_against(server: &Server, voice: &str, model: &str, voice_id: &str, sentence: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let info = client(server, &["describe"]);
    let program = &info["tts"][0];
    assert_eq!((program["installed"].as_bool(), program["streaming"].as_bool()), (Some(true), Some(true)), "{info}");
    assert!(program["voices"].as_array().unwrap().iter().any(|v| v["name"] == voice), "{voice} listed: {info}");

    let text = format!("{sentence} {sentence}");
    let out = dir.path().join("plain.pcm");
    let plain = client(server, &["synthesize", voice, &text, out.to_str().unwrap()]);
    assert_eq!(types(&plain), ["audio-start", "audio-stop"], "{plain}");
    let reference = http_pcm(server, &text, voice_id, model);
    assert_close(std::fs::metadata(&out).unwrap().len() as usize, reference.len(), 2.0);

    let out = dir.path().join("stream.pcm");
    let (head, tail) = sentence.split_at(sentence.len() / 2);
    let first = format!("{sentence} {head}");
    let stream = client(server, &["stream", voice, out.to_str().unwrap(), &first, tail]);
    assert_eq!(stream["first_audio_before_stop"], true, "the first sentence was not spoken before the stop: {stream}");
    let seen = types(&stream);
    assert_eq!(seen.last().map(String::as_str), Some("synthesize-stopped"), "{seen:?}");
    assert_eq!(
        seen.iter().filter(|t| *t == "audio-start").count(),
        2,
        "one reply per sentence, none for the duplicate: {seen:?}"
    );
    assert!(!seen.iter().any(|t| t == "error"), "{seen:?}");
    // A stream is its sentences (the first with the space after it), each spoken as a request.
    let sentences = http_pcm(server, &format!("{sentence} "), voice_id, model).len()
        + http_pcm(server, sentence, voice_id, model).len();
    assert_close(stream["bytes"].as_u64().unwrap() as usize, sentences, 2.0);
    info
}

fn wav_of(path: &Path) -> (hound::WavSpec, f64) {
    let reader = hound::WavReader::open(path).expect("a valid WAV file");
    let spec = reader.spec();
    let seconds = reader.duration() as f64 / spec.sample_rate as f64;
    (spec, seconds)
}

#[test]
#[ignore = "needs Python with the `wyoming` package: `cargo xtask test` runs it"]
fn the_wyoming_package_describes_synthesizes_streams_and_gets_errors() {
    let server = example("");
    the_package_against(&server, "example:tone", "example", "tone", "A sentence of tones.");
    let bad = client(&server, &["bad"]);
    let codes: Vec<&str> =
        bad["errors"].as_array().unwrap().iter().map(|e| e["data"]["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["malformed-header", "no-stream", "no-stream", "unknown-program", "bad-request"], "{bad}");
    assert_eq!(bad["closed_after_synthesize_error"], true, "{bad}");
    assert_eq!(bad["then"]["tts"][0]["name"], "example", "the connection still answers describe: {bad}");
}

#[test]
#[ignore = "needs Python with the `wyoming` package: `cargo xtask test` runs it"]
fn home_assistants_reading_gets_a_wav_for_a_cloud_voice() {
    let fixture = OpenAi::start(openai::Options { api_key: Some("sk-test".into()), voices: None });
    let config = format!(
        "default_model = \"openai/tts-1\"\n[backends.cloud.openai]\nbase_url = {:?}\napi_key = \"sk-test\"\n",
        fixture.base_url
    );
    let server = Server::start_args(&config, &["chorus_plugin_cloud"], &[], &WYOMING);
    let info = client(&server, &["describe"]);
    assert_eq!(info["tts"][0]["name"], "cloud", "{info}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ha.wav");
    let result =
        client(&server, &["ha", "openai/tts-1:coral", out.to_str().unwrap(), "Hello from the cloud. ", "Twice."]);
    assert_eq!(result, json!({"wav": true, "errors": []}));
    let (spec, seconds) = wav_of(&out);
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (openai::RATE, 1, 16));
    assert!(seconds > 0.5, "{seconds} s of audio");
}

#[test]
#[ignore = "needs the Kokoro model and Python with the `wyoming` package: `cargo xtask test` runs it"]
fn kokoro_over_wyoming_through_the_package_and_as_home_assistant_reads() {
    let assets = chorus_tests::kokoro::ensure_assets();
    let config =
        format!("default_model = \"kokoro\"\n[backends.kokoro]\ndata_dir = {:?}\n", assets.display().to_string());
    let server = Server::start_args(&config, &["chorus_plugin_kokoro"], &[], &WYOMING);
    let sentence = "The quick brown fox jumps over the lazy dog.";
    let info = the_package_against(&server, "kokoro:jf_alpha", "kokoro", "jf_alpha", sentence);
    let voices = info["tts"][0]["voices"].as_array().unwrap();
    assert!(voices.iter().all(|v| v["name"].as_str().unwrap().starts_with("kokoro:")), "{info}");
    assert!(voices.iter().all(|v| v["languages"].as_array().is_some_and(|l| !l.is_empty())), "{info}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ha.wav");
    let result =
        client(&server, &["ha", "kokoro:jf_alpha", out.to_str().unwrap(), "Good morning. ", "The lights are on."]);
    assert_eq!(result, json!({"wav": true, "errors": []}));
    let (spec, seconds) = wav_of(&out);
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (24_000, 1, 16));
    assert!(seconds > 1.0, "{seconds} s of audio");
}
