//! The reading rules: each lexed core becomes spoken words, looking at its neighbours where
//! the reading depends on them (dates, units, "St." as Saint or Street, money magnitudes, a.m.).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::lex::{Lex, LexKind};
use super::tables::{self, AbbrKind};
use super::web;
use super::{NormToken, TokenKind};
use crate::numbers;
use crate::Lang;

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pat).unwrap());
    };
}

re!(NUMBER, r"^([+-]|−)?(\d[\d,]*(?:\.\d+)?|\.\d+)$");
re!(TIME, r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?i:(a\.?m\.?|p\.?m\.?))?$");
re!(AMPM, r"^(?i:(a|p)\.?m\.?)$");
re!(HOUR_AMPM, r"^(\d{1,2})(?i:(a|p)\.?m\.?)$");
re!(MONEY, r"^([+-])?(US\$|[$£€¥])(\d[\d,]*(?:\.\d+)?)(k|K|m|M|bn|b|B|tn)?$");
re!(CENTS, r"^(\d[\d,]*)¢$");
re!(PERCENT, r"^([+-])?(\d[\d,]*(?:\.\d+)?)\s?%$");
re!(ORDINAL, r"^(\d[\d,]*)(?i:(st|nd|rd|th))$");
re!(DECADE, r"^'?(\d{2}|\d{4})'?s$");
re!(NUM_DATE, r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})$");
re!(ISO_DATE, r"^(\d{4})-(\d{1,2})-(\d{1,2})$");
re!(FRACTION, r"^(\d+)/(\d+)$");
re!(RANGE, r"^(\d[\d,]*(?:\.\d+)?)[-–](\d[\d,]*(?:\.\d+)?)$");
re!(NUM_SUFFIX, r"^([+-]?\d[\d,]*(?:\.\d+)?)([^\d,.].*)$");
re!(HASH_NUM, r"^#(\d[\d,]*)$");
re!(ALNUM, r"^[A-Za-z0-9]+$");

/// Words a year usually follows ("in 1999", "since 2001").
const YEAR_CUES: &[&str] = &[
    "in", "since", "by", "until", "till", "from", "of", "year", "circa", "before", "after", "during", "through",
    "to", "and", "or", "early", "late", "mid", "summer", "winter", "spring", "fall", "autumn", "around", "about",
];
/// Words ending in "s" that are not plural nouns, for the year test.
const NOT_PLURAL: &[&str] = &["was", "is", "has", "as", "this", "its", "his", "us", "does", "yes", "thus", "plus", "versus"];

enum Out {
    Word(String),
    /// A word plus a period that ends the sentence (the abbreviation's own period).
    WordThenPeriod(String),
    Punct(String),
    Nothing,
}

struct Cx<'a> {
    text: &'a str,
    base: usize,
    items: &'a [Lex],
    lang: Lang,
}

impl<'a> Cx<'a> {
    fn src(&self, r: &Range<usize>) -> &'a str {
        &self.text[r.start - self.base..r.end - self.base]
    }

    fn core(&self, i: usize) -> Option<&'a str> {
        match self.items.get(i)?.kind {
            LexKind::Core | LexKind::Link { .. } => Some(self.src(&self.items[i].range)),
            LexKind::Punct(_) => None,
        }
    }

    /// The next core after `i`: its text and whether punctuation stands between.
    fn next(&self, i: usize) -> Option<(&'a str, bool)> {
        let mut punct = false;
        for j in i + 1..self.items.len() {
            match self.core(j) {
                Some(c) => return Some((c, punct)),
                None => punct = true,
            }
        }
        None
    }

    fn prev(&self, i: usize) -> Option<(&'a str, bool)> {
        self.prev_idx(i).map(|(j, punct)| (self.core(j).unwrap_or_default(), punct))
    }

    /// Index of the previous core and whether punctuation stands between.
    fn prev_idx(&self, i: usize) -> Option<(usize, bool)> {
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
    fn sentence_initial(&self, i: usize) -> bool {
        match i.checked_sub(1).and_then(|j| self.items.get(j)) {
            None => true,
            Some(Lex { kind: LexKind::Punct(p), .. }) => p.contains(['.', '!', '?']) || (i >= 2 && matches!(&self.items[i - 2].kind, LexKind::Punct(q) if q.contains(['.', '!', '?']))),
            Some(_) => false,
        }
    }

    /// The adjacent core (no punctuation between).
    fn next_adj(&self, i: usize) -> Option<&'a str> {
        self.next(i).filter(|(_, p)| !p).map(|(c, _)| c)
    }

    fn prev_adj(&self, i: usize) -> Option<&'a str> {
        self.prev(i).filter(|(_, p)| !p).map(|(c, _)| c)
    }
}

fn capitalized(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_uppercase())
}

fn is_plain_number(s: &str) -> bool {
    NUMBER.is_match(s)
}

fn int_value(s: &str) -> Option<u64> {
    s.replace(',', "").parse().ok()
}

fn is_month_word(s: &str) -> bool {
    let w = s.trim_end_matches(['.', ',']);
    tables::month(w).is_some() && (w.len() > 3 || capitalized(w)) && w != "may" && w != "mar" && w != "jan"
}

fn is_time(s: &str) -> bool {
    TIME.captures(s).is_some_and(|c| c[1].parse::<u32>().is_ok_and(|h| h <= 24) && c[2].parse::<u32>().is_ok_and(|m| m < 60))
}

pub fn classify_all(text: &str, base: usize, items: &[Lex], lang: Lang) -> Vec<NormToken> {
    let cx = Cx { text, base, items, lang };
    let mut out: Vec<NormToken> = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let r = it.range.clone();
        // "Nov. 14, 2026": the comma between day and year stays inside the date, so the
        // chunker never cuts there.
        if is_date_comma(&cx, i) {
            if let Some(last) = out.last_mut() {
                last.spoken.push(',');
                continue;
            }
        }
        let o = match &it.kind {
            LexKind::Punct(p) => Out::Punct(p.clone()),
            LexKind::Link { markup } => Out::Word(markup.clone()),
            LexKind::Core => classify(&cx, i, cx.src(&r)),
        };
        let word = |spoken: String| NormToken {
            source: r.clone(),
            spoken,
            kind: TokenKind::Word,
            space_before: it.space_before,
            sentence_end: false,
        };
        match o {
            Out::Word(s) => out.push(word(s)),
            Out::WordThenPeriod(s) => {
                out.push(word(s));
                out.push(NormToken {
                    source: r.end - 1..r.end,
                    spoken: ".".into(),
                    kind: TokenKind::Punct,
                    space_before: false,
                    sentence_end: false,
                });
            }
            Out::Punct(p) => out.push(NormToken {
                source: r.clone(),
                spoken: p,
                kind: TokenKind::Punct,
                space_before: it.space_before,
                sentence_end: false,
            }),
            Out::Nothing => {}
        }
    }
    out
}

fn is_date_comma(cx: &Cx, i: usize) -> bool {
    if cx.items[i].kind != LexKind::Punct(",".into()) || i == 0 {
        return false;
    }
    let day = cx.core(i - 1).is_some_and(|d| int_value(d).is_some_and(|n| (1..=31).contains(&n)) || ORDINAL.is_match(d));
    let after_month = day && cx.prev_adj(i - 1).is_some_and(is_month_word);
    let year = cx.core(i + 1).is_some_and(|y| y.len() == 4 && int_value(y).is_some_and(|n| (1000..=2099).contains(&n)));
    after_month && year
}

fn classify(cx: &Cx, i: usize, t: &str) -> Out {
    let lang = cx.lang;
    if !t.chars().any(|c| c.is_alphanumeric()) {
        return symbols_only(t);
    }
    if web::is_email(t) {
        return Out::Word(web::email(t));
    }
    if web::is_url(t) {
        return Out::Word(web::url(t));
    }
    if web::is_phone(t) {
        return Out::Word(web::phone(t));
    }
    if tables::AREA_CODE.is_match(t) {
        return Out::Word(numbers::digits(t));
    }
    if is_time(t) {
        return Out::Word(time(cx, i, t));
    }
    if AMPM.is_match(t) {
        return ampm(cx, i, t);
    }
    if let Some(c) = HOUR_AMPM.captures(t).filter(|c| c[1].parse::<u64>().is_ok_and(|h| (1..=12).contains(&h))) {
        let suffix = if c[2].eq_ignore_ascii_case("a") { "a.m." } else { "p.m." };
        let spoken = format!("{} {suffix}", numbers::cardinal(c[1].parse().unwrap_or(0), lang));
        return if t.ends_with('.') && ends_sentence(cx, i) { Out::WordThenPeriod(spoken) } else { Out::Word(spoken) };
    }
    if let Some(s) = money(cx, i, t) {
        return Out::Word(s);
    }
    if let Some(c) = CENTS.captures(t) {
        let n = int_value(&c[1]).unwrap_or(0);
        return Out::Word(format!("{} {}", numbers::cardinal(n, lang), if n == 1 { "cent" } else { "cents" }));
    }
    if let Some(c) = PERCENT.captures(t) {
        let sign = sign_word(c.get(1).map(|m| m.as_str()));
        return Out::Word(format!("{sign}{} percent", numbers::number(&c[2], lang).unwrap_or_default()));
    }
    if let Some(c) = ORDINAL.captures(t) {
        if let Some(n) = int_value(&c[1]) {
            return Out::Word(numbers::ordinal(n, lang));
        }
    }
    if let Some(c) = DECADE.captures(t) {
        return Out::Word(decade(&c[1], lang));
    }
    if let Some(s) = numeric_date(t, lang) {
        return Out::Word(s);
    }
    if let Some(c) = FRACTION.captures(t) {
        let (a, b) = (int_value(&c[1]).unwrap_or(0), int_value(&c[2]).unwrap_or(1));
        return Out::Word(if (2..=10).contains(&b) && a > 0 && a < b {
            numbers::fraction(a, b, lang)
        } else if (a, b) == (24, 7) {
            "twenty-four seven".into()
        } else {
            format!("{} over {}", numbers::cardinal(a, lang), numbers::cardinal(b, lang))
        });
    }
    if let Some(c) = RANGE.captures(t) {
        let read = |s: &str| match int_value(s) {
            Some(n) if s.len() == 4 && (1000..=2099).contains(&n) => numbers::year(n, lang),
            _ => numbers::number(s, lang).unwrap_or_default(),
        };
        return Out::Word(format!("{} to {}", read(&c[1]), read(&c[2])));
    }
    if let Some(c) = HASH_NUM.captures(t) {
        return Out::Word(format!("number {}", numbers::cardinal_str(&c[1], lang).unwrap_or_default()));
    }
    if is_plain_number(t) {
        return Out::Word(number(cx, i, t));
    }
    if let Some(c) = NUM_SUFFIX.captures(t) {
        let v = numbers::value(&c[1]).unwrap_or(0.0);
        if let Some(u) = tables::unit(&c[2], v) {
            return Out::Word(format!("{} {u}", signed_number(&c[1], lang)));
        }
    }
    if let Some(o) = unit_after_number(cx, i, t) {
        return o;
    }
    if let Some(o) = magnitude_after_money(cx, i, t) {
        return o;
    }
    if let Some(o) = abbreviation(cx, i, t) {
        return o;
    }
    if let Some(s) = roman(cx, i, t) {
        return Out::Word(s);
    }
    if ALNUM.is_match(t) && t.chars().any(|c| c.is_ascii_digit()) {
        return Out::Word(alnum(t, lang));
    }
    Out::Word(word_with_symbols(cx, t))
}

fn sign_word(s: Option<&str>) -> &'static str {
    match s {
        Some("-") | Some("−") => "minus ",
        Some("+") => "plus ",
        _ => "",
    }
}

fn signed_number(s: &str, lang: Lang) -> String {
    let (sign, rest) = match s.chars().next() {
        Some('-') | Some('−') => ("minus ", &s[s.chars().next().unwrap().len_utf8()..]),
        Some('+') => ("plus ", &s[1..]),
        _ => ("", s),
    };
    format!("{sign}{}", numbers::number(rest, lang).unwrap_or_else(|| numbers::digits(rest)))
}

/// Punctuation and symbol groups with no letters or digits.
fn symbols_only(t: &str) -> Out {
    if t.chars().all(|c| matches!(c, '-' | '–' | '—' | '―')) {
        return Out::Punct("—".into());
    }
    if t.chars().all(|c| c == '.' || c == '…') {
        return Out::Punct(if t == "." { ".".into() } else { "…".into() });
    }
    let words: Vec<&str> = t.chars().filter_map(tables::symbol).collect();
    if words.is_empty() { Out::Nothing } else { Out::Word(words.join(" ")) }
}

fn time(cx: &Cx, i: usize, t: &str) -> String {
    let c = TIME.captures(t).unwrap();
    let lang = cx.lang;
    let h: u64 = c[1].parse().unwrap_or(0);
    let m: u64 = c[2].parse().unwrap_or(0);
    let suffix = c.get(4).map(|s| if s.as_str().to_ascii_lowercase().starts_with('a') { "a.m." } else { "p.m." });
    let followed_by_ampm = cx.next_adj(i).is_some_and(|n| AMPM.is_match(n));
    let mut s = numbers::cardinal(h, lang);
    match m {
        0 if suffix.is_some() || followed_by_ampm => {}
        0 if h <= 12 => s.push_str(" o'clock"),
        0 => s.push_str(" hundred"),
        1..=9 => s = format!("{s} oh {}", numbers::cardinal(m, lang)),
        _ => s = format!("{s} {}", numbers::cardinal(m, lang)),
    }
    if let Some(sec) = c.get(3) {
        let n: u64 = sec.as_str().parse().unwrap_or(0);
        s = format!("{s} and {} {}", numbers::cardinal(n, lang), if n == 1 { "second" } else { "seconds" });
    }
    if let Some(x) = suffix {
        s = format!("{s} {x}");
    }
    s
}

fn ampm(cx: &Cx, i: usize, t: &str) -> Out {
    let prev_is_time = cx.prev_adj(i).is_some_and(|p| is_time(p) || int_value(p).is_some_and(|n| (1..=12).contains(&n)));
    let dotted = t.contains('.');
    if !prev_is_time && !dotted {
        return Out::Word(t.to_string());
    }
    let spoken = if t.to_ascii_lowercase().starts_with('a') { "a.m." } else { "p.m." };
    if t.ends_with('.') && ends_sentence(cx, i) { Out::WordThenPeriod(spoken.into()) } else { Out::Word(spoken.into()) }
}

/// After a trailing abbreviation: does its period also end the sentence?
fn ends_sentence(cx: &Cx, i: usize) -> bool {
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

fn currency_names(sym: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    match sym {
        "£" => ("pound", "pounds", "penny", "pence"),
        "€" => ("euro", "euros", "cent", "cents"),
        "¥" => ("yen", "yen", "sen", "sen"),
        _ => ("dollar", "dollars", "cent", "cents"),
    }
}

fn money(cx: &Cx, i: usize, t: &str) -> Option<String> {
    let c = MONEY.captures(t)?;
    let lang = cx.lang;
    let sign = sign_word(c.get(1).map(|m| m.as_str()));
    let (one, many, cent, cents) = currency_names(&c[2]);
    let amount = &c[3];
    let suffix = c.get(4).map(|m| m.as_str());
    let scale = match suffix {
        Some("k" | "K") => Some("thousand"),
        Some("m" | "M") => Some("million"),
        Some("b" | "B" | "bn") => Some("billion"),
        Some("tn") => Some("trillion"),
        _ => None,
    };
    if let Some(scale) = scale {
        return Some(format!("{sign}{} {scale} {many}", numbers::number(amount, lang)?));
    }
    // "$5 million": the magnitude word carries the currency.
    if cx.next_adj(i).is_some_and(|n| tables::MAGNITUDES.contains(&n.to_ascii_lowercase().as_str())) {
        return Some(format!("{sign}{}", numbers::number(amount, lang)?));
    }
    let (whole, frac) = match amount.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (amount, None),
    };
    let w = int_value(whole)?;
    let frac_cents = match frac {
        Some(f) if f.len() == 1 => Some(f.parse::<u64>().ok()? * 10),
        Some(f) if f.len() == 2 => Some(f.parse::<u64>().ok()?),
        Some(_) => return Some(format!("{sign}{} {many}", numbers::number(amount, lang)?)),
        None => None,
    };
    let major = format!("{} {}", numbers::cardinal(w, lang), if w == 1 { one } else { many });
    Some(match frac_cents {
        None | Some(0) => format!("{sign}{major}"),
        Some(c) if w == 0 => format!("{sign}{} {}", numbers::cardinal(c, lang), if c == 1 { cent } else { cents }),
        Some(c) => format!("{sign}{major} and {} {}", numbers::cardinal(c, lang), if c == 1 { cent } else { cents }),
    })
}

fn magnitude_after_money(cx: &Cx, i: usize, t: &str) -> Option<Out> {
    let lower = t.to_ascii_lowercase();
    if !tables::MAGNITUDES.contains(&lower.as_str()) {
        return None;
    }
    let p = cx.prev_adj(i)?;
    let c = MONEY.captures(p)?;
    if c.get(4).is_some() {
        return None;
    }
    let (_, many, _, _) = currency_names(&c[2]);
    Some(Out::Word(format!("{t} {many}")))
}

fn decade(d: &str, lang: Lang) -> String {
    let n: u64 = d.parse().unwrap_or(0);
    let words = if d.len() == 2 { numbers::cardinal(n, lang) } else { numbers::year(n, lang) };
    if let Some(stem) = words.strip_suffix('y') { format!("{stem}ies") } else { format!("{words}s") }
}

fn numeric_date(t: &str, lang: Lang) -> Option<String> {
    let (y, m, d) = if let Some(c) = NUM_DATE.captures(t) {
        let (a, b): (u64, u64) = (c[1].parse().ok()?, c[2].parse().ok()?);
        let (m, d) = if lang == Lang::EnGb { (b, a) } else { (a, b) };
        let y: u64 = c[3].parse().ok()?;
        (if c[3].len() == 2 { 2000 + y } else { y }, m, d)
    } else if let Some(c) = ISO_DATE.captures(t) {
        (c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?)
    } else {
        return None;
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let month = tables::MONTHS[(m - 1) as usize];
    Some(match lang {
        Lang::EnGb => format!("the {} of {month}, {}", numbers::ordinal(d, lang), numbers::year(y, lang)),
        Lang::EnUs => format!("{month} {}, {}", numbers::ordinal(d, lang), numbers::year(y, lang)),
    })
}

fn number(cx: &Cx, i: usize, t: &str) -> String {
    let lang = cx.lang;
    let next = cx.next_adj(i);
    let next_is_unit = next.is_some_and(|n| tables::unit(n, 1.0).is_some() || tables::MAGNITUDES.contains(&n));
    let plain = !t.contains([',', '.', '-', '+', '−']);
    if let Some(n) = int_value(t).filter(|_| plain) {
        // Dates: "Nov. 14", "14 November".
        if (1..=31).contains(&n) && cx.prev_adj(i).is_some_and(is_month_word) && !next_is_unit {
            return numbers::ordinal(n, lang);
        }
        if (1..=31).contains(&n) && next.is_some_and(is_month_word) && !cx.prev_adj(i).is_some_and(is_month_word) {
            return format!("the {} of", numbers::ordinal(n, lang));
        }
        if t.len() == 4 && (1000..=2099).contains(&n) && !next_is_unit && looks_like_year(cx, i) {
            return numbers::year(n, lang);
        }
    }
    signed_number(t, lang)
}

fn looks_like_year(cx: &Cx, i: usize) -> bool {
    if let Some((p, _)) = cx.prev(i) {
        let pl = p.to_ascii_lowercase();
        // After a month or a day of the month ("Nov. 14, 2026"), or a cue word ("in 1999").
        if is_month_word(p) || YEAR_CUES.contains(&pl.as_str()) {
            return true;
        }
        let day_of_month = cx
            .prev_idx(i)
            .and_then(|(j, _)| cx.prev(j))
            .is_some_and(|(q, punct)| !punct && is_month_word(q));
        if int_value(p).is_some_and(|d| (1..=31).contains(&d)) && day_of_month {
            return true;
        }
    }
    match cx.next(i) {
        None => true,
        Some((_, true)) => true,
        Some((n, false)) => {
            let nl = n.to_ascii_lowercase();
            // "1500 people" reads as a quantity.
            !(n.chars().all(|c| c.is_ascii_lowercase()) && nl.ends_with('s') && !NOT_PLURAL.contains(&nl.as_str()))
        }
    }
}

fn unit_after_number(cx: &Cx, i: usize, t: &str) -> Option<Out> {
    let p = cx.prev_adj(i)?;
    if !is_plain_number(p) {
        return None;
    }
    let u = tables::unit(t, numbers::value(p)?)?;
    // A lone capital or common word after a number is only a unit in clear cases.
    if matches!(t, "in." | "m" | "s" | "t" | "h" | "x" | "K" | "W" | "V" | "L" | "l" | "g")
        && cx.next_adj(i).is_some_and(|n| n.chars().all(|c| c.is_lowercase()) && n.len() > 2)
        && !matches!(t, "in." | "m" | "g" | "x")
    {
        return None;
    }
    if t.ends_with('.') && ends_sentence(cx, i) {
        return Some(Out::WordThenPeriod(u.to_string()));
    }
    Some(Out::Word(u.to_string()))
}

fn abbreviation(cx: &Cx, i: usize, t: &str) -> Option<Out> {
    let next = cx.next_adj(i);
    let prev = cx.prev_adj(i);
    if let Some((exp, kind)) = tables::abbreviation(t) {
        let next_cap = next.is_some_and(capitalized);
        let prev_name = match cx.prev_idx(i) {
            Some((j, false)) => {
                let p = cx.core(j).unwrap_or_default();
                (capitalized(p) && !cx.sentence_initial(j)) || ORDINAL.is_match(p) || is_plain_number(p)
            }
            _ => false,
        };
        let spoken = match t {
            "St." | "st." | "ST." => {
                if prev_name && !(next_cap && prev.is_some_and(|p| p == "the" || p == "The")) { "Street" } else if next_cap { "Saint" } else { "Street" }
            }
            "Dr." | "dr." | "DR." => {
                if prev_name && !next_cap { "Drive" } else { "Doctor" }
            }
            _ => exp,
        };
        let trailing_road = matches!(spoken, "Street" | "Drive");
        return Some(match kind {
            AbbrKind::Title if !trailing_road => Out::Word(spoken.into()),
            AbbrKind::BeforeNumber if !next.is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit())) => {
                plain_word_then_period(t)
            }
            AbbrKind::Date if !date_context(cx, i, t, next) => {
                plain_word_then_period(t)
            }
            _ => {
                if t.ends_with('.') && kind != AbbrKind::BeforeNumber && ends_sentence(cx, i) {
                    Out::WordThenPeriod(spoken.into())
                } else {
                    Out::Word(spoken.into())
                }
            }
        });
    }
    // Month abbreviation without a period before a day: "Nov 14".
    if t.len() == 3 && capitalized(t) && next.is_some_and(|n| int_value(n).is_some_and(|d| (1..=31).contains(&d))) {
        if let Some(m) = tables::month(t) {
            return Some(Out::Word(m.into()));
        }
    }
    if tables::INITIAL.is_match(t) {
        let letter = tables::letter(t.chars().next().unwrap_or('A'));
        return Some(if next.is_none() && cx.next(i).is_none() { Out::WordThenPeriod(letter) } else { Out::Word(letter) });
    }
    if tables::LETTER_DOTS.is_match(t) {
        return Some(if cx.next(i).is_none() { Out::WordThenPeriod(t.into()) } else { Out::Word(t.into()) });
    }
    if t.ends_with('.') && t.len() > 1 {
        // A unit or abbreviation that kept its period but is not read as one here.
        return Some(plain_word_then_period(t));
    }
    None
}

/// Words after which a roman numeral is a plain number ("Chapter IV", "World War II").
const ROMAN_CUES: &[&str] = &["chapter", "part", "book", "volume", "vol.", "act", "scene", "section", "phase", "episode", "season", "war", "round", "level", "stage", "type", "class"];

fn roman_value(t: &str) -> Option<u64> {
    let val = |c| match c {
        'I' => Some(1),
        'V' => Some(5),
        'X' => Some(10),
        'L' => Some(50),
        'C' => Some(100),
        _ => None,
    };
    let vals: Vec<u64> = t.chars().map(val).collect::<Option<_>>()?;
    let mut total = 0i64;
    for (k, &v) in vals.iter().enumerate() {
        if vals.get(k + 1).is_some_and(|&n| n > v) { total -= v as i64 } else { total += v as i64 }
    }
    let n = u64::try_from(total).ok()?;
    // Only canonical spellings ("IIII" or "IC" are not numerals).
    let canon = {
        let mut out = String::new();
        let mut m = n;
        for (v, r) in [(100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")] {
            while m >= v {
                out.push_str(r);
                m -= v;
            }
        }
        out
    };
    (canon == t).then_some(n)
}

/// "Chapter IV" → "Chapter four"; "Henry VIII" → "Henry the eighth".
fn roman(cx: &Cx, i: usize, t: &str) -> Option<String> {
    if t.len() < 2 || t.len() > 8 {
        return None;
    }
    let n = roman_value(t)?;
    let p = cx.prev_adj(i)?;
    if ROMAN_CUES.contains(&p.to_lowercase().as_str()) {
        return Some(numbers::cardinal(n, cx.lang));
    }
    if capitalized(p) && p.chars().all(char::is_alphabetic) && p.chars().skip(1).all(char::is_lowercase) {
        return Some(format!("the {}", numbers::ordinal(n, cx.lang)));
    }
    None
}

/// A month or weekday abbreviation is read as one before a day, a month, or (capitalized) a comma.
fn date_context(cx: &Cx, i: usize, t: &str, next: Option<&str>) -> bool {
    let before_date = next.is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()) || is_month_word(n));
    let before_comma = capitalized(t) && cx.items.get(i + 1).is_some_and(|x| x.kind == LexKind::Punct(",".into()));
    before_date || before_comma
}

fn plain_word_then_period(t: &str) -> Out {
    let w = t.trim_end_matches('.');
    if w.is_empty() { Out::Punct(".".into()) } else { Out::WordThenPeriod(w.into()) }
}

/// Letters and digits mixed: "12B" → "twelve B", "MP3" → "MP three", "B12" → "B twelve".
fn alnum(t: &str, lang: Lang) -> String {
    let mut parts = Vec::new();
    let mut run = String::new();
    let mut digit: Option<bool> = None;
    let flush = |run: &str, digit: bool, parts: &mut Vec<String>| {
        if run.is_empty() {
            return;
        }
        if digit {
            parts.push(if run.len() <= 4 && !run.starts_with('0') {
                numbers::cardinal(run.parse().unwrap_or(0), lang)
            } else {
                numbers::digits(run)
            });
        } else if run.len() <= 2 || run.chars().all(|c| c.is_ascii_uppercase()) && run.len() <= 4 {
            parts.push(tables::spell(run));
        } else {
            parts.push(run.to_string());
        }
    };
    for c in t.chars() {
        let d = c.is_ascii_digit();
        if digit.is_some_and(|x| x != d) {
            flush(&run, digit.unwrap_or(false), &mut parts);
            run.clear();
        }
        digit = Some(d);
        run.push(c);
    }
    flush(&run, digit.unwrap_or(false), &mut parts);
    parts.join(" ")
}

/// A word that may carry symbols or digits inside ("AT&T", "C++", "5-year-old", "@user", "#tag").
fn word_with_symbols(cx: &Cx, t: &str) -> String {
    let lang = cx.lang;
    match t.to_ascii_lowercase().as_str() {
        "and/or" => return "and or".into(),
        "w/" => return "with".into(),
        "w/o" => return "without".into(),
        "c/o" => return "care of".into(),
        _ => {}
    }
    if let Some(tag) = t.strip_prefix('#') {
        return format!("hashtag {}", word_with_symbols(cx, tag));
    }
    if let Some(user) = t.strip_prefix('@') {
        return format!("at {}", word_with_symbols(cx, user));
    }
    // Hyphen or slash parts that hold numbers are read part by part.
    if t.contains(|c: char| c.is_ascii_digit()) && t.contains(['-', '/']) {
        let parts: Vec<String> = t
            .split(['-', '/'])
            .filter(|p| !p.is_empty())
            .map(|p| {
                if is_plain_number(p) {
                    signed_number(p, lang)
                } else if ALNUM.is_match(p) && p.contains(|c: char| c.is_ascii_digit()) {
                    alnum(p, lang)
                } else {
                    word_with_symbols(cx, p)
                }
            })
            .collect();
        return parts.join(" ");
    }
    let mut out = String::new();
    for c in t.chars() {
        if c.is_alphanumeric() || matches!(c, '\'' | '’' | '-' | '.') {
            out.push(c);
        } else if let Some(w) = tables::symbol(c) {
            out.push(' ');
            out.push_str(w);
            out.push(' ');
        } else {
            out.push(' ');
        }
    }
    let words: Vec<&str> = out.split_whitespace().collect();
    if words.len() > 1 && words.iter().any(|w| w.contains(|c: char| c.is_ascii_digit())) {
        return words.iter().map(|w| classify_fragment(w, lang)).collect::<Vec<_>>().join(" ");
    }
    words.join(" ")
}

fn classify_fragment(w: &str, lang: Lang) -> String {
    if is_plain_number(w) {
        signed_number(w, lang)
    } else if ALNUM.is_match(w) && w.contains(|c: char| c.is_ascii_digit()) {
        alnum(w, lang)
    } else {
        w.to_string()
    }
}
