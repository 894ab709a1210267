//! `chorus usage`: totals from the usage ledger by provider (plugin) and model, for one month or
//! for all time. The ledger is opened read-only: a report never writes, and works on a file or
//! folder it may not write.

use crate::{
    Chorus,
    ledger::{self, Ledger, Total},
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this month (YYYY-MM, UTC); all time when omitted.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(chorus: &Chorus, args: &Args) -> anyhow::Result<()> {
    if let Some(month) = &args.month {
        ledger::check_month(month)?;
    }
    let path = chorus.ledger().path().to_path_buf();
    let totals = match Ledger::open_read_only(&path)? {
        Some(ledger) => ledger.totals(args.month.as_deref())?,
        None => Vec::new(),
    };
    let sum = |f: fn(&Total) -> f64| totals.iter().map(f).sum::<f64>();
    let (requests, characters) = (sum(|t| t.requests as f64) as u64, sum(|t| t.characters as f64) as u64);
    let (audio_seconds, cost_usd) = (sum(|t| t.audio_seconds), sum(|t| t.cost_usd));
    if args.json {
        let out = serde_json::json!({
            "ledger": path.display().to_string(),
            "month": args.month,
            "by_model": totals,
            "total": {"requests": requests, "characters": characters, "audio_seconds": audio_seconds, "cost_usd": cost_usd},
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let period = args.month.as_deref().map_or_else(|| "all time".to_string(), |m| format!("month {m}"));
    if totals.is_empty() {
        println!("no usage recorded for {period} (ledger: {})", path.display());
        return Ok(());
    }
    println!("usage for {period} (ledger: {})", path.display());
    println!(
        "{:<12} {:<28} {:>8} {:>12} {:>10} {:>12}",
        "provider", "model", "requests", "characters", "audio s", "cost $"
    );
    for t in &totals {
        println!(
            "{:<12} {:<28} {:>8} {:>12} {:>10.1} {:>12.6}",
            t.plugin, t.model, t.requests, t.characters, t.audio_seconds, t.cost_usd
        );
    }
    println!(
        "{:<12} {:<28} {:>8} {:>12} {:>10.1} {:>12.6}",
        "total", "", requests, characters, audio_seconds, cost_usd
    );
    Ok(())
}
