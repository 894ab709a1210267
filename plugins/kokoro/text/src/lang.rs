//! The English varieties the front-end speaks.

use crate::TextError;

/// English variety: selects misaki's US or British lexicon and a few reading habits
/// ("one hundred and five", day-first numeric dates in British English).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    EnUs,
    EnGb,
}

impl Lang {
    /// Parses a language tag: "en", "en-us", "en_US", "a" (Kokoro's US code), "en-gb", "en-GB", "en-uk", "b".
    pub fn parse(tag: &str) -> Result<Lang, TextError> {
        let t = tag.trim().to_ascii_lowercase().replace('_', "-");
        match t.as_str() {
            "en" | "en-us" | "us" | "a" | "american" | "english" => Ok(Lang::EnUs),
            "en-gb" | "en-uk" | "gb" | "uk" | "b" | "british" => Ok(Lang::EnGb),
            _ => Err(TextError::UnsupportedLanguage(tag.to_string())),
        }
    }

    /// The canonical tag, "en-us" or "en-gb".
    pub fn tag(self) -> &'static str {
        match self {
            Lang::EnUs => "en-us",
            Lang::EnGb => "en-gb",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = TextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags() {
        for t in ["en", "en-us", "en_US", "EN-US", "a"] {
            assert_eq!(Lang::parse(t).unwrap(), Lang::EnUs, "{t}");
        }
        for t in ["en-gb", "en_GB", "en-uk", "b"] {
            assert_eq!(Lang::parse(t).unwrap(), Lang::EnGb, "{t}");
        }
        assert!(matches!(Lang::parse("ja"), Err(TextError::UnsupportedLanguage(s)) if s == "ja"));
        assert!(Lang::parse("").is_err());
    }
}
