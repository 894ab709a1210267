//! From a backend's chunks to clean mono samples at the output rate: downmix, join the seams,
//! resample, apply the volume. Shared by the encoders and by playback.

use super::{
    AudioError,
    resample::Resampler,
    seam::{Boundary, Joiner, Seam},
};
use crate::AudioChunk;

/// Rates a backend may send (anything the resampler can take).
const INPUT_RATES: std::ops::RangeInclusive<u32> = 1000..=384_000;

pub struct Conditioner {
    to: u32,
    volume: f32,
    seam: Seam,
    stage: Option<(Joiner, Resampler)>,
    boundary: Boundary,
}

impl Conditioner {
    /// Output at `to` Hz, scaled by `volume`, seams joined by `seam` (all checked by the caller).
    pub fn new(to: u32, volume: f32, seam: Seam) -> Self {
        Conditioner { to, volume, seam, stage: None, boundary: Boundary::Word }
    }

    /// Mark what the text before the next chunk ended with (for punctuation-aware gaps).
    pub fn boundary(&mut self, boundary: Boundary) {
        match &mut self.stage {
            Some((joiner, _)) => joiner.boundary(boundary),
            None => self.boundary = boundary,
        }
    }

    /// Condition one chunk; returns the samples ready now.
    pub fn push(&mut self, chunk: &AudioChunk) -> Result<Vec<f32>, AudioError> {
        let channels = chunk.channels.max(1) as usize;
        if !INPUT_RATES.contains(&chunk.sample_rate) || channels > 64 {
            return Err(AudioError::BadInput { rate: chunk.sample_rate, channels: chunk.channels });
        }
        let mut out = Vec::new();
        if self.stage.as_ref().is_some_and(|(_, r)| r.input_rate() != chunk.sample_rate) {
            // The backend changed its rate: flush the old chain, start a new one.
            out = self.finish()?;
        }
        if self.stage.is_none() {
            let mut joiner = Joiner::new(self.seam, chunk.sample_rate);
            joiner.boundary(std::mem::take(&mut self.boundary));
            self.stage = Some((joiner, Resampler::new(chunk.sample_rate, self.to)?));
        }
        let (joiner, resampler) = self.stage.as_mut().expect("set above");
        let mono = if channels == 1 {
            chunk.samples.clone()
        } else {
            chunk.samples.chunks(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32).collect()
        };
        out.extend(resampler.process(&joiner.push(mono))?);
        self.scale(&mut out);
        Ok(out)
    }

    /// Everything still held back, at the end of the stream.
    pub fn finish(&mut self) -> Result<Vec<f32>, AudioError> {
        let Some((mut joiner, mut resampler)) = self.stage.take() else { return Ok(Vec::new()) };
        let mut out = resampler.process(&joiner.finish())?;
        out.extend(resampler.finish()?);
        self.scale(&mut out);
        Ok(out)
    }

    fn scale(&self, samples: &mut [f32]) {
        if self.volume != 1.0 {
            samples.iter_mut().for_each(|s| *s *= self.volume);
        }
    }
}
