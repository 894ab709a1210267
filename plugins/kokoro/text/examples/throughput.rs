//! Measures how fast the front-end turns text into chunks: normalization plus misaki per sentence.
//!
//! `cargo run --release -p chorus-kokoro-text --example throughput -- [FILE] [REPEAT]`

use std::time::Instant;

use chorus_kokoro_text::{ChunkPolicy, Frontend, Lang, normalize};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/judge/sentences_en.txt").into());
    let repeat: usize = args.next().map_or(Ok(50), |s| s.parse())?;
    let line = std::fs::read_to_string(&path)?;
    let text = vec![line.as_str(); repeat].join("\n");
    let t = Instant::now();
    let frontend = Frontend::new()?;
    println!("Frontend::new: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let toks = normalize(&text);
    println!("normalize: {} tokens in {:.1} ms", toks.len(), t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let mut it = frontend.chunks(&text, Lang::EnUs, &ChunkPolicy::default());
    let first = it.next().ok_or("no chunk")??;
    println!("first chunk ({} tokens): {:.1} ms", first.token_len(), t.elapsed().as_secs_f64() * 1e3);
    let mut n = 1;
    let mut tokens = first.token_len();
    for c in it.by_ref() {
        tokens += c?.token_len();
        n += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    let words = text.split_whitespace().count();
    println!(
        "{n} chunks, {tokens} tokens, {words} words, {} sentences in {:.2} s: {:.2} ms per sentence, {:.0} words/s",
        it.sentences_phonemized(),
        secs,
        secs * 1e3 / it.sentences_phonemized() as f64,
        words as f64 / secs
    );
    Ok(())
}
