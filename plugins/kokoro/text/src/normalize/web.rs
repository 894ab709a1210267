//! Readings of phone numbers, e-mail addresses and URLs.

use std::sync::LazyLock;

use regex::Regex;

use super::tables;
use crate::numbers;

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:\+?\d{1,3}[-.\s])?(?:\(\d{3}\)\s?|\d{3}[-.])\d{3}[-.]\d{4}$",
        r"|^\+\d{1,3}(?:[-.]\d{1,4}){2,5}$",
        r"|^\d{3}-\d{4}$",
    ))
    .unwrap()
});
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$").unwrap());
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^(?:(?:https?|ftp)://\S+",
        r"|www\.\S+",
        r"|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|ai|co|uk|de|fr|dev|app|info|biz|us|ca|au|jp|ly|me|tv|gg|xyz)(?:/\S*)?)$",
    ))
    .unwrap()
});

/// Is this a phone number ("1-800-555-0199", "(555) 123-4567", "+44 20 7946 0958" pieces)?
pub fn is_phone(s: &str) -> bool {
    PHONE.is_match(s)
}

/// Reads a phone number digit by digit, groups separated by pauses; toll-free "800" style
/// prefixes are read as people say them ("eight hundred").
pub fn phone(s: &str) -> String {
    let groups: Vec<&str> = s.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    let read: Vec<String> = groups
        .iter()
        .map(|g| {
            if g.len() == 3 && g.ends_with("00") && !g.starts_with('0') {
                numbers::cardinal(g.parse().unwrap_or(0), crate::Lang::EnUs)
            } else {
                numbers::digits(g)
            }
        })
        .collect();
    let prefix = if s.starts_with('+') { "plus " } else { "" };
    format!("{prefix}{}", read.join(", "))
}

pub fn is_email(s: &str) -> bool {
    EMAIL.is_match(s)
}

pub fn is_url(s: &str) -> bool {
    URL.is_match(s) && !s.contains('@')
}

/// One name part of an address: a word misaki can read, spelled letters, or digits.
fn label(part: &str) -> String {
    if part.is_empty() {
        return String::new();
    }
    if part.chars().all(|c| c.is_ascii_digit()) {
        return numbers::digits(part);
    }
    let alpha = part.chars().all(|c| c.is_alphabetic());
    let short = part.chars().count() <= 2;
    let no_vowel = !part.chars().any(|c| "aeiouyAEIOUY".contains(c));
    if alpha && (short || no_vowel) {
        return tables::spell(part);
    }
    if alpha {
        return part.to_string();
    }
    // Mixed letters and digits: keep runs apart.
    let mut out = Vec::new();
    let mut run = String::new();
    let mut digit = None;
    for c in part.chars() {
        let d = c.is_ascii_digit();
        if digit.is_some_and(|x| x != d) {
            out.push(label(&run));
            run.clear();
        }
        digit = Some(d);
        run.push(c);
    }
    out.push(label(&run));
    out.join(" ")
}

/// Reads a string of name parts joined by separators: "." → dot, "-" → dash, "_" → underscore.
fn dotted(s: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut part = String::new();
    for c in s.chars() {
        let sep = match c {
            '.' => Some("dot"),
            '-' => Some("dash"),
            '_' => Some("underscore"),
            '+' => Some("plus"),
            '/' => Some("slash"),
            '?' => Some("question mark"),
            '=' => Some("equals"),
            '&' => Some("and"),
            '#' => Some("hash"),
            '~' => Some("tilde"),
            '%' => Some("percent"),
            ':' => Some("colon"),
            _ => None,
        };
        match sep {
            Some(w) => {
                if !part.is_empty() {
                    out.push(label(&part));
                    part.clear();
                }
                out.push(w.to_string());
            }
            None if c.is_alphanumeric() => part.push(c),
            None => {}
        }
    }
    if !part.is_empty() {
        out.push(label(&part));
    }
    out.join(" ")
}

/// "help@example.com" → "help at example dot com".
pub fn email(s: &str) -> String {
    let (local, domain) = s.split_once('@').unwrap_or((s, ""));
    format!("{} at {}", dotted(local), dotted(domain))
}

/// "https://www.example.com/docs" → "W W W dot example dot com slash docs" (the scheme is not read).
pub fn url(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let rest =
        ["https://", "http://", "ftp://"].iter().find(|p| lower.starts_with(*p)).map(|p| &s[p.len()..]).unwrap_or(s);
    let rest = rest.trim_end_matches('/');
    dotted(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert!(is_phone("1-800-555-0199"));
        assert!(is_phone("555-0199"));
        assert!(is_phone("(555)123-4567"));
        assert!(!is_phone("1990-1995"));
        assert_eq!(phone("1-800-555-0199"), "one, eight hundred, five five five, zero one nine nine");
        assert_eq!(phone("+44-20-7946-0958"), "plus four four, two zero, seven nine four six, zero nine five eight");
    }

    #[test]
    fn emails_and_urls() {
        assert!(is_email("help@example.com"));
        assert_eq!(email("help@example.com"), "help at example dot com");
        assert_eq!(email("j.doe_2@mail.co.uk"), "J dot doe underscore two at mail dot C O dot U K");
        assert!(is_url("https://www.example.com/docs"));
        assert!(is_url("example.org"));
        assert!(!is_url("e.g."));
        assert_eq!(url("https://www.example.com/docs"), "W W W dot example dot com slash docs");
    }
}
