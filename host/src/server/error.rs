//! Errors as OpenAI sends them: `{"error": {"message", "type", "param", "code"}}` with a status,
//! and the mapping from host and plugin errors to those statuses.

use crate::error::Error;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chorus_plugin_api::ErrorKind;
use serde_json::json;

/// An error response, decided before any audio is sent.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// OpenAI's `type`: `invalid_request_error`, `authentication_error`, `rate_limit_error`, `server_error`.
    pub kind: &'static str,
    pub param: Option<&'static str>,
    pub code: Option<&'static str>,
    /// Seconds for a `Retry-After` header (429 and 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), kind, param: None, code: None, retry_after: None }
    }

    /// 400 `invalid_request_error` about `param`.
    pub fn invalid(param: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message).param(param)
    }

    /// 400 `invalid_request_error` not tied to one field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "authentication_error", message).code("invalid_api_key")
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("the request body is over the limit of {limit} bytes ([server] max_body_bytes)"),
        )
        .code("request_too_large")
    }

    /// 400: the input is over the server's `[server] max_input_chars`.
    pub fn input_too_long(len: usize, max: usize) -> Self {
        Self::invalid(
            "input",
            format!("input is {len} characters, over the server's limit of {max} ([server] max_input_chars)"),
        )
        .code("input_too_long")
    }

    /// 400: a captioned response with `stream: false` would hold more audio than the limit.
    pub fn unstreamed_too_large(limit: usize) -> Self {
        Self::invalid(
            "stream",
            format!(
                "the audio is over {limit} bytes, the most a response with \"stream\": false holds \
                 ([server] max_unstreamed_audio_bytes); send \"stream\": true to receive it as it is made"
            ),
        )
        .code("audio_too_large")
    }

    pub fn busy(plugin: &str, retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            format!(
                "backend '{plugin}' is at its concurrency limit and its queue is full (in requests, or in characters \
                 ahead of this one: [server] queue, queue_chars); retry shortly"
            ),
        )
        .code("rate_limit_exceeded");
        e.retry_after = Some(retry_after);
        e
    }

    pub fn unavailable(message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "server_error", message).code("backend_unavailable");
        e.retry_after = Some(retry_after);
        e
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "server_error", message).code("timeout")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "invalid_request_error", message).code("not_found")
    }

    /// 408: the request's body did not arrive within `[server] body_timeout_secs`.
    pub fn body_timeout(seconds: f64) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            format!("the request body did not arrive within {seconds:.0} s ([server] body_timeout_secs)"),
        )
        .code("timeout")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "invalid_request_error", "this endpoint does not take that method")
            .code("method_not_allowed")
    }

    pub fn uri_too_long(limit: usize) -> Self {
        Self::new(StatusCode::URI_TOO_LONG, "invalid_request_error", format!("the URI is over {limit} bytes"))
            .code("uri_too_long")
    }

    pub fn headers_too_large(count: usize, bytes: usize) -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "invalid_request_error",
            format!("the request headers are over the limit of {count} fields or {bytes} bytes"),
        )
        .code("headers_too_large")
    }

    /// 503 for a connection over `[server] max_connections`.
    pub fn too_many_connections(limit: usize, retry_after: u64) -> Self {
        Self::unavailable(format!("the server has {limit} connections open ([server] max_connections)"), retry_after)
            .code("too_many_connections")
    }

    /// The whole response as HTTP/1.1 bytes, closing the connection: for answers sent without hyper.
    pub fn to_http1(&self) -> Vec<u8> {
        let body = self.body().to_string();
        let mut head = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or(""),
            body.len()
        );
        if let Some(secs) = self.retry_after {
            head.push_str(&format!("retry-after: {secs}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&body);
        head.into_bytes()
    }

    pub fn param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}})
    }

    /// Map a host error (routing, input, or the backend's first event) to a response.
    pub fn from_host(e: &Error, retry_after: u64) -> Self {
        let message = e.to_string();
        match e {
            Error::UnknownModel { .. } => Self::invalid("model", message).code("model_not_found"),
            Error::EmptyText => Self::invalid("input", message),
            Error::TextTooLong { .. } => Self::invalid("input", message).code("input_too_long"),
            // A backend that cannot start is the server's problem, whatever the plugin called it.
            Error::BackendInit { .. } => Self::unavailable(message, retry_after),
            Error::Backend { kind, .. } => Self::from_kind(*kind, message, retry_after),
            _ => Self::internal(message),
        }
    }

    fn from_kind(kind: ErrorKind, message: String, retry_after: u64) -> Self {
        match kind {
            ErrorKind::BAD_REQUEST => Self::bad_request(message),
            ErrorKind::UNKNOWN_VOICE => Self::invalid("voice", message).code("voice_not_found"),
            ErrorKind::UNSUPPORTED => Self::bad_request(message).code("unsupported"),
            ErrorKind::NOT_CONFIGURED | ErrorKind::UNAVAILABLE => Self::unavailable(message, retry_after),
            ErrorKind::RATE_LIMITED => {
                let mut e =
                    Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", message).code("rate_limit_exceeded");
                e.retry_after = Some(retry_after);
                e
            }
            _ => Self::internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_kinds_map_to_statuses() {
        let backend = |kind| Error::Backend { plugin: "p".into(), kind, message: "m".into() };
        let status = |e: &Error| ApiError::from_host(e, 1).status;
        assert_eq!(status(&backend(ErrorKind::UNKNOWN_VOICE)), StatusCode::BAD_REQUEST);
        assert_eq!(status(&backend(ErrorKind::UNAVAILABLE)), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(&backend(ErrorKind::RATE_LIMITED)), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(status(&backend(ErrorKind::INTERNAL)), StatusCode::INTERNAL_SERVER_ERROR);
        let init = Error::BackendInit { plugin: "p".into(), kind: ErrorKind::BAD_REQUEST, message: "m".into() };
        assert_eq!(status(&init), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn the_body_has_openais_shape() {
        let body = ApiError::invalid("speed", "too fast").body();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], "speed");
        assert!(body["error"]["code"].is_null());
        assert_eq!(body["error"]["message"], "too fast");
    }
}
