//! OpenAI's speech endpoint, and any OpenAI-compatible server (chorus serve, Kokoro-FastAPI,
//! AllTalk's /v1) reached through another base URL.
//!
//! Protocol (openai/openai-python): `POST {base}/audio/speech` (src/openai/resources/audio/
//! speech.py, which also sends `Accept: application/octet-stream`) with the JSON fields of
//! src/openai/types/audio/speech_create_params.py: `model`, `input` (at most 4096 characters),
//! `voice` (a built-in name, or `{"id": "voice_…"}` for a custom voice), `instructions` (not
//! for tts-1 / tts-1-hd), `response_format` — here always `pcm`, raw 24 kHz signed 16-bit
//! little-endian mono (src/openai/helpers/local_audio_player.py plays it as int16 at
//! SAMPLE_RATE = 24000) — and `speed` (0.25 to 4.0). Authentication is `Authorization: Bearer`.
//! OpenAI has no voice-listing endpoint; OpenAI-compatible servers commonly offer
//! `GET {base}/audio/voices` answering `{"voices": [...]}` (ids, or objects with an `id`).

use crate::{pieces, settings::Provider};
use chorus_plugin_api::{PluginError, Sink, Summary, SynthesisRequest, Voice};
use chorus_remote::{Call, Client, Ended, Output, PcmS16Le, stream_audio};
use serde_json::{Value, json};

/// The built-in voices (speech_create_params.py, `voice`).
pub const VOICES: [&str; 13] =
    ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar"];
pub const DEFAULT_VOICE: &str = "alloy";
/// The rate of `response_format: pcm`.
pub const PCM_RATE: u32 = 24_000;
/// `input` limit of the speech endpoint, in characters.
pub const MAX_INPUT_CHARS: usize = 4096;

pub struct OpenAi {
    provider: Provider,
    client: Client,
    name: &'static str,
}

impl OpenAi {
    pub fn new(provider: Provider) -> Result<Self, PluginError> {
        let name = if provider.official { "OpenAI" } else { "OpenAI-compatible server" };
        let client = provider.client(name)?;
        Ok(Self { provider, client, name })
    }

    fn key(&self) -> Result<&str, PluginError> {
        match (&self.provider.api_key, self.provider.official) {
            (Some(key), _) => Ok(key),
            (None, false) => Ok(""),
            (None, true) => Err(PluginError::not_configured(
                "OpenAI: no API key; set OPENAI_API_KEY or api_key in [backends.cloud.openai]",
            )),
        }
    }

    /// OpenAI's own voices, or what a compatible server lists at `/audio/voices` (none when it
    /// has no such endpoint: ids then pass through unchanged).
    pub fn voices(&self) -> Result<Vec<Voice>, PluginError> {
        if self.provider.official {
            return Ok(VOICES.iter().map(|v| voice(v, v, "", "OpenAI built-in voice")).collect());
        }
        let call = Call::get(self.client.url("/audio/voices")).bearer(self.key()?);
        let Some(json) = self.client.json_if_present(&call)? else { return Ok(Vec::new()) };
        Ok(parse_voice_list(&json))
    }

    pub fn synthesize(&self, request: &SynthesisRequest, sink: &mut Sink) -> Result<Summary, PluginError> {
        let model = request.model.as_str().strip_prefix("openai/").unwrap_or(request.model.as_str());
        if model.is_empty() {
            return Err(PluginError::bad_request(
                "name an OpenAI model: openai/tts-1, openai/tts-1-hd, openai/gpt-4o-mini-tts",
            ));
        }
        if !(0.25..=4.0).contains(&request.speed) {
            return Err(PluginError::bad_request(format!("OpenAI speed must be 0.25 to 4.0, got {}", request.speed)));
        }
        let voice_id = if request.voice.is_empty() { DEFAULT_VOICE } else { request.voice.as_str() };
        let instructions = request.instructions.as_str().trim();
        if self.provider.official {
            if !instructions.is_empty() && model.starts_with("tts-1") {
                return Err(PluginError::unsupported(format!(
                    "OpenAI {model} does not take instructions; use openai/gpt-4o-mini-tts"
                )));
            }
            if !VOICES.contains(&voice_id) && !voice_id.starts_with("voice_") {
                return Err(PluginError::unknown_voice(format!(
                    "OpenAI has no voice '{voice_id}' (voices: {}; custom voices are voice_…)",
                    VOICES.join(", ")
                )));
            }
        }
        // A custom voice is sent as an object (speech_create_params.py, `VoiceID`).
        let voice = if self.provider.official && voice_id.starts_with("voice_") {
            json!({"id": voice_id})
        } else {
            json!(voice_id)
        };
        let key = self.key()?;
        let text = request.text.as_str();
        let mut out = Output::new(sink, self.name, text, request.speed);
        for (start, end) in pieces::split(text, MAX_INPUT_CHARS) {
            let mut body = json!({
                "model": model,
                "input": &text[start..end],
                "voice": voice,
                "response_format": "pcm",
            });
            if request.speed != 1.0 {
                body["speed"] = json!(request.speed);
            }
            if !instructions.is_empty() {
                body["instructions"] = json!(instructions);
            }
            let call = Call::post_json(self.client.url("/audio/speech"), &body)
                .bearer(key)
                .header("Accept", "application/octet-stream");
            if stream_audio(&self.client, &call, &PcmS16Le::new(PCM_RATE, 1), &mut out)? == Ended::Stopped {
                break;
            }
        }
        Ok(out.finish(-1.0))
    }
}

fn voice(id: &str, name: &str, language: &str, description: &str) -> Voice {
    Voice {
        id: id.into(),
        name: name.into(),
        language: language.into(),
        gender: "".into(),
        description: description.into(),
        extra_json: r#"{"provider":"openai"}"#.into(),
    }
}

/// `{"voices": ["id", …]}`, `{"voices": [{"id"|"voice_id"|"name", …}]}`, `{"data": […]}` or a bare list.
pub fn parse_voice_list(json: &Value) -> Vec<Voice> {
    let items = json.get("voices").or_else(|| json.get("data")).unwrap_or(json);
    let Some(items) = items.as_array() else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            if let Some(id) = item.as_str() {
                return Some(voice(id, id, "", "voice of the OpenAI-compatible server"));
            }
            let field = |k: &str| item.get(k).and_then(Value::as_str);
            let id = field("id").or_else(|| field("voice_id")).or_else(|| field("name"))?;
            let mut v = voice(
                id,
                field("name").unwrap_or(id),
                field("language").unwrap_or(""),
                field("description").unwrap_or(""),
            );
            v.gender = field("gender").unwrap_or("").into();
            Some(v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voice_lists_in_the_common_shapes() {
        let ids = |j: Value| parse_voice_list(&j).into_iter().map(|v| v.id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(json!({"voices": ["af_heart", "jf_alpha"]})), ["af_heart", "jf_alpha"]);
        assert_eq!(ids(json!({"voices": [{"id": "jf_alpha", "name": "Alpha", "language": "ja"}]})), ["jf_alpha"]);
        assert_eq!(ids(json!([{"voice_id": "x"}])), ["x"]);
        assert!(ids(json!({"unexpected": 1})).is_empty());
    }
}
