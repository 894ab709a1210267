//! A push-driven streaming WAV decoder: header first, then samples as the bytes arrive.
//!
//! Hand-rolled rather than hound because streaming servers write headers hound will not read
//! from a pipe: a `data` size of 0 or 0xFFFFFFFF meaning "until the stream ends", and several
//! complete WAV files back to back (one per sentence). Both are accepted here. Supported
//! encodings: integer PCM of 8, 16, 24 and 32 bits and 32-bit float, plain or
//! WAVE_FORMAT_EXTENSIBLE.

use crate::pcm::{AudioDecoder, AudioFormat};
use chorus_plugin_api::PluginError;

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Int(u16),
    Float32,
}

#[derive(Debug, Clone)]
enum State {
    /// Reading the RIFF header and chunks before `data`.
    Header,
    /// Inside `data`; `None` = until the end of the stream.
    Data { remaining: Option<u64> },
    /// A sized `data` chunk ended; what follows is either trailing chunks or another WAV.
    After,
}

/// Streaming WAV decoder. See the module docs.
#[derive(Debug, Clone)]
pub struct WavDecoder {
    state: State,
    buf: Vec<u8>,
    format: Option<AudioFormat>,
    encoding: Option<Encoding>,
    files: u32,
}

impl Default for WavDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl WavDecoder {
    pub fn new() -> Self {
        Self { state: State::Header, buf: Vec::new(), format: None, encoding: None, files: 0 }
    }

    fn bad(msg: impl std::fmt::Display) -> PluginError {
        PluginError::unavailable(format!("the server sent a WAV stream that cannot be read: {msg}"))
    }

    /// Try to parse a complete header from `buf`. Returns false when more bytes are needed.
    fn parse_header(&mut self) -> Result<bool, PluginError> {
        let b = &self.buf;
        if b.len() < 12 {
            return Ok(false);
        }
        if &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
            return Err(Self::bad("it does not start with RIFF....WAVE"));
        }
        let mut at = 12;
        let mut fmt: Option<(AudioFormat, Encoding, usize)> = None;
        loop {
            if b.len() < at + 8 {
                return Ok(false);
            }
            let id = &b[at..at + 4];
            let size = u32::from_le_bytes([b[at + 4], b[at + 5], b[at + 6], b[at + 7]]);
            let body = at + 8;
            if id == b"data" {
                let (format, encoding, block) = fmt.ok_or_else(|| Self::bad("the data chunk comes before fmt"))?;
                let remaining = match size {
                    0 | u32::MAX => None,
                    n => Some(n as u64 - n as u64 % block as u64),
                };
                if self.files > 0 && self.format.is_some_and(|f| f != format) {
                    return Err(Self::bad("a later WAV in the stream has a different sample rate or channel count"));
                }
                self.format = Some(format);
                self.encoding = Some(encoding);
                self.files += 1;
                self.buf.drain(..body);
                self.state = State::Data { remaining };
                return Ok(true);
            }
            // Chunk bodies are padded to an even size.
            let end = body + size as usize + (size as usize & 1);
            if id == b"fmt " {
                if b.len() < body + 16 {
                    return Ok(false);
                }
                fmt = Some(parse_fmt(&b[body..(body + size as usize).min(b.len())])?);
            }
            if b.len() < end && id == b"fmt " {
                return Ok(false);
            }
            at = end;
            if at > 1 << 20 {
                return Err(Self::bad("no data chunk within the first megabyte"));
            }
        }
    }

    fn decode(&self, bytes: &[u8], out: &mut Vec<f32>) {
        match self.encoding {
            Some(Encoding::Int(8)) => out.extend(bytes.iter().map(|&s| (s as f32 - 128.0) / 128.0)),
            Some(Encoding::Int(16)) => {
                out.extend(bytes.chunks_exact(2).map(|s| i16::from_le_bytes([s[0], s[1]]) as f32 / 32768.0))
            }
            Some(Encoding::Int(24)) => out.extend(
                bytes.chunks_exact(3).map(|s| (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as f32 / 8_388_608.0),
            ),
            Some(Encoding::Int(32)) => out.extend(
                bytes.chunks_exact(4).map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f32 / 2_147_483_648.0),
            ),
            Some(Encoding::Float32) => {
                out.extend(bytes.chunks_exact(4).map(|s| f32::from_le_bytes([s[0], s[1], s[2], s[3]])))
            }
            _ => {}
        }
    }

    fn bytes_per_sample(&self) -> usize {
        match self.encoding {
            Some(Encoding::Int(bits)) => bits as usize / 8,
            Some(Encoding::Float32) => 4,
            None => 1,
        }
    }
}

fn parse_fmt(f: &[u8]) -> Result<(AudioFormat, Encoding, usize), PluginError> {
    let u16_at = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
    let block_align = u16_at(12) as usize;
    let bits = u16_at(14);
    if tag == FORMAT_EXTENSIBLE {
        if f.len() < 26 {
            return Err(WavDecoder::bad("a truncated WAVE_FORMAT_EXTENSIBLE header"));
        }
        // The sub-format GUID starts with the plain format tag.
        tag = u16_at(24);
    }
    let encoding = match (tag, bits) {
        (FORMAT_PCM, 8 | 16 | 24 | 32) => Encoding::Int(bits),
        (FORMAT_FLOAT, 32) => Encoding::Float32,
        _ => return Err(WavDecoder::bad(format!("unsupported encoding (format tag {tag}, {bits} bits)"))),
    };
    if channels == 0 || sample_rate == 0 || block_align != channels as usize * bits as usize / 8 {
        return Err(WavDecoder::bad(format!(
            "an inconsistent fmt chunk ({channels} channels, {sample_rate} Hz, block {block_align})"
        )));
    }
    Ok((AudioFormat { sample_rate, channels }, encoding, block_align))
}

impl AudioDecoder for WavDecoder {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<f32>) -> Result<(), PluginError> {
        self.buf.extend_from_slice(bytes);
        loop {
            match self.state.clone() {
                State::Header => {
                    if !self.parse_header()? {
                        return Ok(());
                    }
                }
                State::Data { remaining } => {
                    let width = self.bytes_per_sample();
                    let available = self.buf.len() - self.buf.len() % width;
                    let take = remaining.map_or(available, |r| available.min(r as usize));
                    let chunk: Vec<u8> = self.buf.drain(..take).collect();
                    self.decode(&chunk, out);
                    match remaining {
                        Some(r) if r as usize == take => self.state = State::After,
                        Some(r) => {
                            self.state = State::Data { remaining: Some(r - take as u64) };
                            return Ok(());
                        }
                        None => return Ok(()),
                    }
                }
                State::After => {
                    // Skip odd padding and trailing chunks (LIST, id3) until another RIFF starts.
                    match self.buf.windows(4).position(|w| w == b"RIFF") {
                        Some(at) => {
                            self.buf.drain(..at);
                            self.state = State::Header;
                        }
                        None => {
                            let keep = self.buf.len().min(3);
                            self.buf.drain(..self.buf.len() - keep);
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    fn format(&self) -> Option<AudioFormat> {
        self.format
    }

    fn finish(&mut self) -> Result<(), PluginError> {
        match self.state {
            State::Header if self.files == 0 => Err(Self::bad("the stream ended before the WAV header was complete")),
            State::Header => Err(Self::bad("the stream ended inside a WAV header")),
            State::Data { remaining: Some(r) } if r > 0 => {
                Err(Self::bad(format!("the stream ended {r} bytes before the end of the audio data")))
            }
            _ if !self.buf.is_empty() && matches!(self.state, State::Data { .. }) => {
                Err(Self::bad("the stream ended inside a sample"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16-bit mono WAV with `samples`; `data_size` overrides the data length field.
    pub(crate) fn wav16(rate: u32, samples: &[i16], data_size: Option<u32>) -> Vec<u8> {
        let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut w = Vec::new();
        w.extend(b"RIFF");
        w.extend((36 + data.len() as u32).to_le_bytes());
        w.extend(b"WAVEfmt ");
        w.extend(16u32.to_le_bytes());
        w.extend(1u16.to_le_bytes());
        w.extend(1u16.to_le_bytes());
        w.extend(rate.to_le_bytes());
        w.extend((rate * 2).to_le_bytes());
        w.extend(2u16.to_le_bytes());
        w.extend(16u16.to_le_bytes());
        w.extend(b"LIST");
        w.extend(4u32.to_le_bytes());
        w.extend(b"INFO");
        w.extend(b"data");
        w.extend(data_size.unwrap_or(data.len() as u32).to_le_bytes());
        w.extend(data);
        w
    }

    fn decode_in_pieces(bytes: &[u8], piece: usize) -> Result<(Vec<f32>, Option<AudioFormat>), PluginError> {
        let mut d = WavDecoder::new();
        let mut out = Vec::new();
        for p in bytes.chunks(piece) {
            d.push(p, &mut out)?;
        }
        d.finish()?;
        Ok((out, d.format()))
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        let wav = wav16(22_050, &[0, 16384, -16384, 32767], None);
        let (whole, fmt) = decode_in_pieces(&wav, wav.len()).unwrap();
        let (bytewise, _) = decode_in_pieces(&wav, 1).unwrap();
        assert_eq!(whole, vec![0.0, 0.5, -0.5, 32767.0 / 32768.0]);
        assert_eq!(whole, bytewise);
        assert_eq!(fmt, Some(AudioFormat { sample_rate: 22_050, channels: 1 }));
    }

    #[test]
    fn streaming_sizes_and_concatenated_files() {
        let open = wav16(24_000, &[100, 200], Some(u32::MAX));
        assert_eq!(decode_in_pieces(&open, 5).unwrap().0.len(), 2);
        let mut two = wav16(24_000, &[1, 2, 3], None);
        two.push(0); // pad byte after an odd-length chunk is tolerated
        two.extend(wav16(24_000, &[4, 5], None));
        assert_eq!(decode_in_pieces(&two, 7).unwrap().0.len(), 5);
    }

    #[test]
    fn truncation_is_an_error() {
        let wav = wav16(24_000, &[1, 2, 3, 4], None);
        let err = decode_in_pieces(&wav[..wav.len() - 4], 16).unwrap_err();
        assert!(err.message.contains("before the end of the audio data"), "{}", err.message);
        assert!(decode_in_pieces(&wav[..20], 16).is_err());
        assert!(decode_in_pieces(b"ID3\x03garbage-not-a-wav", 4).is_err());
    }
}
