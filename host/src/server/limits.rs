//! Per-backend admission: at most `concurrency` syntheses run at once, up to `queue` more wait
//! for a slot, and anything beyond that is refused at once (the caller answers 429). The queue is
//! measured in work too: a request that finds no free slot waits only if the characters of the
//! requests ahead of it (running and waiting) are at most `queue_chars`, which the defaults size
//! so that the wait ends within the request timeout (see `settings.rs`); otherwise it is refused
//! up front rather than timed out after.

use super::settings::Limit;
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

struct Gate {
    slots: Arc<Semaphore>,
    /// Requests running or waiting. Counted apart from the semaphore so that a finished
    /// synthesis frees its place in the same instant it releases its slot: a waiter handed that
    /// slot may not have run yet, and must not make the next request look like one too many.
    admitted: AtomicUsize,
    /// Characters of the requests running or waiting.
    chars: AtomicUsize,
    concurrency: usize,
    queue: usize,
    queue_chars: usize,
}

/// The gates of every backend, created on first use from the settings.
#[derive(Clone)]
pub struct Limits {
    gates: Arc<Mutex<HashMap<String, Arc<Gate>>>>,
    limit_of: Arc<dyn Fn(&str) -> Limit + Send + Sync>,
}

/// The queue of this backend is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// One admitted request: its place in the count, and its characters, until dropped (also when
/// its wait is abandoned).
struct Admitted(Arc<Gate>, usize);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.chars.fetch_sub(self.1, Ordering::AcqRel);
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A running synthesis's slot on its backend; dropping it frees the slot and the place.
pub struct Slot {
    // Field order is drop order: the place is given back before the permit wakes a waiter.
    _admitted: Admitted,
    _permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Slot")
    }
}

impl Limits {
    pub fn new(limit_of: impl Fn(&str) -> Limit + Send + Sync + 'static) -> Self {
        Self { gates: Arc::default(), limit_of: Arc::new(limit_of) }
    }

    fn gate(&self, plugin: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        gates
            .entry(plugin.to_string())
            .or_insert_with(|| {
                let limit = (self.limit_of)(plugin);
                Arc::new(Gate {
                    slots: Arc::new(Semaphore::new(limit.concurrency)),
                    admitted: AtomicUsize::new(0),
                    chars: AtomicUsize::new(0),
                    concurrency: limit.concurrency,
                    queue: limit.queue,
                    queue_chars: limit.queue_chars,
                })
            })
            .clone()
    }

    /// A slot for one synthesis of `chars` characters on `plugin`: at once if one is free, after
    /// waiting in the queue if there is room in it (in requests and in characters ahead), else
    /// [`Full`]. Hold the slot until the plugin has returned.
    pub async fn enter(&self, plugin: &str, chars: usize) -> Result<Slot, Full> {
        let gate = self.gate(plugin);
        let room = gate.concurrency + gate.queue;
        gate.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < room).then_some(n + 1))
            .map_err(|_| Full)?;
        gate.chars.fetch_add(chars, Ordering::AcqRel);
        let admitted = Admitted(gate.clone(), chars);
        if let Ok(permit) = gate.slots.clone().try_acquire_owned() {
            return Ok(Slot { _admitted: admitted, _permit: permit });
        }
        let ahead = gate.chars.load(Ordering::Acquire).saturating_sub(chars);
        if ahead > gate.queue_chars {
            return Err(Full);
        }
        let permit = gate.slots.clone().acquire_owned().await.map_err(|_| Full)?;
        Ok(Slot { _admitted: admitted, _permit: permit })
    }

    /// (running, waiting) for `plugin`.
    pub fn load(&self, plugin: &str) -> (usize, usize) {
        let gate = self.gate(plugin);
        let running = gate.concurrency - gate.slots.available_permits();
        (running, gate.admitted.load(Ordering::Acquire).saturating_sub(running))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Backend "p" with one slot and a queue of one: the slot taken, one request waiting.
    async fn one_running_one_waiting() -> (Limits, Slot, tokio::task::JoinHandle<Result<(), Full>>) {
        let limits = Limits::new(|_| Limit { concurrency: 1, queue: 1, queue_chars: usize::MAX });
        let first = limits.enter("p", 10).await.unwrap();
        let waiter = {
            let limits = limits.clone();
            tokio::spawn(async move { limits.enter("p", 10).await.map(drop) })
        };
        while limits.load("p").1 == 0 {
            tokio::task::yield_now().await;
        }
        (limits, first, waiter)
    }

    #[tokio::test]
    async fn refuses_beyond_slots_plus_queue() {
        let (limits, first, waiter) = one_running_one_waiting().await;
        assert_eq!(limits.enter("p", 10).await.unwrap_err(), Full);
        // Another backend has its own gate.
        assert!(limits.enter("q", 10).await.is_ok());
        drop(first);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(limits.load("p"), (0, 0));
    }

    /// A request that finishes makes room at once, even while the waiter it hands its slot to has
    /// not run yet: the next request is queued, not refused.
    #[tokio::test]
    async fn a_finished_request_makes_room_before_its_waiter_runs() {
        use std::future::Future;
        let (limits, first, waiter) = one_running_one_waiting().await;
        drop(first);
        // Polled before the runtime gets to run the waiter, which holds the slot but has not
        // been polled since.
        let mut next = std::pin::pin!(limits.enter("p", 10));
        let polled = next.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
        assert!(!matches!(polled, std::task::Poll::Ready(Err(Full))), "refused although a place was free");
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert!(next.await.is_ok());
    }

    /// A request waits only behind at most `queue_chars` characters; a free slot takes any size.
    #[tokio::test]
    async fn the_queue_is_measured_in_characters_too() {
        let limits = Limits::new(|_| Limit { concurrency: 1, queue: 10, queue_chars: 100 });
        let running = limits.enter("p", 5_000).await.expect("a free slot takes a request of any size");
        assert_eq!(limits.enter("p", 1).await.unwrap_err(), Full, "5000 characters ahead");
        drop(running);
        let running = limits.enter("p", 60).await.unwrap();
        let waiter = {
            let limits = limits.clone();
            tokio::spawn(async move { limits.enter("p", 30).await.map(drop) })
        };
        while limits.load("p").1 == 0 {
            tokio::task::yield_now().await;
        }
        // 90 characters ahead: room for one more; then 120 ahead: none.
        let third = {
            let limits = limits.clone();
            tokio::spawn(async move { limits.enter("p", 500).await.map(drop) })
        };
        while limits.load("p").1 < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(limits.enter("p", 1).await.unwrap_err(), Full);
        drop(running);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(third.await.unwrap(), Ok(()));
        assert_eq!(limits.load("p"), (0, 0));
    }
}
