//! Server metrics, rendered in Prometheus' text exposition format for `GET /metrics`.
//!
//! Requests and errors by model, time to first audio and real-time factor (histograms),
//! syntheses in flight, syntheses stopped because the client left, audio seconds produced, open
//! connections, and how often each of the server's limits against stalling or oversized clients fired.
//! For text that streams in (the ElevenLabs WebSocket): time from a segment's text being complete
//! to its first audio, and how far the audio trails the text (to the segment's last audio).

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
};

/// More distinct model names than this share the label `other`, so clients cannot grow the set without bound.
const MAX_MODELS: usize = 64;

const TTFA_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
const RTF_BUCKETS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 1000.0];

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, buckets: &[f64], value: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; buckets.len()];
        }
        for (i, bound) in buckets.iter().enumerate() {
            if value <= *bound {
                self.counts[i] += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Inner {
    models: Vec<String>,
    requests: BTreeMap<(String, &'static str), u64>,
    errors: BTreeMap<(String, &'static str, u16), u64>,
    first_audio: BTreeMap<String, Histogram>,
    realtime: BTreeMap<String, Histogram>,
    segment_first_audio: BTreeMap<String, Histogram>,
    stream_lag: BTreeMap<String, Histogram>,
    in_flight: BTreeMap<String, i64>,
    cancelled: BTreeMap<String, u64>,
    audio_seconds: BTreeMap<String, f64>,
    limits: BTreeMap<Limit, u64>,
    connections: i64,
}

impl Inner {
    fn label(&mut self, model: &str) -> String {
        if self.models.iter().any(|m| m == model) {
            return model.to_string();
        }
        if self.models.len() < MAX_MODELS {
            self.models.push(model.to_string());
            return model.to_string();
        }
        "other".into()
    }
}

/// A limit that protects the server from a client, for `chorus_limits_hit_total{limit=...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Limit {
    /// A connection sent part of a request's headers and not the rest in time; it was closed.
    HeaderTimeout,
    /// A request's body did not arrive in time; answered 408.
    BodyTimeout,
    /// A client read nothing of a response for the write timeout; its connection was closed.
    WriteTimeout,
    /// A connection over `max_connections`; answered 503 and closed.
    MaxConnections,
    /// A body over `max_body_bytes` (declared or sent); answered 413.
    BodySize,
    /// A URI over the server's limit; answered 414.
    UriLength,
    /// Headers over the server's limit; answered 431.
    HeaderSize,
}

impl Limit {
    pub const ALL: [Limit; 7] = [
        Limit::HeaderTimeout,
        Limit::BodyTimeout,
        Limit::WriteTimeout,
        Limit::MaxConnections,
        Limit::BodySize,
        Limit::UriLength,
        Limit::HeaderSize,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Limit::HeaderTimeout => "header_timeout",
            Limit::BodyTimeout => "body_timeout",
            Limit::WriteTimeout => "write_timeout",
            Limit::MaxConnections => "max_connections",
            Limit::BodySize => "max_body_bytes",
            Limit::UriLength => "uri_length",
            Limit::HeaderSize => "header_size",
        }
    }
}

/// Shared counters; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A request reached `endpoint` for `model` (as routed, or as asked when it did not route).
    pub fn request(&self, endpoint: &'static str, model: &str) {
        self.with(|m| {
            let model = m.label(model);
            *m.requests.entry((model, endpoint)).or_default() += 1;
        });
    }

    /// A request ended in an error response (or failed mid-stream) with `status`.
    pub fn error(&self, endpoint: &'static str, model: &str, status: u16) {
        self.with(|m| {
            let model = m.label(model);
            *m.errors.entry((model, endpoint, status)).or_default() += 1;
        });
    }

    pub fn first_audio(&self, model: &str, seconds: f64) {
        self.with(|m| {
            let model = m.label(model);
            m.first_audio.entry(model).or_default().observe(TTFA_BUCKETS, seconds);
        });
    }

    /// A segment of streamed text got its first audio `seconds` after its text was complete.
    pub fn segment_first_audio(&self, model: &str, seconds: f64) {
        self.with(|m| {
            let model = m.label(model);
            m.segment_first_audio.entry(model).or_default().observe(TTFA_BUCKETS, seconds);
        });
    }

    /// A segment of streamed text was all spoken `seconds` after its text was complete.
    pub fn stream_lag(&self, model: &str, seconds: f64) {
        self.with(|m| {
            let model = m.label(model);
            m.stream_lag.entry(model).or_default().observe(TTFA_BUCKETS, seconds);
        });
    }

    /// A synthesis finished: its real-time factor and audio length.
    pub fn finished(&self, model: &str, x_realtime: f64, audio_seconds: f64) {
        self.with(|m| {
            let model = m.label(model);
            m.realtime.entry(model.clone()).or_default().observe(RTF_BUCKETS, x_realtime);
            *m.audio_seconds.entry(model).or_default() += audio_seconds;
        });
    }

    /// A synthesis stopped because its client went away (or timed out); `audio_seconds` is what it made.
    pub fn cancelled(&self, model: &str, audio_seconds: f64) {
        self.with(|m| {
            let model = m.label(model);
            *m.cancelled.entry(model.clone()).or_default() += 1;
            *m.audio_seconds.entry(model).or_default() += audio_seconds;
        });
    }

    /// `limit` fired once.
    pub fn limit_hit(&self, limit: Limit) {
        self.with(|m| *m.limits.entry(limit).or_default() += 1);
    }

    /// Count a connection as open until the returned guard drops.
    pub fn connection(&self) -> Connection {
        self.with(|m| m.connections += 1);
        Connection { metrics: self.clone() }
    }

    /// Count a synthesis as running until the returned guard drops.
    pub fn in_flight(&self, model: &str) -> InFlight {
        let label = self.with(|m| {
            let model = m.label(model);
            *m.in_flight.entry(model.clone()).or_default() += 1;
            model
        });
        InFlight { metrics: self.clone(), label }
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        self.with(|m| {
            let mut out = String::new();
            header(&mut out, "chorus_requests_total", "counter", "Requests received, by model and endpoint.");
            for ((model, endpoint), n) in &m.requests {
                let _ =
                    writeln!(out, "chorus_requests_total{{model=\"{}\",endpoint=\"{endpoint}\"}} {n}", escape(model));
            }
            header(
                &mut out,
                "chorus_errors_total",
                "counter",
                "Requests that ended in an error, by model, endpoint and HTTP status.",
            );
            for ((model, endpoint, status), n) in &m.errors {
                let _ = writeln!(
                    out,
                    "chorus_errors_total{{model=\"{}\",endpoint=\"{endpoint}\",status=\"{status}\"}} {n}",
                    escape(model)
                );
            }
            header(
                &mut out,
                "chorus_syntheses_in_flight",
                "gauge",
                "Syntheses running now (until the plugin returns), by model.",
            );
            for (model, n) in &m.in_flight {
                let _ = writeln!(out, "chorus_syntheses_in_flight{{model=\"{}\"}} {n}", escape(model));
            }
            header(
                &mut out,
                "chorus_syntheses_cancelled_total",
                "counter",
                "Syntheses stopped because the client disconnected or timed out.",
            );
            for (model, n) in &m.cancelled {
                let _ = writeln!(out, "chorus_syntheses_cancelled_total{{model=\"{}\"}} {n}", escape(model));
            }
            header(&mut out, "chorus_audio_seconds_total", "counter", "Seconds of audio produced by backends.");
            for (model, s) in &m.audio_seconds {
                let _ = writeln!(out, "chorus_audio_seconds_total{{model=\"{}\"}} {s}", escape(model));
            }
            header(&mut out, "chorus_connections_open", "gauge", "HTTP connections open now.");
            let _ = writeln!(out, "chorus_connections_open {}", m.connections);
            header(
                &mut out,
                "chorus_limits_hit_total",
                "counter",
                "Times a limit against stalling or oversized clients fired ([server] *_timeout_secs, max_connections, max_body_bytes, URI and header size).",
            );
            for limit in Limit::ALL {
                let n = m.limits.get(&limit).copied().unwrap_or(0);
                let _ = writeln!(out, "chorus_limits_hit_total{{limit=\"{}\"}} {n}", limit.name());
            }
            histogram(
                &mut out,
                "chorus_time_to_first_audio_seconds",
                "From request arrival to the first audio ready to send.",
                TTFA_BUCKETS,
                &m.first_audio,
            );
            histogram(
                &mut out,
                "chorus_realtime_factor",
                "Audio seconds per wall-clock second of each finished synthesis.",
                RTF_BUCKETS,
                &m.realtime,
            );
            histogram(
                &mut out,
                "chorus_segment_first_audio_seconds",
                "Streamed text (WebSocket): from a segment's text being complete to its first audio.",
                TTFA_BUCKETS,
                &m.segment_first_audio,
            );
            histogram(
                &mut out,
                "chorus_stream_lag_seconds",
                "Streamed text (WebSocket): from a segment's text being complete to its last audio (audio behind text).",
                TTFA_BUCKETS,
                &m.stream_lag,
            );
            out
        })
    }
}

/// Decrements the in-flight gauge when dropped.
#[derive(Debug)]
pub struct InFlight {
    metrics: Metrics,
    label: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.metrics.with(|m| {
            if let Some(n) = m.in_flight.get_mut(&self.label) {
                *n -= 1;
            }
        });
    }
}

/// Decrements the open-connections gauge when dropped.
#[derive(Debug)]
pub struct Connection {
    metrics: Metrics,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.metrics.with(|m| m.connections -= 1);
    }
}

/// The usage ledger writer's counters: requests not recorded are never silent.
pub fn render_ledger(out: &mut String, stats: &crate::ledger::Stats) {
    use std::sync::atomic::Ordering::Acquire;
    header(out, "chorus_ledger_written_total", "counter", "Finished requests written to the usage ledger.");
    let _ = writeln!(out, "chorus_ledger_written_total {}", stats.written.load(Acquire));
    header(
        out,
        "chorus_ledger_failures_total",
        "counter",
        "Finished requests whose usage row could not be written (locked, damaged or read-only ledger); each logged.",
    );
    let _ = writeln!(out, "chorus_ledger_failures_total {}", stats.failed.load(Acquire));
    header(
        out,
        "chorus_ledger_dropped_total",
        "counter",
        "Finished requests not recorded because the ledger writer's backlog was full.",
    );
    let _ = writeln!(out, "chorus_ledger_dropped_total {}", stats.dropped.load(Acquire));
    header(out, "chorus_ledger_backlog", "gauge", "Finished requests waiting for the ledger writer.");
    let _ = writeln!(out, "chorus_ledger_backlog {}", stats.backlog());
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, help: &str, buckets: &[f64], by_model: &BTreeMap<String, Histogram>) {
    header(out, name, "histogram", help);
    for (model, h) in by_model {
        let model = escape(model);
        for (bound, n) in buckets.iter().zip(&h.counts) {
            let _ = writeln!(out, "{name}_bucket{{model=\"{model}\",le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{model=\"{model}\",le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum{{model=\"{model}\"}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{model=\"{model}\"}} {}", h.count);
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_the_gauge() {
        let m = Metrics::default();
        m.request("speech", "example");
        m.error("speech", "example", 400);
        m.first_audio("example", 0.03);
        let guard = m.in_flight("example");
        let text = m.render();
        assert!(text.contains("chorus_requests_total{model=\"example\",endpoint=\"speech\"} 1"));
        assert!(text.contains("chorus_errors_total{model=\"example\",endpoint=\"speech\",status=\"400\"} 1"));
        assert!(text.contains("chorus_time_to_first_audio_seconds_bucket{model=\"example\",le=\"0.05\"} 1"));
        assert!(text.contains("chorus_time_to_first_audio_seconds_bucket{model=\"example\",le=\"0.025\"} 0"));
        assert!(text.contains("chorus_syntheses_in_flight{model=\"example\"} 1"));
        drop(guard);
        assert!(m.render().contains("chorus_syntheses_in_flight{model=\"example\"} 0"));
        assert!(text.contains("chorus_limits_hit_total{limit=\"write_timeout\"} 0"));
        m.limit_hit(Limit::WriteTimeout);
        let connection = m.connection();
        let text = m.render();
        assert!(text.contains("chorus_limits_hit_total{limit=\"write_timeout\"} 1"));
        assert!(text.contains("chorus_connections_open 1"));
        drop(connection);
        assert!(m.render().contains("chorus_connections_open 0"));
    }

    #[test]
    fn model_labels_are_bounded() {
        let m = Metrics::default();
        for i in 0..MAX_MODELS + 5 {
            m.request("speech", &format!("m{i}\""));
        }
        let text = m.render();
        assert!(text.contains("model=\"other\",endpoint=\"speech\"} 5"));
        assert!(text.contains("model=\"m0\\\"\""));
    }
}
