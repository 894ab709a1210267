//! One utterance of an ElevenLabs WebSocket (the socket's only one, or one `context_id` of a
//! multi-context socket): text in through the shared segmenter (`textstream`), spoken by the
//! shared speaker, audio out as ElevenLabs' messages.
//!
//! The input side ([`Context`]) cuts the text as it comes and hands each ready segment to the
//! speaker at once, through a forwarder so that it never waits on the audio; what it holds is
//! bounded in characters ([`MAX_WAITING_CHARS`]). The output side (a task, [`Pump`]) encodes the audio in the asked format and
//! sends `{"audio", "alignment", "normalizedAlignment"}` messages: each engine chunk's audio goes
//! out with the characters spoken in it as soon as the engine has said which words they were,
//! times in ms from the start of that message's audio; then `{"isFinal": true}`. A context holds
//! one of its backend's concurrency slots and counts as in flight until its speaker has stopped
//! and the plugin has returned (`speak_holding`).

use super::{alignment::Alignment, format::Companding, format::OutputFormat};
use crate::{
    Request, Word,
    audio::{OutputSpec, Pipeline},
    server::AppState,
    textstream::{Cancel, Policy, Segment, Segmenter, Spoken, TimedWord, Utterance, speak_holding},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Instant,
};
use tokio::sync::mpsc;

/// Chars buffered without a boundary before they are spoken anyway (a text with no punctuation).
pub const MAX_BUFFERED_CHARS: usize = 1000;
/// `try_trigger_generation` speaks what is buffered once it is at least this long (ElevenLabs' rule).
const TRIGGER_CHARS: usize = 50;
/// Audio held for its words at most this long (engines without word timestamps).
const MAX_HELD_SECONDS: f64 = 1.0;
/// Characters given to a context and not yet spoken, at most: text beyond it is refused with an
/// error (minutes of speech; a client that far ahead of the audio is not a voice agent).
pub const MAX_WAITING_CHARS: usize = 65_536;
/// Segments in the speaker's own queue (the rest wait in the forwarder's).
const SPEAKER_QUEUE: usize = 16;

/// What the socket sends or learns from a context's output task.
#[derive(Debug)]
pub enum Out {
    /// A message to send.
    Json(Value),
    /// Audio of a context, not sent once the context is stopped (the flag), even if already made.
    Audio(Value, Arc<AtomicBool>),
    /// The context has ended (its `isFinal` is sent); `error` is the close code when it failed;
    /// `stopped` when the client closed it (a new context may have its id by now).
    Ended { context: String, error: Option<u16>, stopped: bool },
}

/// How every context of one socket speaks.
#[derive(Debug, Clone)]
pub struct Setup {
    pub model: Option<String>,
    /// The model as routed, for metrics.
    pub routed: String,
    pub plugin: String,
    pub voice: String,
    pub language: Option<String>,
    pub output: OutputFormat,
    /// Multi-context sockets label their messages with `contextId`.
    pub multi: bool,
}

/// The input side of a context.
pub struct Context {
    segmenter: Segmenter,
    /// To the speaker, through a forwarding task, so adding text never waits on the audio.
    segments: Option<mpsc::UnboundedSender<Segment>>,
    /// Chars handed to the speaker and not yet spoken (the output task counts them down).
    waiting: Arc<AtomicUsize>,
    cancel: Cancel,
    cancelled: Arc<AtomicBool>,
    text: Arc<Mutex<String>>,
    ready: mpsc::UnboundedSender<Instant>,
    /// Chars handed to the speaker so far.
    cut: usize,
}

impl Context {
    /// Start a context named `id`: a backend slot (waiting at most the request timeout), a speaker
    /// and the output task sending into `out`. Errors are `(ElevenLabs status, message)`.
    pub async fn open(
        state: &AppState,
        setup: &Setup,
        id: String,
        schedule: Option<Vec<usize>>,
        speed: Option<f32>,
        out: mpsc::Sender<Out>,
    ) -> Result<Self, (&'static str, String)> {
        let retry = state.settings.retry_after_secs;
        let busy = || {
            let message = format!(
                "backend '{}' is at its concurrency limit and its queue is full ([server] concurrency, queue); retry in {retry} s",
                setup.plugin
            );
            ("too_many_concurrent_requests", message)
        };
        let slot =
            match tokio::time::timeout(state.settings.request_timeout, state.limits.enter(&setup.plugin, 0)).await {
                Ok(Ok(slot)) => slot,
                Ok(Err(_)) | Err(_) => return Err(busy()),
            };
        let mut pipeline_spec = OutputSpec::new(setup.output.format);
        pipeline_spec.sample_rate = setup.output.sample_rate;
        let pipeline =
            Pipeline::new(&pipeline_spec).map_err(|e| ("invalid_output_format", format!("cannot encode: {e}")))?;
        state.metrics.request(super::socket::ENDPOINT, &setup.routed);
        let mut request = Request::new(String::new());
        request.model = setup.model.clone();
        request.voice = Some(setup.voice.clone());
        request.speed = speed.unwrap_or(1.0);
        request.language = setup.language.clone();
        let (segments_tx, segments_rx) = mpsc::channel(SPEAKER_QUEUE);
        let (forward_tx, mut forward_rx) = mpsc::unbounded_channel::<Segment>();
        tokio::spawn(async move {
            while let Some(segment) = forward_rx.recv().await {
                if segments_tx.send(segment).await.is_err() {
                    break;
                }
            }
        });
        let waiting = Arc::new(AtomicUsize::new(0));
        // The speaker holds the slot and the in-flight count until its plugin has returned.
        let guard = (slot, state.metrics.in_flight(&setup.routed));
        let (spoken, cancel) =
            speak_holding(state.chorus.clone(), Utterance { request, sample_rate: None }, segments_rx, guard);
        let (ready_tx, ready_rx) = mpsc::unbounded_channel();
        let text = Arc::new(Mutex::new(String::new()));
        let cancelled = Arc::new(AtomicBool::new(false));
        let pump = Pump {
            out,
            context: id,
            multi: setup.multi,
            pipeline: Some(pipeline),
            companding: setup.output.converter(),
            text: text.clone(),
            ready_rx,
            ready: Vec::new(),
            done_segments: 0,
            first_audio_seen: false,
            clock: 0.0,
            pending: Vec::new(),
            pending_start: None,
            words: Vec::new(),
            covered: 0,
            cancelled: cancelled.clone(),
            waiting: waiting.clone(),
            state: state.clone(),
            model: setup.routed.clone(),
        };
        tokio::spawn(pump.run(spoken));
        let policy = Policy::schedule(schedule.unwrap_or_else(|| Policy::DEFAULT_SCHEDULE.to_vec()));
        Ok(Self {
            segmenter: Segmenter::new(policy),
            segments: Some(forward_tx),
            waiting,
            cancel,
            cancelled,
            text,
            ready: ready_tx,
            cut: 0,
        })
    }

    /// Add text; every segment it completes goes to the speaker now. Refused (with the reason)
    /// when more than [`MAX_WAITING_CHARS`] would be waiting to be spoken.
    pub fn push(&mut self, piece: &str) -> Result<(), String> {
        if self.segments.is_none() {
            return Ok(());
        }
        let waiting = self.waiting.load(Ordering::Acquire) + (self.segmenter.offset() - self.cut);
        let len = piece.chars().count();
        if waiting + len > MAX_WAITING_CHARS {
            return Err(format!(
                "{waiting} characters are waiting to be spoken; this one's {len} would pass the limit of \
                 {MAX_WAITING_CHARS}: send more once audio has come"
            ));
        }
        lock(&self.text).push_str(piece);
        for segment in self.segmenter.push(piece) {
            self.send(segment);
        }
        if self.segmenter.offset() - self.cut > MAX_BUFFERED_CHARS {
            self.flush();
        }
        Ok(())
    }

    /// `try_trigger_generation`: speak what is buffered if it is long enough.
    pub fn trigger(&mut self) {
        if self.segmenter.offset() - self.cut >= TRIGGER_CHARS {
            self.flush();
        }
    }

    /// A message's `flush` (speak everything buffered) or else its `try_trigger_generation`.
    pub fn prompt(&mut self, flush: bool, try_trigger: bool) {
        if flush {
            self.flush();
        } else if try_trigger {
            self.trigger();
        }
    }

    /// Speak everything buffered now.
    pub fn flush(&mut self) {
        if let Some(segment) = self.segmenter.flush() {
            self.send(segment);
        }
    }

    /// The input has ended: speak the rest, then the context ends with `isFinal`.
    pub fn finish(&mut self) {
        self.flush();
        self.segments = None;
    }

    /// Whether the input has ended (by [`Context::finish`] or [`Context::stop`]).
    pub fn finished(&self) -> bool {
        self.segments.is_none()
    }

    /// Stop now: the running synthesis within one chunk, the queued text dropped.
    pub fn stop(&mut self) {
        self.cancelled.store(true, Ordering::Release);
        self.cancel.cancel();
        self.segments = None;
    }

    fn send(&mut self, segment: Segment) {
        self.cut = segment.end();
        self.waiting.fetch_add(segment.end() - segment.start, Ordering::AcqRel);
        let _ = self.ready.send(Instant::now());
        if let Some(segments) = &self.segments
            && segments.send(segment).is_err()
        {
            self.segments = None;
        }
    }
}

impl Drop for Context {
    /// A context dropped before its input ended (the client left) is stopped.
    fn drop(&mut self) {
        if self.segments.is_some() {
            self.stop();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The output side of a context: the speaker's events to ElevenLabs' messages.
struct Pump {
    out: mpsc::Sender<Out>,
    context: String,
    multi: bool,
    pipeline: Option<Pipeline>,
    companding: Companding,
    text: Arc<Mutex<String>>,
    /// When each segment's text was complete, as the input side cut them.
    ready_rx: mpsc::UnboundedReceiver<Instant>,
    ready: Vec<Instant>,
    /// Segments spoken so far (the index of the one being spoken).
    done_segments: usize,
    first_audio_seen: bool,
    /// Seconds of the utterance's audio so far (the speaker's timeline).
    clock: f64,
    pending: Vec<u8>,
    /// Where the pending audio starts on the timeline.
    pending_start: Option<f64>,
    words: Vec<TimedWord>,
    /// Chars already sent with an alignment.
    covered: usize,
    cancelled: Arc<AtomicBool>,
    /// The input side's count of chars not yet spoken.
    waiting: Arc<AtomicUsize>,
    state: AppState,
    model: String,
}

/// The socket is gone.
struct Gone;

impl Pump {
    async fn run(mut self, mut spoken: mpsc::Receiver<Spoken>) {
        let mut error = None;
        while let Some(event) = spoken.recv().await {
            match self.event(event).await {
                Ok(None) => {}
                Ok(Some(code)) => {
                    error = Some(code);
                    break;
                }
                Err(Gone) => return,
            }
        }
        drop(spoken);
        if error.is_none()
            && !self.cancelled.load(Ordering::Acquire)
            && let Some(pipeline) = self.pipeline.take()
        {
            match pipeline.finish() {
                Ok(tail) => {
                    self.pending.extend(self.companding.convert(tail));
                    if self.emit(None).await.is_err() {
                        return;
                    }
                }
                Err(e) => error = Some(self.fail("internal_error", format!("encoding failed: {e}"), 1011).await),
            }
        }
        if error.is_none() {
            let _ = self.send(json!({"isFinal": true})).await;
        }
        let stopped = self.cancelled.load(Ordering::Acquire);
        let _ = self.out.send(Out::Ended { context: self.context.clone(), error, stopped }).await;
    }

    /// One event; `Some(close code)` when the context failed.
    async fn event(&mut self, event: Spoken) -> Result<Option<u16>, Gone> {
        while let Ok(at) = self.ready_rx.try_recv() {
            self.ready.push(at);
        }
        let segment_ready = |index: usize, ready: &[Instant]| ready.get(index).map(|at| at.elapsed().as_secs_f64());
        match event {
            Spoken::Audio(chunk) => {
                if !self.first_audio_seen {
                    self.first_audio_seen = true;
                    if let Some(seconds) = segment_ready(self.done_segments, &self.ready) {
                        self.state.metrics.segment_first_audio(&self.model, seconds);
                    }
                }
                self.pending_start.get_or_insert(self.clock);
                self.clock += chunk.seconds();
                let Some(pipeline) = self.pipeline.as_mut() else { return Ok(None) };
                match pipeline.push(&chunk) {
                    Ok(bytes) => self.pending.extend(self.companding.convert(bytes)),
                    Err(e) => {
                        return Ok(Some(self.fail("internal_error", format!("encoding failed: {e}"), 1011).await));
                    }
                }
                if self.pending_start.is_some_and(|start| self.clock - start > MAX_HELD_SECONDS) {
                    self.emit(None).await?;
                }
            }
            Spoken::Words(words) => {
                self.words.extend(words);
                if self.pending_start.is_some() {
                    let to = self.spoken_to();
                    self.emit(Some(to)).await?;
                }
            }
            Spoken::SegmentDone { index, start, end, .. } => {
                let _ = self
                    .waiting
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| Some(n.saturating_sub(end - start)));
                if let Some(seconds) = segment_ready(index, &self.ready) {
                    self.state.metrics.stream_lag(&self.model, seconds);
                }
                self.done_segments = index + 1;
                self.first_audio_seen = false;
                self.emit(Some(end)).await?;
            }
            Spoken::Error { error, .. } => {
                let e = crate::server::error::ApiError::from_host(&error, self.state.settings.retry_after_secs);
                let e = super::error::ElError(e);
                let code = if e.0.status.is_client_error() { 1008 } else { 1011 };
                return Ok(Some(self.fail(e.code(), e.0.message, code).await));
            }
        }
        Ok(None)
    }

    async fn fail(&mut self, code: &str, message: String, close: u16) -> u16 {
        self.state.metrics.error(super::socket::ENDPOINT, &self.model, if close == 1008 { 400 } else { 500 });
        let _ = self.send(json!({"error": code, "message": message})).await;
        close
    }

    async fn send(&mut self, mut message: Value) -> Result<(), Gone> {
        if self.multi {
            message["contextId"] = json!(self.context);
        }
        let out = if message.get("audio").is_some() {
            Out::Audio(message, self.cancelled.clone())
        } else {
            Out::Json(message)
        };
        self.out.send(out).await.map_err(|_| Gone)
    }

    /// The char after the last word spoken, with the punctuation that follows it.
    fn spoken_to(&self) -> usize {
        let end = self.words.iter().map(|w| w.end_char).max().unwrap_or(self.covered);
        let text = lock(&self.text);
        end + text.chars().skip(end).take_while(|c| !c.is_whitespace() && !c.is_alphanumeric()).count()
    }

    /// Send the pending audio with the alignment of the chars up to `to` (none: audio only).
    async fn emit(&mut self, to: Option<usize>) -> Result<(), Gone> {
        let origin = self.pending_start.unwrap_or(self.clock);
        let alignment = to.filter(|&to| to > self.covered).map(|to| {
            let a = self.align(to, origin);
            self.covered = to;
            a
        });
        if (self.pending.is_empty() && alignment.is_none()) || self.cancelled.load(Ordering::Acquire) {
            self.pending.clear();
            return Ok(());
        }
        let audio = STANDARD.encode(std::mem::take(&mut self.pending));
        self.pending_start = None;
        let alignment = alignment.map(|a| a.websocket(origin));
        self.send(json!({"audio": audio, "isFinal": null, "alignment": alignment, "normalizedAlignment": alignment}))
            .await?;
        // Words wholly before what is covered are no longer needed, except the last (its end
        // starts the next gap).
        let covered = self.covered;
        let keep_from = self.words.iter().rposition(|w| w.end_char <= covered).unwrap_or(0);
        self.words.drain(..keep_from);
        Ok(())
    }

    /// The chars `covered..to` timed by the words heard so far, on the utterance's timeline.
    fn align(&self, to: usize, origin: f64) -> Alignment {
        let text = lock(&self.text);
        let byte = |char: usize| text.char_indices().nth(char).map_or(text.len(), |(b, _)| b);
        let words: Vec<Word> = self
            .words
            .iter()
            .map(|w| Word {
                word: w.word.clone(),
                start_byte: byte(w.start_char),
                end_byte: byte(w.end_char),
                start: w.start,
                end: w.end,
            })
            .collect();
        let end = words.iter().map(|w| w.end).fold(self.clock, f64::max);
        Alignment::new(&text, byte(self.covered)..byte(to), &words, origin, end)
    }
}
