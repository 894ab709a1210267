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

    /// Audio for `feed.range` of `frames` ([`SAMPLES_PER_FRAME`] samples each), decoded with the
    /// frames [`Feed`] adds around it (cut off again).
    fn decode(&self, frames: &Frames, style: &[f32], feed: &Feed) -> Result<Vec<f32>, PluginError>;
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

    /// The whole chunk decoded at once.
    pub fn whole(&self) -> Feed {
        Feed { range: 0..self.len(), span: 0..self.len(), probes: Vec::new() }
    }

    /// What a window of `range` decodes: `context` frames before and after it where the chunk has
    /// them, and, for a window that sees less than half the chunk, `probes` from the rest.
    pub fn feed(&self, range: Range<usize>, context: (usize, usize), probes: Probes) -> Feed {
        let n = self.len();
        let span = range.start.saturating_sub(context.0)..(range.end + context.1).min(n);
        let probes = if span.len() * 2 < n { probes.spread(n, &span) } else { Vec::new() };
        Feed { range, span, probes }
    }
}

/// Short stretches of a chunk's other frames decoded after a window and cut off again. The
/// decoder's instance norms and dynamic quantizations take their statistics over everything they
/// are given: a window alone comes out quieter, and further from the same frames decoded with
/// the whole chunk, and probes spread over the chunk bring its statistics into the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Probes {
    pub count: usize,
    pub frames: usize,
}

impl Probes {
    /// `count` stretches of `frames` frames spread evenly over the frames of `0..n` outside `span`
    /// (none if they do not fit there).
    fn spread(self, n: usize, span: &Range<usize>) -> Vec<Range<usize>> {
        let (k, p) = (self.count, self.frames);
        let outside = n - span.len();
        if k == 0 || p == 0 || outside < k * p {
            return Vec::new();
        }
        (0..k)
            .map(|i| {
                let at = if k == 1 { (outside - p) / 2 } else { (outside - p) * i / (k - 1) };
                // Frames before the span keep their place; the rest follow it. A stretch that
                // would cross the span goes whole to the side with room.
                let start = if at + p <= span.start {
                    at
                } else if at >= span.start || span.end + p <= n {
                    span.end + at.saturating_sub(span.start)
                } else {
                    span.start - p
                };
                let start = start.min(n - p);
                start..start + p
            })
            .collect()
    }
}

/// The frames one decoder run is given: the window's `range` inside its `span` (the range and
/// its context), then the `probes`, joined along time.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub range: Range<usize>,
    pub span: Range<usize>,
    pub probes: Vec<Range<usize>>,
}

impl Feed {
    /// The stretches of frames in the order they are joined.
    pub fn parts(&self) -> impl Iterator<Item = &Range<usize>> {
        std::iter::once(&self.span).chain(&self.probes)
    }

    /// Frames decoded in all.
    pub fn frames(&self) -> usize {
        self.parts().map(|r| r.len()).sum()
    }

    /// The samples of the window's range in `audio`, decoded from this feed.
    pub fn cut(&self, audio: &[f32]) -> Vec<f32> {
        let from = (self.range.start - self.span.start) * SAMPLES_PER_FRAME;
        let to = ((self.range.end - self.span.start) * SAMPLES_PER_FRAME).min(audio.len());
        audio.get(from..to).unwrap_or_default().to_vec()
    }
}

impl Feature {
    /// This feature's values for the frames of `feed`, joined along its time axis: shape and values.
    pub fn gather(&self, feed: &Feed) -> (Vec<usize>, Vec<f32>) {
        let outer: usize = self.shape[..self.axis].iter().product();
        let inner: usize = self.shape[self.axis + 1..].iter().product();
        let steps = self.shape[self.axis];
        let len = feed.frames() * self.per_frame;
        let mut out = Vec::with_capacity(outer * len * inner);
        for o in 0..outer {
            for r in feed.parts() {
                let (from, to) = (r.start * self.per_frame, r.end * self.per_frame);
                out.extend_from_slice(&self.data[(o * steps + from) * inner..(o * steps + to) * inner]);
            }
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
        let feed = |range: std::ops::Range<usize>, probes: Vec<std::ops::Range<usize>>| Feed {
            span: range.clone(),
            range,
            probes,
        };
        // Text features: frame 1..3 of both channels.
        assert_eq!(f.features[0].gather(&feed(1..3, vec![])), (vec![1, 2, 2], vec![1.0, 2.0, 4.0, 5.0]));
        // Two steps per frame for the curves, and the phase's last axis rides along.
        assert_eq!(f.features[1].gather(&feed(1..2, vec![])), (vec![1, 2], vec![102.0, 103.0]));
        assert_eq!(f.features[3].gather(&feed(2..3, vec![])), (vec![1, 2, 2], vec![208.0, 209.0, 210.0, 211.0]));
        // Probes join after the span, channel by channel.
        assert_eq!(f.features[0].gather(&feed(0..1, vec![2..3])), (vec![1, 2, 2], vec![0.0, 2.0, 3.0, 5.0]));
    }

    #[test]
    fn a_short_window_gets_probes_spread_over_the_rest_of_the_chunk() {
        let probes = Probes { count: 4, frames: 6 };
        let f = Frames {
            durations: vec![100],
            features: vec![Feature { shape: vec![1, 1, 100], data: vec![0.0; 100], axis: 2, per_frame: 1 }],
        };
        let feed = f.feed(10..26, (8, 8), probes);
        assert_eq!(feed.span, 2..34);
        // Outside the span: frames 0..2 and 34..100; the first probe crosses the span, so it goes after it.
        assert_eq!(feed.probes, vec![34..40, 52..58, 73..79, 94..100]);
        assert_eq!(feed.frames(), 32 + 24);
        // A window that sees half the chunk or more has the chunk's statistics already.
        assert!(f.feed(10..60, (8, 8), probes).probes.is_empty());
        // Too little outside the window for the probes: none.
        assert!(f.feed(0..40, (0, 40), Probes { count: 4, frames: 20 }).probes.is_empty());
        // The window's audio comes out of the feed's front.
        let audio: Vec<f32> = (0..feed.frames() * SAMPLES_PER_FRAME).map(|i| i as f32).collect();
        let cut = feed.cut(&audio);
        assert_eq!(cut.len(), 16 * SAMPLES_PER_FRAME);
        assert_eq!(cut[0], (8 * SAMPLES_PER_FRAME) as f32);
    }
}
