//! English text front-end for the Kokoro plugin: normalization, misaki phonemes with an
//! out-of-lexicon fallback, and lazy sentence/clause chunking for streaming synthesis.
//!
//! ```no_run
//! use chorus_kokoro_text::{ChunkPolicy, Frontend, Lang};
//! let frontend = Frontend::new()?;
//! for chunk in frontend.chunks("Call 1-800-555-0199 before 9 a.m.", Lang::EnUs, &ChunkPolicy::default()) {
//!     let chunk = chunk?;
//!     println!("{} ({} tokens, cut at {:?})", chunk.phonemes(), chunk.token_len(), chunk.end);
//! }
//! # Ok::<(), chorus_kokoro_text::TextError>(())
//! ```

mod bound;
mod chunk;
mod error;
mod fallback;
mod frontend;
mod lang;
mod normalize;
mod numbers;
mod phonemize;

pub use bound::MAX_WORD_CHARS;
pub use chunk::{Boundary, Chunk, ChunkPolicy, Chunks, MAX_TOKENS, Piece, Work};
pub use error::TextError;
pub use fallback::{EspeakSearch, FallbackKind};
pub use frontend::{Frontend, FrontendOptions};
pub use lang::Lang;
pub use normalize::{NormToken, TokenKind, normalize, normalize_with};
