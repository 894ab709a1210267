//! From checked parameters to a running synthesis whose first audio is ready: routing, input
//! limits, voice aliases, backend admission, and every error the backend reports before its first
//! audio. Only after this succeeds does a handler send response headers.

use super::{
    AppState,
    body::Feed,
    encode::Encoder,
    error::ApiError,
    params::{Dialect, SpeechParams},
    read_body,
    session::Session,
    voice::map_blend,
};
use crate::{AudioChunk, Event, Request, Word};
use axum::{body::Bytes, extract::rejection::BytesRejection};
use std::time::Instant;

/// A synthesis with its first audio in hand.
pub struct Started {
    pub session: Session,
    pub first: AudioChunk,
    /// Word timestamps that arrived before the first audio.
    pub words: Vec<Word>,
    pub characters: usize,
}

/// A request opened by [`open`]: its parameters, the encoded stream (first audio already in it),
/// the words that came before the first audio and the model that serves it.
pub struct Opened {
    pub params: SpeechParams,
    pub feed: Feed,
    pub words: Vec<Word>,
    pub model: String,
    pub characters: usize,
}

/// What every speech endpoint does before its response: read and validate the body, start the
/// synthesis, wait for the first audio and encode it. Errors are recorded in the metrics.
pub async fn open(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
    dialect: Dialect,
    endpoint: &'static str,
) -> Result<Opened, ApiError> {
    let body = read_body(state, body).map_err(|e| record(state, endpoint, "unknown", e))?;
    let params = SpeechParams::parse(&body, dialect).map_err(|e| record(state, endpoint, "unknown", e))?;
    let mut encoder = Encoder::new(&params)?;
    let started = start(state, &params, endpoint).await?;
    let first = encoder.push(&started.first).map_err(ApiError::internal)?;
    let (model, characters) = (started.session.model.clone(), started.characters);
    let feed = Feed::new(started.session, encoder, first, state.clone(), endpoint, state.settings.request_timeout);
    Ok(Opened { params, feed, words: started.words, model, characters })
}

/// Start `params` on its backend and wait (at most the request timeout, queue included) for the
/// first audio. `endpoint` labels the metrics.
pub async fn start(state: &AppState, params: &SpeechParams, endpoint: &'static str) -> Result<Started, ApiError> {
    let arrived = Instant::now();
    let retry = state.settings.retry_after_secs;
    let requested = params.model.clone().unwrap_or_else(|| state.chorus.registry().default_model().to_string());
    let route = match state.chorus.registry().resolve(params.model.as_deref()) {
        Ok(route) => route,
        Err(e) => {
            state.metrics.request(endpoint, &requested);
            return Err(record(state, endpoint, &requested, ApiError::from_host(&e, retry)));
        }
    };
    let model = route.model.clone();
    state.metrics.request(endpoint, &model);
    let fail = |e: ApiError| record(state, endpoint, &model, e);
    state.chorus.validate_text(&params.input).map_err(|e| fail(ApiError::from_host(&e, retry)))?;
    let characters = params.input.chars().count();
    if characters > state.settings.max_input_chars {
        return Err(fail(ApiError::input_too_long(characters, state.settings.max_input_chars)));
    }

    let plugin = route.plugin.info.name.clone();
    let aliases = state.chorus.config().voice_aliases.get(&plugin);
    let mut request = Request::new(params.input.clone());
    request.model = params.model.clone();
    request.voice = params.voice.as_deref().map(|v| map_blend(v, aliases));
    request.speed = params.speed;
    request.language = params.language.clone();
    request.instructions = params.instructions.clone();
    request.sample_rate = params.sample_rate;
    request.options = params.options.clone();

    let work = async {
        let permit = state.limits.enter(&plugin, characters).await.map_err(|_| ApiError::busy(&plugin, retry))?;
        let stream = state.chorus.synthesize(request).map_err(|e| ApiError::from_host(&e, retry))?;
        let mut session = Session::new(stream, permit, state.metrics.clone());
        let mut words = Vec::new();
        loop {
            match session.next().await {
                Some(Event::Audio(first)) => {
                    state.metrics.first_audio(&model, arrived.elapsed().as_secs_f64());
                    return Ok(Started { session, first, words, characters });
                }
                Some(Event::Words(w)) => words.extend(w),
                Some(Event::Progress(_)) => {}
                Some(Event::Error(e)) => return Err(ApiError::from_host(&e, retry)),
                Some(Event::Done(_)) => {
                    return Err(ApiError::internal(format!("backend '{plugin}' finished without producing audio")));
                }
                None => return Err(ApiError::internal(format!("backend '{plugin}' stopped without a result"))),
            }
        }
    };
    match tokio::time::timeout(state.settings.request_timeout, work).await {
        Ok(result) => result.map_err(fail),
        Err(_) => Err(fail(ApiError::timeout(format!(
            "no audio within {:.0} s (queue wait included); raise [server] request_timeout_secs for slow backends",
            state.settings.request_timeout.as_secs_f64()
        )))),
    }
}

/// Count an error response in the metrics and pass it on.
pub fn record(state: &AppState, endpoint: &'static str, model: &str, e: ApiError) -> ApiError {
    state.metrics.error(endpoint, model, e.status.as_u16());
    e
}
