//! Uncompressed output: raw s16le, and WAV (16-bit mono) whose sizes are the streamable
//! maximum until a seekable file gets its real sizes at the end.

use super::{Encoder, to_i16};
use crate::audio::AudioError;
use std::{
    fs::File,
    io::{Seek, SeekFrom, Write},
};

/// Raw signed 16-bit little-endian samples.
pub(crate) struct Raw;

impl Encoder for Raw {
    fn start(&mut self, _out: &mut Vec<u8>) -> Result<(), AudioError> {
        Ok(())
    }
    fn encode(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        out.extend(samples.iter().flat_map(|&s| to_i16(s).to_le_bytes()));
        Ok(())
    }
    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), AudioError> {
        Ok(())
    }
}

/// RIFF WAVE, PCM 16-bit mono.
pub(crate) struct Wav {
    rate: u32,
    data_bytes: u64,
}

/// Size fields of a WAV whose length is not known (what streaming readers expect).
const UNKNOWN: u32 = u32::MAX;
const HEADER_LEN: u64 = 44;

impl Wav {
    pub fn new(rate: u32) -> Self {
        Wav { rate, data_bytes: 0 }
    }
}

/// The 44-byte header; `data` is the data chunk's size, or [`UNKNOWN`].
fn header(rate: u32, data: u32) -> Vec<u8> {
    let riff = if data == UNKNOWN { UNKNOWN } else { data + 36 };
    let mut h = Vec::with_capacity(HEADER_LEN as usize);
    h.extend(b"RIFF");
    h.extend(riff.to_le_bytes());
    h.extend(b"WAVEfmt ");
    h.extend(16u32.to_le_bytes()); // fmt chunk size
    h.extend(1u16.to_le_bytes()); // PCM
    h.extend(1u16.to_le_bytes()); // channels
    h.extend(rate.to_le_bytes());
    h.extend((rate * 2).to_le_bytes()); // bytes per second
    h.extend(2u16.to_le_bytes()); // block align
    h.extend(16u16.to_le_bytes()); // bits per sample
    h.extend(b"data");
    h.extend(data.to_le_bytes());
    h
}

impl Encoder for Wav {
    fn start(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        out.extend(header(self.rate, UNKNOWN));
        Ok(())
    }
    fn encode(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        Raw.encode(samples, out)?;
        self.data_bytes += 2 * samples.len() as u64;
        Ok(())
    }
    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), AudioError> {
        Ok(())
    }
    fn patch(&mut self, file: &mut File) -> Result<(), AudioError> {
        // Past 4 GiB the sizes stay at the streamable maximum.
        let Some(data) = u32::try_from(self.data_bytes).ok().filter(|d| *d <= UNKNOWN - 36) else { return Ok(()) };
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header(self.rate, data))?;
        file.seek(SeekFrom::End(0))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_header_is_streamable_then_exact() {
        let mut w = Wav::new(24_000);
        let mut out = Vec::new();
        w.start(&mut out).unwrap();
        w.encode(&[0.0, 1.0, -1.0], &mut out).unwrap();
        assert_eq!(&out[4..8], &[0xFF; 4]);
        assert_eq!(&out[40..44], &[0xFF; 4]);
        assert_eq!(&out[44..], &[0, 0, 0xFF, 0x7F, 0x01, 0x80]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        let mut f = File::create(&path).unwrap();
        f.write_all(&out).unwrap();
        w.patch(&mut f).unwrap();
        drop(f);
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!((r.spec().sample_rate, r.len()), (24_000, 3));
    }
}
