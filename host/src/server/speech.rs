//! `POST /v1/audio/speech`: OpenAI's speech endpoint. The encoded audio goes out with chunked
//! transfer as the backend produces it (`stream_format: "audio"`), or as server-sent events
//! (`"sse"`: `speech.audio.delta` with base64 audio, then `speech.audio.done` with usage).

use super::{
    AppState,
    body::Piece,
    error::ApiError,
    params::{Dialect, StreamFormat},
    synth::{Opened, open},
};
use axum::{
    body::{Body, Bytes},
    extract::{State, rejection::BytesRejection},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use futures_util::StreamExt;
use serde_json::json;

const ENDPOINT: &str = "speech";

pub async fn speech(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    match respond(&state, body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn respond(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let Opened { params, feed, model, characters, .. } = open(state, body, Dialect::OpenAi, ENDPOINT).await?;
    let response = match params.stream_format {
        StreamFormat::Audio => {
            let body = Body::from_stream(feed.into_stream().filter_map(|piece| async move {
                match piece {
                    Piece::Audio(bytes) => Some(Ok(Bytes::from(bytes))),
                    Piece::Words(_) | Piece::Done(_) => None,
                    // Ending the body with an error aborts the chunked transfer, so the client
                    // sees a broken download rather than a short file that looks complete.
                    Piece::Failed(e) => Some(Err(std::io::Error::other(e.message))),
                }
            }));
            let mut response = Response::new(body);
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(params.format.mime()));
            if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"speech.{}\"", params.format_name))
            {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        StreamFormat::Sse => {
            let body = Body::from_stream(feed.into_stream().filter_map(move |piece| async move {
                let event = match piece {
                    Piece::Audio(bytes) if bytes.is_empty() => return None,
                    Piece::Audio(bytes) => json!({"type": "speech.audio.delta", "audio": STANDARD.encode(bytes)}),
                    Piece::Words(_) => return None,
                    Piece::Done(report) => json!({
                        "type": "speech.audio.done",
                        "usage": {"input_tokens": characters, "output_tokens": 0, "total_tokens": characters,
                                  "audio_seconds": report.audio_seconds},
                    }),
                    Piece::Failed(e) => json!({"type": "error", "error": e.body()["error"]}),
                };
                Some(Ok::<_, std::io::Error>(Bytes::from(format!("data: {event}\n\n"))))
            }));
            let mut response = Response::new(body);
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            response
        }
    };
    let mut response = response;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if let Ok(value) = HeaderValue::from_str(&model) {
        headers.insert("x-chorus-model", value);
    }
    Ok(response)
}
