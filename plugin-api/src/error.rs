//! The error a plugin returns: a kind the host maps to a status, and a message for the user.

use abi_stable::{StableAbi, std_types::RString};
use std::fmt;

/// What went wrong, as an open set of codes: unknown codes from newer plugins read as
/// [`ErrorKind::INTERNAL`] in [`ErrorKind::name`].
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorKind(pub u32);

impl ErrorKind {
    /// The request is malformed or out of range (text, speed, options).
    pub const BAD_REQUEST: Self = Self(1);
    /// The voice named in the request does not exist for this backend.
    pub const UNKNOWN_VOICE: Self = Self(2);
    /// The backend lacks configuration or assets it needs (key, model file, URL).
    pub const NOT_CONFIGURED: Self = Self(3);
    /// A service or resource the backend depends on is not reachable right now.
    pub const UNAVAILABLE: Self = Self(4);
    /// A bug or unexpected failure inside the plugin (panics land here).
    pub const INTERNAL: Self = Self(5);
    /// The remote service refused for rate or quota reasons; retrying later may work.
    pub const RATE_LIMITED: Self = Self(6);
    /// The request needs a capability the backend does not have (cloning, a language, ...).
    pub const UNSUPPORTED: Self = Self(7);

    /// A stable lower-case name for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::BAD_REQUEST => "bad_request",
            Self::UNKNOWN_VOICE => "unknown_voice",
            Self::NOT_CONFIGURED => "not_configured",
            Self::UNAVAILABLE => "unavailable",
            Self::RATE_LIMITED => "rate_limited",
            Self::UNSUPPORTED => "unsupported",
            _ => "internal",
        }
    }
}

impl fmt::Debug for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error crossing the plugin boundary.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq)]
pub struct PluginError {
    pub kind: ErrorKind,
    pub message: RString,
}

impl PluginError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: RString::from(message.into()) }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BAD_REQUEST, message)
    }
    pub fn unknown_voice(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UNKNOWN_VOICE, message)
    }
    pub fn not_configured(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NOT_CONFIGURED, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UNAVAILABLE, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::INTERNAL, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UNSUPPORTED, message)
    }
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RATE_LIMITED, message)
    }
}

impl fmt::Debug for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}
