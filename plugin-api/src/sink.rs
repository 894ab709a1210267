//! The host's sink as a plugin author sees it: every push answers `Err(Stopped)` once the
//! consumer is gone, so `sink.audio(..)?` inside `synthesize` ends the request early.

use crate::{PluginError, Progress, SinkBox, Summary, SynthesisRequest, WordTimestamp};
use abi_stable::std_types::RSlice;
use std::fmt;

/// The consumer is gone: stop work and return. `?` carries it out of `synthesize`, and the SDK
/// answers the host with the summary of what was pushed ([`Sink::summary`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the consumer stopped the request")
    }
}

impl std::error::Error for Stopped {}

/// How `synthesize` ends early: told to stop (a normal end), or failed.
#[derive(Debug, Clone)]
pub enum SynthError {
    Stopped,
    Failed(PluginError),
}

impl From<Stopped> for SynthError {
    fn from(_: Stopped) -> Self {
        Self::Stopped
    }
}

impl From<PluginError> for SynthError {
    fn from(error: PluginError) -> Self {
        Self::Failed(error)
    }
}

impl fmt::Display for SynthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stopped => Stopped.fmt(f),
            Self::Failed(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for SynthError {}

/// Pushes audio, progress and words to the host, and tallies the audio pushed.
pub struct Sink {
    inner: SinkBox,
    stopped: bool,
    audio_seconds: f64,
    chunks: u32,
}

impl Sink {
    pub fn new(inner: SinkBox) -> Self {
        Self { inner, stopped: false, audio_seconds: 0.0, chunks: 0 }
    }

    /// Push mono or interleaved f32 PCM (`channels` samples per frame).
    pub fn audio(&mut self, samples: &[f32], sample_rate: u32, channels: u16) -> Result<(), Stopped> {
        self.check()?;
        if sample_rate > 0 && channels > 0 {
            self.audio_seconds += samples.len() as f64 / channels as f64 / sample_rate as f64;
        }
        self.chunks += 1;
        let flow = self.inner.audio(RSlice::from_slice(samples), sample_rate, channels);
        self.note(flow.is_stop())
    }

    pub fn progress(&mut self, progress: &Progress) -> Result<(), Stopped> {
        self.check()?;
        let flow = self.inner.progress(progress);
        self.note(flow.is_stop())
    }

    /// Word timestamps, in seconds from the start of this request's audio.
    pub fn words(&mut self, words: &[WordTimestamp]) -> Result<(), Stopped> {
        self.check()?;
        let flow = self.inner.words(RSlice::from_slice(words));
        self.note(flow.is_stop())
    }

    /// The host's sink itself, without the guard that keeps pushes after a stop from reaching the
    /// host. Only for test fixtures that play a plugin not built on this SDK (one that ignores
    /// `Stop`), so the host and `chorus plugin check` can be tested against it.
    #[doc(hidden)]
    pub fn unguarded(&mut self) -> &mut SinkBox {
        &mut self.inner
    }

    /// True once any push answered stop; later pushes answer it at once, reaching no host.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Seconds of audio pushed so far, and in how many pushes.
    pub fn audio_seconds(&self) -> f64 {
        self.audio_seconds
    }
    pub fn chunks(&self) -> u32 {
        self.chunks
    }

    /// The summary of what was pushed for `request`, with no provider cost (the host prices it).
    pub fn summary(&self, request: &SynthesisRequest) -> Summary {
        Summary {
            audio_seconds: self.audio_seconds,
            characters: request.text.chars().count() as u64,
            chunks: self.chunks,
            cost_usd: -1.0,
            extra_json: "{}".into(),
        }
    }

    fn check(&self) -> Result<(), Stopped> {
        if self.stopped { Err(Stopped) } else { Ok(()) }
    }

    fn note(&mut self, stop: bool) -> Result<(), Stopped> {
        self.stopped |= stop;
        self.check()
    }
}
