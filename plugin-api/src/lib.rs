//! The contract between the chorus host and its speech-engine plugins: stable-ABI types only.
//!
//! A plugin is a `cdylib` that depends on this crate (and on `abi_stable`, whose export macro
//! needs it by name), implements [`Engine`] on one struct and calls [`export_plugin!`]. The host
//! loads it through [`PluginModuleRef`], checks its layout and API version, and drives it through
//! the FFI-safe [`FfiBackend`] and [`FfiSink`] trait objects.
//!
//! Invariants: this crate does no I/O, spawns no threads and knows nothing of async runtimes.
//! Every entry point that crosses the boundary catches panics (see [`sdk`]).
//!
//! Evolving the contract: the root module and both trait objects are prefix types, so fields and
//! methods added after the last prefix field are optional for older plugins. Plain data structs
//! carry an `extra_json` field for additions that do not warrant a layout change. Enumerations
//! that may grow ([`ErrorKind`], [`Capabilities`]) are integer newtypes, so an unknown value from
//! a newer plugin is still readable.

pub mod error;
pub mod ffi;
pub mod sdk;
pub mod types;

pub use abi_stable;
pub use error::{ErrorKind, PluginError};
pub use ffi::{
    BackendBox, FfiBackend, FfiBackend_TO, FfiSink, FfiSink_TO, Flow, PluginModule, PluginModuleRef, SinkBox,
};
pub use sdk::{Engine, Sink};
pub use types::*;

/// The version of this contract. The host accepts a plugin when the plugin's API version is
/// semver-compatible with (`^plugin`) the host's.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");
