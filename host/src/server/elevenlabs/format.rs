//! ElevenLabs' `output_format` names (`mp3_44100_128`, `pcm_16000`, `ulaw_8000`, `opus_48000_64`,
//! ...) as chorus output specs, and G.711 companding (μ-law, A-law) of the 16-bit PCM the
//! pipeline makes, for the telephony formats no encoder in `audio/` writes.

use crate::audio::Format;

/// Every family of name this server takes, for error messages.
pub const FAMILIES: &str = "mp3_<rate>_<kbps>, pcm_<rate>, wav_<rate>, opus_48000_<kbps>, ulaw_8000, alaw_8000";

/// The default when a request names no format (ElevenLabs' own default).
pub const DEFAULT: &str = "mp3_44100_128";

/// G.711 companding applied to 16-bit PCM at 8 kHz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    Mu,
    A,
}

/// A parsed `output_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputFormat {
    /// What the pipeline encodes (PCM for the G.711 formats, which are companded afterwards).
    pub format: Format,
    pub sample_rate: u32,
    pub law: Option<Law>,
}

impl OutputFormat {
    /// Parse `name`; an unknown or unsupported name is an error saying what is taken.
    pub fn parse(name: &str) -> Result<Self, String> {
        let parts: Vec<&str> = name.trim().split('_').collect();
        let rate =
            |s: &str| s.parse::<u32>().map_err(|_| format!("output_format '{name}': '{s}' is not a sample rate"));
        let unknown = || format!("unknown output_format '{name}'; this server takes {FAMILIES}");
        let (format, sample_rate, law) = match parts.as_slice() {
            ["mp3", r, _kbps] => (Format::Mp3, rate(r)?, None),
            ["pcm", r] => (Format::Pcm, rate(r)?, None),
            ["wav", r] => (Format::Wav, rate(r)?, None),
            ["opus", r, _kbps] => (Format::Opus, rate(r)?, None),
            ["ulaw", "8000"] => (Format::Pcm, 8000, Some(Law::Mu)),
            ["alaw", "8000"] => (Format::Pcm, 8000, Some(Law::A)),
            _ => return Err(unknown()),
        };
        format.check_rate(sample_rate).map_err(|e| format!("output_format '{name}': {e}"))?;
        Ok(Self { format, sample_rate, law })
    }

    /// The MIME type of the bytes sent.
    pub fn mime(&self) -> &'static str {
        match self.law {
            Some(Law::Mu) => "audio/basic",
            Some(Law::A) => "audio/x-alaw-basic",
            None => self.format.mime(),
        }
    }

    /// A converter for this format's bytes (the identity unless companded).
    pub fn converter(&self) -> Companding {
        Companding { law: self.law, carry: None }
    }
}

/// Turns the pipeline's s16le bytes into G.711 bytes as they stream (a sample split across two
/// pieces is carried over).
#[derive(Debug, Clone)]
pub struct Companding {
    law: Option<Law>,
    carry: Option<u8>,
}

impl Companding {
    pub fn convert(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        let Some(law) = self.law else { return bytes };
        let mut input = Vec::with_capacity(bytes.len() + 1);
        input.extend(self.carry.take());
        input.extend(bytes);
        if input.len() % 2 == 1 {
            self.carry = input.pop();
        }
        input
            .chunks_exact(2)
            .map(|pair| {
                let sample = i16::from_le_bytes([pair[0], pair[1]]);
                match law {
                    Law::Mu => mu_law(sample),
                    Law::A => a_law(sample),
                }
            })
            .collect()
    }
}

/// ITU-T G.711 μ-law of one 16-bit sample.
fn mu_law(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let sign = if sample < 0 { 0x80 } else { 0 };
    let magnitude = (sample as i32).abs().min(CLIP) + BIAS;
    let exponent = (7 - ((magnitude as u32) << 17).leading_zeros().min(7)) as i32;
    let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// ITU-T G.711 A-law of one 16-bit sample.
fn a_law(sample: i16) -> u8 {
    let sign = if sample >= 0 { 0x80 } else { 0 };
    let magnitude = ((sample as i32).abs().min(32_767) >> 3) as u32;
    let (exponent, mantissa) = if magnitude < 32 {
        (0, magnitude >> 1)
    } else {
        let exponent = 31 - magnitude.leading_zeros() - 4;
        (exponent, (magnitude >> exponent) & 0x0F)
    };
    (sign | (exponent << 4) as u8 | mantissa as u8) ^ 0x55
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elevenlabs_names_parse() {
        let mp3 = OutputFormat::parse("mp3_44100_128").unwrap();
        assert_eq!((mp3.format, mp3.sample_rate, mp3.law), (Format::Mp3, 44_100, None));
        assert_eq!(OutputFormat::parse("pcm_16000").unwrap().sample_rate, 16_000);
        assert_eq!(OutputFormat::parse("ulaw_8000").unwrap().law, Some(Law::Mu));
        assert_eq!(OutputFormat::parse("opus_48000_64").unwrap().format, Format::Opus);
        assert!(OutputFormat::parse("ulaw_16000").unwrap_err().contains("ulaw_8000"));
        assert!(OutputFormat::parse("mp3_37000_32").unwrap_err().contains("mp3_37000_32"));
        assert!(OutputFormat::parse("flac").is_err());
    }

    /// Reference values from the G.711 tables: silence, full scale and a mid-range sample.
    #[test]
    fn companding_matches_g711() {
        assert_eq!(mu_law(0), 0xFF);
        assert_eq!(mu_law(-1), 0x7F);
        assert_eq!(mu_law(32_767), 0x80);
        assert_eq!(mu_law(-32_768), 0x00);
        assert_eq!(mu_law(1000), 0xCE);
        assert_eq!(a_law(0), 0xD5);
        assert_eq!(a_law(32_767), 0xAA);
        assert_eq!(a_law(-32_768), 0x2A);
        assert_eq!(a_law(1000), 0xFA);
    }

    #[test]
    fn a_sample_split_across_pieces_is_carried() {
        let mut c = OutputFormat::parse("ulaw_8000").unwrap().converter();
        let bytes = 1000i16.to_le_bytes();
        assert!(c.convert(vec![bytes[0]]).is_empty());
        assert_eq!(c.convert(vec![bytes[1]]), vec![0xCE]);
    }
}
