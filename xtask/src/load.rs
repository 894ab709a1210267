//! The load part of `cargo xtask bench`: N concurrent clients against a running `chorus serve` on
//! loopback, for a bounded number of requests, over raw HTTP/1.1 (std only).
//!
//! Entry point: [`run`] with a [`LoadSpec`]; it returns a [`LoadReport`] (throughput, p50/p99
//! time to first audio byte, successes, 429s, other errors, the server's RSS at start and end),
//! which prints as one line with `{}` and as JSON with [`LoadReport::json`]. [`one_request`] is
//! one request on its own (the bench's mixed run uses it).

use std::{
    fmt,
    io::{self, BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Where `chorus serve` listens (loopback).
    pub addr: SocketAddr,
    /// The server's process id, to read its resident memory from /proc (none: RSS not reported).
    pub server_pid: Option<u32>,
    /// Concurrent clients, each running one request at a time.
    pub clients: usize,
    /// Requests in all, shared among the clients.
    pub requests: usize,
    /// Requests run (one client) before measuring, so first-use allocations do not count as growth.
    pub warmup: usize,
    /// The JSON body of each `POST /v1/audio/speech`.
    pub body: String,
    pub api_key: Option<String>,
    /// Longest a single request may take before it counts as an error.
    pub timeout: Duration,
}

impl LoadSpec {
    /// A spec for `clients` × (`requests` in all) of `text` as 24 kHz pcm from `model`.
    pub fn speech(addr: SocketAddr, model: &str, voice: &str, text: &str, clients: usize, requests: usize) -> Self {
        let body = format!(
            "{{\"model\":{},\"voice\":{},\"input\":{},\"response_format\":\"pcm\"}}",
            json_string(model),
            json_string(voice),
            json_string(text)
        );
        Self {
            addr,
            server_pid: None,
            clients,
            requests,
            warmup: 2,
            body,
            api_key: None,
            timeout: Duration::from_secs(120),
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub clients: usize,
    pub requests: usize,
    /// 200 responses read to their end.
    pub ok: usize,
    /// 429 responses (the backend's slots and queue were full).
    pub rate_limited: usize,
    /// Anything else: other statuses, cut-off bodies, connection errors, timeouts.
    pub errors: usize,
    /// The first few error descriptions, for the log.
    pub error_samples: Vec<String>,
    pub wall_secs: f64,
    /// Successful requests per second of wall time.
    pub throughput: f64,
    /// Audio body bytes received in all.
    pub audio_bytes: u64,
    /// Time from sending the request to the first byte of audio, over successful requests.
    pub ttfb_p50_ms: f64,
    pub ttfb_p99_ms: f64,
    pub rss_start_kib: Option<u64>,
    pub rss_end_kib: Option<u64>,
}

impl LoadReport {
    /// Resident memory growth over the run, in KiB (when the server's pid was given).
    pub fn rss_growth_kib(&self) -> Option<i64> {
        Some(self.rss_end_kib? as i64 - self.rss_start_kib? as i64)
    }

    pub fn json(&self) -> String {
        let opt = |v: Option<u64>| v.map_or("null".to_string(), |v| v.to_string());
        format!(
            "{{\"clients\":{},\"requests\":{},\"ok\":{},\"rate_limited\":{},\"errors\":{},\"wall_secs\":{:.3},\"throughput_rps\":{:.3},\"audio_bytes\":{},\"ttfb_p50_ms\":{:.1},\"ttfb_p99_ms\":{:.1},\"rss_start_kib\":{},\"rss_end_kib\":{}}}",
            self.clients,
            self.requests,
            self.ok,
            self.rate_limited,
            self.errors,
            self.wall_secs,
            self.throughput,
            self.audio_bytes,
            self.ttfb_p50_ms,
            self.ttfb_p99_ms,
            opt(self.rss_start_kib),
            opt(self.rss_end_kib),
        )
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} clients, {} requests in {:.2} s: {} ok ({:.2}/s), {} × 429, {} errors; first audio byte p50 {:.0} ms, p99 {:.0} ms",
            self.clients,
            self.requests,
            self.wall_secs,
            self.ok,
            self.throughput,
            self.rate_limited,
            self.errors,
            self.ttfb_p50_ms,
            self.ttfb_p99_ms
        )?;
        if let (Some(start), Some(end)) = (self.rss_start_kib, self.rss_end_kib) {
            write!(f, "; server RSS {:.1} → {:.1} MiB", start as f64 / 1024.0, end as f64 / 1024.0)?;
        }
        for e in &self.error_samples {
            write!(f, "\n  error: {e}")?;
        }
        Ok(())
    }
}

/// How one request ended.
pub enum Outcome {
    /// Audio to its end: time to the first audio byte, to the last, and the audio's bytes.
    Ok {
        ttfb: Duration,
        total: Duration,
        bytes: u64,
    },
    RateLimited,
    Failed(String),
}

/// Run the load: warm-up requests first, then `clients` threads sharing `requests` requests.
pub fn run(spec: &LoadSpec) -> io::Result<LoadReport> {
    if spec.clients == 0 || spec.requests == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "clients and requests must be at least 1"));
    }
    for _ in 0..spec.warmup {
        if let Outcome::Failed(e) = one_request(spec) {
            return Err(io::Error::other(format!("warm-up request failed: {e}")));
        }
    }
    let rss_start_kib = spec.server_pid.and_then(rss_kib);
    let next = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Vec::with_capacity(spec.requests)));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..spec.clients {
            let (next, outcomes) = (next.clone(), outcomes.clone());
            scope.spawn(move || {
                while next.fetch_add(1, Ordering::AcqRel) < spec.requests {
                    let outcome = one_request(spec);
                    outcomes.lock().unwrap_or_else(|e| e.into_inner()).push(outcome);
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let rss_end_kib = spec.server_pid.and_then(rss_kib);
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap_or_else(|e| e.into_inner()));

    let mut report = LoadReport {
        clients: spec.clients,
        requests: spec.requests,
        wall_secs: wall,
        rss_start_kib,
        rss_end_kib,
        ..Default::default()
    };
    let mut ttfbs = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Ok { ttfb, bytes, .. } => {
                report.ok += 1;
                report.audio_bytes += bytes;
                ttfbs.push(ttfb.as_secs_f64() * 1e3);
            }
            Outcome::RateLimited => report.rate_limited += 1,
            Outcome::Failed(e) => {
                report.errors += 1;
                if report.error_samples.len() < 5 {
                    report.error_samples.push(e);
                }
            }
        }
    }
    ttfbs.sort_by(f64::total_cmp);
    report.ttfb_p50_ms = percentile(&ttfbs, 0.50);
    report.ttfb_p99_ms = percentile(&ttfbs, 0.99);
    report.throughput = if wall > 0.0 { report.ok as f64 / wall } else { 0.0 };
    Ok(report)
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// One request of `spec`, however it ends.
pub fn one_request(spec: &LoadSpec) -> Outcome {
    match try_request(spec) {
        Ok(outcome) => outcome,
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            Outcome::Failed(format!("nothing read for {} s (the client's timeout)", spec.timeout.as_secs()))
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn try_request(spec: &LoadSpec) -> io::Result<Outcome> {
    let sent = Instant::now();
    let mut stream = TcpStream::connect_timeout(&spec.addr, spec.timeout)?;
    stream.set_read_timeout(Some(spec.timeout))?;
    stream.set_nodelay(true)?;
    let auth = spec.api_key.as_ref().map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    let head = format!(
        "POST /v1/audio/speech HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{auth}\r\n",
        spec.addr,
        spec.body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(spec.body.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
    let mut chunked = false;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            chunked |=
                name.trim().eq_ignore_ascii_case("transfer-encoding") && value.trim().eq_ignore_ascii_case("chunked");
        }
    }
    if status == 429 {
        return Ok(Outcome::RateLimited);
    }
    if status != 200 {
        let mut body = String::new();
        let _ = reader.take(4096).read_to_string(&mut body);
        return Ok(Outcome::Failed(format!("status {status}: {}", body.trim())));
    }
    if !chunked {
        return Ok(Outcome::Failed("the audio did not come with chunked transfer".into()));
    }
    let mut ttfb = None;
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(Outcome::Failed(format!("the body was cut off after {bytes} bytes")));
        }
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| io::Error::other(format!("bad chunk size line {line:?}")))?;
        if size == 0 {
            break;
        }
        let mut left = size;
        while left > 0 {
            let n = left.min(buf.len());
            reader.read_exact(&mut buf[..n])?;
            ttfb.get_or_insert_with(|| sent.elapsed());
            left -= n;
        }
        bytes += size as u64;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
    match ttfb {
        Some(ttfb) => Ok(Outcome::Ok { ttfb, total: sent.elapsed(), bytes }),
        None => Ok(Outcome::Failed("a 200 response without audio".into())),
    }
}

/// Resident memory of process `pid` in KiB, from /proc (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 50.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn bodies_are_valid_json_strings() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
    }
}
