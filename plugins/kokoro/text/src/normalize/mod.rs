//! English normalization: turns request text into spoken tokens, each tied to the byte range of
//! the input it came from. Numbers, money, times, dates, phone numbers, abbreviations, units,
//! URLs, e-mail addresses and symbols become words misaki can phonemize.

mod classify;
mod context;
mod dates;
mod fractions;
mod lex;
mod money;
mod tables;
mod web;

use std::ops::Range;

pub(crate) use lex::LINK;

use crate::Lang;

/// What a normalized token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Spoken words for one input word (word, number, symbol group).
    Word,
    /// Punctuation kept for prosody (`,` `.` `!` `?` `—` `…` `:` `;` quotes, parentheses).
    Punct,
}

/// One normalized token.
#[derive(Debug, Clone, PartialEq)]
pub struct NormToken {
    /// Byte range in the input text this token speaks. For a word it is the word without its
    /// surrounding quotes, brackets and sentence punctuation (an abbreviation keeps its period).
    /// A sentence-ending period that is also an abbreviation's ("Elm Ave.") yields a `Punct`
    /// token whose range lies inside the word's.
    pub source: Range<usize>,
    /// What is said, as text for misaki. Letters to be spelled appear as single capitals;
    /// the letter A as misaki's inline form `[A](/ˈA/)` (misaki would read a bare "A" as the article).
    pub spoken: String,
    pub kind: TokenKind,
    /// Whitespace separates this token from the previous one in the input.
    pub space_before: bool,
    /// A sentence ends after this token.
    pub sentence_end: bool,
}

/// Normalizes US English text. See [`normalize_with`].
pub fn normalize(text: &str) -> Vec<NormToken> {
    normalize_with(text, Lang::EnUs)
}

/// Normalizes `text` for `lang`: every input word with something speakable yields at least one
/// [`TokenKind::Word`] token with its byte range; emoji and unknown symbols are dropped.
pub fn normalize_with(text: &str, lang: Lang) -> Vec<NormToken> {
    normalize_at(text, 0, lang)
}

/// Like [`normalize_with`] for a slice of a larger text starting at byte `base`.
pub(crate) fn normalize_at(text: &str, base: usize, lang: Lang) -> Vec<NormToken> {
    let items = lex::lex(text, base);
    let mut out = classify::classify_all(text, base, &items, lang);
    mark_sentence_ends(text, base, &mut out);
    out
}

fn is_terminal(p: &str) -> bool {
    p.contains(['.', '!', '?'])
}

fn is_closer(p: &str) -> bool {
    matches!(p, "”" | "\"" | "'" | "’" | ")" | "»")
}

fn mark_sentence_ends(text: &str, base: usize, toks: &mut [NormToken]) {
    let n = toks.len();
    for i in 0..n {
        let t = &toks[i];
        let next = toks.get(i + 1);
        let gap =
            next.map(|nx| &text[t.source.end.min(nx.source.start) - base..nx.source.start.max(t.source.end) - base]);
        let paragraph = gap.is_some_and(|g| g.matches('\n').count() >= 2);
        let line_then_capital = gap.is_some_and(|g| g.contains('\n'))
            && next.is_some_and(|nx| nx.spoken.starts_with(|c: char| c.is_uppercase()));
        let next_spaced = next.is_none_or(|nx| nx.space_before);
        let end = match t.kind {
            TokenKind::Punct if is_terminal(&t.spoken) => {
                // Closing quotes and brackets right after belong to this sentence; a period
                // before a lower-case word is an abbreviation's we do not know ("approx. five").
                let lower_next =
                    t.spoken == "." && next.is_some_and(|nx| nx.spoken.starts_with(|c: char| c.is_lowercase()));
                next_spaced
                    && !lower_next
                    && !next.is_some_and(|nx| nx.kind == TokenKind::Punct && is_terminal(&nx.spoken))
            }
            TokenKind::Punct if is_closer(&t.spoken) => next_spaced && i > 0 && toks[i - 1].sentence_end_candidate(),
            TokenKind::Punct if t.spoken == "…" => {
                next_spaced && next.is_some_and(|nx| nx.spoken.starts_with(|c: char| c.is_uppercase()))
            }
            _ => false,
        };
        toks[i].sentence_end = end || paragraph || line_then_capital || next.is_none();
        // A terminal mark followed by an attached closer moves the end to the closer.
        if i > 0 && toks[i].sentence_end && toks[i].kind == TokenKind::Punct && is_closer(&toks[i].spoken) {
            toks[i - 1].sentence_end = false;
        }
    }
}

impl NormToken {
    fn sentence_end_candidate(&self) -> bool {
        self.kind == TokenKind::Punct && is_terminal(&self.spoken)
    }
}

#[cfg(test)]
mod tests;
