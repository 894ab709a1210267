//! One synthesis request: text chunks prepared on a second thread while the current chunk is in
//! inference, silence trimmed, chunks joined with pauses, word timestamps and progress pushed.

use crate::audio;
use crate::halves::SAMPLES_PER_FRAME as SAMPLES_PER_UNIT;
use crate::model::{Model, SAMPLE_RATE};
use crate::prepare::{Prepared, Vocab, WordSpan, prepare};
use crate::voices::{Blend, VoicePack};
use crate::windows::{Pieces, Rate, Source, Windows};
use chorus_kokoro_text::{Boundary, ChunkPolicy, Frontend, Lang};
use chorus_plugin_api::{PluginError, Progress, Sink, Stopped, Summary, WordTimestamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

/// How long the request's thread waits for the front-end before it pushes a progress report
/// ("preparing text"): the push is how a cancelled request is noticed while no audio flows.
const HEARTBEAT: Duration = Duration::from_millis(500);

/// Sets the front-end's stop flag when dropped: however the request's loop ends (done, stopped,
/// failed), the front-end thread stops at its next sentence instead of finishing its chunk.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Everything a request needs, borrowed from the engine.
pub struct Job<'a> {
    pub model: &'a Model,
    pub voices: &'a VoicePack,
    pub vocab: &'a Vocab,
    pub frontend: &'a Frontend,
    pub policy: &'a ChunkPolicy,
    pub text: &'a str,
    pub lang: Lang,
    pub blend: Blend,
    pub speed: f32,
    pub sentence_pause: f32,
    pub clause_pause: f32,
    pub windows: Windows,
    /// The decoder's measured speed, which sizes the first window.
    pub rate: &'a Rate,
    /// Add each chunk's raw durations and cut points to its progress metrics (for tests and tools).
    pub timing_detail: bool,
}

/// Counters of a running request.
#[derive(Default)]
struct Tally {
    samples: usize,
    tokens: usize,
    chunks: u32,
    spoken_chunks: u32,
    words: usize,
    first_audio: Option<f64>,
    inference: f64,
    /// Silence owed after the previous chunk, pushed before the next one so the audio never ends in a pause.
    pending_pause: usize,
    /// The end of a chunk cut between two words, held back to be crossfaded into the next chunk.
    carry: Vec<f32>,
    /// Samples of the current chunk pushed so far (from its head).
    chunk_sent: usize,
    /// The first window's size in frames, until the request's first spoken chunk has taken it.
    opening: Option<usize>,
    last_end: Option<Boundary>,
}

/// Where a chunk's audio is cut, in samples of its whole audio.
struct Cut {
    head: usize,
    tail: usize,
    /// From here on the audio is held back, to be crossfaded into the next chunk.
    hold: Option<usize>,
    /// The chunk starts by crossfading over the previous chunk's held end.
    joining: bool,
}

/// Pushes a chunk's pieces: the pause owed before it, a fade-in or the crossfade over a held tail
/// at its start, and at its end a fade-out, or the end held back when the chunk ends in a cut.
struct ChunkOut<'a> {
    lead: usize,
    cut: &'a Cut,
    first: bool,
}

impl ChunkOut<'_> {
    fn push(&mut self, mut piece: Vec<f32>, last: bool, tally: &mut Tally, sink: &mut Sink) -> Result<(), Stopped> {
        let first = std::mem::replace(&mut self.first, false);
        let sent = if first { 0 } else { tally.chunk_sent };
        if first && self.cut.joining {
            audio::crossfade(&std::mem::take(&mut tally.carry), &mut piece);
        }
        if let (true, Some(hold)) = (last, self.cut.hold) {
            let kept = (hold - self.cut.head).saturating_sub(sent);
            tally.carry = piece.split_off(kept.min(piece.len()));
        }
        audio::fade_edges(&mut piece, first && self.cut.head > 0 && !self.cut.joining, last && self.cut.hold.is_none());
        let mut out = vec![0.0f32; if first { self.lead } else { 0 }];
        out.extend_from_slice(&piece);
        tally.chunk_sent = sent + piece.len();
        tally.samples += out.len();
        sink.audio(&out, SAMPLE_RATE, 1)
    }
}

/// Push a held chunk end on its own (its next chunk never came or has no audio), faded out.
fn flush_carry(tally: &mut Tally, sink: &mut Sink) {
    let mut carry = std::mem::take(&mut tally.carry);
    if carry.is_empty() {
        return;
    }
    audio::fade_edges(&mut carry, false, true);
    tally.samples += carry.len();
    let _ = sink.audio(&carry, SAMPLE_RATE, 1);
}

impl Job<'_> {
    pub fn run(&self, sink: &mut Sink) -> Result<Summary, PluginError> {
        let started = Instant::now();
        let opening = Some(self.windows.first).filter(|&w| w > 0);
        let mut tally = Tally { opening, ..Tally::default() };
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| -> Result<(), PluginError> {
            // Depth 1: one chunk waits ready while another is in inference; memory stays bounded.
            let (tx, rx) = sync_channel(1);
            let stop = &stop;
            scope.spawn(move || {
                for chunk in self.frontend.chunks(self.text, self.lang, self.policy).with_stop(stop) {
                    let item = chunk
                        .map(|c| prepare(&c, self.vocab))
                        .map_err(|e| PluginError::bad_request(format!("kokoro: {e}")));
                    let failed = item.is_err();
                    if tx.send(item).is_err() || failed {
                        break;
                    }
                }
            });
            let _stop = StopOnDrop(stop);
            let mut text_done = 0;
            loop {
                let item = match rx.recv_timeout(HEARTBEAT) {
                    Ok(item) => item,
                    Err(RecvTimeoutError::Timeout) => {
                        if self.heartbeat(text_done, &tally, started, sink) {
                            break;
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                let prepared = item?;
                text_done = prepared.text_end;
                self.chunk(prepared, &mut tally, started, sink)?;
                if sink.stopped() {
                    break;
                }
            }
            Ok(())
        })?;
        if !sink.stopped() {
            flush_carry(&mut tally, sink);
        }
        if tally.last_end != Some(Boundary::End) && tally.chunks > 0 && !sink.stopped() {
            self.progress(None, &tally, started, serde_json::Value::Null, sink);
        }
        if tally.spoken_chunks == 0 && !sink.stopped() {
            return Err(PluginError::bad_request(
                "kokoro: nothing to speak: the text holds no words, numbers or symbols that can be read aloud",
            ));
        }
        let elapsed = started.elapsed().as_secs_f64();
        let audio_seconds = tally.samples as f64 / SAMPLE_RATE as f64;
        Ok(Summary {
            audio_seconds,
            characters: self.text.chars().count() as u64,
            chunks: tally.chunks,
            cost_usd: 0.0,
            extra_json: serde_json::json!({
                "time_to_first_audio": tally.first_audio,
                "x_real_time": audio_seconds / elapsed.max(1e-9),
                "inference_seconds": tally.inference,
                "elapsed_seconds": elapsed,
                "tokens": tally.tokens,
                "words": tally.words,
                "stopped": sink.stopped(),
            })
            .to_string()
            .into(),
        })
    }

    /// Infer one chunk and push its audio (window by window on a split model), words and progress.
    fn chunk(&self, p: Prepared, tally: &mut Tally, started: Instant, sink: &mut Sink) -> Result<(), PluginError> {
        tally.chunks += 1;
        tally.last_end = Some(p.end);
        let has_words = !p.words.is_empty();
        let mut detail = serde_json::Value::Null;
        if has_words && p.token_count() > 0 {
            let t = Instant::now();
            let style = self.voices.style(&self.blend, p.ids.len() - 2);
            let (source, durations) = if let Some(halves) = self.model.halves() {
                let frames = halves.front(&p.ids, &style, self.speed)?;
                let durations = frames.durations.clone();
                (Source::Frames(frames), Some(durations))
            } else {
                let out = self.model.run(&p.ids, &style, self.speed)?;
                (Source::Whole(out.audio), out.durations)
            };
            tally.inference += t.elapsed().as_secs_f64();
            // Sample offset where each id starts, from the durations (one unit = 600 samples).
            let edges: Option<Vec<usize>> = durations.filter(|d| d.len() == p.ids.len()).map(|d| {
                let mut acc = 0usize;
                let mut e = vec![0];
                e.extend(d.iter().map(|&u| {
                    acc += u.max(0) as usize * SAMPLES_PER_UNIT;
                    acc
                }));
                e
            });
            let cut = self.cut(&p, &source, edges.as_deref(), tally, sink);
            let lead = std::mem::take(&mut tally.pending_pause);
            let offset = tally.samples + lead;
            let pause = match p.end {
                Boundary::Sentence => self.sentence_pause,
                Boundary::Clause => self.clause_pause,
                _ => 0.0,
            };
            tally.pending_pause = (pause * SAMPLE_RATE as f32) as usize;
            tally.tokens += p.token_count();
            tally.spoken_chunks += 1;
            let mut out = ChunkOut { lead, cut: &cut, first: true };
            let starts = edges.as_ref().map_or_else(Vec::new, |e| {
                p.words.iter().filter(|w| !w.tokens.is_empty()).map(|w| e[w.tokens.start] / SAMPLES_PER_UNIT).collect()
            });
            let mut pieces = Pieces::new(&source, cut.head, cut.tail, tally.opening.take(), starts);
            let mut words_sent = false;
            // The model folds the utterance's closing pause into the last phoneme's duration: the
            // request's last piece ends at its last sound (plus a margin), and the last words'
            // times, sent with it, end there too.
            let ends_request = p.end == Boundary::End;
            while let Some(piece) = pieces.next(self.model, &self.windows, self.rate, &style, &mut tally.inference) {
                let (mut piece, last) = piece?;
                if last && ends_request {
                    audio::trim_tail(&mut piece);
                }
                if out.push(piece, last, tally, sink).is_err() {
                    return Ok(());
                }
                if tally.first_audio.is_none() {
                    tally.first_audio = Some(started.elapsed().as_secs_f64());
                }
                if let (false, true, Some(e)) = (words_sent, last || !ends_request, &edges) {
                    words_sent = true;
                    let end = if ends_request { tally.samples as f64 / SAMPLE_RATE as f64 } else { f64::INFINITY };
                    let at = |i: usize| ((offset + e[i] - cut.head.min(e[i])) as f64 / SAMPLE_RATE as f64).min(end);
                    let words = self.stamps(&p, |w| (at(w.tokens.start), at(w.tokens.end)));
                    tally.words += words.len();
                    if sink.words(&words).is_err() {
                        return Ok(());
                    }
                }
            }
            if let (true, Some(e)) = (self.timing_detail, &edges) {
                let durations: Vec<usize> = e.windows(2).map(|w| (w[1] - w[0]) / SAMPLES_PER_UNIT).collect();
                detail = serde_json::json!({
                    "ids": p.ids, "durations": durations, "offset": offset, "head": cut.head, "tail": cut.tail,
                    "words": p.words.iter().map(|w| [w.bytes.start, w.bytes.end, w.tokens.start, w.tokens.end]).collect::<Vec<_>>(),
                });
            }
        } else if has_words {
            flush_carry(tally, sink);
            // Words whose phonemes are all outside the vocabulary: stamp them at the current point.
            let at = tally.samples as f64 / SAMPLE_RATE as f64;
            let words = self.stamps(&p, |_| (at, at));
            tally.words += words.len();
            if sink.words(&words).is_err() {
                return Ok(());
            }
        }
        self.progress(Some(&p), tally, started, detail, sink);
        Ok(())
    }

    /// Where a chunk's audio is cut, in samples of the chunk's whole audio: the model's leading and
    /// trailing silence off (never inside the words), and the join with a held tail.
    fn cut(&self, p: &Prepared, source: &Source, edges: Option<&[usize]>, tally: &mut Tally, sink: &mut Sink) -> Cut {
        let first_word = p.words.iter().find(|w| !w.tokens.is_empty());
        let keep = edges.and_then(|e| {
            let last = p.words.iter().rev().find(|w| !w.tokens.is_empty())?;
            Some((e[first_word?.tokens.start], e[last.tokens.end]))
        });
        let (mut head, mut tail) = match source {
            Source::Whole(raw) => audio::cut_points(raw, keep),
            // Without the audio yet, the durations place the words: keep the same margins.
            Source::Frames(frames) => {
                let len = frames.len() * SAMPLES_PER_UNIT;
                let (start, end) = keep.unwrap_or((0, len));
                (start.saturating_sub(audio::LEAD_MARGIN), (end + audio::TAIL_MARGIN).min(len))
            }
        };
        // A chunk cut between two words was synthesized with the next word as context: keep its
        // audio up to that word's start plus half a crossfade; the next chunk, which starts with
        // the same word, fades in over the held tail, aligned on that word's first phoneme.
        let ends_in_cut = edges.zip(p.context_start).map(|(e, i)| e[i]);
        if let Some(at) = ends_in_cut {
            tail = (at + audio::CROSSFADE / 2).min(source.len()).max(head);
        }
        // A held tail is joined on this chunk's first word; without one to align on, it goes out alone.
        let joining = match (edges, first_word) {
            (Some(e), Some(w)) if !tally.carry.is_empty() => {
                head = e[w.tokens.start].saturating_sub(audio::CROSSFADE / 2).min(tail);
                true
            }
            _ => {
                flush_carry(tally, sink);
                false
            }
        };
        let hold = ends_in_cut.map(|at| at.saturating_sub(audio::CROSSFADE / 2).clamp(head, tail));
        Cut { head, tail, hold, joining }
    }

    /// One timestamp per input word of `p`, `times` giving its (start, end) in seconds.
    fn stamps(&self, p: &Prepared, times: impl Fn(&WordSpan) -> (f64, f64)) -> Vec<WordTimestamp> {
        p.words
            .iter()
            .map(|w| {
                let (start, end) = times(w);
                WordTimestamp {
                    word: self.text.get(w.bytes.clone()).unwrap_or("").into(),
                    start_byte: w.bytes.start as u64,
                    end_byte: w.bytes.end as u64,
                    start,
                    end,
                }
            })
            .collect()
    }

    /// Progress while the front-end works on the next chunk: nothing new, status "preparing
    /// text". True when the push answers stop.
    fn heartbeat(&self, text_done: usize, tally: &Tally, started: Instant, sink: &mut Sink) -> bool {
        let metrics = serde_json::json!({
            "time_to_first_audio": tally.first_audio,
            "elapsed_seconds": started.elapsed().as_secs_f64(),
            "inference_seconds": tally.inference,
            "totals_estimated": true,
        });
        let progress = Progress {
            fraction: (text_done as f64 / self.text.len().max(1) as f64).clamp(0.0, 1.0) as f32,
            processed: tally.tokens as u64,
            total: tally.tokens as u64,
            unit: "tokens".into(),
            chunk_index: tally.chunks,
            chunk_count: tally.chunks,
            status: format!("preparing text for chunk {}", tally.chunks + 1).into(),
            audio_seconds: tally.samples as f64 / SAMPLE_RATE as f64,
            metrics_json: metrics.to_string().into(),
        };
        sink.progress(&progress).is_err()
    }

    /// Progress after a chunk (`None`: after the last one, when it was not marked as the end).
    fn progress(
        &self,
        p: Option<&Prepared>,
        tally: &Tally,
        started: Instant,
        detail: serde_json::Value,
        sink: &mut Sink,
    ) {
        let done = p.is_none_or(|p| p.end == Boundary::End);
        let fraction = if done || self.text.is_empty() {
            1.0
        } else {
            (p.map_or(0, |p| p.text_end) as f64 / self.text.len() as f64).clamp(0.0, 1.0)
        };
        // The front-end is lazy, so totals are estimated from the share of the text done so far.
        let estimate = |done: f64| if fraction > 0.0 { (done / fraction).round().max(done) } else { done };
        let total_tokens = estimate(tally.tokens as f64) as u64;
        let chunk_count = if done { tally.chunks } else { estimate(tally.chunks as f64) as u32 };
        let elapsed = started.elapsed().as_secs_f64();
        let audio_seconds = tally.samples as f64 / SAMPLE_RATE as f64;
        let status = if done {
            format!("done: chunk {} of {}", tally.chunks, tally.chunks)
        } else {
            format!("chunk {} of about {chunk_count}", tally.chunks)
        };
        let mut metrics = serde_json::json!({
            "time_to_first_audio": tally.first_audio,
            "x_real_time": audio_seconds / elapsed.max(1e-9),
            "elapsed_seconds": elapsed,
            "inference_seconds": tally.inference,
            "chunk_tokens": p.map_or(0, Prepared::token_count),
            "totals_estimated": !done,
        });
        if !detail.is_null() {
            metrics["timing"] = detail;
        }
        let progress = Progress {
            fraction: fraction as f32,
            processed: tally.tokens as u64,
            total: total_tokens.max(tally.tokens as u64),
            unit: "tokens".into(),
            chunk_index: tally.chunks,
            chunk_count,
            status: status.into(),
            audio_seconds,
            metrics_json: metrics.to_string().into(),
        };
        let _ = sink.progress(&progress);
    }
}
