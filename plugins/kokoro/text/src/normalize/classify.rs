//! The reading rules: each lexed core becomes spoken words, looking at its neighbours where
//! the reading depends on them (dates, units, "St." as Saint or Street, money magnitudes, a.m.).

use std::sync::LazyLock;

use regex::Regex;

use super::context::*;
use super::dates::*;
use super::fractions::*;
use super::lex::{Lex, LexKind};
use super::money::*;
use super::tables::{self, AbbrKind};
use super::web;
use super::{NormToken, TokenKind};
use crate::Lang;
use crate::numbers;

re!(CENTS, r"^(\d[\d,]*)¢$");

re!(PERCENT, r"^([+-])?(\d[\d,]*(?:\.\d+)?)\s?%$");

re!(RANGE, r"^(\d[\d,]*(?:\.\d+)?)[-–](\d[\d,]*(?:\.\d+)?)$");

re!(NUM_SUFFIX, r"^([+-]?\d[\d,]*(?:\.\d+)?)([^\d,.].*)$");

re!(HASH_NUM, r"^#(\d[\d,]*)$");

re!(ALNUM, r"^[A-Za-z0-9]+$");

re!(DOTTED, r"^([vV])?(\d+(?:\.\d+){2,})$");

re!(RATIO, r"^(\d+):(\d+)$");

re!(DESIGNATOR, r"^[A-Z]?\d+[A-Z]?$|^[A-Z]$");

/// A height in feet and inches, `6'2"` (the closing `"` is lexed as a quote) or `5′11″`.
re!(FEET_INCHES, r"^(\d)['′](\d{1,2})″?$");

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
    if let Some(last) = spaced_phone_group(cx, i) {
        let read = web::phone(t);
        return Out::Word(if last { read } else { format!("{read},") });
    }
    if tables::AREA_CODE.is_match(t) {
        // "(212) 555-0147": a pause after the area code, as between the other groups.
        let pause = cx.next_adj(i).is_some_and(web::is_phone);
        return Out::Word(format!("{}{}", numbers::digits(t), if pause { "," } else { "" }));
    }
    if let Some(s) = elapsed(cx, i, t) {
        return Out::Word(s);
    }
    if let Some(c) = FEET_INCHES.captures(t).filter(|c| int_value(&c[2]).is_some_and(|n| n < 12)) {
        // "six foot two", as a height is said; "6'0"" is "six foot".
        let (feet, inches) = (int_value(&c[1]).unwrap_or(0), int_value(&c[2]).unwrap_or(0));
        let feet = format!("{} foot", numbers::cardinal(feet, lang));
        return Out::Word(if inches == 0 { feet } else { format!("{feet} {}", numbers::cardinal(inches, lang)) });
    }
    if is_time(t) {
        return Out::Word(time(cx, i, t));
    }
    if let Some(c) = RATIO.captures(t) {
        let (a, b) = (int_value(&c[1]).unwrap_or(0), int_value(&c[2]).unwrap_or(0));
        return Out::Word(format!("{} to {}", numbers::cardinal(a, lang), numbers::cardinal(b, lang)));
    }
    if let Some(c) = DOTTED.captures(t) {
        return Out::Word(dotted(c.get(1).is_some(), &c[2], lang));
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
    if let Some(s) = fraction(cx, i, t) {
        return Out::Word(s);
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
        // "10K" written close is a distance or a count ("a 10K run": "ten K"), not kelvin.
        if let Some(u) = tables::unit(&c[2], v).filter(|_| &c[2] != "K") {
            return Out::Word(format!("{} {u}", signed_number(&c[1], lang)));
        }
    }
    if let Some(o) = unit_after_number(cx, i, t) {
        return o;
    }
    if let Some(u) = unit_after_fraction(cx, i, t) {
        return if t.ends_with('.') && ends_sentence(cx, i) { Out::WordThenPeriod(u) } else { Out::Word(u) };
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
                if prev_name && !(next_cap && prev.is_some_and(|p| p == "the" || p == "The")) {
                    "Street"
                } else if next_cap {
                    "Saint"
                } else {
                    "Street"
                }
            }
            "Dr." | "dr." | "DR." => {
                if prev_name && !next_cap {
                    "Drive"
                } else {
                    "Doctor"
                }
            }
            _ => exp,
        };
        let trailing_road = matches!(spoken, "Street" | "Drive");
        // "Bldg. C", "Apt. 4B": the letter or number after names the place; no sentence ends.
        let designator = matches!(spoken, "Building" | "Apartment" | "Suite")
            && next.is_some_and(|n| tables::INITIAL.is_match(n) || DESIGNATOR.is_match(n));
        return Some(match kind {
            AbbrKind::Title if !trailing_road => Out::Word(spoken.into()),
            AbbrKind::BeforeNumber if !next.is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit())) => {
                plain_word_then_period(t)
            }
            AbbrKind::Date if !date_context(cx, i, t, next) => plain_word_then_period(t),
            _ => {
                if t.ends_with('.') && kind != AbbrKind::BeforeNumber && !designator && ends_sentence(cx, i) {
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
        return Some(if next.is_none() && cx.next(i).is_none() {
            Out::WordThenPeriod(letter)
        } else {
            Out::Word(letter)
        });
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

re!(DIGIT_GROUP, r"^\+?\d{1,4}$");

/// Whether the digit group at `i` is part of a phone number written with spaces ("+1 212 555
/// 0100", "212 555 0100": three, three and four digits, maybe after a country code), and if so
/// whether it is the number's last group.
fn spaced_phone_group(cx: &Cx, i: usize) -> Option<bool> {
    let group = |j: usize| cx.core(j).filter(|c| DIGIT_GROUP.is_match(c));
    group(i)?;
    let mut first = i;
    while let Some((j, false)) = cx.prev_idx(first) {
        if group(j).is_none() {
            break;
        }
        first = j;
    }
    let mut run = vec![first];
    let mut j = first;
    while let Some(k) = (j + 1..cx.items.len()).find(|&k| cx.core(k).is_some()) {
        if k != j + 1 || group(k).is_none() {
            break;
        }
        run.push(k);
        j = k;
    }
    let lens: Vec<usize> = run.iter().filter_map(|&j| cx.core(j)).map(|c| c.trim_start_matches('+').len()).collect();
    let plus = cx.core(first).is_some_and(|c| c.starts_with('+'));
    if run.iter().skip(1).any(|&j| cx.core(j).is_some_and(|c| c.starts_with('+'))) {
        return None;
    }
    let shape = match lens.as_slice() {
        [3, 3, 4] => !plus,
        [1..=3, 3, 3, 4] => plus,
        _ => false,
    };
    shape.then(|| run.last() == Some(&i))
}

/// Numbers with two or more dots: an IPv4 address ("192.168.0.1", read with "dot") or a version
/// ("2.0.1", "v1.10.3": "version one point ten point three").
fn dotted(version: bool, t: &str, lang: Lang) -> String {
    let parts: Vec<&str> = t.split('.').collect();
    let address =
        !version && parts.len() == 4 && parts.iter().all(|p| p.len() <= 3 && p.parse::<u16>().is_ok_and(|n| n <= 255));
    let read = |p: &str| {
        if p.len() > 1 && p.starts_with('0') || p.len() > 6 {
            numbers::digits(p)
        } else {
            numbers::cardinal(p.parse().unwrap_or(0), lang)
        }
    };
    let spoken: Vec<String> = parts.iter().map(|p| read(p)).collect();
    let joined = spoken.join(if address { " dot " } else { " point " });
    if version { format!("version {joined}") } else { joined }
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
    // Day ranges: "Mon-Fri", "Tues-Thurs".
    if let Some((a, b)) = t.split_once('-') {
        if let (Some(a), Some(b)) = (tables::weekday(a), tables::weekday(b)) {
            return format!("{a} to {b}");
        }
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
