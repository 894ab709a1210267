//! A synthesis request as host callers build it, and its conversion for the plugin.

use abi_stable::std_types::ROption;
use chorus_plugin_api::{ReferenceAudio, SynthesisRequest};

/// What to say and how. Everything but `text` has a default.
#[derive(Debug, Clone)]
pub struct Request {
    /// Model name before aliases; `None` uses the configured default model.
    pub model: Option<String>,
    pub text: String,
    pub voice: Option<String>,
    pub speed: f32,
    pub language: Option<String>,
    pub instructions: Option<String>,
    /// Reference audio for voice cloning: encoded bytes and their format (extension or MIME).
    pub reference_audio: Option<(Vec<u8>, String)>,
    /// Sample rate the caller will want, a hint for backends that can produce it natively.
    pub sample_rate: Option<u32>,
    /// Backend-specific options (a JSON object).
    pub options: serde_json::Value,
}

impl Request {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            model: None,
            text: text.into(),
            voice: None,
            speed: 1.0,
            language: None,
            instructions: None,
            reference_audio: None,
            sample_rate: None,
            options: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    pub fn voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = Some(voice.into());
        self
    }

    /// The FFI form, for the routed `model` name.
    pub(crate) fn to_ffi(&self, model: &str) -> SynthesisRequest {
        let mut ffi = SynthesisRequest::new(model, &self.text);
        ffi.voice = self.voice.clone().unwrap_or_default().into();
        ffi.speed = self.speed;
        ffi.language = self.language.clone().unwrap_or_default().into();
        ffi.instructions = self.instructions.clone().unwrap_or_default().into();
        ffi.reference_audio = match &self.reference_audio {
            Some((data, format)) => ROption::RSome(ReferenceAudio {
                data: data.clone().into(),
                format: format.as_str().into(),
                transcript: "".into(),
            }),
            None => ROption::RNone,
        };
        ffi.preferred_sample_rate = self.sample_rate.unwrap_or(0);
        ffi.options_json = self.options.to_string().into();
        ffi
    }
}
