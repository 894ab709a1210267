//! The usage ledger end to end: totals exact across concurrent requests (example plugin with a
//! config price override, so costs are not zero), a locked or corrupt ledger file never failing
//! or slowing a synthesis (in process and on the real server, where the rows it could not write
//! are counted in /metrics), `chorus usage` on a ledger it may not write, and the `chorus
//! estimate` / `chorus usage` commands.

use chorus_host::{Chorus, Config, Event, LEDGER_FLUSH_LIMIT, Report, Request, ledger::Ledger};
use chorus_tests::{self as support, run, server::Server, stderr};
use serde_json::json;
use std::{
    path::{Path, PathBuf},
    sync::atomic::Ordering,
    time::Instant,
};

/// Prices: $1 per character and $60 per audio minute for the example plugin's models, $3 per
/// character for `example-hd`.
const PRICES: &str = r#"
[prices.example]
usd_per_million_chars = 1000000.0
usd_per_audio_minute = 60.0
[prices."example-hd"]
usd_per_million_chars = 3000000.0
"#;

struct Env {
    plugins: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let env = Self { plugins: support::plugin_dir(&["chorus_plugin_example"]), home: tempfile::tempdir().unwrap() };
        // The CLI reads $XDG_CONFIG_HOME/chorus/config.toml (support::chorus sets XDG_CONFIG_HOME).
        let config_dir = env.home.path().join("config/chorus");
        std::fs::create_dir_all(&config_dir).unwrap();
        std::fs::write(config_dir.join("config.toml"), format!("[backends.example]\nms_per_char = 5\n{PRICES}"))
            .unwrap();
        env
    }
    /// The data folder the CLI uses (support::chorus sets CHORUS_DATA_DIR to it).
    fn data_dir(&self) -> PathBuf {
        self.home.path().join("data")
    }
    fn ledger_path(&self) -> PathBuf {
        Ledger::path_in(&self.data_dir())
    }
    /// A library host over the same plugins, prices and data folder as the CLI.
    fn host(&self) -> Chorus {
        let text = format!(
            "data_dir = {:?}\n[backends.example]\nms_per_char = 5\n{PRICES}",
            self.data_dir().display().to_string()
        );
        Chorus::with_config(Config::parse(&text).unwrap(), &[self.plugins.path().to_path_buf()])
    }
    fn chorus(&self) -> std::process::Command {
        support::chorus(self.plugins.path(), self.home.path())
    }
}

/// Run one request to its end; the report, or the error text.
fn speak(chorus: &Chorus, model: &str, text: &str) -> Result<Report, String> {
    let mut stream = chorus.synthesize(Request::new(text).model(model)).map_err(|e| e.to_string())?;
    let mut audio = 0usize;
    while let Some(event) = stream.blocking_next() {
        match event {
            Event::Audio(chunk) => audio += chunk.samples.len(),
            Event::Done(report) => {
                assert!(audio > 0, "a finished request delivered audio");
                return Ok(report);
            }
            Event::Error(e) => return Err(e.to_string()),
            _ => {}
        }
    }
    Err("the stream ended without a result".into())
}

#[test]
fn totals_are_exact_across_concurrent_requests() {
    let env = Env::new();
    let chorus = env.host();
    let models = ["example", "example-hd", "example-x"];
    let reports: Vec<Report> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let chorus = &chorus;
                let model = models[i % 3];
                scope.spawn(move || {
                    speak(chorus, model, &format!("request number {i} {}", "la ".repeat(i))).expect("synthesis")
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert!(chorus.ledger().flush(LEDGER_FLUSH_LIMIT), "the writer caught up");
    // Each report's cost follows the override for its model.
    for r in &reports {
        let expected =
            if r.model == "example-hd" { 3.0 * r.characters as f64 } else { r.characters as f64 + r.audio_seconds };
        assert!((r.cost_usd - expected).abs() < 1e-9, "{}: cost {} != {expected}", r.model, r.cost_usd);
    }
    let ledger = Ledger::open(&env.ledger_path()).expect("ledger opens");
    let totals = ledger.totals(None).expect("totals");
    assert_eq!(
        totals.iter().map(|t| t.model.as_str()).collect::<Vec<_>>(),
        models,
        "one row per model, all under plugin example"
    );
    for t in &totals {
        let mine: Vec<&Report> = reports.iter().filter(|r| r.model == t.model).collect();
        assert_eq!(t.plugin, "example");
        assert_eq!(t.requests, mine.len() as u64);
        assert_eq!(t.characters, mine.iter().map(|r| r.characters as u64).sum::<u64>());
        assert!((t.audio_seconds - mine.iter().map(|r| r.audio_seconds).sum::<f64>()).abs() < 1e-9);
        assert!((t.cost_usd - mine.iter().map(|r| r.cost_usd).sum::<f64>()).abs() < 1e-6);
        assert!(t.cost_usd > 0.0);
    }

    // `chorus usage --json` reads the same totals.
    let out = run(env.chorus().args(["usage", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["total"]["requests"], 12);
    let total_cost: f64 = reports.iter().map(|r| r.cost_usd).sum();
    assert!((json["total"]["cost_usd"].as_f64().unwrap() - total_cost).abs() < 1e-6);
    assert_eq!(json["by_model"].as_array().unwrap().len(), 3);
    // No request falls in a month long gone; a malformed month is refused in one line.
    let out = run(env.chorus().args(["usage", "--json", "--month", "1999-01"]));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["total"]["requests"], 0);
    let out = run(env.chorus().args(["usage", "--month", "2026-13"]));
    assert!(!out.status.success() && stderr(&out).contains("YYYY-MM"), "{}", stderr(&out));
}

/// Hold SQLite's exclusive lock on `path` until the returned connection is dropped.
fn hold_exclusive_lock(path: &Path) -> rusqlite::Connection {
    let holder = rusqlite::Connection::open(path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE; INSERT INTO usage (plugin, model, voice, characters, audio_seconds, cost_usd) VALUES ('other', 'm', 'v', 1, 1.0, 1.0);").unwrap();
    holder
}

#[test]
fn a_locked_ledger_never_fails_a_synthesis() {
    let env = Env::new();
    let chorus = env.host();
    speak(&chorus, "example", "first one is recorded").expect("synthesis");
    assert!(chorus.ledger().flush(LEDGER_FLUSH_LIMIT));
    let holder = hold_exclusive_lock(&env.ledger_path());

    // In process: the request finishes normally while the ledger is locked; its row is counted
    // as a failure once the writer gives up waiting for the lock.
    let report = speak(&chorus, "example", "while the ledger is locked").expect("synthesis goes on");
    assert!(report.audio_seconds > 0.0);
    assert!(chorus.ledger().flush(LEDGER_FLUSH_LIMIT));
    assert_eq!(chorus.ledger().stats().failed.load(Ordering::Acquire), 1);
    // The CLI: success, the audio is written, and a one-line warning says what happened.
    let wav = env.home.path().join("locked.wav");
    let out = run(env.chorus().args(["speak", "CLI while locked", "-m", "example", "-o"]).arg(&wav));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::metadata(&wav).unwrap().len() > 44, "the audio was written");
    let err = stderr(&out);
    assert!(err.contains("warning") && err.contains("usage ledger") && err.contains("lock"), "{err}");

    // Once the lock is gone, recording resumes; the holder's uncommitted row never landed.
    drop(holder);
    speak(&chorus, "example", "after the lock").expect("synthesis");
    assert!(chorus.ledger().flush(LEDGER_FLUSH_LIMIT));
    assert_eq!(chorus.ledger().stats().written.load(Ordering::Acquire), 2);
    let totals = Ledger::open(&env.ledger_path()).unwrap().totals(None).unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].requests, 2, "first and last requests are recorded, the two during the lock are not");
}

#[test]
fn a_corrupt_ledger_never_fails_a_synthesis() {
    let env = Env::new();
    std::fs::create_dir_all(env.data_dir()).unwrap();
    let garbage: Vec<u8> = (0..16_384u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(env.ledger_path(), &garbage).unwrap();

    let chorus = env.host();
    let report = speak(&chorus, "example-hd", "the ledger is garbage").expect("synthesis goes on");
    assert!(report.cost_usd > 0.0);
    let wav = env.home.path().join("corrupt.wav");
    let out = run(env.chorus().args(["speak", "CLI with a corrupt ledger", "-m", "example", "-o"]).arg(&wav));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert_eq!(std::fs::read(env.ledger_path()).unwrap(), garbage, "the user's file is left as it was");
    // Reading usage from it fails, in one line that says what to do.
    let out = run(env.chorus().args(["usage"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("move it aside"), "{}", stderr(&out));
}

#[test]
fn estimate_prices_a_request_before_it_is_made() {
    let env = Env::new();
    let out = run(env.chorus().args(["estimate", "Hello world, priced.", "--model", "example-hd", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["characters"], 20);
    assert_eq!(json["model"], "example-hd");
    assert!((json["estimated_audio_seconds"].as_f64().unwrap() - 20.0 / 15.0).abs() < 1e-9);
    assert_eq!(json["estimated_cost_usd"], 60.0);
    assert_eq!(json["price"]["source"], "config override");
    // Per-minute prices use the estimated audio length: 20 chars at $1 + 20/15 s at $1 per second.
    let out = run(env.chorus().args(["estimate", "Hello world, priced.", "--model", "example", "--json"]));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((json["estimated_cost_usd"].as_f64().unwrap() - (20.0 + 20.0 / 15.0)).abs() < 1e-9);
    // Text from a file, and the human-readable form.
    let file = env.home.path().join("text.txt");
    std::fs::write(&file, "From a file.").unwrap();
    let out = run(env.chorus().args(["estimate", "--model", "example-hd", "--file"]).arg(&file));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("characters  12") && text.contains("$36.000000"), "{text}");
    assert!(env.chorus().args(["estimate"]).output().map(|o| !o.status.success()).unwrap());
}

/// An unlabelled counter or gauge from the server's /metrics.
fn gauge(server: &Server, name: &str) -> f64 {
    let text = server.get("/metrics").text();
    let prefix = format!("{name} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok()).unwrap_or(-1.0)
}

/// On the real server, requests to a plugin that takes 0.4 s each (misbehave's `delay_ms`, no
/// CPU) take no longer while another program holds the ledger's lock than without it (the write
/// used to sit on each response's path behind a 1.5 s busy timeout), and every row the lock kept
/// out is counted and logged, none silently lost.
#[test]
fn a_locked_ledger_does_not_slow_the_server_and_its_failures_are_counted() {
    let server = Server::start_with("default_model = \"misbehave-count\"\n", &["chorus_fixture_misbehave"], &[]);
    let body = json!({"model": "misbehave-count", "input": "count for the ledger", "voice": "plain", "response_format": "pcm",
        "options": {"chunks": 4, "delay_ms": 100}});
    const N: usize = 5;
    let timed = || {
        let start = Instant::now();
        for _ in 0..N {
            let response = server.post("/v1/audio/speech", &body);
            assert_eq!(response.status, 200, "{}", response.text());
        }
        start.elapsed()
    };
    let unlocked = timed();
    server
        .wait_until("the unlocked requests are written", || gauge(&server, "chorus_ledger_written_total") == N as f64);
    let ledger = Ledger::path_in(&server.home().join("data"));
    let holder = hold_exclusive_lock(&ledger);
    let locked = timed();
    assert!(
        locked < unlocked * 2,
        "{N} requests took {locked:?} with the ledger locked, {unlocked:?} without: the write is on their path"
    );
    server.wait_until("every locked-out row is counted", || {
        gauge(&server, "chorus_ledger_failures_total") + gauge(&server, "chorus_ledger_dropped_total") == N as f64
    });
    assert_eq!(gauge(&server, "chorus_ledger_written_total"), N as f64);
    assert_eq!(gauge(&server, "chorus_ledger_backlog"), 0.0);
    let log = server.log();
    assert!(log.contains("warning") && log.contains("lock") && log.contains("not recorded"), "{log}");

    // Once the lock is gone, rows are written again; the holder's uncommitted row never landed.
    drop(holder);
    let response = server.post("/v1/audio/speech", &body);
    assert_eq!(response.status, 200);
    server
        .wait_until("the next request is written", || gauge(&server, "chorus_ledger_written_total") == N as f64 + 1.0);
    let totals = Ledger::open_read_only(&ledger).unwrap().unwrap().totals(None).unwrap();
    assert_eq!(totals[0].requests, N as u64 + 1);
}

/// `chorus usage` reads a ledger it may not write: a read-only file (SQLite then keeps its WAL
/// files beside it), and a read-only folder (where it cannot make them, and reads the file as it
/// stands). As root, permissions do not bind, so the command runs as `nobody`.
#[test]
fn usage_reads_a_read_only_ledger() {
    let Some(uid) = support::unprivileged_uid() else {
        eprintln!("skipped: root in a user namespace with no other user, where file modes cannot be made to bind");
        return;
    };
    let env = Env::new();
    let out =
        run(env.chorus().args(["speak", "recorded once", "-m", "example-hd", "-o"]).arg(env.home.path().join("a.wav")));
    assert!(out.status.success(), "{}", stderr(&out));
    let ledger = env.ledger_path();
    let data = env.data_dir();
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 1, "only the ledger, its WAL checkpointed and removed");
    for dir in [env.home.path(), env.plugins.path()] {
        support::chmod(dir, 0o755);
    }
    let usage = |what: &str| {
        let mut cmd = env.chorus();
        cmd.args(["usage", "--json"]);
        if let Some(uid) = uid {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(uid);
        }
        let out = run(&mut cmd);
        assert!(out.status.success(), "{what}: {}", stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["total"]["requests"], 1, "{what}: {json}");
        assert_eq!(json["total"]["characters"], 13, "{what}: {json}");
    };
    let before = std::fs::read(&ledger).unwrap();
    support::chmod(&ledger, 0o444);
    support::chmod(&data, 0o777);
    usage("a read-only file");
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path != ledger {
            std::fs::remove_file(path).unwrap();
        }
    }
    support::chmod(&data, 0o555);
    usage("a read-only folder");
    assert_eq!(std::fs::read(&ledger).unwrap(), before, "the ledger is unchanged");
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 1);
    support::chmod(&data, 0o755);
}
