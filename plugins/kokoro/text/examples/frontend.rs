//! Prints what the front-end makes of each line of a file (default: the tests' sentences,
//! tests/judge/sentences_en.txt): the normalized words, the phonemes of each chunk and which input
//! word each piece speaks.
//!
//! `cargo run -p chorus-kokoro-text --example frontend -- [FILE] [en-us|en-gb]`

use chorus_kokoro_text::{ChunkPolicy, Frontend, Lang, TokenKind, normalize_with};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/judge/sentences_en.txt").into());
    let lang = Lang::parse(&args.next().unwrap_or_else(|| "en-us".into()))?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let frontend = Frontend::new()?;
    eprintln!("fallback for unknown words: {:?}", frontend.fallback());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        println!("{line}");
        let spoken: Vec<String> =
            normalize_with(line, lang).into_iter().filter(|t| t.kind == TokenKind::Word).map(|t| t.spoken).collect();
        println!("  spoken:   {}", spoken.join(" "));
        for chunk in frontend.chunks(line, lang, &ChunkPolicy::default()) {
            let chunk = chunk?;
            println!("  chunk:    {} ({} tokens, {:?})", chunk.phonemes(), chunk.token_len(), chunk.end);
            let words: Vec<String> = chunk
                .pieces
                .iter()
                .filter_map(|p| p.word.as_ref().map(|w| format!("{}={}", &line[w.clone()], p.phonemes)))
                .collect();
            println!("  words:    {}", words.join(" | "));
        }
    }
    Ok(())
}
