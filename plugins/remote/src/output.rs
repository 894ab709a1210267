//! The plugin's side of a synthesis while audio streams in: pushes audio in reasonable blocks,
//! reports progress (status, an estimated fraction, audio seconds) and retries, and builds the
//! [`Summary`].
//!
//! Remote services do not say how far they are, so the fraction is estimated from the audio
//! received against the expected length of the text (about 15 characters a second at speed
//! 1.0), capped at 0.95 until the stream ends; `metrics_json` marks it `"estimated": true`.

use crate::{
    client::{RetryNotice, RetryObserver},
    pcm::AudioFormat,
};
use chorus_plugin_api::{Flow, Progress, Sink, Stopped, Summary, WordTimestamp};

/// Characters per second of speech at speed 1.0, for the progress estimate only.
const CHARS_PER_SECOND: f64 = 15.0;
/// Audio is pushed in blocks of at least this many seconds (except the last).
const MIN_BLOCK_SECONDS: f64 = 0.1;

/// A sink with bookkeeping. Create one per synthesis.
pub struct Output<'s> {
    sink: &'s mut Sink,
    service: String,
    total_chars: u64,
    expected_seconds: f64,
    audio_seconds: f64,
    chunks: u32,
    pending: Vec<f32>,
    pending_format: Option<AudioFormat>,
}

impl<'s> Output<'s> {
    /// `service` names the remote in status lines; `text` and `speed` drive the estimate.
    pub fn new(sink: &'s mut Sink, service: &str, text: &str, speed: f32) -> Self {
        let total_chars = text.chars().count() as u64;
        let speed = if speed > 0.0 { speed as f64 } else { 1.0 };
        Self {
            sink,
            service: service.into(),
            total_chars,
            expected_seconds: (total_chars as f64 / CHARS_PER_SECOND / speed).max(0.5),
            audio_seconds: 0.0,
            chunks: 0,
            pending: Vec::new(),
            pending_format: None,
        }
    }

    /// Seconds of audio pushed so far (including what is buffered).
    pub fn audio_seconds(&self) -> f64 {
        self.audio_seconds + self.pending_seconds()
    }

    /// True once the consumer has gone.
    pub fn stopped(&self) -> bool {
        self.sink.stopped()
    }

    fn pending_seconds(&self) -> f64 {
        self.pending_format
            .map_or(0.0, |f| self.pending.len() as f64 / f.channels.max(1) as f64 / f.sample_rate.max(1) as f64)
    }

    fn fraction(&self) -> f32 {
        (self.audio_seconds / self.expected_seconds).min(0.95) as f32
    }

    /// Report a status line (`sending request`, `waiting for audio`).
    pub fn status(&mut self, status: &str) -> Flow {
        let progress = Progress {
            fraction: self.fraction(),
            processed: 0,
            total: self.total_chars,
            unit: "characters".into(),
            chunk_index: self.chunks,
            chunk_count: 0,
            status: format!("{}: {status}", self.service).into(),
            audio_seconds: self.audio_seconds,
            metrics_json: r#"{"estimated":true}"#.into(),
        };
        flow(self.sink.progress(&progress))
    }

    /// Queue decoded samples; they are pushed in blocks of at least 0.1 s.
    pub fn audio(&mut self, samples: &[f32], format: AudioFormat) -> Flow {
        if self.pending_format.is_some_and(|f| f != format) && self.flush().is_stop() {
            return Flow::Stop;
        }
        self.pending_format = Some(format);
        self.pending.extend_from_slice(samples);
        if self.pending_seconds() >= MIN_BLOCK_SECONDS { self.flush() } else { Flow::Continue }
    }

    /// Push whatever audio is buffered.
    pub fn flush(&mut self) -> Flow {
        let Some(format) = self.pending_format else { return Flow::Continue };
        if self.pending.is_empty() {
            return Flow::Continue;
        }
        let seconds = self.pending_seconds();
        let samples = std::mem::take(&mut self.pending);
        if self.sink.audio(&samples, format.sample_rate, format.channels).is_err() {
            return Flow::Stop;
        }
        self.audio_seconds += seconds;
        self.chunks += 1;
        let audio_seconds = self.audio_seconds;
        self.status(&format!("receiving audio ({audio_seconds:.1} s so far)"))
    }

    /// Push word timestamps (audio up to them is flushed first so they never lead the audio).
    pub fn words(&mut self, words: &[WordTimestamp]) -> Flow {
        if words.is_empty() {
            return Flow::Continue;
        }
        if self.flush().is_stop() {
            return Flow::Stop;
        }
        flow(self.sink.words(words))
    }

    /// Flush, report completion and return the summary. `cost_usd` is what the provider billed
    /// when it says (negative = unknown: the host prices it from the model's [`CostModel`]).
    ///
    /// [`CostModel`]: chorus_plugin_api::CostModel
    pub fn finish(&mut self, cost_usd: f64) -> Summary {
        let _ = self.flush();
        let progress = Progress {
            fraction: 1.0,
            processed: self.total_chars,
            total: self.total_chars,
            unit: "characters".into(),
            chunk_index: self.chunks,
            chunk_count: self.chunks,
            status: format!("{}: done", self.service).into(),
            audio_seconds: self.audio_seconds,
            metrics_json: "{}".into(),
        };
        let _ = self.sink.progress(&progress);
        Summary {
            audio_seconds: self.audio_seconds,
            characters: self.total_chars,
            chunks: self.chunks,
            cost_usd,
            extra_json: "{}".into(),
        }
    }
}

/// A push's answer as the [`Flow`] the request loops here test.
fn flow(pushed: Result<(), Stopped>) -> Flow {
    if pushed.is_err() { Flow::Stop } else { Flow::Continue }
}

impl RetryObserver for Output<'_> {
    fn retrying(&mut self, notice: &RetryNotice) -> Flow {
        self.status(&format!(
            "{}; retry {} of {} in {:.1} s",
            notice.reason,
            notice.retry,
            notice.max_retries,
            notice.delay.as_secs_f64()
        ))
    }
}
