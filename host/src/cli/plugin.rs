//! `chorus plugin check FILE`: load one plugin file as the host does and check it keeps the
//! contract, printing pass, fail or skip per check with the reason (or JSON); non-zero on failure.

use crate::{
    Config,
    conformance::{self, Options},
    paths,
};
use std::{io::Write, path::PathBuf, time::Duration};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Check a plugin file against the contract (manifest, voices, audio, progress, words, stop,
    /// panics, concurrency, refusals).
    Check(CheckArgs),
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The plugin library (a .so file).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The model name to request (default: the first model the plugin lists, else its first pattern).
    #[arg(long)]
    pub model: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Seconds one request may take.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,
}

/// Run the verb; `config_flag` is the global `--config`.
pub fn run(args: &Args, config_flag: Option<&std::path::Path>) -> anyhow::Result<()> {
    let Command::Check(args) = &args.command;
    let config = match paths::config_file(config_flag) {
        Some(path) if config_flag.is_some() && !path.exists() => {
            anyhow::bail!("config file {}: no such file", path.display())
        }
        Some(path) => Config::load(&path)?,
        None => Config::default(),
    };
    if !args.file.exists() {
        anyhow::bail!("{}: no such file", args.file.display());
    }
    let options =
        Options { config, data_dir: None, model: args.model.clone(), timeout: Duration::from_secs(args.timeout) };
    let report = if args.json {
        let report = conformance::check(&args.file, &options);
        println!("{}", serde_json::to_string_pretty(&report)?);
        report
    } else {
        // Each line as its check finishes, so a plugin that takes the process down still shows
        // how far it got.
        println!("{}", conformance::heading(&args.file.display().to_string(), None, None));
        let report = conformance::check_with(&args.file, &options, |check| {
            println!("{check}");
            let _ = std::io::stdout().flush();
        });
        println!("{}", report.summary());
        report
    };
    match report.failed().as_slice() {
        [] => Ok(()),
        failed => anyhow::bail!("{} failed: {}", report.plugin.as_deref().unwrap_or("the plugin"), failed.join(", ")),
    }
}
