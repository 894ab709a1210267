//! The mixed run's section of both reports (docs/BENCHMARKS.md and the chorus-only one): the
//! server limits it ran with, the normal clients' times and errors, and what became of the hostile
//! sockets.

use super::mixed::{self, Ending, MixReport};
use std::fmt::Write;

/// The mixed run: the normal clients' times and errors, and what became of the hostile sockets.
pub fn markdown(md: &mut String, m: &MixReport, limit: (usize, usize)) {
    let mix = &m.mix;
    let keys: Vec<String> = mixed::SERVER_KEYS.lines().map(|k| format!("`{k}`")).collect();
    let _ = writeln!(md, "\n## Normal clients beside hostile ones (loopback)\n");
    let _ = writeln!(
        md,
        "The same `chorus serve` (`concurrency = {}`, `queue = {}`), configured with {} (shorter than the defaults, \
         120, 10, 30 and 30 s, so that they fire within the run; `max_connections` at its default, 512, which this run does \
         not reach). For {} s: {} stalled readers (each sends `POST /v1/audio/speech` for the long passage as pcm, \
         reads 2 KB, then reads nothing but keeps its socket open) and {} slowloris sockets (one header byte every \
         2 s), opened first; a second later {} normal clients, each sending {:?} as pcm, one request after another \
         until the {} s were up (requests under way then were finished; a normal client gives up after {} s \
         without a byte). {:.1} s in all; load average (1 min) {:.1} at \
         the start, {:.1} at the end.\n",
        limit.0,
        limit.1,
        keys.join(", "),
        mix.secs,
        mix.stalled,
        mix.slowloris,
        mix.normal,
        mix.normal_text,
        mix.secs,
        mixed::NORMAL_TIMEOUT.as_secs(),
        m.wall_secs,
        m.load.0,
        m.load.1
    );
    let ms = |values: &[f64]| {
        let (p50, p99) = MixReport::p50_p99(values);
        if values.is_empty() {
            ["–".to_string(), "–".into()]
        } else {
            [format!("{p50:.0} ms"), format!("{p99:.0} ms")]
        }
    };
    let ([first50, first99], [total50, total99]) = (ms(&m.first_ms), ms(&m.total_ms));
    let _ = writeln!(
        md,
        "| normal clients | requests | 200 | 429 | errors | first audio p50 | p99 | last byte p50 | p99 |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    let _ = writeln!(
        md,
        "| {} | {} | {} | {} | {} | {first50} | {first99} | {total50} | {total99} |\n",
        mix.normal,
        m.ok + m.rate_limited + m.errors,
        m.ok,
        m.rate_limited,
        m.errors
    );
    let secs = |v: Vec<f64>| {
        if v.is_empty() {
            "–".into()
        } else {
            v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(", ") + " s"
        }
    };
    let loris: Vec<f64> = m.slowloris_closed.iter().flatten().copied().collect();
    let cut = m.stalled.iter().filter(|e| **e == Ending::Cut).count();
    let count = |want: &Ending| m.stalled.iter().filter(|e| *e == want).count();
    let no_audio = m.stalled.iter().filter(|e| matches!(e, Ending::NoAudio(_))).count();
    let at = |limit: &str| secs(m.limit_hits.iter().filter(|h| h.0 == limit).map(|h| h.2).collect());
    let _ = writeln!(md, "| hostile sockets | opened | closed by the server within the run | when |");
    let _ = writeln!(md, "|---|---|---|---|");
    let _ = writeln!(
        md,
        "| slowloris | {} | {} | {} after opening (header timeouts counted at {} into the run) |",
        mix.slowloris,
        loris.len(),
        secs(loris.clone()),
        at("header_timeout")
    );
    let _ = writeln!(
        md,
        "| stalled readers | {} | {cut} (the rest: {} finished, {} still open at the end, {} without audio) | write timeouts counted at {} into the run |\n",
        mix.stalled,
        count(&Ending::Finished),
        count(&Ending::Open),
        no_audio,
        at("write_timeout")
    );
    let queued: Vec<String> = m.stalled_queued.iter().flatten().map(|b| format!("{:.2} MB", *b as f64 / 1e6)).collect();
    if !queued.is_empty() {
        let _ = writeln!(
            md,
            "What the stalled readers' connections held in the kernel's socket buffers when the run ended (the \
             server's send queue and the reader's receive queue; 1 MB is about 21 s of 24 kHz pcm): {}. The write \
             timeout only starts once these are full.\n",
            queued.join(", ")
        );
    }
    let totals: Vec<String> = m.limit_totals().iter().map(|(k, v)| format!("{k} {v:.0}")).collect();
    let _ = writeln!(
        md,
        "Limits counted in `chorus_limits_hit_total` during the run: {}.\n",
        if totals.is_empty() { "none".into() } else { totals.join(", ") }
    );
    for e in &m.error_samples {
        let _ = writeln!(md, "- normal client error: {e}");
    }
    for e in &m.stalled {
        if let Ending::NoAudio(why) = e {
            let _ = writeln!(md, "- stalled reader without audio: {why}");
        }
    }
}
