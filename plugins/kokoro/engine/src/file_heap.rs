//! A heap in a file mapping for the text front-end's load-time data, and the plugin's global
//! allocator that routes to it.
//!
//! misaki-rs parses its lexicons and taggers into ~76 MiB of small heap objects at load, half of
//! them a perceptron tagger it builds and never reads again (a private field). Everything a thread
//! allocates inside [`load_into`] lands in one shared mapping of an unlinked file in the data
//! folder; afterwards the mapping's pages are dropped from the process (`MADV_DONTNEED`, which for
//! a shared file mapping keeps every byte: a page touched again comes back from the page cache).
//! What requests never read (the unused tagger, most of the lexicon) then stops counting as the
//! process's memory, and the kernel can write it out and reclaim it like a memory-mapped model.
//!
//! Everything else, and every allocation outside [`load_into`], goes to the system allocator;
//! an object from the file heap that grows later moves to the system allocator.
//!
//! The heap works only in a binary whose `#[global_allocator]` is [`Allocator`]: the
//! `chorus-plugin-kokoro` cdylib installs it; a binary that links the engine without it (tests,
//! tools) gets ordinary memory, and [`unused_because`] says so. It is part of the `lean_memory`
//! switch (docs/BENCHMARKS.md, session 13: 76 MiB less peak anonymous memory on the dev set).
//!
//! Invariant: only a thread inside [`load_into`] allocates in the file heap, and the heap's
//! mapping is never unmapped: objects in it (the front-end, and anything its loading initialized
//! lazily) may outlive any engine. Its pages may be dropped at any time (`MADV_DONTNEED` keeps a
//! shared file mapping's bytes), and an object from it that grows later moves to the system
//! allocator.

use std::path::Path;

/// Bytes of the mapping: room for both languages' G2P (~80 MB each), with margin.
/// Reserved on disk up front (`fallocate`), so a full disk shows at load as "not used", never as
/// a fault in the middle of a request.
pub const HEAP_BYTES: usize = 256 << 20;

/// While loading, the heap's pages are dropped each time this many bytes have been handed out.
/// The build reads back much of what it wrote (tables rehashed as they grow), so 8 MiB still
/// left ~33 MiB resident at times while ONNX Runtime loaded beside it; at 2 MiB a cold
/// sentence's load no longer peaks above its synthesis (docs/BENCHMARKS.md, session 9).
pub const RELEASE_EVERY: usize = 2 << 20;

/// Runs `load` with this thread's allocations placed in the file heap in `dir`, then drops the
/// heap's resident pages. Returns `load`'s result and whether the file heap was used (it is only
/// on Linux, in a folder on ext4, XFS or overlayfs where 256 MiB can be reserved).
pub fn load_into<T>(dir: &Path, load: impl FnOnce() -> T) -> (T, bool) {
    imp::load_into(dir, load)
}

/// Whether a file heap is mapped in this process.
pub fn in_use() -> bool {
    imp::in_use()
}

/// Why the first [`load_into`] of this process could not map the file heap, if it could not.
pub fn unused_because() -> Option<String> {
    imp::unused_because()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub use imp::Allocator;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::os::fd::AsRawFd;
    use std::path::Path;
    use std::ptr::NonNull;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex, OnceLock, PoisonError};

    use talc::{ErrOnOom, Span, Talc};

    use super::HEAP_BYTES;

    /// The plugin's global allocator: the system's, except for a thread inside `load_into`.
    pub struct Allocator;

    struct Heap(Talc<ErrOnOom>);
    // SAFETY: the allocator's pointers lead into the mapping, which lives as long as the process,
    // and every use goes through `HEAP`'s lock.
    unsafe impl Send for Heap {}

    static HEAP: Mutex<Heap> = Mutex::new(Heap(Talc::new(ErrOnOom)));
    /// The mapping's address range; both 0 until it exists.
    static START: AtomicUsize = AtomicUsize::new(0);
    static END: AtomicUsize = AtomicUsize::new(0);
    /// Whether the mapping was made, tried once per process.
    static REGION: OnceLock<Result<(), String>> = OnceLock::new();
    /// Bytes the heap has handed out since its pages were last dropped.
    static SINCE_RELEASE: AtomicUsize = AtomicUsize::new(0);

    thread_local! {
        static LOADING: Cell<bool> = const { Cell::new(false) };
    }

    fn heap() -> std::sync::MutexGuard<'static, Heap> {
        HEAP.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn in_heap(ptr: *mut u8) -> bool {
        let p = ptr as usize;
        p >= START.load(Ordering::Acquire) && p < END.load(Ordering::Acquire)
    }

    pub fn in_use() -> bool {
        matches!(REGION.get(), Some(Ok(())))
    }

    /// Set by every call of [`Allocator`]'s `alloc`: whether it is this binary's global allocator.
    static CALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    /// Whether [`Allocator`] is this binary's global allocator (an allocation reaches it).
    fn installed() -> bool {
        CALLED.store(false, Ordering::Relaxed);
        drop(std::hint::black_box(Box::new(std::hint::black_box(7u64))));
        CALLED.load(Ordering::Relaxed)
    }

    pub fn unused_because() -> Option<String> {
        REGION.get().and_then(|r| r.clone().err())
    }

    pub fn load_into<T>(dir: &Path, load: impl FnOnce() -> T) -> (T, bool) {
        let region = REGION.get_or_init(|| {
            if !installed() {
                return Err("the file heap is not this binary's global allocator".into());
            }
            map(dir)
        });
        if region.is_err() {
            return (load(), false);
        }
        struct Loading;
        impl Drop for Loading {
            fn drop(&mut self) {
                LOADING.set(false);
                release();
            }
        }
        LOADING.set(true);
        let _loading = Loading;
        (load(), true)
    }

    /// Counts bytes handed out while loading, and every `RELEASE_EVERY` of them drops the heap's
    /// pages, so loading never holds more than about that much of it resident.
    fn allocated(bytes: usize) {
        if SINCE_RELEASE.fetch_add(bytes, Ordering::Relaxed) + bytes >= super::RELEASE_EVERY {
            SINCE_RELEASE.store(0, Ordering::Relaxed);
            release();
        }
    }

    /// Drops the mapping's resident pages; its bytes stay in the file (see the module docs).
    fn release() {
        let (start, end) = (START.load(Ordering::Acquire), END.load(Ordering::Acquire));
        // SAFETY: a whole-page range of a shared file mapping this module owns; the advice changes
        // no byte any reader sees, so objects other threads use in it stay intact.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }

    /// Maps an unlinked, fully reserved file in `dir` and gives it to the heap.
    fn map(dir: &Path) -> Result<(), String> {
        let file = tempfile::tempfile_in(dir).map_err(|e| e.to_string())?;
        let fd = file.as_raw_fd();
        // SAFETY: `fstatfs` fills a plain struct from an open descriptor.
        let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: as above: `fs` is a valid, writable struct and `fd` is open.
        if unsafe { libc::fstatfs(fd, &mut fs) } != 0 {
            return Err("fstatfs failed".into());
        }
        // Only where `fallocate` makes every later write to the file succeed: on a copy-on-write
        // file system a rewrite may need new blocks, and a write that fails in a mapping is a
        // SIGBUS. (A RAM file system would keep the heap in memory anyway.)
        const EXT4: i64 = 0xEF53;
        const XFS: i64 = 0x5846_5342;
        const OVERLAYFS: i64 = 0x794C_7630;
        #[allow(clippy::useless_conversion, reason = "f_type's width depends on the architecture")]
        if ![EXT4, XFS, OVERLAYFS].contains(&i64::from(fs.f_type)) {
            return Err(format!("file system type {:#x} is not one the heap is used on", fs.f_type));
        }
        let len = HEAP_BYTES as libc::off_t;
        // SAFETY: reserves blocks for an open file; no memory is involved.
        if unsafe { libc::fallocate(fd, 0, 0, len) } != 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        // SAFETY: a fresh shared mapping of the whole (reserved) file; the kernel picks the address.
        let base = unsafe {
            libc::mmap(std::ptr::null_mut(), HEAP_BYTES, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0)
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error().to_string());
        }
        // The mapping keeps the file alive; it is never unmapped, as objects in it may outlive any
        // one engine.
        drop(file);
        let base = base.cast::<u8>();
        // SAFETY: the mapping is ours, writable, and `HEAP_BYTES` long.
        unsafe { heap().0.claim(Span::from_base_size(base, HEAP_BYTES)) }.map_err(|()| "claim failed".to_string())?;
        START.store(base as usize, Ordering::Release);
        END.store(base as usize + HEAP_BYTES, Ordering::Release);
        Ok(())
    }

    // SAFETY: every pointer is handed back to the allocator that made it: `in_heap` tells the two
    // apart by address, and the heap's range never changes once set.
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            CALLED.store(true, Ordering::Relaxed);
            if LOADING.get() {
                // SAFETY: GlobalAlloc callers pass a non-zero size.
                if let Ok(p) = unsafe { heap().0.malloc(layout) } {
                    allocated(layout.size());
                    return p.as_ptr();
                }
            }
            // SAFETY: forwarded as given.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            if LOADING.get() {
                // SAFETY: as in `alloc`; the block is cleared before it is returned.
                if let Ok(p) = unsafe { heap().0.malloc(layout) } {
                    allocated(layout.size());
                    // SAFETY: the block `malloc` just returned holds `layout.size()` bytes.
                    unsafe { p.as_ptr().write_bytes(0, layout.size()) };
                    return p.as_ptr();
                }
            }
            // SAFETY: forwarded as given.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if in_heap(ptr) {
                // SAFETY: `ptr` came from the heap's `malloc` with `layout`.
                unsafe { heap().0.free(NonNull::new_unchecked(ptr), layout) }
            } else {
                // SAFETY: `ptr` came from `System` with `layout`.
                unsafe { System.dealloc(ptr, layout) }
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if !in_heap(ptr) {
                // SAFETY: `ptr` came from `System` with `layout`.
                return unsafe { System.realloc(ptr, layout, new_size) };
            }
            if LOADING.get() {
                let mut heap = heap();
                // SAFETY: `ptr` came from the heap's `malloc` with `layout`; sizes are non-zero.
                unsafe {
                    let p = NonNull::new_unchecked(ptr);
                    if new_size <= layout.size() {
                        heap.0.shrink(p, layout, new_size);
                        return ptr;
                    }
                    if let Ok(p) = heap.0.grow_in_place(p, layout, new_size) {
                        return p.as_ptr();
                    }
                }
            }
            // SAFETY: `new_size` is non-zero and fits `layout`'s alignment (GlobalAlloc's contract).
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: a fresh block (heap while loading, else system), the old bytes copied into
            // it, the old block freed.
            unsafe {
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    use std::path::Path;

    pub fn load_into<T>(_dir: &Path, load: impl FnOnce() -> T) -> (T, bool) {
        (load(), false)
    }

    pub fn in_use() -> bool {
        false
    }

    pub fn unused_because() -> Option<String> {
        Some("the file heap is only built on Linux with glibc".into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn without_the_allocator_installed_loading_uses_ordinary_memory_and_says_why() {
        let dir = tempfile::tempdir_in(std::env::current_exe().unwrap().parent().unwrap()).unwrap();
        let (value, used) = super::load_into(dir.path(), || vec![1u8; 4096]);
        assert_eq!(value, vec![1u8; 4096]);
        assert!(!used && !super::in_use());
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(super::unused_because().unwrap().contains("global allocator"), "{:?}", super::unused_because());
        }
    }
}
