//! `GET /v1/voices` (`{"voices": [{voice_id, name, category, labels, ...}]}`) and ElevenLabs'
//! shape of `GET /v1/models` (a JSON array of `{model_id, name, can_do_text_to_speech, languages,
//! ...}`), which the server answers to requests carrying an `xi-api-key` header (OpenAI clients
//! send none and get OpenAI's list from the same path).

use super::error::ElError;
use crate::server::{AppState, catalog, error::ApiError};
use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// The voices of the default model's backend, then of every other backend already running; each
/// id works as an ElevenLabs `voice_id` as is.
pub async fn voices(State(state): State<AppState>) -> Response {
    let chorus = state.chorus.clone();
    // Creating the default backend may load a model from disk: keep it off the async workers.
    let found = tokio::task::spawn_blocking(move || {
        let (route, default) = chorus.backend(None)?;
        let mut lists = vec![(route.model, default.voices()?)];
        for backend in chorus.manager().created() {
            if backend.name() != default.name() {
                let model =
                    backend.info.models.first().map_or_else(|| backend.name().to_string(), |m| m.id.to_string());
                lists.push((model, backend.voices().unwrap_or_default()));
            }
        }
        Ok::<_, crate::Error>(lists)
    })
    .await;
    let lists = match found {
        Ok(Ok(lists)) => lists,
        Ok(Err(e)) => return ElError(ApiError::from_host(&e, state.settings.retry_after_secs)).into_response(),
        Err(e) => return ElError(ApiError::internal(format!("listing voices failed: {e}"))).into_response(),
    };
    let voices: Vec<Value> = lists
        .iter()
        .flat_map(|(model, voices)| {
            voices.iter().map(move |v| {
                json!({
                    "voice_id": v.id.as_str(),
                    "name": if v.name.is_empty() { v.id.as_str() } else { v.name.as_str() },
                    "category": "premade",
                    "description": v.description.as_str(),
                    "labels": {"language": v.language.as_str(), "gender": v.gender.as_str(), "model": model},
                    "preview_url": null,
                    "available_for_tiers": [],
                    "high_quality_base_model_ids": [model],
                })
            })
        })
        .collect();
    Json(json!({"voices": voices})).into_response()
}

/// Every model name a client can send, in ElevenLabs' model shape.
pub fn models(state: &AppState) -> Value {
    let list: Vec<Value> = catalog::models(state)
        .iter()
        .map(|(id, plugin)| {
            json!({
                "model_id": id,
                "name": id,
                "description": format!("served by the chorus plugin '{plugin}'"),
                "can_be_finetuned": false,
                "can_do_text_to_speech": true,
                "can_do_voice_conversion": false,
                "can_use_style": false,
                "can_use_speaker_boost": false,
                "serves_pro_voices": false,
                "requires_alpha_access": false,
                "languages": [],
                "token_cost_factor": 1.0,
            })
        })
        .collect();
    Value::Array(list)
}
