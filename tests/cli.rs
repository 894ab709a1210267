//! The `chorus` binary: listings, speaking to WAV and stdout, and one-line errors on bad input.

use chorus_tests::{self as support, run, stderr};
use std::path::Path;

struct Env {
    plugins: tempfile::TempDir,
    home: tempfile::TempDir,
}

fn env(plugins: &[&str]) -> Env {
    Env { plugins: support::plugin_dir(plugins), home: tempfile::tempdir().unwrap() }
}

impl Env {
    fn chorus(&self) -> std::process::Command {
        support::chorus(self.plugins.path(), self.home.path())
    }
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.home.path().join(name)
    }
}

/// Assert a failed run with a single-line reason containing `needle`.
fn fails_with(out: std::process::Output, needle: &str) {
    let err = stderr(&out);
    assert!(!out.status.success(), "expected failure, got success; stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected: {err}");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
}

#[test]
fn plugins_json_lists_loaded_and_rejected_and_exits_zero() {
    let env = env(&["chorus_plugin_example"]);
    std::fs::write(env.plugins.path().join(support::library_file("junk")), b"junk").unwrap();
    let out = run(env.chorus().args(["plugins", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["loaded"][0]["name"], "example");
    assert_eq!(json["loaded"][0]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["loaded"][0]["patterns"], serde_json::json!(["example*"]));
    assert!(json["rejected"][0]["file"].as_str().unwrap().ends_with(&support::library_file("junk")));
    assert!(json["rejected"][0]["reason"].as_str().unwrap().contains("not a loadable library"));

    let text = run(env.chorus().arg("plugins"));
    assert!(text.status.success());
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("example") && stdout.contains("rejected") && stdout.contains("streaming, word_timestamps"),
        "{stdout}"
    );
}

#[test]
fn plugins_lists_a_plugin_with_an_invalid_glob_as_rejected_with_the_reason() {
    let env = env(&["chorus_plugin_example", "chorus_fixture_bad_pattern"]);
    let out = run(env.chorus().args(["plugins", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["loaded"].as_array().unwrap().len(), 1);
    let rejected = &json["rejected"][0];
    assert!(rejected["file"].as_str().unwrap().ends_with(&support::library_file("chorus_fixture_bad_pattern")));
    let reason = rejected["reason"].as_str().unwrap();
    assert!(reason.contains("'bad-pattern[0-9' is not a valid glob (unclosed character class"), "{reason}");

    let text = run(env.chorus().arg("plugins"));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("bad-pattern[0-9") && stdout.contains("not a valid glob"), "{stdout}");
}

#[test]
fn a_plugin_not_built_here_is_named_with_why_by_plugins_and_by_the_unknown_model_error() {
    let env = env(&["chorus_plugin_example"]);
    let why = "libtorch is not installed: `cargo xtask torch` installs it";
    std::fs::write(env.plugins.path().join("kokoro-torch.absent"), format!("{why}\n")).unwrap();

    let text = run(env.chorus().arg("plugins"));
    assert!(text.status.success(), "{}", stderr(&text));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains(&format!("not built here: kokoro-torch: {why}")), "{stdout}");
    assert!(!stdout.contains("rejected"), "a note is not a rejected library: {stdout}");

    let out = run(env.chorus().args(["plugins", "--json"]));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["absent"][0]["name"], "kokoro-torch");
    assert_eq!(json["absent"][0]["reason"], why);
    assert_eq!(json["loaded"][0]["name"], "example");

    let out = run(env.chorus().args(["speak", "hi", "--model", "kokoro-torch", "-o"]).arg(env.path("x.wav")));
    fails_with(out, &format!("kokoro-torch is not built here: {why}"));
    assert!(!env.path("x.wav").exists());
}

#[test]
fn voices_json_lists_the_backend_voices() {
    let env = env(&["chorus_plugin_example"]);
    let out = run(env.chorus().args(["voices", "--model", "example", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = json["voices"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["tone", "low"]);
    assert_eq!(json["default_voice"], "tone");
}

fn wav_seconds(path: &Path) -> f64 {
    let reader = hound::WavReader::open(path).unwrap();
    reader.duration() as f64 / reader.spec().sample_rate as f64
}

#[test]
fn speak_writes_a_wav_and_a_json_summary() {
    let env = env(&["chorus_plugin_example"]);
    let wav = env.path("out.wav");
    let out = run(env.chorus().args(["speak", "hello world", "--model", "example", "--json", "-o"]).arg(&wav));
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["audio_seconds", "first_audio_ms", "wall_ms", "x_realtime", "characters"] {
        assert!(summary.get(key).is_some_and(|v| v.is_number()), "missing {key}: {summary}");
    }
    assert_eq!(summary["characters"], 11);
    // The example plugin speaks 40 ms per character.
    assert!((wav_seconds(&wav) - 0.44).abs() < 0.01, "{}", wav_seconds(&wav));
    assert!((summary["audio_seconds"].as_f64().unwrap() - 0.44).abs() < 0.01);
}

#[test]
fn speak_reads_stdin_and_a_file_and_writes_raw_pcm_to_stdout() {
    let env = env(&["chorus_plugin_example"]);
    let mut child = env
        .chorus()
        .args(["speak", "-", "--model", "example", "-o", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"abc de").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // 6 characters × 40 ms × 24 kHz × 2 bytes.
    assert_eq!(out.stdout.len(), 6 * 960 * 2);

    let file = env.path("in.txt");
    std::fs::write(&file, "from a file").unwrap();
    let wav = env.path("file.wav");
    let out = run(env.chorus().args(["speak", "--model", "example", "--file"]).arg(&file).arg("-o").arg(&wav));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!((wav_seconds(&wav) - 0.44).abs() < 0.01);
}

#[test]
fn bad_input_gives_one_line_and_a_failing_exit() {
    let env = env(&["chorus_plugin_example"]);
    let wav = env.path("x.wav");
    let speak = |args: &[&str]| {
        let mut cmd = env.chorus();
        cmd.arg("speak").args(args).arg("-o").arg(&wav);
        run(&mut cmd)
    };
    fails_with(speak(&["hi", "--model", "nope"]), "no plugin serves model 'nope'");
    fails_with(speak(&["hi", "--model", "example", "--voice", "soprano"]), "no voice 'soprano'");
    fails_with(speak(&["   ", "--model", "example"]), "text is empty");

    let config = env.path("config.toml");
    std::fs::write(&config, "max_input_chars = 10\n").unwrap();
    let mut cmd = env.chorus();
    cmd.arg("--config").arg(&config).args(["speak", "eleven chars", "--model", "example", "-o"]).arg(&wav);
    fails_with(run(&mut cmd), "over the limit of 10");
    // A file or stream without end is read only up to the limit, then refused.
    let mut cmd = env.chorus();
    cmd.arg("--config").arg(&config).args(["speak", "--file", "/dev/zero", "--model", "example", "-o"]).arg(&wav);
    fails_with(run(&mut cmd), "/dev/zero holds more than max_input_chars (10 characters)");
    let mut cmd = env.chorus();
    cmd.arg("--config").arg(&config).args(["estimate", "-", "--model", "example"]);
    cmd.stdin(std::fs::File::open("/dev/zero").unwrap());
    fails_with(run(&mut cmd), "standard input holds more than max_input_chars");

    let latin1 = env.path("latin1.txt");
    std::fs::write(&latin1, b"caf\xe9").unwrap();
    fails_with(speak(&["--model", "example", "--file", latin1.to_str().unwrap()]), "is not UTF-8");
    fails_with(speak(&["--model", "example", "--file", "/no/such/file"]), "cannot read /no/such/file");
    assert!(!wav.exists(), "no output file is left behind by a failed request");
}

#[test]
fn the_default_model_comes_from_the_config() {
    let env = env(&["chorus_plugin_example"]);
    let config = env.path("config.toml");
    std::fs::write(&config, "default_model = \"example\"\n").unwrap();
    let wav = env.path("default.wav");
    let mut cmd = env.chorus();
    cmd.env("CHORUS_CONFIG", &config).args(["speak", "hi", "-o"]).arg(&wav);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(wav_seconds(&wav) > 0.0);
}
