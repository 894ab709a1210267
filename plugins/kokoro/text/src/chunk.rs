//! Streaming chunks: sentences phonemized one at a time, cut into clauses, packed into chunks
//! within Kokoro's 510-token limit, the first one short so audio can start early.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use regex::Regex;

use crate::bound;
use crate::frontend::Frontend;
use crate::normalize::{self, NormToken, TokenKind};
use crate::{Lang, TextError};

/// Kokoro's hard limit on phoneme tokens per inference call.
pub const MAX_TOKENS: usize = 510;

/// A run of phonemes. `word` is the byte range of the input word it speaks; `None` for
/// inter-word material: spaces and prosody punctuation (`,` `.` `!` `?` `;` `:` `—` `…` `“` `”` `(` `)`).
/// A word may span several consecutive pieces with the same range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub phonemes: String,
    pub word: Option<Range<usize>>,
}

/// Where a chunk was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// At the end of a sentence.
    Sentence,
    /// At a clause mark (`,` `;` `:` `—` `…` parentheses) inside a sentence.
    Clause,
    /// Between two words inside a clause (the first chunk, or a clause over the limit).
    Word,
    /// The last chunk of the text.
    End,
}

/// A unit of synthesis: at most [`MAX_TOKENS`] phoneme characters.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub pieces: Vec<Piece>,
    pub end: Boundary,
    /// Byte range of the input from the first to the last word this chunk speaks.
    pub source: Range<usize>,
    /// After a cut between two words: the phonemes of the next few words (with the space before
    /// them), spoken only as context so the last word of this chunk keeps its in-sentence
    /// intonation and length; their audio is cut off at the last word's end and they are spoken
    /// again, in full, by the next chunk. Empty otherwise.
    pub lookahead: String,
}

impl Chunk {
    /// The phoneme string to tokenize with Kokoro's vocabulary: the pieces concatenated.
    pub fn phonemes(&self) -> String {
        self.pieces.iter().map(|p| p.phonemes.as_str()).collect()
    }

    /// Number of phoneme tokens (characters of [`Chunk::phonemes`]).
    pub fn token_len(&self) -> usize {
        self.pieces.iter().map(|p| p.phonemes.chars().count()).sum()
    }

    /// The distinct input words of this chunk, in order.
    pub fn words(&self) -> Vec<Range<usize>> {
        let mut out: Vec<Range<usize>> = Vec::new();
        for w in self.pieces.iter().filter_map(|p| p.word.clone()) {
            if out.last() != Some(&w) {
                out.push(w);
            }
        }
        out
    }
}

/// How text is cut into chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPolicy {
    /// Token budget of the first chunk (audio starts after it is synthesized).
    pub first_max_tokens: usize,
    /// Token budget of every later chunk; capped at [`MAX_TOKENS`].
    pub max_tokens: usize,
    /// Let the first chunk end between two words inside a clause when the first clause is over
    /// `first_max_tokens`. When false the first chunk is at least one whole clause.
    pub first_cut_at_word: bool,
    /// Fewest words on each side of a cut inside a clause (keeps short fragments out).
    pub min_cut_words: usize,
    /// Later chunks may hold several sentences (better prosody, fewer calls).
    pub pack_sentences: bool,
    /// Words of context after a cut between two words ([`Chunk::lookahead`]); 0 for none. An
    /// engine that cannot locate word ends in its audio must set 0.
    pub lookahead_words: usize,
}

impl Default for ChunkPolicy {
    fn default() -> Self {
        ChunkPolicy {
            first_max_tokens: 150,
            max_tokens: 150,
            first_cut_at_word: false,
            min_cut_words: 3,
            pack_sentences: true,
            lookahead_words: 0,
        }
    }
}

/// A clause of a phonemized sentence.
#[derive(Debug, Clone)]
struct Clause {
    pieces: Vec<Piece>,
    end: Boundary,
}

fn plen(pieces: &[Piece]) -> usize {
    pieces.iter().map(|p| p.phonemes.chars().count()).sum()
}

/// A plain sentence end: a lower-case word, the mark, then a capital ("it. The"); titles such as
/// "Mr." are capitalized, so they never match.
static SENTENCE_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(\p{Ll}{2}[.!?]["”’)]*\s+)["“(]?\p{Lu}"#).unwrap());

const CLAUSE_MARKS: &[char] = &[',', ';', ':', '—', '…', '(', ')', '.', '!', '?'];
const MAX_SENTENCE_WORDS: usize = 120;

/// What the front-end has asked of misaki so far, for one text (see [`Chunks::work`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Sentences phonemized (one misaki call each).
    pub sentences: usize,
    /// Bytes of text given to misaki, over all calls.
    pub bytes: usize,
    /// Bytes of the longest text given to misaki in one call.
    pub longest_sentence: usize,
    /// Characters of the longest stretch without whitespace given to misaki (misaki's tokenizer
    /// is quadratic in it).
    pub longest_word: usize,
}

impl Work {
    /// Counts one sentence's misaki input: the tokens' spoken text, spaced as misaki sees it.
    fn add(&mut self, toks: &[NormToken]) {
        let mut bytes = 0;
        let mut run = 0;
        for (i, t) in toks.iter().enumerate() {
            if i > 0 && t.space_before {
                bytes += 1;
                run = 0;
            }
            bytes += t.spoken.len();
            for c in t.spoken.chars() {
                run = if c.is_whitespace() { 0 } else { run + 1 };
                self.longest_word = self.longest_word.max(run);
            }
        }
        self.sentences += 1;
        self.bytes += bytes;
        self.longest_sentence = self.longest_sentence.max(bytes);
    }
}

/// Lazily yields the chunks of one text. Created by [`Frontend::chunks`].
pub struct Chunks<'a> {
    frontend: &'a Frontend,
    text: &'a str,
    lang: Lang,
    policy: ChunkPolicy,
    /// Bytes of `text` before this offset have been normalized.
    normalized_to: usize,
    sentences: VecDeque<Vec<NormToken>>,
    clauses: VecDeque<Clause>,
    first: bool,
    emitted: usize,
    phonemized: usize,
    finished: bool,
    stop: Option<&'a AtomicBool>,
    work: Work,
}

impl<'a> Chunks<'a> {
    pub(crate) fn new(frontend: &'a Frontend, text: &'a str, lang: Lang, policy: &ChunkPolicy) -> Self {
        Chunks {
            frontend,
            text,
            lang,
            policy: policy.clone(),
            normalized_to: 0,
            sentences: VecDeque::new(),
            clauses: VecDeque::new(),
            first: true,
            emitted: 0,
            phonemized: 0,
            finished: false,
            stop: None,
            work: Work::default(),
        }
    }

    /// Stops the work once `stop` is set: checked before each block of text is normalized and
    /// before each sentence is phonemized (each bounded in size), the iterator then yields one
    /// `Err(TextError::Stopped)` and ends.
    pub fn with_stop(mut self, stop: &'a AtomicBool) -> Self {
        self.stop = Some(stop);
        self
    }

    /// What has been asked of misaki so far.
    pub fn work(&self) -> Work {
        self.work
    }

    fn check_stop(&self) -> Result<(), TextError> {
        match self.stop {
            Some(s) if s.load(Ordering::Relaxed) => Err(TextError::Stopped),
            _ => Ok(()),
        }
    }

    /// Sentences phonemized so far by this iterator.
    pub fn sentences_phonemized(&self) -> usize {
        self.phonemized
    }

    /// Bytes of the input normalized so far (normalization runs a block of text ahead).
    pub fn bytes_normalized(&self) -> usize {
        self.normalized_to
    }

    /// Normalizes the next block of text (up to a paragraph break past 8 KiB) into sentences.
    fn normalize_more(&mut self) -> bool {
        if self.normalized_to >= self.text.len() {
            return false;
        }
        let start = self.normalized_to;
        let rest = &self.text[start..];
        let mut end = self.text.len();
        if rest.len() > 8192 {
            let mut from = 8192;
            while !rest.is_char_boundary(from) {
                from += 1;
            }
            // Cut at a paragraph break, else after a plain sentence end ("dogs. "), else at a
            // line or a space, so no sentence (or at worst no word) is split between blocks.
            let window = &rest[from..];
            let cut = window
                .find("\n\n")
                .map(|k| k + 2)
                .or_else(|| SENTENCE_END.captures(window).and_then(|c| c.get(1)).map(|m| m.end()))
                .or_else(|| window.find(['\n', ' ']).map(|k| k + 1));
            end = cut.map_or(self.text.len(), |k| start + from + k);
        }
        let block = &self.text[start..end];
        let toks = bound::tame(block, start, normalize::normalize_at(block, start, self.lang));
        self.normalized_to = end;
        let mut cur: Vec<NormToken> = Vec::new();
        let mut words = 0;
        let mut spoken = 0;
        for t in toks {
            let is_word = t.kind == TokenKind::Word;
            let end = t.sentence_end;
            let clause_mark = t.kind == TokenKind::Punct && t.spoken.contains(CLAUSE_MARKS);
            words += usize::from(is_word);
            spoken += if is_word { bound::words(&t.spoken) } else { 0 };
            cur.push(t);
            // Very long "sentences" (lists, unpunctuated text, a long word cut into pieces) are
            // cut so each phonemize call stays small.
            let long = words >= 2 * MAX_SENTENCE_WORDS || spoken >= 2 * MAX_SENTENCE_WORDS;
            if end || (words >= MAX_SENTENCE_WORDS && clause_mark) || long {
                if cur.iter().any(|t| t.kind == TokenKind::Word) {
                    self.sentences.push_back(std::mem::take(&mut cur));
                } else {
                    cur.clear();
                }
                words = 0;
                spoken = 0;
            }
        }
        if cur.iter().any(|t| t.kind == TokenKind::Word) {
            self.sentences.push_back(cur);
        }
        true
    }

    /// Phonemizes the next sentence into clauses. False when the text is used up.
    fn load_sentence(&mut self) -> Result<bool, TextError> {
        while self.sentences.is_empty() {
            self.check_stop()?;
            if !self.normalize_more() {
                return Ok(false);
            }
        }
        self.check_stop()?;
        let Some(sentence) = self.sentences.pop_front() else { return Ok(false) };
        self.work.add(&sentence);
        let pieces = self.frontend.phonemize_sentence(&sentence, self.lang)?;
        self.phonemized += 1;
        let mut clauses = split_clauses(pieces);
        if let Some(last) = clauses.last_mut() {
            last.end = Boundary::Sentence;
        }
        self.clauses.extend(clauses);
        Ok(true)
    }

    fn more_text(&self) -> bool {
        !self.sentences.is_empty() || self.normalized_to < self.text.len()
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>, TextError> {
        if self.clauses.is_empty() && !self.load_sentence()? {
            return Ok(None);
        }
        let p = self.policy.clone();
        let max = p.max_tokens.clamp(1, MAX_TOKENS);
        let limit = if self.first { p.first_max_tokens.clamp(1, max) } else { max };
        let first = self.first;
        let mut clause = self.clauses.pop_front().expect("loaded above");
        let mut pieces: Vec<Piece>;
        let mut end;
        let clen = plen(&trimmed(clause.pieces.clone()));
        if clen > limit && (!first || p.first_cut_at_word || clen > max) {
            let lim = if first && !p.first_cut_at_word { max } else { limit };
            match cut_at_word(self.text, &clause.pieces, lim, max, p.min_cut_words) {
                Some((head, tail)) => {
                    clause.pieces = tail;
                    self.clauses.push_front(clause);
                    pieces = head;
                    end = Boundary::Word;
                }
                None if first
                    && p.first_cut_at_word
                    && clen > 2 * limit
                    && shortest_cut(self.text, &clause.pieces, 2, max).is_some() =>
                {
                    // No cut fits the first chunk's budget (a long word such as a phone number or
                    // an amount comes early) and the clause is much longer: cut after the first
                    // words rather than wait for the whole clause.
                    let (head, tail) = shortest_cut(self.text, &clause.pieces, 2, max).expect("checked above");
                    clause.pieces = tail;
                    self.clauses.push_front(clause);
                    pieces = head;
                    end = Boundary::Word;
                }
                None => {
                    // Cannot cut with enough words on both sides: take the clause whole if allowed.
                    if clen <= max {
                        pieces = clause.pieces;
                        end = clause.end;
                    } else {
                        let (head, tail) = cut_at_word(self.text, &clause.pieces, max, max, 1)
                            .unwrap_or_else(|| split_piece(&clause.pieces, max));
                        clause.pieces = tail;
                        self.clauses.push_front(clause);
                        pieces = head;
                        end = Boundary::Word;
                    }
                }
            }
        } else {
            pieces = clause.pieces;
            end = clause.end;
        }
        // Pack more clauses while they fit.
        let pack_limit = if first { limit } else { max };
        while end != Boundary::Word {
            if end == Boundary::Sentence && (first || !p.pack_sentences) {
                break;
            }
            if self.clauses.is_empty() && !self.load_sentence()? {
                break;
            }
            let Some(next) = self.clauses.front() else { break };
            let mut candidate = pieces.clone();
            if end == Boundary::Sentence {
                candidate = trimmed(candidate);
                candidate.push(Piece { phonemes: " ".into(), word: None });
            }
            candidate.extend(next.pieces.iter().cloned());
            if plen(&trimmed(candidate.clone())) > pack_limit {
                break;
            }
            end = next.end;
            self.clauses.pop_front();
            pieces = candidate;
        }
        self.first = false;
        let pieces = trimmed(pieces);
        if self.clauses.is_empty() && !self.more_text() {
            end = Boundary::End;
        }
        let words: Vec<&Range<usize>> = pieces.iter().filter_map(|p| p.word.as_ref()).collect();
        let source = match (words.first(), words.last()) {
            (Some(a), Some(b)) => a.start..b.end,
            _ => 0..0,
        };
        let lookahead = match (end, self.clauses.front()) {
            (Boundary::Word, Some(next)) => lookahead(&next.pieces, p.lookahead_words),
            _ => String::new(),
        };
        Ok(Some(Chunk { pieces, end, source, lookahead }))
    }
}

impl Iterator for Chunks<'_> {
    type Item = Result<Chunk, TextError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.next_chunk() {
            Ok(Some(c)) => {
                self.emitted += 1;
                Some(Ok(c))
            }
            Ok(None) => {
                self.finished = true;
                (self.emitted == 0).then_some(Err(TextError::NothingToSpeak))
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

/// Drops leading whitespace (a clause's trailing ", " must survive for packing).
fn trim_start(mut pieces: Vec<Piece>) -> Vec<Piece> {
    if let Some(p) = pieces.first_mut().filter(|p| p.word.is_none()) {
        p.phonemes = p.phonemes.trim_start().to_string();
    }
    pieces.retain(|p| p.word.is_some() || !p.phonemes.is_empty());
    pieces
}

/// Drops leading and trailing whitespace of the chunk and empty inter-word pieces.
fn trimmed(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut pieces = trim_start(pieces);
    if let Some(p) = pieces.last_mut().filter(|p| p.word.is_none()) {
        p.phonemes = p.phonemes.trim_end().to_string();
    }
    pieces.retain(|p| p.word.is_some() || !p.phonemes.is_empty());
    pieces
}

/// Cuts a sentence's pieces after each clause mark that has words on both sides.
fn split_clauses(pieces: Vec<Piece>) -> Vec<Clause> {
    let mut out = Vec::new();
    let mut cur: Vec<Piece> = Vec::new();
    let n = pieces.len();
    for (i, p) in pieces.into_iter().enumerate() {
        let words_after = i + 1 < n;
        let has_words = cur.iter().any(|q| q.word.is_some());
        match p.phonemes.rfind(CLAUSE_MARKS).filter(|_| p.word.is_none() && has_words && words_after) {
            Some(k) => {
                // The mark and the whitespace after it stay left; opening quotes go right.
                let mark_len = p.phonemes[k..].chars().next().map_or(1, char::len_utf8);
                let after = &p.phonemes[k + mark_len..];
                let cut = k + mark_len + (after.len() - after.trim_start().len());
                let (left, right) = p.phonemes.split_at(cut);
                cur.push(Piece { phonemes: left.to_string(), word: None });
                out.push(Clause { pieces: std::mem::take(&mut cur), end: Boundary::Clause });
                if !right.is_empty() {
                    cur.push(Piece { phonemes: right.to_string(), word: None });
                }
            }
            None => cur.push(p),
        }
    }
    if !cur.is_empty() {
        out.push(Clause { pieces: cur, end: Boundary::Clause });
    }
    // A clause that holds no word (e.g. a trailing quote) joins the previous one.
    let mut merged: Vec<Clause> = Vec::new();
    for c in out {
        match merged.last_mut() {
            Some(last) if !c.pieces.iter().any(|p| p.word.is_some()) => last.pieces.extend(c.pieces),
            _ => merged.push(c),
        }
    }
    merged
}

/// Word starts: indices of pieces that begin a new input word.
fn word_starts(pieces: &[Piece]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut last: Option<&Range<usize>> = None;
    for (i, p) in pieces.iter().enumerate() {
        if let Some(w) = &p.word {
            if last != Some(w) {
                out.push(i);
            }
            last = Some(w);
        }
    }
    out
}

/// The phonemes of the first `words` words of `pieces`, with a leading space, without any
/// trailing punctuation (so the context never sounds like an ending).
fn lookahead(pieces: &[Piece], words: usize) -> String {
    let mut out = String::from(" ");
    let mut seen: Option<&Range<usize>> = None;
    let mut count = 0;
    for p in pieces {
        match &p.word {
            Some(w) if seen != Some(w) => {
                if count == words {
                    break;
                }
                count += 1;
                seen = Some(w);
                out.push_str(&p.phonemes);
            }
            Some(_) => out.push_str(&p.phonemes),
            None if count > 0 && p.phonemes.trim().is_empty() => out.push(' '),
            None => {}
        }
    }
    if count == 0 { String::new() } else { out.trim_end().to_string() }
}

/// Words that open a phrase: cutting before one sounds like a natural pause.
const PHRASE_STARTERS: &[&str] = &[
    "and", "or", "but", "nor", "so", "yet", "because", "before", "after", "while", "when", "where", "which", "who",
    "that", "if", "though", "although", "unless", "until", "since", "as", "with", "without", "for", "from", "in", "on",
    "at", "to", "into", "onto", "of", "by", "about", "over", "under", "through", "during", "between", "then", "toward",
    "towards", "down", "up", "across", "against", "along", "around", "behind", "beyond", "near",
];

/// Words that lean on the word after them: a cut right after one leaves a dangling article,
/// preposition, auxiliary or subject ("painted the | kitchen"), which the model closes like a
/// phrase end and a listener mishears.
const LEANS_FORWARD: &[&str] = &[
    "a", "an", "the", "my", "your", "his", "her", "its", "our", "their", "this", "these", "those", "some", "any",
    "every", "each", "no", "to", "of", "in", "on", "at", "for", "with", "from", "by", "into", "onto", "about", "over",
    "under", "through", "during", "between", "toward", "towards", "across", "against", "along", "around", "behind",
    "beyond", "near", "and", "or", "but", "nor", "if", "because", "before", "after", "while", "when", "where", "which",
    "who", "that", "than", "as", "is", "are", "was", "were", "am", "be", "been", "will", "would", "can", "could",
    "shall", "should", "may", "might", "must", "has", "have", "had", "do", "does", "did", "not", "very", "i", "he",
    "she", "we", "they", "you",
];

fn word_is(text: &str, piece: &Piece, list: &[&str]) -> bool {
    let word = piece.word.as_ref().and_then(|w| text.get(w.clone())).unwrap_or_default();
    list.contains(&word.to_lowercase().as_str())
}

/// Cuts a clause between two words so that the head stays within `limit` and each side keeps
/// at least `min_words` words, never right after a word that leans on the next one. In order of
/// preference: the last cut before a phrase-opening word ("… 0199 | or email …") that keeps at
/// least half the budget; the last cut that fits; the first within half as much again (never
/// over `hard`). Failing those, a clause within half as much again as the budget is better left
/// whole (`None`); a longer one takes the last cut that fits with only two words on a side, and
/// only as the last resort a cut after a leaning word.
fn cut_at_word(
    text: &str,
    pieces: &[Piece],
    limit: usize,
    hard: usize,
    min_words: usize,
) -> Option<(Vec<Piece>, Vec<Piece>)> {
    let starts = word_starts(pieces);
    let total = starts.len();
    let stretch = (limit + limit / 2).min(hard.max(limit));
    // (piece index, head length, words on the shorter side, leans, before a phrase opener)
    let cuts: Vec<(usize, usize, usize, bool, bool)> = starts
        .iter()
        .enumerate()
        .skip(1)
        .map(|(k, &i)| {
            let len = plen(&trimmed(pieces[..i].to_vec()));
            let leaning = word_is(text, &pieces[starts[k - 1]], LEANS_FORWARD);
            (i, len, k.min(total - k), leaning, word_is(text, &pieces[i], PHRASE_STARTERS))
        })
        .take_while(|&(_, len, ..)| len <= stretch)
        .collect();
    let fits =
        |min: usize| cuts.iter().filter(move |&&(_, len, side, leaning, _)| len <= limit && side >= min && !leaning);
    let phrase = fits(min_words).rfind(|&&(_, len, _, _, opener)| opener && len * 2 >= limit);
    let stretched = cuts.iter().find(|&&(_, _, side, leaning, _)| side >= min_words && !leaning);
    let relaxed = fits(min_words.min(2)).next_back();
    let whole = plen(&trimmed(pieces.to_vec()));
    let leaning = cuts.iter().rfind(|&&(_, len, side, ..)| len <= limit && side >= min_words);
    let &(i, ..) = phrase
        .or_else(|| fits(min_words).next_back())
        .or(stretched)
        .or(relaxed.or(leaning).filter(|_| whole > stretch))?;
    Some((trimmed(pieces[..i].to_vec()), trim_start(pieces[i..].to_vec())))
}

/// The earliest cut after at least `words` words, not after a leaning word, when at least as
/// many words follow and the head fits `max`.
fn shortest_cut(text: &str, pieces: &[Piece], words: usize, max: usize) -> Option<(Vec<Piece>, Vec<Piece>)> {
    let starts = word_starts(pieces);
    if words == 0 {
        return None;
    }
    (words..starts.len().saturating_sub(words - 1))
        .filter(|&k| !word_is(text, &pieces[starts[k - 1]], LEANS_FORWARD))
        .map(|k| (trimmed(pieces[..starts[k]].to_vec()), k))
        .take_while(|(head, _)| plen(head) <= max)
        .map(|(head, k)| (head, trim_start(pieces[starts[k]..].to_vec())))
        .next()
}

/// Last resort for one word longer than the limit (a very long spelled-out string): cut its
/// phonemes at a space, else at a character boundary. Both halves keep the word's range.
fn split_piece(pieces: &[Piece], limit: usize) -> (Vec<Piece>, Vec<Piece>) {
    let mut head = Vec::new();
    let mut used = 0;
    for (i, p) in pieces.iter().enumerate() {
        let n = p.phonemes.chars().count();
        if used + n <= limit {
            head.push(p.clone());
            used += n;
            continue;
        }
        let room = limit - used;
        if room == 0 {
            return (head, pieces[i..].to_vec());
        }
        let chars: Vec<char> = p.phonemes.chars().collect();
        let cut =
            chars[..room.min(chars.len())].iter().rposition(|&c| c == ' ').filter(|&k| k > 0).unwrap_or(room.max(1));
        let left: String = chars[..cut].iter().collect();
        let right: String = chars[cut..].iter().collect();
        if !left.trim().is_empty() {
            head.push(Piece { phonemes: left.trim_end().to_string(), word: p.word.clone() });
        }
        let mut tail = vec![Piece { phonemes: right.trim_start().to_string(), word: p.word.clone() }];
        tail.extend(pieces[i + 1..].iter().cloned());
        return (head, tail);
    }
    (head, Vec::new())
}
