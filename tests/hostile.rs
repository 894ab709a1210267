//! `chorus serve` against clients that stall or send too much, on loopback with the example
//! plugin: a reader that stops reading, slowloris headers, a body that never comes, more
//! connections than allowed, long URIs and headers, wrong methods, more queued work than the
//! request timeout allows, a captioned response too large to hold. Each limit answers or closes
//! within a generous bound, is counted in /metrics, and a normal request succeeds afterwards.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chorus_tests::server::{PATIENCE, Server, assert_error, decode, raw, request, rms};
use serde_json::{Value, json};
use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

const BASE: &str = "default_model = \"example\"\n";
const TEXT: &str = "hello chorus server speaking now";

fn config(server: &str) -> String {
    format!("{BASE}[server]\n{server}\n")
}

fn speech(input: &str, format: &str) -> Value {
    json!({"model": "example", "input": input, "voice": "tone", "response_format": format})
}

/// A normal request still gets audio.
fn still_serves(server: &Server) {
    let response = server.post("/v1/audio/speech", &speech(TEXT, "wav"));
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(rms(&decode(&response.body, "wav", 24_000)) > 0.05);
}

fn limit_hits(server: &Server, limit: &str) -> f64 {
    server.metric("chorus_limits_hit_total", &format!("limit=\"{limit}\""))
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

/// A raw connection that has sent `POST /v1/audio/speech` with `body` and reads nothing yet; the
/// server closes it after the response.
fn send_speech(server: &Server, body: &Value) -> TcpStream {
    let body = body.to_string();
    let mut stream = connect(server);
    let head = format!(
        "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    stream
}

/// Read until the server closes `stream` (end of file or reset); fails after [`PATIENCE`].
fn read_until_closed(stream: &mut TcpStream) {
    let start = Instant::now();
    let mut buf = vec![0; 1 << 16];
    loop {
        assert!(start.elapsed() < PATIENCE, "the server kept the connection open");
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

#[test]
fn a_client_that_stops_reading_loses_its_slot_and_its_connection() {
    // Room for its 50 000 characters, and for a request behind them.
    let server = Server::start(&config(
        "concurrency = 1\nwrite_timeout_secs = 1\nmax_input_chars = 100000\nqueue_chars = 1000000",
    ));
    // 2000 s of pcm (96 MB): far more than the socket buffers hold.
    let text = "lorem ipsum ".repeat(50_000 / 12);
    let mut stalled = send_speech(&server, &speech(&text, "pcm"));
    let mut first = vec![0; 2048];
    stalled.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&first[..40]));

    // The only slot is the stalled response's until the write timeout frees it; this request
    // waits in the queue, then runs, while the stalled socket is still open.
    still_serves(&server);
    assert_eq!(limit_hits(&server, "write_timeout"), 1.0);
    server.wait_until("the stalled synthesis has stopped", || {
        server.metric("chorus_syntheses_in_flight", "model=\"example\"") == 0.0
    });
    assert_eq!(server.metric("chorus_syntheses_cancelled_total", "model=\"example\""), 1.0);
    let made = server.metric("chorus_audio_seconds_total", "model=\"example\"");
    assert!(made < 500.0, "the stalled synthesis made {made} s of its 2000 s: it did not stop");
    // What the socket buffers held, then the end: the server closed it.
    read_until_closed(&mut stalled);
}

/// What the kernel holds for a client that stopped reading is audio made for nobody, while the
/// slot stays taken until the write timeout can start: a small send buffer keeps it to about a
/// second of pcm. The system's own buffer (`send_buffer_bytes = 0`) held megabytes.
#[test]
fn a_stalled_reader_leaves_little_audio_in_the_kernels_buffers() {
    let held = |send_buffer: &str| {
        let server = Server::start(&config(&format!(
            "concurrency = 1\nwrite_timeout_secs = 1\nmax_input_chars = 100000\nqueue_chars = 1000000\n{send_buffer}"
        )));
        let text = "lorem ipsum ".repeat(50_000 / 12);
        let mut stalled = send_speech(&server, &speech(&text, "pcm"));
        let mut first = vec![0; 2048];
        stalled.read_exact(&mut first).unwrap();
        server
            .wait_until("the write timeout cuts the stalled response", || limit_hits(&server, "write_timeout") == 1.0);
        let mut rest = Vec::new();
        let _ = stalled.read_to_end(&mut rest);
        first.len() + rest.len()
    };
    let small = held("");
    let system = held("send_buffer_bytes = 0");
    eprintln!("a stalled reader held {small} bytes (default send buffer), {system} bytes (the system's own)");
    assert!(small < 512 * 1024, "{small} bytes of audio waited in the kernel for a client that stopped reading");
    assert!(system > 2 * small, "the system's own buffer held {system} bytes, the default {small}");
}

/// A client that takes the audio a little at a time (as a player does, at about its playback
/// speed) is not a stalled one: the server writes again every few kilobytes it reads, so the
/// write timeout never fires and the whole response arrives. On loopback the server can write
/// again only once the reader has freed a whole segment's worth of its window (64 KiB, about 4 s
/// at this rate; a real link's segments are 1.5 KB), hence a write timeout of 6 s here.
#[test]
fn a_client_that_reads_slowly_but_steadily_gets_everything() {
    let server = Server::start(&config("write_timeout_secs = 6"));
    let mut client = send_speech(&server, &speech(&"lorem ipsum ".repeat(25), "pcm"));
    // 16 kB/s for 4 s (the rate of a 128 kbit/s MP3 played as it comes), then the rest at once.
    let (mut got, mut buf) = (Vec::new(), vec![0; 4 * 1024]);
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < PATIENCE, "the response did not end");
        match client.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("the server cut the slow reader off after {} bytes: {e}", got.len()),
        }
        if start.elapsed() < Duration::from_secs(4) {
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    let text = String::from_utf8_lossy(&got[..got.len().min(200)]).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // Chunked encoding ends with an empty chunk: the response was finished, not cut.
    assert!(got.ends_with(b"0\r\n\r\n"), "the response ended early after {} bytes", got.len());
    assert!(got.len() > 500_000, "{} bytes", got.len());
    assert_eq!(limit_hits(&server, "write_timeout"), 0.0);
    still_serves(&server);
}

#[test]
fn slowloris_headers_are_cut_off_and_idle_connections_closed() {
    let server = Server::start(&config("header_timeout_secs = 1"));
    let loris: Vec<_> = (0..5)
        .map(|_| {
            let mut stream = connect(&server);
            std::thread::spawn(move || {
                let start = Instant::now();
                for byte in b"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().cycle() {
                    if stream.write_all(&[*byte]).is_err() {
                        return start.elapsed();
                    }
                    assert!(start.elapsed() < PATIENCE, "a slowloris connection stayed open");
                    std::thread::sleep(Duration::from_millis(300));
                }
                unreachable!()
            })
        })
        .collect();
    let mut idle = connect(&server);
    for thread in loris {
        thread.join().expect("each slowloris connection is closed");
    }
    read_until_closed(&mut idle);
    server.wait_until("five header timeouts counted", || limit_hits(&server, "header_timeout") == 5.0);
    // The idle connection closed too, but it is no slow client.
    assert_eq!(limit_hits(&server, "header_timeout"), 5.0);
    still_serves(&server);
}

#[test]
fn a_body_that_never_comes_is_answered_413_or_408() {
    let server = Server::start(&config("body_timeout_secs = 1"));
    let partial = |length: &str| {
        let head = format!(
            "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{"
        );
        raw(server.addr, head.as_bytes())
    };
    let huge = partial("99999999999");
    assert_eq!(assert_error(&huge, 413, "invalid_request_error")["code"], "request_too_large");
    let slow = partial("1000");
    assert_eq!(assert_error(&slow, 408, "invalid_request_error")["code"], "timeout");
    assert_eq!(slow.header("connection"), Some("close"));
    assert_eq!(limit_hits(&server, "max_body_bytes"), 1.0);
    assert_eq!(limit_hits(&server, "body_timeout"), 1.0);
    still_serves(&server);
}

#[test]
fn connections_over_the_cap_get_503_and_are_closed() {
    let server = Server::start(&config("max_connections = 3\nheader_timeout_secs = 60"));
    let held: Vec<TcpStream> = (0..3).map(|_| connect(&server)).collect();
    let over = raw(server.addr, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(assert_error(&over, 503, "server_error")["code"], "too_many_connections");
    drop(held);
    // The refused connection may be reset before its 503 is read, so ask politely until served.
    server.wait_until("a connection is accepted again", || {
        std::panic::catch_unwind(|| server.get("/health").status == 200).unwrap_or(false)
    });
    assert!(limit_hits(&server, "max_connections") >= 1.0);
    still_serves(&server);
}

#[test]
fn wrong_methods_long_uris_and_huge_headers_get_openais_error_shape() {
    let server = Server::start(&config("api_key = \"sk-test\""));
    let request = |head: &str| raw(server.addr, format!("{head}Host: x\r\nConnection: close\r\n\r\n").as_bytes());
    let wrong = request("GET /v1/audio/speech HTTP/1.1\r\n");
    assert_eq!(assert_error(&wrong, 405, "invalid_request_error")["code"], "method_not_allowed");
    assert_eq!(wrong.header("allow"), Some("POST"));
    let long = request(&format!("GET /v1/models?x={} HTTP/1.1\r\n", "a".repeat(9_000)));
    assert_eq!(assert_error(&long, 414, "invalid_request_error")["code"], "uri_too_long");
    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = request(&format!("GET /health HTTP/1.1\r\n{many}"));
    assert_eq!(assert_error(&many, 431, "invalid_request_error")["code"], "headers_too_large");
    let big = request(&format!("GET /health HTTP/1.1\r\nX-Big: {}\r\n", "b".repeat(40_000)));
    assert_error(&big, 431, "invalid_request_error");
    let metrics = request("GET /metrics HTTP/1.1\r\nAuthorization: Bearer sk-test\r\n").text();
    assert!(metrics.contains("chorus_limits_hit_total{limit=\"uri_length\"} 1\n"), "{metrics}");
    assert!(metrics.contains("chorus_limits_hit_total{limit=\"header_size\"} 2\n"), "{metrics}");

    // The auth scheme is case-insensitive.
    let lower = request("GET /v1/models HTTP/1.1\r\nAuthorization: bearer sk-test\r\n");
    assert_eq!(lower.status, 200, "{}", lower.text());
    let response = server.post_raw(
        "/v1/audio/speech",
        &[("Authorization", "BEARER sk-test")],
        speech(TEXT, "wav").to_string().as_bytes(),
    );
    assert_eq!(response.status, 200, "{}", response.text());
}

/// A slow backend (misbehave: 20 chunks, 100 ms apart, 2 s a request, no CPU) with one slot and
/// room for 100 characters ahead of a waiting request: of five requests of 48 characters that
/// arrive while one runs, two wait (48 and 96 characters ahead) and finish with 200 within the
/// request timeout; the other three get 429 with Retry-After at once. A queue counted only in
/// requests (8 here) would have let all five wait, and the last three would have got 504 after
/// the 6 s timeout.
#[test]
fn work_that_cannot_be_served_in_time_is_refused_up_front() {
    let server = Server::start_with(
        "default_model = \"misbehave-count\"\n[server]\nconcurrency = 1\nqueue = 8\nqueue_chars = 100\nrequest_timeout_secs = 6\nretry_after_secs = 2\n",
        &["chorus_fixture_misbehave"],
        &[],
    );
    let body = |input: &str, chunks: u32| {
        json!({"model": "misbehave-count", "input": input, "voice": "plain", "response_format": "pcm",
            "options": {"chunks": chunks, "delay_ms": 100}})
        .to_string()
    };
    let input = "count ".repeat(8);
    let post = {
        let addr = server.addr;
        let body = body(&input, 20);
        move || {
            let start = Instant::now();
            let response =
                request(addr, "POST", "/v1/audio/speech", &[("Content-Type", "application/json")], body.as_bytes());
            (response, start.elapsed())
        }
    };
    let holder = std::thread::spawn(post.clone());
    server.wait_until("the first request runs", || {
        server.metric("chorus_backend_running", "plugin=\"misbehave\"") == 1.0
    });
    let others: Vec<_> = (0..5).map(|_| std::thread::spawn(post.clone())).collect();
    let (first, held) = holder.join().unwrap();
    assert_eq!(first.status, 200, "{}", first.text());
    let results: Vec<_> = others.into_iter().map(|t| t.join().unwrap()).collect();
    let served: Vec<_> = results.iter().filter(|(r, _)| r.status == 200).collect();
    let refused: Vec<_> = results.iter().filter(|(r, _)| r.status == 429).collect();
    assert_eq!(
        (served.len(), refused.len()),
        (2, 3),
        "{:?}",
        results.iter().map(|(r, t)| (r.status, *t)).collect::<Vec<_>>()
    );
    for (response, took) in &served {
        assert_eq!(response.body.len(), 20 * 480 * 2, "the whole audio");
        assert!(*took > held / 2, "a served request waited for the slot ({took:?})");
    }
    for (response, took) in &refused {
        assert_eq!(assert_error(response, 429, "rate_limit_error")["code"], "rate_limit_exceeded");
        assert_eq!(response.header("retry-after"), Some("2"));
        assert!(*took < held / 2, "refused after {took:?}, not up front (a request takes {held:?})");
    }
    assert_eq!(
        server.metric("chorus_errors_total", "model=\"misbehave-count\",endpoint=\"speech\",status=\"504\""),
        0.0
    );

    // The server's own input limit defaults to OpenAI's 4096 characters.
    let long = server.post_raw("/v1/audio/speech", &[], body(&"x".repeat(4097), 1).as_bytes());
    let error = assert_error(&long, 400, "invalid_request_error");
    assert_eq!((error["code"].as_str(), error["param"].as_str()), (Some("input_too_long"), Some("input")));
    assert!(error["message"].as_str().unwrap().contains("[server] max_input_chars"), "{error}");
    let longest = server.post_raw("/v1/audio/speech", &[], body(&"x".repeat(4096), 1).as_bytes());
    assert_eq!(longest.status, 200, "{}", longest.text());
}

/// `/dev/captioned_speech` with `stream: false` holds the whole audio: past
/// `max_unstreamed_audio_bytes` the synthesis is stopped and the client told to stream; under it,
/// and streamed at any length, the audio arrives whole.
#[test]
fn captioned_speech_without_streaming_is_bounded() {
    let server = Server::start(&config("max_unstreamed_audio_bytes = 100000"));
    let captioned = |input: &str, stream: bool| {
        server.post(
            "/dev/captioned_speech",
            &json!({"model": "example", "input": input, "voice": "tone", "response_format": "pcm", "stream": stream}),
        )
    };
    // 40 ms of 24 kHz 16-bit audio per character: 1920 bytes.
    let short = captioned(TEXT, false);
    assert_eq!(short.status, 200, "{}", short.text());
    let audio = STANDARD.decode(short.json()["audio"].as_str().unwrap()).unwrap();
    assert_eq!(audio.len(), TEXT.len() * 1920);

    let long = "lorem ipsum ".repeat(17);
    let refused = captioned(&long, false);
    let error = assert_error(&refused, 400, "invalid_request_error");
    assert_eq!((error["code"].as_str(), error["param"].as_str()), (Some("audio_too_large"), Some("stream")));
    assert!(error["message"].as_str().unwrap().contains("100000"), "{error}");
    server.wait_until("the refused synthesis has stopped", || {
        server.metric("chorus_syntheses_in_flight", "model=\"example\"") == 0.0
    });
    assert_eq!(server.metric("chorus_syntheses_cancelled_total", "model=\"example\""), 1.0);

    let streamed = captioned(&long, true);
    assert_eq!(streamed.status, 200);
    let total: usize = streamed
        .text()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|line| STANDARD.decode(line["audio"].as_str().unwrap()).unwrap().len())
        .sum();
    assert_eq!(total, long.len() * 1920);
    still_serves(&server);
}

/// A captioned stream whose synthesis fails after its first chunk (misbehave-panic panics then)
/// sends that chunk's audio, then the error's line.
#[test]
fn a_captioned_stream_that_fails_midway_keeps_the_audio_it_made() {
    let server = Server::start_with("", &["chorus_fixture_misbehave"], &[]);
    let response = server.post(
        "/dev/captioned_speech",
        &json!({"model": "misbehave-panic", "input": "boom", "voice": "plain", "response_format": "pcm"}),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let lines: Vec<Value> = response.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let audio = STANDARD.decode(lines[0]["audio"].as_str().expect("the first line is audio")).unwrap();
    assert_eq!(audio.len(), 480 * 2, "the first chunk, whole");
    let error = &lines[1]["error"];
    assert!(error["message"].as_str().unwrap().contains("panic"), "{error}");
    assert_eq!(error["type"], "server_error");
}
