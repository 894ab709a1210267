//! Helpers for server tests: run the real `chorus serve` on 127.0.0.1 (a free port picked by the
//! server itself), wait for `/health`, kill it on drop; a raw HTTP/1.1 client for exact statuses,
//! headers, chunked bodies and hang-ups; the Python that has the `openai` package; ffmpeg decoding.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

/// How long a server may take to start, or a condition to come true, before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running `chorus serve` with the example plugin, isolated in its own temporary home.
pub struct Server {
    child: Child,
    /// The HTTP address (with `--no-http`, the Wyoming one).
    pub addr: SocketAddr,
    /// The Wyoming address, when it serves Wyoming (`--wyoming` or `[server] wyoming`).
    pub wyoming: Option<SocketAddr>,
    log: Arc<Mutex<String>>,
    home: tempfile::TempDir,
    _plugins: tempfile::TempDir,
}

impl Server {
    /// Start with the example plugin and `config` (TOML) as the config file.
    pub fn start(config: &str) -> Server {
        Self::start_with(config, &["chorus_plugin_example"], &[])
    }

    /// Start with the named plugin libraries, `config`, and extra environment variables.
    pub fn start_with(config: &str, plugins: &[&str], env: &[(&str, &str)]) -> Server {
        Self::start_args(config, plugins, env, &[])
    }

    /// Start with extra `chorus serve` arguments too (`--wyoming tcp://127.0.0.1:0`, `--no-http`).
    /// Waits for every address the server was asked to serve.
    pub fn start_args(config: &str, plugins: &[&str], env: &[(&str, &str)], args: &[&str]) -> Server {
        let plugins = super::plugin_dir(plugins);
        let home = tempfile::tempdir().expect("temp dir");
        let config_path = home.path().join("config.toml");
        std::fs::write(&config_path, config).expect("write config");
        let mut cmd = super::chorus(plugins.path(), home.path());
        cmd.arg("--config").arg(&config_path).args(["serve", "--host", "127.0.0.1", "--port", "0"]).args(args);
        cmd.env_remove("CHORUS_API_KEY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let want_http = !args.contains(&"--no-http");
        let want_wyoming =
            args.contains(&"--wyoming") || config.lines().any(|l| l.trim_start().starts_with("wyoming ="));
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("chorus serve starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                for (kind, marker) in [("http", "listening on http://"), ("wyoming", "wyoming listening on tcp://")] {
                    if let Some(addr) = line.split(marker).nth(1).and_then(|rest| rest.split([' ', ';']).next()) {
                        let _ = tx.send((kind, addr.parse::<SocketAddr>().expect("address in the listening line")));
                    }
                }
                sink.lock().unwrap_or_else(|e| e.into_inner()).push_str(&format!("{line}\n"));
            }
        });
        let (mut http, mut wyoming) = (None, None);
        while (want_http && http.is_none()) || (want_wyoming && wyoming.is_none()) {
            match rx.recv_timeout(PATIENCE) {
                Ok(("http", addr)) => http = Some(addr),
                Ok((_, addr)) => wyoming = Some(addr),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "chorus serve did not start; its output:\n{}",
                        log.lock().unwrap_or_else(|e| e.into_inner())
                    );
                }
            }
        }
        let addr = http.or(wyoming).expect("one address");
        let server = Server { child, addr, wyoming, log, home, _plugins: plugins };
        if want_http {
            server.wait_until("GET /health answers 200", || server.get("/health").status == 200);
        }
        server
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Poll `check` until it holds; fail the test (with the server's log) after [`PATIENCE`].
    pub fn wait_until(&self, what: &str, mut check: impl FnMut() -> bool) {
        let start = Instant::now();
        while !check() {
            assert!(start.elapsed() < PATIENCE, "timed out waiting until {what}; server log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], b"")
    }

    /// POST a JSON body.
    pub fn post(&self, path: &str, json: &serde_json::Value) -> Response {
        self.post_raw(path, &[], json.to_string().as_bytes())
    }

    pub fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        request(self.addr, "POST", path, &all, body)
    }

    /// Start a POST and read only the response head, leaving the body unread on the socket.
    pub fn open(&self, path: &str, json: &serde_json::Value) -> Open {
        open(self.addr, "POST", path, &[("Content-Type", "application/json")], json.to_string().as_bytes())
    }

    /// The value of metric `name{labels}` (labels as written, e.g. `model="example"`), 0 when absent.
    pub fn metric(&self, name: &str, labels: &str) -> f64 {
        let text = self.get("/metrics").text();
        let key = format!("{name}{{{labels}}} ");
        text.lines().find_map(|l| l.strip_prefix(&key)).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
    }

    /// Send SIGTERM and wait for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal_term();
        self.wait_exit()
    }

    /// Wait for the process to exit (after a signal).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(start.elapsed() < PATIENCE, "chorus serve did not exit after SIGTERM; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Send SIGTERM without waiting.
    pub fn signal_term(&self) {
        let status = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// The exit status, if the process has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A complete HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the body came with chunked transfer encoding.
    pub chunked: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == &name.to_ascii_lowercase()).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// An error response: status, JSON content type, OpenAI's shape; returns the `error` object.
pub fn assert_error(response: &Response, status: u16, kind: &str) -> serde_json::Value {
    assert_eq!(response.status, status, "body: {}", response.text());
    assert!(
        response.header("content-type").is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        response.headers
    );
    let body = response.json();
    let error = body["error"].clone();
    assert_eq!(error["type"], kind, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    for key in ["param", "code"] {
        assert!(error.get(key).is_some(), "error has no '{key}': {body}");
    }
    error
}

/// One request on a fresh connection (`Connection: close`), read to the end.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut open = open(addr, method, path, headers, body);
    let body = open.read_body();
    Response { status: open.status, headers: open.headers.clone(), body, chunked: open.chunked }
}

/// A response whose head has been read; the body is read on demand.
pub struct Open {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub chunked: bool,
    reader: BufReader<TcpStream>,
    /// Chunked: bytes left in the current chunk.
    left: usize,
    ended: bool,
}

/// Send a request and read the response head.
pub fn open(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Open {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send head");
    // A server may answer (413) before reading a large body and close; that is not our error.
    let _ = stream.write_all(body);
    Open::read_head(stream)
}

/// Send `bytes` as they are (a request, whole or not) and read the response, to its end.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream.write_all(bytes).expect("send");
    let mut open = Open::read_head(stream);
    let body = open.read_body();
    Response { status: open.status, headers: open.headers.clone(), body, chunked: open.chunked }
}

impl Open {
    /// Read the response head from `stream`, leaving the body.
    fn read_head(stream: TcpStream) -> Open {
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).expect("read status line");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        Open { status, headers, chunked, reader, left: 0, ended: false }
    }
}

impl Open {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == &name.to_ascii_lowercase()).map(|(_, v)| v.as_str())
    }

    /// Up to `max` body bytes (fewer at the end of the body; empty once it ended).
    pub fn read_some(&mut self, max: usize) -> Vec<u8> {
        if self.ended {
            return Vec::new();
        }
        if !self.chunked {
            let mut buf = vec![0; max];
            let n = self.reader.read(&mut buf).expect("read body");
            buf.truncate(n);
            self.ended = n == 0;
            return buf;
        }
        if self.left == 0 {
            let mut size = String::new();
            self.reader.read_line(&mut size).expect("read chunk size");
            let size = size.trim();
            let n = usize::from_str_radix(size.split(';').next().unwrap_or(""), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {size:?} (the body was cut off)"));
            if n == 0 {
                let mut end = String::new();
                self.reader.read_line(&mut end).expect("read the last CRLF");
                self.ended = true;
                return Vec::new();
            }
            self.left = n;
        }
        let mut buf = vec![0; max.min(self.left)];
        self.reader.read_exact(&mut buf).expect("read chunk data");
        self.left -= buf.len();
        if self.left == 0 {
            let mut crlf = [0; 2];
            self.reader.read_exact(&mut crlf).expect("chunk CRLF");
        }
        buf
    }

    /// The rest of the body. Panics if a chunked body is cut off before its last chunk.
    pub fn read_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let part = self.read_some(64 * 1024);
            if part.is_empty() && (self.ended || !self.chunked) {
                return body;
            }
            body.extend(part);
        }
    }

    /// Whether the body ended cleanly (chunked: the zero-size last chunk arrived) when read to
    /// the end; `false` if the server cut the connection mid-body.
    pub fn read_to_end_cleanly(&mut self) -> (Vec<u8>, bool) {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            if self.left == 0 {
                match self.reader.read_line(&mut size) {
                    Ok(0) | Err(_) => return (body, false),
                    Ok(_) => {}
                }
                let Ok(n) = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16) else {
                    return (body, false);
                };
                if n == 0 {
                    self.ended = true;
                    return (body, true);
                }
                self.left = n;
            }
            let mut buf = vec![0; self.left];
            if self.reader.read_exact(&mut buf).is_err() {
                return (body, false);
            }
            body.extend(buf);
            self.left = 0;
            let mut crlf = [0; 2];
            if self.reader.read_exact(&mut crlf).is_err() {
                return (body, false);
            }
        }
    }

    /// Hang up without reading the rest.
    pub fn hang_up(self) {
        let _ = self.reader.get_ref().shutdown(std::net::Shutdown::Both);
    }
}

/// The Python to run client tests with, `$CHORUS_TEST_PYTHON`, else `python3`, checked for the
/// importable `module`: a test fails with the fix when it is missing.
pub fn python_with(module: &str) -> PathBuf {
    let python = std::env::var_os("CHORUS_TEST_PYTHON")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("python3"), PathBuf::from);
    let out = Command::new(&python).args(["-c", &format!("import {module}")]).output();
    match out {
        Ok(out) if out.status.success() => python,
        Ok(out) => panic!(
            "{} cannot import the `{module}` package, which the server's client tests need: run `cargo xtask setup` \
             (or `pip install {module}` into a venv and set CHORUS_TEST_PYTHON to its python). Python said: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "cannot run {} ({e}): set CHORUS_TEST_PYTHON to a Python with the `{module}` package",
            python.display()
        ),
    }
}

/// Run the client script `tests/clients/SCRIPT` with the tests' Python (checked for `module`, as
/// [`python_with`]) and `args`; what it printed, as JSON. A failure shows the script's stderr and
/// `server`'s log.
pub fn python_client(
    server: &Server,
    module: &str,
    script: &str,
    args: &[&dyn AsRef<std::ffi::OsStr>],
) -> serde_json::Value {
    let path = crate::root().join("tests/clients").join(script);
    let mut cmd = Command::new(python_with(module));
    cmd.arg(&path);
    for arg in args {
        cmd.arg(arg);
    }
    let run = cmd.output().expect("python runs");
    assert!(
        run.status.success(),
        "{script} failed:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&run.stderr),
        server.log()
    );
    serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {}", String::from_utf8_lossy(&run.stdout)))
}

/// Decode `audio` (in `format`: mp3, opus, aac, flac, wav, or pcm = s16le mono at `pcm_rate`)
/// with ffmpeg to mono s16le at 24 kHz.
pub fn decode(audio: &[u8], format: &str, pcm_rate: u32) -> Vec<i16> {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join(format!("in.{format}"));
    std::fs::write(&input, audio).expect("write audio");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin"]);
    if format == "pcm" {
        cmd.args(["-f", "s16le", "-ar", &pcm_rate.to_string(), "-ac", "1"]);
    }
    cmd.arg("-i").arg(&input).args(["-f", "s16le", "-ac", "1", "-ar", "24000", "-"]);
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run ffmpeg ({e}): `cargo xtask setup` installs it"));
    assert!(
        out.status.success(),
        "ffmpeg could not decode the {format} audio: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

/// Root mean square of decoded samples, in full-scale units (0..=1).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| (s as f64 / 32768.0).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}
