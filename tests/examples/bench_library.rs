//! In-process timing for `cargo xtask bench`: chorus driven through its library API
//! (`Chorus::open` → `synthesize` → events), one JSON line per measurement on stdout.
//!
//! usage:
//!   bench_library [--plugins DIR] [--config FILE] speak MODEL VOICE SENTENCES.txt OUTDIR
//!       every non-empty line spoken after one warm-up request; OUTDIR/NN.wav (24 kHz s16) per line;
//!       per line {"n","first_audio_ms","wall_ms","audio_seconds","chunks"}, then {"peak_rss_kib"}.
//!   bench_library prosody REFERENCE_DIR DIR
//!       for each NN.wav of DIR against REFERENCE_DIR/NN.wav (the same sentence's whole rendition):
//!       {"n","speech_ratio","extra_pauses"}: the length of speech (edges' silence off) over the
//!       reference's, and pauses over 150 ms that the reference does not have.
//!   bench_library [--plugins DIR] [--config FILE] overhead MODEL WORDS
//!       a synthetic backend (the example plugin) pushing audio as fast as it can through the ABI
//!       and the channel: {"chunks","bytes","wall_ms","chunks_per_s","mb_per_s"}.

use chorus_host::{Chorus, Event, Options, Request};
use std::{path::PathBuf, time::Instant};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut options = Options::default();
    while args.first().is_some_and(|a| a.starts_with("--")) {
        let flag = args.remove(0);
        let value = if args.is_empty() { return Err(format!("{flag} needs a value").into()) } else { args.remove(0) };
        match flag.as_str() {
            "--plugins" => options.plugin_dirs.push(PathBuf::from(value)),
            "--config" => options.config_file = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    if let ["prosody", reference, dir] = args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        return prosody(reference, dir);
    }
    let chorus = Chorus::open(&options)?;
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["speak", model, voice, sentences, outdir] => speak(&chorus, model, voice, sentences, outdir),
        ["overhead", model, words] => overhead(&chorus, model, words.parse()?),
        _ => Err("usage: bench_library [--plugins DIR] [--config FILE] (speak MODEL VOICE SENTENCES OUTDIR | overhead MODEL WORDS)".into()),
    }
}

/// One request to its end: the audio (mono, as pushed), time to first audio and wall time.
struct Run {
    audio: Vec<f32>,
    rate: u32,
    first_ms: Option<f64>,
    wall_ms: f64,
    chunks: u32,
}

fn run(chorus: &Chorus, request: Request, keep_audio: bool) -> Result<Run, Error> {
    let started = Instant::now();
    let mut stream = chorus.synthesize(request)?;
    let mut out = Run { audio: Vec::new(), rate: 24_000, first_ms: None, wall_ms: 0.0, chunks: 0 };
    while let Some(event) = stream.blocking_next() {
        match event {
            Event::Audio(chunk) => {
                out.first_ms.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1e3);
                out.rate = chunk.sample_rate;
                out.chunks += 1;
                if keep_audio {
                    out.audio.extend(chunk.samples.iter().step_by(usize::from(chunk.channels.max(1))));
                }
            }
            Event::Done(_) => break,
            Event::Error(e) => return Err(e.into()),
            Event::Progress(_) | Event::Words(_) => {}
        }
    }
    out.wall_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(out)
}

fn speak(chorus: &Chorus, model: &str, voice: &str, sentences: &str, outdir: &str) -> Result<(), Error> {
    std::fs::create_dir_all(outdir)?;
    let request = |text: &str| Request::new(text).model(model).voice(voice);
    run(chorus, request("Warm up."), false)?;
    let text = std::fs::read_to_string(sentences)?;
    for (n, line) in text.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        let r = run(chorus, request(line), true)?;
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: r.rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut wav = hound::WavWriter::create(format!("{outdir}/{n:02}.wav"), spec)?;
        for s in &r.audio {
            wav.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)?;
        }
        wav.finalize()?;
        let line = serde_json::json!({
            "n": n,
            "first_audio_ms": r.first_ms,
            "wall_ms": r.wall_ms,
            "audio_seconds": r.audio.len() as f64 / f64::from(r.rate),
            "chunks": r.chunks,
        });
        println!("{line}");
    }
    println!("{}", serde_json::json!({ "peak_rss_kib": peak_rss_kib() }));
    Ok(())
}

fn read_wav(path: &std::path::Path) -> Result<Vec<f32>, Error> {
    let mut reader = hound::WavReader::open(path)?;
    Ok(reader.samples::<i16>().map(|s| s.map(|v| f32::from(v) / 32768.0)).collect::<Result<_, _>>()?)
}

fn prosody(reference: &str, dir: &str) -> Result<(), Error> {
    use chorus_kokoro::audio::{pauses, sound_span};
    let speech = |a: &[f32]| sound_span(a).map_or(0, |(from, to)| to - from) as f64;
    for n in 0.. {
        let path = PathBuf::from(format!("{dir}/{n:02}.wav"));
        if !path.exists() {
            break;
        }
        let (ours, theirs) = (read_wav(&path)?, read_wav(&PathBuf::from(format!("{reference}/{n:02}.wav")))?);
        let known = pauses(&theirs, 2400);
        let extra =
            pauses(&ours, 3600).iter().filter(|p| !known.iter().any(|q| q.start < p.end && p.start < q.end)).count();
        let line = serde_json::json!({ "n": n, "speech_ratio": speech(&ours) / speech(&theirs).max(1.0), "extra_pauses": extra });
        println!("{line}");
    }
    Ok(())
}

fn overhead(chorus: &Chorus, model: &str, words: usize) -> Result<(), Error> {
    run(chorus, Request::new("warm up").model(model), false)?;
    let text = vec!["audio"; words].join(" ");
    let started = Instant::now();
    let mut stream = chorus.synthesize(Request::new(text).model(model))?;
    let (mut chunks, mut bytes) = (0u64, 0u64);
    while let Some(event) = stream.blocking_next() {
        match event {
            Event::Audio(chunk) => {
                chunks += 1;
                bytes += (chunk.samples.len() * std::mem::size_of::<f32>()) as u64;
            }
            Event::Done(_) => break,
            Event::Error(e) => return Err(e.into()),
            Event::Progress(_) | Event::Words(_) => {}
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let line = serde_json::json!({
        "chunks": chunks,
        "bytes": bytes,
        "wall_ms": secs * 1e3,
        "chunks_per_s": chunks as f64 / secs,
        "mb_per_s": bytes as f64 / 1e6 / secs,
    });
    println!("{line}");
    Ok(())
}

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.split_whitespace().next()?.parse().ok()
}
