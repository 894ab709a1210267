//! The speaker: segments in over a channel, one utterance's events out, in order. Each segment
//! is one [`Chorus::synthesize`] call, started as soon as the previous one finished; audio goes
//! out as the engine pushes it, word timings on the utterance's own timeline and in chars of the
//! whole input. A [`Cancel`] stops the running synthesis at its next push and drops the rest;
//! the speaker's task ends (and lets go of what [`speak_holding`] gave it) once the plugin has
//! returned.

use super::Segment;
use crate::{
    AudioChunk, Chorus, Error, Event, Report, Request, SynthesisStream, Word,
    audio::{Conditioner, Seam},
};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// One word of the utterance: where it is in the whole input (chars) and when it is spoken
/// (seconds from the utterance's first sample).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TimedWord {
    pub word: String,
    pub start_char: usize,
    pub end_char: usize,
    pub start: f64,
    pub end: f64,
}

/// What the speaker reports, in order. The channel closes after the last segment is done, after
/// an error, or after a cancel.
#[derive(Debug)]
pub enum Spoken {
    /// Audio of the segment being spoken: the engine's own chunk, or mono at the rate asked for.
    Audio(AudioChunk),
    Words(Vec<TimedWord>),
    /// Segment `index` (counting from 0, silent ones included) is spoken: its char range in the
    /// input, its audio seconds, and the engine's report (`None` for a segment with nothing to
    /// say, which is not synthesized).
    SegmentDone {
        index: usize,
        start: usize,
        end: usize,
        audio_seconds: f64,
        report: Option<Report>,
    },
    /// Segment `index` failed; nothing follows.
    Error {
        index: usize,
        error: Error,
    },
}

/// Stops an utterance: the running synthesis at its next push, the queued segments dropped.
#[derive(Clone, Debug)]
pub struct Cancel(Arc<watch::Sender<bool>>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

/// How to speak: the request every segment is sent as (its text replaced), and the rate the
/// audio should come at (`None`: each engine chunk as it is).
#[derive(Debug, Clone)]
pub struct Utterance {
    pub request: Request,
    pub sample_rate: Option<u32>,
}

/// Events buffered between the speaker and its consumer.
const CAPACITY: usize = 16;

/// Speak the segments that arrive on `segments` (until it closes) on a task of the current
/// tokio runtime.
pub fn speak(
    chorus: Arc<Chorus>,
    utterance: Utterance,
    segments: mpsc::Receiver<Segment>,
) -> (mpsc::Receiver<Spoken>, Cancel) {
    speak_holding(chorus, utterance, segments, ())
}

/// [`speak`], keeping `guard` (a backend slot, say) until the speaker is done with the backend:
/// after a cancel, not before the stopped plugin has returned.
pub fn speak_holding<G: Send + 'static>(
    chorus: Arc<Chorus>,
    utterance: Utterance,
    segments: mpsc::Receiver<Segment>,
    guard: G,
) -> (mpsc::Receiver<Spoken>, Cancel) {
    let (tx, rx) = mpsc::channel(CAPACITY);
    let (cancel_tx, cancel_rx) = watch::channel(false);
    tokio::spawn(run(chorus, utterance, segments, tx, cancel_rx, guard));
    (rx, Cancel(Arc::new(cancel_tx)))
}

/// The utterance ended early: cancelled, failed, or nobody listens.
struct Ended;

async fn run(
    chorus: Arc<Chorus>,
    utterance: Utterance,
    mut segments: mpsc::Receiver<Segment>,
    tx: mpsc::Sender<Spoken>,
    mut cancel: watch::Receiver<bool>,
    guard: impl Send,
) {
    speak_all(&chorus, &utterance, &mut segments, &tx, &mut cancel).await;
    // Whoever sees the events end finds the segments closed, the guard and the host let go.
    drop(segments);
    drop(guard);
    drop(chorus);
    drop(tx);
}

async fn speak_all(
    chorus: &Chorus,
    utterance: &Utterance,
    segments: &mut mpsc::Receiver<Segment>,
    tx: &mpsc::Sender<Spoken>,
    cancel: &mut watch::Receiver<bool>,
) {
    let mut clock = 0.0;
    for index in 0.. {
        let segment = tokio::select! {
            biased;
            _ = cancel.wait_for(|c| *c) => return,
            segment = segments.recv() => match segment { Some(s) => s, None => return },
        };
        let mut one = One { chorus, utterance, segment: &segment, index, clock, tx };
        match one.speak(cancel).await {
            Ok(seconds) => clock += seconds,
            Err(Ended) => return,
        }
    }
}

/// One segment being spoken.
struct One<'a> {
    chorus: &'a Chorus,
    utterance: &'a Utterance,
    segment: &'a Segment,
    index: usize,
    /// Where the segment starts on the utterance's timeline.
    clock: f64,
    tx: &'a mpsc::Sender<Spoken>,
}

impl One<'_> {
    async fn send(&self, spoken: Spoken) -> Result<(), Ended> {
        self.tx.send(spoken).await.map_err(|_| Ended)
    }

    async fn fail(&self, error: Error) -> Ended {
        let _ = self.send(Spoken::Error { index: self.index, error }).await;
        Ended
    }

    async fn done(&self, audio_seconds: f64, report: Option<Report>) -> Result<f64, Ended> {
        let (start, end) = (self.segment.start, self.segment.end());
        self.send(Spoken::SegmentDone { index: self.index, start, end, audio_seconds, report }).await?;
        Ok(audio_seconds)
    }

    /// Audio out, converted when a rate was asked for; returns its seconds.
    async fn audio(&self, conditioner: &mut Option<(Conditioner, u32)>, chunk: AudioChunk) -> Result<f64, Ended> {
        let chunk = match conditioner {
            None => chunk,
            Some((conditioner, rate)) => match conditioner.push(&chunk) {
                Ok(samples) => AudioChunk { samples, sample_rate: *rate, channels: 1 },
                Err(e) => return Err(self.fail(Error::Other(format!("audio conversion: {e}"))).await),
            },
        };
        if chunk.samples.is_empty() {
            return Ok(0.0);
        }
        let seconds = chunk.seconds();
        self.send(Spoken::Audio(chunk)).await?;
        Ok(seconds)
    }

    /// Synthesize the segment; its audio seconds.
    async fn speak(&mut self, cancel: &mut watch::Receiver<bool>) -> Result<f64, Ended> {
        if self.segment.is_silent() {
            return self.done(0.0, None).await;
        }
        let mut request = self.utterance.request.clone();
        request.text = self.segment.text.clone();
        let mut stream = match self.chorus.synthesize(request) {
            Ok(stream) => stream,
            Err(e) => return Err(self.fail(e).await),
        };
        let result = self.follow(&mut stream, cancel).await;
        if result.is_err() {
            // Cancelled, or nobody listens: the plugin sees the stop at its next push; what it
            // sends until it returns is dropped, and only then is the backend free.
            stream.cancel();
            while stream.next().await.is_some() {}
        }
        result
    }

    /// The segment's stream to its end.
    async fn follow(&self, stream: &mut SynthesisStream, cancel: &mut watch::Receiver<bool>) -> Result<f64, Ended> {
        let mut conditioner =
            self.utterance.sample_rate.map(|rate| (Conditioner::new(rate, 1.0, Seam::default()), rate));
        let mut seconds = 0.0;
        loop {
            let event = tokio::select! {
                biased;
                _ = cancel.wait_for(|c| *c) => return Err(Ended),
                event = stream.next() => event,
            };
            match event {
                Some(Event::Audio(chunk)) => seconds += self.audio(&mut conditioner, chunk).await?,
                Some(Event::Words(words)) => {
                    let words = words.iter().map(|w| self.place(w)).collect();
                    self.send(Spoken::Words(words)).await?;
                }
                Some(Event::Progress(_)) => {}
                Some(Event::Done(report)) => {
                    if let Some((mut conditioner, rate)) = conditioner.take() {
                        match conditioner.finish() {
                            Ok(samples) if !samples.is_empty() => {
                                let chunk = AudioChunk { samples, sample_rate: rate, channels: 1 };
                                seconds += chunk.seconds();
                                self.send(Spoken::Audio(chunk)).await?;
                            }
                            Ok(_) => {}
                            Err(e) => return Err(self.fail(Error::Other(format!("audio conversion: {e}"))).await),
                        }
                    }
                    return self.done(seconds, Some(report)).await;
                }
                Some(Event::Error(e)) => return Err(self.fail(e).await),
                None => {
                    let plugin = stream.plugin.clone();
                    return Err(self.fail(Error::Other(format!("backend '{plugin}' stopped without a result"))).await);
                }
            }
        }
    }

    /// A word of this segment on the utterance's timeline, in chars of the whole input.
    fn place(&self, word: &Word) -> TimedWord {
        let text = &self.segment.text;
        let chars = |byte: usize| {
            let mut byte = byte.min(text.len());
            while !text.is_char_boundary(byte) {
                byte -= 1;
            }
            self.segment.start + text[..byte].chars().count()
        };
        TimedWord {
            word: word.word.clone(),
            start_char: chars(word.start_byte),
            end_char: chars(word.end_byte),
            start: self.clock + word.start,
            end: self.clock + word.end,
        }
    }
}
