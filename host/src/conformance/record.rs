//! One request run against a plugin's backend with a recording sink: every push as the plugin
//! made it (nothing clamped or converted), when the sink answered stop, and how the call ended.

use crate::Backend;
use abi_stable::{sabi_trait::TD_Opaque, std_types::RSlice};
use chorus_plugin_api::{FfiSink, FfiSink_TO, Flow, PluginError, Progress, SynthesisRequest, WordTimestamp};
use std::{
    sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::Duration,
};

/// One audio push.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    pub channels: u16,
}

/// How the plugin's `synthesize` call ended.
#[derive(Debug, Clone)]
pub enum Ending {
    Done,
    Failed(PluginError),
    /// It had not returned when the time was up (then it was told to stop).
    TimedOut,
}

/// Everything one request pushed, in order of arrival per kind.
#[derive(Debug, Clone)]
pub struct Recording {
    pub text: String,
    pub chunks: Vec<Chunk>,
    pub progress: Vec<Progress>,
    pub words: Vec<WordTimestamp>,
    /// Audio pushes after the sink first answered stop.
    pub audio_after_stop: usize,
    /// True when the sink answered stop at some point.
    pub stopped: bool,
    pub ending: Ending,
}

impl Recording {
    pub fn seconds(&self) -> f64 {
        self.chunks
            .iter()
            .map(|c| c.samples.len() as f64 / c.channels.max(1) as f64 / c.sample_rate.max(1) as f64)
            .sum()
    }
}

/// Two requests that should be inside the plugin at the same time: each waits at its first audio
/// push until the other arrives there or ends (bounded), so their work overlaps.
#[derive(Default)]
pub struct Meeting {
    /// Requests at their first audio push, and requests that ended.
    state: Mutex<(usize, usize)>,
    changed: Condvar,
}

impl Meeting {
    fn arrive_and_wait(&self, limit: Duration) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 += 1;
        self.changed.notify_all();
        let _ = self.changed.wait_timeout_while(state, limit, |(arrived, ended)| *arrived + *ended < 2);
    }
    /// A request that ended counts too, so the other never waits for it in vain.
    fn leave(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 += 1;
        self.changed.notify_all();
    }
    /// True when both requests were inside the plugin, at their first audio, at once.
    pub fn met(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0 >= 2
    }
}

/// How the sink behaves during a run.
#[derive(Clone, Default)]
pub struct Plan {
    /// Answer stop from this audio push on (1 = the first).
    pub stop_at_audio: Option<usize>,
    pub meeting: Option<Arc<Meeting>>,
}

struct Recorder {
    shared: Arc<Mutex<Recording>>,
    plan: Plan,
    /// Set when the run timed out: every later push answers stop.
    abandon: Arc<AtomicBool>,
}

impl Recorder {
    fn record(&self, f: impl FnOnce(&mut Recording)) {
        f(&mut self.shared.lock().unwrap_or_else(|e| e.into_inner()));
    }
    fn answer(&self) -> Flow {
        let stopped = self.shared.lock().unwrap_or_else(|e| e.into_inner()).stopped;
        if stopped || self.abandon.load(Ordering::Acquire) { Flow::Stop } else { Flow::Continue }
    }
}

impl FfiSink for Recorder {
    fn audio(&mut self, samples: RSlice<'_, f32>, sample_rate: u32, channels: u16) -> Flow {
        let mut first = false;
        self.record(|r| {
            if r.stopped {
                r.audio_after_stop += 1;
            }
            r.chunks.push(Chunk { samples: samples.to_vec(), sample_rate, channels });
            first = r.chunks.len() == 1;
            if self.plan.stop_at_audio.is_some_and(|n| r.chunks.len() >= n) {
                r.stopped = true;
            }
        });
        if first && let Some(meeting) = &self.plan.meeting {
            meeting.arrive_and_wait(Duration::from_secs(30));
        }
        self.answer()
    }

    fn progress(&mut self, progress: &Progress) -> Flow {
        self.record(|r| r.progress.push(progress.clone()));
        self.answer()
    }

    fn words(&mut self, words: RSlice<'_, WordTimestamp>) -> Flow {
        self.record(|r| r.words.extend(words.iter().cloned()));
        self.answer()
    }
}

/// Run `request` on `backend` on its own thread, as the host does, waiting at most `timeout`.
pub fn run(backend: &Arc<Backend>, request: SynthesisRequest, plan: Plan, timeout: Duration) -> Recording {
    let shared = Arc::new(Mutex::new(Recording {
        text: request.text.to_string(),
        chunks: Vec::new(),
        progress: Vec::new(),
        words: Vec::new(),
        audio_after_stop: 0,
        stopped: false,
        ending: Ending::TimedOut,
    }));
    let abandon = Arc::new(AtomicBool::new(false));
    let meeting = plan.meeting.clone();
    let sink = Recorder { shared: shared.clone(), plan, abandon: abandon.clone() };
    let (tx, rx) = mpsc::channel();
    let thread_backend = backend.clone();
    let spawned = std::thread::Builder::new().name("chorus-check".into()).spawn(move || {
        let result = thread_backend.inner.synthesize(&request, FfiSink_TO::from_value(sink, TD_Opaque));
        let _ = tx.send(result.into_result());
    });
    let ending = match spawned {
        Err(e) => Ending::Failed(PluginError::internal(format!("the checker could not start a thread: {e}"))),
        Ok(_) => {
            let result = rx.recv_timeout(timeout).or_else(|_| {
                // Told to stop at its next push, a plugin still gets a moment to return.
                abandon.store(true, Ordering::Release);
                rx.recv_timeout(Duration::from_secs(5))
            });
            match result {
                Ok(Ok(_summary)) => Ending::Done,
                Ok(Err(e)) => Ending::Failed(e),
                Err(_) => Ending::TimedOut,
            }
        }
    };
    if let Some(meeting) = meeting {
        meeting.leave();
    }
    let mut recording = shared.lock().unwrap_or_else(|e| e.into_inner()).clone();
    recording.ending = ending;
    recording
}
