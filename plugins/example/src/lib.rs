//! The example chorus plugin, and the template to copy for a new engine.
//!
//! It "speaks" each character as a short tone (letters at pitches by letter, digits higher,
//! spaces and punctuation as silence), one chunk per word, so its audio, progress and word
//! timestamps are exact and deterministic. Copy this crate, rename it, replace `synthesize`.
//!
//! Config (the `[backends.example]` table): `ms_per_char = 40`.

use chorus_plugin_api::{
    BackendInfo, Capabilities, Engine, ModelInfo, PluginError, Progress, Sink, Summary, SynthError, SynthesisRequest,
    Voice, WordTimestamp, export_plugin,
};
use serde::Deserialize;

const RATE: u32 = 24_000;
const VOICES: [(&str, f32); 2] = [("tone", 1.0), ("low", 0.5)];

/// The `[backends.example]` table; keys left out keep their defaults.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Milliseconds of tone per character at speed 1, 1..=1000.
    pub ms_per_char: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self { ms_per_char: 40.0 }
    }
}

/// The engine: its whole state is its config.
pub struct ExampleEngine {
    samples_per_char: usize,
}

impl Engine for ExampleEngine {
    const NAME: &'static str = "example";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PATTERNS: &'static [&'static str] = &["example*"];
    const DESCRIPTION: &'static str = "Speaks each character as a brief tone (template and test plugin)";
    const LICENSE: &'static str = "MIT OR Apache-2.0";
    const CAPABILITIES: Capabilities = Capabilities::STREAMING.union(Capabilities::WORD_TIMESTAMPS);
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        let ms = config.ms_per_char;
        if !(1.0..=1000.0).contains(&ms) {
            return Err(PluginError::not_configured(format!("example: ms_per_char must be 1..=1000, got {ms}")));
        }
        Ok(Self { samples_per_char: (ms * RATE as f64 / 1000.0) as usize })
    }

    fn info(&self) -> BackendInfo {
        let info = BackendInfo::new(RATE).capabilities(Self::CAPABILITIES).default_voice(VOICES[0].0);
        info.language("en-us").model(ModelInfo::new("example", Self::DESCRIPTION))
    }

    fn voices(&self) -> Result<Vec<Voice>, PluginError> {
        Ok(VOICES.iter().map(|(id, _)| Voice::new(*id, *id).language("en-us").description("sine tones")).collect())
    }

    fn synthesize(&self, request: &SynthesisRequest, sink: &mut Sink) -> Result<Summary, SynthError> {
        let voice = if request.voice.is_empty() { VOICES[0].0 } else { request.voice.as_str() };
        let Some(&(_, pitch)) = VOICES.iter().find(|(id, _)| *id == voice) else {
            return Err(PluginError::unknown_voice(format!("example has no voice '{voice}' (try: tone, low)")).into());
        };
        if !(0.25..=4.0).contains(&request.speed) {
            return Err(PluginError::bad_request(format!("speed must be 0.25..=4.0, got {}", request.speed)).into());
        }
        let text = request.text.as_str();
        let per_char = ((self.samples_per_char as f32) / request.speed).max(1.0) as usize;
        let seconds = |samples: usize| samples as f64 / RATE as f64;
        let words = word_spans(text);
        let (count, mut produced) = (words.len() as u32, 0);
        for (i, &(start, end)) in words.iter().enumerate() {
            // Each chunk is the word plus the gap up to the next word, so the audio covers the text.
            let chunk_start = if i == 0 { 0 } else { start };
            let chunk_end = words.get(i + 1).map_or(text.len(), |w| w.0);
            let audio = render(&text[chunk_start..chunk_end], per_char, pitch);
            let word_start = produced + text[chunk_start..start].chars().count() * per_char;
            let word_end = word_start + text[start..end].chars().count() * per_char;
            produced += audio.len();
            // A push answers Err(Stopped) once the listener is gone; `?` ends the request then.
            sink.audio(&audio, RATE, 1)?;
            sink.words(&[WordTimestamp::new(text, start..end, seconds(word_start), seconds(word_end))])?;
            let progress = Progress::new(chunk_end as u64, text.len() as u64).unit("bytes").chunk(i as u32 + 1, count);
            sink.progress(&progress.status(format!("word {} of {count}", i + 1)).audio_seconds(seconds(produced)))?;
        }
        Ok(sink.summary(request))
    }
}

/// Byte spans of whitespace-separated words.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// One tone per character: letters and digits sound, everything else is silence.
fn render(text: &str, per_char: usize, pitch: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(text.chars().count() * per_char);
    for c in text.chars() {
        let freq = match c.to_ascii_lowercase() {
            l @ 'a'..='z' => 220.0 + 20.0 * (l as u8 - b'a') as f32,
            d @ '0'..='9' => 800.0 + 30.0 * (d as u8 - b'0') as f32,
            c if c.is_alphanumeric() => 500.0,
            _ => 0.0,
        } * pitch;
        for n in 0..per_char {
            // A short fade at both ends of each tone keeps it click-free.
            let edge = (n.min(per_char - 1 - n) as f32 / 48.0).min(1.0);
            let phase = 2.0 * std::f32::consts::PI * freq * n as f32 / RATE as f32;
            out.push(if freq > 0.0 { 0.3 * edge * phase.sin() } else { 0.0 });
        }
    }
    out
}

export_plugin!(ExampleEngine);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_split_on_whitespace() {
        assert_eq!(word_spans(" hi  there "), vec![(1, 3), (5, 10)]);
    }
}
