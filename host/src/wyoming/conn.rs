//! One Wyoming connection: its events read on their own task (so audio keeps flowing out while
//! text comes in), one reply at a time, and the rules that keep a bad client from hurting the
//! server: an error event for every bad event (and the connection goes on), a write timeout, an
//! idle timeout, and a reply dropped — its synthesis stopped — when the client goes.
//!
//! A reply is a plain `synthesize` (the whole text as one synthesis: `audio-start`, the chunks
//! as the engine makes them, `audio-stop`) or a stream (`synthesize-start`, `synthesize-chunk`s,
//! `synthesize-stop`: each sentence spoken once complete, with its own `audio-start` …
//! `audio-stop`, as wyoming-piper does, then `synthesize-stopped`). The `synthesize` a client
//! sends inside a stream for older servers is ignored. An error answering a plain `synthesize`
//! closes the connection after its error event (a reader waiting for `audio-stop` sees the end);
//! any other bad event gets its error event and the connection goes on.

use super::{
    Shared,
    frame::{self, Frame, FrameError},
    info::VoiceSpec,
};
use crate::{
    Request,
    textstream::{Cancel, Policy, Segment, Segmenter, Spoken, Utterance, speak_holding},
};
use serde_json::{Value, json};
use std::{collections::VecDeque, sync::Arc};
use tokio::{
    io::{AsyncWriteExt, BufReader},
    net::{
        TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::{mpsc, watch},
    time::Instant,
};

/// Samples per `audio-chunk` at most (an engine's chunk may be seconds long).
const CHUNK_SAMPLES: usize = 4096;
/// A stream's text may be this many times the server's `max_input_chars`.
const STREAM_INPUTS: usize = 16;

/// The connection is over (the client left, or stopped reading).
struct Closed;

/// The reply being made.
struct Reply {
    streaming: bool,
    segmenter: Segmenter,
    /// Segments cut but not yet taken by the speaker.
    pending: VecDeque<Segment>,
    /// `None` once everything was handed over.
    segments: Option<mpsc::Sender<Segment>>,
    /// `None` once the speaker finished.
    events: Option<mpsc::Receiver<Spoken>>,
    cancel: Cancel,
    /// The model as routed, for the metrics; when the reply started and whether audio came yet.
    model: String,
    started: std::time::Instant,
    heard: bool,
    rate: u32,
    /// Between an `audio-start` and its `audio-stop`.
    audio_open: bool,
    /// Samples sent so far (for timestamps).
    samples: u64,
    stop_received: bool,
    failed: bool,
}

impl Reply {
    /// Hand the segments channel back once nothing more will come.
    fn close_if_done(&mut self) {
        if self.stop_received && self.pending.is_empty() {
            self.segments = None;
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

struct Conn {
    shared: Arc<Shared>,
    out: OwnedWriteHalf,
    selected: Option<String>,
    reply: Option<Reply>,
    stream_chars: usize,
}

/// Serve one connection until the client leaves, the idle timeout, or shutdown between replies.
pub(super) async fn serve(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (frames_tx, mut frames) = mpsc::channel(4);
    let reader = tokio::spawn(read_frames(BufReader::new(read), frames_tx));
    let mut conn = Conn { shared, out: write, selected: None, reply: None, stream_chars: 0 };
    let _ = conn.run(&mut frames, &mut stop).await;
    reader.abort();
    let _ = conn.out.shutdown().await;
}

async fn read_frames(mut reader: BufReader<OwnedReadHalf>, tx: mpsc::Sender<Result<Frame, FrameError>>) {
    loop {
        match frame::read(&mut reader).await {
            Ok(Some(frame)) => {
                if tx.send(Ok(frame)).await.is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                let fatal = !e.recoverable();
                if tx.send(Err(e)).await.is_err() || fatal {
                    return;
                }
            }
        }
    }
}

/// The speaker's next event: `Some(None)` when it has finished; pending without a speaker.
async fn next_spoken(reply: &mut Option<Reply>) -> Option<Spoken> {
    match reply.as_mut().and_then(|r| r.events.as_mut()) {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

/// Room in `segments` for the next pending segment; pending forever without a channel.
async fn room(segments: Option<mpsc::Sender<Segment>>) -> Option<mpsc::OwnedPermit<Segment>> {
    match segments {
        Some(segments) => segments.reserve_owned().await.ok(),
        None => std::future::pending().await,
    }
}

fn text_of(frame: &Frame) -> Option<&str> {
    frame.data.get("text").and_then(Value::as_str)
}

impl Conn {
    async fn run(
        &mut self,
        frames: &mut mpsc::Receiver<Result<Frame, FrameError>>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), Closed> {
        let idle = self.shared.state.settings.wyoming_idle_timeout;
        let mut last = Instant::now();
        let mut stopping = *stop.borrow();
        loop {
            if stopping && self.reply.is_none() {
                return Ok(());
            }
            // Idle: nothing from the client while it owes us something (or nothing is going on),
            // and nothing from the engine.
            let waiting_for_client = self.reply.as_ref().is_none_or(|r| r.streaming && !r.stop_received);
            let feed = self.reply.as_ref().filter(|r| !r.pending.is_empty()).and_then(|r| r.segments.clone());
            tokio::select! {
                frame = frames.recv() => {
                    last = Instant::now();
                    match frame {
                        None => return Ok(()),
                        Some(Ok(frame)) => self.on_frame(frame).await?,
                        Some(Err(e)) => {
                            self.error(e.code(), &e.to_string()).await?;
                            if !e.recoverable() {
                                return Ok(());
                            }
                        }
                    }
                }
                spoken = next_spoken(&mut self.reply) => {
                    last = Instant::now();
                    self.on_spoken(spoken).await?;
                }
                permit = room(feed) => {
                    if let Some(reply) = self.reply.as_mut() {
                        match (permit, reply.pending.pop_front()) {
                            (Some(permit), Some(segment)) => { permit.send(segment); }
                            _ => reply.pending.clear(),
                        }
                        reply.close_if_done();
                    }
                }
                () = tokio::time::sleep_until(last + idle), if waiting_for_client => {
                    let _ = self.error("idle", &format!("no event for {:.0} s; closing", idle.as_secs_f64())).await;
                    return Ok(());
                }
                _ = stop.changed(), if !stopping => stopping = true,
            }
        }
    }

    async fn write(&mut self, frame: &Frame) -> Result<(), Closed> {
        let limit = self.shared.state.settings.write_timeout;
        match tokio::time::timeout(limit, self.out.write_all(&frame.encode())).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Closed),
        }
    }

    async fn error(&mut self, code: &str, text: &str) -> Result<(), Closed> {
        self.write(&Frame::new("error", json!({"text": text, "code": code}))).await
    }

    /// The error that ends a plain `synthesize`: sent, then the connection closes, as
    /// wyoming-piper does, so a client that reads until `audio-stop` (Home Assistant) is not left
    /// waiting.
    async fn refuse(&mut self, code: &str, text: &str) -> Result<(), Closed> {
        self.error(code, text).await?;
        Err(Closed)
    }

    async fn on_frame(&mut self, frame: Frame) -> Result<(), Closed> {
        match frame.kind.as_str() {
            "describe" => {
                let catalog = self.shared.catalogs.get(self.shared.state.chorus.clone()).await;
                self.write(&catalog.info()).await
            }
            "ping" => self.write(&Frame::new("pong", json!({"text": text_of(&frame)}))).await,
            "select-program" => {
                let name = frame.data.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                let catalog = self.shared.catalogs.get(self.shared.state.chorus.clone()).await;
                if catalog.has_program(&name) {
                    self.selected = Some(name);
                    Ok(())
                } else {
                    let known: Vec<&str> = catalog.programs.iter().map(|p| p.name.as_str()).collect();
                    self.error("unknown-program", &format!("no tts program '{name}'; programs: {}", known.join(", ")))
                        .await
                }
            }
            "synthesize" => {
                if self.reply.as_ref().is_some_and(|r| r.streaming) {
                    return Ok(()); // the copy of a stream's text sent for servers without streaming
                }
                let Some(text) = text_of(&frame).map(String::from) else {
                    return self.refuse("bad-request", "synthesize needs 'text' (a string)").await;
                };
                self.start(&frame, Some(text)).await
            }
            "synthesize-start" => self.start(&frame, None).await,
            "synthesize-chunk" => {
                let Some(text) = text_of(&frame).map(String::from) else {
                    return self.error("bad-request", "synthesize-chunk needs 'text' (a string)").await;
                };
                self.chunk(&text).await
            }
            "synthesize-stop" => self.stop().await,
            // Wyoming's rule: an event a server does not know is dropped.
            _ => Ok(()),
        }
    }

    /// Start a plain reply (`text` given) or a stream.
    async fn start(&mut self, frame: &Frame, text: Option<String>) -> Result<(), Closed> {
        if self.reply.is_some() {
            let what = if text.is_some() { "synthesize" } else { "synthesize-start" };
            return self.error("busy", &format!("{what} while a reply is still running on this connection")).await;
        }
        match self.open(frame, text.clone()).await {
            Ok(reply) => {
                self.stream_chars = 0;
                self.reply = Some(reply);
                Ok(())
            }
            Err((code, message)) if text.is_some() => self.refuse(code, &message).await,
            Err((code, message)) => self.error(code, &message).await,
        }
    }

    async fn open(&self, frame: &Frame, text: Option<String>) -> Result<Reply, (&'static str, String)> {
        let state = &self.shared.state;
        let chorus = state.chorus.clone();
        if let Some(text) = &text {
            chorus.validate_text(text).map_err(|e| ("bad-request", e.to_string()))?;
            let chars = text.chars().count();
            if chars > state.settings.max_input_chars {
                return Err((
                    "bad-request",
                    format!(
                        "text is {chars} characters, over the server's limit of {}",
                        state.settings.max_input_chars
                    ),
                ));
            }
        }
        let catalog = self.shared.catalogs.get(chorus.clone()).await;
        let spec = VoiceSpec::from_data(&frame.data);
        let (model, voice) =
            catalog.resolve(&chorus, self.selected.as_deref(), &spec).map_err(|e| ("unknown-voice", e))?;
        let found = {
            let (chorus, model) = (chorus.clone(), model.clone());
            tokio::task::spawn_blocking(move || chorus.backend(Some(&model))).await
        };
        let (route, backend) = match found {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => return Err(("backend", e.to_string())),
            Err(e) => return Err(("backend", format!("starting the backend failed: {e}"))),
        };
        let plugin = route.plugin.info.name.clone();
        state.metrics.request("wyoming", &route.model);
        let rate = state.settings.wyoming_sample_rate.unwrap_or(backend.info.sample_rate);
        let chars = text.as_ref().map_or(0, |t| t.chars().count());
        let busy =
            || ("busy", format!("backend '{plugin}' is busy (every slot taken and its queue full); try again shortly"));
        let slot = match tokio::time::timeout(state.settings.request_timeout, state.limits.enter(&plugin, chars)).await
        {
            Ok(Ok(slot)) => slot,
            Ok(Err(_)) => return Err(busy()),
            Err(_) => {
                let waited = state.settings.request_timeout.as_secs_f64();
                return Err((
                    "busy",
                    format!("backend '{plugin}' had no free slot within {waited:.0} s; try again shortly"),
                ));
            }
        };
        let mut request = Request::new("").model(model);
        request.voice = voice;
        request.sample_rate = Some(rate);
        let (segments, segments_rx) = mpsc::channel(4);
        // The speaker holds the slot until the plugin has returned, also after a cancel.
        let (events, cancel) = speak_holding(chorus, Utterance { request, sample_rate: Some(rate) }, segments_rx, slot);
        let streaming = text.is_none();
        let mut reply = Reply {
            streaming,
            segmenter: Segmenter::new(Policy::sentences()),
            pending: VecDeque::new(),
            segments: Some(segments),
            events: Some(events),
            cancel,
            model: route.model.clone(),
            started: std::time::Instant::now(),
            heard: false,
            rate,
            audio_open: false,
            samples: 0,
            stop_received: !streaming,
            failed: false,
        };
        if let Some(text) = text {
            reply.pending.push_back(Segment { text, start: 0 });
        }
        Ok(reply)
    }

    async fn chunk(&mut self, text: &str) -> Result<(), Closed> {
        let limit = self.shared.state.settings.max_input_chars * STREAM_INPUTS;
        self.stream_chars += text.chars().count();
        let too_long = self.stream_chars > limit;
        match self.reply.as_mut() {
            Some(reply) if reply.streaming && !reply.stop_received => {
                if reply.failed {
                    return Ok(());
                }
                if too_long {
                    reply.failed = true;
                    reply.pending.clear();
                    reply.cancel.cancel();
                    let message = format!("the stream's text is over {limit} characters; the rest is not spoken");
                    return self.error("too-large", &message).await;
                }
                let ready = reply.segmenter.push(text);
                reply.pending.extend(ready);
                Ok(())
            }
            _ => self.error("no-stream", "synthesize-chunk outside a stream: send synthesize-start first").await,
        }
    }

    async fn stop(&mut self) -> Result<(), Closed> {
        let Some(reply) = self.reply.as_mut().filter(|r| r.streaming && !r.stop_received) else {
            return self.error("no-stream", "synthesize-stop outside a stream: send synthesize-start first").await;
        };
        reply.stop_received = true;
        if !reply.failed {
            reply.pending.extend(reply.segmenter.flush());
        }
        reply.close_if_done();
        if reply.events.is_none() {
            // The speaker already ended (it failed): the stream is over.
            self.reply = None;
            return self.write(&Frame::new("synthesize-stopped", Value::Null)).await;
        }
        Ok(())
    }

    fn audio_format(&self, rate: u32) -> Value {
        let samples = self.reply.as_ref().map_or(0, |r| r.samples);
        json!({"rate": rate, "width": 2, "channels": 1, "timestamp": samples * 1000 / rate.max(1) as u64})
    }

    async fn on_spoken(&mut self, spoken: Option<Spoken>) -> Result<(), Closed> {
        let Some(reply) = self.reply.as_mut() else { return Ok(()) };
        let rate = reply.rate;
        match spoken {
            Some(Spoken::Audio(chunk)) => {
                if reply.failed {
                    return Ok(());
                }
                if !reply.heard {
                    reply.heard = true;
                    self.shared.state.metrics.first_audio(&reply.model, reply.started.elapsed().as_secs_f64());
                }
                if !reply.audio_open {
                    reply.audio_open = true;
                    let start = Frame::new("audio-start", self.audio_format(rate));
                    self.write(&start).await?;
                }
                for piece in chunk.samples.chunks(CHUNK_SAMPLES) {
                    let pcm: Vec<u8> = piece
                        .iter()
                        .flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes())
                        .collect();
                    let frame = Frame::new("audio-chunk", self.audio_format(rate)).with_payload(pcm);
                    self.write(&frame).await?;
                    if let Some(reply) = self.reply.as_mut() {
                        reply.samples += piece.len() as u64;
                    }
                }
                Ok(())
            }
            Some(Spoken::SegmentDone { report, .. }) => {
                if let Some(report) = report {
                    self.shared.state.metrics.finished(&reply.model, report.x_realtime, report.audio_seconds);
                }
                if reply.streaming { self.close_audio().await } else { Ok(()) }
            }
            Some(Spoken::Words(_)) => Ok(()),
            Some(Spoken::Error { error, .. }) => {
                reply.failed = true;
                reply.pending.clear();
                let bad_request = error.kind().is_some_and(|k| k == chorus_plugin_api::ErrorKind::BAD_REQUEST);
                let (code, status) = if bad_request { ("bad-request", 400) } else { ("synthesis-failed", 500) };
                self.shared.state.metrics.error("wyoming", &reply.model, status);
                if reply.streaming {
                    self.close_audio().await?;
                    self.error(code, &error.to_string()).await
                } else {
                    // No audio-stop: what was sent is not the whole reply.
                    self.refuse(code, &error.to_string()).await
                }
            }
            None => {
                reply.events = None;
                self.close_audio().await?;
                let reply = self.reply.as_ref().expect("a reply");
                if !reply.streaming {
                    self.reply = None;
                } else if reply.stop_received {
                    self.reply = None;
                    self.write(&Frame::new("synthesize-stopped", Value::Null)).await?;
                }
                Ok(())
            }
        }
    }

    /// `audio-stop`, if audio was started and not yet stopped.
    async fn close_audio(&mut self) -> Result<(), Closed> {
        let Some(reply) = self.reply.as_mut().filter(|r| r.audio_open) else { return Ok(()) };
        reply.audio_open = false;
        let rate = reply.rate;
        let timestamp = reply.samples * 1000 / rate.max(1) as u64;
        self.write(&Frame::new("audio-stop", json!({"timestamp": timestamp}))).await
    }
}
