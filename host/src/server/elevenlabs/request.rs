//! ElevenLabs' request fields as chorus speech parameters: the body's `text`, `model_id`,
//! `language_code` and `voice_settings.speed` (the other voice settings and ElevenLabs-only
//! fields are accepted and ignored), the query's `output_format`, and the path's voice id.
//!
//! `model_id` routes like any chorus model name; an ElevenLabs model id no plugin serves
//! (`eleven_flash_v2_5`, which agent frameworks send by default) means the default model, so a
//! client works unchanged. The voice id passes as is, through the config's voice aliases
//! (`[voice_aliases.kokoro] "21m00Tcm4TlvDq8gAEeN" = "af_bella"`).

use super::{error::ElError, format::OutputFormat};
use crate::server::{
    AppState,
    params::{MAX_SPEED, MIN_SPEED, SpeechParams, StreamFormat},
};
use serde_json::{Map, Value};

/// The fields of one ElevenLabs text-to-speech request.
#[derive(Debug, Clone)]
pub struct ElRequest {
    pub text: String,
    pub model: Option<String>,
    pub voice: String,
    pub speed: f32,
    pub language: Option<String>,
    pub output: OutputFormat,
}

impl ElRequest {
    /// From a REST body (JSON), the path's voice id and the query's output format.
    pub fn parse(state: &AppState, body: &[u8], voice: &str, output_format: Option<&str>) -> Result<Self, ElError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ElError::invalid("body", format!("the request body is not valid JSON: {e}")))?;
        let Value::Object(obj) = value else {
            return Err(ElError::invalid("body", "the request body must be a JSON object"));
        };
        let text = match obj.get("text") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::String(_)) => return Err(ElError::invalid("text", "'text' is empty: give the text to speak")),
            Some(_) => return Err(ElError::invalid("text", "'text' must be a string")),
            None => return Err(ElError::invalid("text", "missing required field 'text'")),
        };
        let model = match obj.get("model_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ElError::invalid("model_id", "'model_id' must be a string")),
        };
        let language = match obj.get("language_code") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.trim().is_empty()),
            Some(_) => return Err(ElError::invalid("language_code", "'language_code' must be a string")),
        };
        Ok(Self {
            text,
            model: model_for(state, model),
            voice: voice_id(voice)?,
            speed: speed(obj.get("voice_settings"))?,
            language,
            output: output(output_format)?,
        })
    }

    /// The same request as the OpenAI endpoints' parameters (the shared synthesis path).
    pub fn params(&self) -> SpeechParams {
        SpeechParams {
            model: self.model.clone(),
            input: self.text.clone(),
            voice: Some(self.voice.clone()),
            format: self.output.format,
            format_name: self.output.format.name().to_string(),
            stream_format: StreamFormat::Audio,
            speed: self.speed,
            instructions: None,
            language: self.language.clone(),
            sample_rate: Some(self.output.sample_rate),
            volume: None,
            options: Value::Object(Map::new()),
            stream: true,
            timestamps: true,
        }
    }
}

/// An ElevenLabs model id that routes nowhere means the default model; anything else routes (or
/// fails) as a chorus model name.
pub fn model_for(state: &AppState, model: Option<String>) -> Option<String> {
    let model = model.filter(|m| !m.trim().is_empty())?;
    let routes = state.chorus.registry().resolve(Some(&model)).is_ok();
    (routes || !model.starts_with("eleven_")).then_some(model)
}

/// The path's voice id, checked for being a plausible name.
pub fn voice_id(voice: &str) -> Result<String, ElError> {
    let voice = voice.trim();
    if voice.is_empty() || voice.len() > 200 || voice.chars().any(char::is_control) {
        return Err(ElError::invalid(
            "voice_id",
            "the voice id in the path is empty, too long or has control characters",
        ));
    }
    Ok(voice.to_string())
}

/// `voice_settings.speed` (1 when absent).
pub fn speed(settings: Option<&Value>) -> Result<f32, ElError> {
    let speed = match settings {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => match o.get("speed") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => return Err(ElError::invalid("voice_settings", "'voice_settings.speed' must be a number")),
        },
        Some(_) => return Err(ElError::invalid("voice_settings", "'voice_settings' must be an object")),
    }
    .unwrap_or(1.0);
    if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
        return Err(ElError::invalid(
            "voice_settings",
            format!("voice_settings.speed must be between {MIN_SPEED} and {MAX_SPEED}, got {speed}"),
        ));
    }
    Ok(speed as f32)
}

/// The query's `output_format`, ElevenLabs' default when absent.
pub fn output(name: Option<&str>) -> Result<OutputFormat, ElError> {
    OutputFormat::parse(name.unwrap_or(super::format::DEFAULT)).map_err(|e| ElError::invalid("output_format", e))
}
