//! Kokoro's streaming policies side by side in one run: each speaks the dev set in-process with its
//! own `[backends.kokoro]` keys, and is judged for time to first audio, wall time, word error rate
//! and prosody against the whole-sentence rendition (front and decoder on each sentence at once).

use super::measure;
use super::stats::Series;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// A policy: a name, its config keys, and what it is.
#[derive(Debug)]
pub struct Policy {
    pub name: &'static str,
    pub keys: &'static str,
    pub about: &'static str,
}

/// The reference every other policy's prosody is compared with.
pub const WHOLE: &str = "whole";

/// The policies measured; the first is the reference, the second the plugin's defaults.
pub const POLICIES: &[Policy] = &[
    Policy {
        name: WHOLE,
        keys: "first_window = 0\nwindow = 0\nfirst_max_tokens = 510\nmax_tokens = 510\n",
        about: "front and decoder on each whole sentence at once (the prosody reference)",
    },
    Policy { name: "default", keys: "", about: "the plugin's defaults" },
    Policy {
        name: "first-window",
        keys: "first_window = 16\n",
        about: "the first 16 frames or more (0.4 s, to the next word's start; more when the decoder is slow) decoded first, with 8 probes of 6 frames spread over the sentence for its statistics; the rest decoded from the sentence's start",
    },
    Policy {
        name: "no-probes",
        keys: "first_window = 16\nprobes = 0\n",
        about: "the same first window without probes",
    },
    Policy {
        name: "cut-16",
        keys: "first_max_tokens = 16\nfirst_cut_at_word = true\nfirst_window = 0\n",
        about: "the first chunk cut between words at 16 phoneme tokens (the default before session 10)",
    },
];

/// One policy's run.
#[derive(Debug)]
pub struct Outcome {
    pub policy: &'static Policy,
    pub series: Series,
    pub wer: (f64, Vec<f64>),
    /// Per sentence: speech length (edges' silence off) over the whole rendition's.
    pub speech_ratio: Vec<f64>,
    /// Per sentence: pauses over 150 ms the whole rendition does not have.
    pub extra_pauses: Vec<f64>,
}

/// What every policy's run shares.
pub struct Setup<'a> {
    pub library: &'a Path,
    pub plugins: &'a Path,
    /// The config file's text, up to and including the `[backends.kokoro]` header's keys.
    pub base_config: &'a str,
    pub voice: &'a str,
    pub sentences: &'a Path,
    pub work: &'a Path,
    pub python: &'a Path,
    pub judge: &'a Path,
}

/// Run every policy (reusing `default_run`, the main run's WAVs in `default_dir`, for the defaults).
pub fn run(setup: &Setup, default_run: (&Series, &(f64, Vec<f64>), &Path)) -> Result<Vec<Outcome>> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for policy in POLICIES {
        let (series, wer, dir) = if policy.keys.is_empty() {
            (default_run.0.clone(), default_run.1.clone(), default_run.2.to_path_buf())
        } else {
            eprintln!("bench: policy {}", policy.name);
            let dir = setup.work.join(format!("policy_{}", policy.name));
            let _ = std::fs::remove_dir_all(&dir);
            let config = setup.work.join(format!("policy_{}.toml", policy.name));
            std::fs::write(&config, format!("{}{}", setup.base_config, policy.keys))?;
            let args = [
                "--plugins".into(),
                setup.plugins.display().to_string(),
                "--config".into(),
                config.display().to_string(),
            ];
            let series = measure::library(setup.library, &args, setup.voice, setup.sentences, &dir, setup.work)?;
            let wer = measure::wer(setup.python, setup.judge, setup.sentences, &dir)?;
            (series, wer, dir)
        };
        let (speech_ratio, extra_pauses) = prosody(setup.library, &dirs.first().cloned().unwrap_or(dir.clone()), &dir)?;
        dirs.push(dir);
        out.push(Outcome { policy, series, wer, speech_ratio, extra_pauses });
    }
    Ok(out)
}

/// `bench_library prosody REFERENCE DIR`: per sentence, the speech ratio and the extra pauses.
fn prosody(library: &Path, reference: &Path, dir: &Path) -> Result<(Vec<f64>, Vec<f64>)> {
    let out = std::process::Command::new(library)
        .arg("prosody")
        .arg(reference)
        .arg(dir)
        .output()
        .context("run bench_library prosody")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        anyhow::bail!("bench_library prosody failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let ratio = stdout.lines().filter_map(|l| measure::json_number(l, "speech_ratio")).collect();
    let pauses = stdout.lines().filter_map(|l| measure::json_number(l, "extra_pauses")).collect();
    Ok((ratio, pauses))
}
