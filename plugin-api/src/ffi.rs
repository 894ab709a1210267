//! The FFI surface: the root module every plugin exports and the two callback vtables.
//!
//! Plugin authors normally never touch these directly; [`crate::sdk`] adapts a plain Rust
//! [`crate::Engine`] to them and catches panics on every entry point.

use crate::{BackendInfo, Manifest, PluginError, Progress, Summary, SynthesisRequest, Voice, WordTimestamp};
use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, RResult, RSlice, RStr, RVec},
};

/// What the host answers to every push: go on, or stop because the consumer is gone.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

impl Flow {
    pub fn is_stop(self) -> bool {
        self == Flow::Stop
    }
}

/// The sink the host passes into `synthesize`. Implemented by the host.
#[sabi_trait]
pub trait FfiSink: Send {
    /// A block of f32 PCM, interleaved when `channels > 1`.
    fn audio(&mut self, samples: RSlice<'_, f32>, sample_rate: u32, channels: u16) -> Flow;
    /// Progress after a unit of work (a chunk, a word, a received block).
    fn progress(&mut self, progress: &Progress) -> Flow;
    /// Word timestamps, relative to the start of this request's audio.
    #[sabi(last_prefix_field)]
    fn words(&mut self, words: RSlice<'_, WordTimestamp>) -> Flow;
}

/// An owned host sink as the plugin receives it.
pub type SinkBox = FfiSink_TO<'static, RBox<()>>;

/// A speech backend created by a plugin. Implemented by [`crate::sdk`] around an [`crate::Engine`].
#[sabi_trait]
pub trait FfiBackend: Send + Sync {
    /// Static facts: sample rate, capabilities, languages, models and their prices.
    fn info(&self) -> BackendInfo;
    /// The voices this backend offers now (a remote backend may ask its server).
    fn voices(&self) -> RResult<RVec<Voice>, PluginError>;
    /// Speak `request` into `sink`, returning when done, failed, or told to stop.
    #[sabi(last_prefix_field)]
    fn synthesize(&self, request: &SynthesisRequest, sink: SinkBox) -> RResult<Summary, PluginError>;
}

/// An owned backend as the host holds it.
pub type BackendBox = FfiBackend_TO<'static, RBox<()>>;

/// The root module every plugin library exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(option))]
pub struct PluginModule {
    /// Who the plugin is and which model names it serves.
    pub manifest: extern "C" fn() -> Manifest,
    /// Create a backend from its JSON configuration (`{}` when the user gave none).
    #[sabi(last_prefix_field)]
    pub new_backend: extern "C" fn(config: RStr<'_>) -> RResult<BackendBox, PluginError>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "chorus_plugin";
    const NAME: &'static str = "chorus_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
