//! Plugins: finding library files, loading and checking them, and the loaded plugin's facts.

mod discovery;
mod loader;

pub use discovery::{discover, library_files, scan};
pub use loader::{LoadedPlugin, PluginInfo, Rejected, load};
