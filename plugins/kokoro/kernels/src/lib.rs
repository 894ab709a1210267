//! chorus's own ONNX Runtime operators for Kokoro's derived graph, domain `chorus`: the fused
//! Snake activation ([`snake`]), the instance norms' statistics ([`moments`]), the short-time Fourier transform ([`stft`]), a convolution's input layout and its way back to float (`ops`),
//! and a whole integer convolution a block at a time (`qconv`), all registered by [`domain`];
//! plus the CPU arena all of the engine's sessions share ([`arena`]). This is where chorus's SIMD and its unsafe
//! calls into ONNX Runtime's C API live, each with the reason it is sound.
//!
//! Every kernel computes what the nodes it replaces compute, bit for bit, and never unwinds into
//! ONNX Runtime: a panic fails that run with an error. It never reads a file or rewrites a graph
//! (the graph crate writes the nodes these kernels run, named in its `schema::chorus`).

#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod arena;
pub mod moments;
mod ops;
mod qconv;
mod rescale;
pub mod snake;
pub mod stft;

use chorus_kokoro_graph::schema::chorus::DOMAIN;
use ort::operator::OperatorDomain;

/// Every chorus operator, for a session builder's `with_operators`.
pub fn domain() -> ort::Result<OperatorDomain> {
    OperatorDomain::new(DOMAIN)?
        .add(snake::Snake::<false>)?
        .add(snake::Snake::<true>)?
        .add(ops::Im2col)?
        .add(ops::Requantize)?
        .add(qconv::QConv)?
        .add(moments::Moments)?
        .add(stft::Stft)
}
