//! One CPU memory arena for all of the plugin's ONNX Runtime sessions, registered on the
//! environment, instead of one per session.
//!
//! Each session's own arena keeps, for the life of the process, the most memory any of its runs
//! ever needed: the front's, the decoder's and the load-time probe's add up. Shared, a request's
//! front and decoder reuse the same free blocks. Together with memory patterns off (see
//! `model.rs`) this took the dev set's peak from 488 to 398 MiB and the long passage's from 734 to
//! 532 MiB, at the same speed and with the same audio (docs/BENCHMARKS.md, session 7).

use std::sync::atomic::{AtomicBool, Ordering};

use ort::AsPointer;

use crate::ops::api_status;

static SHARED: AtomicBool = AtomicBool::new(false);

/// Registers the shared arena on `env` (once per process; ONNX Runtime's default arena settings).
/// On failure sessions keep their own arenas: more memory, same results.
pub fn share(env: &ort::environment::Environment) -> Result<(), String> {
    let api = ort::api();
    let mut info = std::ptr::null_mut();
    // SAFETY: plain C API calls with valid out-pointers; `info` is released after registering
    // (ONNX Runtime copies it), and a null arena config asks for the default settings.
    unsafe {
        api_status((api.CreateCpuMemoryInfo)(
            ort::sys::OrtAllocatorType::OrtArenaAllocator,
            ort::sys::OrtMemType::OrtMemTypeDefault,
            &mut info,
        ))?;
        let registered = api_status((api.CreateAndRegisterAllocator)(env.ptr().cast_mut(), info, std::ptr::null()));
        (api.ReleaseMemoryInfo)(info);
        registered?;
    }
    SHARED.store(true, Ordering::Release);
    Ok(())
}

/// Whether sessions should use the shared arena (`session.use_env_allocators`).
pub fn shared() -> bool {
    SHARED.load(Ordering::Acquire)
}
