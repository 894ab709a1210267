//! Readings of money: "$7.25" → "seven dollars and twenty-five cents", "$5 million", "£3.50".

use std::sync::LazyLock;

use regex::Regex;

use super::context::*;
use super::tables;
use crate::numbers;

re!(MONEY, r"^([+-])?(US\$|[$£€¥])(\d[\d,]*(?:\.\d+)?)(k|K|m|M|bn|b|B|tn)?$");

pub(super) fn currency_names(sym: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    match sym {
        "£" => ("pound", "pounds", "penny", "pence"),
        "€" => ("euro", "euros", "cent", "cents"),
        "¥" => ("yen", "yen", "sen", "sen"),
        _ => ("dollar", "dollars", "cent", "cents"),
    }
}

pub(super) fn money(cx: &Cx, i: usize, t: &str) -> Option<String> {
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

pub(super) fn magnitude_after_money(cx: &Cx, i: usize, t: &str) -> Option<Out> {
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
