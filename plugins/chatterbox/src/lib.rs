//! The Chatterbox plugin: speech from a self-hosted chatterbox-tts-api server
//! (travisvn/chatterbox-tts-api), model names `chatterbox/<anything>`.
//!
//! - Named voices come from the server's voice library (`GET /v1/voices`); a name the library
//!   does not know makes the server fall back to its configured sample (it logs a warning).
//! - Reference audio in the request clones a voice: it is uploaded with the request as the
//!   multipart `voice_file` of `/v1/audio/speech/stream/upload` (or `/v1/audio/speech/upload`).
//! - exaggeration, cfg_weight, temperature and the streaming_* knobs come from the config table
//!   or the request's options (see [`settings`]).
//! - Streaming (the default) pushes each generated chunk as it arrives; the host crossfades them.
//! - The language follows the voice: the server takes it from the voice library entry
//!   (`resolve_voice_path_and_language` in app/api/endpoints/speech.py), so a request's
//!   language is not sent. Speed is not supported by the server ("Speed of speech (ignored)").

pub mod reference;
pub mod settings;

use chorus_plugin_api::{
    BackendInfo, Capabilities, CostModel, Engine, ModelInfo, PluginError, Sink, Summary, SynthError, SynthesisRequest,
    Voice, export_plugin,
};
use chorus_remote::{Call, Client, Ended, Multipart, Output, WavDecoder, stream_audio};
use serde_json::{Map, Value};
use settings::Settings;

/// Chatterbox generates at 24 kHz (`model.sr`, used for the WAV it writes and streams).
const SAMPLE_RATE: u32 = 24_000;

/// Longest input the speech endpoints take (`TTSRequest.input` max_length, `MAX_TOTAL_LENGTH`).
const MAX_CHARS: usize = 3000;

/// Languages of the multilingual model (app/core/mtl.py `SUPPORTED_LANGUAGES`).
const LANGUAGES: [&str; 22] = [
    "ar", "da", "de", "el", "en", "es", "fi", "fr", "he", "hi", "it", "ja", "ko", "ms", "nl", "no", "pl", "pt", "ru",
    "sv", "sw", "tr",
];

pub struct ChatterboxEngine {
    settings: Settings,
    client: Client,
}

fn free() -> CostModel {
    CostModel { source: "self-hosted".into(), ..CostModel::default() }
}

impl ChatterboxEngine {
    /// The speech endpoint: streaming or whole-file, with or without an upload.
    fn endpoint(&self, upload: bool) -> String {
        let base = if self.settings.streaming { "/v1/audio/speech/stream" } else { "/v1/audio/speech" };
        self.client.url(&if upload { format!("{base}/upload") } else { base.to_string() })
    }

    /// The request as JSON (`TTSRequest`) or, with reference audio, as the upload form.
    fn call(&self, request: &SynthesisRequest, options: &Map<String, Value>) -> Result<Call, PluginError> {
        let voice = if request.voice.is_empty() { self.settings.voice.as_str() } else { request.voice.as_str() };
        match request.reference_audio.as_ref().into_option() {
            None => {
                let mut body = Map::new();
                body.insert("input".into(), request.text.as_str().into());
                if !voice.is_empty() {
                    body.insert("voice".into(), voice.into());
                }
                body.insert("response_format".into(), "wav".into());
                body.extend(options.clone());
                Ok(Call::post_json(self.endpoint(false), &Value::Object(body)))
            }
            Some(reference) => {
                let (ext, mime) = reference::kind(reference)?;
                let mut form = Multipart::new().text("input", &request.text).text("response_format", "wav");
                if !voice.is_empty() {
                    form = form.text("voice", voice);
                }
                for (key, value) in options {
                    let text = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    form = form.text(key, &text);
                }
                let (content_type, body) =
                    form.file("voice_file", &format!("reference.{ext}"), mime, &reference.data).finish();
                Ok(Call::post(self.endpoint(true), content_type, body))
            }
        }
    }
}

impl Engine for ChatterboxEngine {
    const NAME: &'static str = "chatterbox";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PATTERNS: &'static [&'static str] = &["chatterbox/*"];
    const DESCRIPTION: &'static str =
        "A self-hosted chatterbox-tts-api server: streaming speech, voice library and cloning from reference audio";
    const LICENSE: &'static str = "MIT OR Apache-2.0";
    const CAPABILITIES: Capabilities =
        Capabilities::STREAMING.union(Capabilities::VOICE_CLONING).union(Capabilities::REMOTE);

    type Config = serde_json::Value;

    fn new(config: serde_json::Value) -> Result<Self, PluginError> {
        let settings = Settings::from_config(config)?;
        let client = Client::new("Chatterbox", &settings.base_url, settings.client.clone())?;
        Ok(Self { settings, client })
    }

    fn info(&self) -> BackendInfo {
        BackendInfo {
            sample_rate: SAMPLE_RATE,
            capabilities: Self::CAPABILITIES,
            languages: LANGUAGES.iter().map(|l| (*l).into()).collect(),
            models: vec![ModelInfo {
                id: "chatterbox/default".into(),
                description: "the model the server has loaded".into(),
                cost: free(),
            }]
            .into(),
            default_voice: self.settings.voice.as_str().into(),
            default_cost: free(),
            extra_json: serde_json::json!({"base_url": self.client.base_url(), "streaming": self.settings.streaming})
                .to_string()
                .into(),
        }
    }

    /// GET /v1/voices → `{"voices": [{name, language, aliases, ...}], "count"}`
    /// (app/api/endpoints/voices.py `list_voices`, app/core/voice_library.py).
    fn voices(&self) -> Result<Vec<Voice>, PluginError> {
        let answer = self.client.get_json(&Call::get(self.client.url("/v1/voices")))?;
        let list = answer.get("voices").and_then(Value::as_array).ok_or_else(|| {
            PluginError::unavailable(format!(
                "Chatterbox at {}: /v1/voices answered without a voices list",
                self.client.base_url()
            ))
        })?;
        Ok(list
            .iter()
            .filter_map(|v| {
                let name = v.get("name")?.as_str()?;
                let aliases: Vec<&str> = v
                    .get("aliases")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let description = if aliases.is_empty() {
                    "Chatterbox voice library".to_string()
                } else {
                    format!("Chatterbox voice library; aliases: {}", aliases.join(", "))
                };
                Some(Voice {
                    id: name.into(),
                    name: name.into(),
                    language: v.get("language").and_then(Value::as_str).unwrap_or("en").into(),
                    gender: "".into(),
                    description: description.into(),
                    extra_json: serde_json::json!({"aliases": aliases}).to_string().into(),
                })
            })
            .collect())
    }

    fn synthesize(&self, request: &SynthesisRequest, sink: &mut Sink) -> Result<Summary, SynthError> {
        if request.text.chars().count() > MAX_CHARS {
            return Err(PluginError::bad_request(format!(
                "Chatterbox takes at most {MAX_CHARS} characters per request"
            ))
            .into());
        }
        if request.speed.is_nan() || (request.speed - 1.0).abs() > 1e-3 {
            return Err(PluginError::unsupported(format!(
                "Chatterbox has no speed setting (got {}); cfg_weight changes its pace",
                request.speed
            ))
            .into());
        }
        let options = self.settings.merged_options(&request.options_json)?;
        let call = self.call(request, &options)?;
        let mut out = Output::new(sink, "Chatterbox", &request.text, request.speed);
        match stream_audio(&self.client, &call, &WavDecoder::new(), &mut out)? {
            Ended::Complete | Ended::Stopped => Ok(out.finish(-1.0)),
        }
    }
}

export_plugin!(ChatterboxEngine);
