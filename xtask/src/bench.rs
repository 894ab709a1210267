//! `cargo xtask bench`: chorus against the peer (kokoro-onnx 0.6.1 on the original int8 model) in
//! one run, same machine, voice and thread count; writes docs/BENCHMARKS.md and its PNG plots.
//!
//! Measured: time to first audio per sentence of ../shared/eval/dev2_en.txt (chorus through a warm
//! `chorus serve`, first pcm byte, and in-process through the library; the peer through
//! peer_bench.py), the same on a long passage, throughput, cold start (process start to WAV
//! written), peak RSS, word error rate by the judge, bounded loopback load runs, a mixed run of
//! normal clients beside stalled readers and slowloris sockets ([`mixed`]), and the host's own
//! overhead with a synthetic plugin. One unmeasured request comes first, so that deriving Kokoro's
//! graphs on a fresh data folder (once per model) is in no measured process.
//!
//! Without the team's evaluation folder (`../shared/eval`, or `$CHORUS_EVAL_DIR`; a missing folder
//! means absent) it says what it skips ([`chorus_only::skipped`]), measures chorus alone on the
//! project's own sentences and judge (tests/judge/), and writes target/bench/chorus-only.md
//! instead of docs/BENCHMARKS.md. Flags: `--quick` (3 sentences, no long passage, 1 cold
//! start each), `--threads N` (default: the CPU count), `--voice V` (default jf_alpha),
//! `--derived` (chorus on the model `cargo xtask derive` makes; slower on the CPUs measured so far,
//! see docs/BENCHMARKS.md). Kokoro's streaming policies ([`policies`]) are each measured on the
//! dev set in the same run.

mod chorus_only;
mod measure;
mod memory;
mod mixed;
mod mixed_report;
mod policies;
mod report;
mod serve;
mod stats;
pub mod stream;

use crate::{cargo, dist::target_dir, pyenv, root, setup, sh};
use anyhow::{Context, Result, bail};
use stats::{Series, load_average};
use std::path::{Path, PathBuf};

/// The long passage (about three minutes of speech).
const LONG_TEXT: &str = include_str!("bench/long.txt");
const PLOT_SCRIPT: &str = include_str!("bench/plot.py");

/// Command-line options.
#[derive(Debug, Clone)]
pub struct Args {
    pub quick: bool,
    pub threads: usize,
    pub voice: String,
    pub derived: bool,
}

impl Args {
    fn parse(args: &[String]) -> Result<Self> {
        let mut out = Self { quick: false, threads: cpus(), voice: "jf_alpha".into(), derived: false };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| it.next().cloned().with_context(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--quick" => out.quick = true,
                "--derived" => out.derived = true,
                "--threads" => out.threads = value("--threads")?.parse().context("--threads takes a number")?,
                "--voice" => out.voice = value("--voice")?,
                other => bail!("bench: unknown argument {other} (known: --quick, --threads N, --voice V, --derived)"),
            }
        }
        Ok(out)
    }
}

pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Everything one run measured, for the report.
#[derive(Debug, Default)]
pub struct Results {
    pub args: Option<Args>,
    pub command: String,
    pub date: String,
    pub cpu: String,
    pub chorus_model: String,
    pub peer_dev: Series,
    pub library_dev: Series,
    pub serve_dev: Series,
    pub peer_long: Option<Series>,
    pub library_long: Option<Series>,
    pub serve_long: Option<Series>,
    pub cold_chorus: (Vec<f64>, Option<u64>),
    pub cold_peer: (Vec<f64>, Option<u64>),
    pub wer_chorus: (f64, Vec<f64>),
    pub wer_peer: (f64, Vec<f64>),
    pub policies: Vec<policies::Outcome>,
    pub load_runs: Vec<crate::load::LoadReport>,
    pub mixed: Option<mixed::MixReport>,
    /// The sentences spoken and the judge that scored them, as named in the reports.
    pub sentences: String,
    pub judge: String,
    pub server_limit: (usize, usize),
    /// Synthetic plugin: chunks/s, MB/s, chunks, bytes.
    pub overhead: (f64, f64, f64, f64),
    pub load_start: f64,
    pub load_end: f64,
}

pub fn run(args: &[String]) -> Result<()> {
    let args = Args::parse(args)?;
    let load_start = load_average();
    setup::run(&setup::SetupArgs::default())?;
    let work = target_dir().join("bench");
    let alone_report = work.join("chorus-only.md");
    // With the team's evaluation folder: the peer, the dev set and its judge; without: chorus alone.
    let eval = pyenv::eval_dir();
    let skipped = eval.is_none().then(|| chorus_only::skipped(&pyenv::eval_dir_wanted(), &alone_report));
    let (python, judge, sentences) = match &eval {
        Some(eval) => {
            let python = pyenv::ensure_peer_python(eval)?;
            ensure_pip(&python, &["matplotlib"])?;
            (python, eval.join("wer.py"), eval.join("dev2_en.txt"))
        }
        None => {
            eprintln!("{}", skipped.as_deref().unwrap_or_default());
            let judge_dir = root().join("tests/judge");
            (pyenv::ensure_test_python()?, judge_dir.join("judge.py"), judge_dir.join("sentences_en.txt"))
        }
    };
    let data = setup::data_dir();
    if args.derived {
        crate::derive::ensure(&data, false)?;
    }
    let peer_env = pyenv::env_dir();

    let built = build()?;
    let stage = work.join("plugins");
    std::fs::create_dir_all(&stage)?;
    for lib in ["libchorus_plugin_kokoro.so", "libchorus_plugin_example.so"] {
        let _ = std::fs::remove_file(stage.join(lib));
        std::fs::copy(built.join(lib), stage.join(lib)).with_context(|| format!("stage {lib}"))?;
    }
    let (concurrency, queue) = (1usize, 4usize);
    let model = if args.derived { data.join(crate::derive::DERIVED) } else { data.join(crate::derive::SOURCE) };
    let base_config = format!(
        "default_model = \"kokoro\"\n[backends.kokoro]\nthreads = {}\nmodel = {:?}\n",
        args.threads,
        model.display().to_string()
    );
    let config = work.join("config.toml");
    std::fs::write(
        &config,
        format!("{base_config}[server]\nconcurrency = {concurrency}\nqueue = {queue}\n{}", mixed::SERVER_KEYS),
    )?;
    let host_args =
        vec!["--plugins".to_string(), stage.display().to_string(), "--config".into(), config.display().to_string()];

    let dev_all: Vec<String> = std::fs::read_to_string(&sentences)
        .with_context(|| format!("read {}", sentences.display()))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let dev: Vec<String> = if args.quick { dev_all[..3].to_vec() } else { dev_all };
    let dev_file = work.join("dev.txt");
    std::fs::write(&dev_file, dev.join("\n") + "\n")?;
    let long_text = LONG_TEXT.split_whitespace().collect::<Vec<_>>().join(" ");
    let long_file = work.join("long.txt");
    std::fs::write(&long_file, format!("{long_text}\n"))?;
    let out = |name: &str| -> Result<PathBuf> {
        let dir = work.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    };

    // The peer runs the original model from its own environment, with ONNX Runtime's default threads
    // (one per physical core); chorus is given the same count.
    let peer_model = peer_env.join("kokoro-v1.0.int8.onnx");
    let peer_voices = peer_env.join("voices_ja.npz");
    let peer_script = eval.as_ref().map(|eval| eval.join("peer_bench.py"));
    let peer = peer_script.as_deref().map(|script| measure::Peer {
        python: &python,
        script,
        model: &peer_model,
        voices: &peer_voices,
    });
    let chorus = built.join("chorus");
    let library = built.join("examples/bench_library");
    let mut r = Results {
        command: format!("cargo xtask bench{}", std::env::args().skip(2).map(|a| format!(" {a}")).collect::<String>()),
        date: sh_out("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        cpu: cpu_model(),
        chorus_model: model.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        server_limit: (concurrency, queue),
        sentences: shown(&sentences),
        judge: shown(&judge),
        load_start,
        ..Default::default()
    };

    // The first run on a data folder derives Kokoro's graphs (once, kept in <data>/kokoro/derived):
    // a one-time cost in time and memory that no measured run should carry.
    eprintln!("bench: Kokoro's derived graphs (one unmeasured request)");
    let prepared = work.join("prepare.wav");
    let mut prepare: Vec<&str> = host_args.iter().map(String::as_str).collect();
    prepare.extend([
        "speak",
        "-m",
        "kokoro",
        "-v",
        &args.voice,
        "-o",
        prepared.to_str().unwrap_or_default(),
        "Warm up.",
    ]);
    sh(&chorus.display().to_string(), &prepare).context("the unmeasured first request")?;

    if let Some(peer) = &peer {
        eprintln!("bench: peer on {} sentences", dev.len());
        r.peer_dev = measure::peer(peer, &args.voice, &dev_file, &out("peer_dev")?, &work)?;
    }
    eprintln!("bench: chorus (library) on {} sentences", dev.len());
    r.library_dev = measure::library(&library, &host_args, &args.voice, &dev_file, &out("library_dev")?, &work)?;

    eprintln!("bench: chorus serve");
    {
        let server = serve::Server::start(&chorus, &host_args, &work.join("serve.log"))?;
        r.serve_dev = serve::per_sentence(&server, &args.voice, &dev)?;
        if !args.quick {
            r.serve_long = Some(serve::per_sentence(&server, &args.voice, std::slice::from_ref(&long_text))?);
        }
        let within = concurrency + queue;
        // Within the limit (no errors expected), then over it (429s expected); --quick keeps it short.
        let (sentence, runs) = if args.quick {
            ("Hello there.", [(2, 2), (within + 3, within + 3)])
        } else {
            (dev[0].as_str(), [(within, 2 * within), (3 * within, 3 * within)])
        };
        for (clients, requests) in runs {
            eprintln!("bench: load, {clients} clients");
            r.load_runs.push(serve::load_run(&server, &args.voice, sentence, clients, requests)?);
        }
        let mix = mixed::Mix {
            normal: 3,
            stalled: 2,
            slowloris: 4,
            secs: 60,
            normal_text: sentence.to_string(),
            stalled_text: long_text.clone(),
        };
        eprintln!(
            "bench: mixed run, {} s: {} normal clients, {} stalled readers, {} slowloris sockets",
            mix.secs, mix.normal, mix.stalled, mix.slowloris
        );
        r.mixed = Some(mixed::run(server.addr, &args.voice, &mix));
    }

    if !args.quick {
        eprintln!("bench: long passage");
        if let Some(peer) = &peer {
            r.peer_long = Some(measure::peer(peer, &args.voice, &long_file, &out("peer_long")?, &work)?);
        }
        r.library_long =
            Some(measure::library(&library, &host_args, &args.voice, &long_file, &out("library_long")?, &work)?);
    }

    eprintln!("bench: cold starts");
    let reps = if args.quick { 1 } else { 3 };
    let wav = work.join("cold.wav");
    let w = wav.display().to_string();
    let mut chorus_args: Vec<&str> = host_args.iter().map(String::as_str).collect();
    chorus_args.extend(["speak", "-m", "kokoro", "-v", &args.voice, "-o", &w, &dev[0]]);
    let (pm, pv) = (peer_model.display().to_string(), peer_voices.display().to_string());
    let peer_args = ["-c", measure::PEER_ONE_LINER, &pm, &pv, &args.voice, &dev[0], &w];
    let (mut cold_c, mut cold_p) = ((Vec::new(), None), (Vec::new(), None));
    for _ in 0..reps {
        // Alternate, so both see the same machine conditions.
        let c = measure::cold(&chorus, &chorus_args, &wav, 1, &work)?;
        cold_c.0.extend(c.0);
        cold_c.1 = cold_c.1.max(c.1);
        if peer.is_some() {
            let p = measure::cold(&python, &peer_args, &wav, 1, &work)?;
            cold_p.0.extend(p.0);
            cold_p.1 = cold_p.1.max(p.1);
        }
    }
    (r.cold_chorus, r.cold_peer) = (cold_c, cold_p);

    eprintln!("bench: plugin overhead (synthetic plugin)");
    r.overhead = measure::overhead(&library, &host_args, 15_000)?;

    eprintln!("bench: word error rate (judge)");
    r.wer_chorus = measure::wer(&python, &judge, &dev_file, &work.join("library_dev"))?;
    if peer.is_some() {
        r.wer_peer = measure::wer(&python, &judge, &dev_file, &work.join("peer_dev"))?;
    }
    let setup = policies::Setup {
        library: &library,
        plugins: &stage,
        base_config: &base_config,
        voice: &args.voice,
        sentences: &dev_file,
        work: &work,
        python: &python,
        judge: &judge,
    };
    r.policies = policies::run(&setup, (&r.library_dev, &r.wer_chorus, &work.join("library_dev")))?;
    r.load_end = load_average();
    r.args = Some(args);

    let json = work.join("results.json");
    std::fs::write(&json, report::json(&r))?;
    if let Some(skipped) = &skipped {
        std::fs::write(&alone_report, chorus_only::markdown(&r, skipped))?;
        println!("{}", chorus_only::summary(&r));
        println!(
            "bench: wrote {} (docs/BENCHMARKS.md left as it is: it holds runs beside the peer)",
            alone_report.display()
        );
        return Ok(());
    }
    let docs = root().join("docs");
    std::fs::create_dir_all(&docs)?;
    std::fs::write(docs.join("BENCHMARKS.md"), report::markdown(&r))?;
    let script = work.join("plot.py");
    std::fs::write(&script, PLOT_SCRIPT)?;
    let status = std::process::Command::new(&python).arg(&script).arg(&json).arg(&docs).status()?;
    if !status.success() {
        bail!("plotting failed ({status})");
    }
    println!("{}", report::summary(&r));
    println!("bench: wrote {} and plots in {}", docs.join("BENCHMARKS.md").display(), docs.display());
    Ok(())
}

/// `path` relative to the workspace root when inside it, for the reports.
fn shown(path: &Path) -> String {
    let root = root();
    let root = root.canonicalize().unwrap_or(root);
    path.strip_prefix(&root).unwrap_or(path).display().to_string()
}

/// Build the host, the Kokoro and example plugins and the library benchmark in release; the
/// folder the binaries are in.
fn build() -> Result<PathBuf> {
    let cargo = cargo();
    // One invocation, so the host is built once with the features every selected crate needs.
    sh(
        &cargo,
        &[
            "build",
            "--release",
            "-p",
            "chorus-host",
            "-p",
            "chorus-plugin-kokoro",
            "-p",
            "chorus-plugin-example",
            "-p",
            "chorus-tests",
            "--lib",
            "--bin",
            "chorus",
            "--example",
            "bench_library",
        ],
    )?;
    Ok(target_dir().join("release"))
}

/// Install Python packages into the evaluation environment when missing.
pub fn ensure_pip(python: &Path, packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !std::process::Command::new(python)
                .args(["-c", &format!("import {p}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {} into {}", missing.join(", "), python.display());
    let status = std::process::Command::new(python).args(["-m", "pip", "install", "-q"]).args(&missing).status()?;
    if !status.success() {
        bail!("pip install {} failed in {}", missing.join(" "), python.display());
    }
    Ok(())
}

fn sh_out(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_string()))
        })
        .unwrap_or_else(|| "unknown".into())
}
