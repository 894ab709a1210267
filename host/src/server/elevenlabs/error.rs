//! Errors in ElevenLabs' shape, `{"detail": {"status": "<code>", "message": "..."}}`, with the
//! status chorus decided (the same decisions as the OpenAI endpoints, [`ApiError`]).

use crate::server::error::ApiError;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// An [`ApiError`] answered in ElevenLabs' shape.
pub struct ElError(pub ApiError);

impl From<ApiError> for ElError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl ElError {
    /// 422: a field of the body or query is missing or wrong.
    pub fn invalid(param: &'static str, message: impl Into<String>) -> Self {
        let mut e = ApiError::invalid(param, message).code("invalid_parameters");
        e.status = StatusCode::UNPROCESSABLE_ENTITY;
        Self(e)
    }

    /// The short code ElevenLabs puts in `detail.status`.
    pub fn code(&self) -> &'static str {
        self.0.code.unwrap_or(match self.0.status.as_u16() {
            401 => "invalid_api_key",
            404 => "not_found",
            422 => "invalid_parameters",
            429 => "too_many_concurrent_requests",
            400..=499 => "invalid_request",
            _ => "internal_error",
        })
    }

    pub fn body(&self) -> Value {
        json!({"detail": {"status": self.code(), "message": self.0.message}})
    }
}

impl IntoResponse for ElError {
    fn into_response(self) -> Response {
        let mut response = (self.0.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.0.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
