//! The front-end object: misaki G2Ps (built once; the lexicons are costly to load), the
//! fallback, and the entry point for chunking a request.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::chunk::{ChunkPolicy, Chunks, Piece};
use crate::fallback::{Espeak, EspeakSearch, FallbackKind, WordFallback};
use crate::normalize::NormToken;
use crate::phonemize::Phonemizer;
use crate::{Lang, TextError};

/// Options for [`Frontend::with_options`].
#[derive(Debug, Clone, Default)]
pub struct FrontendOptions {
    /// Where to find espeak-ng for words outside misaki's lexicon.
    pub espeak: EspeakSearch,
}

impl FrontendOptions {
    /// System espeak-ng search, plus `data_dir` (e.g. the chorus data folder) searched first.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut espeak = EspeakSearch::system();
        espeak.dirs.push(data_dir.into());
        FrontendOptions { espeak }
    }
}

/// English text front-end. Send + Sync: share one across threads; each language's G2P sits
/// behind its own lock (misaki's G2P is not Sync) and is built on first use.
pub struct Frontend {
    us: OnceLock<Mutex<Phonemizer>>,
    gb: OnceLock<Mutex<Phonemizer>>,
    espeak: Option<Arc<Espeak>>,
    sentences: AtomicUsize,
}

impl Frontend {
    /// A front-end with espeak-ng looked up in the system paths (and `CHORUS_ESPEAK_LIB`).
    /// The US English G2P is built now.
    pub fn new() -> Result<Self, TextError> {
        Frontend::with_options(FrontendOptions { espeak: EspeakSearch::system() })
    }

    pub fn with_options(opts: FrontendOptions) -> Result<Self, TextError> {
        let espeak = WordFallback::find(&opts.espeak)?;
        let f = Frontend { us: OnceLock::new(), gb: OnceLock::new(), espeak, sentences: AtomicUsize::new(0) };
        f.phonemizer(Lang::EnUs);
        Ok(f)
    }

    /// Which reader handles words outside misaki's lexicon.
    pub fn fallback(&self) -> FallbackKind {
        match &self.espeak {
            Some(e) => FallbackKind::Espeak(e.path().to_path_buf()),
            None => FallbackKind::Rules,
        }
    }

    /// Builds `lang`'s G2P now, if it is not built yet (otherwise it is built on first use).
    pub fn load(&self, lang: Lang) {
        self.phonemizer(lang);
    }

    /// Whether `lang`'s G2P is built.
    pub fn is_loaded(&self, lang: Lang) -> bool {
        match lang {
            Lang::EnUs => self.us.get().is_some(),
            Lang::EnGb => self.gb.get().is_some(),
        }
    }

    fn phonemizer(&self, lang: Lang) -> &Mutex<Phonemizer> {
        let cell = match lang {
            Lang::EnUs => &self.us,
            Lang::EnGb => &self.gb,
        };
        cell.get_or_init(|| Mutex::new(Phonemizer::new(lang, WordFallback::new(self.espeak.clone(), lang))))
    }

    /// Lazily yields the chunks of `text`: normalized a block at a time and phonemized sentence
    /// by sentence, so the first chunk is ready fast even for a whole book chapter.
    /// Text with nothing speakable yields one `Err(TextError::NothingToSpeak)`.
    pub fn chunks<'a>(&'a self, text: &'a str, lang: Lang, policy: &ChunkPolicy) -> Chunks<'a> {
        Chunks::new(self, text, lang, policy)
    }

    /// Phonemizes one sentence of normalized tokens.
    pub fn phonemize_sentence(&self, toks: &[NormToken], lang: Lang) -> Result<Vec<Piece>, TextError> {
        let g = self.phonemizer(lang).lock().unwrap_or_else(|p| p.into_inner());
        self.sentences.fetch_add(1, Ordering::Relaxed);
        g.sentence(toks)
    }

    /// Phonemes of a whole text in one string (chunks joined by spaces); for tools and tests.
    pub fn phonemes(&self, text: &str, lang: Lang) -> Result<String, TextError> {
        let mut out = Vec::new();
        for c in self.chunks(text, lang, &ChunkPolicy::default()) {
            out.push(c?.phonemes());
        }
        Ok(out.join(" "))
    }

    /// Sentences phonemized by this front-end since it was made, over all requests.
    pub fn sentences_phonemized(&self) -> usize {
        self.sentences.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontend_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Frontend>();
    }
}
