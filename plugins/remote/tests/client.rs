//! The client against raw HTTP/1.1 servers on 127.0.0.1: retries, refused connections, read
//! timeouts, and bodies cut short (chunked and sized) surfacing as errors.

use chorus_plugin_api::{ErrorKind, Flow};
use chorus_remote::{Call, Client, ClientOptions, RetryNotice, RetryObserver, RetryPolicy};
use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    thread,
    time::Duration,
};

/// Serve one scripted answer per connection, in order; each answer is raw bytes written after
/// the request head is read, then the connection is closed (or kept silent for `stall`).
fn serve(answers: Vec<(&'static [u8], Option<Duration>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for (answer, stall) in answers {
            let (mut stream, _) = listener.accept().unwrap();
            read_request(&mut stream);
            let _ = stream.write_all(answer);
            if let Some(d) = stall {
                thread::sleep(d);
            }
        }
    });
    url
}

fn read_request(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        seen.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&seen).to_ascii_lowercase();
    if let Some(len) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        let mut body = vec![0u8; len.trim().parse().unwrap()];
        stream.read_exact(&mut body).unwrap();
    }
}

fn client(url: &str, read_timeout_ms: u64) -> Client {
    let options = ClientOptions {
        read_timeout: Duration::from_millis(read_timeout_ms),
        retry: RetryPolicy { initial_delay: Duration::from_millis(10), ..Default::default() },
        ..Default::default()
    };
    Client::new("Fixture", url, options).unwrap()
}

fn drain(client: &Client, call: &Call) -> Result<Vec<u8>, chorus_plugin_api::PluginError> {
    let mut body = client.send_quiet(call)?.body;
    let mut all = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = body.read(&mut buf)?;
        if n == 0 {
            return Ok(all);
        }
        all.extend_from_slice(&buf[..n]);
    }
}

#[derive(Default)]
struct Seen(Vec<RetryNotice>);
impl RetryObserver for Seen {
    fn retrying(&mut self, notice: &RetryNotice) -> Flow {
        self.0.push(notice.clone());
        Flow::Continue
    }
}

#[test]
fn rate_limit_then_server_error_then_success() {
    let url = serve(vec![
        (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0.05\r\nContent-Length: 2\r\n\r\n{}", None),
        (b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd", None),
    ]);
    let c = client(&url, 2000);
    let mut seen = Seen::default();
    let response = c.send(&Call::get(c.url("/x")), &mut seen).unwrap().unwrap();
    assert_eq!(response.body.read_text().unwrap(), "abcd");
    let reasons: Vec<&str> = seen.0.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(reasons, ["HTTP 429", "HTTP 503"]);
    assert_eq!(seen.0[0].delay, Duration::from_millis(50), "Retry-After is honoured");
}

#[test]
fn bad_request_is_not_retried() {
    let url = serve(vec![(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 37\r\n\r\n{\"error\":{\"message\":\"input too long\"}}",
        None,
    )]);
    let c = client(&url, 2000);
    let mut seen = Seen::default();
    let err = c.send(&Call::get(c.url("/x")), &mut seen).err().unwrap();
    assert_eq!(err.kind, ErrorKind::BAD_REQUEST);
    assert!(err.message.contains("input too long"), "{}", err.message);
    assert!(seen.0.is_empty());
}

#[test]
fn chunked_body_cut_mid_stream_is_an_error() {
    let url = serve(vec![(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nabcdefgh\r\n8\r\nabc", None)]);
    let c = client(&url, 2000);
    let err = drain(&c, &Call::get(c.url("/x"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UNAVAILABLE);
    assert!(err.message.contains("broke after"), "{}", err.message);
}

#[test]
fn sized_body_cut_short_is_an_error() {
    let url = serve(vec![(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-this", None)]);
    let c = client(&url, 2000);
    let err = drain(&c, &Call::get(c.url("/x"))).unwrap_err();
    assert!(err.message.contains("incomplete"), "{}", err.message);
}

#[test]
fn stalled_server_hits_the_read_timeout() {
    let url = serve(vec![(b"", Some(Duration::from_secs(3)))]);
    let c = client(&url, 300);
    let err = drain(&c, &Call::get(c.url("/x"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UNAVAILABLE);
    assert!(err.message.contains("read_timeout"), "{}", err.message);
}

#[test]
fn refused_connection_names_service_and_url() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let c = client(&url, 2000);
    let err = drain(&c, &Call::get(c.url("/api/ready"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UNAVAILABLE);
    assert!(err.message.starts_with(&format!("Fixture is not reachable at {url}")), "{}", err.message);
}
