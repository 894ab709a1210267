//! The host library against real plugin cdylibs: loading, rejection (with the loader's whole
//! reason, and for links, folders and files that cannot be read), routing, streaming (also from a
//! plugin's own async runtime), panics, cancellation.

use chorus_host::{Chorus, Config, Event, Report, Request, SynthesisStream};
use chorus_tests as support;
use std::path::Path;

const EXAMPLE: &str = "chorus_plugin_example";
const MISBEHAVE: &str = "chorus_fixture_misbehave";

/// A host over the plugins in `dir`, with its data (usage ledger) in a fresh folder.
fn host(dir: &Path, config: &str) -> chorus_tests::Library {
    chorus_tests::library(dir, Config::parse(config).expect("valid config"))
}

/// Collect every event of a request until it ends.
async fn collect(mut stream: SynthesisStream) -> (Vec<Event>, Result<Report, String>) {
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            Event::Done(report) => return (events, Ok(report)),
            Event::Error(e) => return (events, Err(e.to_string())),
            other => events.push(other),
        }
    }
    (events, Err("stream ended without Done or Error".into()))
}

fn audio(events: &[Event]) -> Vec<Vec<f32>> {
    events.iter().filter_map(|e| if let Event::Audio(a) = e { Some(a.samples.clone()) } else { None }).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_plugins_route_by_pattern_and_alias_with_ordered_chunks() {
    let dir = support::plugin_dir(&[EXAMPLE, MISBEHAVE]);
    let chorus = host(dir.path(), "[aliases]\nbeeps = \"example\"\n[prefix_aliases]\n\"tone_\" = \"example-\"\n");
    assert_eq!(chorus.plugins().len(), 2, "rejected: {:?}", chorus.rejected());

    for (model, plugin, routed) in [
        ("example", "example", "example"),
        ("example-fast", "example", "example-fast"),
        ("misbehave", "misbehave", "misbehave"),
        ("beeps", "example", "example"),
        ("tone_x", "example", "example-x"),
    ] {
        let stream = chorus.synthesize(Request::new("hello there world").model(model)).unwrap();
        assert_eq!((stream.plugin.as_str(), stream.model.as_str()), (plugin, routed), "routing {model}");
        let (events, report) = collect(stream).await;
        let report = report.unwrap();
        assert_eq!(report.plugin, plugin);
        if plugin == "example" {
            // One chunk per word, each followed by its words and progress, indices counting up.
            assert_eq!(audio(&events).len(), 3);
            let indices: Vec<u32> = events
                .iter()
                .filter_map(|e| if let Event::Progress(p) = e { Some(p.chunk_index) } else { None })
                .collect();
            assert_eq!(indices, vec![1, 2, 3]);
            let total: usize = audio(&events).iter().map(Vec::len).sum();
            assert!((report.audio_seconds - total as f64 / 24_000.0).abs() < 1e-9);
        } else {
            // misbehave's chunks carry their index as the sample value.
            let firsts: Vec<f32> = audio(&events).iter().map(|c| c[0]).collect();
            assert_eq!(firsts, vec![0.0, 0.001, 0.002, 0.003, 0.004]);
        }
    }

    let err = chorus.synthesize(Request::new("hi").model("nothing-like-this")).err().expect("unknown model fails");
    let message = err.to_string();
    assert!(
        message.contains("nothing-like-this") && message.contains("example*") && message.contains("misbehave*"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_files_are_rejected_with_reasons_while_the_rest_serve() {
    let dir = support::plugin_dir(&[EXAMPLE, "chorus_fixture_bad_layout", "chorus_fixture_bad_version"]);
    let lib = |name: &str| dir.path().join(support::library_file(name));
    std::fs::write(lib("junk"), "this is not a shared library at all. ".repeat(8)).unwrap();
    std::fs::write(lib("empty"), b"").unwrap();
    let libm = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("a system libm to use as a non-chorus library");
    std::fs::copy(libm, lib("notchorus")).unwrap();
    std::fs::write(dir.path().join("README.txt"), "not a library suffix: ignored").unwrap();

    let chorus = host(dir.path(), "");
    let names: Vec<&str> = chorus.plugins().iter().map(|p| p.info.name.as_str()).collect();
    assert_eq!(names, vec!["example"]);
    let reason = |name: &str| {
        let file = lib(name);
        chorus
            .rejected()
            .iter()
            .find(|r| r.file == file)
            .map(|r| r.reason.clone())
            .unwrap_or_else(|| panic!("{name} not rejected"))
    };
    // The dynamic loader's whole reason, not abi_stable's cut-off first line.
    assert!(reason("junk").contains("not a loadable library: invalid ELF header"), "{}", reason("junk"));
    assert!(reason("empty").contains("not a loadable library: file too short"), "{}", reason("empty"));
    assert!(reason("notchorus").contains("not a chorus plugin"), "{}", reason("notchorus"));
    assert!(reason("chorus_fixture_bad_layout").contains("layout"), "{}", reason("chorus_fixture_bad_layout"));
    let version = reason("chorus_fixture_bad_version");
    assert!(version.contains("99.0.0") && version.contains(chorus_plugin_api::API_VERSION), "{version}");
    assert_eq!(chorus.rejected().len(), 5);

    let (_, report) = collect(chorus.synthesize(Request::new("still serving").model("example")).unwrap()).await;
    assert!(report.unwrap().audio_seconds > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_with_a_pattern_that_is_not_a_glob_is_rejected_at_load() {
    let dir = support::plugin_dir(&[EXAMPLE, "chorus_fixture_bad_pattern"]);
    let chorus = host(dir.path(), "");
    let names: Vec<&str> = chorus.plugins().iter().map(|p| p.info.name.as_str()).collect();
    assert_eq!(names, vec!["example"]);
    let [rejected] = chorus.rejected() else { panic!("one rejected file expected: {:?}", chorus.rejected()) };
    assert!(rejected.file.ends_with(support::library_file("chorus_fixture_bad_pattern")));
    assert_eq!(
        rejected.reason,
        "plugin 'bad-pattern' declares an invalid model-name pattern: 'bad-pattern[0-9' is not a valid glob \
         (unclosed character class; missing ']')"
    );
    // Not even its valid exact pattern routes: the plugin is not loaded at all.
    let err = chorus.synthesize(Request::new("hi").model("bad-pattern")).err().expect("nothing serves it");
    assert!(err.to_string().contains("bad-pattern"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_that_does_not_fit_the_engines_type_names_the_key() {
    let dir = support::plugin_dir(&[EXAMPLE]);
    for (config, expected) in [
        ("[backends.example]\nms_per_char = \"fast\"\n", "example config: ms_per_char: invalid type: string \"fast\""),
        ("[backends.example]\nms_per_chr = 5\n", "example config: unknown key ms_per_chr"),
        ("[backends.example]\nms_per_char = 5000\n", "ms_per_char must be 1..=1000, got 5000"),
    ] {
        let chorus = host(dir.path(), config);
        let (_, result) = collect(chorus.synthesize(Request::new("hi").model("example")).unwrap()).await;
        let message = result.unwrap_err();
        assert!(message.contains(expected), "{config}: {message}");
    }
    let chorus = host(dir.path(), "[backends.example]\nms_per_char = 5\n");
    let (events, report) = collect(chorus.synthesize(Request::new("hi").model("example")).unwrap()).await;
    assert_eq!(audio(&events).concat().len(), 2 * 120, "two characters of 5 ms at 24 kHz");
    assert!(report.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_constructor_panic_fails_that_request_only() {
    let dir = support::plugin_dir(&[EXAMPLE, MISBEHAVE]);
    let chorus = host(dir.path(), "[backends.misbehave]\npanic_in_constructor = true\n");
    for _ in 0..2 {
        let (events, result) = collect(chorus.synthesize(Request::new("boom").model("misbehave")).unwrap()).await;
        let message = result.unwrap_err();
        assert!(message.contains("panicked in its constructor") && message.contains("misbehave"), "{message}");
        assert!(events.is_empty());
    }
    let (_, report) = collect(chorus.synthesize(Request::new("next request").model("example")).unwrap()).await;
    assert!(report.unwrap().audio_seconds > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mid_stream_panic_fails_that_request_only() {
    let dir = support::plugin_dir(&[EXAMPLE, MISBEHAVE]);
    let chorus = host(dir.path(), "");
    let (events, result) = collect(chorus.synthesize(Request::new("boom").model("misbehave-panic")).unwrap()).await;
    assert_eq!(audio(&events).len(), 1, "the chunk before the panic arrives");
    let message = result.unwrap_err();
    assert!(message.contains("panicked in synthesize") && message.contains("mid-stream"), "{message}");

    let (events, report) = collect(chorus.synthesize(Request::new("fine").model("misbehave")).unwrap()).await;
    assert!(report.is_ok() && audio(&events).len() == 5);
    let (_, report) = collect(chorus.synthesize(Request::new("fine too").model("example")).unwrap()).await;
    assert!(report.is_ok());
}

/// Read events until the first audio chunk, then drop the stream.
async fn first_chunk_then_hang_up(chorus: &Chorus, log: &Path) {
    let mut request = Request::new("count").model("misbehave-count");
    request.options = serde_json::json!({"chunks": 1000, "log": log.display().to_string()});
    let mut stream = chorus.synthesize(request).unwrap();
    loop {
        match stream.next().await {
            Some(Event::Audio(_)) => break,
            Some(Event::Error(e)) => panic!("{e}"),
            None => panic!("no audio"),
            _ => {}
        }
    }
}

/// Wait (bounded) for the plugin to write its log, and parse `pushed=N stopped=B`.
fn read_log(log: &Path) -> (u32, bool) {
    for _ in 0..500 {
        // The plugin may still be writing the file: wait for its last field.
        if let Ok(text) = std::fs::read_to_string(log).map(|t| t.trim().to_string())
            && (text.ends_with("true") || text.ends_with("false"))
        {
            let field = |k: &str| text.split_whitespace().find_map(|f| f.strip_prefix(k)).unwrap_or("").to_string();
            return (field("pushed=").parse().unwrap(), field("stopped=") == "true");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the plugin never returned after its consumer left");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_that_leaves_stops_the_plugin_at_its_next_push() {
    let dir = support::plugin_dir(&[MISBEHAVE]);
    let mut chorus = host(dir.path(), "");
    chorus.set_channel_capacity(1);
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("count.log");
    first_chunk_then_hang_up(&chorus, &log).await;
    let (pushed, stopped) = read_log(&log);
    assert!(stopped, "the plugin saw stop");
    // One chunk consumed, at most one more produced: the push that was answered with stop.
    assert!(pushed <= 2, "plugin pushed {pushed} chunks after its consumer read one");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_abandoned_requests_leave_no_threads_or_memory_behind() {
    let dir = support::plugin_dir(&[MISBEHAVE]);
    let chorus = host(dir.path(), "");
    let logs = tempfile::tempdir().unwrap();
    // Warm up: runtime threads, allocator arenas (one per thread that needs one, up to 8 per core,
    // also for the other tests of this binary running beside it), the backend itself.
    for i in 0..200 {
        let log = logs.path().join(format!("warm{i}.log"));
        first_chunk_then_hang_up(&chorus, &log).await;
        read_log(&log);
    }
    let (threads, rss) = (support::thread_count(), support::rss_kib());
    for i in 0..1000 {
        let log = logs.path().join(format!("{i}.log"));
        first_chunk_then_hang_up(&chorus, &log).await;
        let (pushed, stopped) = read_log(&log);
        assert!(stopped && pushed < 1000, "request {i}: pushed {pushed}, stopped {stopped}");
        std::fs::remove_file(&log).unwrap();
    }
    // Synthesis threads end with their request; give the last one a moment to be reaped.
    let mut now = support::thread_count();
    for _ in 0..100 {
        if now <= threads {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        now = support::thread_count();
    }
    assert!(now <= threads, "threads grew from {threads} to {now}");
    let grown = support::rss_kib().saturating_sub(rss);
    assert!(grown < 16 * 1024, "resident memory grew by {grown} KiB over 1000 requests");
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_and_oversized_text_are_refused_before_any_plugin_runs() {
    let dir = support::plugin_dir(&[EXAMPLE]);
    let chorus = host(dir.path(), "max_input_chars = 20\n");
    let empty = chorus.synthesize(Request::new(" \n\t ").model("example")).err().unwrap().to_string();
    assert!(empty.contains("empty"), "{empty}");
    let long = chorus.synthesize(Request::new("x".repeat(21)).model("example")).err().unwrap().to_string();
    assert!(long.contains("21") && long.contains("20"), "{long}");
    assert!(chorus.synthesize(Request::new("x".repeat(20)).model("example")).is_ok());
}

/// A consumer may end the process as soon as it sees the closing event, so by then the request's
/// thread must have let go of the backend: the host's own reference is the one that ends it, on
/// the host's thread, rather than a teardown racing the process's exit.
#[tokio::test(flavor = "multi_thread")]
async fn the_closing_event_comes_after_the_request_lets_go_of_the_backend() {
    let dir = support::plugin_dir(&[EXAMPLE]);
    let chorus = host(dir.path(), "");
    for _ in 0..5 {
        let stream = chorus.synthesize(Request::new("hi").model("example")).unwrap();
        let (_, report) = collect(stream).await;
        report.unwrap();
        let (_, backend) = chorus.backend(Some("example")).unwrap();
        assert_eq!(std::sync::Arc::strong_count(&backend), 2, "only the host's manager and this test hold it");
    }
}

/// The dynamic loader's reason in full: a 64-bit library marked 32-bit, and a library that needs
/// a symbol nobody defines (built here with the C compiler Rust links with).
#[tokio::test(flavor = "multi_thread")]
async fn rejection_reasons_carry_the_loaders_whole_message() {
    let dir = support::plugin_dir(&[EXAMPLE]);
    let lib = |name: &str| dir.path().join(support::library_file(name));
    let mut elf = std::fs::read(support::plugin_library(EXAMPLE)).unwrap();
    elf[4] = 1; // EI_CLASS: ELFCLASS32
    std::fs::write(lib("class32"), elf).unwrap();
    let source = dir.path().join("undefined.c");
    std::fs::write(
        &source,
        "extern int chorus_nobody_defines_this;\nint *chorus_take(void) { return &chorus_nobody_defines_this; }\n",
    )
    .unwrap();
    let built = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(lib("undefined"))
        .arg(&source)
        .output()
        .expect("cc runs (Rust links with it)");
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));

    let chorus = host(dir.path(), "");
    assert_eq!(chorus.plugins().len(), 1);
    let reason = |name: &str| {
        chorus.rejected().iter().find(|r| r.file == lib(name)).map(|r| r.reason.clone()).unwrap_or_default()
    };
    assert!(reason("class32").contains("wrong ELF class: ELFCLASS32"), "{:?}", chorus.rejected());
    assert!(reason("undefined").contains("undefined symbol: chorus_nobody_defines_this"), "{:?}", chorus.rejected());
    for r in chorus.rejected() {
        assert!(!r.reason.contains("Could not open library at"), "{}", r.reason);
    }
}

/// `chorus plugins` names every entry it could not use instead of passing over it: a dangling
/// link, a link loop, a file and a folder it may not read (as root, whom permissions do not bind,
/// the command runs as `nobody`), while the good plugin beside them loads.
#[test]
fn links_and_unreadable_entries_are_listed_as_rejected() {
    let Some(uid) = support::unprivileged_uid() else {
        eprintln!("skipped: root in a user namespace with no other user, where file modes cannot be made to bind");
        return;
    };
    let dir = support::plugin_dir(&[EXAMPLE]);
    let closed = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let lib = |name: &str| dir.path().join(support::library_file(name));
    std::os::unix::fs::symlink(lib("nowhere"), lib("dangling")).unwrap();
    std::os::unix::fs::symlink(lib("loop"), lib("loop")).unwrap();
    std::fs::copy(lib(EXAMPLE), lib("secret")).unwrap();
    support::chmod(&lib("secret"), 0o000);
    for open in [dir.path(), home.path()] {
        support::chmod(open, 0o755);
    }
    support::chmod(closed.path(), 0o000);

    let listing = |json: bool| {
        let mut cmd = support::chorus(dir.path(), home.path());
        cmd.arg("--plugins").arg(closed.path()).arg("plugins");
        if json {
            cmd.arg("--json");
        }
        if let Some(uid) = uid {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(uid);
        }
        let out = support::run(&mut cmd);
        assert!(out.status.success(), "{}", support::stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&listing(true)).unwrap();
    assert_eq!(json["loaded"].as_array().unwrap().len(), 1, "{json}");
    let reason = |file: &Path| {
        json["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["file"] == file.display().to_string())
            .and_then(|r| r["reason"].as_str())
            .unwrap_or_else(|| panic!("{} is not listed: {json}", file.display()))
            .to_string()
    };
    assert!(reason(&lib("dangling")).contains("dangling symbolic link"), "{json}");
    assert!(reason(&lib("loop")).contains("symbolic link loop"), "{json}");
    assert!(reason(&lib("secret")).contains("cannot read: Permission denied"), "{json}");
    assert!(reason(closed.path()).contains("cannot read the plugin folder: Permission denied"), "{json}");
    assert_eq!(json["rejected"].as_array().unwrap().len(), 4, "{json}");
    let text = listing(false);
    assert!(text.contains(&format!("rejected {}: dangling symbolic link", lib("dangling").display())), "{text}");
    support::chmod(closed.path(), 0o755);
}

/// A plugin built on async code pushes from inside a tokio runtime of its own; with a channel of
/// one event, every push waits for the consumer, and all arrive in order.
#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_may_push_from_inside_its_own_async_runtime() {
    let dir = support::plugin_dir(&[MISBEHAVE]);
    let mut chorus = host(dir.path(), "");
    chorus.set_channel_capacity(1);
    let mut request = Request::new("async pushes").model("misbehave-count");
    request.options = serde_json::json!({"chunks": 40, "in_runtime": true});
    let (events, report) = collect(chorus.synthesize(request).unwrap()).await;
    assert_eq!(report.unwrap().chunks, 40);
    let firsts: Vec<f32> = audio(&events).iter().map(|c| c[0]).collect();
    assert_eq!(firsts, (0..40).map(|i| i as f32 / 1000.0).collect::<Vec<_>>());
    // The process is still here, and so is the plugin.
    let (_, again) = collect(chorus.synthesize(Request::new("again").model("misbehave")).unwrap()).await;
    assert!(again.is_ok());
}
