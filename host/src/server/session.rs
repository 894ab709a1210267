//! One running synthesis as the server holds it: the event stream, its backend slot and its
//! in-flight count. When a session is dropped before its last event (the client hung up, or a
//! timeout), it cancels the synthesis and keeps draining in the background until the plugin has
//! returned, so the slot and the in-flight gauge are released only when the backend is free.

use super::limits::Slot;
use super::metrics::{InFlight, Metrics};
use crate::{Event, SynthesisStream};

pub struct Session {
    stream: Option<SynthesisStream>,
    slot: Option<(Slot, InFlight)>,
    metrics: Metrics,
    /// The model as routed, for metric labels.
    pub model: String,
    audio_seconds: f64,
}

impl Session {
    pub fn new(stream: SynthesisStream, permit: Slot, metrics: Metrics) -> Self {
        let model = stream.model.clone();
        let in_flight = metrics.in_flight(&model);
        Self { stream: Some(stream), slot: Some((permit, in_flight)), metrics, model, audio_seconds: 0.0 }
    }

    /// The next event; after `Done` or `Error` the backend is released and this returns `None`.
    pub async fn next(&mut self) -> Option<Event> {
        let event = self.stream.as_mut()?.next().await;
        match &event {
            Some(Event::Audio(chunk)) => self.audio_seconds += chunk.seconds(),
            Some(Event::Done(report)) => {
                self.metrics.finished(&self.model, report.x_realtime, report.audio_seconds);
                self.release();
            }
            Some(Event::Error(_)) | None => self.release(),
            Some(_) => {}
        }
        event
    }

    fn release(&mut self) {
        self.stream = None;
        self.slot = None;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(mut stream) = self.stream.take() else { return };
        stream.cancel();
        let slot = self.slot.take();
        let metrics = self.metrics.clone();
        let model = self.model.clone();
        let mut audio_seconds = self.audio_seconds;
        let drain = async move {
            // The plugin sees stop at its next push; its thread then sends a last event and ends,
            // which closes the channel.
            while let Some(event) = stream.next().await {
                match event {
                    Event::Audio(chunk) => audio_seconds += chunk.seconds(),
                    Event::Done(report) => audio_seconds = report.audio_seconds,
                    _ => {}
                }
            }
            metrics.cancelled(&model, audio_seconds);
            drop(slot);
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain);
        }
    }
}
