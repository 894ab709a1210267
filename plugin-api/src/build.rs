//! Constructors and builder methods for the data a plugin hands the host, so an engine states
//! only what differs from the defaults: `Voice::new("tone", "Tone").language("en-us")`.
//!
//! Layouts stay in `types.rs`; these are plain inherent methods and change nothing across the
//! boundary. Every `extra_json` and `metrics_json` starts as `{}`.

use crate::{BackendInfo, Capabilities, CostModel, ModelInfo, Progress, Voice, WordTimestamp};
use abi_stable::std_types::{RString, RVec};
use std::ops::Range;

impl BackendInfo {
    /// A backend whose audio comes at `sample_rate` Hz: no capabilities, languages or models
    /// listed, no default voice, free.
    pub fn new(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            capabilities: Capabilities::NONE,
            languages: RVec::new(),
            models: RVec::new(),
            default_voice: RString::new(),
            default_cost: CostModel::default(),
            extra_json: "{}".into(),
        }
    }
    pub fn capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }
    /// Add a language code (`en-us`).
    pub fn language(mut self, code: impl Into<RString>) -> Self {
        self.languages.push(code.into());
        self
    }
    /// Add a model id with its price.
    pub fn model(mut self, model: ModelInfo) -> Self {
        self.models.push(model);
        self
    }
    pub fn default_voice(mut self, id: impl Into<RString>) -> Self {
        self.default_voice = id.into();
        self
    }
    /// The price of model ids not listed with [`BackendInfo::model`].
    pub fn default_cost(mut self, cost: CostModel) -> Self {
        self.default_cost = cost;
        self
    }
    pub fn extra_json(mut self, json: impl Into<RString>) -> Self {
        self.extra_json = json.into();
        self
    }
}

impl ModelInfo {
    /// A free model.
    pub fn new(id: impl Into<RString>, description: impl Into<RString>) -> Self {
        Self { id: id.into(), description: description.into(), cost: CostModel::default() }
    }
    pub fn cost(mut self, cost: CostModel) -> Self {
        self.cost = cost;
        self
    }
}

impl Voice {
    /// A voice with no language, gender or description set.
    pub fn new(id: impl Into<RString>, name: impl Into<RString>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            language: RString::new(),
            gender: RString::new(),
            description: RString::new(),
            extra_json: "{}".into(),
        }
    }
    pub fn language(mut self, code: impl Into<RString>) -> Self {
        self.language = code.into();
        self
    }
    /// `female`, `male` or empty.
    pub fn gender(mut self, gender: impl Into<RString>) -> Self {
        self.gender = gender.into();
        self
    }
    pub fn description(mut self, description: impl Into<RString>) -> Self {
        self.description = description.into();
        self
    }
    pub fn extra_json(mut self, json: impl Into<RString>) -> Self {
        self.extra_json = json.into();
        self
    }
}

impl Progress {
    /// `processed` of `total` units done; the fraction follows (0 while `total` is 0).
    pub fn new(processed: u64, total: u64) -> Self {
        let fraction = if total == 0 { 0.0 } else { (processed as f64 / total as f64).clamp(0.0, 1.0) as f32 };
        Self { fraction, processed, total, metrics_json: "{}".into(), ..Self::default() }
    }
    /// What `processed` and `total` count: `chars`, `bytes`, `tokens`, `chunks`.
    pub fn unit(mut self, unit: impl Into<RString>) -> Self {
        self.unit = unit.into();
        self
    }
    /// The chunk just finished (1-based) and how many there are (0 when unknown).
    pub fn chunk(mut self, index: u32, count: u32) -> Self {
        self.chunk_index = index;
        self.chunk_count = count;
        self
    }
    pub fn status(mut self, status: impl Into<RString>) -> Self {
        self.status = status.into();
        self
    }
    /// Seconds of audio produced so far.
    pub fn audio_seconds(mut self, seconds: f64) -> Self {
        self.audio_seconds = seconds;
        self
    }
    pub fn metrics_json(mut self, json: impl Into<RString>) -> Self {
        self.metrics_json = json.into();
        self
    }
}

impl WordTimestamp {
    /// The word at `bytes` of `text`, spoken from `start` to `end` seconds.
    ///
    /// Panics when `bytes` is not a range of whole characters inside `text`, like slicing would.
    pub fn new(text: &str, bytes: Range<usize>, start: f64, end: f64) -> Self {
        Self {
            word: text[bytes.clone()].into(),
            start_byte: bytes.start as u64,
            end_byte: bytes.end as u64,
            start,
            end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_fill_what_they_name_and_default_the_rest() {
        let info = BackendInfo::new(16_000).language("en-us").language("ja").model(ModelInfo::new("m", "d"));
        assert_eq!((info.sample_rate, info.languages.len(), info.models[0].id.as_str()), (16_000, 2, "m"));
        assert!(info.default_cost.is_free() && info.extra_json == "{}");
        let voice = Voice::new("af", "Alice").language("en-us").gender("female");
        assert_eq!((voice.language.as_str(), voice.description.as_str()), ("en-us", ""));
    }

    #[test]
    fn progress_fraction_follows_the_counts() {
        assert_eq!(Progress::new(3, 4).fraction, 0.75);
        assert_eq!(Progress::new(5, 4).fraction, 1.0);
        assert_eq!(Progress::new(0, 0).fraction, 0.0);
        let p = Progress::new(1, 2).chunk(1, 2).unit("chunks");
        assert_eq!((p.chunk_index, p.chunk_count, p.unit.as_str(), p.metrics_json.as_str()), (1, 2, "chunks", "{}"));
    }

    #[test]
    fn a_word_is_cut_from_its_text() {
        let w = WordTimestamp::new("héllo there", 7..12, 0.5, 0.9);
        assert_eq!((w.word.as_str(), w.start_byte, w.end_byte), ("there", 7, 12));
    }
}
