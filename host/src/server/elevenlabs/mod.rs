//! ElevenLabs-compatible endpoints, for every plugin: a client of ElevenLabs' API (its SDKs,
//! agent frameworks' ElevenLabs services) works against chorus by changing its base URL.
//!
//! REST (`rest.rs`): `POST /v1/text-to-speech/{voice_id}`, `/stream`, `/with-timestamps`,
//! `/stream/with-timestamps`; `GET /v1/voices`, and `GET /v1/models` in ElevenLabs' shape for
//! requests with an `xi-api-key` header (`catalog.rs`). The API key is checked like the OpenAI
//! endpoints' bearer key, from the `xi-api-key` header. Errors are `{"detail": {"status",
//! "message"}}` (`error.rs`); `output_format` names are ElevenLabs' (`format.rs`); character
//! alignment comes from chorus's word timestamps (`alignment.rs`).
//!
//! WebSocket input streaming (`socket.rs`, outside the key check, which it does itself since the
//! key may come in the first message): `/v1/text-to-speech/{voice_id}/stream-input` and
//! `/multi-stream-input`, client messages read by `messages.rs`, each utterance a `context.rs`
//! on the shared incremental text core (`crate::textstream`).

pub mod alignment;
pub mod catalog;
pub mod context;
pub mod error;
pub mod format;
pub mod messages;
pub mod request;
pub mod rest;
pub mod socket;

use super::AppState;
use axum::{
    Router,
    routing::{get, post},
};

/// The header ElevenLabs clients send their API key in.
pub const KEY_HEADER: &str = "xi-api-key";

/// The REST routes (behind the server's API-key check).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/text-to-speech/{voice_id}", post(rest::audio))
        .route("/v1/text-to-speech/{voice_id}/stream", post(rest::audio))
        .route("/v1/text-to-speech/{voice_id}/with-timestamps", post(rest::with_timestamps))
        .route("/v1/text-to-speech/{voice_id}/stream/with-timestamps", post(rest::stream_with_timestamps))
        .route("/v1/voices", get(catalog::voices))
}

/// The WebSocket routes (they check the key themselves).
pub fn socket_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/text-to-speech/{voice_id}/stream-input", get(socket::stream_input))
        .route("/v1/text-to-speech/{voice_id}/multi-stream-input", get(socket::multi_stream_input))
}

/// Whether a request to `path` is one of ElevenLabs' (its errors then take ElevenLabs' shape).
pub fn is_elevenlabs_path(path: &str) -> bool {
    path.starts_with("/v1/text-to-speech/") || path == "/v1/voices"
}
