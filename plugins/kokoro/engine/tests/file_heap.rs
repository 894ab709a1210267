//! The file heap as a binary's global allocator, as the `chorus-plugin-kokoro` cdylib installs it:
//! what loads into it reads the same after its pages are dropped, and other threads keep
//! allocating and freeing meanwhile.

use chorus_kokoro::file_heap::{in_use, load_into};
use std::collections::HashMap;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: chorus_kokoro::file_heap::Allocator = chorus_kokoro::file_heap::Allocator;

/// A folder beside the test binary: /tmp may be a RAM file system, where the heap is not used.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(std::env::current_exe().unwrap().parent().unwrap()).unwrap()
}

#[test]
fn what_loads_into_the_file_heap_reads_the_same_after_its_pages_are_dropped() {
    let dir = scratch();
    let build = || (0..50_000u32).map(|i| (format!("word{i}"), vec![i; 1 + i as usize % 7])).collect::<HashMap<_, _>>();
    let (mut loaded, used) = load_into(dir.path(), build);
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    assert!(used && in_use(), "the file heap was not used in {}", dir.path().display());
    assert_eq!(loaded, build());
    // Objects from the file heap still grow (moving to the system allocator) and free.
    loaded.get_mut("word7").unwrap().extend(0..1000);
    assert_eq!(loaded["word7"].len(), 1001);
    drop(loaded);
}

#[test]
fn other_threads_free_and_allocate_while_a_thread_loads() {
    let dir = scratch();
    let words = |from: u32| (from..from + 20_000).map(|i| format!("word{i}")).collect::<Vec<_>>();
    let (first, _) = load_into(dir.path(), || words(0));
    let (second, _) = std::thread::scope(|scope| {
        // Freed on another thread, piece by piece, while this one loads again.
        let freeing = scope.spawn(move || {
            let mut mine = Vec::new();
            for w in first {
                mine.push(w.len());
                drop(w);
            }
            mine.len()
        });
        let loaded = load_into(dir.path(), || words(20_000));
        assert_eq!(freeing.join().unwrap(), 20_000);
        loaded
    });
    assert!(second.iter().enumerate().all(|(i, w)| *w == format!("word{}", 20_000 + i)));
}
