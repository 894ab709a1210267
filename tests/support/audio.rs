//! Audio test helpers: decode and probe with the real ffmpeg/ffprobe, measure signals.

use std::{path::Path, process::Command};

/// Decode `bytes` (a file of `format`, or raw s16le mono at `rate` for `pcm`) to mono f32 at `rate`.
pub fn decode(bytes: &[u8], format: &str, rate: u32) -> Vec<f32> {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join(format!("in.{format}"));
    std::fs::write(&input, bytes).expect("write encoded audio");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin"]);
    if format == "pcm" {
        cmd.args(["-f", "s16le", "-ar", &rate.to_string(), "-ac", "1"]);
    }
    cmd.arg("-i").arg(&input).args(["-f", "f32le", "-ac", "1", "-ar", &rate.to_string(), "-"]);
    let out = cmd.output().expect("ffmpeg runs (Debian package ffmpeg)");
    assert!(out.status.success(), "ffmpeg could not decode {format}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// The duration ffprobe reports for a file, in seconds.
pub fn probe_duration(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1"])
        .arg(path)
        .output()
        .expect("ffprobe runs (Debian package ffmpeg)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().unwrap_or_else(|_| panic!("ffprobe gave no duration for {}: {text:?}", path.display()))
}

/// Root-mean-square level.
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}

/// The largest absolute difference between neighbouring samples.
pub fn max_jump(samples: &[f32]) -> f32 {
    samples.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max)
}

/// Raw s16le bytes as f32 samples.
pub fn s16le(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32767.0).collect()
}

/// Whether `bytes` start the way a stream of `format` starts.
pub fn has_magic(bytes: &[u8], format: &str) -> bool {
    match format {
        "wav" => bytes.starts_with(b"RIFF"),
        "flac" => bytes.starts_with(b"fLaC"),
        "opus" => bytes.starts_with(b"OggS"),
        "mp3" => bytes.starts_with(b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0),
        "aac" => bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xF6 == 0xF0,
        _ => !bytes.is_empty(),
    }
}
