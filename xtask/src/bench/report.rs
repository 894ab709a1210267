//! docs/BENCHMARKS.md and the results JSON from one run's [`Results`], with the ratios against
//! the targets (time to first audio ≤ 0.25× the peer's median, wall time for the same text
//! ≤ 0.6×, cold start ≤ 0.6×, peak RSS ≤ 0.7×, word error rate no worse), and Kokoro's streaming
//! policies side by side. The server sections (the load runs, the mixed run with hostile clients)
//! and the plugin overhead are shared with the chorus-only report ([`super::chorus_only`]).

use super::Results;
use super::memory::Peaks;
use super::stats::{Series, array, median};
use std::fmt::Write;

/// Hand-written findings (what each change moved), appended to the generated tables.
const NOTES: &str = include_str!("notes.md");

pub(super) fn mib(kib: Option<u64>) -> String {
    kib.map_or("–".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

/// Rows for the memory a user would run out of, beside a peak RSS row: peak anonymous + dirty
/// memory and peak PSS of chorus (`c`) and the peer (`p`), with their ratio (no target).
pub(super) fn memory_rows(name: &str, c: Option<Peaks>, p: Option<Peaks>) -> [String; 2] {
    let row = |what: &str, pick: fn(&Peaks) -> u64| {
        let (c, p) = (c.as_ref().map(pick), p.as_ref().map(pick));
        let r = match (c, p) {
            (Some(c), Some(p)) if p > 0 => format!("{:.2}×", c as f64 / p as f64),
            _ => "–".into(),
        };
        format!("| {what}, {name} | {} | {} | {r} | – | – |", mib(c), mib(p))
    };
    [row("peak anonymous + dirty", |p| p.private_kib), row("peak PSS", |p| p.pss_kib)]
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// `(ratio, verdict)` for "at most `target`" or "at least `target`".
fn verdict(r: f64, target: f64, at_most: bool) -> String {
    let ok = if at_most { r <= target } else { r >= target };
    format!("{r:.2}× | {} {target}× | {}", if at_most { "≤" } else { "≥" }, if ok { "met" } else { "**not met**" })
}

pub fn markdown(r: &Results) -> String {
    let args = r.args.as_ref();
    let threads = args.map_or(0, |a| a.threads);
    let voice = args.map_or("jf_alpha", |a| a.voice.as_str());
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks: chorus against the peer\n");
    let _ = writeln!(
        md,
        "Written by `{}` on {}. Machine: {} × {}, {} threads for both systems (the peer uses ONNX Runtime's default, \
         one per physical core; chorus is configured to the same), voice `{voice}`. The peer is kokoro-onnx 0.6.1 on the \
         original `kokoro-v1.0.int8.onnx`; chorus runs `{}` with the Kokoro plugin's default streaming policy (see \"Streaming policies\"). Load average (1 min) {:.1} at the start and {:.1} at the end of the run \
         — the machine is shared with other engineers' builds, so absolute numbers are noisy; both systems ran interleaved \
         in the same run, so the ratios are the fairer reading.\n",
        r.command,
        r.date,
        super::cpus(),
        r.cpu,
        threads,
        r.chorus_model,
        r.load_start,
        r.load_end
    );
    let peer = &r.peer_dev;
    let cold_c = median(&r.cold_chorus.0);
    let cold_p = median(&r.cold_peer.0);
    let _ = writeln!(md, "## Results against the targets\n");
    let _ = writeln!(md, "| measure | chorus | peer | chorus/peer | target | |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    let ttfa = |name: &str, s: &Series| {
        format!(
            "| time to first audio, median ({name}) | {:.0} ms | {:.0} ms | {} |\n| time to first audio, p90 ({name}) | {:.0} ms | {:.0} ms | {:.2}× | | |",
            s.median_first(),
            peer.median_first(),
            verdict(ratio(s.median_first(), peer.median_first()), 0.25, true),
            s.p90_first(),
            peer.p90_first(),
            ratio(s.p90_first(), peer.p90_first())
        )
    };
    let _ = writeln!(md, "{}", ttfa("serve, first pcm byte", &r.serve_dev));
    let _ = writeln!(md, "{}", ttfa("library, in-process", &r.library_dev));
    let tput = |name: &str, c: &Series, p: &Series| {
        format!(
            "| wall time for the same text, {name} (audio: {:.1} s / {:.1} s) | {:.1} s | {:.1} s | {} |",
            c.audio_total(),
            p.audio_total(),
            c.wall_total(),
            p.wall_total(),
            verdict(ratio(c.wall_total(), p.wall_total()), 0.6, true)
        )
    };
    let _ = writeln!(md, "{}", tput("dev set, library", &r.library_dev, peer));
    let _ = writeln!(md, "{}", tput("dev set, serve", &r.serve_dev, peer));
    if let (Some(c), Some(s), Some(p)) = (&r.library_long, &r.serve_long, &r.peer_long) {
        let _ = writeln!(md, "{}", tput(&format!("long passage ({:.0} s of audio), library", c.audio_total()), c, p));
        let _ = writeln!(md, "{}", tput("long passage, serve", s, p));
        let _ = writeln!(
            md,
            "| time to first audio, long passage (library / serve) | {:.0} / {:.0} ms | {:.0} ms | {:.2}× / {:.2}× | | |",
            c.median_first(),
            s.median_first(),
            p.median_first(),
            ratio(c.median_first(), p.median_first()),
            ratio(s.median_first(), p.median_first())
        );
    }
    let _ = writeln!(
        md,
        "| cold start, process start → WAV written (median of {}) | {:.2} s | {:.2} s | {} |",
        r.cold_chorus.0.len(),
        cold_c,
        cold_p,
        verdict(ratio(cold_c, cold_p), 0.6, true)
    );
    let rss = |name: &str, c: Option<u64>, p: Option<u64>| {
        let rt = match (c, p) {
            (Some(c), Some(p)) => verdict(c as f64 / p as f64, 0.7, true),
            _ => "– | ≤ 0.7× | –".into(),
        };
        format!("| peak RSS, {name} | {} | {} | {rt} |", mib(c), mib(p))
    };
    let _ = writeln!(
        md,
        "{}",
        rss("speaking the dev set (library process vs peer_bench.py)", r.library_dev.peak_rss_kib, peer.peak_rss_kib)
    );
    for row in memory_rows("speaking the dev set", r.library_dev.peaks, peer.peaks) {
        let _ = writeln!(md, "{row}");
    }
    let _ = writeln!(
        md,
        "{}",
        rss("cold start, one sentence (`chorus speak` vs python one-liner)", r.cold_chorus.1, r.cold_peer.1)
    );
    if let (Some(c), Some(p)) = (&r.library_long, &r.peer_long) {
        let _ = writeln!(md, "{}", rss("long passage", c.peak_rss_kib, p.peak_rss_kib));
        for row in memory_rows("long passage", c.peaks, p.peaks) {
            let _ = writeln!(md, "{row}");
        }
    }
    let _ = writeln!(
        md,
        "| word error rate, dev set (judge) | {:.3} | {:.3} | {:.2}× | ≤ 1× | {} |\n",
        r.wer_chorus.0,
        r.wer_peer.0,
        ratio(r.wer_chorus.0, r.wer_peer.0),
        if r.wer_chorus.0 <= r.wer_peer.0 { "met" } else { "**not met**" }
    );
    let _ = writeln!(
        md,
        "Time to first audio: chorus serve is measured at the client, from sending `POST /v1/audio/speech` \
         (`response_format=pcm`) to the first body byte, on a warm server; chorus library from `synthesize` to the first \
         audio event; the peer is peer_bench.py's first chunk of `create_stream`. Each system speaks `Warm up.` first. \
         Cold start: `chorus speak -o cold.wav` against `python -c` with kokoro-onnx writing the same WAV, alternated. \
         Peak RSS from `/usr/bin/time -v`; peak anonymous + dirty memory (`Anonymous` + `Shared_Dirty`: what only swap or \
         a write-back can take away, the memory a user runs out of) and peak PSS sampled from `/proc/PID/smaps_rollup` \
         every 50 ms.\n"
    );

    let _ =
        writeln!(md, "![time to first audio per sentence](bench_ttfa.png)\n\n![throughput](bench_throughput.png)\n");
    policies(&mut md, r, Some(r.wer_peer.0));
    let _ = writeln!(md, "## Per sentence (dev2_en.txt)\n");
    let _ = writeln!(
        md,
        "| # | audio s | peer first ms | chorus serve first ms | chorus library first ms | WER peer | WER chorus |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for i in 0..peer.first_ms.len() {
        let get = |v: &[f64]| v.get(i).map_or("–".into(), |x| format!("{x:.0}"));
        let wer = |v: &[f64]| v.get(i).map_or("–".into(), |x| format!("{x:.2}"));
        let _ = writeln!(
            md,
            "| {i} | {:.2} | {} | {} | {} | {} | {} |",
            r.library_dev.audio_s.get(i).copied().unwrap_or(0.0),
            get(&peer.first_ms),
            get(&r.serve_dev.first_ms),
            get(&r.library_dev.first_ms),
            wer(&r.wer_peer.1),
            wer(&r.wer_chorus.1)
        );
    }
    server_load(&mut md, r);
    overhead(&mut md, r);
    let _ = writeln!(md, "## Conditions\n");
    let _ = writeln!(md, "| phase | load average at start | at end |\n|---|---|---|");
    let mut phase = |name: &str, s: &Series| {
        let _ = writeln!(md, "| {name} | {:.1} | {:.1} |", s.load.0, s.load.1);
    };
    phase("peer, dev set", peer);
    phase("chorus library, dev set", &r.library_dev);
    phase("chorus serve, dev set", &r.serve_dev);
    if let (Some(p), Some(c)) = (&r.peer_long, &r.library_long) {
        phase("peer, long passage", p);
        phase("chorus library, long passage", c);
    }
    let _ = writeln!(
        md,
        "\nCold start times (s): chorus {:?}, peer {:?}.\n",
        round(&r.cold_chorus.0),
        round(&r.cold_peer.0)
    );
    md.push_str(NOTES);
    md
}

/// The load runs and the mixed run against `chorus serve`.
pub(super) fn server_load(md: &mut String, r: &Results) {
    let _ = writeln!(md, "\n## Server under load (loopback, one sentence per request)\n");
    let _ = writeln!(
        md,
        "`chorus serve` with `concurrency = {}`, `queue = {}` for kokoro: up to {} requests in flight are accepted, more get 429.\n",
        r.server_limit.0,
        r.server_limit.1,
        r.server_limit.0 + r.server_limit.1
    );
    for l in &r.load_runs {
        let growth =
            l.rss_growth_kib().map_or(String::new(), |g| format!(" (RSS growth {:.1} MiB)", g as f64 / 1024.0));
        let _ = writeln!(md, "- {l}{growth}");
    }
    if let Some(m) = &r.mixed {
        super::mixed_report::markdown(md, m, r.server_limit);
    }
}

/// The host's own cost per chunk, from the synthetic plugin.
pub(super) fn overhead(md: &mut String, r: &Results) {
    let (cps, mbps, chunks, bytes) = r.overhead;
    let sentences = r.library_dev.chunks.len().max(1) as f64;
    let chunks_per_sentence = r.library_dev.chunks.iter().sum::<f64>() / sentences;
    let per_chunk_ms = if cps > 0.0 { 1e3 / cps } else { f64::NAN };
    let wall_per_sentence = median(&r.library_dev.wall_ms);
    let _ = writeln!(md, "\n## Plugin overhead\n");
    let _ = writeln!(
        md,
        "The example plugin (a synthetic backend, one chunk per word, no model) pushed {chunks:.0} audio chunks \
         ({:.1} MB of f32 PCM) through the ABI sink and the host's bounded channel to an in-process consumer: \
         **{cps:.0} chunks/s, {mbps:.0} MB/s**, i.e. {per_chunk_ms:.3} ms per chunk. A Kokoro sentence of the dev set is \
         pushed in {chunks_per_sentence:.1} chunks on average and takes {wall_per_sentence:.0} ms (median wall) to synthesize, \
         so moving its audio through the host costs about {:.3} % of a Kokoro synthesis.\n",
        bytes / 1e6,
        100.0 * chunks_per_sentence * per_chunk_ms / wall_per_sentence.max(1e-9)
    );
}

/// The streaming policies' table: one row per policy, all from this run (and the peer's word
/// error rate, when it ran).
pub(super) fn policies(md: &mut String, r: &Results, peer_wer: Option<f64>) {
    if r.policies.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Streaming policies (Kokoro, in-process, dev set)\n");
    let _ = writeln!(
        md,
        "Each policy speaks the whole dev set with its own `[backends.kokoro]` keys, in this run. Prosody is \
         measured against the `whole` policy's WAVs (front and decoder on each whole sentence at once): speech \
         length with the edges' silence cut off, as a ratio (median over the sentences, and the share within 3 %), \
         and pauses over 150 ms where the whole rendition has none.{}\n",
        peer_wer.map_or(String::new(), |w| format!(" The peer's word error rate in this run: {w:.3}."))
    );
    let _ = writeln!(
        md,
        "| policy | keys | first audio, median | wall time, dev set | audio | word error rate | speech / whole, median | within 3 % | extra pauses |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for o in &r.policies {
        let within = o.speech_ratio.iter().filter(|x| (*x - 1.0).abs() <= 0.03).count();
        let _ = writeln!(
            md,
            "| `{}`: {} | {} | {:.0} ms | {:.1} s | {:.1} s | {:.3} | {:.3} | {within}/{} | {:.0} |",
            o.policy.name,
            o.policy.about,
            if o.policy.keys.is_empty() {
                "(none)".into()
            } else {
                format!("`{}`", o.policy.keys.trim().replace('\n', "`, `"))
            },
            o.series.median_first(),
            o.series.wall_total(),
            o.series.audio_total(),
            o.wer.0,
            median(&o.speech_ratio),
            o.speech_ratio.len(),
            o.extra_pauses.iter().sum::<f64>()
        );
    }
    let _ = writeln!(md);
}

pub(super) fn round(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| (x * 100.0).round() / 100.0).collect()
}

/// The results as JSON (what the plot script reads).
pub fn json(r: &Results) -> String {
    let opt = |s: &Option<Series>| s.as_ref().map_or("null".into(), Series::json);
    format!(
        "{{\"date\":{:?},\"cpu\":{:?},\"chorus_model\":{:?},\"peer_dev\":{},\"library_dev\":{},\"serve_dev\":{},\"peer_long\":{},\"library_long\":{},\"serve_long\":{},\"cold_chorus_s\":{},\"cold_peer_s\":{},\"wer_chorus\":{:.4},\"wer_peer\":{:.4},\"load\":[{}],\"mixed\":{}}}",
        r.date,
        r.cpu,
        r.chorus_model,
        r.peer_dev.json(),
        r.library_dev.json(),
        r.serve_dev.json(),
        opt(&r.peer_long),
        opt(&r.library_long),
        opt(&r.serve_long),
        array(&r.cold_chorus.0),
        array(&r.cold_peer.0),
        r.wer_chorus.0,
        r.wer_peer.0,
        r.load_runs.iter().map(|l| l.json()).collect::<Vec<_>>().join(","),
        r.mixed.as_ref().map_or("null".into(), |m| m.json())
    )
}

/// One paragraph for the terminal.
pub fn summary(r: &Results) -> String {
    format!(
        "ttfa median: serve {:.0} ms, library {:.0} ms, peer {:.0} ms; dev set wall time: library {:.1} s, peer {:.1} s; cold start {:.2} s vs {:.2} s; RSS {} vs {}; WER {:.3} vs {:.3}",
        r.serve_dev.median_first(),
        r.library_dev.median_first(),
        r.peer_dev.median_first(),
        r.library_dev.wall_total(),
        r.peer_dev.wall_total(),
        median(&r.cold_chorus.0),
        median(&r.cold_peer.0),
        mib(r.library_dev.peak_rss_kib),
        mib(r.peer_dev.peak_rss_kib),
        r.wer_chorus.0,
        r.wer_peer.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(first: f64, wall: f64, audio: f64, rss: u64) -> Series {
        Series {
            first_ms: vec![first; 3],
            wall_ms: vec![wall; 3],
            audio_s: vec![audio; 3],
            chunks: vec![2.0; 3],
            peak_rss_kib: Some(rss),
            peaks: Some(Peaks { private_kib: rss / 2, pss_kib: rss - 1 }),
            load: (1.0, 1.0),
        }
    }

    #[test]
    fn the_page_gives_ratios_and_verdicts_against_the_targets() {
        let r = Results {
            peer_dev: series(800.0, 1000.0, 4.0, 400_000),
            library_dev: series(150.0, 500.0, 4.0, 200_000),
            serve_dev: series(300.0, 600.0, 4.0, 210_000),
            cold_chorus: (vec![1.0], Some(150_000)),
            cold_peer: (vec![2.0], Some(300_000)),
            wer_chorus: (0.05, vec![0.0; 3]),
            wer_peer: (0.09, vec![0.1; 3]),
            overhead: (10_000.0, 200.0, 20_000.0, 4e8),
            mixed: Some(super::super::mixed::example_report()),
            ..Default::default()
        };
        let md = markdown(&r);
        assert!(md.contains("## Normal clients beside hostile ones"), "{md}");
        assert!(md.contains("| 3 | 11 | 10 | 0 | 1 | 200 ms | 300 ms | 500 ms | 600 ms |"), "{md}");
        // library: 150/800 = 0.19 ≤ 0.25; serve: 300/800 = 0.38 > 0.25.
        assert!(md.contains("| 150 ms | 800 ms | 0.19× | ≤ 0.25× | met |"), "{md}");
        assert!(md.contains("| 300 ms | 800 ms | 0.38× | ≤ 0.25× | **not met** |"), "{md}");
        assert!(md.contains("| 1.5 s | 3.0 s | 0.50× | ≤ 0.6× | met |"), "{md}");
        assert!(md.contains("| 1.00 s | 2.00 s | 0.50× | ≤ 0.6× | met |"), "{md}");
        assert!(md.contains("## What moved which number"));
        assert!(json(&r).contains("\"wer_chorus\":0.0500"));
        assert!(json(&r).contains("\"slowloris_closed_s\":[4.10,4.20,4.30,null],\"stalled_cut\":1"), "{}", json(&r));
    }
}
