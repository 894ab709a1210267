//! The blocking HTTP client of a remote plugin: one service, timeouts, retries on 429 and 5xx.
//!
//! ureq 3 rather than reqwest: it is blocking without carrying a tokio runtime of its own
//! (reqwest's blocking client starts one per client, inside a plugin loaded by a tokio host),
//! it builds fast, and it reports timeouts and truncated bodies as distinct errors.
//!
//! Retries happen only while no response body has been handed to the caller, so never after
//! the first audio byte: once [`Client::send`] returns a [`Response`], its stream is final.

use crate::{
    body::BodyStream,
    failure::{HttpFailure, Service, is_retryable_status, transport_error},
    retry::{RetryPolicy, retry_after},
};
use chorus_plugin_api::{Flow, PluginError};
use std::time::Duration;
use ureq::http::{self, HeaderMap, Method};

/// Connection settings; every field has a default and a config key (see [`crate::config`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// Longest wait to establish a connection (including TLS).
    pub connect_timeout: Duration,
    /// Longest wait for any single read: for the response head or the next bytes of the body.
    pub read_timeout: Duration,
    pub retry: RetryPolicy,
    /// Sent as User-Agent.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            user_agent: concat!("chorus/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// One request, kept as data so it can be sent again on retry.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Content type and bytes.
    pub body: Option<(String, Vec<u8>)>,
}

impl Call {
    pub fn get(url: impl Into<String>) -> Self {
        Self { method: Method::GET, url: url.into(), headers: Vec::new(), body: None }
    }
    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> Self {
        Self::post(url, "application/json", body.to_string().into_bytes())
    }
    pub fn post(url: impl Into<String>, content_type: impl Into<String>, body: Vec<u8>) -> Self {
        Self { method: Method::POST, url: url.into(), headers: Vec::new(), body: Some((content_type.into(), body)) }
    }
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// `Authorization: Bearer <key>`, when `key` is not empty.
    pub fn bearer(self, key: &str) -> Self {
        if key.is_empty() { self } else { self.header("Authorization", format!("Bearer {key}")) }
    }

    fn to_http(&self) -> Result<http::Request<Vec<u8>>, http::Error> {
        let mut builder = http::Request::builder().method(self.method.clone()).uri(&self.url);
        for (k, v) in &self.headers {
            builder = builder.header(k, v);
        }
        let body = match &self.body {
            Some((content_type, bytes)) => {
                builder = builder.header("Content-Type", content_type);
                bytes.clone()
            }
            None => Vec::new(),
        };
        builder.body(body)
    }
}

/// What happens while a request is retried; the audio pump reports it as progress.
#[derive(Debug, Clone)]
pub struct RetryNotice {
    /// 1-based number of the retry about to happen, and the most there will be.
    pub retry: u32,
    pub max_retries: u32,
    pub delay: Duration,
    /// Why: `HTTP 429`, `HTTP 503`, or a transport failure.
    pub reason: String,
}

/// Hears about retries; answering [`Flow::Stop`] abandons the request (the consumer left).
pub trait RetryObserver {
    fn retrying(&mut self, notice: &RetryNotice) -> Flow;
}

impl RetryObserver for () {
    fn retrying(&mut self, _: &RetryNotice) -> Flow {
        Flow::Continue
    }
}

/// A successful (2xx) response.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: BodyStream,
}

/// A client bound to one service.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    service: Service,
    options: ClientOptions,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("service", &self.service).field("options", &self.options).finish()
    }
}

impl Client {
    /// A client for `name` (used in messages) at `base_url` (trailing slashes dropped).
    pub fn new(name: &str, base_url: &str, options: ClientOptions) -> Result<Self, PluginError> {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(PluginError::not_configured(format!(
                "{name}: base_url must start with http:// or https://, got '{base_url}'"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(options.connect_timeout))
            .timeout_resolve(Some(options.connect_timeout))
            .timeout_per_read(Some(options.read_timeout))
            .timeout_per_write(Some(options.read_timeout))
            .user_agent(options.user_agent.as_str())
            .build()
            .new_agent();
        Ok(Self { agent, service: Service { name: name.into(), base_url }, options })
    }

    pub fn service(&self) -> &Service {
        &self.service
    }
    pub fn base_url(&self) -> &str {
        &self.service.base_url
    }
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// `base_url` joined with `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.service.base_url, path.trim_start_matches('/'))
    }

    /// Send `call`, retrying on 429, 5xx and connections that fail before any answer, as the
    /// policy allows. A 2xx answer is returned with its body unread; any other final answer
    /// becomes the mapped [`PluginError`]. `Ok(None)` means the observer asked to stop.
    pub fn send(&self, call: &Call, observer: &mut dyn RetryObserver) -> Result<Option<Response>, PluginError> {
        self.send_with_status(call, observer).map_err(|(error, _)| error)
    }

    /// GET-style JSON fetch of an optional endpoint: `Ok(None)` when the server answers 404 or
    /// 405 (it does not have the endpoint), the parsed JSON on 2xx, the mapped error otherwise.
    pub fn json_if_present(&self, call: &Call) -> Result<Option<serde_json::Value>, PluginError> {
        match self.send_with_status(call, &mut ()) {
            Ok(Some(response)) => response.body.read_json().map(Some),
            Ok(None) => Ok(None),
            Err((_, Some(404 | 405))) => Ok(None),
            Err((error, _)) => Err(error),
        }
    }

    /// [`send`](Self::send), keeping the HTTP status of a final failure when there was one.
    fn send_with_status(
        &self,
        call: &Call,
        observer: &mut dyn RetryObserver,
    ) -> Result<Option<Response>, (PluginError, Option<u16>)> {
        let mut retry = 0;
        loop {
            let (failure, asked) = match self.attempt(call) {
                Attempt::Ok(response) => return Ok(Some(*response)),
                Attempt::Fatal(error, status) => return Err((error, status)),
                Attempt::Retryable { error, reason, retry_after, status } => ((error, reason, status), retry_after),
            };
            let Some(delay) = self.options.retry.delay(retry, asked) else {
                return Err((failure.0, failure.2));
            };
            retry += 1;
            let notice = RetryNotice { retry, max_retries: self.options.retry.max_retries, delay, reason: failure.1 };
            if observer.retrying(&notice).is_stop() {
                return Ok(None);
            }
            std::thread::sleep(delay);
        }
    }

    /// [`send`](Self::send) with no observer, for calls outside a synthesis (voices, readiness).
    pub fn send_quiet(&self, call: &Call) -> Result<Response, PluginError> {
        self.send(call, &mut ())?.ok_or_else(|| PluginError::internal("a request was stopped with no observer"))
    }

    /// Send `call` and parse the JSON answer.
    pub fn get_json(&self, call: &Call) -> Result<serde_json::Value, PluginError> {
        self.send_quiet(call)?.body.read_json()
    }

    fn attempt(&self, call: &Call) -> Attempt {
        let request = match call.to_http() {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Fatal(
                    PluginError::not_configured(format!(
                        "{}: cannot build a request for {} ({e}); check base_url",
                        self.service.name, call.url
                    )),
                    None,
                );
            }
        };
        let timeouts = (self.options.connect_timeout, self.options.read_timeout);
        let response = match self.agent.run(request) {
            Ok(r) => r,
            Err(e) => {
                let error = transport_error(&self.service, &call.url, &e, timeouts, None);
                // Only failures to get any answer are worth another try; timeouts and bad URLs are not.
                return match &e {
                    ureq::Error::Io(io) if is_transient(io.kind()) => Attempt::Retryable {
                        error,
                        reason: format!("connection failed: {io}"),
                        retry_after: None,
                        status: None,
                    },
                    _ => Attempt::Fatal(error, None),
                };
            }
        };
        let status = response.status().as_u16();
        let (parts, body) = response.into_parts();
        let body = BodyStream::new(body, self.service.clone(), call.url.clone(), timeouts);
        if (200..300).contains(&status) {
            return Attempt::Ok(Box::new(Response { status, headers: parts.headers, body }));
        }
        let asked = retry_after(&parts.headers);
        let text = body.read_error_text();
        let failure = HttpFailure::from_body(status, &text, asked);
        let error = failure.to_error(&self.service);
        if is_retryable_status(status) {
            Attempt::Retryable { error, reason: format!("HTTP {status}"), retry_after: asked, status: Some(status) }
        } else {
            Attempt::Fatal(error, Some(status))
        }
    }
}

enum Attempt {
    Ok(Box<Response>),
    Fatal(PluginError, Option<u16>),
    Retryable { error: PluginError, reason: String, retry_after: Option<Duration>, status: Option<u16> },
}

/// Connection resets and refusals that a server restarting behind a proxy produces.
fn is_transient(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind as K;
    matches!(kind, K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof)
}
