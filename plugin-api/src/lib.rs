//! The contract between the chorus host and its speech-engine plugins (stable-ABI types), and
//! the SDK that turns one plain Rust struct into a plugin.
//!
//! A plugin is a `cdylib` that depends on this crate (and on `abi_stable`, whose export macro
//! needs it by name), implements [`Engine`] on one struct and calls [`export_plugin!`]. The host
//! loads it through [`PluginModuleRef`], checks its layout and API version, and drives it through
//! the FFI-safe [`FfiBackend`] and [`FfiSink`] trait objects.
//!
//! Invariants: this crate does no I/O, spawns no threads and knows nothing of async runtimes.
//! Every entry point that crosses the boundary catches panics (see [`sdk`]).
//!
//! The SDK: [`Engine`] (typed config, [`config`]), [`Sink`] (pushes that answer `Err(Stopped)`,
//! for `?`), builders for the data handed over ([`build`]), [`export_plugin!`].
//!
//! Evolving the contract: the root module and both trait objects are prefix types, so fields and
//! methods added after the last prefix field are optional for older plugins. Plain data structs
//! carry an `extra_json` field for additions that do not warrant a layout change. Enumerations
//! that may grow ([`ErrorKind`], [`Capabilities`]) are integer newtypes, so an unknown value from
//! a newer plugin is still readable.

pub mod build;
pub mod config;
pub mod error;
pub mod ffi;
pub mod sdk;
pub mod sink;
pub mod types;

pub use abi_stable;
pub use config::NoConfig;
pub use error::{ErrorKind, PluginError};
pub use ffi::{
    BackendBox, FfiBackend, FfiBackend_TO, FfiSink, FfiSink_TO, Flow, PluginModule, PluginModuleRef, SinkBox,
};
pub use sdk::{Engine, Sink, Stopped, SynthError};
pub use types::*;

/// The version of this crate, the plugin API, apart from the host's. The host loads a plugin
/// whose API version has the same minor as its own while below 1.0 (any patch), the same major
/// from 1.0 on.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");
