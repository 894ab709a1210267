//! The Kokoro chorus plugin as a library file: the engine (`chorus-kokoro`) exported through the
//! plugin ABI, and the file heap as this library's global allocator. Nothing else lives here: the
//! engine is a plain rlib, so tests and tools that link it keep their own allocator.

pub use chorus_kokoro::KokoroEngine;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: chorus_kokoro::file_heap::Allocator = chorus_kokoro::file_heap::Allocator;

chorus_plugin_api::export_plugin!(KokoroEngine);
