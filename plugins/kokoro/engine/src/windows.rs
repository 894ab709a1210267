//! A chunk's audio in decoder windows: a short first window so a request's audio starts early,
//! decoded with probes of the rest of the chunk for its statistics, sized so the rest is decoded
//! while it plays.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chorus_plugin_api::PluginError;

use crate::audio;
use crate::halves::{Frames, Probes, SAMPLES_PER_FRAME};
use crate::model::{Model, SAMPLE_RATE};

/// Decoder windows, in frames of 25 ms (config keys `first_window`, `first_context`, `probes`,
/// `probe_frames`, `window`, `window_context`). The front always sees a whole chunk (a sentence,
/// or clauses within the token limit), so prosody never depends on them; only the decoder's work
/// is split.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// Frames of audio in the first window of a request, decoded before the rest so audio starts
    /// early (0: the first chunk is decoded like any other).
    pub first: usize,
    /// Frames decoded after the first window and cut off again, so its end sounds as inside.
    pub first_context: usize,
    /// Stretches of the chunk's other frames decoded with any window that sees less than half of
    /// it, for the decoder's statistics ([`Probes`]).
    pub probes: Probes,
    /// Most frames of audio in any later window (0: the rest of a chunk at once). Bounds the
    /// decoder's memory on long chunks.
    pub max: usize,
    /// Frames decoded on each side of a later window and cut off again, so its edges sound as inside.
    pub context: usize,
}

impl Default for Windows {
    /// Each chunk decoded whole: a first window starts audio in about 0.6 of the time, but the
    /// judge hears its first words less clearly than the whole sentence's (docs/BENCHMARKS.md,
    /// session 16). The probes apply once `first` is set: they bring the window's level back and
    /// halve its spectral distance from the whole sentence.
    fn default() -> Self {
        Self { first: 0, first_context: 8, probes: Probes { count: 8, frames: 6 }, max: 0, context: 8 }
    }
}

/// A chunk's model output: whole audio, or frames still to decode.
pub(crate) enum Source {
    Whole(Vec<f32>),
    Frames(Frames),
}

impl Source {
    /// Samples of the chunk's whole audio.
    pub fn len(&self) -> usize {
        match self {
            Source::Whole(raw) => raw.len(),
            Source::Frames(frames) => frames.len() * SAMPLES_PER_FRAME,
        }
    }
}

/// Share of the first window's playing time the rest of its chunk may take to decode.
const PLAY_MARGIN: f64 = 0.8;

/// The decoder's seconds per frame on this machine, as last measured (shared by the engine's
/// requests; 0 until the first window is decoded).
#[derive(Debug, Default)]
pub struct Rate(AtomicU64);

impl Rate {
    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Fold in one window's measurement (half the weight to the newest).
    fn update(&self, seconds: f64, frames: usize) {
        let now = seconds / frames.max(1) as f64;
        let old = self.get();
        self.0.store((if old > 0.0 { (old + now) / 2.0 } else { now }).to_bits(), Ordering::Relaxed);
    }

    /// Frames of a first window whose playing time covers decoding the rest of a `left`-frame
    /// chunk (with `context` frames) at this rate, at least `min`.
    fn first_window(&self, min: usize, left: usize, context: usize) -> usize {
        let per_frame = self.get();
        let play = SAMPLES_PER_FRAME as f64 / f64::from(SAMPLE_RATE) * PLAY_MARGIN;
        min.max(((left + context) as f64 * per_frame / (play + per_frame)).ceil() as usize)
    }
}

/// The chunk's audio between the cut points `head..tail` (samples), in pieces as it is made. A
/// whole run is one piece. A split model decodes the chunk's frames in windows ([`Windows`]): at
/// the start of a request a first window, `first` frames or as many more as its playing time
/// needs to cover decoding the rest at the measured [`Rate`]; then the rest of the chunk, decoded
/// from the chunk's start again so its audio is the whole chunk's exactly (or, with `max`, in
/// windows of at most `max` frames, each with `context` frames on each side). Every window but
/// the last decodes one frame past its end, and the next window's first frame blends over it.
pub(crate) struct Pieces<'a> {
    source: &'a Source,
    head: usize,
    tail: usize,
    /// The next frame to push, and the frame after the last.
    next: usize,
    last: usize,
    /// The request's first window, until this chunk has used it.
    opening: Option<usize>,
    /// Frames where the chunk's words start: a window ends at one, so no seam falls inside a word.
    word_starts: Vec<usize>,
    /// The previous window's decoding of the frame this window starts with.
    seam: Vec<f32>,
    /// After a first window: the frame where the chunk's decoding began.
    from: Option<usize>,
}

impl<'a> Pieces<'a> {
    pub fn new(source: &'a Source, head: usize, tail: usize, opening: Option<usize>, word_starts: Vec<usize>) -> Self {
        let (next, last) = match source {
            Source::Whole(_) => (0, 1),
            Source::Frames(_) => (head / SAMPLES_PER_FRAME, tail.div_ceil(SAMPLES_PER_FRAME)),
        };
        Self { source, head, tail, next, last, opening, word_starts, seam: Vec::new(), from: None }
    }

    /// The first frame at or after `at` where a word starts (not at the chunk's very end), else `at`.
    fn word_start(&self, at: usize) -> usize {
        self.word_starts.iter().copied().find(|&f| f >= at && f + 2 < self.last).unwrap_or(at)
    }

    /// Where the next window ends, and the context decoded before and after it.
    fn plan(&mut self, w: &Windows, rate: &Rate) -> (usize, (usize, usize)) {
        let left = self.last - self.next;
        if let Some(first) = self.opening.take() {
            // The rest is decoded from the chunk's start again: about all of it.
            let n = rate.first_window(first, left + w.context, w.context);
            // A first window only when it is short of half the chunk: else it would not start sooner.
            if 2 * (n + w.first_context) < left {
                self.from = Some(self.next);
                return (self.word_start(self.next + n), (w.context, w.first_context.max(w.context)));
            }
        }
        // After a first window the rest is decoded from where the chunk's decoding began, so its
        // audio is the whole chunk's exactly; only the first window's differs.
        if let Some(from) = self.from.take().filter(|_| w.max == 0 || left <= w.max) {
            return (self.last, (self.next - from + w.context, w.context));
        }
        // Windows of even length, so the last is never a sliver.
        if w.max > 0 && left > w.max {
            return (self.next + left.div_ceil(left.div_ceil(w.max)), (w.context, w.context));
        }
        (self.last, (w.context, w.context))
    }

    /// The next piece and whether it is the last one; decoding time is added to `inference`.
    pub fn next(
        &mut self,
        model: &Model,
        w: &Windows,
        rate: &Rate,
        style: &[f32],
        inference: &mut f64,
    ) -> Option<Result<(Vec<f32>, bool), PluginError>> {
        if self.next >= self.last {
            return None;
        }
        let frames = match self.source {
            Source::Whole(raw) => {
                self.next = self.last;
                return Some(Ok((raw[self.head..self.tail].to_vec(), true)));
            }
            Source::Frames(frames) => frames,
        };
        let (end, context) = self.plan(w, rate);
        let past = usize::from(end < self.last);
        let feed = frames.feed(self.next..end + past, context, w.probes);
        let t = Instant::now();
        let decoded = match model.halves() {
            Some(halves) => halves.decode(frames, style, &feed),
            None => Err(PluginError::internal("kokoro: this model runs whole; it has no separate decoder")),
        };
        let spent = t.elapsed();
        *inference += spent.as_secs_f64();
        let mut pcm = match decoded {
            Ok(pcm) => {
                rate.update(spent.as_secs_f64(), feed.frames());
                pcm
            }
            Err(e) => {
                self.next = self.last;
                return Some(Err(e));
            }
        };
        audio::blend(&std::mem::take(&mut self.seam), &mut pcm);
        if past > 0 {
            self.seam = pcm.split_off(((end - self.next) * SAMPLES_PER_FRAME).min(pcm.len()));
        }
        let at = self.next * SAMPLES_PER_FRAME;
        let from = self.head.saturating_sub(at).min(pcm.len());
        let to = self.tail.saturating_sub(at).min(pcm.len()).max(from);
        pcm.truncate(to);
        pcm.drain(..from);
        self.next = end;
        Some(Ok((pcm, end == self.last)))
    }
}
