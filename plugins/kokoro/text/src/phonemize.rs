//! misaki phonemes for one sentence of normalized tokens, each phoneme run tied back to the byte
//! range of the input word it speaks. Unknown words go to the fallback; inline `/phonemes/`
//! overrides are applied here (misaki-rs's own pass can overwrite them for lexicon words).

use std::ops::Range;

use misaki_rs::{G2P, Language};

use crate::chunk::Piece;
use crate::fallback::WordFallback;
use crate::normalize::{LINK, NormToken, TokenKind};
use crate::{Lang, TextError};

/// misaki's G2P for one language, with our fallback for words outside its lexicon.
pub struct Phonemizer {
    g2p: G2P,
    fallback: WordFallback,
}

/// A span of the misaki input belonging to one normalized token.
struct Span {
    range: Range<usize>,
    word: Option<Range<usize>>,
    /// Phonemes forced by an inline override covering this stripped range.
    overrides: Vec<(Range<usize>, String)>,
}

impl Phonemizer {
    pub fn new(lang: Lang, fallback: WordFallback) -> Self {
        let language = match lang {
            Lang::EnUs => Language::EnglishUS,
            Lang::EnGb => Language::EnglishGB,
        };
        let g2p = G2P::with_fallback(language, Some(Box::new(fallback.clone())));
        Phonemizer { g2p, fallback }
    }

    /// Phonemizes one sentence. Every `Word` token yields at least one piece with non-empty
    /// phonemes and `word == Some(token.source)`; everything else has `word == None`.
    pub fn sentence(&self, toks: &[NormToken]) -> Result<Vec<Piece>, TextError> {
        // misaki sees the spoken text with inline markup; we align against the stripped text.
        let mut input = String::new();
        let mut stripped = String::new();
        let mut spans: Vec<Span> = Vec::with_capacity(toks.len());
        let spoken = self.unshout(toks);
        for (i, (t, spoken)) in toks.iter().zip(&spoken).enumerate() {
            if i > 0 && t.space_before {
                input.push(' ');
                stripped.push(' ');
            }
            let start = stripped.len();
            let mut overrides = Vec::new();
            let mut last = 0;
            let mut misaki_text = String::new();
            for m in LINK.captures_iter(spoken) {
                let whole = m.get(0).unwrap();
                let inner = m.get(1).unwrap().as_str();
                let feature = m.get(2).unwrap().as_str();
                stripped.push_str(&spoken[last..whole.start()]);
                misaki_text.push_str(&spoken[last..whole.start()]);
                let s = stripped.len();
                stripped.push_str(inner);
                if feature.len() > 1 && feature.starts_with('/') && feature.ends_with('/') {
                    overrides.push((s..stripped.len(), feature[1..].trim_end_matches('/').to_string()));
                    misaki_text.push_str(inner);
                } else {
                    misaki_text.push_str(whole.as_str());
                }
                last = whole.end();
            }
            stripped.push_str(&spoken[last..]);
            misaki_text.push_str(&spoken[last..]);
            input.push_str(&misaki_text);
            spans.push(Span {
                range: start..stripped.len(),
                word: (t.kind == TokenKind::Word).then(|| t.source.clone()),
                overrides,
            });
        }
        // misaki-rs has unwraps inside; a panic on odd input degrades this sentence to the
        // fallback reader instead of failing the request.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.g2p.g2p(&input)));
        let mtoks = match result {
            Ok(Ok((_, mtoks))) => mtoks,
            Ok(Err(e)) => return Err(TextError::Phonemize { text: input.clone(), reason: e.to_string() }),
            Err(_) => return Ok(self.without_misaki(toks, &spans, &stripped)),
        };

        // (stripped offset, word, phonemes) in order.
        let mut segs: Vec<(usize, Option<Range<usize>>, String)> = Vec::new();
        let mut cursor = 0;
        let mut done_overrides: Vec<Range<usize>> = Vec::new();
        // What misaki said for each stretch of the stripped text.
        let mut said: Vec<(Range<usize>, String)> = Vec::new();
        for tk in &mtoks {
            let (at, end) = match stripped[cursor..].find(tk.text.as_str()) {
                Some(off) if !tk.text.is_empty() => (cursor + off, cursor + off + tk.text.len()),
                // Text misaki changed: attribute it to where we are, without moving on.
                _ => (cursor, cursor),
            };
            cursor = end;
            let span = spans
                .iter()
                .find(|s| s.word.is_some() && s.range.start < end.max(at + 1) && at < s.range.end)
                .or_else(|| spans.iter().find(|s| s.range.start <= at && at < s.range.end));
            let word = span.and_then(|s| s.word.clone());
            let forced = span.and_then(|s| s.overrides.iter().find(|(r, _)| r.start < end.max(at + 1) && at < r.end));
            let mut ph = match forced {
                Some((r, _)) if done_overrides.contains(r) => String::new(),
                Some((r, p)) => {
                    done_overrides.push(r.clone());
                    p.clone()
                }
                None => tk.phonemes.clone().unwrap_or_default(),
            };
            if forced.is_none() && (tk.phonemes.is_none() || ph.contains('❓')) {
                ph = if word.is_some() { self.fallback.phonemes(&tk.text) } else { ph.replace('❓', "") };
            }
            if word.is_none() {
                // Inter-word material keeps only punctuation phonemes.
                ph.retain(|c| !c.is_alphanumeric() || c.is_ascii_punctuation());
            }
            said.push((at..end, ph.clone()));
            segs.push((at, word, ph));
            if !tk.whitespace.is_empty() {
                segs.push((end, None, " ".into()));
            }
        }
        // Punctuation misaki folded into a word ("B." read as an initial) keeps its prosody mark.
        for (t, s) in toks.iter().zip(&spans) {
            if s.word.is_some() || !t.spoken.contains(['.', ',', '!', '?', ';', ':', '—', '…']) {
                continue;
            }
            let spoken_here = said.iter().any(|(r, p)| {
                r.start < s.range.end && s.range.start < r.end.max(r.start + 1) && p.contains(t.spoken.as_str())
            });
            if !spoken_here {
                segs.push((s.range.start, None, t.spoken.clone()));
            }
        }
        // Words misaki left silent (or never returned) still need a reading.
        for s in &spans {
            let Some(w) = &s.word else { continue };
            let has = segs.iter().any(|(_, sw, p)| sw.as_ref() == Some(w) && !p.trim().is_empty());
            if !has {
                let text = &stripped[s.range.clone()];
                let forced: String = s.overrides.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(" ");
                let ph = if s.overrides.is_empty() { self.fallback.phonemes(text) } else { forced };
                if !ph.is_empty() || !s.overrides.is_empty() {
                    segs.push((s.range.start, Some(w.clone()), ph));
                }
            }
        }
        segs.sort_by_key(|(at, _, _)| *at);
        Ok(merge(segs))
    }
}

fn is_caps_word(w: &str) -> bool {
    w.chars().count() >= 2
        && w.chars().all(|c| c.is_uppercase() || c == '\'' || c == '’')
        && w.chars().any(char::is_alphabetic)
}

impl Phonemizer {
    /// Text written in capitals ("THE MEETING STARTS AT NOON") is read as words, not spelled:
    /// when at least half the words of a sentence are capitals, each capital word whose lower-case form
    /// misaki knows, and that is not itself an entry (USA, FBI), is lower-cased.
    fn unshout(&self, toks: &[NormToken]) -> Vec<String> {
        let words: Vec<&str> = toks
            .iter()
            .filter(|t| t.kind == TokenKind::Word)
            .flat_map(|t| t.spoken.split_whitespace())
            .filter(|w| w.chars().any(char::is_alphabetic))
            .collect();
        let caps = words.iter().filter(|w| is_caps_word(w)).count();
        if caps < 3 || caps * 2 < words.len() {
            return toks.iter().map(|t| t.spoken.clone()).collect();
        }
        let lex = &self.g2p.lexicon;
        toks.iter()
            .map(|t| {
                if t.kind != TokenKind::Word || LINK.is_match(&t.spoken) {
                    return t.spoken.clone();
                }
                t.spoken
                    .split(' ')
                    .map(|w| {
                        let lower = w.to_lowercase();
                        if is_caps_word(w)
                            && !lex.golds.contains_key(w)
                            && (lex.golds.contains_key(&lower) || lex.silvers.contains_key(&lower))
                        {
                            lower
                        } else {
                            w.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// Every word through the fallback reader, punctuation as given: used only if misaki fails.
    fn without_misaki(&self, toks: &[NormToken], spans: &[Span], stripped: &str) -> Vec<Piece> {
        let mut segs = Vec::new();
        for (i, (t, s)) in toks.iter().zip(spans).enumerate() {
            if i > 0 && t.space_before {
                segs.push((s.range.start, None, " ".to_string()));
            }
            let ph = match &s.word {
                Some(_) if !s.overrides.is_empty() => {
                    s.overrides.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(" ")
                }
                Some(_) => stripped[s.range.clone()]
                    .split_whitespace()
                    .map(|w| self.fallback.phonemes(w))
                    .collect::<Vec<_>>()
                    .join(" "),
                None => t.spoken.clone(),
            };
            segs.push((s.range.start, s.word.clone(), ph));
        }
        merge(segs)
    }
}

/// Merges segments into pieces: spaces between two parts of one word join the word; consecutive
/// segments of the same word (or of inter-word material) become one piece.
fn merge(segs: Vec<(usize, Option<Range<usize>>, String)>) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    for (k, (_, word, ph)) in segs.iter().enumerate() {
        let mut word = word.clone();
        if word.is_none() && ph == " " {
            let prev = pieces.last().and_then(|p| p.word.clone());
            let next = segs.get(k + 1).and_then(|(_, w, _)| w.clone());
            if prev.is_some() && prev == next {
                word = prev;
            }
        }
        match pieces.last_mut() {
            Some(last) if last.word == word => last.phonemes.push_str(ph),
            _ => pieces.push(Piece { phonemes: ph.clone(), word }),
        }
    }
    pieces.retain(|p| !p.phonemes.is_empty() || p.word.is_some());
    pieces
}
