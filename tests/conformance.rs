//! Conformance, as `chorus plugin check` runs it: every shipped plugin, loaded from its real
//! cdylib through the host's loader, keeps the contract (the remote ones against their loopback
//! fixture servers), and the misbehave fixture fails exactly the check each of its flags breaks.

use chorus_plugin_test::{Options, Report, Status, check};
use chorus_tests::{
    self as support,
    fixtures::{
        alltalk::AllTalk,
        chatterbox::Chatterbox,
        elevenlabs::ElevenLabs,
        openai::{self, OpenAi},
    },
};
use std::path::Path;

const MISBEHAVE: &str = "chorus_fixture_misbehave";

/// Check plugin library `lib` with `toml` as the host config and a private data folder.
fn check_plugin(lib: &str, toml: &str, model: Option<&str>) -> Report {
    let data = tempfile::tempdir().expect("data dir");
    let mut options = Options::with_config_toml(toml).expect("test config parses").data_dir(data.path());
    options.model = model.map(str::to_string);
    check(&support::plugin_library(lib), &options)
}

fn detail<'a>(report: &'a Report, name: &str) -> &'a str {
    &report.check(name).unwrap_or_else(|| panic!("no check '{name}' in\n{report}")).detail
}

#[test]
fn the_example_plugin_passes_every_check_and_skips_none() {
    let report = check_plugin("chorus_plugin_example", "", None);
    report.assert_passed();
    assert!(report.skipped().is_empty(), "{report}");
    assert_eq!(report.model.as_deref(), Some("example"));
    assert!(detail(&report, "words").contains("one per word"), "{report}");
}

#[test]
fn each_misbehave_flag_fails_exactly_the_check_it_breaks() {
    let cases: [(&str, &[&str]); 9] = [
        ("", &[]),
        ("nan", &["audio"]),
        ("progress_backwards", &["progress"]),
        ("ignore_stop", &["stop"]),
        ("word_times_past_end", &["words"]),
        ("one_at_a_time", &["concurrent"]),
        ("lenient", &["unknown_voice", "bad_speed"]),
        ("panic_on_emoji", &["texts"]),
        ("panic_in_constructor", &["backend"]),
    ];
    for (flag, failed) in cases {
        let toml = if flag.is_empty() { String::new() } else { format!("[backends.misbehave]\n{flag} = true\n") };
        let report = check_plugin(MISBEHAVE, &toml, None);
        assert_eq!(report.failed(), failed, "flag '{flag}':\n{report}");
        assert_eq!(report.passed, failed.is_empty(), "flag '{flag}'");
    }
}

#[test]
fn failures_say_what_broke_and_where() {
    let with = |flag: &str| check_plugin(MISBEHAVE, &format!("[backends.misbehave]\n{flag} = true\n"), None);
    let report = with("nan");
    assert!(detail(&report, "audio").contains("short: chunk 3 sample 0 is NaN"), "{report}");
    let report = with("progress_backwards");
    assert!(detail(&report, "progress").contains("went back from 0.4 to 0.1"), "{report}");
    let report = with("ignore_stop");
    assert!(detail(&report, "stop").contains("4 audio pushes after the sink answered stop"), "{report}");
    let report = with("word_times_past_end");
    assert!(detail(&report, "words").contains("past the audio's end"), "{report}");
    let report = with("lenient");
    assert!(detail(&report, "unknown_voice").contains("accepted"), "{report}");
    assert!(detail(&report, "bad_speed").contains("speed NaN: accepted"), "{report}");
}

#[test]
fn a_panic_inside_the_plugin_comes_back_as_an_error_not_an_abort() {
    let report = check_plugin(MISBEHAVE, "[backends.misbehave]\npanic_on_emoji = true\n", None);
    assert!(detail(&report, "texts").contains("emoji: internal: plugin panicked in synthesize"), "{report}");
    assert_eq!(report.check("panic").unwrap().status, Status::Pass, "{report}");
    assert!(detail(&report, "panic").contains("panics came back as errors"), "{report}");

    let report = check_plugin(MISBEHAVE, "[backends.misbehave]\npanic_in_constructor = true\n", None);
    assert!(detail(&report, "backend").contains("panicked in its constructor"), "{report}");
    assert_eq!(report.skipped().len(), 10, "everything after the backend is skipped:\n{report}");
    assert!(detail(&report, "voices").contains("skipped: there is no backend"), "{report}");
}

#[test]
fn a_plugin_built_for_another_api_fails_to_load_and_the_rest_is_skipped() {
    let report = check_plugin("chorus_fixture_bad_version", "", None);
    assert_eq!(report.failed(), ["load"], "{report}");
    assert!(detail(&report, "load").contains("99.0.0"), "{report}");
    assert_eq!(report.skipped().len(), 12, "{report}");
}

#[test]
fn a_model_outside_the_plugins_patterns_is_named() {
    let report = check_plugin("chorus_plugin_example", "", Some("kokoro"));
    assert_eq!(report.failed(), ["backend"], "{report}");
    assert!(detail(&report, "backend").contains("model 'kokoro' matches none of the plugin's patterns"), "{report}");
}

#[test]
fn openai_passes_against_its_fixture_and_skips_word_timestamps_it_never_sends() {
    let voices = Some(vec!["alloy".to_string(), "nova".to_string()]);
    let server = OpenAi::start(openai::Options { voices, ..Default::default() });
    let toml = format!("[backends.cloud.openai]\nbase_url = {:?}\napi_key = \"sk-test\"\n", server.base_url);
    let report = check_plugin("chorus_plugin_cloud", &toml, Some("openai/tts-1"));
    report.assert_passed();
    assert!(detail(&report, "words").starts_with("skipped: the plugin declares word timestamps but pushed none"));
    // The fixture, as an OpenAI-compatible server, speaks any voice it is given.
    assert!(detail(&report, "unknown_voice").starts_with("skipped: a remote plugin passes voices"), "{report}");
}

#[test]
fn elevenlabs_passes_against_its_fixture() {
    let server = ElevenLabs::start(Default::default());
    let toml = format!("[backends.cloud.elevenlabs]\nbase_url = {:?}\napi_key = \"xi-test\"\n", server.base_url);
    check_plugin("chorus_plugin_cloud", &toml, Some("elevenlabs/eleven_flash_v2_5")).assert_passed();
}

#[test]
fn alltalk_passes_against_its_fixture() {
    let server = AllTalk::start();
    let toml = format!("[backends.alltalk]\nbase_url = {:?}\n", server.url());
    check_plugin("chorus_plugin_alltalk", &toml, None).assert_passed();
}

#[test]
fn chatterbox_passes_against_its_fixture() {
    let server = Chatterbox::start();
    let toml = format!("[backends.chatterbox]\nbase_url = {:?}\n", server.url());
    check_plugin("chorus_plugin_chatterbox", &toml, None).assert_passed();
}

#[test]
#[ignore = "needs the Kokoro model: cargo xtask test runs it"]
fn kokoro_passes_every_check() {
    let data = support::kokoro::ensure_assets();
    let options = Options::default().data_dir(&data);
    let report = check(&support::plugin_library("chorus_plugin_kokoro"), &options);
    report.assert_passed();
    assert!(report.skipped().is_empty(), "{report}");
}

/// `chorus plugin check` itself: the report on stdout, a non-zero exit naming the failed checks.
#[test]
fn the_cli_verb_prints_the_report_and_fails_with_the_failed_checks() {
    let home = tempfile::tempdir().expect("home");
    let plugins = tempfile::tempdir().expect("empty plugin folder");
    let run = |lib: &str, args: &[&str]| {
        let mut cmd = support::chorus(plugins.path(), home.path());
        cmd.args(["plugin", "check"]).arg(support::plugin_library(lib)).args(args);
        support::run(&mut cmd)
    };
    let out = run("chorus_plugin_example", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", support::stderr(&out));
    assert!(stdout.contains("  pass  words "), "{stdout}");
    assert!(stdout.trim_end().ends_with("13 passed, 0 failed, 0 skipped"), "{stdout}");

    let config = home.path().join("nan.toml");
    std::fs::write(&config, "[backends.misbehave]\nnan = true\n").unwrap();
    let config = config.to_str().unwrap();
    let out = run(MISBEHAVE, &["--config", config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("  FAIL  audio          short: chunk 3 sample 0 is NaN"), "{stdout}");
    assert!(support::stderr(&out).contains("chorus: misbehave failed: audio"), "{}", support::stderr(&out));

    let out = run(MISBEHAVE, &["--config", config, "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(json["passed"], false);
    let audio = json["checks"].as_array().unwrap().iter().find(|c| c["name"] == "audio").unwrap();
    assert_eq!(audio["status"], "fail");
    assert_eq!(out.status.code(), Some(1));
    assert!(!Path::new(&home.path().join("data/usage.sqlite3")).exists(), "checking records no usage");
}

/// A plugin that takes its process down (an abort, as a crash in native code would be) fails the
/// check it was in, with the signal; the checker itself lives to report it.
#[test]
fn a_plugin_that_aborts_fails_the_check_it_was_in_and_the_checker_reports_it() {
    let home = tempfile::tempdir().expect("home");
    let plugins = tempfile::tempdir().expect("empty plugin folder");
    let config = home.path().join("abort.toml");
    std::fs::write(&config, "[backends.misbehave]\nabort_on_emoji = true\n").unwrap();
    let check = |json: bool| {
        let mut cmd = support::chorus(plugins.path(), home.path());
        cmd.arg("--config").arg(&config).args(["plugin", "check"]).arg(support::plugin_library(MISBEHAVE));
        if json {
            cmd.arg("--json");
        }
        support::run(&mut cmd)
    };

    let out = check(false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", support::stderr(&out));
    assert!(stdout.contains("  pass  voices "), "{stdout}");
    assert!(
        stdout
            .contains("  FAIL  texts          the plugin took the process down (signal 6, SIGABRT) during this check"),
        "{stdout}"
    );
    assert!(stdout.contains("  skip  bad_speed      skipped: the process running the checks died"), "{stdout}");
    assert!(stdout.trim_end().ends_with("4 passed, 1 failed, 8 skipped"), "{stdout}");
    assert!(support::stderr(&out).contains("failed: texts"), "{}", support::stderr(&out));

    let out = check(true);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!((json["passed"].as_bool(), json["checks"].as_array().map(Vec::len)), (Some(false), Some(13)));
    assert_eq!(json["checks"][4]["status"], "fail", "{json}");
}
