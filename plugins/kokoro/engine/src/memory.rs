//! Handing memory back to the system once the plugin has loaded: malloc's free pages, the
//! resident pages of this library's read-only data, which loading parses once (misaki's embedded
//! dictionaries and tagger weights, ~19 MB) and requests barely touch, and the pages of ONNX
//! Runtime's code and constants, most of which only loading runs (graph parsing, optimizers,
//! memory planning: ~19 MB resident after a load, ~6 MB of it read again by inference).

/// All three, after a load.
pub fn release_after_load() {
    trim_heap();
    release_read_only_pages();
    release_pages_of(Object::Named("libonnxruntime"), true);
}

/// Hands the heap's free pages back to the system. Loading leaves large parse buffers freed in
/// the loading threads' malloc arenas, which glibc keeps resident until trimmed.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only returns free heap pages to the kernel; it takes no pointers.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Drops the resident pages of the read-only (neither writable nor executable, outside RELRO)
/// loadable segments of the object this code is linked into; the bytes they spanned.
///
/// Those segments are private mappings of the object's file that nothing ever writes, so
/// `MADV_DONTNEED` loses nothing: a page touched again is read back from the file (usually still
/// in the page cache). The pages just stop counting toward the process's resident memory.
pub fn release_read_only_pages() -> usize {
    release_pages_of(Object::This, false)
}

/// Which loaded object's pages to drop.
#[derive(Clone, Copy)]
pub enum Object {
    /// The object this code is linked into.
    This,
    /// The first object whose path contains this.
    Named(&'static str),
}

/// What `dl_iterate_phdr`'s callback looks for and what it finds.
struct Search {
    object: Object,
    /// Executable segments too, not only read-only data.
    code: bool,
    ranges: Vec<(usize, usize)>,
}

/// Drops the resident pages of `object`'s read-only (and with `code`, executable) loadable
/// segments outside RELRO; the bytes they spanned. Neither kind is ever written, so a page
/// touched again is read back from the file, the same as before.
pub fn release_pages_of(object: Object, code: bool) -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut search = Search { object, code, ranges: Vec::new() };
        // SAFETY: the callback only reads the program headers the loader hands it, and `data` is
        // `search`, alive for the whole call.
        unsafe { libc::dl_iterate_phdr(Some(collect_read_only), (&raw mut search).cast()) };
        let ranges = search.ranges;
        // SAFETY: `sysconf` reads a constant.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let mut released = 0;
        for (start, end) in ranges {
            let (start, end) = (start.next_multiple_of(page), end / page * page);
            if end > start {
                // SAFETY: a whole-page range inside a read-only, never-written file mapping of a
                // loaded object (see above); advice on it changes no byte a reader sees.
                if unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) } == 0 {
                    released += end - start;
                }
            }
        }
        released
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    0
}

/// `dl_iterate_phdr`'s callback: for the object `data` (a [`Search`]) asks for, its read-only
/// (and maybe executable) segments' address ranges, and stop.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" fn collect_read_only(info: *mut libc::dl_phdr_info, _size: usize, data: *mut libc::c_void) -> i32 {
    // SAFETY: the loader passes a valid `info` whose `dlpi_phdr` holds `dlpi_phnum` headers, and
    // a null or NUL-terminated name; `data` is the caller's search.
    let (info, search) = unsafe { (&*info, &mut *data.cast::<Search>()) };
    // SAFETY: as above: `dlpi_phdr` points at `dlpi_phnum` program headers.
    let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
    let base = info.dlpi_addr as usize;
    let span = |h: &libc::Elf64_Phdr| (base + h.p_vaddr as usize, base + (h.p_vaddr + h.p_memsz) as usize);
    let wanted = match search.object {
        Object::This => {
            let here = collect_read_only as *const () as usize;
            headers.iter().filter(|h| h.p_type == libc::PT_LOAD).any(|h| (span(h).0..span(h).1).contains(&here))
        }
        Object::Named(part) => {
            !info.dlpi_name.is_null()
                // SAFETY: a non-null name from the loader is NUL-terminated.
                && unsafe { std::ffi::CStr::from_ptr(info.dlpi_name) }.to_string_lossy().contains(part)
        }
    };
    if !wanted {
        return 0;
    }
    let relro: Vec<(usize, usize)> = headers.iter().filter(|h| h.p_type == libc::PT_GNU_RELRO).map(span).collect();
    let kept = |flags: u32| flags == libc::PF_R || (search.code && flags == libc::PF_R | libc::PF_X);
    for h in headers.iter().filter(|h| h.p_type == libc::PT_LOAD && kept(h.p_flags)) {
        let (start, end) = span(h);
        if relro.iter().all(|&(s, e)| end <= s || start >= e) {
            search.ranges.push((start, end));
        }
    }
    1
}

#[cfg(test)]
mod tests {
    #[test]
    fn read_only_data_reads_the_same_after_its_pages_are_released() {
        let text = include_str!("kokoro_vocab.json");
        let sum = |s: &str| s.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        let before = sum(std::hint::black_box(text));
        let released = super::release_read_only_pages();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(released > 0, "this test binary has a read-only segment");
        }
        assert_eq!(sum(std::hint::black_box(text)), before, "the bytes come back from the file");
        assert!(crate::prepare::Vocab::parse(text).is_ok());
    }

    #[test]
    fn a_named_library_runs_the_same_after_its_code_pages_are_released() {
        let released = super::release_pages_of(super::Object::Named("libc.so"), true);
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(released > 0, "libc has code and read-only data");
        }
        // SAFETY: a NUL-terminated string; libc's code comes back from its file.
        assert_eq!(unsafe { libc::atoi(c"4096".as_ptr()) }, 4096);
        assert_eq!(super::release_pages_of(super::Object::Named("no-such-library"), true), 0);
    }
}
