//! ElevenLabs' text-to-speech REST endpoints:
//! `POST /v1/text-to-speech/{voice_id}` and `/stream` send the encoded audio as it is made
//! (chunked); `/with-timestamps` answers one JSON object `{audio_base64, alignment,
//! normalized_alignment}` (the whole audio, held up to `[server] max_unstreamed_audio_bytes`);
//! `/stream/with-timestamps` sends one such object per line as the audio is made, each line's
//! alignment covering the characters spoken in its audio, times in seconds from the start of the
//! whole audio. Every error before the first audio is a status with ElevenLabs' error body.

use super::{alignment::Alignment, error::ElError, format::Companding, request::ElRequest};
use crate::{
    Word,
    server::{
        AppState,
        body::{Feed, Piece},
        encode::Encoder,
        error::ApiError,
        read_body,
        synth::{record, start},
    },
};
use axum::{
    body::{Body, Bytes},
    extract::{Path, Query, State, rejection::BytesRejection},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

const ENDPOINT: &str = "elevenlabs_tts";

#[derive(Deserialize)]
pub struct TtsQuery {
    output_format: Option<String>,
    /// Some clients (LiveKit's plugin) send the model in the query.
    model_id: Option<String>,
}

/// A request started, first audio in hand.
struct Opened {
    request: ElRequest,
    /// The model as routed, for metrics.
    model: String,
    feed: Feed,
    words: Vec<Word>,
    companding: Companding,
}

async fn open(
    state: &AppState,
    voice: &str,
    query: &TtsQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Opened, ElError> {
    let body = read_body(state, body).map_err(|e| record(state, ENDPOINT, "unknown", e))?;
    let mut request = ElRequest::parse(state, &body, voice, query.output_format.as_deref())
        .inspect_err(|e| state.metrics.error(ENDPOINT, "unknown", e.0.status.as_u16()))?;
    if request.model.is_none() {
        request.model = super::request::model_for(state, query.model_id.clone());
    }
    let params = request.params();
    let mut encoder = Encoder::new(&params)?;
    let started = start(state, &params, ENDPOINT).await?;
    let first = encoder.push(&started.first).map_err(ApiError::internal)?;
    let model = started.session.model.clone();
    let feed = Feed::new(started.session, encoder, first, state.clone(), ENDPOINT, state.settings.request_timeout);
    let companding = request.output.converter();
    Ok(Opened { request, model, feed, words: started.words, companding })
}

/// `POST /v1/text-to-speech/{voice_id}` and `.../stream`: the audio as it is made.
pub async fn audio(
    State(state): State<AppState>,
    Path(voice): Path<String>,
    Query(query): Query<TtsQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Opened { request, feed, mut companding, .. } = match open(&state, &voice, &query, body).await {
        Ok(opened) => opened,
        Err(e) => return e.into_response(),
    };
    let body = Body::from_stream(feed.into_stream().filter_map(move |piece| {
        let out = match piece {
            Piece::Audio(bytes) => Some(Ok(Bytes::from(companding.convert(bytes)))),
            Piece::Words(_) | Piece::Done(_) => None,
            // Ending the body with an error aborts the chunked transfer: a broken download.
            Piece::Failed(e) => Some(Err(std::io::Error::other(e.message))),
        };
        async move { out }
    }));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(request.output.mime()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `POST /v1/text-to-speech/{voice_id}/with-timestamps`: one JSON object.
pub async fn with_timestamps(
    State(state): State<AppState>,
    Path(voice): Path<String>,
    Query(query): Query<TtsQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Opened { request, model, feed, mut words, mut companding } = match open(&state, &voice, &query, body).await {
        Ok(opened) => opened,
        Err(e) => return e.into_response(),
    };
    let limit = state.settings.max_unstreamed_audio_bytes;
    let mut audio = Vec::new();
    let mut seconds = 0.0;
    let mut stream = Box::pin(feed.into_stream());
    while let Some(piece) = stream.next().await {
        match piece {
            Piece::Audio(bytes) if audio.len() + bytes.len() > limit => {
                let e = ApiError::invalid(
                    "text",
                    format!(
                        "the audio is over {limit} bytes, the most /with-timestamps holds ([server] \
                         max_unstreamed_audio_bytes); use /stream/with-timestamps"
                    ),
                )
                .code("audio_too_large");
                return ElError(record(&state, ENDPOINT, &model, e)).into_response();
            }
            Piece::Audio(bytes) => audio.extend(companding.convert(bytes)),
            Piece::Words(w) => words.extend(w),
            Piece::Done(report) => seconds = report.audio_seconds,
            Piece::Failed(e) => return ElError(e).into_response(),
        }
    }
    let alignment = Alignment::new(&request.text, 0..request.text.len(), &words, 0.0, seconds).rest();
    axum::Json(json!({
        "audio_base64": STANDARD.encode(audio),
        "alignment": alignment,
        "normalized_alignment": alignment,
    }))
    .into_response()
}

/// `POST /v1/text-to-speech/{voice_id}/stream/with-timestamps`: newline-delimited JSON objects.
pub async fn stream_with_timestamps(
    State(state): State<AppState>,
    Path(voice): Path<String>,
    Query(query): Query<TtsQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Opened { request, feed, words, companding, .. } = match open(&state, &voice, &query, body).await {
        Ok(opened) => opened,
        Err(e) => return e.into_response(),
    };
    let mut lines = Lines { text: request.text, companding, pending: Vec::new(), words, covered: 0 };
    let body = Body::from_stream(
        feed.into_stream()
            .map(move |piece| lines.line(piece))
            .filter_map(|line| async move { line.map(Ok::<_, std::io::Error>) }),
    );
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Pairs audio with the characters spoken in it: a plugin sends a chunk's words after its audio,
/// so a line goes out when the next audio (or the end) shows that the pending chunk is complete.
struct Lines {
    text: String,
    companding: Companding,
    pending: Vec<u8>,
    words: Vec<Word>,
    /// Bytes of the text already covered by a line's alignment.
    covered: usize,
}

impl Lines {
    fn line(&mut self, piece: Piece) -> Option<Bytes> {
        match piece {
            Piece::Audio(bytes) => {
                let bytes = self.companding.convert(bytes);
                if bytes.is_empty() {
                    return None;
                }
                let spoken = self.spoken_to();
                if self.pending.is_empty() || spoken <= self.covered {
                    self.pending.extend(bytes);
                    return None;
                }
                let line = self.emit(spoken, None);
                self.pending = bytes;
                Some(line)
            }
            Piece::Words(words) => {
                self.words.extend(words);
                None
            }
            Piece::Done(report) => {
                if self.pending.is_empty() && self.covered >= self.text.len() {
                    return None;
                }
                Some(self.emit(self.text.len(), Some(report.audio_seconds)))
            }
            Piece::Failed(e) => Some(Bytes::from(format!("{}\n", ElError(e).body()))),
        }
    }

    /// The end of the last word heard, with the punctuation that follows it.
    fn spoken_to(&self) -> usize {
        let Some(end) = self.words.iter().map(|w| w.end_byte).max() else { return 0 };
        let end = end.min(self.text.len());
        let rest = self.text.get(end..).unwrap_or_default();
        end + rest.chars().take_while(|c| !c.is_whitespace() && !c.is_alphanumeric()).map(char::len_utf8).sum::<usize>()
    }

    fn emit(&mut self, to: usize, end_seconds: Option<f64>) -> Bytes {
        let last_word_end = self.words.iter().map(|w| w.end).fold(0.0, f64::max);
        let end = end_seconds.unwrap_or(last_word_end).max(last_word_end);
        let alignment = Alignment::new(&self.text, self.covered..to, &self.words, 0.0, end).rest();
        self.covered = to;
        let audio = std::mem::take(&mut self.pending);
        let object =
            json!({"audio_base64": STANDARD.encode(audio), "alignment": alignment, "normalized_alignment": alignment});
        Bytes::from(format!("{object}\n"))
    }
}
