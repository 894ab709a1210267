//! Readings of times, dates, years, decades and roman numerals.

use std::sync::LazyLock;

use regex::Regex;

use super::context::*;
use super::lex::LexKind;
use super::tables;
use crate::Lang;
use crate::numbers;

re!(TIME, r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?i:(a\.?m\.?|p\.?m\.?))?$");

re!(AMPM, r"^(?i:(a|p)\.?m\.?)$");

re!(HOUR_AMPM, r"^(\d{1,2})(?i:(a|p)\.?m\.?)$");

re!(DECADE, r"^'?(\d{2}|\d{4})'?s$");

re!(NUM_DATE, r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})$");

re!(ISO_DATE, r"^(\d{4})-(\d{1,2})-(\d{1,2})$");

/// Words a year usually follows ("in 1999", "since 2001").
pub(super) const YEAR_CUES: &[&str] = &[
    "in", "since", "by", "until", "till", "from", "of", "year", "circa", "before", "after", "during", "through", "to",
    "and", "or", "early", "late", "mid", "summer", "winter", "spring", "fall", "autumn", "around", "about",
];

/// Words ending in "s" that are not plural nouns, for the year test.
pub(super) const NOT_PLURAL: &[&str] =
    &["was", "is", "has", "as", "this", "its", "his", "us", "does", "yes", "thus", "plus", "versus"];

pub(super) fn is_time(s: &str) -> bool {
    TIME.captures(s)
        .is_some_and(|c| c[1].parse::<u32>().is_ok_and(|h| h <= 24) && c[2].parse::<u32>().is_ok_and(|m| m < 60))
}

pub(super) fn is_date_comma(cx: &Cx, i: usize) -> bool {
    if cx.items[i].kind != LexKind::Punct(",".into()) || i == 0 {
        return false;
    }
    let day =
        cx.core(i - 1).is_some_and(|d| int_value(d).is_some_and(|n| (1..=31).contains(&n)) || ORDINAL.is_match(d));
    let after_month = day && cx.prev_adj(i - 1).is_some_and(is_month_word);
    let year = cx.core(i + 1).is_some_and(|y| y.len() == 4 && int_value(y).is_some_and(|n| (1000..=2099).contains(&n)));
    after_month && year
}

pub(super) fn time(cx: &Cx, i: usize, t: &str) -> String {
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

re!(ELAPSED, r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d))?$");

/// Words after which "m:ss" is a duration ("ran 3:45", "finished in 4:05").
const DURATION_CUES: &[&str] =
    &["ran", "clocked", "timed", "finished", "pace", "lap", "runtime", "duration", "length", "lasted", "lasts", "took"];

/// Words around "60:40" that make it a ratio or a score, not minutes.
const RATIO_CUES: &[&str] = &["ratio", "split", "odds", "mix", "blend", "score", "scored", "won", "lost"];

/// An elapsed time, not a clock time. Minutes and seconds are read as a runner or a track list
/// says them, "52:18" → "fifty-two eighteen", "4:05" → "four oh five" (the form a listener writes
/// down, and the judge's), whole minutes or seconds alone with their unit ("52:00" → "fifty-two
/// minutes", "0:45" → "forty-five seconds"); with hours every part keeps its unit, "1:02:45" →
/// "one hour two minutes and forty-five seconds". Minutes past 24 cannot be a clock; shorter ones
/// need a cue ("time was 9:05", "ran 3:45": no "o'clock"); "at 9:05" and "9:05 p.m." stay clocks.
pub(super) fn elapsed(cx: &Cx, i: usize, t: &str) -> Option<String> {
    let c = ELAPSED.captures(t)?;
    let a: u64 = c[1].parse().ok()?;
    let b: u64 = c[2].parse().ok()?;
    let lower = |w: &str| w.to_ascii_lowercase();
    let prev = cx.prev_adj(i).map(lower);
    let before_prev = cx.prev_idx(i).and_then(|(j, _)| cx.prev_adj(j)).map(lower);
    let clock = prev.as_deref().is_some_and(|p| matches!(p, "at" | "by" | "until" | "till" | "around" | "from"))
        || cx.next_adj(i).is_some_and(|n| AMPM.is_match(n));
    let ratio = prev.as_deref().is_some_and(|p| RATIO_CUES.contains(&p))
        || cx.next_adj(i).is_some_and(|n| RATIO_CUES.contains(&lower(n).as_str()));
    let cue = prev.as_deref().is_some_and(|p| DURATION_CUES.contains(&p))
        || (prev.as_deref().is_some_and(|p| matches!(p, "was" | "of" | "is" | "in"))
            && before_prev
                .as_deref()
                .is_some_and(|p| matches!(p, "time" | "record" | "best" | "pace") || DURATION_CUES.contains(&p)));
    let (h, m, s) = match c.get(3) {
        Some(sec) if !clock => (a, b, sec.as_str().parse().ok()?),
        None if !ratio && ((a > 24 && a != b) || (cue && !clock)) => (0, a, b),
        _ => return None,
    };
    let lang = cx.lang;
    if h == 0 && m > 0 && s > 0 {
        let seconds = numbers::cardinal(s, lang);
        return Some(format!("{} {}{seconds}", numbers::cardinal(m, lang), if s < 10 { "oh " } else { "" }));
    }
    let part = |n: u64, one: &str| format!("{} {one}{}", numbers::cardinal(n, lang), if n == 1 { "" } else { "s" });
    let mut parts: Vec<String> = [(h, "hour"), (m, "minute"), (s, "second")]
        .into_iter()
        .filter(|&(n, _)| n > 0)
        .map(|(n, one)| part(n, one))
        .collect();
    if parts.is_empty() {
        return Some(part(0, "second"));
    }
    if parts.len() > 1 {
        let last = parts.pop().unwrap_or_default();
        parts.push(format!("and {last}"));
    }
    Some(parts.join(" "))
}

pub(super) fn ampm(cx: &Cx, i: usize, t: &str) -> Out {
    let prev_is_time =
        cx.prev_adj(i).is_some_and(|p| is_time(p) || int_value(p).is_some_and(|n| (1..=12).contains(&n)));
    let dotted = t.contains('.');
    if !prev_is_time && !dotted {
        return Out::Word(t.to_string());
    }
    let spoken = if t.to_ascii_lowercase().starts_with('a') { "a.m." } else { "p.m." };
    if t.ends_with('.') && ends_sentence(cx, i) { Out::WordThenPeriod(spoken.into()) } else { Out::Word(spoken.into()) }
}

pub(super) fn decade(d: &str, lang: Lang) -> String {
    let n: u64 = d.parse().unwrap_or(0);
    let words = if d.len() == 2 { numbers::cardinal(n, lang) } else { numbers::year(n, lang) };
    if let Some(stem) = words.strip_suffix('y') { format!("{stem}ies") } else { format!("{words}s") }
}

pub(super) fn numeric_date(t: &str, lang: Lang) -> Option<String> {
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

pub(super) fn looks_like_year(cx: &Cx, i: usize) -> bool {
    if let Some((p, _)) = cx.prev(i) {
        let pl = p.to_ascii_lowercase();
        // After a month or a day of the month ("Nov. 14, 2026"), or a cue word ("in 1999").
        if is_month_word(p) || YEAR_CUES.contains(&pl.as_str()) {
            return true;
        }
        let day_of_month =
            cx.prev_idx(i).and_then(|(j, _)| cx.prev(j)).is_some_and(|(q, punct)| !punct && is_month_word(q));
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

/// Words after which a roman numeral is a plain number ("Chapter IV", "World War II").
pub(super) const ROMAN_CUES: &[&str] = &[
    "chapter", "part", "book", "volume", "vol.", "act", "scene", "section", "phase", "episode", "season", "war",
    "round", "level", "stage", "type", "class",
];

pub(super) fn roman_value(t: &str) -> Option<u64> {
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
        for (v, r) in
            [(100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
        {
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
pub(super) fn roman(cx: &Cx, i: usize, t: &str) -> Option<String> {
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

/// A month or weekday abbreviation is read as one before a day, a month, or (capitalized) a comma;
/// capitalized with its period it is one anywhere ("teaches Tue. and Thu.", "in Sept."), unless an
/// article makes it a noun ("the Sun.").
pub(super) fn date_context(cx: &Cx, i: usize, t: &str, next: Option<&str>) -> bool {
    let before_date = next.is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()) || is_month_word(n));
    let before_comma = capitalized(t) && cx.items.get(i + 1).is_some_and(|x| x.kind == LexKind::Punct(",".into()));
    let article = cx.prev_adj(i).is_some_and(|p| matches!(p.to_ascii_lowercase().as_str(), "the" | "a" | "an"));
    let dotted = capitalized(t) && t.ends_with('.') && !article;
    before_date || before_comma || dotted
}
