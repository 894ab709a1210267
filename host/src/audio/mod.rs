//! Audio out: a backend's f32 chunks become the bytes the user asked for, while they stream.
//!
//! [`Pipeline`] = [`Conditioner`] (downmix to mono, seam smoothing, resampling with rubato,
//! volume) + a streaming encoder (wav, pcm, mp3, opus in Ogg, flac, aac in ADTS). Every push
//! returns the bytes ready at once; the first push returns the header or first frames.
//! [`Pipeline::finish`] flushes for a pipe or socket (where WAV keeps its streamable sizes);
//! [`Pipeline::finish_file`] also completes the headers of a seekable file.

mod condition;
mod encode;
mod error;
mod format;
#[cfg(feature = "play")]
mod play;
mod resample;
mod seam;

pub use condition::Conditioner;
pub use error::AudioError;
pub use format::{Format, MPEG_RATES};
#[cfg(feature = "play")]
pub use play::Player;
pub use seam::{Boundary, Seam, SeamMode};

use crate::AudioChunk;
use std::{fs::File, io::Write, path::Path};

/// The output rates the pipeline accepts.
pub const MIN_RATE: u32 = 8000;
pub const MAX_RATE: u32 = 48_000;
/// The rate used when none is asked for.
pub const DEFAULT_RATE: u32 = 24_000;

/// What to produce.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSpec {
    pub format: Format,
    /// Output sample rate, 8000..=48000 (mp3 and aac: one of [`MPEG_RATES`]).
    pub sample_rate: u32,
    /// Gain, 0..=10 (1 = unchanged); the result is clipped at full scale.
    pub volume: f32,
    pub seam: Seam,
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec { format: Format::Wav, sample_rate: DEFAULT_RATE, volume: 1.0, seam: Seam::default() }
    }
}

impl OutputSpec {
    pub fn new(format: Format) -> Self {
        OutputSpec { format, ..OutputSpec::default() }
    }

    pub fn validate(&self) -> Result<(), AudioError> {
        self.format.check_rate(self.sample_rate)?;
        check_volume(self.volume)?;
        self.seam.validate()
    }

    /// The format for output file `path`: `asked` (when given) must agree with the extension;
    /// otherwise the extension decides. A path without an extension (or `-`) is `default`.
    pub fn format_for_path(path: &Path, asked: Option<Format>, default: Format) -> Result<Format, AudioError> {
        let extension = path.extension().and_then(|e| e.to_str());
        match (asked, extension, Format::from_path(path)) {
            (Some(a), Some(_), Some(f)) if a == f => Ok(a),
            (Some(a), Some(ext), Some(_)) => Err(AudioError::ExtensionMismatch {
                path: path.display().to_string(),
                extension: ext.to_string(),
                format: a,
            }),
            (Some(a), _, _) => Ok(a),
            (None, None, _) => Ok(default),
            (None, Some(_), Some(f)) => Ok(f),
            (None, Some(_), None) => Err(AudioError::UnknownExtension(path.display().to_string())),
        }
    }
}

pub(crate) fn check_volume(volume: f32) -> Result<(), AudioError> {
    if !(volume.is_finite() && (0.0..=10.0).contains(&volume)) {
        return Err(AudioError::BadVolume(volume));
    }
    Ok(())
}

/// One request's way from chunks to encoded bytes.
pub struct Pipeline {
    spec: OutputSpec,
    conditioner: Conditioner,
    encoder: Box<dyn encode::Encoder>,
    started: bool,
    samples_out: u64,
    encode_rate: u32,
}

impl Pipeline {
    pub fn new(spec: &OutputSpec) -> Result<Pipeline, AudioError> {
        spec.validate()?;
        let encode_rate = encode::encode_rate(spec.format, spec.sample_rate);
        Ok(Pipeline {
            conditioner: Conditioner::new(encode_rate, spec.volume, spec.seam),
            encoder: encode::new(spec.format, spec.sample_rate)?,
            spec: spec.clone(),
            started: false,
            samples_out: 0,
            encode_rate,
        })
    }

    pub fn spec(&self) -> &OutputSpec {
        &self.spec
    }

    /// Mark what the text before the next chunk ended with (see [`Seam`]'s gaps).
    pub fn boundary(&mut self, boundary: Boundary) {
        self.conditioner.boundary(boundary);
    }

    /// Take one chunk; returns the bytes ready now (the first call includes the header).
    pub fn push(&mut self, chunk: &AudioChunk) -> Result<Vec<u8>, AudioError> {
        let samples = self.conditioner.push(chunk)?;
        self.encode(&samples)
    }

    /// Seconds of audio encoded so far.
    pub fn seconds(&self) -> f64 {
        self.samples_out as f64 / self.encode_rate as f64
    }

    /// Flush the tail, for a stream (pipe, socket, memory).
    pub fn finish(mut self) -> Result<Vec<u8>, AudioError> {
        self.flush()
    }

    /// Flush the tail into `file`, which holds every byte this pipeline returned, from offset 0;
    /// then complete its headers (WAV sizes, FLAC STREAMINFO, MP3 LAME tag).
    pub fn finish_file(mut self, file: &mut File) -> Result<(), AudioError> {
        let tail = self.flush()?;
        file.write_all(&tail)?;
        self.encoder.patch(file)?;
        file.flush()?;
        Ok(())
    }

    fn encode(&mut self, samples: &[f32]) -> Result<Vec<u8>, AudioError> {
        let mut out = Vec::new();
        if !self.started {
            self.encoder.start(&mut out)?;
            self.started = true;
        }
        self.samples_out += samples.len() as u64;
        self.encoder.encode(samples, &mut out)?;
        Ok(out)
    }

    fn flush(&mut self) -> Result<Vec<u8>, AudioError> {
        let tail = self.conditioner.finish()?;
        let mut out = self.encode(&tail)?;
        self.encoder.finish(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_and_format_must_agree() {
        let p = Path::new("out.wav");
        assert_eq!(OutputSpec::format_for_path(p, None, Format::Wav).unwrap(), Format::Wav);
        assert_eq!(OutputSpec::format_for_path(Path::new("a.MP3"), None, Format::Wav).unwrap(), Format::Mp3);
        assert!(matches!(
            OutputSpec::format_for_path(p, Some(Format::Mp3), Format::Wav),
            Err(AudioError::ExtensionMismatch { .. })
        ));
        assert_eq!(OutputSpec::format_for_path(Path::new("-"), None, Format::Pcm).unwrap(), Format::Pcm);
        assert!(matches!(
            OutputSpec::format_for_path(Path::new("a.xyz"), None, Format::Wav),
            Err(AudioError::UnknownExtension(_))
        ));
        assert_eq!(
            OutputSpec::format_for_path(Path::new("a.xyz"), Some(Format::Flac), Format::Wav).unwrap(),
            Format::Flac
        );
    }

    #[test]
    fn every_format_streams_from_the_first_chunk() {
        let chunk = AudioChunk { samples: vec![0.1; 24_000], sample_rate: 24_000, channels: 1 };
        for format in Format::ALL {
            let mut p = Pipeline::new(&OutputSpec::new(format)).unwrap();
            let first = p.push(&chunk).unwrap();
            assert!(!first.is_empty(), "{format}: nothing after the first chunk");
            let tail = p.finish().unwrap();
            assert!(format == Format::Pcm || format == Format::Wav || !tail.is_empty(), "{format}: no tail");
        }
    }

    #[test]
    fn bad_specs_are_refused() {
        let spec = |rate, volume| OutputSpec { sample_rate: rate, volume, ..OutputSpec::new(Format::Mp3) };
        assert!(matches!(Pipeline::new(&spec(96_000, 1.0)), Err(AudioError::UnsupportedRate { .. })));
        assert!(matches!(Pipeline::new(&spec(10_000, 1.0)), Err(AudioError::UnsupportedRate { .. })));
        assert!(matches!(Pipeline::new(&spec(24_000, f32::NAN)), Err(AudioError::BadVolume(_))));
    }
}
