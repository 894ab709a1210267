//! Plain data crossing the boundary: manifest, backend facts, voices, requests, progress, words.
//!
//! Empty strings mean "not set" wherever a field is optional; `extra_json` fields carry additions
//! that newer hosts or plugins understand and older ones ignore.

use abi_stable::{
    StableAbi,
    std_types::{ROption, RString, RVec},
};
use std::ops::BitOr;

/// Feature flags a plugin or backend declares. An open set: unknown bits are kept and ignored.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct Capabilities(pub u64);

impl Capabilities {
    pub const NONE: Self = Self(0);
    /// Audio arrives in several chunks before synthesis ends.
    pub const STREAMING: Self = Self(1 << 0);
    /// The backend pushes word timestamps.
    pub const WORD_TIMESTAMPS: Self = Self(1 << 1);
    /// The backend can clone a voice from reference audio in the request.
    pub const VOICE_CLONING: Self = Self(1 << 2);
    /// The backend honours free-text style instructions.
    pub const INSTRUCTIONS: Self = Self(1 << 3);
    /// The backend bills per use; see [`CostModel`].
    pub const COST: Self = Self(1 << 4);
    /// The backend talks to a remote service.
    pub const REMOTE: Self = Self(1 << 5);

    const NAMES: [(Self, &'static str); 6] = [
        (Self::STREAMING, "streaming"),
        (Self::WORD_TIMESTAMPS, "word_timestamps"),
        (Self::VOICE_CLONING, "voice_cloning"),
        (Self::INSTRUCTIONS, "instructions"),
        (Self::COST, "cost"),
        (Self::REMOTE, "remote"),
    ];

    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// Names of the known flags that are set, for listings.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(c, _)| self.contains(*c)).map(|(_, n)| *n).collect()
    }
}

impl BitOr for Capabilities {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

/// Who a plugin is. Returned by the root module before any backend exists.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct Manifest {
    pub name: RString,
    pub version: RString,
    /// The `chorus-plugin-api` version the plugin was built against.
    pub api_version: RString,
    /// Model-name patterns (`kokoro*`, `openai/*`, or exact names) this plugin serves.
    pub patterns: RVec<RString>,
    pub description: RString,
    pub license: RString,
    pub capabilities: Capabilities,
    pub extra_json: RString,
}

/// How a backend is billed. All zero means free. Components add up.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, Default, PartialEq)]
pub struct CostModel {
    /// US dollars per million input characters.
    pub usd_per_million_chars: f64,
    /// US dollars per million input text tokens (estimated as characters / 4 before a request).
    pub usd_per_million_input_tokens: f64,
    /// US dollars per minute of audio produced.
    pub usd_per_audio_minute: f64,
    /// Where the price comes from and as of when ("OpenAI API pricing, 2026-11").
    pub source: RString,
}

impl CostModel {
    pub fn is_free(&self) -> bool {
        self.usd_per_million_chars == 0.0
            && self.usd_per_million_input_tokens == 0.0
            && self.usd_per_audio_minute == 0.0
    }
    /// The price of `characters` of input producing `audio_seconds` of speech.
    pub fn price(&self, characters: u64, audio_seconds: f64) -> f64 {
        let chars = characters as f64;
        chars * self.usd_per_million_chars / 1e6
            + (chars / 4.0).ceil() * self.usd_per_million_input_tokens / 1e6
            + audio_seconds / 60.0 * self.usd_per_audio_minute
    }
}

/// A concrete model id a backend knows, with its price.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct ModelInfo {
    pub id: RString,
    pub description: RString,
    pub cost: CostModel,
}

/// Facts about a created backend.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct BackendInfo {
    /// The rate of the audio the backend pushes, in Hz.
    pub sample_rate: u32,
    pub capabilities: Capabilities,
    /// BCP-47-ish language codes the backend can speak (`en-us`, `en-gb`, `ja`).
    pub languages: RVec<RString>,
    /// Model ids the backend knows (for listings and prices); patterns may accept more.
    pub models: RVec<ModelInfo>,
    /// The voice used when a request names none.
    pub default_voice: RString,
    /// The price applied to model ids not listed in `models`.
    pub default_cost: CostModel,
    pub extra_json: RString,
}

/// One voice.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct Voice {
    pub id: RString,
    pub name: RString,
    /// Primary language code of the voice (`ja`, `en-us`).
    pub language: RString,
    /// `female`, `male` or empty.
    pub gender: RString,
    pub description: RString,
    pub extra_json: RString,
}

/// Reference audio for voice cloning.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct ReferenceAudio {
    /// The encoded file as uploaded (wav, mp3, ...).
    pub data: RVec<u8>,
    /// Its MIME type or file extension, when known.
    pub format: RString,
    /// The words spoken in it, when known.
    pub transcript: RString,
}

/// One synthesis request.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct SynthesisRequest {
    /// The model id as routed (after aliases), e.g. `kokoro` or `openai/tts-1`.
    pub model: RString,
    pub text: RString,
    /// Voice id; empty means the backend's default.
    pub voice: RString,
    /// 1.0 is normal speed.
    pub speed: f32,
    /// Language code; empty means the backend's default.
    pub language: RString,
    /// Free-text style instructions; empty when none.
    pub instructions: RString,
    pub reference_audio: ROption<ReferenceAudio>,
    /// Sample rate the host will deliver; a backend that can produce it natively may. 0 = native.
    pub preferred_sample_rate: u32,
    /// Backend-specific options as a JSON object (`{}` when none).
    pub options_json: RString,
}

impl SynthesisRequest {
    /// A request with defaults for everything but model and text.
    pub fn new(model: &str, text: &str) -> Self {
        Self {
            model: model.into(),
            text: text.into(),
            voice: RString::new(),
            speed: 1.0,
            language: RString::new(),
            instructions: RString::new(),
            reference_audio: ROption::RNone,
            preferred_sample_rate: 0,
            options_json: "{}".into(),
        }
    }
}

/// Progress of one request.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, Default)]
pub struct Progress {
    /// 0.0 ..= 1.0.
    pub fraction: f32,
    /// Units processed so far and in total (characters, tokens, bytes: see `unit`).
    pub processed: u64,
    pub total: u64,
    pub unit: RString,
    /// 1-based index of the chunk just finished, and how many there are (0 when unknown).
    pub chunk_index: u32,
    pub chunk_count: u32,
    pub status: RString,
    /// Seconds of audio produced so far.
    pub audio_seconds: f64,
    /// Engine-specific metrics as a JSON object (`{}` when none).
    pub metrics_json: RString,
}

/// When one word of the request is spoken.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct WordTimestamp {
    /// The word as written in the request text.
    pub word: RString,
    /// Byte offsets of the word in the request text, `start..end`.
    pub start_byte: u64,
    pub end_byte: u64,
    /// Seconds from the start of the request's audio.
    pub start: f64,
    pub end: f64,
}

/// What a finished synthesis reports.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, Default)]
pub struct Summary {
    pub audio_seconds: f64,
    pub characters: u64,
    pub chunks: u32,
    /// What the provider billed, when it says; negative when unknown.
    pub cost_usd: f64,
    pub extra_json: RString,
}
