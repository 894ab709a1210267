//! The server part of the benchmark: a warm `chorus serve` on loopback, time to the first pcm byte
//! per sentence, and bounded concurrent load runs through [`crate::load`].

use super::stats::{Series, load_average};
use crate::load::{self, LoadReport, LoadSpec};
use anyhow::{Context, Result, bail};
use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A running `chorus serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Start `chorus serve` on a free loopback port and wait until `/health` answers.
    pub fn start(chorus: &Path, host_args: &[String], log: &Path) -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log_file = std::fs::File::create(log)?;
        let child = Command::new(chorus)
            .args(host_args)
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("start {} serve", chorus.display()))?;
        let mut server = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(status) = server.child.try_wait()? {
                bail!("chorus serve exited ({status}); its log: {}", std::fs::read_to_string(log).unwrap_or_default());
            }
            if health(addr) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = server.child.kill();
        bail!("chorus serve did not answer /health on {addr} within 120 s")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn health(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// Each sentence once, one client: time to first pcm byte and audio per wall second.
pub fn per_sentence(server: &Server, voice: &str, sentences: &[String]) -> Result<Series> {
    let load_start = load_average();
    // Warm the backend (model load) before measuring.
    one(server, voice, "Warm up.")?;
    let mut s = Series::default();
    for text in sentences {
        let r = one(server, voice, text)?;
        s.first_ms.push(r.ttfb_p50_ms);
        s.wall_ms.push(r.wall_secs * 1e3);
        s.audio_s.push(r.audio_bytes as f64 / 2.0 / 24_000.0);
    }
    s.peak_rss_kib = peak_rss_kib(server.pid());
    s.load = (load_start, load_average());
    Ok(s)
}

fn one(server: &Server, voice: &str, text: &str) -> Result<LoadReport> {
    let mut spec = LoadSpec::speech(server.addr, "kokoro", voice, text, 1, 1);
    spec.warmup = 0;
    let r = load::run(&spec)?;
    if r.ok != 1 {
        bail!("the server did not answer {text:?} with audio: {r}");
    }
    Ok(r)
}

/// A bounded load run: `clients` concurrent clients sharing `requests` requests of `text`.
pub fn load_run(server: &Server, voice: &str, text: &str, clients: usize, requests: usize) -> Result<LoadReport> {
    let mut spec = LoadSpec::speech(server.addr, "kokoro", voice, text, clients, requests);
    spec.server_pid = Some(server.pid());
    Ok(load::run(&spec)?)
}

/// Peak resident memory of a running process (VmHWM), KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.split_whitespace().next()?.parse().ok()
}
