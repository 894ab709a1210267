//! The AllTalk plugin: speech from a self-hosted AllTalk v2 server (erew123/alltalk_tts, branch
//! alltalkbeta), through whichever of its three synthesis endpoints the config's `mode` picks —
//! or the model name does: `alltalk/openai`, `alltalk/native`, `alltalk/streaming`; any other
//! `alltalk/<name>` uses the configured mode.
//!
//! Before each request the plugin asks `/api/ready` (plain text "Ready" or "Unloaded",
//! `tts_server.py` `apifunction_ready`), so a server that is down gives one clear line, "AllTalk
//! is not reachable at URL", and one still loading its engine says so. Transport, timeouts,
//! retries (429/5xx, before the first audio byte only), WAV decoding and progress come from
//! `chorus-remote`. Settings: see [`settings`].

pub mod language;
pub mod protocol;
pub mod settings;

use chorus_plugin_api::{
    BackendInfo, Capabilities, CostModel, Engine, ModelInfo, PluginError, Sink, Summary, SynthError, SynthesisRequest,
    Voice, export_plugin,
};
use chorus_remote::{Call, Client, Output};
use settings::{Mode, Settings};

/// XTTS, AllTalk's main engine, produces 24 kHz mono (model_engine.py of the xtts engine).
const SAMPLE_RATE: u32 = 24_000;

/// The engine: settings and an HTTP client bound to the server.
pub struct AllTalkEngine {
    settings: Settings,
    client: Client,
}

fn free() -> CostModel {
    CostModel { source: "self-hosted".into(), ..CostModel::default() }
}

impl AllTalkEngine {
    /// The mode for `model`: its suffix when that names a mode, else the configured one.
    fn mode_for(&self, model: &str) -> Mode {
        model.strip_prefix("alltalk/").and_then(Mode::parse).unwrap_or(self.settings.mode)
    }

    /// GET /api/ready: the server must answer and say "Ready".
    fn check_ready(&self) -> Result<(), PluginError> {
        let response = self.client.send_quiet(&Call::get(self.client.url("/api/ready")))?;
        let text = response.body.read_text()?;
        match text.trim().trim_matches('"') {
            "Ready" => Ok(()),
            "Unloaded" => Err(PluginError::unavailable(format!(
                "AllTalk at {} is running but its TTS engine is not loaded yet (/api/ready says Unloaded); try again when it has loaded",
                self.client.base_url()
            ))),
            other => Err(PluginError::unavailable(format!(
                "AllTalk at {}: /api/ready answered '{}' instead of Ready; is this an AllTalk v2 server?",
                self.client.base_url(),
                other.chars().take(80).collect::<String>()
            ))),
        }
    }
}

impl Engine for AllTalkEngine {
    const NAME: &'static str = "alltalk";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PATTERNS: &'static [&'static str] = &["alltalk/*"];
    const DESCRIPTION: &'static str =
        "A self-hosted AllTalk v2 server (XTTS, Piper, F5, ...): OpenAI-compatible, native and streaming endpoints";
    const LICENSE: &'static str = "MIT OR Apache-2.0";
    const CAPABILITIES: Capabilities = Capabilities::STREAMING.union(Capabilities::REMOTE);

    type Config = serde_json::Value;

    fn new(config: serde_json::Value) -> Result<Self, PluginError> {
        let settings = Settings::from_config(config)?;
        let client = Client::new("AllTalk", &settings.base_url, settings.client.clone())?;
        Ok(Self { settings, client })
    }

    fn info(&self) -> BackendInfo {
        let model = |mode: Mode, what: &str| ModelInfo {
            id: format!("alltalk/{}", mode.name()).into(),
            description: what.into(),
            cost: free(),
        };
        let default_voice = match self.settings.mode {
            Mode::OpenAi if !protocol::is_openai_voice(&self.settings.voice) => "alloy".to_string(),
            _ => self.settings.voice.clone(),
        };
        BackendInfo {
            sample_rate: SAMPLE_RATE,
            capabilities: Self::CAPABILITIES,
            languages: language::advertised().into_iter().map(Into::into).collect(),
            models: vec![
                model(Mode::OpenAi, "AllTalk's OpenAI-compatible endpoint (OpenAI voice names, language detected)"),
                model(Mode::Native, "AllTalk's native endpoint (engine voices, language, speed)"),
                model(Mode::Streaming, "AllTalk's streaming endpoint (XTTS; audio while generating)"),
            ]
            .into(),
            default_voice: default_voice.into(),
            default_cost: free(),
            extra_json: serde_json::json!({"base_url": self.client.base_url(), "mode": self.settings.mode.name()})
                .to_string()
                .into(),
        }
    }

    fn voices(&self) -> Result<Vec<Voice>, PluginError> {
        let engine_voices = protocol::voices(&self.client)?;
        let mut voices: Vec<Voice> = engine_voices.iter().map(|id| protocol::voice_entry(id)).collect();
        if self.settings.mode == Mode::OpenAi {
            voices.extend(protocol::OPENAI_VOICES.iter().map(|id| Voice {
                id: (*id).into(),
                name: (*id).into(),
                language: "".into(),
                gender: "".into(),
                description: "OpenAI voice name, mapped to an engine voice by AllTalk's OpenAI voice map".into(),
                extra_json: "{}".into(),
            }));
        }
        Ok(voices)
    }

    fn synthesize(&self, request: &SynthesisRequest, sink: &mut Sink) -> Result<Summary, SynthError> {
        let mode = self.mode_for(&request.model);
        protocol::check_request(mode, request)?;
        if request.reference_audio.is_some() {
            return Err(PluginError::unsupported(
                "AllTalk clones from voice files on the server (its voices/ folder); it takes no reference audio with a request",
            )
            .into());
        }
        let mut out = Output::new(sink, "AllTalk", &request.text, request.speed);
        if out.status("checking /api/ready").is_stop() {
            return Ok(out.finish(-1.0));
        }
        self.check_ready()?;
        match mode {
            Mode::OpenAi => protocol::openai(&self.client, &self.settings, request, &mut out)?,
            Mode::Native => protocol::native(&self.client, &self.settings, request, &mut out)?,
            Mode::Streaming => protocol::streaming(&self.client, &self.settings, request, &mut out)?,
        };
        Ok(out.finish(-1.0))
    }
}

export_plugin!(AllTalkEngine);
