//! Memory a user would run out of, sampled while a measured process runs: the peak of its
//! anonymous plus dirty shared memory (`Anonymous` + `Shared_Dirty` in `/proc/PID/smaps_rollup`:
//! pages only swap or a write-back can take away) and the peak of its proportional set size
//! (PSS), beside the kernel's peak RSS. Clean file pages (code, mapped weights) count in RSS but
//! not in the first, and a page dropped and read back again moves RSS without freeing anything.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the process's memory is read.
const EVERY: Duration = Duration::from_millis(50);

/// The peaks seen over a run, KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Peaks {
    pub private_kib: u64,
    pub pss_kib: u64,
}

/// A thread reading a process's memory until told to stop.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Option<Peaks>>,
}

/// Sample process `pid`, or with `child`, the first child of `pid` (the program
/// `/usr/bin/time` runs), as soon as it exists.
pub fn sample(pid: u32, child: bool) -> Sampler {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut peaks: Option<Peaks> = None;
        let mut target = (!child).then_some(pid);
        while !stopped.load(Ordering::Relaxed) {
            if target.is_none() {
                target = first_child(pid);
            }
            if let Some(now) = target.and_then(read) {
                let p = peaks.get_or_insert_with(Peaks::default);
                p.private_kib = p.private_kib.max(now.private_kib);
                p.pss_kib = p.pss_kib.max(now.pss_kib);
            }
            std::thread::sleep(EVERY);
        }
        peaks
    });
    Sampler { stop, thread }
}

impl Sampler {
    /// Stop sampling; the peaks seen, if the process was ever read.
    pub fn finish(self) -> Option<Peaks> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().ok().flatten()
    }
}

fn first_child(pid: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// The process's memory now, if it is still there.
fn read(pid: u32) -> Option<Peaks> {
    parse(&std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?)
}

/// `smaps_rollup`'s fields as [`Peaks`].
fn parse(rollup: &str) -> Option<Peaks> {
    let kib = |key: &str| {
        rollup
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':')?.split_whitespace().next()?.parse::<u64>().ok())
    };
    Some(Peaks { private_kib: kib("Anonymous")? + kib("Shared_Dirty").unwrap_or(0), pss_kib: kib("Pss")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rollup_gives_anonymous_plus_dirty_shared_and_pss() {
        let rollup = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss: 300 kB\nPss: 250 kB\nPss_Anon: 100 kB\n\
                      Shared_Dirty: 8 kB\nPrivate_Dirty: 120 kB\nAnonymous: 150 kB\n";
        assert_eq!(parse(rollup), Some(Peaks { private_kib: 158, pss_kib: 250 }));
        assert_eq!(parse("Rss: 3 kB\n"), None);
    }

    #[test]
    fn this_process_is_sampled() {
        let sampler = sample(std::process::id(), false);
        std::thread::sleep(EVERY * 3);
        let peaks = sampler.finish().expect("this process's smaps_rollup");
        assert!(peaks.private_kib > 0 && peaks.pss_kib > 0, "{peaks:?}");
    }
}
