//! Bounds on the work one piece of text can ask of misaki, whatever the text. misaki's spaCy-style
//! tokenizer peels one affix per regex pass over what is left of a word, so a word wrapped in
//! thousands of brackets or quotes costs time quadratic in its length, and so does a long
//! word or hyphen chain. Before misaki sees a sentence, runs of punctuation are cut short and
//! over-long words are cut into pieces. Text within the bounds (three of a mark in a row, eight
//! marks between two words, words of 48 characters) passes unchanged, and ordinary text is.

use std::ops::Range;

use crate::normalize::{LINK, NormToken, TokenKind};

/// Most copies of one mark kept in a row ("Wow!!!" keeps its three).
const MAX_REPEAT: usize = 3;
/// Most punctuation tokens kept between two words: the first and last halves of a longer run.
const MAX_RUN: usize = 8;
/// Longest word, in characters, misaki is given; a longer one is cut, at a hyphen where it can.
pub const MAX_WORD_CHARS: usize = 48;
/// Most characters misaki is given without whitespace: where tokens written together ("wait…"
/// four hundred times) make a longer stretch, the token that would pass it is spaced off.
const MAX_STRETCH: usize = MAX_WORD_CHARS + 2 * MAX_RUN;
/// Most words in one token, the parts of a hyphenated word counted each (a digit string read digit
/// by digit, a long URL, a cut word): a longer one is split into tokens of at most this many, so
/// the sentence splitter can cut between them.
pub(crate) const WORDS_PER_TOKEN: usize = 64;

/// Words in `spoken`, the parts of a hyphenated word ("hello-hello") counted each.
pub(crate) fn words(spoken: &str) -> usize {
    spoken.split_whitespace().map(|w| w.split('-').filter(|p| !p.is_empty()).count().max(1)).sum()
}

/// The tokens of `text` (which starts at byte `base` of the request) with punctuation runs cut
/// short and over-long words cut into pieces. Linear in the tokens' length.
pub(crate) fn tame(text: &str, base: usize, toks: Vec<NormToken>) -> Vec<NormToken> {
    let mut out: Vec<NormToken> = Vec::with_capacity(toks.len());
    let mut run: Vec<NormToken> = Vec::new();
    let mut space = false;
    for mut t in toks {
        if t.kind == TokenKind::Punct {
            run.push(t);
            continue;
        }
        space |= flush(&mut run, &mut out);
        t.space_before |= std::mem::take(&mut space);
        cut_word(text, base, t, &mut out);
    }
    flush(&mut run, &mut out);
    unglue(&mut out);
    out
}

/// Spaces off the token that would make a stretch of tokens written together longer than
/// [`MAX_STRETCH`] characters.
fn unglue(toks: &mut [NormToken]) {
    let mut stretch = 0;
    for t in toks {
        let head = t.spoken.chars().take_while(|c| !c.is_whitespace()).count();
        if t.space_before {
            stretch = 0;
        } else if stretch + head > MAX_STRETCH {
            t.space_before = true;
            stretch = 0;
        }
        stretch = match t.spoken.rfind(char::is_whitespace) {
            Some(k) => t.spoken[k..].chars().count() - 1,
            None => stretch + head,
        };
    }
}

/// Moves a run of punctuation tokens to `out`, at most [`MAX_REPEAT`] of one mark in a row and
/// [`MAX_RUN`] in all. A dropped token's sentence end passes to the token kept before it, its
/// space to the token kept after it; true when that is the word after the run.
fn flush(run: &mut Vec<NormToken>, out: &mut Vec<NormToken>) -> bool {
    let n = run.len();
    let mut keep = vec![true; n];
    let mut streak = 0;
    for i in 0..n {
        streak = if i > 0 && run[i].spoken == run[i - 1].spoken { streak + 1 } else { 1 };
        keep[i] = streak <= MAX_REPEAT;
    }
    let kept: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
    if kept.len() > MAX_RUN {
        for &i in &kept[MAX_RUN / 2..kept.len() - MAX_RUN / 2] {
            keep[i] = false;
        }
    }
    let mut space = false;
    for (mut t, kept) in run.drain(..).zip(keep) {
        if kept {
            t.space_before |= std::mem::take(&mut space);
            out.push(t);
        } else {
            space |= t.space_before;
            if let Some(last) = out.last_mut().filter(|_| t.sentence_end) {
                last.sentence_end = true;
            }
        }
    }
    space
}

/// Pushes a word token, its words cut into pieces of at most [`MAX_WORD_CHARS`] characters when
/// any is longer, and split into tokens of at most [`WORDS_PER_TOKEN`] words ([`words`]) when it
/// has more and each can have a range of its own in the input.
fn cut_word(text: &str, base: usize, t: NormToken, out: &mut Vec<NormToken>) {
    let many = words(&t.spoken) > WORDS_PER_TOKEN;
    let long = t.spoken.split_whitespace().any(|w| w.chars().nth(MAX_WORD_CHARS).is_some());
    // Inline markup (`[A](/ˈA/)`, a spelled letter) stays whole: never cut, never split apart.
    let spaced_markup = LINK.find_iter(&t.spoken).any(|m| m.as_str().contains(char::is_whitespace));
    if !(long || many) || spaced_markup {
        out.push(t);
        return;
    }
    let mut cut: Vec<&str> = Vec::new();
    for w in t.spoken.split_whitespace() {
        if LINK.is_match(w) {
            cut.push(w);
        } else {
            pieces(w, &mut cut);
        }
    }
    let mut groups: Vec<&[&str]> = Vec::new();
    let (mut from, mut count) = (0, 0);
    for (i, w) in cut.iter().enumerate() {
        let n = words(w);
        if count + n > WORDS_PER_TOKEN && i > from {
            groups.push(&cut[from..i]);
            (from, count) = (i, 0);
        }
        count += n;
    }
    groups.push(&cut[from..]);
    let ranges = sub_ranges(text, base, &t, &groups);
    let Some(ranges) = ranges else {
        out.push(NormToken { spoken: cut.join(" "), ..t });
        return;
    };
    let last = groups.len() - 1;
    for (k, (group, source)) in groups.into_iter().zip(ranges).enumerate() {
        out.push(NormToken {
            source,
            spoken: group.join(" "),
            kind: TokenKind::Word,
            space_before: t.space_before || k > 0,
            sentence_end: t.sentence_end && k == last,
        });
    }
}

/// Cuts `w` into pieces of at most [`MAX_WORD_CHARS`] characters: after the last hyphen that
/// leaves a piece of at least a quarter of that (the hyphen dropped), else at the limit.
fn pieces<'a>(mut w: &'a str, out: &mut Vec<&'a str>) {
    while let Some((limit, _)) = w.char_indices().nth(MAX_WORD_CHARS) {
        match w[..limit].rfind('-').filter(|&k| k >= MAX_WORD_CHARS / 4) {
            Some(k) => {
                out.push(&w[..k]);
                w = &w[k + 1..];
            }
            None => {
                out.push(&w[..limit]);
                w = &w[limit..];
            }
        }
        w = w.trim_start_matches('-');
    }
    if !w.is_empty() {
        out.push(w);
    }
}

/// The byte range of the input each group of a cut token speaks: where the token's spoken text is
/// its input text, exactly the group's place in it; otherwise the input shared out in proportion
/// to the groups' lengths, cut at character boundaries. `None` for one group, or an input too
/// short to give each group a range.
fn sub_ranges(text: &str, base: usize, t: &NormToken, groups: &[&[&str]]) -> Option<Vec<Range<usize>>> {
    if groups.len() < 2 {
        return None;
    }
    let src = text.get(t.source.start.checked_sub(base)?..t.source.end.checked_sub(base)?)?;
    let at = |s: &str| s.as_ptr() as usize - t.spoken.as_ptr() as usize;
    if src == t.spoken {
        let ranges = groups.iter().map(|g| {
            let (first, last) = (g[0], g[g.len() - 1]);
            t.source.start + at(first)..t.source.start + at(last) + last.len()
        });
        return Some(ranges.collect());
    }
    let total: usize = groups.iter().flat_map(|g| g.iter()).map(|w| w.len()).sum();
    let mut cuts = vec![0];
    let mut acc = 0;
    for g in &groups[..groups.len() - 1] {
        acc += g.iter().map(|w| w.len()).sum::<usize>();
        let mut c = (acc * src.len() / total.max(1)).max(cuts[cuts.len() - 1] + 1);
        while c < src.len() && !src.is_char_boundary(c) {
            c += 1;
        }
        if c >= src.len() {
            return None;
        }
        cuts.push(c);
    }
    cuts.push(src.len());
    Some(cuts.windows(2).map(|c| t.source.start + c[0]..t.source.start + c[1]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lang;
    use crate::normalize::normalize_with;

    fn tamed(text: &str) -> Vec<NormToken> {
        tame(text, 0, normalize_with(text, Lang::EnUs))
    }

    fn spoken(toks: &[NormToken]) -> Vec<&str> {
        toks.iter().map(|t| t.spoken.as_str()).collect()
    }

    #[test]
    fn ordinary_text_passes_unchanged() {
        let text = include_str!("../tests/data/ordinary.txt");
        assert_eq!(tamed(text), normalize_with(text, Lang::EnUs));
    }

    #[test]
    fn runs_keep_three_of_a_mark_and_eight_in_all() {
        let toks = tamed("Wow!!!!!!!! Next");
        assert_eq!(spoken(&toks), ["Wow", "!", "!", "!", "Next"]);
        assert!(toks[3].sentence_end, "the dropped marks' sentence end stays");
        let text = format!("{}hello{}", "(".repeat(50), ")".repeat(50));
        assert_eq!(spoken(&tamed(&text)), ["(", "(", "(", "hello", ")", ")", ")"]);
        let mixed = tamed(&format!("go {}now", "( \" ".repeat(6)));
        assert_eq!(mixed.len(), 2 + MAX_RUN, "{:?}", spoken(&mixed));
    }

    #[test]
    fn a_dropped_mark_passes_its_space_on() {
        let toks = tamed("( ( ( ( (hello");
        assert_eq!(spoken(&toks), ["(", "(", "(", "hello"]);
        assert!(toks[3].space_before, "the word keeps the space of the marks dropped before it");
    }

    #[test]
    fn long_words_are_cut_with_exact_ranges() {
        let text = "abcdefghij".repeat(100);
        let toks = tamed(&text);
        let cut: Vec<&str> = toks.iter().flat_map(|t| t.spoken.split_whitespace()).collect();
        assert!(cut.iter().all(|w| w.chars().count() <= MAX_WORD_CHARS), "{cut:?}");
        assert_eq!(cut.concat(), text);
        for t in &toks {
            assert_eq!(text[t.source.clone()].replace(' ', ""), t.spoken.replace(' ', ""));
        }
        let chain = "hello-".repeat(40);
        let toks = tamed(&chain);
        assert_eq!(toks.len(), 1);
        assert!(toks[0].spoken.split(' ').all(|w| w.len() <= MAX_WORD_CHARS && w.starts_with("hello")));
        let toks = tamed(&"hello-".repeat(200));
        assert_eq!(toks.len(), 200usize.div_ceil(WORDS_PER_TOKEN), "a chain is split by its parts");
        assert!(toks.iter().all(|t| words(&t.spoken) <= WORDS_PER_TOKEN));
    }

    #[test]
    fn a_long_stretch_written_together_is_spaced_off() {
        let toks = tamed(&"wait...".repeat(100));
        let mut stretch = 0;
        for t in &toks {
            stretch = if t.space_before { 0 } else { stretch } + t.spoken.chars().count();
            assert!(stretch <= MAX_STRETCH, "{stretch}");
        }
        assert!(toks.iter().filter(|t| t.space_before).count() >= 500 / MAX_STRETCH);
    }

    #[test]
    fn spelled_letters_stay_whole() {
        let text = format!("https://example.com/{}", "a/".repeat(200));
        let toks = tamed(&text);
        assert!(toks.len() > 2, "{} tokens", toks.len());
        for t in &toks {
            assert!(words(&t.spoken) <= WORDS_PER_TOKEN);
            assert_eq!(LINK.find_iter(&t.spoken).count(), t.spoken.matches('[').count(), "{}", t.spoken);
        }
        assert_eq!((toks[0].source.start, toks.last().unwrap().source.end), (0, text.len()));
    }

    #[test]
    fn a_token_of_many_words_is_split_in_order() {
        let text = "7".repeat(1000);
        let toks = tamed(&text);
        assert_eq!(toks.len(), 1000usize.div_ceil(WORDS_PER_TOKEN));
        assert_eq!((toks[0].source.start, toks.last().unwrap().source.end), (0, text.len()));
        for pair in toks.windows(2) {
            assert_eq!(pair[0].source.end, pair[1].source.start);
        }
        assert!(toks.last().unwrap().sentence_end);
        assert!(toks[..toks.len() - 1].iter().all(|t| !t.sentence_end));
    }
}
