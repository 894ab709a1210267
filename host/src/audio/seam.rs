//! Where chunks join: smoothing so a backend's chunk boundaries never click, and optional
//! punctuation-aware gaps of silence.
//!
//! Backends synthesize text piece by piece; consecutive pieces rarely meet at the same level, and
//! a step between them is heard as a click. Three ways to join them:
//! - [`SeamMode::Smooth`] (default): the head of the new chunk is bent, over `ms`, from where the
//!   previous chunk was heading (its last sample plus its last slope) back onto its own course.
//!   Nothing is held back and the length is unchanged. The very first chunk is bent up from silence.
//! - [`SeamMode::Crossfade`]: the last `ms` of each chunk is held back and cross-faded with the head
//!   of the next (raised-cosine, the weights sum to one); each seam shortens the audio by `ms`.
//! - [`SeamMode::None`]: chunks are joined as they are.
//!
//! A [`Boundary`] marked before a chunk (from the text the previous chunk spoke) inserts
//! `clause_gap_ms` or `sentence_gap_ms` of silence, joined by the same rule.

use super::AudioError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeamMode {
    Smooth,
    Crossfade,
    None,
}

/// How chunks are joined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seam {
    pub mode: SeamMode,
    /// Length of the smoothing ramp or crossfade, in milliseconds (0..=100).
    pub ms: f32,
    /// Silence inserted after a clause (`,` `;` `:`), in milliseconds (0..=2000).
    pub clause_gap_ms: f32,
    /// Silence inserted after a sentence (`.` `!` `?`), in milliseconds (0..=2000).
    pub sentence_gap_ms: f32,
}

impl Default for Seam {
    fn default() -> Self {
        Seam { mode: SeamMode::Smooth, ms: 10.0, clause_gap_ms: 0.0, sentence_gap_ms: 0.0 }
    }
}

impl Seam {
    pub fn validate(&self) -> Result<(), AudioError> {
        let ok = |v: f32, max: f32| v.is_finite() && (0.0..=max).contains(&v);
        if !ok(self.ms, 100.0) {
            return Err(AudioError::BadSeam(format!("seam length must be 0..=100 ms, got {}", self.ms)));
        }
        if !ok(self.clause_gap_ms, 2000.0) || !ok(self.sentence_gap_ms, 2000.0) {
            return Err(AudioError::BadSeam(format!(
                "gaps must be 0..=2000 ms, got clause {} and sentence {}",
                self.clause_gap_ms, self.sentence_gap_ms
            )));
        }
        Ok(())
    }
}

/// What the text before a seam ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Boundary {
    #[default]
    Word,
    Clause,
    Sentence,
}

impl Boundary {
    /// The boundary after `text`, from its last non-space character.
    pub fn after(text: &str) -> Boundary {
        match text.trim_end().trim_end_matches(['"', '\'', ')', ']', '”', '’', '»']).chars().next_back() {
            Some('.' | '!' | '?' | '…' | '。' | '！' | '？') => Boundary::Sentence,
            Some(',' | ';' | ':' | '—' | '–' | '、' | '，' | '；' | '：') => Boundary::Clause,
            _ => Boundary::Word,
        }
    }
}

/// The seam state of one mono stream at one sample rate.
pub(crate) struct Joiner {
    seam: Seam,
    rate: u32,
    /// The last two samples passed on (older, newer).
    last: Option<(f32, f32)>,
    /// Crossfade: the tail held back for the next chunk.
    held: Vec<f32>,
    boundary: Boundary,
    started: bool,
}

impl Joiner {
    pub fn new(seam: Seam, rate: u32) -> Self {
        Joiner { seam, rate, last: None, held: Vec::new(), boundary: Boundary::Word, started: false }
    }

    /// Mark what the text before the next chunk ended with.
    pub fn boundary(&mut self, boundary: Boundary) {
        self.boundary = boundary;
    }

    fn samples(&self, ms: f32) -> usize {
        (ms as f64 * self.rate as f64 / 1000.0).round() as usize
    }

    /// Join `chunk` to what came before; returns the samples ready to go on.
    pub fn push(&mut self, chunk: Vec<f32>) -> Vec<f32> {
        let gap_ms = match std::mem::take(&mut self.boundary) {
            _ if !self.started => 0.0,
            Boundary::Word => 0.0,
            Boundary::Clause => self.seam.clause_gap_ms,
            Boundary::Sentence => self.seam.sentence_gap_ms,
        };
        self.started = true;
        let gap = self.samples(gap_ms);
        if gap == 0 {
            return self.join(chunk);
        }
        let mut out = self.join(vec![0.0; gap]);
        out.extend(self.join(chunk));
        out
    }

    /// What is still held back, at the end of the stream.
    pub fn finish(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.held)
    }

    fn join(&mut self, mut chunk: Vec<f32>) -> Vec<f32> {
        if chunk.is_empty() {
            return chunk;
        }
        let n = self.samples(self.seam.ms).min(chunk.len());
        match self.seam.mode {
            SeamMode::None => {}
            SeamMode::Smooth if n > 0 => {
                let target = self.last.map_or(0.0, |(a, b)| (2.0 * b - a).clamp(-1.0, 1.0));
                let offset = target - chunk[0];
                for (t, s) in chunk[..n].iter_mut().enumerate() {
                    let w = 0.5 * (1.0 + (std::f32::consts::PI * t as f32 / n as f32).cos());
                    *s += offset * w;
                }
            }
            SeamMode::Smooth => {}
            SeamMode::Crossfade => {
                let held = std::mem::take(&mut self.held);
                let mut joined = if held.len() <= chunk.len() {
                    let k = held.len();
                    for (t, h) in held.iter().enumerate() {
                        let w = 0.5 * (1.0 - (std::f32::consts::PI * (t as f32 + 0.5) / k as f32).cos());
                        chunk[t] = h * (1.0 - w) + chunk[t] * w;
                    }
                    chunk
                } else {
                    // A chunk shorter than the fade: pass the tail on and start again.
                    let mut all = held;
                    all.extend(chunk);
                    all
                };
                let keep = n.min(joined.len() / 2);
                self.held = joined.split_off(joined.len() - keep);
                chunk = joined;
            }
        }
        match chunk.len() {
            0 => {}
            1 => self.last = Some((self.last.map_or(0.0, |(_, b)| b), chunk[0])),
            len => self.last = Some((chunk[len - 2], chunk[len - 1])),
        }
        chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(a: f32, b: f32) -> (Vec<f32>, Vec<f32>) {
        (vec![a; 500], vec![b; 500])
    }

    fn max_jump(x: &[f32]) -> f32 {
        x.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn smooth_removes_the_step_and_keeps_the_length() {
        let (a, b) = steps(0.5, -0.5);
        let mut j = Joiner::new(Seam::default(), 24_000);
        let mut out = j.push(a);
        out.extend(j.push(b));
        out.extend(j.finish());
        assert_eq!(out.len(), 1000);
        assert!(max_jump(&out) < 0.01, "largest jump {}", max_jump(&out));
        assert_eq!(out[0], 0.0, "the first chunk rises from silence");
        assert_eq!(out[999], -0.5);
    }

    #[test]
    fn crossfade_overlaps_and_shortens_by_its_length() {
        let (a, b) = steps(0.5, -0.5);
        let seam = Seam { mode: SeamMode::Crossfade, ms: 10.0, ..Seam::default() };
        let mut j = Joiner::new(seam, 24_000);
        let mut out = j.push(a);
        out.extend(j.push(b));
        out.extend(j.finish());
        assert_eq!(out.len(), 1000 - 240);
        assert!(max_jump(&out) < 0.01, "largest jump {}", max_jump(&out));
    }

    #[test]
    fn sentence_gaps_insert_silence() {
        let seam = Seam { sentence_gap_ms: 100.0, ..Seam::default() };
        let mut j = Joiner::new(seam, 10_000);
        let mut out = j.push(vec![0.1; 100]);
        j.boundary(Boundary::after("Hello there. "));
        out.extend(j.push(vec![0.1; 100]));
        assert_eq!(out.len(), 1200);
        assert!(out[600].abs() < 1e-6);
    }

    #[test]
    fn boundaries_follow_punctuation() {
        assert_eq!(Boundary::after("Hi, "), Boundary::Clause);
        assert_eq!(Boundary::after("said \"stop!\""), Boundary::Sentence);
        assert_eq!(Boundary::after("and"), Boundary::Word);
    }
}
