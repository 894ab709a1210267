//! Errors of the text front-end.

/// What can go wrong turning text into phonemes.
#[derive(thiserror::Error, Debug)]
pub enum TextError {
    /// The text holds no word that can be spoken (only punctuation, emoji or whitespace).
    #[error("nothing to speak: the text has no words, numbers or speakable symbols")]
    NothingToSpeak,
    /// The language tag is not one this front-end speaks.
    #[error("unsupported language '{0}': the Kokoro English front-end speaks en-us and en-gb")]
    UnsupportedLanguage(String),
    /// misaki's grapheme-to-phoneme step failed.
    #[error("phonemizing '{text}' failed: {reason}")]
    Phonemize { text: String, reason: String },
    /// An explicitly configured espeak-ng library could not be used.
    #[error("espeak-ng library {path} could not be used: {reason}")]
    Espeak { path: String, reason: String },
    /// The caller's stop flag was set ([`crate::Chunks::with_stop`]): the work was abandoned.
    #[error("stopped: the request was cancelled")]
    Stopped,
}
