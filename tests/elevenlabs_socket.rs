//! ElevenLabs' WebSocket input streaming on `chorus serve` (issue #22), against the real binary
//! and the example plugin (one chunk per word, exact word times), with a real WebSocket client.
//!
//! Text fed a few characters at a time gets audio for its first sentence before its last piece is
//! sent; the alignment's characters concatenate back to the input; `close_context` stops one
//! context while another on the same socket goes on; bad input gets an error message or a close
//! code, the server keeps serving and nothing stays in flight. The official `elevenlabs` SDK's
//! `convert_realtime` (which insists on wss) runs through a TLS proxy in the full tier.

use chorus_tests::server::{PATIENCE, Server, python_client};
use serde_json::{Value, json};
use std::{
    io::ErrorKind,
    net::TcpStream,
    time::{Duration, Instant},
};
use tungstenite::{Message, WebSocket, client::IntoClientRequest, protocol::frame::coding::CloseCode};

const KEY: &str = "xi-test";
const FIRST: &str = "The first sentence is short. ";
const REST: &str = "Then a second one follows, with a clause; and more. The third ends it.";

fn start() -> Server {
    Server::start(&format!("default_model = \"example\"\n[server]\napi_key = \"{KEY}\"\n"))
}

/// What the server sent: a JSON message, or the close frame's code and reason.
#[derive(Debug)]
enum Got {
    Json(Value),
    Closed(u16, String),
}

struct Socket(WebSocket<TcpStream>);

fn connect(server: &Server, path: &str, key: Option<&str>) -> Result<Socket, tungstenite::Error> {
    let stream = TcpStream::connect(server.addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = format!("ws://{}{path}", server.addr).into_client_request()?;
    if let Some(key) = key {
        request.headers_mut().insert("xi-api-key", key.parse().unwrap());
    }
    let (socket, _) = tungstenite::client(request, stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(e) => e,
        tungstenite::HandshakeError::Interrupted(_) => panic!("the handshake was interrupted"),
    })?;
    Ok(Socket(socket))
}

impl Socket {
    fn send(&mut self, message: Value) {
        self.0.send(Message::text(message.to_string())).expect("send");
    }

    fn recv(&mut self) -> Got {
        loop {
            match self.0.read() {
                Ok(Message::Text(text)) => {
                    return Got::Json(serde_json::from_str(&text).expect("JSON from the server"));
                }
                Ok(Message::Close(frame)) => {
                    let (code, reason) =
                        frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.to_string()));
                    return Got::Closed(code, reason);
                }
                Ok(_) => {}
                Err(e) => panic!("the socket failed: {e}"),
            }
        }
    }

    /// A message if one arrives within a few milliseconds.
    fn poll(&mut self) -> Option<Got> {
        self.0.get_ref().set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        let got = match self.0.read() {
            Ok(Message::Text(text)) => Some(Got::Json(serde_json::from_str(&text).unwrap())),
            Ok(Message::Close(frame)) => Some(Got::Closed(frame.map_or(1005, |f| u16::from(f.code)), String::new())),
            Ok(_) => None,
            Err(tungstenite::Error::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(e) => panic!("the socket failed: {e}"),
        };
        self.0.get_ref().set_read_timeout(Some(PATIENCE)).unwrap();
        got
    }

    /// Every message up to the close frame, and its code.
    fn rest(&mut self) -> (Vec<Value>, u16, String) {
        let mut messages = Vec::new();
        loop {
            match self.recv() {
                Got::Json(m) => messages.push(m),
                Got::Closed(code, reason) => return (messages, code, reason),
            }
        }
    }
}

/// `/metrics` (behind the key).
fn metrics(server: &Server) -> String {
    let auth = format!("Bearer {KEY}");
    chorus_tests::server::request(server.addr, "GET", "/metrics", &[("Authorization", &auth)], b"").text()
}

/// The value of metric `name{labels}`, 0 when absent.
fn metric(server: &Server, name: &str, labels: &str) -> f64 {
    let key = format!("{name}{{{labels}}} ");
    metrics(server).lines().find_map(|l| l.strip_prefix(&key)).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
}

/// The characters of every message's alignment, in order.
fn aligned(messages: &[Value]) -> String {
    messages.iter().filter_map(|m| m["alignment"]["chars"].as_array()).flatten().map(|c| c.as_str().unwrap()).collect()
}

fn audio_bytes(messages: &[Value]) -> usize {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    messages.iter().filter_map(|m| m["audio"].as_str()).map(|a| STANDARD.decode(a).unwrap().len()).sum()
}

/// An LLM's pace: a few characters at a time, with small pauses.
fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect()).collect()
}

#[test]
fn text_streamed_token_by_token_is_spoken_before_it_ends() {
    let server = start();
    let mut socket =
        connect(&server, "/v1/text-to-speech/tone/stream-input?output_format=pcm_16000", Some(KEY)).unwrap();
    socket.send(
        json!({"text": " ", "voice_settings": {"speed": 1.0}, "generation_config": {"chunk_length_schedule": [120]}}),
    );
    let input = format!("{FIRST}{REST}");
    let pieces = tokens(&input);
    let mut messages = Vec::new();
    let mut first_sentence_heard_at = None;
    for (i, piece) in pieces.iter().enumerate() {
        socket.send(json!({"text": piece, "try_trigger_generation": false}));
        std::thread::sleep(Duration::from_millis(20));
        while let Some(got) = socket.poll() {
            let Got::Json(message) = got else { panic!("closed early: {got:?}") };
            messages.push(message);
        }
        if first_sentence_heard_at.is_none()
            && aligned(&messages).len() >= FIRST.trim_end().len()
            && audio_bytes(&messages) > 0
        {
            first_sentence_heard_at = Some(i);
        }
    }
    let heard = first_sentence_heard_at.expect("no audio for the first sentence before the text ended");
    assert!(heard < pieces.len() - 1, "the first sentence was heard at piece {heard} of {}", pieces.len());

    socket.send(json!({"text": ""}));
    let (rest, code, reason) = socket.rest();
    messages.extend(rest);
    assert_eq!(code, 1000, "{reason}");
    assert_eq!(messages.last(), Some(&json!({"isFinal": true})));
    assert_eq!(aligned(&messages), input, "the alignment's characters are the input");
    // The example plugin: 40 ms per character of each spoken segment, pcm_16000 = 2 bytes a sample.
    assert_eq!(audio_bytes(&messages), input.chars().count() * 640 * 2);
    for m in messages.iter().filter(|m| m["alignment"].is_object()) {
        let starts: Vec<i64> =
            m["alignment"]["charStartTimesMs"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
        assert_eq!(m["normalizedAlignment"], m["alignment"]);
    }
}

#[test]
fn close_context_stops_one_context_while_another_goes_on() {
    let server = start();
    let mut socket =
        connect(&server, "/v1/text-to-speech/tone/multi-stream-input?output_format=pcm_16000", Some(KEY)).unwrap();
    let long: String = (0..120).map(|i| format!("Sentence number {i} of the long context. ")).collect();
    let short = "The other context keeps talking. It ends here.";
    socket.send(json!({"text": " ", "context_id": "long"}));
    socket.send(json!({"text": long, "context_id": "long", "flush": true}));
    socket.send(json!({"text": " ", "context_id": "short"}));
    socket.send(json!({"text": short, "context_id": "short", "flush": true}));
    let mut messages = Vec::new();
    loop {
        let Got::Json(m) = socket.recv() else { panic!("closed early") };
        let long_audio = m["contextId"] == "long" && m["audio"].as_str().is_some_and(|a| !a.is_empty());
        messages.push(m);
        if long_audio {
            break;
        }
    }
    socket.send(json!({"context_id": "long", "close_context": true}));
    socket.send(json!({"close_socket": true}));
    let (rest, code, reason) = socket.rest();
    messages.extend(rest);
    assert_eq!(code, 1000, "{reason}");
    let of = |id: &str| messages.iter().filter(|m| m["contextId"] == id).cloned().collect::<Vec<_>>();
    let (long_messages, short_messages) = (of("long"), of("short"));
    assert_eq!(aligned(&short_messages), short, "the other context was spoken whole");
    assert_eq!(short_messages.last().map(|m| &m["isFinal"]), Some(&json!(true)));
    let spoken = aligned(&long_messages);
    assert!(long.starts_with(&spoken), "what was spoken of the closed context is its beginning");
    assert!(spoken.len() < long.len() / 2, "the closed context went on: {} of {} chars", spoken.len(), long.len());
    assert_eq!(long_messages.last().map(|m| &m["isFinal"]), Some(&json!(true)), "the closed context ends with isFinal");
    assert_eq!(long_messages.iter().filter(|m| m["isFinal"] == true).count(), 1);
    server.wait_until("nothing left in flight", || {
        metric(&server, "chorus_syntheses_in_flight", "model=\"example\"") == 0.0
    });
}

#[test]
fn bad_messages_get_an_error_and_the_socket_stays_usable() {
    let server = start();
    let mut socket =
        connect(&server, "/v1/text-to-speech/tone/stream-input?output_format=pcm_16000", Some(KEY)).unwrap();
    socket.0.send(Message::text("{not json")).unwrap();
    let Got::Json(error) = socket.recv() else { panic!() };
    assert_eq!(error["error"], "invalid_message");
    assert!(error["message"].as_str().unwrap().contains("JSON"), "{error}");
    socket.0.send(Message::binary(vec![1u8, 2, 3])).unwrap();
    let Got::Json(error) = socket.recv() else { panic!() };
    assert!(error["message"].as_str().unwrap().contains("binary"), "{error}");
    socket.send(json!({"text": 5}));
    let Got::Json(error) = socket.recv() else { panic!() };
    assert!(error["message"].as_str().unwrap().contains("'text'"), "{error}");
    // Still usable.
    socket.send(json!({"text": " "}));
    socket.send(json!({"text": "Hello there. "}));
    socket.send(json!({"text": ""}));
    let (messages, code, _) = socket.rest();
    assert_eq!((code, aligned(&messages).as_str()), (1000, "Hello there. "));
}

#[test]
fn unknown_voices_oversize_messages_and_wrong_keys_close_with_a_reason() {
    let server = start();
    let mut voice = connect(&server, "/v1/text-to-speech/nobody/stream-input", Some(KEY)).unwrap();
    voice.send(json!({"text": "Hello there. "}));
    voice.send(json!({"text": ""}));
    let (messages, code, _) = voice.rest();
    assert_eq!(code, 1008);
    assert_eq!(messages.last().unwrap()["error"], "voice_not_found", "{messages:?}");

    // On a multi-context socket the failed context ends with its error; the socket stays.
    let mut multi = connect(&server, "/v1/text-to-speech/nobody/multi-stream-input", Some(KEY)).unwrap();
    multi.send(json!({"text": "Hello there. ", "context_id": "c1", "flush": true}));
    let Got::Json(error) = multi.recv() else { panic!("closed") };
    assert_eq!((&error["error"], &error["contextId"]), (&json!("voice_not_found"), &json!("c1")), "{error}");
    multi.send(json!({"close_socket": true}));
    assert_eq!(multi.rest().1, 1000);

    let mut big = connect(&server, "/v1/text-to-speech/tone/stream-input", Some(KEY)).unwrap();
    big.send(json!({"text": "a".repeat(70_000)}));
    let (messages, code, _) = big.rest();
    assert_eq!((code, &messages[0]["error"]), (u16::from(CloseCode::Size), &json!("message_too_big")));

    let mut no_key = connect(&server, "/v1/text-to-speech/tone/stream-input", None).unwrap();
    no_key.send(json!({"text": " ", "xi_api_key": "wrong"}));
    let (messages, code, _) = no_key.rest();
    assert_eq!((code, &messages[0]["error"]), (1008, &json!("invalid_api_key")));
    // The key in the first message, as ElevenLabs allows.
    let mut in_message = connect(&server, "/v1/text-to-speech/tone/stream-input", None).unwrap();
    in_message.send(json!({"text": " ", "xi_api_key": KEY}));
    in_message.send(json!({"text": "Fine. "}));
    in_message.send(json!({"text": ""}));
    assert_eq!(in_message.rest().1, 1000);

    let refused = connect(&server, "/v1/text-to-speech/tone/stream-input?output_format=wma_1", Some(KEY));
    match refused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 422),
        other => panic!("a bad output_format should be refused before the upgrade: {:?}", other.is_ok()),
    }
    let idle = connect(&server, "/v1/text-to-speech/tone/stream-input?inactivity_timeout=1", Some(KEY));
    let (messages, code, _) = idle.unwrap().rest();
    assert_eq!((code, &messages[0]["error"]), (1008, &json!("input_timeout_exceeded")));
}

#[test]
fn a_client_that_vanishes_mid_stream_frees_everything() {
    let server = start();
    let mut socket =
        connect(&server, "/v1/text-to-speech/tone/stream-input?output_format=pcm_16000", Some(KEY)).unwrap();
    let long: String = (0..100).map(|i| format!("Sentence number {i} goes on. ")).collect();
    socket.send(json!({"text": long}));
    loop {
        let Got::Json(m) = socket.recv() else { panic!("closed early") };
        if m["audio"].as_str().is_some_and(|a| !a.is_empty()) {
            break;
        }
    }
    assert_eq!(metric(&server, "chorus_syntheses_in_flight", "model=\"example\""), 1.0, "{}", metrics(&server));
    drop(socket);
    let started = Instant::now();
    server.wait_until("the vanished client's synthesis is stopped", || {
        metric(&server, "chorus_syntheses_in_flight", "model=\"example\"") == 0.0
            && metric(&server, "chorus_backend_running", "plugin=\"example\"") == 0.0
    });
    assert!(started.elapsed() < PATIENCE);
    let metrics = metrics(&server);
    assert!(metrics.contains("chorus_segment_first_audio_seconds_count{model=\"example\"}"), "{metrics}");
    assert!(metrics.contains("chorus_stream_lag_seconds_count{model=\"example\"}"), "{metrics}");
    // The server keeps serving.
    let mut again = connect(&server, "/v1/text-to-speech/tone/stream-input", Some(KEY)).unwrap();
    again.send(json!({"text": "Still here. "}));
    again.send(json!({"text": ""}));
    assert_eq!(again.rest().1, 1000);
}

/// The official `elevenlabs` SDK's `convert_realtime`, unmodified but for its base URL: it only
/// speaks wss, so the script puts a TLS proxy with a throwaway certificate in front of chorus.
#[test]
#[ignore = "needs Python with the `elevenlabs` package and openssl: `cargo xtask test` runs it"]
fn the_official_sdk_streams_text_in_over_websocket() {
    let server = start();
    let input = format!("{FIRST}{REST}");
    let report =
        python_client(&server, "elevenlabs", "elevenlabs_realtime.py", &[&server.addr.to_string(), &KEY, &input]);
    // 40 ms a character at 24 kHz, 2 bytes a sample; the SDK's chunker ends the text with a space.
    assert_eq!(report["bytes"].as_u64(), Some(((input.chars().count() + 1) * 960 * 2) as u64), "{report}");
    assert!(report["chunks"].as_u64().unwrap() >= 2, "{report}");
}

/// The real Kokoro model behind the WebSocket, fed an LLM's way: the first sentence's audio
/// arrives before the last piece of text is sent, and the alignment spells the input.
#[test]
#[ignore = "needs the Kokoro model: `cargo xtask test` runs it"]
fn kokoro_speaks_streamed_text_before_it_ends() {
    let config = format!(
        "default_model = \"kokoro\"\n[backends.kokoro]\ndata_dir = {:?}\n[server]\napi_key = \"{KEY}\"\n",
        chorus_tests::kokoro::ensure_assets().display().to_string()
    );
    let server = Server::start_with(&config, &["chorus_plugin_kokoro"], &[]);
    // Loading the model is not what this test measures.
    let warm = server.post_raw("/v1/text-to-speech/jf_alpha", &[("xi-api-key", KEY)], br#"{"text": "Warm up."}"#);
    assert_eq!(warm.status, 200, "{}", warm.text());
    let mut socket = connect(
        &server,
        "/v1/text-to-speech/jf_alpha/stream-input?model_id=eleven_flash_v2_5&output_format=pcm_24000",
        Some(KEY),
    )
    .unwrap();
    socket.send(json!({"text": " "}));
    let input =
        format!("{FIRST}{REST} And one more sentence, long enough to be still arriving while the first is spoken.");
    let pieces = tokens(&input);
    let mut messages = Vec::new();
    let mut heard_at = None;
    for (i, piece) in pieces.iter().enumerate() {
        socket.send(json!({"text": piece}));
        std::thread::sleep(Duration::from_millis(50));
        while let Some(got) = socket.poll() {
            let Got::Json(message) = got else { panic!("closed early: {got:?}") };
            assert!(message.get("error").is_none(), "{message}");
            messages.push(message);
        }
        if heard_at.is_none() && audio_bytes(&messages) > 0 {
            heard_at = Some(i);
        }
    }
    let heard = heard_at.expect("no audio before the text ended");
    assert!(heard < pieces.len() - 1, "first audio at piece {heard} of {}", pieces.len());
    socket.send(json!({"text": ""}));
    let (rest, code, reason) = socket.rest();
    messages.extend(rest);
    assert_eq!(code, 1000, "{reason}");
    assert_eq!(aligned(&messages), input);
    // Speech, not silence: at least 40 ms of audio per character.
    assert!(audio_bytes(&messages) > input.len() * 24 * 2 * 40, "{} bytes", audio_bytes(&messages));
}

/// A socket's context takes one of the backend's concurrency slots while it lives: with one slot
/// and no queue, a REST request meanwhile is refused with 429 and a second socket with 1013; once
/// the first socket ends, both work again.
#[test]
fn sockets_count_against_the_backend_concurrency() {
    let server = Server::start(&format!(
        "default_model = \"example\"\n[server]\napi_key = \"{KEY}\"\nconcurrency = 1\nqueue = 0\n"
    ));
    let mut first = connect(&server, "/v1/text-to-speech/tone/stream-input", Some(KEY)).unwrap();
    first.send(json!({"text": " "}));
    server.wait_until("the first socket holds the slot", || {
        metric(&server, "chorus_backend_running", "plugin=\"example\"") == 1.0
    });
    let rest =
        |server: &Server| server.post_raw("/v1/text-to-speech/tone", &[("xi-api-key", KEY)], br#"{"text": "Hi."}"#);
    let refused = rest(&server);
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.json()["detail"]["status"], "rate_limit_exceeded");
    let mut second = connect(&server, "/v1/text-to-speech/tone/stream-input", Some(KEY)).unwrap();
    second.send(json!({"text": " "}));
    let (messages, code, _) = second.rest();
    assert_eq!((code, &messages[0]["error"]), (1013, &json!("too_many_concurrent_requests")));

    first.send(json!({"text": "Done now. "}));
    first.send(json!({"text": ""}));
    assert_eq!(first.rest().1, 1000);
    server.wait_until("the slot is free", || metric(&server, "chorus_backend_running", "plugin=\"example\"") == 0.0);
    assert_eq!(rest(&server).status, 200);
}

/// An open socket keeps its connection's place under `max_connections` (and in the gauge):
/// with a cap of two, two sockets leave no room for a third connection until one closes.
#[test]
fn sockets_count_against_the_connection_cap() {
    let server =
        Server::start(&format!("default_model = \"example\"\n[server]\napi_key = \"{KEY}\"\nmax_connections = 2\n"));
    let mut first = connect(&server, "/v1/text-to-speech/tone/stream-input", Some(KEY)).unwrap();
    let mut second = connect(&server, "/v1/text-to-speech/tone/stream-input", Some(KEY)).unwrap();
    let refused = chorus_tests::server::request(server.addr, "GET", "/health", &[], b"");
    assert_eq!(refused.status, 503, "{}", refused.text());
    for socket in [&mut first, &mut second] {
        socket.send(json!({"text": "Bye. "}));
        socket.send(json!({"text": ""}));
        assert_eq!(socket.rest().1, 1000);
    }
    drop((first, second));
    server.wait_until("the sockets' places are free", || {
        chorus_tests::server::request(server.addr, "GET", "/health", &[], b"").status == 200
    });
}

/// A client far ahead of the audio is told so: text past the limit of characters waiting to be
/// spoken is refused with an error, the socket stays open, and leaving frees everything.
#[test]
fn text_far_ahead_of_the_audio_is_refused() {
    let server = start();
    let mut socket = connect(&server, "/v1/text-to-speech/tone/stream-input", Some(KEY)).unwrap();
    let words = "word ".repeat(12_000);
    socket.send(json!({"text": words}));
    socket.send(json!({"text": words}));
    let refused = loop {
        let Got::Json(m) = socket.recv() else { panic!("closed") };
        if m.get("error").is_some() {
            break m;
        }
    };
    assert_eq!(refused["error"], "too_much_text", "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("waiting to be spoken"), "{refused}");
    drop(socket);
    server.wait_until("nothing left in flight", || {
        metric(&server, "chorus_syntheses_in_flight", "model=\"example\"") == 0.0
    });
}
