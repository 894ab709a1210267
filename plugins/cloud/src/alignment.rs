//! Word timestamps from ElevenLabs' character alignment.
//!
//! The with-timestamps endpoints send, with each audio chunk, `alignment.characters` (the
//! request text, character by character) and `character_start_times_seconds` /
//! `character_end_times_seconds` (elevenlabs/elevenlabs-python,
//! src/elevenlabs/types/character_alignment_response_model.py). Words are the runs of
//! characters between whitespace; each is mapped back to its byte range in the request text.
//! Times are normally cumulative over the request; if a chunk's times restart below what was
//! already seen, they are taken as relative to that chunk and offset by the audio before it.

use chorus_plugin_api::WordTimestamp;

#[derive(Debug, Clone)]
struct Pending {
    start_byte: usize,
    end_byte: usize,
    start: f64,
    end: f64,
}

/// Builds words from alignment chunks of one request (one piece of the text).
#[derive(Debug)]
pub struct WordAligner<'t> {
    /// The text sent in this request.
    text: &'t str,
    /// Where `text` starts in the whole request text, in bytes.
    base_byte: usize,
    /// Audio seconds of earlier pieces, added to every time.
    time_offset: f64,
    cursor: usize,
    current: Option<Pending>,
    last_raw_end: f64,
    chunk_relative: bool,
}

/// How far ahead in the text an alignment character is looked for before it is ignored.
const LOOKAHEAD_CHARS: usize = 8;

impl<'t> WordAligner<'t> {
    pub fn new(text: &'t str, base_byte: usize, time_offset: f64) -> Self {
        Self { text, base_byte, time_offset, cursor: 0, current: None, last_raw_end: 0.0, chunk_relative: false }
    }

    /// Feed one chunk's alignment; `chunk_audio_start` is the audio (seconds, this request only)
    /// received before the chunk. Returns the words completed by it.
    pub fn push(
        &mut self,
        chars: &[String],
        starts: &[f64],
        ends: &[f64],
        chunk_audio_start: f64,
    ) -> Vec<WordTimestamp> {
        let n = chars.len().min(starts.len()).min(ends.len());
        if n == 0 {
            return Vec::new();
        }
        if !self.chunk_relative && self.last_raw_end > 0.05 && starts[0] + 0.05 < self.last_raw_end {
            self.chunk_relative = true;
        }
        let offset = self.time_offset + if self.chunk_relative { chunk_audio_start } else { 0.0 };
        let mut done = Vec::new();
        for i in 0..n {
            self.last_raw_end = self.last_raw_end.max(ends[i]);
            let Some((span_start, span_end, skipped_space)) = self.locate(&chars[i]) else { continue };
            if skipped_space {
                done.extend(self.close());
            }
            let is_space = self.text[span_start..span_end].chars().all(char::is_whitespace);
            if is_space {
                done.extend(self.close());
                continue;
            }
            let (start, end) = (starts[i] + offset, ends[i] + offset);
            match &mut self.current {
                Some(word) => {
                    word.end_byte = span_end;
                    word.end = end.max(word.end);
                }
                None => self.current = Some(Pending { start_byte: span_start, end_byte: span_end, start, end }),
            }
        }
        done
    }

    /// The last word, at the end of the stream.
    pub fn finish(&mut self) -> Vec<WordTimestamp> {
        self.close().into_iter().collect()
    }

    /// Find `c` at the cursor or a few characters ahead; advance past it. Returns its byte span
    /// and whether whitespace was skipped on the way.
    fn locate(&mut self, c: &str) -> Option<(usize, usize, bool)> {
        if c.is_empty() {
            return None;
        }
        let rest = &self.text[self.cursor..];
        for (skip_bytes, _) in rest.char_indices().take(LOOKAHEAD_CHARS) {
            if rest[skip_bytes..].starts_with(c) {
                let skipped_space = rest[..skip_bytes].chars().any(char::is_whitespace);
                let start = self.cursor + skip_bytes;
                self.cursor = start + c.len();
                return Some((start, start + c.len(), skipped_space));
            }
        }
        None
    }

    fn close(&mut self) -> Option<WordTimestamp> {
        let w = self.current.take()?;
        Some(WordTimestamp {
            word: self.text[w.start_byte..w.end_byte].into(),
            start_byte: (self.base_byte + w.start_byte) as u64,
            end_byte: (self.base_byte + w.end_byte) as u64,
            start: w.start,
            end: w.end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<String> {
        s.chars().map(String::from).collect()
    }

    fn times(n: usize, from: f64) -> (Vec<f64>, Vec<f64>) {
        ((0..n).map(|i| from + i as f64 * 0.1).collect(), (0..n).map(|i| from + (i + 1) as f64 * 0.1).collect())
    }

    #[test]
    fn words_across_chunks_with_byte_offsets() {
        let text = "Héllo big world";
        let mut a = WordAligner::new(text, 100, 2.0);
        let (s1, e1) = times(7, 0.0);
        let first = a.push(&chars("Héllo b"), &s1, &e1, 0.0);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].word.as_str(), "Héllo");
        assert_eq!((first[0].start_byte, first[0].end_byte), (100, 106));
        assert!((first[0].start - 2.0).abs() < 1e-9 && (first[0].end - 2.5).abs() < 1e-9);
        let (s2, e2) = times(8, 0.7);
        let second = a.push(&chars("ig world"), &s2, &e2, 0.7);
        assert_eq!(second.iter().map(|w| w.word.as_str()).collect::<Vec<_>>(), ["big"]);
        assert!((second[0].start - 2.6).abs() < 1e-9, "{}", second[0].start);
        let last = a.finish();
        assert_eq!(last[0].word.as_str(), "world");
        assert_eq!(&text[(last[0].start_byte - 100) as usize..(last[0].end_byte - 100) as usize], "world");
    }

    #[test]
    fn chunk_relative_times_are_offset() {
        let mut a = WordAligner::new("ab cd", 0, 0.0);
        let (s1, e1) = times(3, 0.0);
        a.push(&chars("ab "), &s1, &e1, 0.0);
        let (s2, e2) = times(2, 0.0);
        a.push(&chars("cd"), &s2, &e2, 0.3);
        let w = a.finish();
        assert!((w[0].start - 0.3).abs() < 1e-9, "{}", w[0].start);
    }

    #[test]
    fn unexpected_characters_are_skipped() {
        let mut a = WordAligner::new("a b", 0, 0.0);
        let (s, e) = times(4, 0.0);
        let mut words = a.push(&chars("a#b"), &s[..3], &e[..3], 0.0);
        words.extend(a.finish());
        // '#' is not in the text; the skipped space still separates the words.
        assert_eq!(words.iter().map(|w| w.word.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }
}
