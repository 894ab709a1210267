//! ElevenLabs text to speech, streamed as PCM, with word timestamps on request.
//!
//! Protocol (elevenlabs/elevenlabs-python, src/elevenlabs/text_to_speech/raw_client.py):
//! - `POST {base}/v1/text-to-speech/{voice_id}/stream?output_format=pcm_<rate>` with the JSON
//!   body `text`, `model_id`, `language_code`, `voice_settings`, `seed`, `previous_text`,
//!   `next_text`, `apply_text_normalization`; the answer is the audio bytes.
//! - `POST {base}/v1/text-to-speech/{voice_id}/stream/with-timestamps` with the same query and
//!   body; the answer is one JSON object per line (the SDK reads it with `iter_lines()` and
//!   `json.loads`), each `{"audio_base64", "alignment", "normalized_alignment"}`
//!   (src/elevenlabs/types/streaming_audio_chunk_with_timestamps_response.py).
//! - Output formats `pcm_8000` … `pcm_48000` (src/elevenlabs/text_to_speech/types/
//!   text_to_speech_stream_request_output_format.py); the `output_format` docstring notes that
//!   44.1 kHz PCM needs the Pro tier. PCM is signed 16-bit little-endian mono.
//! - `language_code` (ISO 639-1) is ignored by models that do not support it and is "not
//!   supported for multilingual_v2 models", so it is not sent to those.
//! - Voice settings `stability`, `similarity_boost`, `style`, `use_speaker_boost`, `speed`
//!   (src/elevenlabs/types/voice_settings.py).
//! - Voices: `GET {base}/v1/voices` → `{"voices": [{"voice_id", "name", "labels", …}]}`
//!   (src/elevenlabs/voices/raw_client.py `get_all`, src/elevenlabs/types/voice.py).
//! - Authentication: the `xi-api-key` header (src/elevenlabs/core/client_wrapper.py).

use crate::{alignment::WordAligner, pieces, settings::Provider};
use base64::Engine as _;
use chorus_plugin_api::{PluginError, Sink, Summary, SynthesisRequest, Voice};
use chorus_remote::{AudioDecoder, AudioFormat, Call, Client, Ended, Output, PcmS16Le, stream_audio};
use serde_json::{Map, Value, json};

/// The voice the SDK's README uses ("George").
pub const DEFAULT_VOICE: &str = "JBFqnCBsd6RMkjVDRZzb";
/// PCM rates ElevenLabs streams.
pub const PCM_RATES: [u32; 7] = [8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000];
/// Text per request; longer texts are split at sentences and sent in turn, each with its
/// neighbours as `previous_text` / `next_text` so the prosody carries across.
pub const DEFAULT_MAX_CHARS: usize = 5_000;
const VOICE_SETTINGS: [&str; 5] = ["stability", "similarity_boost", "style", "use_speaker_boost", "speed"];

pub struct ElevenLabs {
    provider: Provider,
    client: Client,
    max_pcm_rate: u32,
    max_chars: usize,
}

impl ElevenLabs {
    pub fn new(provider: Provider) -> Result<Self, PluginError> {
        let client = provider.client("ElevenLabs")?;
        let number = |key: &str, default: u64| -> Result<u64, PluginError> {
            match provider.table.get(key) {
                None => Ok(default),
                Some(v) => v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                    PluginError::not_configured(format!(
                        "[backends.cloud.elevenlabs] {key} must be a whole number above 0, got {v}"
                    ))
                }),
            }
        };
        let max_pcm_rate = number("max_pcm_rate", 48_000)? as u32;
        let max_chars = number("max_chars_per_request", DEFAULT_MAX_CHARS as u64)? as usize;
        Ok(Self { provider, client, max_pcm_rate, max_chars })
    }

    /// True when the user configured ElevenLabs (a key, or a server of their own).
    pub fn configured(&self) -> bool {
        self.provider.api_key.is_some() || !self.provider.official
    }

    fn key(&self) -> Result<&str, PluginError> {
        match (&self.provider.api_key, self.provider.official) {
            (Some(key), _) => Ok(key),
            (None, false) => Ok(""),
            (None, true) => Err(PluginError::not_configured(
                "ElevenLabs: no API key; set ELEVENLABS_API_KEY or api_key in [backends.cloud.elevenlabs]",
            )),
        }
    }

    fn call(&self, call: Call) -> Result<Call, PluginError> {
        let key = self.key()?;
        Ok(if key.is_empty() { call } else { call.header("xi-api-key", key) })
    }

    pub fn voices(&self) -> Result<Vec<Voice>, PluginError> {
        let json = self.client.get_json(&self.call(Call::get(self.client.url("/v1/voices")))?)?;
        let items = json
            .get("voices")
            .and_then(Value::as_array)
            .ok_or_else(|| PluginError::unavailable("ElevenLabs: the voices answer has no \"voices\" list"))?;
        Ok(items.iter().filter_map(parse_voice).collect())
    }

    /// The PCM rate to ask for: the host's preferred rate when ElevenLabs streams it (and it is
    /// within `max_pcm_rate`), else 24 kHz, else 22.05 kHz.
    pub fn pcm_rate(&self, preferred: u32) -> u32 {
        if PCM_RATES.contains(&preferred) && preferred <= self.max_pcm_rate {
            preferred
        } else if self.max_pcm_rate >= 24_000 {
            24_000
        } else {
            22_050
        }
    }

    pub fn synthesize(&self, request: &SynthesisRequest, sink: &mut Sink) -> Result<Summary, PluginError> {
        let model = request.model.as_str().strip_prefix("elevenlabs/").unwrap_or(request.model.as_str());
        if model.is_empty() {
            return Err(PluginError::bad_request(
                "name an ElevenLabs model: elevenlabs/eleven_multilingual_v2, elevenlabs/eleven_flash_v2_5, …",
            ));
        }
        if !(request.speed.is_finite() && request.speed > 0.0) {
            return Err(PluginError::bad_request(format!("ElevenLabs speed must be above 0, got {}", request.speed)));
        }
        let voice = if request.voice.is_empty() { DEFAULT_VOICE } else { request.voice.as_str() };
        let options = parse_options(request.options_json.as_str())?;
        let timestamps =
            ["word_timestamps", "timestamps"].iter().any(|k| options.get(*k).and_then(Value::as_bool) == Some(true));
        let rate = self.pcm_rate(request.preferred_sample_rate);
        let base_body = body_fields(model, request, &options)?;
        let path = format!(
            "/v1/text-to-speech/{}/stream{}",
            encode_segment(voice),
            if timestamps { "/with-timestamps" } else { "" }
        );
        let url = format!("{}?output_format=pcm_{rate}", self.client.url(&path));

        let text = request.text.as_str();
        let pieces = pieces::split(text, self.max_chars);
        let mut out = Output::new(sink, "ElevenLabs", text, request.speed);
        for (i, &(start, end)) in pieces.iter().enumerate() {
            let mut body = base_body.clone();
            body.insert("text".into(), json!(&text[start..end]));
            if pieces.len() > 1 {
                if i > 0 && !body.contains_key("previous_text") {
                    body.insert("previous_text".into(), json!(&text[pieces[i - 1].0..start]));
                }
                if i + 1 < pieces.len() && !body.contains_key("next_text") {
                    body.insert("next_text".into(), json!(&text[end..pieces[i + 1].1]));
                }
            }
            let call = self.call(Call::post_json(url.clone(), &Value::Object(body)))?;
            let ended = if timestamps {
                self.stream_with_timestamps(&call, rate, &text[start..end], start, &mut out)?
            } else {
                stream_audio(&self.client, &call, &PcmS16Le::new(rate, 1), &mut out)?
            };
            if ended == Ended::Stopped {
                break;
            }
        }
        Ok(out.finish(-1.0))
    }

    /// Read the with-timestamps stream: audio from `audio_base64`, words from `alignment`.
    fn stream_with_timestamps(
        &self,
        call: &Call,
        rate: u32,
        piece: &str,
        piece_byte: usize,
        out: &mut Output,
    ) -> Result<Ended, PluginError> {
        if out.status("sending request").is_stop() {
            return Ok(Ended::Stopped);
        }
        let Some(response) = self.client.send(call, out)? else { return Ok(Ended::Stopped) };
        let mut body = response.body;
        let format = AudioFormat { sample_rate: rate, channels: 1 };
        let mut decoder = PcmS16Le::new(rate, 1);
        let mut aligner = WordAligner::new(piece, piece_byte, out.audio_seconds());
        let mut piece_seconds = 0.0;
        let mut samples = Vec::new();
        let mut chunks = 0u32;
        while let Some(line) = body.next_line()? {
            if line.trim().is_empty() {
                continue;
            }
            let chunk: Value = serde_json::from_str(&line).map_err(|e| {
                PluginError::unavailable(format!(
                    "ElevenLabs: a timestamp chunk is not JSON ({e}); the audio is incomplete"
                ))
            })?;
            chunks += 1;
            let audio = chunk.get("audio_base64").and_then(Value::as_str).unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD.decode(audio.trim()).map_err(|e| {
                PluginError::unavailable(format!("ElevenLabs: audio_base64 of chunk {chunks} is not base64 ({e})"))
            })?;
            samples.clear();
            decoder.push(&bytes, &mut samples)?;
            let chunk_start = piece_seconds;
            piece_seconds += samples.len() as f64 / rate as f64;
            if !samples.is_empty() && out.audio(&samples, format).is_stop() {
                return Ok(Ended::Stopped);
            }
            if let Some(alignment) = chunk.get("alignment").filter(|a| a.is_object()) {
                let (chars, starts, ends) = alignment_arrays(alignment);
                let words = aligner.push(&chars, &starts, &ends, chunk_start);
                if out.words(&words).is_stop() {
                    return Ok(Ended::Stopped);
                }
            }
        }
        decoder.finish().map_err(|e| PluginError::new(e.kind, format!("ElevenLabs: {}", e.message)))?;
        if piece_seconds == 0.0 {
            return Err(PluginError::unavailable(format!("ElevenLabs answered {} with no audio", call.url)));
        }
        if out.words(&aligner.finish()).is_stop() || out.flush().is_stop() {
            return Ok(Ended::Stopped);
        }
        Ok(Ended::Complete)
    }
}

/// The request options as a JSON object.
fn parse_options(json: &str) -> Result<Map<String, Value>, PluginError> {
    match serde_json::from_str::<Value>(if json.trim().is_empty() { "{}" } else { json }) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(PluginError::bad_request("request options must be a JSON object")),
    }
}

/// Body fields other than `text`: model, voice settings (flat in the options or under
/// `voice_settings`; the request's speed when not 1.0), language and the pass-through fields.
fn body_fields(
    model: &str,
    request: &SynthesisRequest,
    options: &Map<String, Value>,
) -> Result<Map<String, Value>, PluginError> {
    let mut body = Map::new();
    body.insert("model_id".into(), json!(model));
    let mut settings = match options.get("voice_settings") {
        None => Map::new(),
        Some(Value::Object(s)) => s.clone(),
        Some(_) => return Err(PluginError::bad_request("options.voice_settings must be an object")),
    };
    for key in VOICE_SETTINGS {
        if let Some(v) = options.get(key) {
            settings.insert(key.into(), v.clone());
        }
    }
    for (key, v) in &settings {
        let ok = if key == "use_speaker_boost" { v.is_boolean() } else { v.is_number() };
        if !ok {
            return Err(PluginError::bad_request(format!("ElevenLabs voice setting {key} has the wrong type: {v}")));
        }
    }
    if request.speed != 1.0 && !settings.contains_key("speed") {
        settings.insert("speed".into(), json!(request.speed));
    }
    if !settings.is_empty() {
        body.insert("voice_settings".into(), Value::Object(settings));
    }
    let language = options.get("language_code").and_then(Value::as_str).map(str::to_string).or_else(|| {
        let lang = request.language.as_str();
        // ISO 639-1: the primary subtag of `en-us`.
        (!lang.is_empty() && !model.starts_with("eleven_multilingual_v2"))
            .then(|| lang.split(['-', '_']).next().unwrap_or(lang).to_ascii_lowercase())
    });
    if let Some(language) = language {
        body.insert("language_code".into(), json!(language));
    }
    for key in ["seed", "previous_text", "next_text", "apply_text_normalization", "apply_language_text_normalization"] {
        if let Some(v) = options.get(key) {
            body.insert(key.into(), v.clone());
        }
    }
    Ok(body)
}

fn alignment_arrays(alignment: &Value) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let strings = |k: &str| -> Vec<String> {
        alignment
            .get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|c| c.as_str().unwrap_or_default().to_string()).collect())
            .unwrap_or_default()
    };
    let numbers = |k: &str| -> Vec<f64> {
        alignment
            .get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|t| t.as_f64().unwrap_or(0.0)).collect())
            .unwrap_or_default()
    };
    (strings("characters"), numbers("character_start_times_seconds"), numbers("character_end_times_seconds"))
}

fn parse_voice(item: &Value) -> Option<Voice> {
    let id = item.get("voice_id")?.as_str()?;
    let label = |k: &str| item.pointer(&format!("/labels/{k}")).and_then(Value::as_str).unwrap_or_default();
    let language =
        item.pointer("/verified_languages/0/language").and_then(Value::as_str).unwrap_or_else(|| label("language"));
    let description =
        item.get("description").and_then(Value::as_str).filter(|d| !d.is_empty()).map(str::to_string).unwrap_or_else(
            || {
                [label("accent"), label("age"), label("descriptive"), label("use_case")]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
    let category = item.get("category").and_then(Value::as_str).unwrap_or_default();
    Some(Voice {
        id: id.into(),
        name: item.get("name").and_then(Value::as_str).unwrap_or(id).into(),
        language: language.into(),
        gender: label("gender").into(),
        description: description.into(),
        extra_json: json!({"provider": "elevenlabs", "category": category}).to_string().into(),
    })
}

/// Percent-encode a path segment (voice ids are alphanumeric, but never trust that).
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(speed: f32, language: &str) -> SynthesisRequest {
        let mut r = SynthesisRequest::new("elevenlabs/eleven_flash_v2_5", "Hi");
        r.speed = speed;
        r.language = language.into();
        r
    }

    #[test]
    fn body_carries_settings_and_language() {
        let options = parse_options(r#"{"stability": 0.3, "voice_settings": {"style": 0.1}, "seed": 7}"#).unwrap();
        let body = body_fields("eleven_flash_v2_5", &request(1.1, "en-us"), &options).unwrap();
        assert_eq!(body["model_id"], "eleven_flash_v2_5");
        assert_eq!(body["voice_settings"]["stability"], 0.3);
        assert_eq!(body["voice_settings"]["style"], 0.1);
        assert!((body["voice_settings"]["speed"].as_f64().unwrap() - 1.1).abs() < 1e-6);
        assert_eq!(body["language_code"], "en");
        assert_eq!(body["seed"], 7);
        let v2 = body_fields("eleven_multilingual_v2", &request(1.0, "en-us"), &Map::new()).unwrap();
        assert!(v2.get("language_code").is_none() && v2.get("voice_settings").is_none());
        assert!(body_fields("m", &request(1.0, ""), &parse_options(r#"{"use_speaker_boost": 1}"#).unwrap()).is_err());
    }

    #[test]
    fn voices_parse() {
        let v = parse_voice(&json!({"voice_id": "JBFqnCBsd6RMkjVDRZzb", "name": "George", "category": "premade",
            "labels": {"accent": "british", "gender": "male", "age": "middle_aged"},
            "verified_languages": [{"language": "en", "model_id": "eleven_multilingual_v2"}]}))
        .unwrap();
        assert_eq!(
            (v.id.as_str(), v.name.as_str(), v.language.as_str(), v.gender.as_str()),
            ("JBFqnCBsd6RMkjVDRZzb", "George", "en", "male")
        );
        assert_eq!(v.description.as_str(), "british, middle_aged");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("abc-DEF_1"), "abc-DEF_1");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}
