//! Output formats: names, file extensions, MIME types, and which sample rates each can carry.

use super::AudioError;
use std::path::Path;

/// An encoded output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RIFF WAVE, 16-bit PCM, mono.
    Wav,
    /// Raw PCM: signed 16-bit little-endian, mono, no header.
    Pcm,
    /// MPEG-1/2 Layer III (LAME).
    Mp3,
    /// Opus in an Ogg container.
    Opus,
    /// FLAC, 16-bit, mono.
    Flac,
    /// AAC-LC in ADTS frames.
    Aac,
}

/// Sample rates MPEG audio (mp3 and aac) can carry.
pub const MPEG_RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];

impl Format {
    pub const ALL: [Format; 6] = [Format::Wav, Format::Pcm, Format::Mp3, Format::Opus, Format::Flac, Format::Aac];

    /// A format by name (`wav`, `pcm`, `mp3`, `opus`, `flac`, `aac`; case-insensitive; `ogg` is opus).
    pub fn parse(name: &str) -> Result<Format, AudioError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "wav" | "wave" => Ok(Format::Wav),
            "pcm" | "raw" => Ok(Format::Pcm),
            "mp3" => Ok(Format::Mp3),
            "opus" | "ogg" => Ok(Format::Opus),
            "flac" => Ok(Format::Flac),
            "aac" | "adts" => Ok(Format::Aac),
            _ => Err(AudioError::UnknownFormat(name.to_string())),
        }
    }

    /// The format a file name's extension names, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        Format::parse(ext).ok()
    }

    /// The name `parse` accepts and the CLI shows.
    pub fn name(self) -> &'static str {
        match self {
            Format::Wav => "wav",
            Format::Pcm => "pcm",
            Format::Mp3 => "mp3",
            Format::Opus => "opus",
            Format::Flac => "flac",
            Format::Aac => "aac",
        }
    }

    /// The MIME type to send with this format.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Wav => "audio/wav",
            Format::Pcm => "audio/pcm",
            Format::Mp3 => "audio/mpeg",
            Format::Opus => "audio/ogg; codecs=opus",
            Format::Flac => "audio/flac",
            Format::Aac => "audio/aac",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pcm => "pcm",
            other => other.name(),
        }
    }

    /// Check that this format can be written at `rate` Hz (the pipeline allows 8000..=48000).
    pub fn check_rate(self, rate: u32) -> Result<(), AudioError> {
        if !(super::MIN_RATE..=super::MAX_RATE).contains(&rate) {
            return Err(AudioError::UnsupportedRate { rate, format: None });
        }
        if matches!(self, Format::Mp3 | Format::Aac) && !MPEG_RATES.contains(&rate) {
            return Err(AudioError::UnsupportedRate { rate, format: Some(self) });
        }
        Ok(())
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = AudioError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_extensions_and_paths_agree() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.name()).unwrap(), f);
            assert_eq!(Format::from_path(Path::new(&format!("x/out.{}", f.extension()))), Some(f));
        }
        assert_eq!(Format::from_path(Path::new("OUT.MP3")), Some(Format::Mp3));
        assert_eq!(Format::from_path(Path::new("out")), None);
        assert!(matches!(Format::parse("wma"), Err(AudioError::UnknownFormat(_))));
    }

    #[test]
    fn rates_are_checked_per_format() {
        assert!(Format::Wav.check_rate(8000).is_ok());
        assert!(Format::Flac.check_rate(37_000).is_ok());
        assert!(Format::Wav.check_rate(96_000).is_err());
        assert!(Format::Mp3.check_rate(37_000).is_err());
        assert!(Format::Aac.check_rate(22_050).is_ok());
    }
}
