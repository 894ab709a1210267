//! The incremental text core against the real example plugin: segments sent one at a time are
//! spoken in order, each as soon as it arrives; word timings land on the utterance's timeline at
//! the right chars of the whole input; a rate asked for is honoured; a failure ends the utterance
//! with an error; a cancel stops it and drops what was queued.

use chorus_host::{
    Chorus, Config, Request,
    textstream::{Policy, Segment, Segmenter, Spoken, TimedWord, Utterance, speak, speak_holding},
};
use std::sync::Arc;
use tokio::sync::mpsc;

/// The example plugin speaks 40 ms per char at 24 kHz.
const RATE: u32 = 24_000;
const SAMPLES_PER_CHAR: usize = 960;

/// A host over the example plugin and its temporary data folder. Fields drop in order: the host
/// (whose ledger writer finishes its writes) before its data folder is removed.
struct Host {
    chorus: Arc<Chorus>,
    _plugins: tempfile::TempDir,
    _data: tempfile::TempDir,
}

fn host() -> Host {
    let plugins = chorus_tests::plugin_dir(&["chorus_plugin_example"]);
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::parse("default_model = \"example\"\n").unwrap();
    config.data_dir = Some(data.path().to_path_buf());
    Host {
        chorus: Arc::new(Chorus::with_config(config, &[plugins.path().to_path_buf()])),
        _plugins: plugins,
        _data: data,
    }
}

fn utterance(sample_rate: Option<u32>) -> Utterance {
    Utterance { request: Request::new("").model("example"), sample_rate }
}

/// Events until the next `SegmentDone` (included) or the end.
async fn until_done(rx: &mut mpsc::Receiver<Spoken>) -> Vec<Spoken> {
    let mut out = Vec::new();
    while let Some(event) = rx.recv().await {
        let done = matches!(event, Spoken::SegmentDone { .. } | Spoken::Error { .. });
        out.push(event);
        if done {
            break;
        }
    }
    out
}

fn samples(events: &[Spoken]) -> usize {
    events.iter().map(|e| if let Spoken::Audio(a) = e { a.samples.len() } else { 0 }).sum()
}

fn words(events: &[Spoken]) -> Vec<TimedWord> {
    events.iter().flat_map(|e| if let Spoken::Words(w) = e { w.clone() } else { Vec::new() }).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sentence_is_spoken_as_soon_as_it_is_complete_and_in_order() {
    let host = host();
    let input = "Hello there. Ünïcode words follow! And the end";
    let (tx, rx_segments) = mpsc::channel(8);
    let (mut rx, _cancel) = speak(host.chorus.clone(), utterance(None), rx_segments);
    let mut segmenter = Segmenter::new(Policy::sentences());

    // The first sentence is spoken while the rest of the text has not even been cut.
    let mut first = Vec::new();
    for piece in ["Hel", "lo the", "re. Ünï"] {
        for segment in segmenter.push(piece) {
            tx.send(segment).await.unwrap();
        }
    }
    first.extend(until_done(&mut rx).await);
    assert!(matches!(first.last(), Some(Spoken::SegmentDone { index: 0, start: 0, end: 13, .. })), "{first:?}");
    assert_eq!(samples(&first), 13 * SAMPLES_PER_CHAR);
    assert!(first.iter().all(|e| !matches!(e, Spoken::Audio(a) if a.sample_rate != RATE)));

    let mut rest = Vec::new();
    for piece in ["code words follow! And the", " end"] {
        for segment in segmenter.push(piece) {
            tx.send(segment).await.unwrap();
        }
    }
    tx.send(segmenter.flush().unwrap()).await.unwrap();
    drop(tx);
    while let Some(event) = rx.recv().await {
        rest.push(event);
    }
    let done: Vec<(usize, usize, usize)> = rest
        .iter()
        .filter_map(|e| {
            if let Spoken::SegmentDone { index, start, end, .. } = e { Some((*index, *start, *end)) } else { None }
        })
        .collect();
    assert_eq!(done, [(1, 13, 35), (2, 35, 46)]);
    assert_eq!(samples(&rest), (46 - 13) * SAMPLES_PER_CHAR);

    // Every word names its own chars of the whole input and its time on the whole utterance.
    let all: Vec<TimedWord> = words(&first).into_iter().chain(words(&rest)).collect();
    let chars: Vec<char> = input.chars().collect();
    assert_eq!(all.len(), 8);
    for w in &all {
        assert_eq!(chars[w.start_char..w.end_char].iter().collect::<String>(), w.word, "{w:?}");
        let expected = w.start_char as f64 * SAMPLES_PER_CHAR as f64 / RATE as f64;
        assert!((w.start - expected).abs() < 1e-6, "{} starts at {} s, not {expected} s", w.word, w.start);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_comes_mono_at_the_rate_asked_for() {
    let host = host();
    let (tx, rx_segments) = mpsc::channel(8);
    let (mut rx, _cancel) = speak(host.chorus.clone(), utterance(Some(16_000)), rx_segments);
    tx.send(Segment { text: "Twelve chars".into(), start: 0 }).await.unwrap();
    drop(tx);
    let events = until_done(&mut rx).await;
    assert!(events.iter().all(|e| !matches!(e, Spoken::Audio(a) if a.sample_rate != 16_000 || a.channels != 1)));
    assert_eq!(samples(&events), 12 * SAMPLES_PER_CHAR * 2 / 3, "24 kHz to 16 kHz keeps the length");
    assert!(rx.recv().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_segments_are_skipped_and_a_failure_ends_the_utterance() {
    let host = host();
    let (tx, rx_segments) = mpsc::channel(8);
    let mut bad = utterance(None);
    bad.request.voice = Some("no-such-voice".into());
    let (mut rx, _cancel) = speak(host.chorus.clone(), bad, rx_segments);
    tx.send(Segment { text: " ... ".into(), start: 0 }).await.unwrap();
    tx.send(Segment { text: "Hi.".into(), start: 5 }).await.unwrap();
    // The speaker may have failed and closed its queue by now; either way this is never spoken.
    let _ = tx.send(Segment { text: "Never spoken.".into(), start: 8 }).await;
    let silent = until_done(&mut rx).await;
    assert!(
        matches!(silent.as_slice(), [Spoken::SegmentDone { index: 0, audio_seconds: 0.0, report: None, .. }]),
        "{silent:?}"
    );
    let failed = until_done(&mut rx).await;
    match failed.as_slice() {
        [Spoken::Error { index: 1, error }] => assert!(error.to_string().contains("no-such-voice"), "{error}"),
        other => panic!("expected the second segment's error, got {other:?}"),
    }
    assert!(rx.recv().await.is_none(), "nothing after an error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_stops_the_running_segment_and_drops_the_queued_ones() {
    let host = host();
    let (tx, rx_segments) = mpsc::channel(8);
    let (mut rx, cancel) = speak(host.chorus.clone(), utterance(None), rx_segments);
    let long = "word ".repeat(500);
    tx.send(Segment { text: long.clone(), start: 0 }).await.unwrap();
    tx.send(Segment { text: "Queued.".into(), start: long.len() }).await.unwrap();
    assert!(matches!(rx.recv().await, Some(Spoken::Audio(_))));
    cancel.cancel();
    let mut after = Vec::new();
    while let Some(event) = rx.recv().await {
        after.push(event);
    }
    assert!(after.iter().all(|e| !matches!(e, Spoken::SegmentDone { .. })), "a cancelled utterance finished a segment");
    assert!(samples(&after) < long.len() * SAMPLES_PER_CHAR / 2, "most of the long segment was still spoken");
    assert!(tx.send(Segment { text: "Late.".into(), start: 0 }).await.is_err(), "the speaker still takes segments");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_given_to_the_speaker_is_let_go_before_its_events_end() {
    let host = host();
    for cancelled in [false, true] {
        let guard = Arc::new(());
        let (tx, rx_segments) = mpsc::channel(8);
        let (mut rx, cancel) = speak_holding(host.chorus.clone(), utterance(None), rx_segments, guard.clone());
        tx.send(Segment { text: "word ".repeat(200), start: 0 }).await.unwrap();
        assert!(matches!(rx.recv().await, Some(Spoken::Audio(_))));
        assert_eq!(Arc::strong_count(&guard), 2, "held while speaking");
        if cancelled {
            cancel.cancel();
        } else {
            drop(tx);
        }
        while rx.recv().await.is_some() {}
        assert_eq!(Arc::strong_count(&guard), 1, "let go once the events ended (cancelled: {cancelled})");
    }
}
