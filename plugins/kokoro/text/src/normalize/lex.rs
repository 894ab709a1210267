//! Lexing: whitespace tokens split into punctuation and cores (the words, numbers and symbol
//! groups that are normalized), with `[word](feature)` overrides kept whole.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::tables;

/// misaki's inline feature syntax, `[word](/phonemes/)` and friends.
pub static LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[([^\]]+)\]\(([^\)]*)\)").unwrap());

#[derive(Debug, Clone, PartialEq)]
pub enum LexKind {
    /// A word, number or symbol group to normalize.
    Core,
    /// Punctuation, already in the form misaki expects ("," "." "…" "—" quotes, parentheses).
    Punct(String),
    /// `[inner](feature)`: `range` is the inner word, `markup` the whole text given to misaki.
    Link { markup: String },
}

#[derive(Debug, Clone)]
pub struct Lex {
    pub range: Range<usize>,
    pub kind: LexKind,
    /// Whitespace separates this item from the previous one.
    pub space_before: bool,
}

const OPENERS: &[char] = &['"', '“', '‘', '«', '(', '[', '{', '¿', '¡'];
const CLOSERS: &[char] = &['"', '”', '’', '»', ')', ']', '}'];
const TRAILING: &[char] = &[',', ';', ':', '!', '?', '…'];

fn punct_spoken(c: char) -> Option<String> {
    Some(match c {
        '(' | '[' | '{' => "(".into(),
        ')' | ']' | '}' => ")".into(),
        '«' => "“".into(),
        '»' => "”".into(),
        '¿' | '¡' => return None,
        c => c.to_string(),
    })
}

/// Splits `text` into lexical items, offsets relative to `text` plus `base`.
pub fn lex(text: &str, base: usize) -> Vec<Lex> {
    let mut out = Vec::new();
    let mut last = 0;
    for m in LINK.captures_iter(text) {
        let whole = m.get(0).unwrap();
        let inner = m.get(1).unwrap();
        lex_plain(text, last, whole.start(), base, &mut out);
        let space_before = whole.start() > 0 && text[..whole.start()].ends_with(char::is_whitespace);
        out.push(Lex {
            range: base + inner.start()..base + inner.end(),
            kind: LexKind::Link { markup: whole.as_str().to_string() },
            space_before: space_before || out.is_empty(),
        });
        last = whole.end();
    }
    lex_plain(text, last, text.len(), base, &mut out);
    out
}

fn lex_plain(text: &str, from: usize, to: usize, base: usize, out: &mut Vec<Lex>) {
    let seg = &text[from..to];
    for tok in seg.split_whitespace() {
        let start = from + (tok.as_ptr() as usize - seg.as_ptr() as usize);
        let space_before = start == 0 || text[..start].ends_with(char::is_whitespace);
        lex_token(text, start..start + tok.len(), base, space_before, out);
    }
}

fn push(out: &mut Vec<Lex>, range: Range<usize>, kind: LexKind, space_before: bool) {
    out.push(Lex { range, kind, space_before });
}

fn lex_token(text: &str, r: Range<usize>, base: usize, space_before: bool, out: &mut Vec<Lex>) {
    let tok = &text[r.clone()];
    let (mut s, mut e) = (r.start, r.end);
    let mut lead: Vec<(Range<usize>, String)> = Vec::new();
    let mut trail: Vec<(Range<usize>, String)> = Vec::new();
    let quoted_single =
        tok.starts_with(['\'', '‘']) && tok.trim_end_matches(TRAILING).trim_end_matches('.').ends_with(['\'', '’']);

    // Leading openers. A leading apostrophe is a quote only when the token also closes one
    // (so "'90s" and "'tis" keep theirs).
    while s < e {
        let c = text[s..e].chars().next().unwrap();
        let is_open = OPENERS.contains(&c) || (quoted_single && (c == '\'' || c == '‘'));
        // A lone "(555)" area code keeps its parentheses for the phone reader.
        if c == '(' && tables::AREA_CODE.is_match(&text[s..e]) {
            break;
        }
        if !is_open {
            break;
        }
        if let Some(p) = punct_spoken(c) {
            lead.push((base + s..base + s + c.len_utf8(), p));
        }
        s += c.len_utf8();
    }
    // Trailing closers, clause marks and periods.
    while s < e {
        let c = text[s..e].chars().next_back().unwrap();
        let cl = c.len_utf8();
        if c == ')' && tables::AREA_CODE.is_match(&text[s..e]) {
            break;
        }
        let closes_quote = c == '\'' && (quoted_single || !text[s..e - 1].ends_with(['s', 'S']));
        if CLOSERS.contains(&c) && c != '’' || closes_quote || (c == '’' && quoted_single) {
            if let Some(p) = punct_spoken(c) {
                trail.push((base + e - cl..base + e, p));
            }
            e -= cl;
        } else if TRAILING.contains(&c) {
            trail.push((base + e - cl..base + e, c.to_string()));
            e -= cl;
        } else if c == '.' {
            let core = &text[s..e];
            let dots = core.len() - core.trim_end_matches('.').len();
            if dots >= 2 {
                trail.push((base + e - dots..base + e, "…".into()));
                e -= dots;
            } else if tables::keeps_period(core) {
                break;
            } else {
                trail.push((base + e - 1..base + e, ".".into()));
                e -= 1;
            }
        } else {
            break;
        }
    }
    let mut first = true;
    let sb = |first: &mut bool| {
        let v = *first && space_before;
        *first = false;
        v
    };
    for (range, p) in lead {
        let b = sb(&mut first);
        push(out, range, LexKind::Punct(p), b);
    }
    if s < e {
        split_core(text, s..e, base, &mut first, space_before, out);
    }
    for (range, p) in trail.into_iter().rev() {
        let b = sb(&mut first);
        push(out, range, LexKind::Punct(p), b);
    }
}

/// Splits a core at dashes and ellipses that join words ("well—maybe", "wait...what").
fn split_core(text: &str, r: Range<usize>, base: usize, first: &mut bool, space_before: bool, out: &mut Vec<Lex>) {
    let core = &text[r.clone()];
    let mut cuts: Vec<(usize, usize, &str)> = Vec::new();
    let bytes = core.as_bytes();
    let mut i = 0;
    while i < core.len() {
        let rest = &core[i..];
        let prev_digit = i > 0 && bytes[i - 1].is_ascii_digit();
        let (len, p) = if rest.starts_with('—') {
            ('—'.len_utf8(), "—")
        } else if rest.starts_with("--") {
            (rest.len() - rest.trim_start_matches('-').len(), "—")
        } else if rest.starts_with('…') {
            ('…'.len_utf8(), "…")
        } else if rest.starts_with("..") {
            (rest.len() - rest.trim_start_matches('.').len(), "…")
        } else if rest.starts_with('–')
            && !(prev_digit && rest['–'.len_utf8()..].starts_with(|c: char| c.is_ascii_digit()))
        {
            ('–'.len_utf8(), "—")
        } else {
            i += rest.chars().next().unwrap().len_utf8();
            continue;
        };
        cuts.push((i, i + len, p));
        i += len;
    }
    let mut at = 0;
    let emit = |range: Range<usize>, kind: LexKind, out: &mut Vec<Lex>, first: &mut bool| {
        let b = *first && space_before;
        *first = false;
        out.push(Lex { range, kind, space_before: b });
    };
    for (cs, ce, p) in cuts {
        if cs > at {
            emit(base + r.start + at..base + r.start + cs, LexKind::Core, out, first);
        }
        emit(base + r.start + cs..base + r.start + ce, LexKind::Punct(p.into()), out, first);
        at = ce;
    }
    if at < core.len() {
        emit(base + r.start + at..base + r.end, LexKind::Core, out, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> Vec<String> {
        lex(text, 0)
            .into_iter()
            .map(|l| match l.kind {
                LexKind::Core => format!("C:{}", &text[l.range]),
                LexKind::Punct(p) => format!("P:{p}"),
                LexKind::Link { markup } => format!("L:{}|{markup}", &text[l.range]),
            })
            .collect()
    }

    #[test]
    fn peels_punctuation_and_keeps_abbreviations() {
        assert_eq!(
            show("\"Absolutely,\" she said."),
            ["P:\"", "C:Absolutely", "P:,", "P:\"", "C:she", "C:said", "P:."]
        );
        assert_eq!(show("Elm Ave. in"), ["C:Elm", "C:Ave.", "C:in"]);
        assert_eq!(show("9 a.m."), ["C:9", "C:a.m."]);
        assert_eq!(show("well—maybe... (no)"), ["C:well", "P:—", "C:maybe", "P:…", "P:(", "C:no", "P:)"]);
        assert_eq!(show("the dogs' bones, 'tis"), ["C:the", "C:dogs'", "C:bones", "P:,", "C:'tis"]);
        assert_eq!(show("(555) 123-4567"), ["C:(555)", "C:123-4567"]);
        assert_eq!(show("say [Kokoro](/kˈOkəɹO/) now"), ["C:say", "L:Kokoro|[Kokoro](/kˈOkəɹO/)", "C:now"]);
        assert_eq!(show("1990–1995"), ["C:1990–1995"]);
    }
}
