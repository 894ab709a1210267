//! Phonemes for words outside misaki's lexicon: espeak-ng loaded at run time when a library is
//! found (it is GPL, so it is never linked), else English spelling rules.

mod espeak;
mod rules;

use std::path::PathBuf;
use std::sync::Arc;

use misaki_rs::fallback::{Fallback, FallbackError};

pub use espeak::Espeak;

use crate::{Lang, TextError};

/// Where to look for a libespeak-ng shared library.
#[derive(Debug, Clone, Default)]
pub struct EspeakSearch {
    /// Use exactly this library file (an error if it cannot be loaded).
    pub library: Option<PathBuf>,
    /// espeak-ng's data folder (the `espeak-ng-data` folder or its parent); None uses the
    /// library's built-in location or one found beside the library.
    pub data: Option<PathBuf>,
    /// Folders searched (recursively, two levels) for a libespeak-ng library before the
    /// system's, e.g. the chorus data folder where setup unpacked one.
    pub dirs: Vec<PathBuf>,
    /// Look in the system library paths too.
    pub system: bool,
    /// Never use espeak-ng, even if present.
    pub disabled: bool,
}

impl EspeakSearch {
    /// System paths plus `CHORUS_ESPEAK_LIB` / `CHORUS_ESPEAK_DATA` if set;
    /// `CHORUS_ESPEAK_LIB=off` turns espeak-ng off.
    pub fn system() -> Self {
        let lib = std::env::var_os("CHORUS_ESPEAK_LIB").filter(|v| !v.is_empty());
        let off = lib.as_ref().is_some_and(|v| v == "off" || v == "none");
        EspeakSearch {
            library: lib.filter(|_| !off).map(PathBuf::from),
            data: std::env::var_os("CHORUS_ESPEAK_DATA").map(PathBuf::from),
            dirs: Vec::new(),
            system: true,
            disabled: off,
        }
    }
}

/// Which fallback the front-end ended up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FallbackKind {
    /// espeak-ng from this library file.
    Espeak(PathBuf),
    /// Built-in English spelling rules.
    Rules,
}

/// The out-of-lexicon reader shared by both languages.
#[derive(Clone)]
pub struct WordFallback {
    espeak: Option<Arc<Espeak>>,
    lang: Lang,
}

impl WordFallback {
    pub fn find(search: &EspeakSearch) -> Result<Option<Arc<Espeak>>, TextError> {
        if search.disabled {
            return Ok(None);
        }
        Espeak::find(search)
    }

    pub fn new(espeak: Option<Arc<Espeak>>, lang: Lang) -> Self {
        WordFallback { espeak, lang }
    }

    /// Phonemes for `word` in misaki's alphabet; empty only if `word` has no letters or digits.
    pub fn phonemes(&self, word: &str) -> String {
        if let Some(e) = self.espeak.as_ref().filter(|_| espeak_safe(word)) {
            if let Some(p) = e.phonemize(word, self.lang).filter(|p| !p.is_empty()) {
                return p;
            }
        }
        rules::phonemize(word, self.lang)
    }
}

/// espeak-ng 1.51 crashes on some non-Latin input (found by the fuzz test); it only gets
/// short words in Latin script, which is all an English voice can read anyway.
fn espeak_safe(word: &str) -> bool {
    word.chars().count() <= 48
        && word.chars().any(|c| c.is_alphabetic())
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '\'' | '’' | '-' | '.')
                || (('\u{c0}'..='\u{17f}').contains(&c) && c.is_alphabetic())
        })
}

impl Fallback for WordFallback {
    /// Never an error: misaki aborts the whole sentence on one. A word no reader can say (a
    /// script other than Latin without espeak-ng) comes back empty and is left silent.
    fn phonemize(&self, word: &str) -> Result<String, FallbackError> {
        Ok(self.phonemes(word))
    }
}
