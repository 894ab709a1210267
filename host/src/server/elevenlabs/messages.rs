//! The messages an ElevenLabs WebSocket client sends, read field by field so that a bad one gets
//! an error naming its field and the socket stays usable.
//!
//! `{"text": " ", "voice_settings": {...}, "generation_config": {"chunk_length_schedule": [...]},
//! "xi_api_key": "..."}` opens (a context); `{"text": "...", "flush": true,
//! "try_trigger_generation": true}` adds text; `{"text": ""}` ends the input (in multi-context
//! sockets it only keeps the context alive); `{"context_id": "c", "close_context": true}` stops a
//! context; `{"close_socket": true}` finishes every context and closes.

use serde_json::{Map, Value};

/// One client message, as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientMessage {
    pub text: Option<String>,
    pub context_id: Option<String>,
    pub flush: bool,
    pub try_trigger: bool,
    pub close_context: bool,
    pub close_socket: bool,
    /// `voice_settings.speed`, when given.
    pub speed: Option<f32>,
    /// `generation_config.chunk_length_schedule`, when given.
    pub schedule: Option<Vec<usize>>,
    /// `xi_api_key` / `xi-api-key`, or `authorization` without its `Bearer `.
    pub key: Option<String>,
}

/// The longest `chunk_length_schedule` entry taken (ElevenLabs allows 50..=500).
const MAX_SCHEDULE: usize = 500;

impl ClientMessage {
    pub fn parse(frame: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(frame).map_err(|e| format!("the message is not valid JSON: {e}"))?;
        let Value::Object(obj) = value else { return Err("a message must be a JSON object".into()) };
        let speed = match obj.get("voice_settings") {
            None | Some(Value::Null) => None,
            Some(Value::Object(settings)) => match settings.get("speed") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => {
                    let speed = n.as_f64().unwrap_or(f64::NAN);
                    if !(0.25..=4.0).contains(&speed) {
                        return Err(format!("voice_settings.speed must be between 0.25 and 4, got {speed}"));
                    }
                    Some(speed as f32)
                }
                Some(_) => return Err("voice_settings.speed must be a number".into()),
            },
            Some(_) => return Err("'voice_settings' must be an object".into()),
        };
        let config = obj.get("generation_config").or_else(|| obj.get("generator_config"));
        let schedule = match config {
            None | Some(Value::Null) => None,
            Some(Value::Object(config)) => match config.get("chunk_length_schedule") {
                None | Some(Value::Null) => None,
                Some(Value::Array(items)) => Some(schedule(items)?),
                Some(_) => return Err("generation_config.chunk_length_schedule must be a list of numbers".into()),
            },
            Some(_) => return Err("'generation_config' must be an object".into()),
        };
        let key = string(&obj, "xi_api_key")?.or(string(&obj, "xi-api-key")?).or_else(|| {
            let auth = obj.get("authorization")?.as_str()?;
            Some(auth.strip_prefix("Bearer ").unwrap_or(auth).to_string())
        });
        Ok(Self {
            text: string(&obj, "text")?,
            context_id: string(&obj, "context_id")?,
            flush: flag(&obj, "flush")?,
            try_trigger: flag(&obj, "try_trigger_generation")?,
            close_context: flag(&obj, "close_context")?,
            close_socket: flag(&obj, "close_socket")?,
            speed,
            schedule,
            key,
        })
    }
}

fn string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("'{field}' must be a string")),
    }
}

fn flag(obj: &Map<String, Value>, field: &str) -> Result<bool, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("'{field}' must be true or false")),
    }
}

fn schedule(items: &[Value]) -> Result<Vec<usize>, String> {
    let entries: Option<Vec<usize>> = items
        .iter()
        .map(|v| v.as_f64().filter(|n| n.is_finite() && *n >= 1.0).map(|n| (n as usize).min(MAX_SCHEDULE)))
        .collect();
    match entries {
        Some(entries) if !entries.is_empty() => Ok(entries),
        _ => Err("generation_config.chunk_length_schedule must be a non-empty list of positive numbers".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elevenlabs_messages_parse() {
        let init = ClientMessage::parse(
            r#"{"text":" ","voice_settings":{"stability":0.5,"speed":1.1},"generation_config":{"chunk_length_schedule":[50,120]},"xi_api_key":"k"}"#,
        )
        .unwrap();
        assert_eq!(init.text.as_deref(), Some(" "));
        assert_eq!((init.speed, init.schedule, init.key.as_deref()), (Some(1.1), Some(vec![50, 120]), Some("k")));
        let close = ClientMessage::parse(r#"{"context_id":"c1","close_context":true}"#).unwrap();
        assert!(close.close_context && close.text.is_none());
        assert!(ClientMessage::parse(r#"{"text":"hi","flush":true}"#).unwrap().flush);
    }

    #[test]
    fn bad_messages_say_what_is_wrong() {
        assert!(ClientMessage::parse("{nope").unwrap_err().contains("JSON"));
        assert!(ClientMessage::parse("[1]").unwrap_err().contains("object"));
        assert!(ClientMessage::parse(r#"{"text":5}"#).unwrap_err().contains("text"));
        assert!(ClientMessage::parse(r#"{"text":"a","flush":"yes"}"#).unwrap_err().contains("flush"));
        assert!(ClientMessage::parse(r#"{"voice_settings":{"speed":9}}"#).unwrap_err().contains("speed"));
        let schedule = r#"{"generation_config":{"chunk_length_schedule":[]}}"#;
        assert!(ClientMessage::parse(schedule).unwrap_err().contains("chunk_length_schedule"));
    }
}
