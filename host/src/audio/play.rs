//! `--play`: the conditioned stream to the default output device through cpal, sample by sample
//! as it arrives.

use super::{AudioError, Boundary, Conditioner, Seam, check_volume};
use crate::AudioChunk;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

/// Samples waiting for the device, shared with its callback.
type Queue = Arc<Mutex<VecDeque<f32>>>;

pub struct Player {
    conditioner: Conditioner,
    queue: Queue,
    channels: usize,
    rate: u32,
    _stream: cpal::Stream,
}

impl Player {
    /// Open the default output device; [`AudioError::NoDevice`] when there is none.
    pub fn open(volume: f32, seam: Seam) -> Result<Player, AudioError> {
        check_volume(volume)?;
        seam.validate()?;
        // alsa-lib prints its own complaints to stderr; collect them instead (this thread only).
        #[cfg(target_os = "linux")]
        let _alsa_messages = alsa::Output::local_error_handler().ok();
        let host = cpal::default_host();
        let device = host.default_output_device().ok_or(AudioError::NoDevice)?;
        let name = device.description().map_or_else(|_| "default".to_string(), |d| d.name().to_string());
        let fail = |message: String| AudioError::Device { device: name.clone(), message };
        let config = device.default_output_config().map_err(|e| fail(e.to_string()))?.config();
        let channels = config.channels.max(1) as usize;
        let rate = config.sample_rate;
        let queue: Queue = Arc::default();
        let feed = queue.clone();
        let stream = device
            .build_output_stream::<f32, _, _>(
                config,
                move |data: &mut [f32], _| {
                    let mut q = feed.lock().unwrap_or_else(|e| e.into_inner());
                    for s in data.iter_mut() {
                        *s = q.pop_front().unwrap_or(0.0);
                    }
                },
                |_| {},
                None,
            )
            .map_err(|e| fail(e.to_string()))?;
        stream.play().map_err(|e| fail(e.to_string()))?;
        Ok(Player { conditioner: Conditioner::new(rate, volume, seam), queue, channels, rate, _stream: stream })
    }

    pub fn boundary(&mut self, boundary: Boundary) {
        self.conditioner.boundary(boundary);
    }

    /// Queue one chunk for playing.
    pub fn push(&mut self, chunk: &AudioChunk) -> Result<(), AudioError> {
        let samples = self.conditioner.push(chunk)?;
        self.enqueue(&samples);
        Ok(())
    }

    /// Queue the tail and wait until the device has played everything.
    pub fn finish(mut self) -> Result<(), AudioError> {
        let tail = self.conditioner.finish()?;
        self.enqueue(&tail);
        while !self.queue.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The device's own buffer still holds the last period.
        std::thread::sleep(Duration::from_millis(200));
        Ok(())
    }

    fn enqueue(&self, samples: &[f32]) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        for &s in samples {
            q.extend(std::iter::repeat_n(s.clamp(-1.0, 1.0), self.channels));
        }
    }

    /// The device's rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }
}
