//! The author-facing side: implement [`Engine`] on one struct, call [`export_plugin!`], done.
//!
//! Everything here runs inside the plugin. Every call that arrives from the host goes through
//! [`guard`], so a panic in plugin code becomes a [`PluginError`] instead of aborting the host.
//! The config arrives decoded ([`crate::config::decode`]), and a [`SynthError::Stopped`] from
//! `synthesize` reaches the host as the [`Sink::summary`] of what was pushed.

use crate::{
    API_VERSION, BackendBox, BackendInfo, Capabilities, FfiBackend, FfiBackend_TO, Manifest, PluginError, PluginModule,
    PluginModuleRef, SinkBox, Summary, SynthesisRequest, Voice, config,
};
use abi_stable::{
    prefix_type::PrefixTypeTrait,
    sabi_trait::TD_Opaque,
    std_types::{RResult, RStr, RVec},
};
use serde::de::DeserializeOwned;
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use crate::sink::{Sink, Stopped, SynthError};

/// A speech engine. One struct implementing this is a whole plugin.
pub trait Engine: Send + Sync + Sized + 'static {
    /// Plugin name, shown in listings and used as the key of its config table.
    const NAME: &'static str;
    /// Plugin version; use `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;
    /// Model-name patterns served (`example*`).
    const PATTERNS: &'static [&'static str];
    const DESCRIPTION: &'static str;
    /// SPDX licence expression of the plugin including what it links.
    const LICENSE: &'static str;
    const CAPABILITIES: Capabilities;

    /// The `[backends.NAME]` table: usually a `#[derive(Deserialize)] #[serde(default)]` struct.
    /// Its decoding errors and unknown keys are reported for you ([`crate::config::decode`]).
    type Config: DeserializeOwned + Default;

    /// Build the engine from its config (the default when the user gave none).
    fn new(config: Self::Config) -> Result<Self, PluginError>;
    fn info(&self) -> BackendInfo;
    fn voices(&self) -> Result<Vec<Voice>, PluginError>;
    /// Speak the request into `sink`. A push answers `Err(Stopped)` once the consumer is gone:
    /// return it with `?`.
    fn synthesize(&self, request: &SynthesisRequest, sink: &mut Sink) -> Result<Summary, SynthError>;
}

/// Run `f`, turning a panic into an internal error that names `what`.
pub fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, PluginError>) -> Result<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            Err(PluginError::internal(format!("plugin panicked in {what}: {detail}")))
        }
    }
}

/// Adapts an [`Engine`] to the FFI backend trait, guarding every call.
struct Guarded<E>(E);

impl<E: Engine> FfiBackend for Guarded<E> {
    fn info(&self) -> BackendInfo {
        // `info` cannot fail in the contract; a panic here yields an empty description.
        guard("info", || Ok(self.0.info())).unwrap_or_else(|_| empty_info())
    }
    fn voices(&self) -> RResult<RVec<Voice>, PluginError> {
        guard("voices", || self.0.voices().map(RVec::from)).into()
    }
    fn synthesize(&self, request: &SynthesisRequest, sink: SinkBox) -> RResult<Summary, PluginError> {
        let mut sink = Sink::new(sink);
        guard("synthesize", || match self.0.synthesize(request, &mut sink) {
            Ok(summary) => Ok(summary),
            Err(SynthError::Stopped) => Ok(sink.summary(request)),
            Err(SynthError::Failed(error)) => Err(error),
        })
        .into()
    }
}

fn empty_info() -> BackendInfo {
    BackendInfo::new(24_000)
}

/// The manifest of `E`, stamped with this crate's API version.
pub fn manifest_of<E: Engine>() -> Manifest {
    Manifest {
        name: E::NAME.into(),
        version: E::VERSION.into(),
        api_version: API_VERSION.into(),
        patterns: E::PATTERNS.iter().map(|p| (*p).into()).collect(),
        description: E::DESCRIPTION.into(),
        license: E::LICENSE.into(),
        capabilities: E::CAPABILITIES,
        extra_json: "{}".into(),
    }
}

extern "C" fn ffi_manifest<E: Engine>() -> Manifest {
    // Building a manifest from constants cannot reasonably panic, but never let one cross.
    guard("manifest", || Ok(manifest_of::<E>())).unwrap_or_else(|e| Manifest {
        name: E::NAME.into(),
        version: "".into(),
        api_version: API_VERSION.into(),
        patterns: RVec::new(),
        description: e.message,
        license: "".into(),
        capabilities: Capabilities::NONE,
        extra_json: "{}".into(),
    })
}

extern "C" fn ffi_new_backend<E: Engine>(config: RStr<'_>) -> RResult<BackendBox, PluginError> {
    guard("its constructor", || E::new(config::decode(E::NAME, config.as_str())?))
        .map(|engine| FfiBackend_TO::from_value(Guarded(engine), TD_Opaque))
        .into()
}

/// The root module for `E`. Called once by the code [`export_plugin!`] generates.
pub fn root_module<E: Engine>() -> PluginModuleRef {
    PluginModule { manifest: ffi_manifest::<E>, new_backend: ffi_new_backend::<E> }.leak_into_prefix()
}

/// Export an [`Engine`] as this library's chorus plugin.
///
/// ```ignore
/// chorus_plugin_api::export_plugin!(MyEngine);
/// ```
/// The plugin crate must be a `cdylib` and list `abi_stable` among its dependencies.
#[macro_export]
macro_rules! export_plugin {
    ($engine:ty) => {
        #[::abi_stable::export_root_module]
        pub fn chorus_plugin_root_module() -> $crate::PluginModuleRef {
            $crate::sdk::root_module::<$engine>()
        }
    };
}
