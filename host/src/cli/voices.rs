//! `chorus voices`: the voices of one model's backend.

use crate::Chorus;
use serde_json::json;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model name (default: the configured default model).
    #[arg(long, short)]
    pub model: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(chorus: &Chorus, args: &Args) -> anyhow::Result<()> {
    let (route, backend) = chorus.backend(args.model.as_deref())?;
    let voices = backend.voices()?;
    if args.json {
        let list: Vec<_> = voices
            .iter()
            .map(|v| {
                json!({"id": v.id.as_str(), "name": v.name.as_str(), "language": v.language.as_str(),
                       "gender": v.gender.as_str(), "description": v.description.as_str()})
            })
            .collect();
        let out = json!({"model": route.model, "plugin": backend.name(), "default_voice": backend.info.default_voice.as_str(), "voices": list});
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} voices for {} (plugin {}; default {}):",
        voices.len(),
        route.model,
        backend.name(),
        backend.info.default_voice
    );
    for v in &voices {
        println!("  {:<20} {:<8} {:<7} {}", v.id, v.language, v.gender, v.description);
    }
    Ok(())
}
