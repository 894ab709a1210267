//! The cloud plugin: OpenAI (`openai/*`, also any OpenAI-compatible server) and ElevenLabs
//! (`elevenlabs/*`), streamed as PCM so the host encodes, with list prices per model.
//!
//! Config: the `[backends.cloud]` table; see [`settings`]. Keys come from the config or from
//! OPENAI_API_KEY / ELEVENLABS_API_KEY; OPENAI_BASE_URL (with `/v1`) points the OpenAI side at
//! another server, whose voice ids then pass through unchanged.
//!
//! Request options (JSON): ElevenLabs voice settings `stability`, `similarity_boost`, `style`,
//! `use_speaker_boost`, `speed` (flat or under `voice_settings`), `seed`, `language_code`,
//! `previous_text`, `next_text`, `apply_text_normalization`, and `word_timestamps: true` for
//! word timestamps from the character alignment.

pub mod alignment;
pub mod elevenlabs;
pub mod openai;
pub mod pieces;
pub mod prices;
pub mod settings;

use chorus_plugin_api::{
    BackendInfo, Capabilities, CostModel, Engine, ModelInfo, PluginError, Sink, Summary, SynthError, SynthesisRequest,
    Voice, export_plugin,
};
use elevenlabs::ElevenLabs;
use openai::OpenAi;

/// The engine: one client per provider, and the price list.
pub struct CloudEngine {
    openai: OpenAi,
    elevenlabs: ElevenLabs,
    models: Vec<ModelInfo>,
    default_cost: CostModel,
}

impl Engine for CloudEngine {
    const NAME: &'static str = "cloud";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PATTERNS: &'static [&'static str] = &["openai/*", "elevenlabs/*"];
    const DESCRIPTION: &'static str = "Cloud speech APIs: OpenAI (or an OpenAI-compatible server) and ElevenLabs";
    const LICENSE: &'static str = "MIT OR Apache-2.0";
    const CAPABILITIES: Capabilities = Capabilities::STREAMING
        .union(Capabilities::WORD_TIMESTAMPS)
        .union(Capabilities::INSTRUCTIONS)
        .union(Capabilities::COST)
        .union(Capabilities::REMOTE);

    type Config = serde_json::Value;

    fn new(config: serde_json::Value) -> Result<Self, PluginError> {
        let config = chorus_remote::config::table(config)?;
        let openai = settings::provider(
            &config,
            "openai",
            "OPENAI_API_KEY",
            Some("OPENAI_BASE_URL"),
            settings::OPENAI_DEFAULT_BASE,
        )?;
        let eleven =
            settings::provider(&config, "elevenlabs", "ELEVENLABS_API_KEY", None, settings::ELEVENLABS_DEFAULT_BASE)?;
        let (models, default_cost) = prices::models(&config)?;
        Ok(Self { openai: OpenAi::new(openai)?, elevenlabs: ElevenLabs::new(eleven)?, models, default_cost })
    }

    fn info(&self) -> BackendInfo {
        BackendInfo {
            sample_rate: openai::PCM_RATE,
            capabilities: Self::CAPABILITIES,
            // Both services detect the language from the text; these are the ones both speak.
            languages: ["en", "es", "fr", "de", "it", "pt", "nl", "pl", "ja", "zh", "ko", "hi"]
                .iter()
                .map(|l| (*l).into())
                .collect(),
            models: self.models.clone().into(),
            default_voice: openai::DEFAULT_VOICE.into(),
            default_cost: self.default_cost.clone(),
            extra_json: r#"{"default_voices":{"openai":"alloy","elevenlabs":"JBFqnCBsd6RMkjVDRZzb"}}"#.into(),
        }
    }

    /// OpenAI's voices (or the compatible server's), then ElevenLabs' when it is configured.
    fn voices(&self) -> Result<Vec<Voice>, PluginError> {
        let mut voices = self.openai.voices()?;
        if self.elevenlabs.configured() {
            voices.extend(self.elevenlabs.voices()?);
        }
        Ok(voices)
    }

    fn synthesize(&self, request: &SynthesisRequest, sink: &mut Sink) -> Result<Summary, SynthError> {
        let model = request.model.as_str();
        if model.starts_with("openai/") {
            Ok(self.openai.synthesize(request, sink)?)
        } else if model.starts_with("elevenlabs/") {
            Ok(self.elevenlabs.synthesize(request, sink)?)
        } else {
            Err(PluginError::bad_request(format!(
                "the cloud plugin serves openai/* and elevenlabs/* models, not '{model}'"
            ))
            .into())
        }
    }
}

export_plugin!(CloudEngine);
