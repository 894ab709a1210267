//! Kokoro's ONNX graph rewritten on the protobuf wire, bytes in and bytes out: cut into a front
//! and a decoder ([`split`]), the per-token durations exposed ([`durations`]), the integer
//! convolutions turned into products ([`gemm`], then its chains fused into chorus's own
//! operators), the Snake activations fused ([`snake`]), and large weights moved to external data
//! ([`external`]): [`derive()`] makes the engine's two halves in one call.
//! Every field is named in one place ([`schema`]). It never runs a model, never touches a file,
//! the network or another thread, and holds no unsafe code: the operators it writes are run by
//! `chorus-kokoro-kernels`, and the engine (`chorus-kokoro`) reads and writes the files.
//!
//! Each pass copies what it does not understand as it was, so an edit never loses a field, and
//! each rewrite gives the original's numbers bit for bit (the engine's tests check it on the
//! real model).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod durations;
mod error;
pub mod external;
mod fusion;
pub mod gemm;
pub mod moments;
pub mod schema;
pub mod snake;
pub mod split;
pub mod stft;
mod wire;

pub use error::GraphError;

/// A model's two halves as bytes: the front (tokens → durations and frame features) and the
/// decoder (frame features → audio).
pub struct Halves {
    /// Tokens, style, speed → durations and the decoder's features.
    pub front: Vec<u8>,
    /// The decoder's features (any number of frames) and style → audio.
    pub decoder: Vec<u8>,
}

/// Which rewrites [`derive()`] makes. Each keeps the audio bit for bit only where the engine has
/// checked the runtime at hand computes the same (see [`gemm`], [`snake`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rewrites {
    /// Integer convolutions as products, then `Requantize` and `QConv` fusions.
    pub convolutions: bool,
    /// The instance norms' statistics as one node each, in the decoder.
    pub moments: bool,
    /// Snake chains (and the instance norms before them) as one node each, in the decoder.
    pub snake: bool,
    /// The vocoder's `STFT` as chorus's multi-threaded one.
    pub stft: bool,
}

/// `model` rewritten as asked and cut into front and decoder.
pub fn derive(model: &[u8], rewrites: Rewrites) -> Result<Halves, GraphError> {
    let rewritten;
    let model = if rewrites.convolutions {
        let bytes = gemm::rewrite(model)?.0;
        let bytes = fusion::requantize(&bytes)?.0;
        rewritten = fusion::conv(&bytes)?.0;
        &rewritten[..]
    } else {
        model
    };
    let front = split::front(model)?;
    let decoder = split::decoder(model)?;
    let decoder = if rewrites.moments { moments::rewrite(&decoder)?.0 } else { decoder };
    let decoder = if rewrites.snake { snake::rewrite(&decoder)?.0 } else { decoder };
    let decoder = if rewrites.stft { stft::rewrite(&decoder)?.0 } else { decoder };
    Ok(Halves { front, decoder })
}
