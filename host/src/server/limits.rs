//! Per-backend admission: at most `concurrency` syntheses run at once, up to `queue` more wait
//! for a slot, and anything beyond that is refused at once (the caller answers 429).

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
    waiting: AtomicUsize,
    queue: usize,
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

/// Counts a waiting request until dropped (also when its wait is abandoned).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
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
                    waiting: AtomicUsize::new(0),
                    queue: limit.queue,
                })
            })
            .clone()
    }

    /// A slot for one synthesis on `plugin`: at once if one is free, after waiting in the queue
    /// if there is room in it, else [`Full`]. Hold the permit until the plugin has returned.
    pub async fn enter(&self, plugin: &str) -> Result<OwnedSemaphorePermit, Full> {
        let gate = self.gate(plugin);
        if let Ok(permit) = gate.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let admitted = gate
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < gate.queue).then_some(n + 1))
            .is_ok();
        if !admitted {
            return Err(Full);
        }
        let _waiting = Waiting(&gate.waiting);
        gate.slots.clone().acquire_owned().await.map_err(|_| Full)
    }

    /// (running, waiting) for `plugin`.
    pub fn load(&self, plugin: &str) -> (usize, usize) {
        let gate = self.gate(plugin);
        let limit = (self.limit_of)(plugin);
        (limit.concurrency - gate.slots.available_permits(), gate.waiting.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_slots_plus_queue() {
        let limits = Limits::new(|_| Limit { concurrency: 1, queue: 1 });
        let first = limits.enter("p").await.unwrap();
        let waiter = {
            let limits = limits.clone();
            tokio::spawn(async move { limits.enter("p").await.map(drop) })
        };
        while limits.load("p").1 == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(limits.enter("p").await.unwrap_err(), Full);
        // Another backend has its own gate.
        assert!(limits.enter("q").await.is_ok());
        drop(first);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(limits.load("p"), (0, 0));
    }
}
