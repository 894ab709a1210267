//! Limits on a request before any route sees it: URI length (414), header count and size (431),
//! a declared body over `max_body_bytes` (413, without waiting for the body), and the body read
//! timeout (408: the body is given `body_timeout_secs` from the end of the headers). Answers that
//! leave a body unread close the connection. Each firing is counted in the metrics.

use super::{AppState, error::ApiError, metrics::Limit};
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body::{Frame, SizeHint};
use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

/// Longest URI (path and query) accepted.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header fields accepted.
pub const MAX_HEADERS: usize = 100;
/// Most bytes of header names and values accepted.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = &state.settings;
    let refuse = |limit: Limit, e: ApiError| {
        state.metrics.limit_hit(limit);
        closing(e.into_response())
    };
    if request.uri().path_and_query().map_or(0, |p| p.as_str().len()) > MAX_URI_BYTES {
        return refuse(Limit::UriLength, ApiError::uri_too_long(MAX_URI_BYTES));
    }
    let headers = request.headers();
    let header_bytes: usize = headers.iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return refuse(Limit::HeaderSize, ApiError::headers_too_large(MAX_HEADERS, MAX_HEADER_BYTES));
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return refuse(Limit::BodySize, ApiError::too_large(limits.max_body_bytes));
    }
    let timeout = limits.body_timeout;
    let request = request.map(|body| Body::new(Timed::new(body, timeout)));
    let response = next.run(request).await;
    if response.status() == axum::http::StatusCode::REQUEST_TIMEOUT {
        // Only the body timeout answers 408 (see `read_body`).
        state.metrics.limit_hit(Limit::BodyTimeout);
        return closing(response);
    }
    response
}

/// Ask hyper to close the connection after `response`: the request's body may be unread.
fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// 405 in OpenAI's shape (axum's own has no body).
pub async fn method_not_allowed() -> Response {
    ApiError::method_not_allowed().into_response()
}

/// The request body did not arrive in time.
#[derive(Debug)]
pub struct BodyTimedOut(pub Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body did not arrive within {:.0} s", self.0.as_secs_f64())
    }
}

impl std::error::Error for BodyTimedOut {}

/// Whether a body error (anywhere in its chain) is a [`BodyTimedOut`].
pub fn timed_out(error: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(t) = e.downcast_ref::<BodyTimedOut>() {
            return Some(t.0);
        }
        next = e.source();
    }
    None
}

/// A request body that fails with [`BodyTimedOut`] once its deadline passes.
struct Timed {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl Timed {
    fn new(inner: Body, limit: Duration) -> Self {
        Self { inner, deadline: Box::pin(tokio::time::sleep(limit)), limit }
    }
}

impl http_body::Body for Timed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending if self.deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(self.limit)))))
            }
            polled => polled,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
