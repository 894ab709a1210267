//! The rules each recorded request is held to: well-formed audio, progress, word timestamps,
//! stop, and errors a user can act on. Pure functions over recordings, each returning the
//! problems it found (empty when the rule holds).

use super::record::{Ending, Recording};
use chorus_plugin_api::{ErrorKind, PluginError};

/// Highest sample rate a chunk may declare.
const MAX_RATE: u32 = 384_000;
/// How far past the audio's end a word may reach (rounding of frame positions).
const WORD_SLACK_SECONDS: f64 = 0.05;

/// `kind: message`, for details.
pub fn describe(error: &PluginError) -> String {
    format!("{}: {}", error.kind.name(), first_line(&error.message))
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > 160 { format!("{}...", line.chars().take(160).collect::<String>()) } else { line.into() }
}

/// An error a user can act on: the request was refused for a reason they can change.
pub fn is_clear_refusal(error: &PluginError) -> bool {
    [ErrorKind::BAD_REQUEST, ErrorKind::UNSUPPORTED].contains(&error.kind) && !error.message.trim().is_empty()
}

/// Every audio push: a plausible rate, 1..=16 channels, whole frames, finite samples, one rate and
/// channel count per request.
pub fn audio(label: &str, r: &Recording) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, chunk) in r.chunks.iter().enumerate() {
        let n = i + 1;
        if !(1..=MAX_RATE).contains(&chunk.sample_rate) {
            problems.push(format!("{label}: chunk {n} has sample rate {} Hz", chunk.sample_rate));
        }
        if !(1..=16).contains(&chunk.channels) {
            problems.push(format!("{label}: chunk {n} has {} channels", chunk.channels));
        } else if chunk.samples.len() % chunk.channels as usize != 0 {
            problems.push(format!(
                "{label}: chunk {n} has {} samples, not whole frames of {} channels",
                chunk.samples.len(),
                chunk.channels
            ));
        }
        if let Some(at) = chunk.samples.iter().position(|s| !s.is_finite()) {
            problems.push(format!("{label}: chunk {n} sample {at} is {}", chunk.samples[at]));
        }
        let first = &r.chunks[0];
        if (chunk.sample_rate, chunk.channels) != (first.sample_rate, first.channels) {
            problems.push(format!(
                "{label}: chunk {n} is {} Hz × {} after chunk 1's {} Hz × {}",
                chunk.sample_rate, chunk.channels, first.sample_rate, first.channels
            ));
        }
    }
    problems
}

/// Progress of a finished request: finite fractions in 0..=1, never going back, the last at 1.
pub fn progress(label: &str, r: &Recording) -> Vec<String> {
    if r.progress.is_empty() {
        return vec![format!("{label}: no progress reported")];
    }
    let mut problems = Vec::new();
    let mut last = 0.0f32;
    for (i, p) in r.progress.iter().enumerate() {
        let n = i + 1;
        if !p.fraction.is_finite() || !(0.0..=1.0).contains(&p.fraction) {
            problems.push(format!("{label}: progress {n} is {}, outside 0..=1", p.fraction));
        } else if p.fraction < last {
            problems.push(format!("{label}: progress went back from {last} to {} at report {n}", p.fraction));
        }
        if p.fraction.is_finite() {
            last = last.max(p.fraction);
        }
        if p.total > 0 && p.processed > p.total {
            problems.push(format!("{label}: progress {n} has processed {} of a total of {}", p.processed, p.total));
        }
    }
    let end = r.progress.last().map_or(0.0, |p| p.fraction);
    if !(0.999..=1.0).contains(&end) {
        problems.push(format!("{label}: the last progress is {end}, not 1"));
    }
    problems
}

/// Word timestamps of a finished request: one per word of the text, in order, inside the text's
/// bytes and inside the audio.
pub fn words(label: &str, r: &Recording) -> Vec<String> {
    let text = r.text.as_str();
    let expected = text.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count();
    let mut problems = Vec::new();
    if r.words.len() != expected {
        problems.push(format!("{label}: {} word timestamps for {expected} words", r.words.len()));
    }
    let audio_end = r.seconds() + WORD_SLACK_SECONDS;
    let (mut last_start, mut last_byte) = (0.0f64, 0u64);
    for (i, w) in r.words.iter().enumerate() {
        let n = i + 1;
        let (start, end) = (w.start_byte as usize, w.end_byte as usize);
        if start >= end || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            problems.push(format!("{label}: word {n} '{}' has bytes {start}..{end}, not inside the text", w.word));
        } else if w.start_byte < last_byte {
            problems
                .push(format!("{label}: word {n} '{}' starts at byte {start}, before the previous word's end", w.word));
        }
        last_byte = last_byte.max(w.end_byte);
        if !(w.start.is_finite() && w.end.is_finite() && 0.0 <= w.start && w.start <= w.end) {
            problems.push(format!("{label}: word {n} '{}' has times {}..{}", w.word, w.start, w.end));
        } else {
            if w.start < last_start {
                problems.push(format!("{label}: word {n} '{}' starts at {:.3} s, before word {i}", w.word, w.start));
            }
            if w.end > audio_end {
                problems.push(format!(
                    "{label}: word {n} '{}' ends at {:.3} s, past the audio's end at {:.3} s",
                    w.word,
                    w.end,
                    r.seconds()
                ));
            }
            last_start = last_start.max(w.start);
        }
    }
    problems
}

/// After the sink answered stop, at most the push in flight may follow, and the call returns.
pub fn stop(r: &Recording) -> Vec<String> {
    let mut problems = Vec::new();
    if r.audio_after_stop > 1 {
        problems
            .push(format!("{} audio pushes after the sink answered stop (at most 1 may follow)", r.audio_after_stop));
    }
    if let Ending::TimedOut = r.ending {
        problems.push("synthesize did not return after the sink answered stop".into());
    }
    problems
}

/// A request that must be refused before any audio: a clear error, no audio pushed.
pub fn refused(label: &str, r: &Recording, kinds: &[ErrorKind]) -> Vec<String> {
    let wanted = kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(" or ");
    match &r.ending {
        Ending::Failed(e) if kinds.contains(&e.kind) && !e.message.trim().is_empty() => {
            if r.chunks.is_empty() {
                Vec::new()
            } else {
                vec![format!("{label}: refused only after {} audio chunks", r.chunks.len())]
            }
        }
        Ending::Failed(e) => vec![format!("{label}: failed with {}, expected {wanted}", describe(e))],
        Ending::Done => vec![format!("{label}: accepted ({:.2} s of audio), expected {wanted}", r.seconds())],
        Ending::TimedOut => vec![format!("{label}: no answer in time, expected {wanted}")],
    }
}
