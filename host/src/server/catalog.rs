//! The read-only endpoints: `GET /v1/models` (OpenAI's list shape), `GET /v1/models/{id}`,
//! `GET /v1/audio/voices?model=...` (Kokoro-FastAPI's `{"voices": [...]}`), `GET /health` and
//! `GET /metrics`. `GET /v1/models` answers in ElevenLabs' shape to ElevenLabs clients
//! (`elevenlabs/catalog.rs`).

use super::{AppState, error::ApiError};
use axum::{
    Json,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// OpenAI lists a creation time; chorus models have none, so all share this fixed one.
const CREATED: u64 = 1_700_000_000;

/// Model names a client can send, each with the plugin that serves it: each plugin's patterns
/// stripped of glob characters, the models its live backend lists, and the configured aliases,
/// keeping only names that route to a loaded plugin.
pub(super) fn models(state: &AppState) -> BTreeMap<String, String> {
    let registry = state.chorus.registry();
    let mut names: Vec<String> = Vec::new();
    for plugin in registry.plugins() {
        for pattern in &plugin.info.patterns {
            let literal = pattern.split(['*', '?', '[', '{']).next().unwrap_or_default();
            let literal = literal.trim_end_matches(['-', '_', '/', '.']);
            if !literal.is_empty() {
                names.push(literal.to_string());
            }
        }
    }
    for backend in state.chorus.manager().created() {
        names.extend(backend.info.models.iter().map(|m| m.id.to_string()));
    }
    names.extend(state.chorus.config().aliases.keys().cloned());
    names
        .into_iter()
        .filter_map(|name| registry.resolve(Some(&name)).ok().map(|route| (name, route.plugin.info.name.clone())))
        .collect()
}

fn model_object(id: &str, plugin: &str) -> Value {
    json!({"id": id, "object": "model", "created": CREATED, "owned_by": plugin})
}

/// OpenAI's list; ElevenLabs' (a bare array) for a request with an `xi-api-key` header.
pub async fn list_models(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    if headers.contains_key(super::elevenlabs::KEY_HEADER) {
        return Json(super::elevenlabs::catalog::models(&state));
    }
    let data: Vec<Value> = models(&state).iter().map(|(id, plugin)| model_object(id, plugin)).collect();
    Json(json!({"object": "list", "data": data}))
}

pub async fn get_model(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.chorus.registry().resolve(Some(&id)) {
        Ok(route) => Json(model_object(&id, &route.plugin.info.name)).into_response(),
        Err(e) => ApiError::not_found(e.to_string()).param("model").code("model_not_found").into_response(),
    }
}

#[derive(Deserialize)]
pub struct VoicesQuery {
    model: Option<String>,
    /// Kokoro-FastAPI's `?legacy=true`: voices as plain strings.
    #[serde(default)]
    legacy: bool,
}

pub async fn list_voices(State(state): State<AppState>, Query(query): Query<VoicesQuery>) -> Response {
    let retry = state.settings.retry_after_secs;
    let chorus = state.chorus.clone();
    let model = query.model.clone().filter(|m| !m.trim().is_empty());
    // Creating a backend may load a model from disk: keep it off the async workers.
    let found = tokio::task::spawn_blocking(move || {
        let (route, backend) = chorus.backend(model.as_deref())?;
        Ok::<_, crate::Error>((route.model, backend.info.default_voice.to_string(), backend.voices()?))
    })
    .await;
    let (model, default_voice, voices) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return ApiError::from_host(&e, retry).into_response(),
        Err(e) => return ApiError::internal(format!("listing voices failed: {e}")).into_response(),
    };
    let list: Vec<Value> = voices
        .iter()
        .map(|v| {
            if query.legacy {
                json!(v.id.as_str())
            } else {
                json!({"id": v.id.as_str(), "name": v.name.as_str(), "language": v.language.as_str(),
                       "gender": v.gender.as_str(), "description": v.description.as_str()})
            }
        })
        .collect();
    Json(json!({"voices": list, "model": model, "default_voice": default_voice})).into_response()
}

pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let plugins: Vec<&str> = state.chorus.plugins().iter().map(|p| p.info.name.as_str()).collect();
    Json(json!({"status": "healthy", "plugins": plugins}))
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    let loads: Vec<(String, (usize, usize))> =
        state.chorus.plugins().iter().map(|p| (p.info.name.clone(), state.limits.load(&p.info.name))).collect();
    text.push_str("# HELP chorus_backend_running Syntheses holding one of the backend's concurrency slots.\n# TYPE chorus_backend_running gauge\n");
    for (plugin, (running, _)) in &loads {
        text.push_str(&format!("chorus_backend_running{{plugin=\"{plugin}\"}} {running}\n"));
    }
    text.push_str("# HELP chorus_backend_waiting Requests queued for a slot of the backend.\n# TYPE chorus_backend_waiting gauge\n");
    for (plugin, (_, waiting)) in &loads {
        text.push_str(&format!("chorus_backend_waiting{{plugin=\"{plugin}\"}} {waiting}\n"));
    }
    super::metrics::render_ledger(&mut text, state.chorus.ledger().stats());
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}
