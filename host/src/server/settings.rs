//! Server settings: the config's `[server]` table, with command-line overrides applied on top.
//!
//! ```toml
//! [server]
//! host = "127.0.0.1"
//! port = 8880
//! api_key = "sk-local"          # or CHORUS_API_KEY; no key = no auth
//! max_body_bytes = 2097152
//! request_timeout_secs = 120    # until the first audio (queue wait included), and between events
//! shutdown_grace_secs = 10      # how long SIGTERM waits for running responses
//! max_input_chars = 4096        # per request (OpenAI's own limit); the top-level max_input_chars still caps it
//! concurrency = 2               # syntheses at once per backend
//! queue = 16                    # requests waiting per backend beyond that; more get 429
//! queue_chars = 8192            # characters of the requests ahead of a waiting one, at most; more get 429
//! max_unstreamed_audio_bytes = 8388608  # captioned_speech with stream: false holds its audio; more get 400
//! retry_after_secs = 1
//! header_timeout_secs = 10      # for a request's headers (and for the next request on an idle connection)
//! body_timeout_secs = 30        # for a request's whole body, once its headers are in
//! write_timeout_secs = 30       # a response the client reads nothing of for this long is cut off
//! max_connections = 512         # open connections; more are answered 503 and closed
//! send_buffer_bytes = 65536     # the kernel's send buffer per connection (0: the system's own)
//! wyoming = "tcp://127.0.0.1:10200"  # also serve the Wyoming protocol (Home Assistant); none by default
//! wyoming_sample_rate = 22050   # the rate of Wyoming audio (0 or absent: each engine's own)
//! wyoming_idle_timeout_secs = 30  # a Wyoming connection that sends nothing and gets nothing this long is closed
//! wyoming_max_connections = 64  # open Wyoming connections; more get an error event and are closed
//! wyoming_zeroconf = "chorus"   # announce the Wyoming server as _wyoming._tcp.local. under this name (off by default)
//!
//! [server.backends.kokoro]      # per-backend overrides
//! concurrency = 1
//! queue = 4
//! queue_chars = 4096
//! ```
//!
//! The defaults keep a full queue within the request timeout (a request that could not get its
//! first audio in time is refused with 429 when it arrives, not answered 504 two minutes later):
//! Kokoro on two cores speaks about 107 characters per second (docs/BENCHMARKS.md: the 2808
//! characters of the long passage in 26.2 s), so the 8192 characters `queue_chars` lets wait
//! ahead of a request are spoken in about 77 s, and its first audio follows within about a
//! second: well inside the 120 s timeout, with a third to spare for a slower machine. 8192 is two
//! requests at `max_input_chars` (4096, the most OpenAI's endpoint takes) or many short ones.
//! A slower or faster backend gets its own `queue_chars` under `[server.backends.NAME]`.

use serde::Deserialize;
use std::{collections::BTreeMap, time::Duration};

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 8880;
/// The most `max_connections` may be (a connection is a file descriptor and a task).
pub const MAX_CONNECTIONS: usize = 1 << 20;
/// Characters per request on the server by default: OpenAI's own limit for `/v1/audio/speech`.
pub const DEFAULT_MAX_INPUT_CHARS: usize = 4096;

/// Concurrency and queue for one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub concurrency: usize,
    /// Requests waiting for a slot, at most.
    pub queue: usize,
    /// Characters of the requests ahead of a waiting one (running or waiting), at most: a queue
    /// measured in work, so that whoever waits gets a slot within the request timeout.
    pub queue_chars: usize,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitOverride {
    concurrency: Option<usize>,
    queue: Option<usize>,
    queue_chars: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Table {
    host: String,
    port: u16,
    api_key: Option<String>,
    max_body_bytes: usize,
    request_timeout_secs: f64,
    shutdown_grace_secs: f64,
    max_input_chars: usize,
    concurrency: usize,
    queue: usize,
    queue_chars: usize,
    max_unstreamed_audio_bytes: usize,
    retry_after_secs: u64,
    header_timeout_secs: f64,
    body_timeout_secs: f64,
    write_timeout_secs: f64,
    max_connections: usize,
    send_buffer_bytes: usize,
    wyoming: Option<String>,
    wyoming_sample_rate: u32,
    wyoming_idle_timeout_secs: f64,
    wyoming_max_connections: usize,
    wyoming_zeroconf: Option<String>,
    backends: BTreeMap<String, LimitOverride>,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            host: DEFAULT_HOST.into(),
            port: DEFAULT_PORT,
            api_key: None,
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout_secs: 120.0,
            shutdown_grace_secs: 10.0,
            max_input_chars: DEFAULT_MAX_INPUT_CHARS,
            concurrency: 2,
            queue: 16,
            queue_chars: 2 * DEFAULT_MAX_INPUT_CHARS,
            max_unstreamed_audio_bytes: 8 * 1024 * 1024,
            retry_after_secs: 1,
            header_timeout_secs: 10.0,
            body_timeout_secs: 30.0,
            write_timeout_secs: 30.0,
            max_connections: 512,
            send_buffer_bytes: 64 * 1024,
            wyoming: None,
            wyoming_sample_rate: 0,
            wyoming_idle_timeout_secs: 30.0,
            wyoming_max_connections: 64,
            wyoming_zeroconf: None,
            backends: BTreeMap::new(),
        }
    }
}

/// Everything `chorus serve` needs to know beyond the host itself.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// Clients must send `Authorization: Bearer <key>` when set.
    pub api_key: Option<String>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub shutdown_grace: Duration,
    /// Characters per request on the server (the config's top-level `max_input_chars` applies too).
    pub max_input_chars: usize,
    /// The most audio a captioned response with `stream: false` holds in memory, in bytes.
    pub max_unstreamed_audio_bytes: usize,
    pub default_limit: Limit,
    pub limits: BTreeMap<String, Limit>,
    pub retry_after_secs: u64,
    /// How long a connection may take to send a request's headers; an idle keep-alive connection
    /// is closed after this long too.
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive, from the end of its headers.
    pub body_timeout: Duration,
    /// How long a response may wait for the client to take its next bytes before the connection
    /// is closed (and its synthesis stopped). The clock restarts whenever the server can write
    /// more: a client that reads steadily, even at an MP3's playback rate, is never cut off
    /// (`tests/hostile.rs`).
    pub write_timeout: Duration,
    pub max_connections: usize,
    /// The kernel's send buffer for each connection, in bytes (`None`: the system's own, which
    /// grows to 4 MiB on Linux). What a client that stops reading leaves in the kernel's buffers
    /// is audio made for nobody while its slot stays taken: on loopback the system's growth let
    /// 4.0 MB (84 s of pcm) go out before the write timeout could start; with 64 KiB (which the
    /// kernel doubles) and the client's own receive buffer, 0.28 MB, about 6 s
    /// (`tests/hostile.rs`). 64 KiB keeps a 100 ms link at 5 Mbit/s, ten times pcm's rate.
    pub send_buffer_bytes: Option<u32>,
    /// Serve the HTTP API (`chorus serve --no-http` turns it off, for a Wyoming-only server).
    pub http: bool,
    /// Where to serve the Wyoming protocol (host, port), if at all.
    pub wyoming: Option<(String, u16)>,
    /// The rate of all Wyoming audio; `None`: each engine's own.
    pub wyoming_sample_rate: Option<u32>,
    /// A Wyoming connection with no event either way for this long is closed.
    pub wyoming_idle_timeout: Duration,
    pub wyoming_max_connections: usize,
    /// Announce the Wyoming server over zeroconf under this instance name.
    pub wyoming_zeroconf: Option<String>,
}

/// `tcp://HOST:PORT` (the form the `wyoming` package's servers take) as host and port.
pub fn parse_wyoming_uri(uri: &str) -> Result<(String, u16), String> {
    let bad =
        |why: &str| format!("Wyoming address '{uri}': {why}; write it as tcp://HOST:PORT (tcp://127.0.0.1:10200)");
    let rest = uri.strip_prefix("tcp://").ok_or_else(|| bad("only tcp:// is served"))?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = port.parse::<u16>().map_err(|_| bad("the port is not a number 0..=65535"))?;
    Ok((host.to_string(), port))
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_table(&toml::Table::new()).expect("the defaults are valid")
    }
}

impl Settings {
    /// Read the `[server]` table; unknown keys and out-of-range values are errors naming the key.
    pub fn from_table(table: &toml::Table) -> Result<Self, String> {
        let t: Table = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| format!("[server]: {}", e.message()))?;
        let seconds = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(format!("[server] {name} must be a positive number of seconds, got {v}"))
            }
        };
        if t.concurrency == 0 {
            return Err("[server] concurrency must be at least 1".into());
        }
        if t.max_connections == 0 || t.max_connections > MAX_CONNECTIONS {
            return Err(format!("[server] max_connections must be 1..={MAX_CONNECTIONS}, got {}", t.max_connections));
        }
        if t.max_input_chars == 0 || t.max_unstreamed_audio_bytes == 0 {
            return Err("[server] max_input_chars and max_unstreamed_audio_bytes must be at least 1".into());
        }
        let default_limit = Limit { concurrency: t.concurrency, queue: t.queue, queue_chars: t.queue_chars };
        let mut limits = BTreeMap::new();
        for (plugin, o) in &t.backends {
            let limit = Limit {
                concurrency: o.concurrency.unwrap_or(t.concurrency),
                queue: o.queue.unwrap_or(t.queue),
                queue_chars: o.queue_chars.unwrap_or(t.queue_chars),
            };
            if limit.concurrency == 0 {
                return Err(format!("[server.backends.{plugin}] concurrency must be at least 1"));
            }
            limits.insert(plugin.clone(), limit);
        }
        let wyoming =
            t.wyoming.as_deref().map(parse_wyoming_uri).transpose().map_err(|e| format!("[server] wyoming: {e}"))?;
        let wyoming_sample_rate = match t.wyoming_sample_rate {
            0 => None,
            rate if (crate::audio::MIN_RATE..=crate::audio::MAX_RATE).contains(&rate) => Some(rate),
            rate => {
                return Err(format!(
                    "[server] wyoming_sample_rate must be {}..={} (or 0 for each engine's own), got {rate}",
                    crate::audio::MIN_RATE,
                    crate::audio::MAX_RATE
                ));
            }
        };
        if t.wyoming_max_connections == 0 || t.wyoming_max_connections > MAX_CONNECTIONS {
            return Err(format!(
                "[server] wyoming_max_connections must be 1..={MAX_CONNECTIONS}, got {}",
                t.wyoming_max_connections
            ));
        }
        Ok(Self {
            http: true,
            wyoming,
            wyoming_sample_rate,
            wyoming_idle_timeout: seconds("wyoming_idle_timeout_secs", t.wyoming_idle_timeout_secs)?,
            wyoming_max_connections: t.wyoming_max_connections,
            wyoming_zeroconf: t.wyoming_zeroconf.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
            host: t.host,
            port: t.port,
            api_key: t.api_key.filter(|k| !k.is_empty()),
            max_body_bytes: t.max_body_bytes.max(1024),
            request_timeout: seconds("request_timeout_secs", t.request_timeout_secs)?,
            shutdown_grace: seconds("shutdown_grace_secs", t.shutdown_grace_secs)?,
            max_input_chars: t.max_input_chars,
            max_unstreamed_audio_bytes: t.max_unstreamed_audio_bytes,
            default_limit,
            limits,
            retry_after_secs: t.retry_after_secs.max(1),
            header_timeout: seconds("header_timeout_secs", t.header_timeout_secs)?,
            body_timeout: seconds("body_timeout_secs", t.body_timeout_secs)?,
            write_timeout: seconds("write_timeout_secs", t.write_timeout_secs)?,
            max_connections: t.max_connections,
            send_buffer_bytes: (t.send_buffer_bytes > 0).then(|| t.send_buffer_bytes.min(u32::MAX as usize) as u32),
        })
    }

    /// The concurrency limit and queue of backend `plugin`.
    pub fn limit(&self, plugin: &str) -> Limit {
        self.limits.get(plugin).copied().unwrap_or(self.default_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, String> {
        Settings::from_table(&text.parse::<toml::Table>().unwrap())
    }

    #[test]
    fn defaults_listen_on_loopback_8880() {
        let s = Settings::default();
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 8880));
        assert_eq!(s.api_key, None);
        assert_eq!(s.header_timeout, Duration::from_secs(10));
        assert_eq!((s.body_timeout, s.write_timeout), (Duration::from_secs(30), Duration::from_secs(30)));
        assert_eq!(s.max_connections, 512);
    }

    #[test]
    fn per_backend_limits_inherit_the_defaults() {
        let s = parse("concurrency = 3\nqueue = 5\n[backends.kokoro]\nconcurrency = 1\n").unwrap();
        assert_eq!(s.limit("kokoro"), Limit { concurrency: 1, queue: 5, queue_chars: 8192 });
        assert_eq!(s.limit("example"), Limit { concurrency: 3, queue: 5, queue_chars: 8192 });
        let s = parse("queue_chars = 100\n[backends.kokoro]\nqueue_chars = 50\n").unwrap();
        assert_eq!((s.limit("kokoro").queue_chars, s.limit("example").queue_chars), (50, 100));
    }

    #[test]
    fn bad_values_name_their_key() {
        assert!(parse("concurency = 3").unwrap_err().contains("concurency"));
        assert!(parse("request_timeout_secs = 0").unwrap_err().contains("request_timeout_secs"));
        assert!(parse("[backends.x]\nconcurrency = 0").unwrap_err().contains("backends.x"));
        assert!(parse("write_timeout_secs = -1").unwrap_err().contains("write_timeout_secs"));
        assert!(parse("max_connections = 0").unwrap_err().contains("max_connections"));
        assert!(parse("wyoming = \"127.0.0.1:10200\"").unwrap_err().contains("tcp://HOST:PORT"));
        assert!(parse("wyoming_sample_rate = 100").unwrap_err().contains("wyoming_sample_rate"));
        assert!(parse("wyoming_idle_timeout_secs = 0").unwrap_err().contains("wyoming_idle_timeout_secs"));
    }

    #[test]
    fn the_wyoming_address_is_a_tcp_uri() {
        let s = parse("wyoming = \"tcp://0.0.0.0:10200\"\nwyoming_sample_rate = 16000").unwrap();
        assert_eq!(s.wyoming, Some(("0.0.0.0".to_string(), 10200)));
        assert_eq!(s.wyoming_sample_rate, Some(16_000));
        assert_eq!(parse_wyoming_uri("tcp://[::1]:0"), Ok(("::1".to_string(), 0)));
        assert!(parse_wyoming_uri("unix:///tmp/x").unwrap_err().contains("only tcp://"));
        assert_eq!(Settings::default().wyoming, None);
        assert_eq!(Settings::default().wyoming_zeroconf, None);
        assert_eq!(parse("wyoming_zeroconf = \" kitchen \"").unwrap().wyoming_zeroconf.as_deref(), Some("kitchen"));
    }
}
