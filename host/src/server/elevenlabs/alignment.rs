//! Character alignment in ElevenLabs' shapes, from chorus's word timestamps: each character of
//! a word gets an equal share of the word's time, and the characters between words (spaces,
//! punctuation) share the pause between them. The characters are the client's own text, so they
//! concatenate back to it; chorus engines report no normalized text, so the normalized alignment
//! is the same list.

use crate::Word;
use serde_json::{Value, json};
use std::ops::Range;

/// Per-character times in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alignment {
    pub chars: Vec<String>,
    pub starts: Vec<f64>,
    pub ends: Vec<f64>,
}

impl Alignment {
    /// The characters of `text[range]` (a byte range on char boundaries), timed by `words`
    /// (byte offsets into `text`, seconds on one timeline), the gap before the first word starting
    /// at `from` and the gap after the last ending at `to`.
    pub fn new(text: &str, range: Range<usize>, words: &[Word], from: f64, to: f64) -> Self {
        let mut words: Vec<&Word> =
            words.iter().filter(|w| w.start_byte < w.end_byte && w.end_byte <= text.len()).collect();
        words.sort_by_key(|w| w.start_byte);
        let mut out = Alignment::default();
        let Some(slice) = text.get(range.clone()) else { return out };
        // Runs of characters sharing one interval: a word's own characters, or a gap's.
        let mut run: Vec<String> = Vec::new();
        let mut run_interval = (from, from);
        let mut current: Option<usize> = None; // index into words of the run's word
        let flush = |out: &mut Alignment, run: &mut Vec<String>, (a, b): (f64, f64)| {
            let n = run.len().max(1) as f64;
            let step = (b - a).max(0.0) / n;
            for (k, c) in run.drain(..).enumerate() {
                out.chars.push(c);
                out.starts.push(a + step * k as f64);
                out.ends.push(a + step * (k + 1) as f64);
            }
        };
        for (offset, c) in slice.char_indices() {
            let at = range.start + offset;
            let inside = words.iter().position(|w| w.start_byte <= at && at < w.end_byte);
            let interval = match inside {
                Some(i) => (words[i].start, words[i].end.max(words[i].start)),
                None => {
                    let before = words.iter().rev().find(|w| w.end_byte <= at).map_or(from, |w| w.end);
                    let after = words.iter().find(|w| w.start_byte > at).map_or(to, |w| w.start);
                    (before, after.max(before))
                }
            };
            let key = inside.map_or(usize::MAX - words.iter().filter(|w| w.end_byte <= at).count(), |i| i);
            if current != Some(key) && !run.is_empty() {
                flush(&mut out, &mut run, run_interval);
            }
            current = Some(key);
            run_interval = interval;
            run.push(c.to_string());
        }
        flush(&mut out, &mut run, run_interval);
        out
    }

    /// The REST shape: `{characters, character_start_times_seconds, character_end_times_seconds}`.
    pub fn rest(&self) -> Value {
        json!({
            "characters": self.chars,
            "character_start_times_seconds": self.starts.iter().map(|s| round3(*s)).collect::<Vec<_>>(),
            "character_end_times_seconds": self.ends.iter().map(|s| round3(*s)).collect::<Vec<_>>(),
        })
    }

    /// The WebSocket shape, `{chars, charStartTimesMs, charDurationsMs}`, in milliseconds from
    /// `origin` (the start of the message's audio).
    pub fn websocket(&self, origin: f64) -> Value {
        let ms = |s: f64| ((s - origin).max(0.0) * 1000.0).round() as i64;
        let starts: Vec<i64> = self.starts.iter().map(|s| ms(*s)).collect();
        let durations: Vec<i64> =
            self.starts.iter().zip(&self.ends).zip(&starts).map(|((_, e), s)| (ms(*e) - s).max(0)).collect();
        json!({"chars": self.chars, "charStartTimesMs": starts, "charDurationsMs": durations})
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Append `other` (later characters).
    pub fn extend(&mut self, other: Alignment) {
        self.chars.extend(other.chars);
        self.starts.extend(other.starts);
        self.ends.extend(other.ends);
    }
}

fn round3(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, word: &str, start: f64, end: f64) -> Word {
        let start_byte = text.find(word).unwrap();
        Word { word: word.into(), start_byte, end_byte: start_byte + word.len(), start, end }
    }

    #[test]
    fn characters_concatenate_back_and_times_never_go_back() {
        let text = "Héllo, world!";
        let words = [word(text, "Héllo", 0.1, 0.6), word(text, "world", 0.8, 1.3)];
        let a = Alignment::new(text, 0..text.len(), &words, 0.0, 1.5);
        assert_eq!(a.chars.concat(), text);
        assert_eq!(a.chars.len(), text.chars().count());
        assert!(a.starts.windows(2).all(|w| w[0] <= w[1]));
        assert!(a.starts.iter().zip(&a.ends).all(|(s, e)| s <= e));
        // "H" starts with its word, "é" a fifth of the way in; "," and " " share the pause.
        assert_eq!((a.starts[0], a.starts[1]), (0.1, 0.2));
        assert!((a.starts[5] - 0.6).abs() < 1e-9 && (a.ends[6] - 0.8).abs() < 1e-9);
        assert!((a.ends[12] - 1.5).abs() < 1e-9);
    }

    #[test]
    fn a_range_covers_only_its_characters() {
        let text = "One two";
        let words = [word(text, "One", 0.0, 0.3), word(text, "two", 0.4, 0.7)];
        let a = Alignment::new(text, 3..7, &words, 0.0, 0.7);
        assert_eq!(a.chars.concat(), " two");
        let ws = a.websocket(0.3);
        assert_eq!(ws["charStartTimesMs"][0], 0);
        assert_eq!(ws["chars"].as_array().unwrap().len(), 4);
    }
}
