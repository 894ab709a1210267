//! `POST /dev/captioned_speech`, compatible with Kokoro-FastAPI: audio plus word timestamps.
//!
//! With `"stream": true` (the default) the body is NDJSON, one line per encoded piece:
//! `{"audio": "<base64>", "audio_format": "audio/mpeg", "timestamps": [{"word", "start_time", "end_time"}]}`,
//! each line carrying the words spoken in its audio; a synthesis that fails midway sends the audio
//! it finished, then the error's line. With `"stream": false` it is one such object holding the
//! whole file and every word, so the audio is held in memory (and again as base64): past
//! `[server] max_unstreamed_audio_bytes` the synthesis is stopped and the answer is a 400 that says
//! to stream instead. Times are seconds from the start of the audio.

use super::{
    AppState,
    body::Piece,
    error::ApiError,
    params::Dialect,
    synth::{Opened, open, record},
};
use crate::Word;
use axum::{
    body::{Body, Bytes},
    extract::{State, rejection::BytesRejection},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use futures_util::StreamExt;
use serde_json::{Value, json};

const ENDPOINT: &str = "captioned_speech";

pub async fn captioned_speech(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    match respond(&state, body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn respond(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let Opened { params, feed, words, model, .. } = open(state, body, Dialect::Captioned, ENDPOINT).await?;
    let mut captions = Captions { mime: params.format.mime(), timestamps: params.timestamps, audio: Vec::new(), words };
    let mut stream = Box::pin(feed.into_stream());
    let mut response = if params.stream {
        let lines = stream
            .map(move |piece| captions.line(piece))
            .filter_map(|line| async move { line.map(Ok::<_, std::io::Error>) });
        Response::new(Body::from_stream(lines))
    } else {
        let limit = state.settings.max_unstreamed_audio_bytes;
        while let Some(piece) = stream.next().await {
            match piece {
                Piece::Audio(bytes) if captions.audio.len() + bytes.len() > limit => {
                    // Dropping the stream stops the synthesis at its next push.
                    return Err(record(state, ENDPOINT, &model, ApiError::unstreamed_too_large(limit)));
                }
                Piece::Audio(bytes) => captions.audio.extend(bytes),
                Piece::Words(words) => captions.words.extend(words),
                Piece::Done(_) => {}
                Piece::Failed(e) => return Err(e),
            }
        }
        let audio = std::mem::take(&mut captions.audio);
        let object = captions.object(audio);
        axum::Json(object).into_response()
    };
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Pairs audio with the words spoken in it. A plugin sends a chunk's words after its audio, so a
/// line goes out when the next audio (or the end) shows that the pending chunk is complete.
struct Captions {
    mime: &'static str,
    timestamps: bool,
    audio: Vec<u8>,
    words: Vec<Word>,
}

impl Captions {
    fn object(&mut self, audio: Vec<u8>) -> Value {
        let words: Vec<Value> = if self.timestamps {
            self.words.drain(..).map(|w| json!({"word": w.word, "start_time": w.start, "end_time": w.end})).collect()
        } else {
            self.words.clear();
            Vec::new()
        };
        json!({"audio": STANDARD.encode(audio), "audio_format": self.mime, "timestamps": words})
    }

    fn line(&mut self, piece: Piece) -> Option<Bytes> {
        let object = match piece {
            Piece::Audio(bytes) => {
                if self.audio.is_empty() {
                    self.audio = bytes;
                    return None;
                }
                let pending = std::mem::replace(&mut self.audio, bytes);
                self.object(pending)
            }
            Piece::Words(words) => {
                self.words.extend(words);
                return None;
            }
            Piece::Done(_) => {
                if self.audio.is_empty() && self.words.is_empty() {
                    return None;
                }
                let pending = std::mem::take(&mut self.audio);
                self.object(pending)
            }
            Piece::Failed(e) => {
                // The audio finished before the failure is the client's: its line goes first.
                let mut lines = String::new();
                if !self.audio.is_empty() || !self.words.is_empty() {
                    let pending = std::mem::take(&mut self.audio);
                    lines = format!("{}\n", self.object(pending));
                }
                return Some(Bytes::from(format!("{lines}{}\n", e.body())));
            }
        };
        Some(Bytes::from(format!("{object}\n")))
    }
}
