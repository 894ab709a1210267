//! Turning HTTP failures into [`PluginError`]s whose kind the host maps to a status and whose
//! message tells a user what happened and what to do.
//!
//! Kinds: a server that cannot be reached or answers 5xx is `unavailable`; 401/403 is
//! `not_configured` (the key); 429 is `rate_limited`; other 4xx are `bad_request` with the
//! server's own message; a stream that breaks after audio started is `unavailable` and says so.

use chorus_plugin_api::PluginError;
use std::time::Duration;

/// Which service a client talks to, for messages: "AllTalk is not reachable at URL".
#[derive(Debug, Clone)]
pub struct Service {
    /// Human name: `OpenAI`, `ElevenLabs`, `AllTalk`.
    pub name: String,
    /// The base URL as configured.
    pub base_url: String,
}

/// A non-success HTTP answer, before it becomes a [`PluginError`]. Plugins may inspect it to
/// refine the kind (e.g. a 404 that means "no such voice").
#[derive(Debug, Clone)]
pub struct HttpFailure {
    pub status: u16,
    /// The server's message, extracted from a JSON error body when there is one, else the
    /// start of the body text.
    pub message: String,
    /// A machine code from the body (`detail.status` of ElevenLabs, `error.code` of OpenAI).
    pub code: Option<String>,
    /// The delay the server asked for (Retry-After), when it gave one.
    pub retry_after: Option<Duration>,
}

impl HttpFailure {
    /// Build from a status and the raw error body.
    pub fn from_body(status: u16, body: &str, retry_after: Option<Duration>) -> Self {
        let (message, code) = extract_message(body);
        Self { status, message, code, retry_after }
    }

    /// The error a user sees.
    pub fn to_error(&self, service: &Service) -> PluginError {
        let name = &service.name;
        let detail = if self.message.is_empty() { String::new() } else { format!(": {}", self.message) };
        let status = self.status;
        match status {
            401 => PluginError::not_configured(format!(
                "{name}: API key rejected (HTTP 401){detail}. Check api_key in the [backends] table or the environment variable"
            )),
            402 | 403 => PluginError::not_configured(format!("{name}: access refused (HTTP {status}){detail}")),
            429 => {
                let wait = self
                    .retry_after
                    .map(|d| format!(", retry after {:.0} s", d.as_secs_f64().ceil()))
                    .unwrap_or_default();
                PluginError::rate_limited(format!("{name}: rate limited or out of quota (HTTP 429{wait}){detail}"))
            }
            408 => PluginError::unavailable(format!("{name} timed out the request (HTTP 408){detail}")),
            400..=499 => PluginError::bad_request(format!("{name} refused the request (HTTP {status}){detail}")),
            _ => PluginError::unavailable(format!("{name} at {} failed with HTTP {status}{detail}", service.base_url)),
        }
    }
}

/// The message (and code) from an error body: OpenAI's `{"error": {"message", "code"}}`,
/// FastAPI's and ElevenLabs' `{"detail": "..."}` / `{"detail": {"message", "status"}}`,
/// `{"message": ...}`, `{"error": "..."}`; otherwise the body text, shortened.
pub fn extract_message(body: &str) -> (String, Option<String>) {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        let candidates = [
            (json.pointer("/error/message"), json.pointer("/error/code").or(json.pointer("/error/type"))),
            (json.pointer("/detail/message"), json.pointer("/detail/status").or(json.pointer("/detail/code"))),
            (json.get("detail").filter(|d| d.is_string()), None),
            (json.get("message"), json.get("code").or(json.get("status"))),
            (json.get("error").filter(|d| d.is_string()), None),
        ];
        for (message, code) in candidates {
            if let Some(message) = message.and_then(text) {
                return (message, code.and_then(|c| text(c).or_else(|| Some(c.to_string()))));
            }
        }
        // FastAPI validation errors: {"detail": [{"msg": ..., "loc": [...]}, ...]}.
        if let Some(items) = json.get("detail").and_then(|d| d.as_array()) {
            let msgs: Vec<String> = items.iter().filter_map(|i| i.get("msg").and_then(text)).collect();
            if !msgs.is_empty() {
                return (msgs.join("; "), None);
            }
        }
    }
    (shorten(body.trim(), 300), None)
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A transport failure (no HTTP answer, or a body that broke) as a user-facing error.
/// `audio_bytes` is how much audio had arrived when it happened.
pub fn transport_error(
    service: &Service,
    url: &str,
    err: &ureq::Error,
    timeouts: (Duration, Duration),
    audio_bytes: Option<u64>,
) -> PluginError {
    let name = &service.name;
    let base = &service.base_url;
    let (connect, read) = timeouts;
    let cause = describe(err);
    if let Some(bytes) = audio_bytes.filter(|b| *b > 0) {
        return PluginError::unavailable(format!(
            "{name}: the audio stream from {url} broke after {bytes} bytes ({cause}); the audio is incomplete"
        ));
    }
    match err {
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => PluginError::unavailable(format!(
            "{name} is not reachable at {base}: no connection within {} (connect_timeout)",
            seconds(connect)
        )),
        ureq::Error::Timeout(_) => PluginError::unavailable(format!(
            "{name} at {base} sent nothing for {} (read_timeout); the server is stalled or slow — raise read_timeout in its [backends] table if it needs longer",
            seconds(read)
        )),
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            PluginError::unavailable(format!("{name} is not reachable at {base}: {cause}"))
        }
        ureq::Error::Io(io) if is_connect_failure(io.kind()) && audio_bytes.is_none() => {
            PluginError::unavailable(format!("{name} is not reachable at {base}: {cause}"))
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
            PluginError::not_configured(format!("{name}: the URL {url} is not valid ({cause}); check base_url"))
        }
        _ if audio_bytes == Some(0) => PluginError::unavailable(format!(
            "{name}: the response from {url} broke before any audio arrived ({cause})"
        )),
        _ => PluginError::unavailable(format!("{name} at {base}: {cause}")),
    }
}

/// `0.5 s`, `60 s`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 { format!("{s:.0} s") } else { format!("{s:.1} s") }
}

fn is_connect_failure(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        kind,
        K::ConnectionRefused | K::AddrNotAvailable | K::HostUnreachable | K::NetworkUnreachable | K::NotFound
    )
}

/// A short cause for messages; ureq's own wording for I/O errors is terse.
fn describe(err: &ureq::Error) -> String {
    match err {
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::UnexpectedEof => "the server closed the connection early".into(),
            std::io::ErrorKind::ConnectionReset => "the connection was reset".into(),
            _ => io.to_string(),
        },
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        other => other.to_string(),
    }
}

/// The statuses worth retrying: 429 and every 5xx.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chorus_plugin_api::ErrorKind;

    fn svc() -> Service {
        Service { name: "AllTalk".into(), base_url: "http://127.0.0.1:7851".into() }
    }

    #[test]
    fn openai_error_body() {
        let body = r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#;
        let f = HttpFailure::from_body(401, body, None);
        assert_eq!(f.message, "Incorrect API key provided");
        assert_eq!(f.code.as_deref(), Some("invalid_api_key"));
        let e = f.to_error(&svc());
        assert_eq!(e.kind, ErrorKind::NOT_CONFIGURED);
        assert!(e.message.contains("API key rejected"), "{}", e.message);
    }

    #[test]
    fn elevenlabs_and_fastapi_bodies() {
        let (m, c) = extract_message(
            r#"{"detail":{"status":"voice_not_found","message":"A voice with that ID was not found."}}"#,
        );
        assert_eq!((m.as_str(), c.as_deref()), ("A voice with that ID was not found.", Some("voice_not_found")));
        assert_eq!(extract_message(r#"{"detail":"Not Found"}"#).0, "Not Found");
        assert_eq!(
            extract_message(r#"{"detail":[{"loc":["body","input"],"msg":"field required"}]}"#).0,
            "field required"
        );
        assert_eq!(extract_message("plain failure\n").0, "plain failure");
    }

    #[test]
    fn statuses_map_to_kinds() {
        let k = |s| HttpFailure::from_body(s, "", Some(Duration::from_secs(3))).to_error(&svc()).kind;
        assert_eq!(k(429), ErrorKind::RATE_LIMITED);
        assert_eq!(k(400), ErrorKind::BAD_REQUEST);
        assert_eq!(k(503), ErrorKind::UNAVAILABLE);
        assert_eq!(k(403), ErrorKind::NOT_CONFIGURED);
        assert!(
            HttpFailure::from_body(429, "", Some(Duration::from_secs(3)))
                .to_error(&svc())
                .message
                .contains("retry after 3 s")
        );
    }

    #[test]
    fn refused_connection_names_the_service_and_url() {
        let err = ureq::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let e = transport_error(
            &svc(),
            "http://127.0.0.1:7851/api/ready",
            &err,
            (Duration::from_secs(5), Duration::from_secs(5)),
            None,
        );
        assert_eq!(e.kind, ErrorKind::UNAVAILABLE);
        assert!(e.message.starts_with("AllTalk is not reachable at http://127.0.0.1:7851"), "{}", e.message);
    }
}
