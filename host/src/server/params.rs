//! The JSON body of `POST /v1/audio/speech` and `POST /dev/captioned_speech`, read field by field
//! so each problem becomes a 400 naming its field.
//!
//! OpenAI's fields: model, input, voice (a name, or `{"id": ...}`), response_format, speed,
//! stream_format, instructions. chorus extensions: language (or Kokoro-FastAPI's lang_code),
//! sample_rate, volume_multiplier, options (backend-specific object). Kokoro-FastAPI's captioned
//! endpoint adds stream and return_timestamps. Unknown fields are ignored, as OpenAI clients send
//! extras.

use super::error::ApiError;
use crate::audio::Format;
use serde_json::{Map, Value};

/// The formats a client may ask for, in OpenAI's order.
pub const FORMATS: &str = "mp3, opus, aac, flac, wav, pcm";
pub const MIN_SPEED: f64 = 0.25;
pub const MAX_SPEED: f64 = 4.0;
pub const MIN_SAMPLE_RATE: u32 = 8_000;
pub const MAX_SAMPLE_RATE: u32 = 48_000;

/// How `/v1/audio/speech` sends audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// The encoded file, with chunked transfer.
    Audio,
    /// Server-sent events: `speech.audio.delta` with base64 audio, then `speech.audio.done`.
    Sse,
}

/// Which fields are required: OpenAI's endpoint needs model and voice, Kokoro-FastAPI's
/// captioned endpoint defaults them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Captioned,
}

#[derive(Debug, Clone)]
pub struct SpeechParams {
    /// `None` = the configured default model.
    pub model: Option<String>,
    pub input: String,
    /// `None` = the backend's default voice.
    pub voice: Option<String>,
    pub format: Format,
    pub format_name: String,
    pub stream_format: StreamFormat,
    pub speed: f32,
    pub instructions: Option<String>,
    pub language: Option<String>,
    pub sample_rate: Option<u32>,
    pub volume: Option<f32>,
    pub options: Value,
    /// Captioned endpoint: NDJSON lines as audio is made (default) or one JSON object.
    pub stream: bool,
    /// Captioned endpoint: include word timestamps (default true).
    pub timestamps: bool,
}

impl SpeechParams {
    /// Parse and check a request body.
    pub fn parse(body: &[u8], dialect: Dialect) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("the request body is not valid JSON: {e}")).code("invalid_json")
        })?;
        let Value::Object(obj) = value else {
            return Err(ApiError::bad_request("the request body must be a JSON object").code("invalid_json"));
        };
        let openai = dialect == Dialect::OpenAi;
        let input = string(&obj, "input")?.ok_or_else(|| missing("input"))?;
        if input.trim().is_empty() {
            return Err(ApiError::invalid("input", "'input' is empty: give the text to speak"));
        }
        let model = string(&obj, "model")?.filter(|m| !m.trim().is_empty());
        if openai && model.is_none() {
            return Err(missing("model"));
        }
        let voice = voice(&obj)?;
        if openai && voice.is_none() {
            return Err(missing("voice"));
        }
        let format_name = string(&obj, "response_format")?.unwrap_or_else(|| "mp3".into());
        let format = Format::parse(&format_name).map_err(|_| {
            ApiError::invalid(
                "response_format",
                format!("unknown response_format '{format_name}'; use one of: {FORMATS}"),
            )
        })?;
        let stream_format = match string(&obj, "stream_format")?.as_deref() {
            None | Some("audio") => StreamFormat::Audio,
            Some("sse") => StreamFormat::Sse,
            Some(other) => {
                return Err(ApiError::invalid(
                    "stream_format",
                    format!("unknown stream_format '{other}'; use audio or sse"),
                ));
            }
        };
        let speed = number(&obj, "speed")?.unwrap_or(1.0);
        if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
            return Err(ApiError::invalid(
                "speed",
                format!("speed must be between {MIN_SPEED} and {MAX_SPEED}, got {speed}"),
            ));
        }
        let sample_rate = match number(&obj, "sample_rate")? {
            None => None,
            Some(rate) if rate.fract() == 0.0 && (MIN_SAMPLE_RATE as f64..=MAX_SAMPLE_RATE as f64).contains(&rate) => {
                format.check_rate(rate as u32).map_err(|e| ApiError::invalid("sample_rate", e.to_string()))?;
                Some(rate as u32)
            }
            Some(rate) => {
                return Err(ApiError::invalid(
                    "sample_rate",
                    format!(
                        "sample_rate must be a whole number of Hz from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE}, got {rate}"
                    ),
                ));
            }
        };
        let volume = match number(&obj, "volume_multiplier")? {
            Some(v) if !(0.0..=10.0).contains(&v) => {
                return Err(ApiError::invalid(
                    "volume_multiplier",
                    format!("volume_multiplier must be between 0 and 10, got {v}"),
                ));
            }
            v => v.map(|v| v as f32),
        };
        let language = match string(&obj, "language")? {
            Some(l) => Some(l),
            None => string(&obj, "lang_code")?,
        }
        .filter(|l| !l.trim().is_empty());
        let options = match obj.get("options") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => return Err(ApiError::invalid("options", "'options' must be a JSON object")),
        };
        Ok(Self {
            model,
            input,
            voice,
            format,
            format_name: format.name().to_string(),
            stream_format,
            speed: speed as f32,
            instructions: string(&obj, "instructions")?.filter(|i| !i.trim().is_empty()),
            language,
            sample_rate,
            volume,
            options,
            stream: boolean(&obj, "stream")?.unwrap_or(true),
            timestamps: boolean(&obj, "return_timestamps")?.unwrap_or(true),
        })
    }
}

fn missing(field: &'static str) -> ApiError {
    ApiError::invalid(field, format!("missing required field '{field}'"))
}

fn string(obj: &Map<String, Value>, field: &'static str) -> Result<Option<String>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid(field, format!("'{field}' must be a string"))),
    }
}

fn number(obj: &Map<String, Value>, field: &'static str) -> Result<Option<f64>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(ApiError::invalid(field, format!("'{field}' must be a number"))),
    }
}

fn boolean(obj: &Map<String, Value>, field: &'static str) -> Result<Option<bool>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid(field, format!("'{field}' must be true or false"))),
    }
}

/// A voice name, or OpenAI's custom-voice form `{"id": "..."}`.
fn voice(obj: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let name = match obj.get("voice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => match o.get("id") {
            Some(Value::String(id)) => Some(id.clone()),
            _ => return Err(ApiError::invalid("voice", "'voice' as an object needs a string 'id'")),
        },
        Some(_) => return Err(ApiError::invalid("voice", "'voice' must be a voice name")),
    };
    Ok(name.filter(|v| !v.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<SpeechParams, ApiError> {
        SpeechParams::parse(body.as_bytes(), Dialect::OpenAi)
    }

    fn param_of(body: &str) -> Option<&'static str> {
        parse(body).unwrap_err().param
    }

    #[test]
    fn openai_defaults() {
        let p = parse(r#"{"model":"tts-1","input":"hi","voice":"alloy"}"#).unwrap();
        assert_eq!(p.format_name, "mp3");
        assert_eq!(p.stream_format, StreamFormat::Audio);
        assert_eq!(p.speed, 1.0);
        assert_eq!(p.voice.as_deref(), Some("alloy"));
    }

    #[test]
    fn each_problem_names_its_field() {
        assert_eq!(parse("{nope").unwrap_err().code, Some("invalid_json"));
        assert_eq!(param_of(r#"{"model":"m","voice":"v"}"#), Some("input"));
        assert_eq!(param_of(r#"{"input":"hi","voice":"v"}"#), Some("model"));
        assert_eq!(param_of(r#"{"model":"m","input":"hi"}"#), Some("voice"));
        assert_eq!(
            param_of(r#"{"model":"m","input":"hi","voice":"v","response_format":"wma"}"#),
            Some("response_format")
        );
        assert_eq!(param_of(r#"{"model":"m","input":"hi","voice":"v","speed":4.5}"#), Some("speed"));
        assert_eq!(param_of(r#"{"model":"m","input":"hi","voice":"v","speed":"fast"}"#), Some("speed"));
        assert_eq!(param_of(r#"{"model":"m","input":"hi","voice":"v","stream_format":"ws"}"#), Some("stream_format"));
        assert_eq!(param_of(r#"{"model":"m","input":"hi","voice":"v","sample_rate":1000}"#), Some("sample_rate"));
        assert_eq!(param_of(r#"{"model":"m","input":"hi","voice":"v","sample_rate":37000}"#), Some("sample_rate"));
        assert!(
            parse(r#"{"model":"m","input":"hi","voice":"v","response_format":"flac","sample_rate":37000}"#).is_ok()
        );
    }

    #[test]
    fn captioned_defaults_model_and_voice() {
        let p = SpeechParams::parse(br#"{"input":"hi","lang_code":"a","stream":false}"#, Dialect::Captioned).unwrap();
        assert_eq!((p.model, p.voice, p.stream, p.timestamps), (None, None, false, true));
        assert_eq!(p.language.as_deref(), Some("a"));
    }

    #[test]
    fn voice_may_be_an_object() {
        let p = parse(r#"{"model":"m","input":"hi","voice":{"id":"tone"}}"#).unwrap();
        assert_eq!(p.voice.as_deref(), Some("tone"));
    }
}
