//! chorus plugin: Kokoro on PyTorch.
pub mod torch;
