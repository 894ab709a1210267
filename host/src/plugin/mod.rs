//! Plugins: finding library files, loading and checking them, and the loaded plugin's facts.

mod discovery;
mod loader;

pub use discovery::{ABSENT_SUFFIX, absent, discover, library_files, scan};
pub use loader::{Absent, LoadedPlugin, PluginInfo, Rejected, load};
