//! Incremental decoding of raw PCM and the decoder trait the audio pump drives.

use chorus_plugin_api::PluginError;

/// Sample rate and channel count of decoded audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFormat {
    pub sample_rate: u32,
    pub channels: u16,
}

/// Bytes in, f32 samples out, in pieces of any size: a sample split across two reads is joined.
pub trait AudioDecoder {
    /// Decode `bytes`, appending interleaved samples to `out`.
    fn push(&mut self, bytes: &[u8], out: &mut Vec<f32>) -> Result<(), PluginError>;
    /// The format of what was decoded, once known (a WAV decoder knows it after the header).
    fn format(&self) -> Option<AudioFormat>;
    /// The stream ended: an error when it ended inside a sample or a header.
    fn finish(&mut self) -> Result<(), PluginError>;
}

/// Signed 16-bit little-endian PCM, the `pcm` response format of OpenAI (24 kHz mono) and
/// ElevenLabs' `pcm_<rate>` output formats.
#[derive(Debug, Clone)]
pub struct PcmS16Le {
    format: AudioFormat,
    carry: Option<u8>,
}

impl PcmS16Le {
    pub fn new(sample_rate: u32, channels: u16) -> Self {
        Self { format: AudioFormat { sample_rate, channels }, carry: None }
    }
}

/// One s16 sample as f32 in -1.0..1.0.
pub fn s16_to_f32(sample: i16) -> f32 {
    sample as f32 / 32768.0
}

/// Decode a whole s16le buffer (an odd trailing byte is ignored).
pub fn s16le_to_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(2).map(|b| s16_to_f32(i16::from_le_bytes([b[0], b[1]]))).collect()
}

impl AudioDecoder for PcmS16Le {
    fn push(&mut self, mut bytes: &[u8], out: &mut Vec<f32>) -> Result<(), PluginError> {
        if let Some(low) = self.carry.take() {
            let Some((&high, rest)) = bytes.split_first() else {
                self.carry = Some(low);
                return Ok(());
            };
            out.push(s16_to_f32(i16::from_le_bytes([low, high])));
            bytes = rest;
        }
        let pairs = bytes.chunks_exact(2);
        self.carry = pairs.remainder().first().copied();
        out.extend(pairs.map(|b| s16_to_f32(i16::from_le_bytes([b[0], b[1]]))));
        Ok(())
    }

    fn format(&self) -> Option<AudioFormat> {
        Some(self.format)
    }

    fn finish(&mut self) -> Result<(), PluginError> {
        match self.carry.take() {
            Some(_) => {
                Err(PluginError::unavailable("the PCM stream ended in the middle of a sample (an odd number of bytes)"))
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_split_across_pushes_are_joined() {
        let bytes: Vec<u8> = [0i16, 16384, -32768, 32767].iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut d = PcmS16Le::new(24_000, 1);
        let mut out = Vec::new();
        d.push(&bytes[..3], &mut out).unwrap();
        d.push(&bytes[3..], &mut out).unwrap();
        d.finish().unwrap();
        assert_eq!(out, vec![0.0, 0.5, -1.0, 32767.0 / 32768.0]);
        assert_eq!(out, s16le_to_f32(&bytes));
    }

    #[test]
    fn an_odd_tail_is_an_error() {
        let mut d = PcmS16Le::new(24_000, 1);
        d.push(&[1, 2, 3], &mut Vec::new()).unwrap();
        assert!(d.finish().is_err());
    }
}
