//! Readings of slashed numbers: fractions ("2/3" → "two thirds"), mixed numbers ("1 1/2 tsp." →
//! "one and a half teaspoons") and short dates ("for 12/05" → "December fifth").

use std::sync::LazyLock;

use regex::Regex;

use super::context::*;
use super::tables;
use crate::Lang;
use crate::numbers;

re!(FRACTION, r"^(\d+)/(\d+)$");

/// Words after which a month/day pair is a date ("due 3/15", "set for 12/05").
const DATE_CUES: &[&str] =
    &["on", "for", "by", "until", "till", "since", "from", "through", "due", "dated", "before", "after", "starting"];

/// Numerator and denominator of a fraction read as such ("3/4"; not "24/7", not "12/05").
fn simple_fraction(t: &str) -> Option<(u64, u64)> {
    let c = FRACTION.captures(t)?;
    let (a, b) = (int_value(&c[1])?, int_value(&c[2])?);
    ((2..=10).contains(&b) && a > 0 && a < b && !c[2].starts_with('0')).then_some((a, b))
}

/// Is the core at `i` a whole number followed by a fraction ("1" in "1 1/2")?
pub(super) fn before_fraction(cx: &Cx, i: usize) -> bool {
    cx.core(i).is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
        && cx.next_adj(i).and_then(simple_fraction).is_some()
}

/// "3/4" → "three quarters"; after a whole number "and three quarters", "and a half".
pub(super) fn fraction(cx: &Cx, i: usize, t: &str) -> Option<String> {
    let lang = cx.lang;
    if let Some(s) = slash_date(cx, i, t) {
        return Some(s);
    }
    let c = FRACTION.captures(t)?;
    let Some((a, b)) = simple_fraction(t) else {
        let (a, b) = (int_value(&c[1])?, int_value(&c[2])?);
        return Some(if (a, b) == (24, 7) {
            "twenty-four seven".into()
        } else {
            format!("{} over {}", numbers::cardinal(a, lang), numbers::cardinal(b, lang))
        });
    };
    let words = numbers::fraction(a, b, lang);
    let mixed = cx.prev_idx(i).is_some_and(|(j, punct)| !punct && before_fraction(cx, j));
    if !mixed {
        return Some(words);
    }
    Some(match words.strip_prefix("one ") {
        Some(rest) => format!("and {} {rest}", article(rest)),
        None => format!("and {words}"),
    })
}

/// A unit after a fraction: "1 1/2 tsp." → "teaspoons"; "3/4 oz" → "of an ounce".
pub(super) fn unit_after_fraction(cx: &Cx, i: usize, t: &str) -> Option<String> {
    let (j, punct) = cx.prev_idx(i)?;
    if punct {
        return None;
    }
    simple_fraction(cx.core(j)?)?;
    let mixed = cx.prev_idx(j).is_some_and(|(k, punct)| !punct && before_fraction(cx, k));
    if mixed {
        return tables::unit(t, 2.0).map(String::from);
    }
    let one = tables::unit(t, 1.0)?;
    Some(format!("of {} {one}", article(one)))
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

/// Month and day written "12/05": a date when a part has a leading zero, or after a date cue
/// ("due 3/15") unless it reads as a plain fraction ("on 3/4" stays three quarters).
fn slash_date(cx: &Cx, i: usize, t: &str) -> Option<String> {
    let c = FRACTION.captures(t)?;
    let (a, b) = (int_value(&c[1])?, int_value(&c[2])?);
    let (m, d) = if cx.lang == Lang::EnGb { (b, a) } else { (a, b) };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || c[1].len() > 2 || c[2].len() > 2 {
        return None;
    }
    let zero = c[1].starts_with('0') || c[2].starts_with('0');
    let cue = cx.prev_adj(i).is_some_and(|p| DATE_CUES.contains(&p.to_ascii_lowercase().as_str()));
    let cued = cue && simple_fraction(t).is_none() && (a, b) != (24, 7);
    if !zero && !cued {
        return None;
    }
    let month = tables::MONTHS[(m - 1) as usize];
    Some(match cx.lang {
        Lang::EnGb => format!("the {} of {month}", numbers::ordinal(d, cx.lang)),
        Lang::EnUs => format!("{month} {}", numbers::ordinal(d, cx.lang)),
    })
}
