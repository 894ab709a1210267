//! The mixed run of `cargo xtask bench`: normal clients against the bench's `chorus serve` while
//! stalled readers and slowloris sockets are open, bounded in count and time.
//!
//! A stalled reader sends a long pcm request, reads 2 KB, then reads nothing more but keeps its
//! socket open; a slowloris socket sends a request's header one byte every 2 s. The hostile sockets
//! open first, the normal clients a second later, each sending one request after another until
//! the run's time is up. Measured: the normal clients' time to first audio and to the last byte,
//! their 429s and errors; when each slowloris socket was closed (seen by the client), how each
//! stalled reader ended, and when the server counted each limit firing (its /metrics, polled).

use crate::load::{self, LoadSpec, Outcome};
use std::{
    collections::BTreeMap,
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    sync::Mutex,
    time::{Duration, Instant},
};

/// The server limits the bench's config sets, shorter than the defaults (120, 10, 30, 30 s) so
/// that they fire within the run; `max_connections` stays at its default (512).
pub const SERVER_KEYS: &str =
    "request_timeout_secs = 30\nheader_timeout_secs = 4\nbody_timeout_secs = 10\nwrite_timeout_secs = 4\n";

/// A normal client's own timeout: longer than the server's request timeout, so the server answers.
pub const NORMAL_TIMEOUT: Duration = Duration::from_secs(45);

/// How many of each, and for how long.
#[derive(Debug, Clone)]
pub struct Mix {
    pub normal: usize,
    pub stalled: usize,
    pub slowloris: usize,
    /// New normal requests start, and hostile sockets stay open, this long.
    pub secs: u64,
    /// What each normal request speaks.
    pub normal_text: String,
    /// What each stalled reader asks for (long: more pcm than the socket buffers hold).
    pub stalled_text: String,
}

/// How a stalled reader's response ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// The server closed it before the response's end (what the write timeout does).
    Cut,
    /// The whole response arrived: the buffers held it all, nothing stalled.
    Finished,
    /// Still open when the run ended; the bench closed it.
    Open,
    /// No 2 KB of audio within the run (an error or still queued).
    NoAudio(String),
}

/// What the mixed run measured.
#[derive(Debug, Clone)]
pub struct MixReport {
    pub mix: Mix,
    pub wall_secs: f64,
    pub ok: usize,
    pub rate_limited: usize,
    pub errors: usize,
    pub error_samples: Vec<String>,
    /// Per successful normal request: time to first audio byte and to the last byte, ms.
    pub first_ms: Vec<f64>,
    pub total_ms: Vec<f64>,
    /// Per slowloris socket: seconds from its opening to the server closing it (none: still open).
    pub slowloris_closed: Vec<Option<f64>>,
    pub stalled: Vec<Ending>,
    /// Per stalled reader: bytes of its response waiting in the kernel's socket buffers (the
    /// server's send queue and the reader's receive queue) when the run ended, if /proc told.
    pub stalled_queued: Vec<Option<u64>>,
    /// Each rise of `chorus_limits_hit_total{limit=...}`: the limit, by how much, seconds into the run.
    pub limit_hits: Vec<(String, f64, f64)>,
    /// 1-minute load average at the start and the end.
    pub load: (f64, f64),
}

impl MixReport {
    /// `(p50, p99)` of `values`.
    pub fn p50_p99(values: &[f64]) -> (f64, f64) {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        (load::percentile(&v, 0.5), load::percentile(&v, 0.99))
    }

    /// The run as JSON, for results.json.
    pub fn json(&self) -> String {
        let (first50, first99) = Self::p50_p99(&self.first_ms);
        let (total50, total99) = Self::p50_p99(&self.total_ms);
        let closed: Vec<String> =
            self.slowloris_closed.iter().map(|c| c.map_or("null".into(), |s| format!("{s:.2}"))).collect();
        let cut = self.stalled.iter().filter(|e| **e == Ending::Cut).count();
        let hits: Vec<String> = self.limit_hits.iter().map(|(l, n, at)| format!("[{l:?},{n},{at:.2}]")).collect();
        format!(
            "{{\"secs\":{},\"normal\":{},\"stalled\":{},\"slowloris\":{},\"ok\":{},\"rate_limited\":{},\"errors\":{},\"first_p50_ms\":{first50:.1},\"first_p99_ms\":{first99:.1},\"total_p50_ms\":{total50:.1},\"total_p99_ms\":{total99:.1},\"slowloris_closed_s\":[{}],\"stalled_cut\":{cut},\"limit_hits\":[{}]}}",
            self.mix.secs,
            self.mix.normal,
            self.mix.stalled,
            self.mix.slowloris,
            self.ok,
            self.rate_limited,
            self.errors,
            closed.join(","),
            hits.join(",")
        )
    }

    /// Total rise of each limit's counter over the run.
    pub fn limit_totals(&self) -> BTreeMap<String, f64> {
        let mut totals = BTreeMap::new();
        for (limit, n, _) in &self.limit_hits {
            *totals.entry(limit.clone()).or_insert(0.0) += n;
        }
        totals
    }
}

/// Run the mix against `addr` with voice `voice`.
pub fn run(addr: SocketAddr, voice: &str, mix: &Mix) -> MixReport {
    let load_start = super::stats::load_average();
    let started = Instant::now();
    let end = started + Duration::from_secs(mix.secs);
    let done = Mutex::new(false);
    let outcomes = Mutex::new(Vec::new());
    let mut report = MixReport {
        mix: mix.clone(),
        wall_secs: 0.0,
        ok: 0,
        rate_limited: 0,
        errors: 0,
        error_samples: Vec::new(),
        first_ms: Vec::new(),
        total_ms: Vec::new(),
        slowloris_closed: Vec::new(),
        stalled: Vec::new(),
        stalled_queued: Vec::new(),
        limit_hits: Vec::new(),
        load: (load_start, 0.0),
    };
    std::thread::scope(|scope| {
        let poller = scope.spawn(|| poll_limits(addr, started, &done));
        let loris: Vec<_> = (0..mix.slowloris).map(|_| scope.spawn(move || slowloris(addr, end))).collect();
        let stalled: Vec<_> =
            (0..mix.stalled).map(|_| scope.spawn(|| stalled_reader(addr, voice, &mix.stalled_text, end))).collect();
        std::thread::sleep(Duration::from_secs(1));
        let normal: Vec<_> = (0..mix.normal)
            .map(|_| {
                scope.spawn(|| {
                    let mut spec = LoadSpec::speech(addr, "kokoro", voice, &mix.normal_text, 1, 1);
                    spec.timeout = NORMAL_TIMEOUT;
                    while Instant::now() < end {
                        let outcome = load::one_request(&spec);
                        outcomes.lock().unwrap_or_else(|e| e.into_inner()).push(outcome);
                    }
                })
            })
            .collect();
        report.slowloris_closed = loris.into_iter().map(|t| t.join().unwrap_or(None)).collect();
        for t in stalled {
            let (ending, queued) = t.join().unwrap_or_else(|_| (Ending::NoAudio("the reader panicked".into()), None));
            report.stalled.push(ending);
            report.stalled_queued.push(queued);
        }
        for t in normal {
            let _ = t.join();
        }
        // One more poll after everything closed, then stop.
        std::thread::sleep(Duration::from_millis(600));
        *done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        report.limit_hits = poller.join().unwrap_or_default();
    });
    report.wall_secs = started.elapsed().as_secs_f64();
    for outcome in outcomes.into_inner().unwrap_or_else(|e| e.into_inner()) {
        match outcome {
            Outcome::Ok { ttfb, total, .. } => {
                report.ok += 1;
                report.first_ms.push(ttfb.as_secs_f64() * 1e3);
                report.total_ms.push(total.as_secs_f64() * 1e3);
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
    report.load.1 = super::stats::load_average();
    report
}

/// A slowloris socket: one header byte every 2 s until `end`; seconds until the server closed it.
fn slowloris(addr: SocketAddr, end: Instant) -> Option<f64> {
    let opened = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    stream.set_nonblocking(true).ok()?;
    let head = b"POST /v1/audio/speech HTTP/1.1\r\nHost: bench\r\nX-Slow: ";
    let mut buf = [0u8; 4096];
    let mut tick = 0usize;
    while Instant::now() < end {
        // Closed: end of file, or a reset; a response (the server's answer to a cut) counts too.
        match stream.read(&mut buf) {
            Ok(_) => return Some(opened.elapsed().as_secs_f64()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => return Some(opened.elapsed().as_secs_f64()),
        }
        if tick.is_multiple_of(8) && stream.write_all(&[head.get(tick / 8).copied().unwrap_or(b'a')]).is_err() {
            return Some(opened.elapsed().as_secs_f64());
        }
        tick += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    None
}

/// A stalled reader: a long pcm request, 2 KB read, then nothing until `end`; then how it ended,
/// and what its connection's socket buffers held at `end`.
fn stalled_reader(addr: SocketAddr, voice: &str, text: &str, end: Instant) -> (Ending, Option<u64>) {
    let spec = LoadSpec::speech(addr, "kokoro", voice, text, 1, 1);
    let mut stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        Ok(s) => s,
        Err(e) => return (Ending::NoAudio(format!("connect: {e}")), None),
    };
    let head = format!(
        "POST /v1/audio/speech HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        spec.body.len()
    );
    if let Err(e) = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(spec.body.as_bytes())) {
        return (Ending::NoAudio(format!("send: {e}")), None);
    }
    let wait = end.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
    let _ = stream.set_read_timeout(Some(wait));
    let (first, read) = read_up_to(&mut stream, 2048);
    let status = String::from_utf8_lossy(&first).lines().next().unwrap_or("").to_string();
    let ended = if first.len() == 2048 && status.starts_with("HTTP/1.1 200") {
        None
    } else if first.is_empty() {
        Some(Ending::NoAudio(format!("no answer within the run ({})", read.map_or("closed".into(), |e| e.to_string()))))
    } else {
        Some(Ending::NoAudio(format!("answered `{status}` ({} bytes)", first.len())))
    };
    std::thread::sleep(end.saturating_duration_since(Instant::now()));
    let queued = stream
        .local_addr()
        .ok()
        .and_then(|a| queued_bytes(&std::fs::read_to_string("/proc/net/tcp").ok()?, a.port(), addr.port()));
    (ended.unwrap_or_else(|| drain(&mut stream)), queued)
}

/// From /proc/net/tcp's `table`: the bytes queued on the loopback connection between the client
/// port `client` and the server port `server`, the server's send queue plus the client's receive
/// queue.
fn queued_bytes(table: &str, client: u16, server: u16) -> Option<u64> {
    let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next()?, 16).ok();
    let mut total = None;
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(remote), Some(queues)) = (f.get(1), f.get(2), f.get(4)) else { continue };
        let Some((tx, rx)) = queues.split_once(':') else { continue };
        let (tx, rx) = (u64::from_str_radix(tx, 16).ok()?, u64::from_str_radix(rx, 16).ok()?);
        match (port(local), port(remote)) {
            (Some(l), Some(r)) if l == server && r == client => *total.get_or_insert(0) += tx,
            (Some(l), Some(r)) if l == client && r == server => *total.get_or_insert(0) += rx,
            _ => {}
        }
    }
    total
}

/// Read until `n` bytes, the end, an error or the read timeout; the bytes, and the error if any.
fn read_up_to(stream: &mut TcpStream, n: usize) -> (Vec<u8>, Option<std::io::Error>) {
    let mut got = vec![0u8; n];
    let mut len = 0;
    while len < n {
        match stream.read(&mut got[len..]) {
            Ok(0) => break,
            Ok(k) => len += k,
            Err(e) => {
                got.truncate(len);
                return (got, Some(e));
            }
        }
    }
    got.truncate(len);
    (got, None)
}

/// Read what is left for up to 5 s: cut (closed before the last chunk), finished, or still open.
fn drain(stream: &mut TcpStream) -> Ending {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let start = Instant::now();
    let (mut buf, mut tail) = (vec![0u8; 1 << 16], Vec::new());
    while start.elapsed() < Duration::from_secs(5) {
        match stream.read(&mut buf) {
            Ok(0) => return if tail.ends_with(b"0\r\n\r\n") { Ending::Finished } else { Ending::Cut },
            Ok(n) => {
                tail.extend_from_slice(&buf[..n]);
                let keep = tail.len().saturating_sub(8);
                tail.drain(..keep);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return Ending::Open,
            Err(_) => return Ending::Cut,
        }
    }
    Ending::Open
}

/// Poll /metrics every 250 ms until `done`: each rise of a limit's counter, with its time.
fn poll_limits(addr: SocketAddr, started: Instant, done: &Mutex<bool>) -> Vec<(String, f64, f64)> {
    let mut last = limits(addr).unwrap_or_default();
    let mut hits = Vec::new();
    while !*done.lock().unwrap_or_else(|e| e.into_inner()) {
        std::thread::sleep(Duration::from_millis(250));
        let Some(now) = limits(addr) else { continue };
        let at = started.elapsed().as_secs_f64();
        for (limit, n) in &now {
            let rise = n - last.get(limit).copied().unwrap_or(0.0);
            if rise > 0.0 {
                hits.push((limit.clone(), rise, at));
            }
        }
        last = now;
    }
    hits
}

/// `chorus_limits_hit_total` by limit, from the server's /metrics.
fn limits(addr: SocketAddr) -> Option<BTreeMap<String, f64>> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(parse_limits(&text))
}

/// The `chorus_limits_hit_total{limit="..."} N` lines of a metrics page.
fn parse_limits(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("chorus_limits_hit_total{limit=\"")?;
            let (limit, value) = rest.split_once("\"}")?;
            Some((limit.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// A made-up report, for the report tests.
#[cfg(test)]
pub fn example_report() -> MixReport {
    MixReport {
        mix: Mix {
            normal: 3,
            stalled: 2,
            slowloris: 4,
            secs: 30,
            normal_text: "Hello there.".into(),
            stalled_text: "long".into(),
        },
        wall_secs: 31.0,
        ok: 10,
        rate_limited: 0,
        errors: 1,
        error_samples: vec!["status 504: late".into()],
        first_ms: vec![100.0, 200.0, 300.0],
        total_ms: vec![400.0, 500.0, 600.0],
        slowloris_closed: vec![Some(4.1), Some(4.2), Some(4.3), None],
        stalled: vec![Ending::Cut, Ending::Open],
        stalled_queued: vec![Some(0), Some(4_000_000)],
        limit_hits: vec![("header_timeout".into(), 3.0, 5.0), ("write_timeout".into(), 1.0, 20.5)],
        load: (2.0, 3.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_counters_are_read_from_the_metrics_page() {
        let page = "# TYPE chorus_limits_hit_total counter\nchorus_limits_hit_total{limit=\"header_timeout\"} 4\n\
                    chorus_limits_hit_total{limit=\"write_timeout\"} 1\nchorus_requests_total{endpoint=\"speech\"} 9\n";
        let limits = parse_limits(page);
        assert_eq!(limits.get("header_timeout"), Some(&4.0));
        assert_eq!(limits.get("write_timeout"), Some(&1.0));
        assert_eq!(limits.len(), 2);
    }

    #[test]
    fn queued_bytes_add_the_servers_send_queue_and_the_clients_receive_queue() {
        // Server port 0x1F90 (8080), client port 0xA000 (40960); one unrelated connection.
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n\
                     0: 0100007F:1F90 0100007F:A000 01 003D0000:00000000 00:00000000 00000000 0\n\
                     1: 0100007F:A000 0100007F:1F90 01 00000000:00020000 00:00000000 00000000 0\n\
                     2: 0100007F:1F90 0100007F:A001 01 00000100:00000000 00:00000000 00000000 0\n";
        assert_eq!(queued_bytes(table, 0xA000, 8080), Some(0x3D0000 + 0x20000));
        assert_eq!(queued_bytes(table, 0xB000, 8080), None);
    }
}
