//! `chorus estimate`: characters and price of a request before making it, from the serving
//! backend's price model (or the config's override), with audio length estimated from the text.

use super::input::TextInput;
use crate::Chorus;

/// Speech runs at about this many characters per second (English at a normal pace); the audio
/// length of per-minute prices is estimated with it.
pub const CHARS_PER_SECOND: f64 = 15.0;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: TextInput,
    /// Model name (default: the configured default model).
    #[arg(long, short)]
    pub model: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(chorus: &Chorus, args: &Args) -> anyhow::Result<()> {
    let text = args.input.read(
        "give the text to price: chorus estimate \"Hello\" (or - for stdin, or --file F)",
        chorus.config().max_input_chars,
    )?;
    chorus.validate_text(&text)?;
    let (route, backend) = chorus.backend(args.model.as_deref())?;
    let price = chorus.price(&backend, &route.model);
    let characters = text.chars().count() as u64;
    let audio_seconds = characters as f64 / CHARS_PER_SECOND;
    let cost = price.price(characters, audio_seconds);
    if args.json {
        let out = serde_json::json!({
            "model": route.model,
            "plugin": backend.name(),
            "characters": characters,
            "estimated_audio_seconds": audio_seconds,
            "estimated_cost_usd": cost,
            "price": {
                "usd_per_million_chars": price.usd_per_million_chars,
                "usd_per_million_input_tokens": price.usd_per_million_input_tokens,
                "usd_per_audio_minute": price.usd_per_audio_minute,
                "source": price.source.as_str(),
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("model       {} (plugin {})", route.model, backend.name());
    println!("characters  {characters}");
    println!("audio       ~{audio_seconds:.1} s (at {CHARS_PER_SECOND} characters/s)");
    if price.is_free() {
        println!("cost        free{}", source(&price.source));
    } else {
        println!("cost        ${cost:.6}{}", source(&price.source));
        let mut parts = Vec::new();
        if price.usd_per_million_chars > 0.0 {
            parts.push(format!("${} per million characters", price.usd_per_million_chars));
        }
        if price.usd_per_million_input_tokens > 0.0 {
            parts.push(format!("${} per million input tokens (~characters/4)", price.usd_per_million_input_tokens));
        }
        if price.usd_per_audio_minute > 0.0 {
            parts.push(format!("${} per audio minute", price.usd_per_audio_minute));
        }
        println!("price       {}", parts.join(" + "));
    }
    Ok(())
}

fn source(source: &str) -> String {
    if source.is_empty() { String::new() } else { format!(" ({source})") }
}
