//! Streaming encoders: each turns mono f32 PCM at its own rate into bytes as the samples arrive,
//! and can complete its headers afterwards when the output is a seekable file.

#[cfg(feature = "aac")]
mod aac;
mod flac;
mod mp3;
mod ogg_opus;
mod pcm;

use super::{AudioError, Format};
use std::fs::File;

/// One output format's encoder.
pub(crate) trait Encoder: Send {
    /// The bytes that open the stream (a header, or nothing).
    fn start(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError>;
    /// Encode `samples` (mono, at the rate the encoder was made for), appending what is ready.
    fn encode(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError>;
    /// Flush everything still buffered.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError>;
    /// After `finish`: rewrite the headers of `file`, which holds the whole stream from offset 0,
    /// with what is known only at the end (sizes, sample counts, seek tags).
    fn patch(&mut self, _file: &mut File) -> Result<(), AudioError> {
        Ok(())
    }
}

/// Sample rates the Opus encoder takes directly.
const OPUS_RATES: [u32; 5] = [8000, 12_000, 16_000, 24_000, 48_000];

/// The rate the encoder of `format` runs at for an output of `rate` Hz.
pub(crate) fn encode_rate(format: Format, rate: u32) -> u32 {
    match format {
        Format::Opus if !OPUS_RATES.contains(&rate) => 48_000,
        _ => rate,
    }
}

/// An encoder of `format` for mono audio at `rate` Hz (as checked by [`Format::check_rate`]).
pub(crate) fn new(format: Format, rate: u32) -> Result<Box<dyn Encoder>, AudioError> {
    Ok(match format {
        Format::Wav => Box::new(pcm::Wav::new(rate)),
        Format::Pcm => Box::new(pcm::Raw),
        Format::Flac => Box::new(flac::Flac::new(rate)?),
        Format::Mp3 => Box::new(mp3::Mp3::new(rate)?),
        Format::Opus => Box::new(ogg_opus::OggOpus::new(encode_rate(format, rate), rate)?),
        #[cfg(feature = "aac")]
        Format::Aac => Box::new(aac::Aac::new(rate)?),
        #[cfg(not(feature = "aac"))]
        Format::Aac => return Err(AudioError::NotBuilt("aac")),
    })
}

/// A sample as signed 16-bit.
pub(crate) fn to_i16(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * 32767.0).round() as i16
}
