//! The `chorus` command line: argument parsing and dispatch. One module per subcommand.

mod estimate;
mod input;
mod plugin;
mod plugins;
mod serve;
mod speak;
mod usage;
mod voices;

use crate::{Chorus, Options};
use clap::{Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode};

#[derive(Parser, Debug)]
#[command(
    name = "chorus",
    version,
    about = "Text-to-speech host: speech engines as plugins, a CLI and an OpenAI-compatible server"
)]
pub struct Cli {
    /// Plugin folder (repeatable). When given, replaces CHORUS_PLUGIN_PATH, the config's
    /// plugin_dirs and the plugins/ folder beside the binary.
    #[arg(long = "plugins", value_name = "DIR", global = true)]
    pub plugins: Vec<PathBuf>,
    /// Config file (default: CHORUS_CONFIG, else $XDG_CONFIG_HOME/chorus/config.toml).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List loaded plugins and rejected files.
    Plugins(plugins::Args),
    /// Work with one plugin file: `chorus plugin check FILE`.
    Plugin(plugin::Args),
    /// List the voices of a model's backend.
    Voices(voices::Args),
    /// Speak text to an audio file or stdout.
    Speak(speak::Args),
    /// Serve the OpenAI-compatible HTTP API.
    Serve(serve::Args),
    /// Characters and price of a request, before making it.
    Estimate(estimate::Args),
    /// Usage totals from the ledger by provider and model.
    Usage(usage::Args),
}

/// Parse arguments, run, print a one-line reason on failure.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chorus: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Checking one file needs no plugin folders, and no runtime: the checker drives the plugin itself.
    let command = match cli.command {
        Command::Plugin(args) => return plugin::run(&args, cli.config.as_deref()),
        command => command,
    };
    let options = Options { plugin_dirs: cli.plugins.clone(), config_file: cli.config.clone() };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let _guard = runtime.enter();
    let chorus = Chorus::open(&options)?;
    match command {
        Command::Plugins(args) => plugins::run(&chorus, &args),
        Command::Plugin(args) => plugin::run(&args, cli.config.as_deref()),
        Command::Voices(args) => voices::run(&chorus, &args),
        Command::Speak(args) => runtime.block_on(speak::run(&chorus, args)),
        Command::Serve(args) => runtime.block_on(serve::run(chorus, args)),
        Command::Estimate(args) => estimate::run(&chorus, &args),
        Command::Usage(args) => usage::run(&chorus, &args),
    }
}

fn one_line(text: &str) -> String {
    text.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}
