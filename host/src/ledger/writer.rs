//! The ledger's writer: finished requests go to one thread over a bounded queue and are written
//! there, a batch per transaction, so a request never waits for SQLite — not for a slow disk, not
//! for another program's lock on the file. What cannot be written is never lost silently: a failed
//! write is a warning on stderr and counts in [`Stats::failed`], an entry that finds the queue full
//! (the writer [`BACKLOG`] entries behind) a warning and [`Stats::dropped`].

use super::{Entry, Ledger};
use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Condvar, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc::{Receiver, SyncSender, TrySendError, sync_channel},
    },
    time::{Duration, Instant},
};

/// Entries waiting for the writer before more are dropped: at the default busy timeout of 1.5 s
/// per failing batch, minutes of requests at hundreds per second, in well under a megabyte.
pub const BACKLOG: usize = 1024;

/// Most entries written in one transaction.
const BATCH: usize = 256;

/// What the writer did since the process started.
#[derive(Debug, Default)]
pub struct Stats {
    /// Entries handed to the writer.
    pub queued: AtomicU64,
    /// Entries written to the file.
    pub written: AtomicU64,
    /// Entries whose write failed (a locked, damaged or read-only file); each failure was logged.
    pub failed: AtomicU64,
    /// Entries dropped because the writer was [`BACKLOG`] entries behind; logged too.
    pub dropped: AtomicU64,
    /// Entries the writer has finished with, written or failed; [`Writer::flush`] waits on it.
    settled: Mutex<u64>,
    settled_changed: Condvar,
    /// A drop was logged and nothing was written since: later drops are only counted.
    drop_logged: AtomicBool,
}

impl Stats {
    /// Entries handed to the writer and not yet written or failed.
    pub fn backlog(&self) -> u64 {
        let settled = *self.settled.lock().unwrap_or_else(|e| e.into_inner());
        self.queued.load(Ordering::Acquire).saturating_sub(settled)
    }

    fn settle(&self, n: u64) {
        *self.settled.lock().unwrap_or_else(|e| e.into_inner()) += n;
        self.settled_changed.notify_all();
    }
}

/// The host's handle on its ledger. The file is opened by the writer thread, which starts with the
/// first entry.
pub struct Writer {
    path: PathBuf,
    queue: OnceLock<Option<SyncSender<Entry>>>,
    stats: Arc<Stats>,
    /// [`Writer::close`] was called: later entries are not written.
    closed: AtomicBool,
}

impl Writer {
    pub fn new(path: PathBuf) -> Self {
        Self { path, queue: OnceLock::new(), stats: Arc::default(), closed: AtomicBool::new(false) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Hand `entry` to the writer; never waits.
    pub fn submit(&self, entry: Entry) {
        let Some(queue) = self.queue.get_or_init(|| self.spawn()) else {
            self.stats.failed.fetch_add(1, Ordering::AcqRel);
            eprintln!(
                "chorus: warning: usage ledger {}: no writer thread; usage was not recorded",
                self.path.display()
            );
            return;
        };
        // Counted first, so that a flush that starts after this call waits for the entry; and a
        // close either sees the count or this call sees the close (both sequentially consistent).
        self.stats.queued.fetch_add(1, Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) {
            self.stats.queued.fetch_sub(1, Ordering::AcqRel);
            self.stats.dropped.fetch_add(1, Ordering::AcqRel);
            eprintln!(
                "chorus: warning: usage ledger {}: a request finished after its host was closed; its usage was not recorded",
                self.path.display()
            );
            return;
        }
        if let Err(e) = queue.try_send(entry) {
            self.stats.queued.fetch_sub(1, Ordering::AcqRel);
            self.stats.dropped.fetch_add(1, Ordering::AcqRel);
            let why = match e {
                TrySendError::Full(_) => format!("the writer is {BACKLOG} entries behind"),
                TrySendError::Disconnected(_) => "its writer thread has ended".into(),
            };
            if !self.stats.drop_logged.swap(true, Ordering::AcqRel) {
                eprintln!(
                    "chorus: warning: usage ledger {}: {why}; usage was not recorded (counted in chorus_ledger_dropped_total)",
                    self.path.display()
                );
            }
        }
    }

    /// Wait until every entry submitted before this call is written or has failed, at most
    /// `limit`; whether that happened.
    pub fn flush(&self, limit: Duration) -> bool {
        self.wait_for(self.stats.queued.load(Ordering::Acquire), limit)
    }

    /// Wait until `target` entries are settled, at most `limit`.
    fn wait_for(&self, target: u64, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut settled = self.stats.settled.lock().unwrap_or_else(|e| e.into_inner());
        while *settled < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            settled = self.stats.settled_changed.wait_timeout(settled, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        true
    }

    /// Stop taking entries and wait for the queued ones, at most `limit` (whether they were all
    /// settled). The host calls this when it is dropped: a request that outlives its host (a
    /// library caller that dropped the host mid-stream) is counted in [`Stats::dropped`], never
    /// written, so nothing touches the data folder once the host is gone.
    pub fn close(&self, limit: Duration) -> bool {
        self.closed.store(true, Ordering::SeqCst);
        let target = self.stats.queued.load(Ordering::SeqCst);
        self.wait_for(target, limit)
    }

    fn spawn(&self) -> Option<SyncSender<Entry>> {
        let (tx, rx) = sync_channel(BACKLOG);
        let (path, stats) = (self.path.clone(), self.stats.clone());
        std::thread::Builder::new().name("chorus-ledger".into()).spawn(move || write(&path, &rx, &stats)).ok()?;
        Some(tx)
    }
}

/// The writer thread: until every sender is gone, take what is queued and write it. The file is
/// opened for each batch and closed after it, so the WAL is checkpointed and removed whenever the
/// writer is idle, and a process that exits right after a flush leaves a tidy file.
fn write(path: &Path, queue: &Receiver<Entry>, stats: &Stats) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        match Ledger::open(path).and_then(|ledger| ledger.record_all(&batch)) {
            Ok(()) => {
                stats.written.fetch_add(n, Ordering::AcqRel);
                stats.drop_logged.store(false, Ordering::Release);
            }
            Err(e) => fail(stats, &e, n),
        }
        stats.settle(n);
    }
}

/// `n` entries could not be written: log and count them.
fn fail(stats: &Stats, error: &super::LedgerError, n: u64) {
    stats.failed.fetch_add(n, Ordering::AcqRel);
    let what = if n == 1 { "1 request".to_string() } else { format!("{n} requests") };
    eprintln!("chorus: warning: {error} [{what} not recorded; counted in chorus_ledger_failures_total]");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u64) -> Entry {
        Entry {
            plugin: "p".into(),
            model: "m".into(),
            voice: "v".into(),
            characters: i,
            audio_seconds: 1.0,
            cost_usd: 0.0,
        }
    }

    #[test]
    fn entries_are_written_off_the_callers_thread_and_flush_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Writer::new(dir.path().join("usage.sqlite3"));
        for i in 0..300 {
            writer.submit(entry(i));
        }
        assert!(writer.flush(Duration::from_secs(60)));
        let stats = writer.stats();
        assert_eq!((stats.written.load(Ordering::Acquire), stats.backlog()), (300, 0));
        let totals = Ledger::open(writer.path()).unwrap().totals(None).unwrap();
        assert_eq!((totals[0].requests, totals[0].characters), (300, (0..300).sum()));
    }

    #[test]
    fn closing_writes_what_is_queued_and_nothing_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/usage.sqlite3");
        let writer = Writer::new(path.clone());
        for i in 0..50 {
            writer.submit(entry(i));
        }
        assert!(writer.close(Duration::from_secs(60)));
        let totals = Ledger::open(&path).unwrap().totals(None).unwrap();
        assert_eq!(totals[0].requests, 50);

        std::fs::remove_dir_all(dir.path().join("data")).unwrap();
        writer.submit(entry(1));
        assert!(writer.flush(Duration::from_secs(60)));
        assert_eq!(writer.stats().dropped.load(Ordering::Acquire), 1);
        assert!(!dir.path().join("data").exists(), "a closed writer left the data folder alone");
    }

    #[test]
    fn a_write_that_fails_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be: SQLite cannot open it.
        let path = dir.path().join("usage.sqlite3");
        std::fs::create_dir(&path).unwrap();
        let writer = Writer::new(path);
        writer.submit(entry(1));
        writer.submit(entry(2));
        assert!(writer.flush(Duration::from_secs(60)));
        assert_eq!(writer.stats().failed.load(Ordering::Acquire), 2);
        assert_eq!(writer.stats().written.load(Ordering::Acquire), 0);
    }
}
