//! The two halves of a Kokoro model as the synthesis loop sees them: a *front* (tokens, style,
//! speed → per-token durations and frame-rate features) and a *decoder* (a window of those
//! frames and the style → audio). ONNX Runtime's sessions are one implementation
//! ([`crate::model`]); another runtime implements [`Halves`] and gets the same text front-end,
//! voices, chunking, decoder windows, word timestamps and progress ([`crate::synth`]).

use std::ops::Range;

use chorus_plugin_api::PluginError;

/// Samples of 24 kHz audio per frame (one duration unit).
pub const SAMPLES_PER_FRAME: usize = chorus_kokoro_graph::durations::SAMPLES_PER_UNIT;

/// A model cut in two at the decoder's inputs. Both halves run on the caller's thread.
pub trait Halves: Send + Sync {
    /// The front for one chunk: `ids` padded with 0 at both ends, `style` 256 floats.
    fn front(&self, ids: &[i64], style: &[f32], speed: f32) -> Result<Frames, PluginError>;

    /// Audio for `range` of `frames` ([`SAMPLES_PER_FRAME`] samples each), decoded with
    /// `context` frames before and after it where the chunk has them (cut off again), so the
    /// window's edges sound as inside.
    fn decode(
        &self,
        frames: &Frames,
        style: &[f32],
        range: Range<usize>,
        context: (usize, usize),
    ) -> Result<Vec<f32>, PluginError>;
}

/// A chunk's front output: one duration per input id (pads included) and the decoder's features
/// for every frame, so any stretch of frames can be decoded.
pub struct Frames {
    pub durations: Vec<i64>,
    pub features: Vec<Feature>,
}

/// One decoder input: a float tensor, its time axis, and its steps per frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
    pub axis: usize,
    pub per_frame: usize,
}

impl Frames {
    /// Frames in the chunk.
    pub fn len(&self) -> usize {
        self.features.first().map_or(0, |f| f.shape.get(f.axis).copied().unwrap_or(0) / f.per_frame.max(1))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every feature has [`Frames::len`] frames along its axis, and there is one duration
    /// per id of a chunk of `ids` ids.
    pub fn agree(&self, ids: usize) -> bool {
        let frames = self.len();
        self.durations.len() == ids
            && self.features.iter().all(|f| f.shape.len() > f.axis && f.shape[f.axis] == frames * f.per_frame)
    }

    /// These frames, if they [agree](Frames::agree) with a chunk of `ids` ids; else an error
    /// naming `engine`.
    pub fn checked(self, ids: usize, engine: &str) -> Result<Self, PluginError> {
        if self.agree(ids) {
            Ok(self)
        } else {
            Err(PluginError::internal(format!("{engine}: the front's outputs do not have the expected shapes")))
        }
    }

    /// The frames a window decodes: `range`, with `context` frames before and after it where the
    /// chunk has them.
    pub fn span(&self, range: &Range<usize>, context: (usize, usize)) -> Range<usize> {
        range.start.saturating_sub(context.0)..(range.end + context.1).min(self.len())
    }
}

/// The samples of `range` in `audio`, which was decoded for the frames of `span`.
pub fn cut_to(audio: &[f32], span: &Range<usize>, range: &Range<usize>) -> Vec<f32> {
    let from = (range.start - span.start) * SAMPLES_PER_FRAME;
    let to = ((range.end - span.start) * SAMPLES_PER_FRAME).min(audio.len());
    audio.get(from..to).unwrap_or_default().to_vec()
}

impl Feature {
    /// This feature restricted to `frames`: its shape and values.
    pub fn window(&self, frames: &Range<usize>) -> (Vec<usize>, Vec<f32>) {
        let (from, to) = (frames.start * self.per_frame, frames.end * self.per_frame);
        let outer: usize = self.shape[..self.axis].iter().product();
        let inner: usize = self.shape[self.axis + 1..].iter().product();
        let steps = self.shape[self.axis];
        let len = to - from;
        let mut out = Vec::with_capacity(outer * len * inner);
        for o in 0..outer {
            out.extend_from_slice(&self.data[(o * steps + from) * inner..(o * steps + to) * inner]);
        }
        let mut dims = self.shape.clone();
        dims[self.axis] = len;
        (dims, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three frames: text features [1, 2, F], F0 and energy [1, 2F], phase [1, 2F, 2], numbered so
    /// every value says where it came from.
    fn frames() -> Frames {
        let f = 3;
        let feature = |shape: Vec<usize>, data: Vec<f32>, axis, per_frame| Feature { shape, data, axis, per_frame };
        let asr: Vec<f32> = (0..2 * f).map(|i| i as f32).collect();
        let curve: Vec<f32> = (0..2 * f).map(|i| 100.0 + i as f32).collect();
        let phase: Vec<f32> = (0..4 * f).map(|i| 200.0 + i as f32).collect();
        Frames {
            durations: vec![1, 1, 1],
            features: vec![
                feature(vec![1, 2, f], asr, 2, 1),
                feature(vec![1, 2 * f], curve.clone(), 1, 2),
                feature(vec![1, 2 * f], curve, 1, 2),
                feature(vec![1, 2 * f, 2], phase, 1, 2),
            ],
        }
    }

    #[test]
    fn a_window_takes_its_frames_along_each_features_time_axis() {
        let f = frames();
        assert_eq!(f.len(), 3);
        assert!(f.agree(3) && !f.agree(4));
        // Text features: frame 1..3 of both channels.
        assert_eq!(f.features[0].window(&(1..3)), (vec![1, 2, 2], vec![1.0, 2.0, 4.0, 5.0]));
        // Two steps per frame for the curves, and the phase's last axis rides along.
        assert_eq!(f.features[1].window(&(1..2)), (vec![1, 2], vec![102.0, 103.0]));
        assert_eq!(f.features[3].window(&(2..3)), (vec![1, 2, 2], vec![208.0, 209.0, 210.0, 211.0]));
    }
}
