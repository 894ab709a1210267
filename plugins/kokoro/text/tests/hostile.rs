//! Hostile text (issue #21): runs of brackets, quotes and marks, long hyphen chains and words,
//! emoji runs, ellipses. Each costs work bounded per word and time in proportion to its length,
//! ordinary sentences phonemize exactly as before the bounds, and a stop flag ends the work.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chorus_kokoro_text::{ChunkPolicy, Frontend, Lang, MAX_WORD_CHARS, TextError, Work};

static FE: LazyLock<Frontend> = LazyLock::new(|| Frontend::new().expect("front-end builds"));

/// Hostile inputs of a few thousand bytes: name and text.
fn hostile() -> Vec<(&'static str, String)> {
    vec![
        ("parens", format!("{}hello{}", "(".repeat(1500), ")".repeat(1500))),
        ("hyphen chain", "hello-".repeat(500)),
        ("quotes", format!("{}hi{}", "\"".repeat(1500), "\"".repeat(1500))),
        ("one mark", format!("Wait{} go", "!".repeat(3000))),
        ("long word", "abcdefghij".repeat(300)),
        ("nesting", format!("{}deep{}", "([{\"'".repeat(300), "'\"}])".repeat(300))),
        ("emoji", format!("hello {} there", "😀".repeat(800))),
        ("ellipses", "wait...".repeat(400)),
        ("spaced ellipses", format!("{}hello", "... ".repeat(800))),
        ("spaced parens", format!("{}hello{}", "( ".repeat(800), " )".repeat(800))),
        ("digits", "7".repeat(3000)),
        ("url", format!("https://example.com/{}", "a/".repeat(1500))),
    ]
}

/// Ordinary sentences, about `len` bytes of them.
fn ordinary(len: usize) -> String {
    let base = include_str!("data/ordinary.txt").replace('\n', " ");
    let mut text = String::new();
    while text.len() < len {
        text.push_str(&base);
    }
    let mut cut = len;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let end = text[..cut].rfind(' ').unwrap_or(cut);
    text.truncate(end);
    text
}

/// Runs the front-end over the whole text: its work, and the time it took.
fn run(text: &str) -> (Work, Duration) {
    let t = Instant::now();
    let mut chunks = FE.chunks(text, Lang::EnUs, &ChunkPolicy::default());
    for c in chunks.by_ref() {
        match c {
            Ok(_) | Err(TextError::NothingToSpeak) => {}
            Err(e) => panic!("{e}"),
        }
    }
    (chunks.work(), t.elapsed())
}

#[test]
fn ordinary_sentences_phonemize_as_before() {
    // The phonemes these sentences had before runs and long words were bounded.
    let lines = include_str!("data/ordinary.txt").lines();
    let before = include_str!("data/ordinary.phonemes.txt").lines();
    let mut n = 0;
    for (line, want) in lines.zip(before) {
        assert_eq!(FE.phonemes(line, Lang::EnUs).unwrap(), want, "{line}");
        n += 1;
    }
    assert_eq!(n, 40);
}

#[test]
fn hostile_text_asks_misaki_for_bounded_work_per_word() {
    for (name, text) in hostile() {
        let (work, _) = run(&text);
        // Eight marks written together with a word are the most a run keeps.
        assert!(work.longest_word <= MAX_WORD_CHARS + 16, "{name}: a stretch of {} characters", work.longest_word);
        assert!(work.longest_sentence <= 4096, "{name}: {} bytes in one misaki call", work.longest_sentence);
        // The normalizer's readings are longer than what they read ("a/" is "[A](/ˈA/) slash"), never more.
        assert!(work.bytes <= 12 * text.len(), "{name}: {} bytes to misaki for {}", work.bytes, text.len());
    }
}

#[test]
fn hostile_text_takes_time_in_proportion_to_its_length() {
    for (name, text) in hostile() {
        let (_, normal) = run(&ordinary(text.len()));
        let (_, took) = run(&text);
        // Generous: before the bounds these took 15 to over 50 times as long as ordinary text.
        let bound = normal * 8 + Duration::from_millis(300);
        assert!(took <= bound, "{name}: {took:?} against {normal:?} for ordinary text of the same length");
    }
}

#[test]
fn a_set_stop_flag_ends_the_work_before_the_next_sentence() {
    let text = ordinary(20_000);
    let stop = AtomicBool::new(false);
    let mut chunks = FE.chunks(&text, Lang::EnUs, &ChunkPolicy::default()).with_stop(&stop);
    assert!(chunks.next().expect("a first chunk").is_ok());
    let done = chunks.work().sentences;
    stop.store(true, Ordering::Relaxed);
    assert!(matches!(chunks.next(), Some(Err(TextError::Stopped))));
    assert!(chunks.next().is_none(), "nothing after the stop");
    assert_eq!(chunks.work().sentences, done, "no sentence phonemized after the flag");
    assert!(done < 10, "the first chunk took {done} sentences of a long text");

    let stopped = AtomicBool::new(true);
    let mut chunks = FE.chunks(&text, Lang::EnUs, &ChunkPolicy::default()).with_stop(&stopped);
    assert!(matches!(chunks.next(), Some(Err(TextError::Stopped))));
    assert_eq!(chunks.work(), Work::default(), "a request stopped before it began does no work");
}

#[test]
fn a_stop_from_another_thread_is_seen_within_a_sentence() {
    // Many long hostile sentences back to back: stopped from outside after the first chunk, the
    // iterator ends having phonemized at most the one sentence under way.
    let text = format!("{} ", "hello-".repeat(300)).repeat(40);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let mut chunks = FE.chunks(&text, Lang::EnUs, &ChunkPolicy::default()).with_stop(&stop);
        assert!(chunks.next().expect("a first chunk").is_ok());
        let at = chunks.work().sentences;
        s.spawn(|| stop.store(true, Ordering::Relaxed)).join().unwrap();
        let rest: Vec<_> = chunks.by_ref().collect();
        assert!(matches!(rest.last(), Some(Err(TextError::Stopped))), "{} items, no stop", rest.len());
        assert!(chunks.work().sentences <= at + 1, "{} sentences after the stop", chunks.work().sentences - at);
        assert!(chunks.work().sentences < 40);
    });
}
