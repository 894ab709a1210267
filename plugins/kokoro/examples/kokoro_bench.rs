//! Speak each line of a text file with the Kokoro engine in-process: OUTDIR/NN.wav per line,
//! OUTDIR/NN.words.json with the word timestamps, and time to first audio / x real time per line.
//!
//! usage: kokoro_bench SENTENCES.txt OUTDIR [VOICE] [CONFIG_JSON]
//! (config defaults to `{"data_dir": <the chorus data folder>}`)

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::RSlice;
use chorus_plugin_api::{Engine, FfiSink, FfiSink_TO, Flow, Progress, Sink, SynthesisRequest, WordTimestamp};
use chorus_plugin_kokoro::KokoroEngine;
use std::time::Instant;

#[derive(Default)]
struct Collect {
    audio: Vec<f32>,
    words: Vec<WordTimestamp>,
    first: Option<Instant>,
    /// When the audio received so far ends, played in real time from its first sample.
    plays_until: Option<Instant>,
    /// Seconds a real-time player would have waited for audio after it started (underruns).
    stall: f64,
}

impl FfiSink for Collect {
    fn audio(&mut self, samples: RSlice<'_, f32>, _rate: u32, _channels: u16) -> Flow {
        let now = Instant::now();
        self.first.get_or_insert(now);
        let until = self.plays_until.unwrap_or(now);
        let resumes = if now > until {
            self.stall += (now - until).as_secs_f64();
            now
        } else {
            until
        };
        self.plays_until = Some(resumes + std::time::Duration::from_secs_f64(samples.len() as f64 / 24_000.0));
        self.audio.extend_from_slice(samples.as_slice());
        Flow::Continue
    }
    fn progress(&mut self, _progress: &Progress) -> Flow {
        Flow::Continue
    }
    fn words(&mut self, words: RSlice<'_, WordTimestamp>) -> Flow {
        self.words.extend_from_slice(words.as_slice());
        Flow::Continue
    }
}

fn data_dir() -> String {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    var("CHORUS_DATA_DIR")
        .or_else(|| var("XDG_DATA_HOME").map(|d| format!("{d}/chorus")))
        .unwrap_or_else(|| format!("{}/.local/share/chorus", var("HOME").unwrap_or_default()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(file), Some(outdir)) = (args.first(), args.get(1)) else {
        return Err("usage: kokoro_bench SENTENCES.txt OUTDIR [VOICE] [CONFIG_JSON]".into());
    };
    let voice = args.get(2).cloned().unwrap_or_default();
    let config = args.get(3).cloned().unwrap_or_else(|| serde_json::json!({ "data_dir": data_dir() }).to_string());
    std::fs::create_dir_all(outdir)?;
    let engine = KokoroEngine::new(chorus_plugin_api::config::decode(KokoroEngine::NAME, &config)?)?;
    let mut warm = Sink::new(FfiSink_TO::from_value(Collect::default(), TD_Opaque));
    engine.synthesize(&SynthesisRequest::new("kokoro", "Warm up."), &mut warm)?;
    let text = std::fs::read_to_string(file)?;
    let (mut audio_total, mut wall_total, mut firsts, mut stalls) = (0.0, 0.0, Vec::new(), Vec::new());
    for (n, line) in text.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        let mut request = SynthesisRequest::new("kokoro", line);
        request.voice = voice.as_str().into();
        request.options_json = r#"{"timing_detail": true}"#.into();
        let (collect_tx, collect_rx) = std::sync::mpsc::channel();
        /// Audio, words, the first audio's instant and the stall.
        type Collected = (Vec<f32>, Vec<WordTimestamp>, Option<Instant>, f64);
        struct Out(Collect, std::sync::mpsc::Sender<Collected>);
        impl Drop for Out {
            fn drop(&mut self) {
                let c = std::mem::take(&mut self.0);
                let _ = self.1.send((c.audio, c.words, c.first, c.stall));
            }
        }
        impl FfiSink for Out {
            fn audio(&mut self, s: RSlice<'_, f32>, r: u32, c: u16) -> Flow {
                self.0.audio(s, r, c)
            }
            fn progress(&mut self, p: &Progress) -> Flow {
                self.0.progress(p)
            }
            fn words(&mut self, w: RSlice<'_, WordTimestamp>) -> Flow {
                self.0.words(w)
            }
        }
        let start = Instant::now();
        {
            let mut sink = Sink::new(FfiSink_TO::from_value(Out(Collect::default(), collect_tx), TD_Opaque));
            engine.synthesize(&request, &mut sink)?;
        }
        let wall = start.elapsed().as_secs_f64();
        let (audio, words, first, stall) = collect_rx.recv()?;
        stalls.push(stall);
        let first = first.map_or(wall, |f| (f - start).as_secs_f64());
        let seconds = audio.len() as f64 / 24_000.0;
        audio_total += seconds;
        wall_total += wall;
        firsts.push(first);
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 24_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut wav = hound::WavWriter::create(format!("{outdir}/{n:02}.wav"), spec)?;
        for s in &audio {
            wav.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)?;
        }
        wav.finalize()?;
        let words_json: Vec<_> = words
            .iter()
            .map(|w| serde_json::json!({"word": w.word.as_str(), "start": w.start, "end": w.end, "start_byte": w.start_byte, "end_byte": w.end_byte}))
            .collect();
        std::fs::write(format!("{outdir}/{n:02}.words.json"), serde_json::to_string(&words_json)?)?;
        println!(
            "{n:02} first={first:.3}s stall={stall:.3}s wall={wall:.3}s audio={seconds:.2}s words={} | {line}",
            words.len()
        );
    }
    firsts.sort_by(f64::total_cmp);
    let median = firsts.get(firsts.len() / 2).copied().unwrap_or(0.0);
    let stalled = stalls.iter().filter(|&&s| s > 0.0).count();
    let stall_total: f64 = stalls.iter().sum();
    println!(
        "TOTAL audio={audio_total:.1}s wall={wall_total:.1}s x_real_time={:.2} median_first_audio={median:.3}s \
         stalled={stalled}/{} stall_total={stall_total:.2}s",
        audio_total / wall_total.max(1e-9),
        stalls.len()
    );
    Ok(())
}
