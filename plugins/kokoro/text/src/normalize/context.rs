//! Shared ground of the reading rules: the lexed items with their neighbours, the rule output
//! type and small predicates (numbers, months, capitals, sentence ends).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::lex::{Lex, LexKind};
use super::tables;
use crate::Lang;
use crate::numbers;

macro_rules! re {
    ($name:ident, $pat:expr) => {
        pub(super) static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pat).unwrap());
    };
}
pub(super) use re;

re!(NUMBER, r"^([+-]|−)?(\d[\d,]*(?:\.\d+)?|\.\d+)$");

re!(ORDINAL, r"^(\d[\d,]*)(?i:(st|nd|rd|th))$");

pub(super) enum Out {
    Word(String),
    /// A word plus a period that ends the sentence (the abbreviation's own period).
    WordThenPeriod(String),
    Punct(String),
    Nothing,
}

pub(super) struct Cx<'a> {
    pub(super) text: &'a str,
    pub(super) base: usize,
    pub(super) items: &'a [Lex],
    pub(super) lang: Lang,
}

impl<'a> Cx<'a> {
    pub(super) fn src(&self, r: &Range<usize>) -> &'a str {
        &self.text[r.start - self.base..r.end - self.base]
    }

    pub(super) fn core(&self, i: usize) -> Option<&'a str> {
        match self.items.get(i)?.kind {
            LexKind::Core | LexKind::Link { .. } => Some(self.src(&self.items[i].range)),
            LexKind::Punct(_) => None,
        }
    }

    /// The next core after `i`: its text and whether punctuation stands between.
    pub(super) fn next(&self, i: usize) -> Option<(&'a str, bool)> {
        let mut punct = false;
        for j in i + 1..self.items.len() {
            match self.core(j) {
                Some(c) => return Some((c, punct)),
                None => punct = true,
            }
        }
        None
    }

    pub(super) fn prev(&self, i: usize) -> Option<(&'a str, bool)> {
        self.prev_idx(i).map(|(j, punct)| (self.core(j).unwrap_or_default(), punct))
    }

    /// Index of the previous core and whether punctuation stands between.
    pub(super) fn prev_idx(&self, i: usize) -> Option<(usize, bool)> {
        let mut punct = false;
        for j in (0..i).rev() {
            match self.core(j) {
                Some(_) => return Some((j, punct)),
                None => punct = true,
            }
        }
        None
    }

    /// Does the core at `i` start a sentence (nothing before it, or a terminal mark)?
    pub(super) fn sentence_initial(&self, i: usize) -> bool {
        match i.checked_sub(1).and_then(|j| self.items.get(j)) {
            None => true,
            Some(Lex { kind: LexKind::Punct(p), .. }) => {
                p.contains(['.', '!', '?'])
                    || (i >= 2 && matches!(&self.items[i - 2].kind, LexKind::Punct(q) if q.contains(['.', '!', '?'])))
            }
            Some(_) => false,
        }
    }

    /// The adjacent core (no punctuation between).
    pub(super) fn next_adj(&self, i: usize) -> Option<&'a str> {
        self.next(i).filter(|(_, p)| !p).map(|(c, _)| c)
    }

    pub(super) fn prev_adj(&self, i: usize) -> Option<&'a str> {
        self.prev(i).filter(|(_, p)| !p).map(|(c, _)| c)
    }
}

pub(super) fn capitalized(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_uppercase())
}

pub(super) fn is_plain_number(s: &str) -> bool {
    NUMBER.is_match(s)
}

pub(super) fn int_value(s: &str) -> Option<u64> {
    s.replace(',', "").parse().ok()
}

pub(super) fn is_month_word(s: &str) -> bool {
    let w = s.trim_end_matches(['.', ',']);
    tables::month(w).is_some() && (w.len() > 3 || capitalized(w)) && w != "may" && w != "mar" && w != "jan"
}

pub(super) fn sign_word(s: Option<&str>) -> &'static str {
    match s {
        Some("-") | Some("−") => "minus ",
        Some("+") => "plus ",
        _ => "",
    }
}

pub(super) fn signed_number(s: &str, lang: Lang) -> String {
    let (sign, rest) = match s.chars().next() {
        Some('-') | Some('−') => ("minus ", &s[s.chars().next().unwrap().len_utf8()..]),
        Some('+') => ("plus ", &s[1..]),
        _ => ("", s),
    };
    format!("{sign}{}", numbers::number(rest, lang).unwrap_or_else(|| numbers::digits(rest)))
}

/// After a trailing abbreviation: does its period also end the sentence?
pub(super) fn ends_sentence(cx: &Cx, i: usize) -> bool {
    // Only when nothing but whitespace follows, or the next word is capitalized.
    let next_item_is_punct = matches!(cx.items.get(i + 1).map(|x| &x.kind), Some(LexKind::Punct(_)));
    if next_item_is_punct {
        return false;
    }
    match cx.next(i) {
        None => true,
        Some((n, _)) => {
            let n = n.trim_start_matches(['"', '“', '(', '\'']);
            capitalized(n) && !is_month_word(n)
        }
    }
}

pub(super) fn plain_word_then_period(t: &str) -> Out {
    let w = t.trim_end_matches('.');
    if w.is_empty() { Out::Punct(".".into()) } else { Out::WordThenPeriod(w.into()) }
}
