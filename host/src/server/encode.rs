//! The server's use of the audio pipeline: one encoder per response, built from the request's
//! format, sample rate and volume, told where the text's clauses and sentences end so chunk
//! seams get the right gaps.

use super::{error::ApiError, params::SpeechParams};
use crate::{
    AudioChunk, ProgressUpdate, Word,
    audio::{AudioError, Boundary, OutputSpec, Pipeline},
};

pub struct Encoder {
    pipeline: Option<Pipeline>,
    text: String,
}

impl Encoder {
    pub fn new(params: &SpeechParams) -> Result<Self, ApiError> {
        let mut spec = OutputSpec::new(params.format);
        if let Some(rate) = params.sample_rate {
            spec.sample_rate = rate;
        }
        if let Some(volume) = params.volume {
            spec.volume = volume;
        }
        let pipeline = Pipeline::new(&spec).map_err(|e| match e {
            AudioError::NotBuilt(_) => ApiError::invalid("response_format", e.to_string()),
            AudioError::UnsupportedRate { .. } => ApiError::invalid("sample_rate", e.to_string()),
            AudioError::BadVolume(_) => ApiError::invalid("volume_multiplier", e.to_string()),
            e => ApiError::internal(format!("cannot start the {} encoder: {e}", params.format_name)),
        })?;
        Ok(Self { pipeline: Some(pipeline), text: params.input.clone() })
    }

    /// Encoded bytes ready after this chunk (may be empty while the encoder buffers).
    pub fn push(&mut self, chunk: &AudioChunk) -> Result<Vec<u8>, String> {
        let pipeline = self.pipeline.as_mut().ok_or("the encoder was already finished")?;
        pipeline.push(chunk).map_err(|e| format!("encoding failed: {e}"))
    }

    /// The rest of the stream (last frames); the encoder takes no more audio after this.
    pub fn finish(&mut self) -> Result<Vec<u8>, String> {
        let pipeline = self.pipeline.take().ok_or("the encoder was already finished")?;
        pipeline.finish().map_err(|e| format!("encoding failed: {e}"))
    }

    /// The backend spoke up to the end of `words`: the next seam follows that text.
    pub fn words(&mut self, words: &[Word]) {
        if let Some(last) = words.last() {
            let rest = self.text.get(last.end_byte..).unwrap_or_default();
            // Punctuation right after the word belongs to it ("Hello," ends a clause).
            let trailing: usize =
                rest.chars().take_while(|c| !c.is_whitespace() && !c.is_alphanumeric()).map(char::len_utf8).sum();
            self.mark(last.end_byte + trailing);
        }
    }

    /// Progress counted in bytes of the input marks a seam too.
    pub fn progress(&mut self, progress: &ProgressUpdate) {
        if progress.unit == "bytes" {
            self.mark(progress.processed as usize);
        }
    }

    fn mark(&mut self, end: usize) {
        if let (Some(text), Some(pipeline)) = (self.text.get(..end), self.pipeline.as_mut()) {
            pipeline.boundary(Boundary::after(text));
        }
    }
}
