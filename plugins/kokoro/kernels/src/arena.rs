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

/// The arena's first region. By default it starts at 1 MiB and each region doubles the last, so
/// a decoder run's tensors spread over several regions and each keeps its own touched pages;
/// one region about a sentence's decoder peak holds them together. Cold one sentence 199 → 186
/// MiB, dev set 274 → 266, long passage 355 → 328 (docs/BENCHMARKS.md, session 9); 64 and 96
/// MiB measured 190 and 187 for the sentence.
const FIRST_REGION: usize = 48 << 20;

/// Registers the shared arena on `env` (once per process; ONNX Runtime's default arena settings
/// but for the first region, `FIRST_REGION`). On failure sessions keep their own arenas: more
/// memory, same results.
pub fn share(env: &ort::environment::Environment) -> Result<(), String> {
    let api = ort::api();
    let mut info = std::ptr::null_mut();
    let mut config = std::ptr::null_mut();
    let keys = [c"initial_chunk_size_bytes".as_ptr()];
    let values = [FIRST_REGION];
    // SAFETY: plain C API calls with valid out-pointers and arrays of the length given; `info`
    // and `config` are released after registering (ONNX Runtime copies them).
    unsafe {
        api_status((api.CreateCpuMemoryInfo)(
            ort::sys::OrtAllocatorType::OrtArenaAllocator,
            ort::sys::OrtMemType::OrtMemTypeDefault,
            &mut info,
        ))?;
        if let Err(e) = api_status((api.CreateArenaCfgV2)(keys.as_ptr(), values.as_ptr(), keys.len(), &mut config)) {
            (api.ReleaseMemoryInfo)(info);
            return Err(e);
        }
        let registered = api_status((api.CreateAndRegisterAllocator)(env.ptr().cast_mut(), info, config));
        (api.ReleaseMemoryInfo)(info);
        (api.ReleaseArenaCfg)(config);
        registered?;
    }
    SHARED.store(true, Ordering::Release);
    Ok(())
}

/// Whether sessions should use the shared arena (`session.use_env_allocators`).
pub fn shared() -> bool {
    SHARED.load(Ordering::Acquire)
}
