//! Measures the front-end on hostile text (issue #21): runs of brackets, quotes and marks, long
//! hyphen chains, a 10 000-character word, emoji runs, many ellipses. For each input: time to the
//! first chunk and to the last one, next to ordinary sentences of the same length.
//!
//! `cargo run --release -p chorus-kokoro-text --example hostile -- [NAME ...]`

use std::time::Instant;

use chorus_kokoro_text::{ChunkPolicy, Frontend, Lang};

/// The hostile inputs: name and text.
fn inputs() -> Vec<(&'static str, String)> {
    vec![
        ("parens 3000", format!("{}hello{}", "(".repeat(3000), ")".repeat(3000))),
        ("hello- x800", "hello-".repeat(800)),
        ("quotes 4000", format!("{}hi{}", "\"".repeat(2000), "\"".repeat(2000))),
        ("! x10000", format!("Wait{} go", "!".repeat(10_000))),
        ("word 10k", "abcdefghij".repeat(1000)),
        ("nesting ([{ x1000", format!("{}deep{}", "([{\"'".repeat(1000), "'\"}])".repeat(1000))),
        ("emoji x3000", format!("hello {} there", "😀".repeat(3000))),
        ("ellipses x1500", "wait...".repeat(1500)),
        ("spaced ... x2000", format!("{}hello", "... ".repeat(2000))),
        ("spaced parens 3000", format!("{}hello{}", "( ".repeat(3000), " )".repeat(3000))),
        ("digits 10k", "7".repeat(10_000)),
        ("url 6000", format!("https://example.com/{}", "a/".repeat(3000))),
    ]
}

/// Ordinary sentences repeated to about `len` bytes.
fn ordinary(len: usize) -> String {
    let base = include_str!("../../../../tests/judge/sentences_en.txt").replace('\n', " ");
    let mut text = String::new();
    while text.len() < len {
        text.push_str(&base);
    }
    let mut cut = len.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let end = text[..cut].rfind(' ').unwrap_or(cut);
    text.truncate(end);
    text
}

/// Milliseconds to the first chunk and to the end.
fn measure(frontend: &Frontend, text: &str) -> (f64, f64) {
    let t = Instant::now();
    let mut first = None;
    for chunk in frontend.chunks(text, Lang::EnUs, &ChunkPolicy::default()) {
        let _ = chunk;
        first.get_or_insert(t.elapsed().as_secs_f64() * 1e3);
    }
    let total = t.elapsed().as_secs_f64() * 1e3;
    (first.unwrap_or(total), total)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let only: Vec<String> = std::env::args().skip(1).collect();
    let frontend = Frontend::new()?;
    measure(&frontend, &ordinary(2000));
    println!("| input | bytes | first chunk (ms) | all chunks (ms) | ordinary text, same length (ms) |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, text) in inputs() {
        if !only.is_empty() && !only.iter().any(|o| name.starts_with(o.as_str())) {
            continue;
        }
        let (first, total) = measure(&frontend, &text);
        let (_, normal) = measure(&frontend, &ordinary(text.len()));
        println!("| {name} | {} | {first:.0} | {total:.0} | {normal:.0} |", text.len());
    }
    Ok(())
}
