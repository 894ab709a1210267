//! `cargo xtask dist | setup | test | judge-env | bench`: building, staging, asset setup and test
//! runs.
//!
//! Every command installs what it needs first (Debian packages, ONNX Runtime, model files, the
//! Python evaluation environment), idempotently, and says clearly what failed.

mod bench;
mod deps;
mod derive;
mod dist;
mod load;
mod pyenv;
mod setup;
mod test;
mod torch;

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = &args[args.len().min(1)..];
    match args.first().map(String::as_str) {
        Some("dist") => dist::run(rest),
        Some("setup") => setup::run(&setup::SetupArgs::parse(rest)?),
        Some("test") => test::run(rest),
        Some("hermetic") => test::hermetic(rest),
        Some("deps") => deps::ensure(),
        Some("bench") => bench::run(rest),
        Some("bench-stream") => bench::stream::run(rest),
        Some("derive") => derive::run(rest),
        Some("torch") => torch::run(rest),
        Some("judge-env") => pyenv::print_test_python(),
        _ => bail!(
            "usage: cargo xtask <command>\n  dist    build host and plugins in release into target/dist (runs setup when assets are missing)\n  setup   fetch ONNX Runtime, the Kokoro model and voices into the data folder\n  test    install everything the tests need, build every crate, run all tests (both tiers)\n  hermetic run plain `cargo test` isolated: loopback-only network, empty HOME and TMPDIR\n  judge-env build the tests' Python environment (the speech judge) and print its python\n  deps    install the Debian packages the build and tests need\n  bench   measure chorus against the peer and write docs/BENCHMARKS.md (without ../shared/eval: chorus alone, target/bench/chorus-only.md)\n  bench-stream  text streamed at 20 tokens/s: the ElevenLabs WebSocket against whole sentences POSTed (target/bench/stream.md)\n  derive  make the derived Kokoro model (float convolutions; an experiment, see docs/BENCHMARKS.md)\n  torch   convert the Kokoro model for PyTorch into <data>/kokoro-torch (its own Python environment, about 2.6 GB to download; --plugin builds its plugin)"
        ),
    }
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask has a parent").to_path_buf()
}

/// Run a command in the workspace root, failing with its command line when it fails.
pub fn sh(program: &str, args: &[&str]) -> Result<()> {
    let status = std::process::Command::new(program).args(args).current_dir(root()).status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => bail!("`{program} {}` failed ({s})", args.join(" ")),
        Err(e) => bail!("cannot run `{program}`: {e}"),
    }
}

/// The cargo that runs us.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}
