//! `chorus plugin check FILE`: load one plugin file as the host does and check it keeps the
//! contract, printing pass, fail or skip per check with the reason (or JSON); non-zero on failure.
//!
//! The checks run in a child process (this binary with the hidden `--worker` flag, printing one
//! JSON line per check), so a plugin that takes its process down — an abort, a segfault in native
//! code — fails the check it was in, with the signal, instead of ending the checker.

use crate::{
    Config,
    conformance::{self, CheckResult, NAMES, Options, Report},
    paths,
};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command as Process, ExitStatus, Stdio},
    time::Duration,
};

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
    /// Run the checks in this process and print JSON lines (what `chorus plugin check` reads).
    #[arg(long, hide = true)]
    pub worker: bool,
}

/// One line of the worker's output.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Line {
    Check(CheckResult),
    Report(Report),
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
    if args.worker {
        return worker(&args.file, &options);
    }
    let report = if args.json {
        let report = supervise(args, config_flag, |_| {})?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        report
    } else {
        println!("{}", conformance::heading(&args.file.display().to_string(), None, None));
        let report = supervise(args, config_flag, |check| {
            println!("{check}");
            let _ = std::io::stdout().flush();
        })?;
        println!("{}", report.summary());
        report
    };
    match report.failed().as_slice() {
        [] => Ok(()),
        failed => {
            let plugin = report.plugin.clone().unwrap_or_else(|| args.file.display().to_string());
            anyhow::bail!("{plugin} failed: {}", failed.join(", "))
        }
    }
}

/// The worker: every check as a JSON line as it finishes, then the report.
fn worker(file: &Path, options: &Options) -> anyhow::Result<()> {
    // A crash is the result this process reports, not a core file left in the caller's folder.
    let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: setrlimit reads the struct it is given and changes only this process's limit.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
    let print = |line: &Line| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", serde_json::to_string(line).expect("a report serializes"));
        let _ = out.flush();
    };
    let report = conformance::check_with(file, options, |check| print(&Line::Check(check.clone())));
    print(&Line::Report(report));
    Ok(())
}

/// Run the worker on `args.file`, calling `each` with every check as it arrives; the worker's
/// report, or, when the worker died, the checks it finished, the one it died in and the rest
/// skipped.
fn supervise(
    args: &CheckArgs,
    config_flag: Option<&Path>,
    mut each: impl FnMut(&CheckResult),
) -> anyhow::Result<Report> {
    let mut cmd = Process::new(std::env::current_exe().context("cannot find the chorus binary")?);
    if let Some(config) = config_flag {
        cmd.arg("--config").arg(config);
    }
    cmd.args(["plugin", "check", "--worker", "--timeout", &args.timeout.to_string()]).arg(&args.file);
    if let Some(model) = &args.model {
        cmd.args(["--model", model]);
    }
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn().context("cannot start the checker")?;
    let (mut checks, mut report) = (Vec::new(), None);
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line.context("reading the checker's output")?;
        match serde_json::from_str(&line) {
            Ok(Line::Check(check)) => {
                each(&check);
                checks.push(check);
            }
            Ok(Line::Report(done)) => report = Some(done),
            // The plugin printed to stdout itself: pass it on where it cannot be mistaken for the report.
            Err(_) => eprintln!("{line}"),
        }
    }
    let status = child.wait().context("waiting for the checker")?;
    if let Some(report) = report {
        return Ok(report);
    }
    let mut report = Report { file: args.file.display().to_string(), plugin: None, model: None, passed: false, checks };
    let died = NAMES.get(report.checks.len()).copied().unwrap_or(NAMES[NAMES.len() - 1]);
    let crash =
        CheckResult::fail(died, format!("the plugin took the process down ({}) during this check", ended(status)));
    each(&crash);
    report.checks.push(crash);
    for name in NAMES.iter().skip(report.checks.len()) {
        let skip = CheckResult::skip(name, "the process running the checks died");
        each(&skip);
        report.checks.push(skip);
    }
    Ok(report)
}

/// How a process ended, for people: `signal 6, SIGABRT` or `exit status 3`.
fn ended(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    let Some(signal) = status.signal() else { return status.to_string() };
    let name = match signal {
        4 => " SIGILL",
        6 => " SIGABRT",
        7 => " SIGBUS",
        8 => " SIGFPE",
        9 => " SIGKILL",
        11 => " SIGSEGV",
        _ => "",
    };
    format!("signal {signal}{}", if name.is_empty() { String::new() } else { format!(",{name}") })
}
