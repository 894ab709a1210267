//! What can go wrong turning PCM into the requested output, in words a user can act on.

use super::Format;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("unknown audio format '{0}' (choose one of: wav, pcm, mp3, opus, flac, aac)")]
    UnknownFormat(String),
    #[error("{}", unsupported_rate(*rate, *format))]
    UnsupportedRate { rate: u32, format: Option<Format> },
    #[error("volume must be a finite number from 0 to 10, got {0}")]
    BadVolume(f32),
    #[error("seam settings out of range: {0}")]
    BadSeam(String),
    #[error(
        "the output file {path} ends in .{extension} but the format asked for is {format}: change the file name or --format"
    )]
    ExtensionMismatch { path: String, extension: String, format: Format },
    #[error("cannot tell the audio format from the file name {0}: give --format (wav, pcm, mp3, opus, flac, aac)")]
    UnknownExtension(String),
    #[error("the backend sent audio at {rate} Hz with {channels} channels, which cannot be converted")]
    BadInput { rate: u32, channels: u16 },
    #[error("this build of chorus has no {0} encoder (it was built without the cargo feature `{0}`)")]
    NotBuilt(&'static str),
    #[error("resampler: {0}")]
    Resample(String),
    #[error("{format} encoder: {message}")]
    Encoder { format: Format, message: String },
    #[error("no audio output device found: --play needs a sound device (write a file with -o instead)")]
    NoDevice,
    #[error("audio device {device}: {message}")]
    Device { device: String, message: String },
    #[error("cannot finish the audio file: {0}")]
    Io(#[from] std::io::Error),
}

fn unsupported_rate(rate: u32, format: Option<Format>) -> String {
    match format {
        Some(f) => format!(
            "{f} cannot be written at {rate} Hz; choose one of {}",
            super::format::MPEG_RATES.map(|r| r.to_string()).join(", ")
        ),
        None => {
            format!("unsupported sample rate {rate} Hz: choose a rate from {} to {}", super::MIN_RATE, super::MAX_RATE)
        }
    }
}

impl AudioError {
    pub(crate) fn encoder(format: Format, message: impl std::fmt::Display) -> Self {
        AudioError::Encoder { format, message: message.to_string() }
    }
}
