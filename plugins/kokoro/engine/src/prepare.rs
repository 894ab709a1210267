//! Turning a front-end chunk into model input: token ids, and which ids belong to which input word.

use chorus_kokoro_text::{Boundary, Chunk};
use std::collections::HashMap;
use std::ops::Range;

/// The most phoneme tokens the model takes in one run (plus the two pads).
pub const MAX_TOKENS: usize = 510;

/// Kokoro's phoneme vocabulary: one id per phoneme character.
pub struct Vocab(HashMap<char, i64>);

impl Vocab {
    /// Parse `vocab.json` (either `{"vocab": {...}}` or a bare map of one-character keys).
    pub fn parse(json: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let map = value.get("vocab").unwrap_or(&value).as_object().ok_or("not a JSON object")?;
        let mut out = HashMap::with_capacity(map.len());
        for (k, v) in map {
            let mut chars = k.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(format!("key {k:?} is not one character"));
            };
            out.insert(c, v.as_i64().ok_or_else(|| format!("id of {k:?} is not an integer"))?);
        }
        if out.is_empty() {
            return Err("the vocabulary is empty".into());
        }
        Ok(Self(out))
    }

    /// Kokoro v1.0's vocabulary, built in.
    pub fn builtin() -> Self {
        Self::parse(include_str!("kokoro_vocab.json")).expect("the built-in vocabulary parses")
    }

    pub fn id(&self, c: char) -> Option<i64> {
        self.0.get(&c).copied()
    }
}

/// One input word of a chunk: its bytes in the request text and its token ids (indices into `ids`).
#[derive(Debug, Clone, PartialEq)]
pub struct WordSpan {
    pub bytes: Range<usize>,
    pub tokens: Range<usize>,
}

/// A chunk ready for inference.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Token ids padded with 0 at both ends.
    pub ids: Vec<i64>,
    pub words: Vec<WordSpan>,
    pub end: Boundary,
    /// The end of the last byte of the text this chunk covers (for progress).
    pub text_end: usize,
    /// Context ids after the last word (see `Chunk::lookahead`), spoken but not kept.
    pub lookahead: usize,
    /// Index in `ids` of the context word's first phoneme (after the space before it).
    pub context_start: Option<usize>,
}

impl Prepared {
    /// Phoneme tokens spoken (without the pads and the lookahead context).
    pub fn token_count(&self) -> usize {
        self.ids.len() - 2 - self.lookahead
    }
}

/// Map a chunk's pieces through the vocabulary, merging consecutive pieces of one word.
pub fn prepare(chunk: &Chunk, vocab: &Vocab) -> Prepared {
    let mut ids = vec![0i64];
    let mut words: Vec<WordSpan> = Vec::new();
    let mut text_end = 0;
    for piece in &chunk.pieces {
        let start = ids.len();
        for c in piece.phonemes.chars() {
            if ids.len() > MAX_TOKENS {
                break;
            }
            if let Some(id) = vocab.id(c) {
                ids.push(id);
            }
        }
        let Some(bytes) = piece.word.clone() else { continue };
        text_end = text_end.max(bytes.end);
        match words.last_mut() {
            Some(last) if last.bytes == bytes && last.tokens.end == start => last.tokens.end = ids.len(),
            _ => words.push(WordSpan { bytes, tokens: start..ids.len() }),
        }
    }
    let before = ids.len();
    let mut context_start = None;
    for c in chunk.lookahead.chars() {
        if ids.len() > MAX_TOKENS {
            break;
        }
        if let Some(id) = vocab.id(c) {
            if context_start.is_none() && !c.is_whitespace() {
                context_start = Some(ids.len());
            }
            ids.push(id);
        }
    }
    let lookahead = ids.len() - before;
    ids.push(0);
    Prepared { ids, words, end: chunk.end, text_end, lookahead, context_start }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chorus_kokoro_text::Piece;

    #[test]
    fn words_map_to_their_tokens_and_split_pieces_merge() {
        let vocab = Vocab::builtin();
        let chunk = Chunk {
            pieces: vec![
                Piece { phonemes: "hə".into(), word: Some(0..5) },
                Piece { phonemes: "lˈO".into(), word: Some(0..5) },
                Piece { phonemes: " ".into(), word: None },
                Piece { phonemes: "wˈɜɹld☃".into(), word: Some(6..11) },
                Piece { phonemes: ".".into(), word: None },
            ],
            end: Boundary::End,
            source: 0..11,
            lookahead: String::new(),
        };
        let p = prepare(&chunk, &vocab);
        // 0, h ə l ˈ O, space, w ˈ ɜ ɹ l d (the snowman is not in the vocabulary), ., 0
        assert_eq!(p.ids.len(), 1 + 5 + 1 + 6 + 1 + 1);
        assert_eq!((p.ids[0], *p.ids.last().unwrap()), (0, 0));
        assert_eq!(p.words, vec![WordSpan { bytes: 0..5, tokens: 1..6 }, WordSpan { bytes: 6..11, tokens: 7..13 }]);
        assert_eq!(p.text_end, 11);
        assert_eq!((p.lookahead, p.context_start), (0, None));
    }

    #[test]
    fn lookahead_ids_follow_the_words_but_belong_to_none() {
        let vocab = Vocab::builtin();
        let chunk = Chunk {
            pieces: vec![Piece { phonemes: "bˈOt".into(), word: Some(0..4) }],
            end: Boundary::Word,
            source: 0..4,
            lookahead: " dɹˈɪftᵻd".into(),
        };
        let p = prepare(&chunk, &vocab);
        assert_eq!(p.lookahead, 9);
        assert_eq!(p.context_start, Some(1 + 4 + 1), "after the pad, the word and the space");
        assert_eq!(p.ids.len(), 1 + 4 + 9 + 1);
        assert_eq!(p.words, vec![WordSpan { bytes: 0..4, tokens: 1..5 }]);
    }

    #[test]
    fn the_vocabulary_accepts_both_layouts() {
        assert_eq!(Vocab::parse(r#"{"a": 43}"#).unwrap().id('a'), Some(43));
        assert_eq!(Vocab::parse(r#"{"vocab": {"a": 43}}"#).unwrap().id('a'), Some(43));
        assert!(Vocab::parse(r#"{"ab": 1}"#).is_err());
    }
}
