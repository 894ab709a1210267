//! Numbers as English words: cardinals, ordinals, years, decimals and digit-by-digit readings.

use crate::Lang;

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const SCALES: [&str; 5] = ["", "thousand", "million", "billion", "trillion"];

/// Largest value read as a cardinal; longer digit strings are read digit by digit.
pub const MAX_CARDINAL: u64 = 999_999_999_999_999;

fn below_hundred(n: u64) -> String {
    if n < 20 {
        ONES[n as usize].to_string()
    } else if n % 10 == 0 {
        TENS[(n / 10) as usize].to_string()
    } else {
        format!("{}-{}", TENS[(n / 10) as usize], ONES[(n % 10) as usize])
    }
}

fn below_thousand(n: u64, lang: Lang) -> String {
    let (h, rest) = (n / 100, n % 100);
    match (h, rest) {
        (0, r) => below_hundred(r),
        (h, 0) => format!("{} hundred", ONES[h as usize]),
        (h, r) if lang == Lang::EnGb => format!("{} hundred and {}", ONES[h as usize], below_hundred(r)),
        (h, r) => format!("{} hundred {}", ONES[h as usize], below_hundred(r)),
    }
}

/// "42" → "forty-two". Values above [`MAX_CARDINAL`] are read digit by digit.
pub fn cardinal(n: u64, lang: Lang) -> String {
    if n > MAX_CARDINAL {
        return digits(&n.to_string());
    }
    if n == 0 {
        return "zero".into();
    }
    let mut groups = Vec::new();
    let mut rest = n;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let mut parts: Vec<String> = Vec::new();
    for (i, &g) in groups.iter().enumerate().rev() {
        if g == 0 {
            continue;
        }
        let words = below_thousand(g, lang);
        // British English says "one thousand and five".
        if i == 0 && !parts.is_empty() && g < 100 && lang == Lang::EnGb {
            parts.push("and".into());
        }
        parts.push(if SCALES[i].is_empty() { words } else { format!("{words} {}", SCALES[i]) });
    }
    parts.join(" ")
}

/// Cardinal from a digit string that may carry thousands separators ("1,250"); None if not a number.
pub fn cardinal_str(s: &str, lang: Lang) -> Option<String> {
    let clean: String = s.chars().filter(|&c| c != ',').collect();
    if clean.is_empty() || !clean.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if clean.len() > 1 && clean.starts_with('0') {
        return Some(digits(&clean));
    }
    match clean.parse::<u64>() {
        Ok(n) if n <= MAX_CARDINAL => Some(cardinal(n, lang)),
        _ => Some(digits(&clean)),
    }
}

fn ordinal_word(word: &str) -> String {
    match word {
        "one" => "first".into(),
        "two" => "second".into(),
        "three" => "third".into(),
        "five" => "fifth".into(),
        "eight" => "eighth".into(),
        "nine" => "ninth".into(),
        "twelve" => "twelfth".into(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    }
}

/// 22 → "twenty-second".
pub fn ordinal(n: u64, lang: Lang) -> String {
    let card = cardinal(n, lang);
    // Only the last word (after a space or hyphen) changes.
    let cut = card.rfind([' ', '-']).map(|i| i + 1).unwrap_or(0);
    format!("{}{}", &card[..cut], ordinal_word(&card[cut..]))
}

/// Years as people say them: 1999 "nineteen ninety-nine", 2005 "two thousand five",
/// 2026 "twenty twenty-six", 1905 "nineteen oh five", 1900 "nineteen hundred".
pub fn year(n: u64, lang: Lang) -> String {
    if !(1000..=9999).contains(&n) {
        return cardinal(n, lang);
    }
    let (hi, lo) = (n / 100, n % 100);
    if n % 1000 < 10 && (2000..2010).contains(&n) || n % 1000 == 0 {
        return cardinal(n, lang);
    }
    match lo {
        0 => format!("{} hundred", below_hundred(hi)),
        1..=9 => format!("{} oh {}", below_hundred(hi), ONES[lo as usize]),
        _ => format!("{} {}", below_hundred(hi), below_hundred(lo)),
    }
}

/// "0199" → "zero one nine nine".
pub fn digits(s: &str) -> String {
    s.chars().filter_map(|c| c.to_digit(10)).map(|d| ONES[d as usize]).collect::<Vec<_>>().join(" ")
}

/// "3.14" → "three point one four"; "0.5" → "zero point five"; ".5" → "point five".
pub fn decimal(s: &str, lang: Lang) -> Option<String> {
    let (int, frac) = s.split_once('.')?;
    if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int_words = if int.is_empty() { None } else { Some(cardinal_str(int, lang)?) };
    Some(match int_words {
        Some(w) => format!("{w} point {}", digits(frac)),
        None => format!("point {}", digits(frac)),
    })
}

/// A plain or decimal number with optional thousands separators.
pub fn number(s: &str, lang: Lang) -> Option<String> {
    if s.contains('.') { decimal(s, lang) } else { cardinal_str(s, lang) }
}

/// The numeric value of a plain or decimal number string, for singular/plural choices.
pub fn value(s: &str) -> Option<f64> {
    s.replace(',', "").parse::<f64>().ok()
}

/// The plural of a fraction denominator: 4 → "quarters", 3 → "thirds", 2 → "halves".
pub fn fraction(num: u64, den: u64, lang: Lang) -> String {
    let n = cardinal(num, lang);
    let d = match den {
        2 => {
            if num == 1 {
                "half".to_string()
            } else {
                "halves".to_string()
            }
        }
        4 => {
            if num == 1 {
                "quarter".to_string()
            } else {
                "quarters".to_string()
            }
        }
        _ => {
            let o = ordinal(den, lang);
            if num == 1 { o } else { format!("{o}s") }
        }
    };
    format!("{n} {d}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cardinals() {
        assert_eq!(cardinal(0, Lang::EnUs), "zero");
        assert_eq!(cardinal(42, Lang::EnUs), "forty-two");
        assert_eq!(cardinal(100, Lang::EnUs), "one hundred");
        assert_eq!(
            cardinal(1_234_567, Lang::EnUs),
            "one million two hundred thirty-four thousand five hundred sixty-seven"
        );
        assert_eq!(cardinal(105, Lang::EnGb), "one hundred and five");
        assert_eq!(cardinal(1005, Lang::EnGb), "one thousand and five");
        assert_eq!(cardinal_str("1,250", Lang::EnUs).unwrap(), "one thousand two hundred fifty");
    }

    #[test]
    fn ordinals_and_years() {
        assert_eq!(ordinal(1, Lang::EnUs), "first");
        assert_eq!(ordinal(22, Lang::EnUs), "twenty-second");
        assert_eq!(ordinal(14, Lang::EnUs), "fourteenth");
        assert_eq!(ordinal(40, Lang::EnUs), "fortieth");
        assert_eq!(ordinal(100, Lang::EnUs), "one hundredth");
        assert_eq!(year(1999, Lang::EnUs), "nineteen ninety-nine");
        assert_eq!(year(2026, Lang::EnUs), "twenty twenty-six");
        assert_eq!(year(2005, Lang::EnUs), "two thousand five");
        assert_eq!(year(2000, Lang::EnUs), "two thousand");
        assert_eq!(year(1905, Lang::EnUs), "nineteen oh five");
        assert_eq!(year(1900, Lang::EnUs), "nineteen hundred");
    }

    #[test]
    fn decimals_digits_fractions() {
        assert_eq!(decimal("3.14", Lang::EnUs).unwrap(), "three point one four");
        assert_eq!(decimal(".5", Lang::EnUs).unwrap(), "point five");
        assert_eq!(digits("0199"), "zero one nine nine");
        assert_eq!(fraction(3, 4, Lang::EnUs), "three quarters");
        assert_eq!(fraction(1, 2, Lang::EnUs), "one half");
        assert_eq!(fraction(5, 8, Lang::EnUs), "five eighths");
    }
}
