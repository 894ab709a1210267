//! A request as an async stream of events, fed by the plugin on its own thread over a bounded
//! channel. The consumer's pace is the backpressure; dropping the stream makes every later push
//! from the plugin answer [`Flow::Stop`]. A push may come from any thread the plugin likes,
//! including one inside an async runtime of its own: the wait for room never panics.

use crate::{backend::lock, error::Error};
use abi_stable::std_types::RSlice;
use chorus_plugin_api::{FfiSink, Flow, Progress, WordTimestamp};
use std::{
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};
use tokio::sync::mpsc;

/// A block of PCM from the backend, at its own rate.
#[derive(Debug, Clone)]
pub struct AudioChunk {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    pub channels: u16,
}

impl AudioChunk {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.channels.max(1) as f64 / self.sample_rate.max(1) as f64
    }
}

/// When one input word is spoken.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Word {
    pub word: String,
    pub start_byte: usize,
    pub end_byte: usize,
    pub start: f64,
    pub end: f64,
}

/// Progress as the plugin reported it.
#[derive(Debug, Clone, Default)]
pub struct ProgressUpdate {
    pub fraction: f32,
    pub processed: u64,
    pub total: u64,
    pub unit: String,
    pub chunk_index: u32,
    pub chunk_count: u32,
    pub status: String,
    pub audio_seconds: f64,
    pub metrics: serde_json::Value,
}

/// What a finished request measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub model: String,
    pub plugin: String,
    pub voice: String,
    pub characters: usize,
    pub audio_seconds: f64,
    /// From the request's start to the first audio pushed by the plugin.
    pub first_audio_ms: Option<f64>,
    pub wall_ms: f64,
    /// Audio seconds per wall second.
    pub x_realtime: f64,
    pub chunks: u32,
    /// What the provider billed, or the host's estimate from the backend's price model.
    pub cost_usd: f64,
}

/// One event of a synthesis.
#[derive(Debug)]
pub enum Event {
    Audio(AudioChunk),
    Progress(ProgressUpdate),
    Words(Vec<Word>),
    /// The last event of a successful request.
    Done(Report),
    /// The last event of a failed request.
    Error(Error),
}

/// What the sink measured while the plugin pushed.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    pub first_audio_ms: Option<f64>,
    pub frames: u64,
    pub audio_seconds: f64,
    pub audio_chunks: u32,
}

/// The host's side of the sink vtable.
pub(crate) struct HostSink {
    pub tx: mpsc::Sender<Event>,
    pub cancel: Arc<AtomicBool>,
    pub started: Instant,
    pub tally: Arc<Mutex<Tally>>,
}

/// Send `event`, waiting for room, from any thread. tokio's `blocking_send` panics on a thread
/// inside a runtime (and a panic in a sink method, which a plugin calls through `extern "C"`,
/// aborts the process); the channel's own `send` future, driven by a thread-parking executor,
/// waits the same way anywhere. `Err` when the consumer has gone.
pub(crate) fn send_blocking(tx: &mpsc::Sender<Event>, event: Event) -> Result<(), ()> {
    pollster::block_on(tx.send(event)).map_err(drop)
}

impl HostSink {
    fn send(&self, event: Event) -> Flow {
        if self.cancel.load(Ordering::Acquire) || send_blocking(&self.tx, event).is_err() {
            self.cancel.store(true, Ordering::Release);
            return Flow::Stop;
        }
        // The consumer may have gone away while we waited for room.
        if self.cancel.load(Ordering::Acquire) { Flow::Stop } else { Flow::Continue }
    }
}

impl FfiSink for HostSink {
    fn audio(&mut self, samples: RSlice<'_, f32>, sample_rate: u32, channels: u16) -> Flow {
        if self.cancel.load(Ordering::Acquire) {
            return Flow::Stop;
        }
        let chunk = AudioChunk { samples: samples.to_vec(), sample_rate, channels: channels.max(1) };
        {
            let mut tally = lock(&self.tally);
            tally.first_audio_ms.get_or_insert_with(|| self.started.elapsed().as_secs_f64() * 1e3);
            tally.frames += (chunk.samples.len() / chunk.channels as usize) as u64;
            tally.audio_seconds += chunk.seconds();
            tally.audio_chunks += 1;
        }
        self.send(Event::Audio(chunk))
    }

    fn progress(&mut self, p: &Progress) -> Flow {
        self.send(Event::Progress(ProgressUpdate {
            fraction: p.fraction.clamp(0.0, 1.0),
            processed: p.processed,
            total: p.total,
            unit: p.unit.to_string(),
            chunk_index: p.chunk_index,
            chunk_count: p.chunk_count,
            status: p.status.to_string(),
            audio_seconds: p.audio_seconds,
            metrics: serde_json::from_str(&p.metrics_json).unwrap_or(serde_json::Value::Null),
        }))
    }

    fn words(&mut self, words: RSlice<'_, WordTimestamp>) -> Flow {
        let words = words
            .iter()
            .map(|w| Word {
                word: w.word.to_string(),
                start_byte: w.start_byte as usize,
                end_byte: w.end_byte as usize,
                start: w.start,
                end: w.end,
            })
            .collect();
        self.send(Event::Words(words))
    }
}

/// The consumer's end of a synthesis. Dropping it stops the plugin at its next push.
pub struct SynthesisStream {
    pub(crate) rx: mpsc::Receiver<Event>,
    pub(crate) cancel: Arc<AtomicBool>,
    /// The model name after aliases, and the plugin serving it.
    pub model: String,
    pub plugin: String,
}

impl SynthesisStream {
    /// The next event; `None` after `Done` or `Error`.
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event, for callers outside an async runtime.
    pub fn blocking_next(&mut self) -> Option<Event> {
        self.rx.blocking_recv()
    }

    /// Stop the synthesis now; the plugin sees stop at its next push.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Release);
    }
}

impl futures_core::Stream for SynthesisStream {
    type Item = Event;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for SynthesisStream {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(capacity: usize) -> (HostSink, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(capacity);
        let sink = HostSink { tx, cancel: Arc::default(), started: Instant::now(), tally: Arc::default() };
        (sink, rx)
    }

    /// On a thread inside a tokio runtime (this test's body), where `blocking_send` panics: the
    /// pushes wait for the consumer, a task on the runtime's workers, and all arrive in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pushes_wait_for_room_from_inside_a_runtime() {
        let (mut sink, mut rx) = sink(1);
        let consumer = tokio::spawn(async move {
            let mut firsts = Vec::new();
            while let Some(event) = rx.recv().await {
                if let Event::Audio(chunk) = event {
                    firsts.push(chunk.samples[0]);
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            firsts
        });
        for i in 0..10 {
            let samples = [i as f32; 4];
            assert_eq!(sink.audio(RSlice::from_slice(&samples), 24_000, 1), Flow::Continue);
        }
        drop(sink);
        let firsts = consumer.await.unwrap();
        assert_eq!(firsts, (0..10).map(|i| i as f32).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_push_after_the_consumer_left_answers_stop() {
        let (mut sink, rx) = sink(1);
        drop(rx);
        assert_eq!(sink.audio(RSlice::from_slice(&[0.0; 4]), 24_000, 1), Flow::Stop);
        assert_eq!(sink.audio(RSlice::from_slice(&[0.0; 4]), 24_000, 1), Flow::Stop);
    }
}
