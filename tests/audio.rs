//! Audio out against real plugins and the real ffmpeg: every format streams, decodes to the
//! right length and is not silent; files written by `chorus speak -o` probe to the right
//! duration; first bytes leave before the last chunk is synthesized; seams do not click; bad
//! choices are refused with one clear line.

use chorus_host::{
    AudioChunk, Chorus, Config, Event, Report, Request,
    audio::{AudioError, Format, OutputSpec, Pipeline},
};
use chorus_tests::{self as support, audio::*};
use std::{io::Read, path::Path, process::Stdio};

const EXAMPLE: &str = "chorus_plugin_example";
const LEVELS: &str = "chorus_fixture_levels";

/// About 10 s from the example plugin (40 ms per character).
const TEXT: &str = "The quick brown fox jumps over the lazy dog, and then it runs far away into the \
    green hills. Meanwhile, seven small birds sing on a branch near the river! Do you hear them? \
    They sing every morning at nine, while the sun climbs over the quiet town and its old bridge.";

fn host(dir: &Path) -> support::Library {
    support::library(dir, Config::default())
}

/// Stream a request through a pipeline; returns the encoded bytes, the raw chunks and the report.
async fn encode(chorus: &Chorus, request: Request, spec: &OutputSpec) -> (Vec<u8>, Vec<AudioChunk>, Report) {
    let mut pipeline = Pipeline::new(spec).expect("valid spec");
    let mut stream = chorus.synthesize(request).expect("request starts");
    let mut bytes = Vec::new();
    let mut chunks = Vec::new();
    loop {
        match stream.next().await.expect("stream ends with Done or Error") {
            Event::Audio(chunk) => {
                bytes.extend(pipeline.push(&chunk).expect("push"));
                chunks.push(chunk);
            }
            Event::Done(report) => {
                bytes.extend(pipeline.finish().expect("finish"));
                return (bytes, chunks, report);
            }
            Event::Error(e) => panic!("synthesis failed: {e}"),
            _ => {}
        }
    }
}

fn within(actual: f64, expected: f64, fraction: f64) -> bool {
    (actual - expected).abs() <= expected * fraction
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_streams_real_audio_that_decodes_to_the_right_length() {
    let dir = support::plugin_dir(&[EXAMPLE]);
    let chorus = host(dir.path());
    let cases = Format::ALL.into_iter().map(|f| (f, 24_000)).chain([
        (Format::Wav, 16_000),
        (Format::Flac, 44_100),
        (Format::Mp3, 22_050),
        (Format::Opus, 44_100),
        (Format::Aac, 16_000),
        (Format::Pcm, 8000),
    ]);
    let mut failures = Vec::new();
    for (format, rate) in cases {
        let spec = OutputSpec { sample_rate: rate, ..OutputSpec::new(format) };
        let (bytes, _, report) = encode(&chorus, Request::new(TEXT).model("example"), &spec).await;
        let decoded = decode(&bytes, format.extension(), rate);
        let seconds = decoded.len() as f64 / rate as f64;
        let level = rms(&decoded);
        eprintln!(
            "{format} @ {rate} Hz: {} bytes, decoded {seconds:.3} s of {:.3} s, rms {level:.3}",
            bytes.len(),
            report.audio_seconds
        );
        if !within(seconds, report.audio_seconds, 0.02) || level < 0.02 {
            failures
                .push(format!("{format} @ {rate}: {seconds:.3} s (want {:.3}), rms {level:.3}", report.audio_seconds));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn files_written_by_speak_probe_to_the_right_duration() {
    let dir = support::plugin_dir(&[EXAMPLE]);
    let home = tempfile::tempdir().unwrap();
    for format in Format::ALL.into_iter().filter(|f| *f != Format::Pcm) {
        let path = home.path().join(format!("out.{}", format.extension()));
        let out = support::run(
            support::chorus(dir.path(), home.path()).args(["speak", "-m", "example", "--json", TEXT, "-o"]).arg(&path),
        );
        assert!(out.status.success(), "{format}: {}", support::stderr(&out));
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary on stdout");
        assert_eq!(summary["format"], format.name());
        let expected = summary["audio_seconds"].as_f64().unwrap();
        let probed = probe_duration(&path);
        eprintln!("{format}: ffprobe {probed:.3} s, synthesized {expected:.3} s");
        assert!(within(probed, expected, 0.02), "{format}: ffprobe says {probed} s, synthesized {expected} s");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn first_bytes_of_every_format_leave_before_the_last_chunk() {
    let dir = support::plugin_dir(&[LEVELS]);
    let mut chorus = host(dir.path());
    chorus.set_channel_capacity(1);
    let chunks = 6;
    for format in Format::ALL {
        let gates = tempfile::tempdir().unwrap();
        let gate = gates.path().join("go");
        let mut request = Request::new("gated").model("levels");
        request.options = serde_json::json!({ "chunks": chunks, "chunk_ms": 200, "gate": gate });
        let mut pipeline = Pipeline::new(&OutputSpec::new(format)).unwrap();
        let mut stream = chorus.synthesize(request).unwrap();
        let mut audio_events = 0;
        let mut first_bytes_after = None;
        let mut bytes = Vec::new();
        loop {
            match stream.next().await.expect("stream ends with Done or Error") {
                Event::Audio(chunk) => {
                    audio_events += 1;
                    bytes.extend(pipeline.push(&chunk).unwrap());
                    if first_bytes_after.is_none() && !bytes.is_empty() {
                        first_bytes_after = Some(audio_events);
                        // Only now may the plugin synthesize its last chunk.
                        assert!(!gate.exists());
                        std::fs::write(&gate, b"").unwrap();
                    }
                    assert!(
                        first_bytes_after.is_some() || audio_events < chunks,
                        "{format}: no bytes after {audio_events} of {chunks} chunks"
                    );
                }
                Event::Done(_) => break,
                Event::Error(e) => panic!("{format}: {e}"),
                _ => {}
            }
        }
        let first = first_bytes_after.unwrap();
        assert!(first < chunks, "{format}: first bytes after chunk {first} of {chunks}");
        assert!(has_magic(&bytes, format.name()), "{format}: stream starts with {:02x?}", &bytes[..bytes.len().min(4)]);
        eprintln!("{format}: first bytes after chunk {first} of {chunks}");
    }
}

#[test]
fn speak_to_stdout_sends_bytes_before_the_last_chunk() {
    let dir = support::plugin_dir(&[LEVELS]);
    let home = tempfile::tempdir().unwrap();
    let gate = home.path().join("go");
    let config = home.path().join("chorus.toml");
    std::fs::write(
        &config,
        format!("[backends.levels]\nchunks = 5\nchunk_ms = 1000\ngate = {:?}\n", gate.display().to_string()),
    )
    .unwrap();
    let mut child = support::chorus(dir.path(), home.path())
        .arg("--config")
        .arg(&config)
        .args(["speak", "-m", "levels", "hello", "--format", "mp3", "-o", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 4];
    stdout.read_exact(&mut first).expect("bytes on stdout while the last chunk is held back");
    assert!(!gate.exists() && child.try_wait().unwrap().is_none(), "chorus finished before its last chunk");
    std::fs::write(&gate, b"").unwrap();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let mut all = first.to_vec();
    all.extend(rest);
    let decoded = decode(&all, "mp3", 24_000);
    assert!(within(decoded.len() as f64 / 24_000.0, 5.0, 0.02), "decoded {} samples", decoded.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn seams_jump_no_more_than_the_signal_itself() {
    let dir = support::plugin_dir(&[LEVELS]);
    let chorus = host(dir.path());
    for rate in [24_000u32, 16_000] {
        let spec = OutputSpec { sample_rate: rate, ..OutputSpec::new(Format::Pcm) };
        let (bytes, chunks, _) = encode(&chorus, Request::new("steps").model("levels"), &spec).await;
        let out = s16le(&bytes);
        // The signal's own largest step, inside the chunks, at the output rate.
        let own_raw = chunks.iter().map(|c| max_jump(&c.samples)).fold(0.0, f32::max);
        let raw_seams: Vec<f32> =
            chunks.windows(2).map(|w| (w[1].samples[0] - w[0].samples.last().unwrap()).abs()).collect();
        assert!(raw_seams.iter().all(|&j| j > 5.0 * own_raw), "the fixture's seams must be steps: {raw_seams:?}");
        let ratio = rate as f64 / 24_000.0;
        let mut seams = Vec::new();
        let mut at = 0usize;
        for c in &chunks[..chunks.len() - 1] {
            at += c.samples.len();
            seams.push((at as f64 * ratio).round() as usize);
        }
        let near = |i: usize| seams.iter().any(|&s| i + 3 >= s && i <= s + 3);
        let own = (1..out.len()).filter(|&i| !near(i)).map(|i| (out[i] - out[i - 1]).abs()).fold(0.0, f32::max);
        let worst = (1..out.len()).filter(|&i| near(i)).map(|i| (out[i] - out[i - 1]).abs()).fold(0.0, f32::max);
        eprintln!(
            "{rate} Hz: raw seam steps up to {:.3}, own largest jump {own:.4}, largest jump at a seam {worst:.4}",
            raw_seams.iter().fold(0.0f32, |a, &b| a.max(b))
        );
        assert!(worst <= own, "{rate} Hz: a seam jumps {worst}, the signal itself at most {own}");
    }
}

#[test]
fn library_refuses_bad_specs_clearly() {
    assert!(matches!(Format::parse("wma"), Err(AudioError::UnknownFormat(_))));
    let err = Pipeline::new(&OutputSpec { sample_rate: 96_000, ..OutputSpec::default() }).err().unwrap();
    assert!(err.to_string().contains("96000 Hz"), "{err}");
    let err = OutputSpec::format_for_path(Path::new("a.flac"), Some(Format::Opus), Format::Wav).unwrap_err();
    assert!(err.to_string().contains(".flac") && err.to_string().contains("opus"), "{err}");
}

#[test]
fn cli_refuses_bad_choices_with_one_line() {
    let dir = support::plugin_dir(&[EXAMPLE]);
    let home = tempfile::tempdir().unwrap();
    let out_wav = home.path().join("out.wav");
    let out_xyz = home.path().join("out.xyz");
    let cases: [(&[&str], &str); 6] = [
        (&["--format", "wma", "-o", "-"], "unknown audio format 'wma'"),
        (&["--sample-rate", "96000", "-o", "-"], "unsupported sample rate 96000 Hz"),
        (&["--sample-rate", "10000", "--format", "mp3", "-o", "-"], "mp3 cannot be written at 10000 Hz"),
        (&["--format", "mp3", "-o", out_wav.to_str().unwrap()], "ends in .wav but the format asked for is mp3"),
        (&["-o", out_xyz.to_str().unwrap()], "cannot tell the audio format"),
        (&["--volume=-1", "-o", "-"], "volume must be"),
    ];
    for (args, message) in cases {
        let out =
            support::run(support::chorus(dir.path(), home.path()).args(["speak", "-m", "example", "hello"]).args(args));
        let stderr = support::stderr(&out);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(out.stdout.is_empty(), "{args:?} wrote audio");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert!(!out_wav.exists());
}

#[test]
fn play_without_a_sound_device_is_a_clear_error() {
    let dir = support::plugin_dir(&[EXAMPLE]);
    let home = tempfile::tempdir().unwrap();
    let has_device = Path::new("/dev/snd")
        .read_dir()
        .is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("pcm"))));
    if has_device {
        eprintln!("this machine has a sound device: the error path cannot be shown here");
        return;
    }
    let out =
        support::run(support::chorus(dir.path(), home.path()).args(["speak", "-m", "example", "hello", "--play"]));
    let stderr = support::stderr(&out);
    assert!(!out.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("audio") && stderr.contains("device"), "{stderr}");
}

#[test]
fn wav_to_a_pipe_keeps_the_streamable_sizes() {
    let dir = support::plugin_dir(&[EXAMPLE]);
    let home = tempfile::tempdir().unwrap();
    let out = support::run(
        support::chorus(dir.path(), home.path())
            .args(["speak", "-m", "example", "hi there", "--format", "wav", "-o", "-"]),
    );
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(&out.stdout[..4], b"RIFF");
    assert_eq!(&out.stdout[4..8], &[0xFF; 4], "RIFF size of a stream");
    assert_eq!(&out.stdout[40..44], &[0xFF; 4], "data size of a stream");
    let decoded = decode(&out.stdout, "wav", 24_000);
    assert!(within(decoded.len() as f64, (out.stdout.len() - 44) as f64 / 2.0, 0.001));
}
