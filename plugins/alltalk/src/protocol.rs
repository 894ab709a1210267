//! AllTalk v2's HTTP protocol as erew123/alltalk_tts (branch alltalkbeta) `tts_server.py`
//! defines it: the voice list, the three synthesis endpoints, and how chorus requests map onto
//! their fields.

use crate::{
    language,
    settings::{Mode, Settings},
};
use chorus_plugin_api::{PluginError, SynthesisRequest, Voice};
use chorus_remote::{Call, Client, Ended, Output, WavDecoder, stream_audio};
use serde_json::{Value, json};

/// The voices `/v1/audio/speech` accepts (`OpenAIInput.validate_voice`); the server maps each to
/// an engine voice (`openai_voices` in the engine's model_settings.json).
pub const OPENAI_VOICES: [&str; 6] = ["alloy", "echo", "fable", "nova", "onyx", "shimmer"];

/// Longest input of `/v1/audio/speech` (`OpenAIInput.input` max_length).
const OPENAI_MAX_CHARS: usize = 4096;

/// Prefix of generated files on the server (`output_file_name` must match `^[a-zA-Z0-9_]+$`).
const OUTPUT_NAME: &str = "chorus";

pub fn is_openai_voice(voice: &str) -> bool {
    OPENAI_VOICES.contains(&voice)
}

/// Checks that need no server: speed ranges per endpoint and the OpenAI input limit.
pub fn check_request(mode: Mode, request: &SynthesisRequest) -> Result<(), PluginError> {
    let speed = request.speed;
    match mode {
        // `OpenAIInput.speed`: ge=0.25, le=4.0.
        Mode::OpenAi if !(0.25..=4.0).contains(&speed) => {
            Err(PluginError::bad_request(format!("AllTalk's OpenAI endpoint takes speed 0.25..=4.0, got {speed}")))
        }
        Mode::OpenAi if request.text.chars().count() > OPENAI_MAX_CHARS => Err(PluginError::bad_request(format!(
            "AllTalk's OpenAI endpoint takes at most {OPENAI_MAX_CHARS} characters; use mode native for longer text"
        ))),
        // `JSONInput.speed`: ge=0.25, le=2.0.
        Mode::Native if !(0.25..=2.0).contains(&speed) => {
            Err(PluginError::bad_request(format!("AllTalk's native endpoint takes speed 0.25..=2.0, got {speed}")))
        }
        // `apifunction_generate_streaming` always generates at speed 1.0.
        Mode::Streaming if (speed - 1.0).abs() > 1e-3 => Err(PluginError::unsupported(format!(
            "AllTalk's streaming endpoint has no speed setting (got {speed}); use mode native to change speed"
        ))),
        _ => Ok(()),
    }
}

/// GET /api/voices → `{"status": "success", "voices": [...]}`, or `{"status": "error",
/// "message": ...}` (still HTTP 200) when the loaded engine has a single voice
/// (`apifunction_get_voices`).
pub fn voices(client: &Client) -> Result<Vec<String>, PluginError> {
    let answer = client.get_json(&Call::get(client.url("/api/voices")))?;
    if answer.get("status").and_then(Value::as_str) == Some("error") {
        let message = answer.get("message").and_then(Value::as_str).unwrap_or("no voices");
        return Err(PluginError::unsupported(format!("AllTalk: {message}")));
    }
    let list = answer.get("voices").and_then(Value::as_array).ok_or_else(|| {
        PluginError::unavailable(format!(
            "AllTalk at {}: /api/voices answered without a voices list",
            client.base_url()
        ))
    })?;
    Ok(list.iter().filter_map(Value::as_str).filter(|v| *v != "No Voices Found").map(str::to_string).collect())
}

/// A listing entry for engine voice `id`: `female_01.wav`, `voiceset:NAME` or `latent:NAME.json`
/// (the xtts engine's `voices_file_list`).
pub fn voice_entry(id: &str) -> Voice {
    let (kind, rest) = match id.split_once(':') {
        Some(("voiceset", rest)) => ("multi-sample voice set", rest),
        Some(("latent", rest)) => ("precomputed latents", rest),
        _ => ("voice sample", id),
    };
    let name = rest.trim_end_matches(".wav").trim_end_matches(".json").replace('_', " ");
    Voice {
        id: id.into(),
        name: name.into(),
        language: "".into(),
        gender: "".into(),
        description: format!("AllTalk {kind}").into(),
        extra_json: "{}".into(),
    }
}

/// The engine voice for a native or streaming request: the config's `voice_map` entry, else the
/// voice as named; an OpenAI name without a mapping, or no voice, means the configured default
/// (`None` = the server's own default).
fn engine_voice(settings: &Settings, requested: &str) -> Option<String> {
    if let Some(mapped) = settings.voice_map.get(requested) {
        return Some(mapped.clone());
    }
    if requested.is_empty() || is_openai_voice(requested) {
        return (!settings.voice.is_empty()).then(|| settings.voice.clone());
    }
    Some(requested.to_string())
}

/// The AllTalk language code for a request (its own, else the configured one).
fn language_code(settings: &Settings, request: &SynthesisRequest) -> Result<&'static str, PluginError> {
    let lang = if request.language.is_empty() { settings.language.as_str() } else { request.language.as_str() };
    language::to_alltalk(lang)
}

/// Stream the audio of `call` (a WAV body) into `out`.
fn fetch_wav(client: &Client, call: &Call, out: &mut Output) -> Result<(), PluginError> {
    match stream_audio(client, call, &WavDecoder::new(), out)? {
        Ended::Complete | Ended::Stopped => Ok(()),
    }
}

/// POST /v1/audio/speech with `{model, input, voice, response_format: "wav", speed}`
/// (`OpenAIInput`, `openai_tts_generate`). The server answers the whole file.
pub fn openai(
    client: &Client,
    settings: &Settings,
    request: &SynthesisRequest,
    out: &mut Output,
) -> Result<(), PluginError> {
    let requested = request.voice.as_str();
    let voice = if requested.is_empty() {
        if is_openai_voice(&settings.voice) { settings.voice.as_str() } else { "alloy" }
    } else {
        requested
    };
    if !is_openai_voice(voice) {
        return Err(PluginError::unknown_voice(format!(
            "AllTalk's OpenAI endpoint takes only the voices {} (AllTalk maps them to engine voices in its settings); \
             for engine voice '{voice}' use mode = \"native\" or the model alltalk/native",
            OPENAI_VOICES.join(", ")
        )));
    }
    // `model` is ignored by the server ("Currently ignored").
    let body = json!({"model": "tts-1", "input": request.text.as_str(), "voice": voice, "response_format": "wav", "speed": request.speed});
    if out.status("generating (OpenAI endpoint)").is_stop() {
        return Ok(());
    }
    fetch_wav(client, &Call::post_json(client.url("/v1/audio/speech"), &body), out)
}

/// Native generation options passed through from the request's options (`JSONInput` fields).
const NATIVE_OPTIONS: [&str; 5] = ["temperature", "repetition_penalty", "pitch", "text_filtering", "narrator_enabled"];

/// POST /api/tts-generate (form fields of `apifunction_generate_tts_standard`), then GET the
/// file its JSON answer names in `output_file_url`.
pub fn native(
    client: &Client,
    settings: &Settings,
    request: &SynthesisRequest,
    out: &mut Output,
) -> Result<(), PluginError> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("text_input", &request.text)
        .append_pair("language", language_code(settings, request)?)
        .append_pair("output_file_name", OUTPUT_NAME)
        .append_pair("output_file_timestamp", "true")
        .append_pair("autoplay", "false")
        .append_pair("speed", &request.speed.to_string());
    if let Some(voice) = engine_voice(settings, &request.voice) {
        form.append_pair("character_voice_gen", &voice);
    }
    let options: Value = serde_json::from_str(&request.options_json).unwrap_or(Value::Null);
    for key in NATIVE_OPTIONS {
        match options.get(key) {
            Some(Value::String(s)) => {
                form.append_pair(key, s);
            }
            Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                form.append_pair(key, &v.to_string());
            }
            _ => {}
        }
    }
    let call =
        Call::post(client.url("/api/tts-generate"), "application/x-www-form-urlencoded", form.finish().into_bytes());
    if out.status("generating (native endpoint)").is_stop() {
        return Ok(());
    }
    let Some(response) = client.send(&call, out)? else { return Ok(()) };
    let answer = response.body.read_json()?;
    let file_url = output_file_url(client, &answer)?;
    if out.status("downloading the generated file").is_stop() {
        return Ok(());
    }
    fetch_wav(client, &Call::get(file_url), out)
}

/// The URL to fetch from a `/api/tts-generate` answer. The server gives `/audio/NAME.EXT`, or an
/// absolute URL built from `api_legacy_ip_address` when `api_use_legacy_api` is on
/// (`tts_handle_audio_output`); only the path is used, joined to the configured base URL, so a
/// legacy address that differs from how chorus reaches the server does not matter.
fn output_file_url(client: &Client, answer: &Value) -> Result<String, PluginError> {
    if answer.get("status").and_then(Value::as_str) != Some("generate-success") {
        let detail = answer.get("error").and_then(Value::as_str).unwrap_or("no status in the answer");
        return Err(PluginError::unavailable(format!("AllTalk did not generate the audio: {detail}")));
    }
    let url = answer
        .get("output_file_url")
        .and_then(Value::as_str)
        .ok_or_else(|| PluginError::unavailable("AllTalk answered generate-success without output_file_url"))?;
    let path = url.find("/audio/").map_or(url, |at| &url[at..]);
    if !path.to_ascii_lowercase().ends_with(".wav") {
        return Err(PluginError::unsupported(format!(
            "AllTalk transcoded its output to {path}; chorus reads WAV: set transcode_audio_format to disabled in AllTalk's settings, or use mode = \"streaming\""
        )));
    }
    Ok(client.url(path))
}

/// GET /api/tts-generate-streaming?text&voice&language&output_file (`apifunction_generate_streaming`):
/// a WAV header with zero length, then 16-bit PCM as the engine produces it.
pub fn streaming(
    client: &Client,
    settings: &Settings,
    request: &SynthesisRequest,
    out: &mut Output,
) -> Result<(), PluginError> {
    let voice = match engine_voice(settings, &request.voice) {
        Some(voice) => voice,
        // The endpoint requires a voice; take the server's first one.
        None => voices(client)?.into_iter().next().ok_or_else(|| {
            PluginError::not_configured(
                "AllTalk lists no voices; set voice in [backends.alltalk] or name one in the request",
            )
        })?,
    };
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("text", &request.text)
        .append_pair("voice", &voice)
        .append_pair("language", language_code(settings, request)?)
        .append_pair("output_file", &format!("{OUTPUT_NAME}_stream"))
        .finish();
    if out.status("streaming").is_stop() {
        return Ok(());
    }
    fetch_wav(client, &Call::get(format!("{}?{query}", client.url("/api/tts-generate-streaming"))), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voice_mapping() {
        let s = Settings::from_json(r#"{"voice":"male_01.wav","voice_map":{"nova":"female_01.wav"}}"#).unwrap();
        assert_eq!(engine_voice(&s, "nova").as_deref(), Some("female_01.wav"));
        assert_eq!(engine_voice(&s, "alloy").as_deref(), Some("male_01.wav"));
        assert_eq!(engine_voice(&s, "").as_deref(), Some("male_01.wav"));
        assert_eq!(engine_voice(&s, "x.wav").as_deref(), Some("x.wav"));
        let bare = Settings::from_json("{}").unwrap();
        assert_eq!(engine_voice(&bare, ""), None);
    }

    #[test]
    fn voice_entries_name_their_kind() {
        assert_eq!(voice_entry("voiceset:narrators").description.as_str(), "AllTalk multi-sample voice set");
        assert_eq!(voice_entry("female_01.wav").name.as_str(), "female 01");
    }

    #[test]
    fn speed_limits_follow_each_endpoint() {
        let mut r = SynthesisRequest::new("alltalk/x", "hi");
        r.speed = 3.0;
        assert!(check_request(Mode::OpenAi, &r).is_ok());
        assert!(check_request(Mode::Native, &r).is_err());
        r.speed = 1.2;
        assert!(check_request(Mode::Streaming, &r).is_err());
    }
}
