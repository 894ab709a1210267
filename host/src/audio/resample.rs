//! Streaming sample-rate conversion of one mono signal with rubato's FFT resampler, with its
//! startup delay trimmed off and its tail flushed, so N input samples become exactly
//! `round(N * to / from)` output samples.

use super::AudioError;
use rubato::{Fft, FixedSync, Indexing, Resampler as _, audioadapter_buffers::direct::InterleavedSlice};

/// Input frames per resampler call.
const CHUNK: usize = 1024;

pub(crate) struct Resampler {
    fft: Option<Fft<f32>>,
    from: u32,
    to: u32,
    input: Vec<f32>,
    out_buf: Vec<f32>,
    /// Output frames still to drop (the resampler's delay).
    skip: usize,
    total_in: u64,
    total_out: u64,
}

fn error(e: impl std::fmt::Display) -> AudioError {
    AudioError::Resample(e.to_string())
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Result<Self, AudioError> {
        let fft = if from == to {
            None
        } else {
            Some(Fft::<f32>::new(from as usize, to as usize, CHUNK, 1, FixedSync::Input).map_err(error)?)
        };
        let skip = fft.as_ref().map_or(0, |f| f.output_delay());
        let out_len = fft.as_ref().map_or(0, |f| f.output_frames_max());
        Ok(Resampler { fft, from, to, input: Vec::new(), out_buf: vec![0.0; out_len], skip, total_in: 0, total_out: 0 })
    }

    pub fn input_rate(&self) -> u32 {
        self.from
    }

    /// Resample `samples`; returns what is ready.
    pub fn process(&mut self, samples: &[f32]) -> Result<Vec<f32>, AudioError> {
        self.total_in += samples.len() as u64;
        if self.fft.is_none() {
            self.total_out += samples.len() as u64;
            return Ok(samples.to_vec());
        }
        self.input.extend_from_slice(samples);
        let mut out = Vec::new();
        let mut used = 0;
        while self.input.len() - used >= self.next_len() {
            let n = self.next_len();
            let block = self.input[used..used + n].to_vec();
            self.run(&block, None, &mut out)?;
            used += n;
        }
        self.input.drain(..used);
        Ok(out)
    }

    /// Flush: the rest of the input and the resampler's tail.
    pub fn finish(&mut self) -> Result<Vec<f32>, AudioError> {
        let mut out = Vec::new();
        if self.fft.is_none() {
            return Ok(out);
        }
        let wanted = (self.total_in as f64 * self.to as f64 / self.from as f64).round() as u64;
        let rest = std::mem::take(&mut self.input);
        let mut partial = Some(rest);
        while self.total_out < wanted {
            let block = partial.take().unwrap_or_default();
            let len = block.len();
            let mut padded = block;
            padded.resize(self.next_len(), 0.0);
            self.run(&padded, Some(len), &mut out)?;
        }
        let extra = (self.total_out - wanted) as usize;
        out.truncate(out.len() - extra.min(out.len()));
        self.total_out = wanted;
        Ok(out)
    }

    fn next_len(&self) -> usize {
        self.fft.as_ref().map_or(CHUNK, |f| f.input_frames_next())
    }

    fn run(&mut self, block: &[f32], partial: Option<usize>, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let fft = self.fft.as_mut().expect("only called when resampling");
        let input = InterleavedSlice::new(block, 1, block.len()).map_err(error)?;
        let frames = self.out_buf.len();
        let mut output = InterleavedSlice::new_mut(&mut self.out_buf, 1, frames).map_err(error)?;
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let (_, written) = fft.process_into_buffer(&input, &mut output, indexing.as_ref()).map_err(error)?;
        let skip = self.skip.min(written);
        self.skip -= skip;
        out.extend_from_slice(&self.out_buf[skip..written]);
        self.total_out += (written - skip) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, n: usize) -> Vec<f32> {
        (0..n).map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin() * 0.5).collect()
    }

    #[test]
    fn lengths_are_exact_and_the_tone_survives() {
        let mut r = Resampler::new(24_000, 16_000).unwrap();
        let input = tone(440.0, 24_000, 24_000);
        let mut out = Vec::new();
        for piece in input.chunks(3001) {
            out.extend(r.process(piece).unwrap());
        }
        out.extend(r.finish().unwrap());
        assert_eq!(out.len(), 16_000);
        // Aligned: the resampled tone matches the ideal one in the middle.
        let ideal = tone(440.0, 16_000, 16_000);
        let err = out[4000..12_000].iter().zip(&ideal[4000..12_000]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 0.02, "max error {err}");
    }

    #[test]
    fn same_rate_passes_through() {
        let mut r = Resampler::new(24_000, 24_000).unwrap();
        assert_eq!(r.process(&[0.1, 0.2]).unwrap(), vec![0.1, 0.2]);
        assert!(r.finish().unwrap().is_empty());
    }
}
