//! Small statistics and the per-run record every measurement fills: times to first audio, wall
//! times, audio lengths, peak memory, and the machine's load while it ran.

/// One system's run over a list of texts (or one long text).
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Time to first audio per text, ms.
    pub first_ms: Vec<f64>,
    /// Wall time per text, ms.
    pub wall_ms: Vec<f64>,
    /// Audio produced per text, seconds.
    pub audio_s: Vec<f64>,
    /// Audio chunks received per text (where the tool reports them).
    pub chunks: Vec<f64>,
    /// Peak resident memory of the process that did the work, KiB.
    pub peak_rss_kib: Option<u64>,
    /// Peak anonymous + dirty shared memory, and peak PSS, of that process ([`super::memory`]).
    pub peaks: Option<super::memory::Peaks>,
    /// 1-minute load average when the run started and when it ended.
    pub load: (f64, f64),
}

impl Series {
    /// A run's memory and load, its per-text numbers still to be added.
    pub fn measured(run: &super::measure::Timed, load: (f64, f64)) -> Self {
        Self { peak_rss_kib: run.peak_rss_kib, peaks: run.peaks, load, ..Default::default() }
    }

    pub fn median_first(&self) -> f64 {
        percentile(&self.first_ms, 0.5)
    }

    pub fn p90_first(&self) -> f64 {
        percentile(&self.first_ms, 0.9)
    }

    /// Audio seconds per wall second over the whole run.
    pub fn x_realtime(&self) -> f64 {
        let wall: f64 = self.wall_ms.iter().sum::<f64>() / 1e3;
        if wall > 0.0 { self.audio_s.iter().sum::<f64>() / wall } else { 0.0 }
    }

    /// Wall time over the whole run, seconds.
    pub fn wall_total(&self) -> f64 {
        self.wall_ms.iter().sum::<f64>() / 1e3
    }

    pub fn audio_total(&self) -> f64 {
        self.audio_s.iter().sum()
    }

    pub fn json(&self) -> String {
        format!(
            "{{\"first_ms\":{},\"wall_ms\":{},\"audio_s\":{},\"peak_rss_kib\":{},\"peak_private_kib\":{},\"peak_pss_kib\":{},\"load\":[{:.2},{:.2}],\"median_first_ms\":{:.1},\"p90_first_ms\":{:.1},\"x_realtime\":{:.3}}}",
            array(&self.first_ms),
            array(&self.wall_ms),
            array(&self.audio_s),
            self.peak_rss_kib.map_or("null".into(), |v| v.to_string()),
            self.peaks.map_or("null".into(), |p| p.private_kib.to_string()),
            self.peaks.map_or("null".into(), |p| p.pss_kib.to_string()),
            self.load.0,
            self.load.1,
            self.median_first(),
            self.p90_first(),
            self.x_realtime()
        )
    }
}

/// Nearest-rank percentile (0 when empty).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn median(values: &[f64]) -> f64 {
    percentile(values, 0.5)
}

/// A JSON array of numbers.
pub fn array(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{v:.4}")).collect();
    format!("[{}]", items.join(","))
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_throughput() {
        let s = Series {
            first_ms: vec![300.0, 100.0, 200.0, 400.0],
            wall_ms: vec![1000.0, 1000.0],
            audio_s: vec![3.0, 5.0],
            ..Default::default()
        };
        assert_eq!(s.median_first(), 200.0);
        assert_eq!(s.p90_first(), 400.0);
        assert_eq!(s.x_realtime(), 4.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
