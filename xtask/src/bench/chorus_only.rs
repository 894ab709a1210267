//! The bench without the team's evaluation folder: what it skips, said plainly, and the report of
//! chorus measured alone (written to `target/bench/chorus-only.md`, never over docs/BENCHMARKS.md,
//! which holds only runs beside the peer).

use super::Results;
use super::report::{mib, overhead, policies, round, server_load};
use super::stats::{Series, median};
use std::{fmt::Write, path::Path};

/// The paragraph printed (and put at the top of the report) when `wanted` is not there.
pub fn skipped(wanted: &Path, report: &Path) -> String {
    format!(
        "bench: the team's evaluation folder {} is absent (set CHORUS_EVAL_DIR to use another), so this run \
         skips the peer (kokoro-onnx) and every comparison with it, and the team's dev set dev2_en.txt with its \
         judge wer.py. Instead it speaks the project's own sentences, tests/judge/sentences_en.txt, judges them with \
         tests/judge/judge.py in the tests' Python (target/test-env, as `cargo xtask judge-env` builds it), and \
         measures chorus alone: time to first audio (library and serve), throughput, cold start, peak RSS, word \
         error rate, the plugin overhead, the load runs and the mixed run with hostile clients. It writes {}; \
         docs/BENCHMARKS.md, which holds only runs beside the peer, is left as it is.",
        wanted.display(),
        report.display()
    )
}

/// The chorus-only report; `skipped` is [`skipped`]'s paragraph.
pub fn markdown(r: &Results, skipped: &str) -> String {
    let args = r.args.as_ref();
    let threads = args.map_or(0, |a| a.threads);
    let voice = args.map_or("jf_alpha", |a| a.voice.as_str());
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks: chorus alone (no peer)\n");
    let _ = writeln!(md, "{}\n", skipped.trim_start_matches("bench: "));
    let _ = writeln!(
        md,
        "Written by `{}` on {}. Machine: {} × {}, {threads} threads, voice `{voice}`, model `{}` with the Kokoro \
         plugin's default streaming policy. Sentences: `{}`; judge: `{}`. Load average (1 min) {:.1} at the start and \
         {:.1} at the end of the run.\n",
        r.command,
        r.date,
        super::cpus(),
        r.cpu,
        r.chorus_model,
        r.sentences,
        r.judge,
        r.load_start,
        r.load_end
    );
    let _ = writeln!(md, "## Results\n\n| measure | chorus |\n|---|---|");
    let first = |name: &str, s: &Series| {
        format!("| time to first audio, median / p90 ({name}) | {:.0} / {:.0} ms |", s.median_first(), s.p90_first())
    };
    let wall = |name: &str, s: &Series| {
        format!(
            "| wall time, {name} (audio {:.1} s) | {:.1} s ({:.1}× real time) |",
            s.audio_total(),
            s.wall_total(),
            s.x_realtime()
        )
    };
    let mut rows = vec![
        first("serve, first pcm byte", &r.serve_dev),
        first("library, in-process", &r.library_dev),
        wall("sentences, library", &r.library_dev),
        wall("sentences, serve", &r.serve_dev),
    ];
    if let (Some(l), Some(s)) = (&r.library_long, &r.serve_long) {
        rows.push(wall("long passage, library", l));
        rows.push(wall("long passage, serve", s));
        rows.push(format!(
            "| time to first audio, long passage (library / serve) | {:.0} / {:.0} ms |",
            l.median_first(),
            s.median_first()
        ));
        rows.push(format!("| peak RSS, long passage (library process) | {} |", mib(l.peak_rss_kib)));
    }
    rows.push(format!(
        "| cold start, process start → WAV written (median of {}) | {:.2} s |",
        r.cold_chorus.0.len(),
        median(&r.cold_chorus.0)
    ));
    rows.push(format!("| peak RSS, speaking the sentences (library process) | {} |", mib(r.library_dev.peak_rss_kib)));
    let peak = |pick: fn(&super::memory::Peaks) -> u64| mib(r.library_dev.peaks.as_ref().map(pick));
    rows.push(format!(
        "| peak anonymous + dirty, speaking the sentences (library process) | {} |",
        peak(|p| p.private_kib)
    ));
    rows.push(format!("| peak PSS, speaking the sentences (library process) | {} |", peak(|p| p.pss_kib)));
    rows.push(format!("| peak RSS, cold start (`chorus speak`, one sentence) | {} |", mib(r.cold_chorus.1)));
    rows.push(format!("| word error rate (judge) | {:.3} |", r.wer_chorus.0));
    let _ = writeln!(md, "{}\n", rows.join("\n"));
    policies(&mut md, r, None);
    let _ = writeln!(
        md,
        "## Per sentence\n\n| # | audio s | serve first ms | library first ms | WER |\n|---|---|---|---|---|"
    );
    for i in 0..r.library_dev.first_ms.len() {
        let get = |v: &[f64], digits: usize| v.get(i).map_or("–".into(), |x| format!("{x:.digits$}"));
        let _ = writeln!(
            md,
            "| {i} | {} | {} | {} | {} |",
            get(&r.library_dev.audio_s, 2),
            get(&r.serve_dev.first_ms, 0),
            get(&r.library_dev.first_ms, 0),
            get(&r.wer_chorus.1, 2)
        );
    }
    server_load(&mut md, r);
    overhead(&mut md, r);
    let _ = writeln!(md, "## Conditions\n\n| phase | load average at start | at end |\n|---|---|---|");
    for (name, s) in [("library, sentences", &r.library_dev), ("serve, sentences", &r.serve_dev)] {
        let _ = writeln!(md, "| {name} | {:.1} | {:.1} |", s.load.0, s.load.1);
    }
    let _ = writeln!(md, "\nCold start times (s): {:?}.", round(&r.cold_chorus.0));
    md
}

/// One paragraph for the terminal.
pub fn summary(r: &Results) -> String {
    format!(
        "chorus alone: ttfa median serve {:.0} ms, library {:.0} ms; sentences wall time {:.1} s for {:.1} s of audio; \
         cold start {:.2} s; RSS {}; WER {:.3}",
        r.serve_dev.median_first(),
        r.library_dev.median_first(),
        r.library_dev.wall_total(),
        r.library_dev.audio_total(),
        median(&r.cold_chorus.0),
        mib(r.library_dev.peak_rss_kib),
        r.wer_chorus.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(first: f64) -> Series {
        Series {
            first_ms: vec![first; 3],
            wall_ms: vec![500.0; 3],
            audio_s: vec![2.0; 3],
            chunks: vec![2.0; 3],
            peak_rss_kib: Some(200 * 1024),
            peaks: Some(crate::bench::memory::Peaks { private_kib: 150 * 1024, pss_kib: 180 * 1024 }),
            load: (1.0, 1.0),
        }
    }

    #[test]
    fn the_chorus_only_report_names_what_it_skipped_and_what_it_measured() {
        let r = Results {
            library_dev: series(150.0),
            serve_dev: series(300.0),
            cold_chorus: (vec![1.2], Some(150 * 1024)),
            wer_chorus: (0.05, vec![0.0, 0.1, 0.05]),
            sentences: "tests/judge/sentences_en.txt".into(),
            judge: "tests/judge/judge.py".into(),
            mixed: Some(super::super::mixed::example_report()),
            ..Default::default()
        };
        let text = skipped(Path::new("/nowhere/eval"), Path::new("target/bench/chorus-only.md"));
        for named in ["/nowhere/eval", "kokoro-onnx", "dev2_en.txt", "wer.py", "sentences_en.txt", "judge.py"] {
            assert!(text.contains(named), "{named} not named in: {text}");
        }
        let md = markdown(&r, &text);
        assert!(md.contains("skips the peer (kokoro-onnx)"), "{md}");
        assert!(md.contains("target/bench/chorus-only.md"), "{md}");
        assert!(md.contains("| time to first audio, median / p90 (serve, first pcm byte) | 300 / 300 ms |"), "{md}");
        assert!(md.contains("| wall time, sentences, library (audio 6.0 s) | 1.5 s (4.0× real time) |"), "{md}");
        assert!(md.contains("| word error rate (judge) | 0.050 |"), "{md}");
        // The mixed run's tables: the normal clients' percentiles and errors, the hostile sockets' ends.
        assert!(md.contains("| 3 | 11 | 10 | 0 | 1 | 200 ms | 300 ms | 500 ms | 600 ms |"), "{md}");
        assert!(md.contains("| slowloris | 4 | 3 | 4.1, 4.2, 4.3 s after opening"), "{md}");
        assert!(md.contains("| stalled readers | 2 | 1 (the rest: 0 finished, 1 still open"), "{md}");
        assert!(md.contains("`write_timeout_secs = 4`"), "{md}");
        assert!(md.contains("header_timeout 3, write_timeout 1"), "{md}");
        assert!(
            md.contains("when the run ended (the server's send queue") && md.contains(": 0.00 MB, 4.00 MB."),
            "{md}"
        );
        // Nothing of the peer's.
        assert!(!md.contains("peer |") && !md.contains("chorus/peer"), "{md}");
    }
}
