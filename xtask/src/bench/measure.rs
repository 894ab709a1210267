//! Running the measured processes: the peer's benchmark script, chorus's in-process library
//! benchmark, cold starts of both, the judge; each under `/usr/bin/time -v` for peak RSS, and
//! sampled for the memory a user would run out of ([`super::memory`]).

use super::memory::{self, Peaks};
use super::stats::{Series, load_average};
use anyhow::{Context, Result, bail};
use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::Instant,
};

/// A finished process: its output, wall time, peak resident memory and peak private memory and PSS.
pub struct Timed {
    pub output: Output,
    pub wall_s: f64,
    pub peak_rss_kib: Option<u64>,
    pub peaks: Option<Peaks>,
}

/// Run `cmd` under `/usr/bin/time -v`, failing with its stderr when it fails.
pub fn timed(program: &Path, args: &[&str], scratch: &Path) -> Result<Timed> {
    let report = scratch.join("time-v.txt");
    let started = Instant::now();
    let child = Command::new("/usr/bin/time")
        .arg("-v")
        .arg("-o")
        .arg(&report)
        .arg(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!("cannot run /usr/bin/time {} (is the `time` package installed?)", program.display())
        })?;
    let sampler = memory::sample(child.id(), true);
    let output = child.wait_with_output().context("wait for the measured process")?;
    let wall_s = started.elapsed().as_secs_f64();
    let peaks = sampler.finish();
    if !output.status.success() {
        bail!(
            "`{} {}` failed ({}):\n{}",
            program.display(),
            args.join(" "),
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 30)
        );
    }
    let peak_rss_kib = std::fs::read_to_string(&report).ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse().ok())
    });
    Ok(Timed { output, wall_s, peak_rss_kib, peaks })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `value` of `key=value` in a line of peer_bench.py output (`first=0.812s`).
fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace().find_map(|w| w.strip_prefix(key)?.strip_suffix('s')?.parse().ok())
}

/// The peer's files: its environment's python, peer_bench.py, the model and the voices.
pub struct Peer<'a> {
    pub python: &'a Path,
    pub script: &'a Path,
    pub model: &'a Path,
    pub voices: &'a Path,
}

/// The peer: peer_bench.py over `sentences`, WAVs in `outdir`.
pub fn peer(peer: &Peer, voice: &str, sentences: &Path, outdir: &Path, scratch: &Path) -> Result<Series> {
    let load_start = load_average();
    let p = |p: &Path| p.display().to_string();
    let args = [p(peer.script), p(peer.model), p(peer.voices), voice.to_string(), p(sentences), p(outdir)];
    let run = timed(peer.python, &args.each_ref().map(String::as_str), scratch)?;
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    let mut s = Series::measured(&run, (load_start, load_average()));
    for line in stdout.lines().filter(|l| !l.starts_with("TOTAL")) {
        if let (Some(first), Some(wall), Some(audio)) =
            (field(line, "first="), field(line, "wall="), field(line, "audio="))
        {
            s.first_ms.push(first * 1e3);
            s.wall_ms.push(wall * 1e3);
            s.audio_s.push(audio);
        }
    }
    if s.first_ms.is_empty() {
        bail!("peer_bench.py printed no per-line timings:\n{stdout}");
    }
    Ok(s)
}

/// chorus in-process: the `bench_library` example (host library API) over `sentences`.
pub fn library(
    exe: &Path,
    host_args: &[String],
    voice: &str,
    sentences: &Path,
    outdir: &Path,
    scratch: &Path,
) -> Result<Series> {
    let load_start = load_average();
    let mut args: Vec<String> = host_args.to_vec();
    args.extend([
        "speak".into(),
        "kokoro".into(),
        voice.into(),
        sentences.display().to_string(),
        outdir.display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = timed(exe, &args, scratch)?;
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    let mut s = Series::measured(&run, (load_start, load_average()));
    for line in stdout.lines() {
        if let (Some(first), Some(wall), Some(audio)) =
            (json_number(line, "first_audio_ms"), json_number(line, "wall_ms"), json_number(line, "audio_seconds"))
        {
            s.first_ms.push(first);
            s.wall_ms.push(wall);
            s.audio_s.push(audio);
            s.chunks.push(json_number(line, "chunks").unwrap_or(1.0));
        }
    }
    if s.first_ms.is_empty() {
        bail!("bench_library printed no timings:\n{stdout}");
    }
    Ok(s)
}

/// chorus's synthetic-plugin overhead: `(chunks/s, MB/s, chunks, bytes)`.
pub fn overhead(exe: &Path, host_args: &[String], words: usize) -> Result<(f64, f64, f64, f64)> {
    let mut args: Vec<String> = host_args.to_vec();
    args.extend(["overhead".into(), "example".into(), words.to_string()]);
    let out = Command::new(exe).args(&args).output().context("run bench_library overhead")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("bench_library overhead failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let get = |k: &str| json_number(&stdout, k).with_context(|| format!("no {k} in {stdout}"));
    Ok((get("chunks_per_s")?, get("mb_per_s")?, get("chunks")?, get("bytes")?))
}

/// A number field of a flat JSON object in `text` (enough for the lines our tools print).
pub fn json_number(text: &str, key: &str) -> Option<f64> {
    let at = text.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = text[at..].trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

/// Cold start: process start to WAV written, one sentence, `reps` times; (median wall s, max RSS KiB).
pub fn cold(program: &Path, args: &[&str], wav: &Path, reps: usize, scratch: &Path) -> Result<(Vec<f64>, Option<u64>)> {
    let mut walls = Vec::new();
    let mut rss = None;
    for _ in 0..reps {
        let _ = std::fs::remove_file(wav);
        let run = timed(program, args, scratch)?;
        let size = std::fs::metadata(wav).map(|m| m.len()).unwrap_or(0);
        if size <= 44 {
            bail!("{} wrote no audio to {}", program.display(), wav.display());
        }
        walls.push(run.wall_s);
        rss = rss.max(run.peak_rss_kib);
    }
    Ok((walls, rss))
}

/// The peer's cold start: a python one-liner with kokoro-onnx writing one WAV.
pub const PEER_ONE_LINER: &str = "import sys,wave,numpy as np;from kokoro_onnx import Kokoro;m,v,voice,text,out=sys.argv[1:6];\
s,r=Kokoro(m,v).create(text,voice=voice);w=wave.open(out,'wb');w.setnchannels(1);w.setsampwidth(2);w.setframerate(r);\
w.writeframes((np.clip(s,-1,1)*32767).astype('<i2').tobytes());w.close()";

/// Word error rate of the WAVs in `outdir` against `sentences`, by the judge (wer.py or judge.py:
/// the same output).
pub fn wer(python: &Path, judge: &Path, sentences: &Path, outdir: &Path) -> Result<(f64, Vec<f64>)> {
    let name = judge.file_name().map_or("the judge".into(), |n| n.to_string_lossy().into_owned());
    let out =
        Command::new(python).arg(judge).arg(sentences).arg(outdir).output().with_context(|| format!("run {name}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("{name} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let per_line =
        stdout.lines().filter_map(|l| l.split_whitespace().nth(1)?.strip_prefix("wer=")?.parse().ok()).collect();
    let total = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WER ")?.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("{name} printed no total:\n{stdout}"))?;
    Ok((total, per_line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tool_output() {
        assert_eq!(field("03 first=0.812s wall=1.500s audio=3.20s", "wall="), Some(1.5));
        let line = r#"{"n":3,"first_audio_ms":151.2,"wall_ms":900.5,"audio_seconds":3.2,"chunks":4}"#;
        assert_eq!(json_number(line, "first_audio_ms"), Some(151.2));
        assert_eq!(json_number(line, "chunks"), Some(4.0));
        assert_eq!(json_number(r#"{"first_audio_ms":null}"#, "first_audio_ms"), None);
    }
}
