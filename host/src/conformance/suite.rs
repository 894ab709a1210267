//! The checks in order: load and manifest, backend and voices, then requests whose recordings the
//! rules in `checks.rs` judge. An early failure skips what depends on it, saying why.

use super::{
    CheckResult, Options, Report, Status, checks, inputs,
    record::{self, Ending, Meeting, Plan, Recording},
};
use crate::{
    Backend, Manager, paths,
    plugin::{self, LoadedPlugin},
};
use chorus_plugin_api::{Capabilities, ErrorKind, SynthesisRequest};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::{path::Path, sync::Arc};

/// Every check, in the order it runs.
pub const NAMES: [&str; 13] = [
    "load",
    "manifest",
    "backend",
    "voices",
    "texts",
    "audio",
    "progress",
    "words",
    "stop",
    "panic",
    "concurrent",
    "unknown_voice",
    "bad_speed",
];

struct Suite<'a> {
    report: Report,
    each: &'a mut dyn FnMut(&CheckResult),
    options: &'a Options,
}

impl Suite<'_> {
    fn add(&mut self, result: CheckResult) {
        (self.each)(&result);
        self.report.checks.push(result);
    }
    /// Skip every check not yet reported, for `why`.
    fn skip_rest(&mut self, why: &str) {
        for name in NAMES.iter().skip(self.report.checks.len()) {
            self.add(CheckResult::skip(name, why));
        }
    }
    fn request(&self, text: &str) -> SynthesisRequest {
        SynthesisRequest::new(self.report.model.as_deref().unwrap_or(""), text)
    }
    fn run(&self, request: SynthesisRequest, backend: &Arc<Backend>, plan: Plan) -> Recording {
        record::run(backend, request, plan, self.options.timeout)
    }
}

pub fn run(path: &Path, options: &Options, mut each: impl FnMut(&CheckResult)) -> Report {
    let report = Report { file: path.display().to_string(), plugin: None, model: None, passed: false, checks: vec![] };
    let mut suite = Suite { report, each: &mut each, options };
    if let Some(backend) = setup(&mut suite, path) {
        requests(&mut suite, &backend);
    }
    suite.report.passed = suite.report.checks.iter().all(|c| c.status != Status::Fail);
    suite.report
}

/// `load`, `manifest`, `backend`, `voices`: the live backend, or `None` when there is none.
fn setup(suite: &mut Suite, path: &Path) -> Option<Arc<Backend>> {
    let plugin = match plugin::load(path) {
        Ok(plugin) => plugin,
        Err(reason) => {
            suite.add(CheckResult::fail("load", reason));
            suite.skip_rest("the plugin did not load");
            return None;
        }
    };
    let info = &plugin.info;
    suite.report.plugin = Some(info.name.clone());
    let loaded = format!("{} {} (plugin API {}) through the host's loader", info.name, info.version, info.api_version);
    suite.add(CheckResult::pass("load", loaded));
    let (patterns, problems) = manifest(&plugin);
    let summary = format!("name, version, description, licence; patterns {}", info.patterns.join(" "));
    suite.add(CheckResult::from_problems("manifest", &problems, summary));

    let data_dir =
        suite.options.data_dir.clone().unwrap_or_else(|| paths::data_dir(suite.options.config.data_dir.as_deref()));
    let manager = Manager::new(suite.options.config.clone(), data_dir);
    let backend = match manager.get(&Arc::new(plugin)) {
        Ok(backend) => backend,
        Err(e) => {
            suite.add(CheckResult::fail("backend", e.to_string()));
            suite.skip_rest("there is no backend");
            return None;
        }
    };
    let model = suite.options.model.clone().unwrap_or_else(|| default_model(&backend, &patterns));
    suite.report.model = Some(model.clone());
    let mut problems = Vec::new();
    if !patterns.is_match(&model) {
        problems.push(format!("model '{model}' matches none of the plugin's patterns ({})", info_patterns(&backend)));
    }
    let rate = backend.info.sample_rate;
    if !(1..=384_000).contains(&rate) {
        problems.push(format!("its info declares a sample rate of {rate} Hz"));
    }
    let caps = backend.info.capabilities.names().join(", ");
    let created = format!("created; {rate} Hz; capabilities: {}", if caps.is_empty() { "none" } else { &caps });
    let failed = !problems.is_empty();
    suite.add(CheckResult::from_problems("backend", &problems, created));
    if failed {
        suite.skip_rest("the backend is not usable");
        return None;
    }
    suite.add(voices(&backend));
    Some(backend)
}

/// The manifest's rules: a plain name, a semver version, valid distinct glob patterns, a
/// description and a licence. Returns the patterns as a matcher too.
fn manifest(plugin: &LoadedPlugin) -> (GlobSet, Vec<String>) {
    let info = &plugin.info;
    let mut problems = Vec::new();
    if info.name.chars().any(|c| c.is_whitespace() || c == '/' || c == '.') {
        problems.push(format!("name '{}' has whitespace, '/' or '.' (it keys the config table)", info.name));
    }
    if let Err(e) = semver::Version::parse(&info.version) {
        problems.push(format!("version '{}' is not semver ({e})", info.version));
    }
    let mut set = GlobSetBuilder::new();
    for (i, pattern) in info.patterns.iter().enumerate() {
        if pattern.trim().is_empty() {
            problems.push(format!("pattern {} is empty", i + 1));
        } else if info.patterns[..i].contains(pattern) {
            problems.push(format!("pattern '{pattern}' is listed twice"));
        }
        match Glob::new(pattern) {
            Ok(glob) => {
                set.add(glob);
            }
            Err(e) => problems.push(format!("pattern '{pattern}' is not a valid glob: {}", e.kind())),
        }
    }
    if info.description.trim().is_empty() {
        problems.push("the description is empty".into());
    }
    if info.license.trim().is_empty() {
        problems.push("the licence is empty (an SPDX expression, e.g. MIT OR Apache-2.0)".into());
    }
    (set.build().unwrap_or_else(|_| GlobSet::empty()), problems)
}

fn info_patterns(backend: &Backend) -> String {
    backend.plugin.info.patterns.join(" ")
}

/// The first model the backend lists that its patterns route to it, else its first pattern with
/// the glob characters taken out.
fn default_model(backend: &Backend, patterns: &GlobSet) -> String {
    let listed = backend.info.models.iter().map(|m| m.id.to_string()).find(|id| patterns.is_match(id));
    listed.unwrap_or_else(|| {
        let first = backend.plugin.info.patterns.first().map_or("", String::as_str);
        first.replace(['*', '?', '[', ']', '{', '}'], "")
    })
}

fn voices(backend: &Backend) -> CheckResult {
    let voices = match backend.voices() {
        Ok(voices) => voices,
        Err(e) => return CheckResult::fail("voices", e.to_string()),
    };
    let ids: Vec<&str> = voices.iter().map(|v| v.id.as_str()).collect();
    let mut problems = Vec::new();
    if ids.is_empty() {
        problems.push("no voices listed".into());
    }
    if ids.iter().any(|id| id.trim().is_empty()) {
        problems.push("a voice has an empty id".into());
    }
    if let Some(dup) = ids.iter().enumerate().find_map(|(i, id)| ids[..i].contains(id).then_some(id)) {
        problems.push(format!("voice '{dup}' is listed twice"));
    }
    let default = backend.info.default_voice.as_str();
    if !default.is_empty() && !ids.contains(&default) {
        problems.push(format!("the default voice '{default}' is not among the {} listed", ids.len()));
    }
    let shown: Vec<&str> = ids.iter().take(5).copied().collect();
    let more = if ids.len() > 5 { ", ..." } else { "" };
    let passed = format!("{} listed ({}{more}); default '{default}'", ids.len(), shown.join(", "));
    CheckResult::from_problems("voices", &problems, passed)
}

/// Everything that makes requests.
fn requests(suite: &mut Suite, backend: &Arc<Backend>) {
    let caps = backend.info.capabilities;
    let texts = texts(suite, backend);
    let all: Vec<(&str, &Recording)> = texts.iter().map(|(l, r)| (*l, r)).collect();
    let finished: Vec<(&str, &Recording)> = all
        .iter()
        .copied()
        .filter(|(_, r)| matches!(r.ending, Ending::Done) && !r.stopped && !r.chunks.is_empty())
        .collect();

    let with_audio: Vec<_> = all.iter().copied().filter(|(_, r)| !r.chunks.is_empty()).collect();
    suite.add(match with_audio.is_empty() {
        true => CheckResult::skip("audio", "no request gave audio"),
        false => judge("audio", &with_audio, checks::audio, audio_summary(&with_audio)),
    });
    suite.add(match finished.is_empty() {
        true => CheckResult::skip("progress", "no request finished with audio"),
        false => judge("progress", &finished, checks::progress, "monotonic, ending at 1, for every finished text"),
    });
    suite.add(words(caps, &finished, suite.report.model.as_deref().unwrap_or("")));
    suite.add(stop(suite, backend, caps));
    suite.add(unusual(suite, backend));
    suite.add(concurrent(suite, backend));

    let mut request = suite.request(inputs::SHORT);
    request.voice = inputs::NO_SUCH_VOICE.into();
    let r = suite.run(request, backend, Plan::default());
    if caps.contains(Capabilities::REMOTE) && matches!(r.ending, Ending::Done) {
        let why = format!("a remote plugin passes voices to its server, which accepted '{}'", inputs::NO_SUCH_VOICE);
        suite.add(CheckResult::skip("unknown_voice", why));
    } else {
        let problems = checks::refused("voice", &r, &[ErrorKind::UNKNOWN_VOICE, ErrorKind::BAD_REQUEST]);
        suite.add(CheckResult::from_problems("unknown_voice", &problems, refusal(&r)));
    }

    let mut problems = Vec::new();
    for speed in inputs::BAD_SPEEDS {
        let mut request = suite.request(inputs::SHORT);
        request.speed = speed;
        let r = suite.run(request, backend, Plan::default());
        problems.extend(checks::refused(
            &format!("speed {speed}"),
            &r,
            &[ErrorKind::BAD_REQUEST, ErrorKind::UNSUPPORTED],
        ));
    }
    suite.add(CheckResult::from_problems("bad_speed", &problems, "NaN, 0, -1 and infinity refused before any audio"));
}

/// `texts`: each gives audio, or (where allowed) a clear refusal. Returns the recordings.
fn texts(suite: &mut Suite, backend: &Arc<Backend>) -> Vec<(&'static str, Recording)> {
    let mut problems = Vec::new();
    let mut outcomes = Vec::new();
    let mut recordings = Vec::new();
    for (label, text, must_speak, stop_early) in inputs::texts() {
        let plan = Plan { stop_at_audio: stop_early.then_some(1), ..Plan::default() };
        let r = suite.run(suite.request(&text), backend, plan);
        match &r.ending {
            Ending::TimedOut | Ending::Failed(_) if r.stopped => outcomes.push(format!("{label}: audio, then stopped")),
            Ending::TimedOut => problems.push(format!("{label}: no answer within {:?}", suite.options.timeout)),
            Ending::Failed(e) if !must_speak && checks::is_clear_refusal(e) && r.chunks.is_empty() => {
                outcomes.push(format!("{label}: refused ({})", e.kind.name()))
            }
            Ending::Failed(e) => problems.push(format!("{label}: {}", checks::describe(e))),
            Ending::Done if r.chunks.is_empty() => {
                problems.push(format!("{label}: finished with no audio and no error"))
            }
            Ending::Done if r.stopped => outcomes.push(format!("{label}: audio, then stopped")),
            Ending::Done => {
                outcomes.push(format!("{label}: {:.2} s in {}", r.seconds(), plural(r.chunks.len(), "chunk")))
            }
        }
        recordings.push((label, r));
    }
    suite.add(CheckResult::from_problems("texts", &problems, outcomes.join("; ")));
    recordings
}

/// Apply `rule` to every recording; pass with `passed` when none has a problem.
fn judge(
    name: &'static str,
    recordings: &[(&str, &Recording)],
    rule: fn(&str, &Recording) -> Vec<String>,
    passed: impl Into<String>,
) -> CheckResult {
    let problems: Vec<String> = recordings.iter().flat_map(|(label, r)| rule(label, r)).collect();
    CheckResult::from_problems(name, &problems, passed)
}

fn audio_summary(recordings: &[(&str, &Recording)]) -> String {
    let chunks: usize = recordings.iter().map(|(_, r)| r.chunks.len()).sum();
    let first = &recordings[0].1.chunks[0];
    format!("{chunks} chunks, {} Hz × {}, whole frames, finite samples", first.sample_rate, first.channels)
}

fn words(caps: Capabilities, finished: &[(&str, &Recording)], model: &str) -> CheckResult {
    if !caps.contains(Capabilities::WORD_TIMESTAMPS) {
        return CheckResult::skip("words", "plugin declares no word timestamps");
    }
    let timed: Vec<_> = finished.iter().copied().filter(|(l, _)| ["short", "long"].contains(l)).collect();
    if timed.iter().all(|(_, r)| r.words.is_empty()) {
        return CheckResult::skip(
            "words",
            format!(
                "the plugin declares word timestamps but pushed none for model '{model}' (some models or request options may be needed)"
            ),
        );
    }
    let count: usize = timed.iter().map(|(_, r)| r.words.len()).sum();
    judge(
        "words",
        &timed,
        checks::words,
        format!("{count} words: one per word, in order, inside the text and the audio"),
    )
}

fn stop(suite: &Suite, backend: &Arc<Backend>, caps: Capabilities) -> CheckResult {
    if !caps.contains(Capabilities::STREAMING) {
        return CheckResult::skip("stop", "plugin declares no streaming (its audio comes in one piece)");
    }
    let r = suite.run(suite.request(inputs::LONG), backend, Plan { stop_at_audio: Some(1), ..Plan::default() });
    if r.chunks.is_empty() {
        let why = match &r.ending {
            Ending::Failed(e) => checks::describe(e),
            _ => "no audio".into(),
        };
        return CheckResult::fail("stop", format!("the long text gave no audio to stop: {why}"));
    }
    let passed = match r.audio_after_stop {
        0 => "returned at the first stop".to_string(),
        n => format!("returned after {n} more chunk"),
    };
    CheckResult::from_problems("stop", &checks::stop(&r), passed)
}

/// `panic`: unusual requests each get audio or an error; a panic in the plugin comes back as an error.
fn unusual(suite: &Suite, backend: &Arc<Backend>) -> CheckResult {
    let model = suite.report.model.clone().unwrap_or_default();
    let (mut problems, mut spoke, mut refused, mut panics) = (Vec::new(), 0, 0, Vec::new());
    for (label, request) in inputs::unusual(&model) {
        let r = suite.run(request, backend, Plan { stop_at_audio: Some(1), ..Plan::default() });
        match &r.ending {
            Ending::TimedOut if !r.stopped => {
                problems.push(format!("{label}: no answer within {:?}", suite.options.timeout))
            }
            Ending::TimedOut => problems.push(format!("{label}: did not return after the sink answered stop")),
            Ending::Failed(e) if e.message.contains("panicked") => {
                panics.push(format!("{label} → {}", checks::describe(e)));
                refused += 1;
            }
            Ending::Failed(_) => refused += 1,
            Ending::Done => spoke += 1,
        }
    }
    let mut passed =
        format!("{} unusual requests answered ({spoke} with audio, {refused} with an error)", spoke + refused);
    if !panics.is_empty() {
        passed.push_str(&format!("; panics came back as errors: {}", panics.join("; ")));
    }
    CheckResult::from_problems("panic", &problems, passed)
}

fn concurrent(suite: &Suite, backend: &Arc<Backend>) -> CheckResult {
    let meeting = Arc::new(Meeting::default());
    let plan = Plan { meeting: Some(meeting.clone()), ..Plan::default() };
    let (request, timeout) = (suite.request(inputs::SHORT), suite.options.timeout);
    let (a, b) = std::thread::scope(|scope| {
        let one = scope.spawn(|| record::run(backend, request.clone(), plan.clone(), timeout));
        let two = record::run(backend, request.clone(), plan.clone(), timeout);
        (one.join(), two)
    });
    let Ok(a) = a else { return CheckResult::fail("concurrent", "the checker's request thread panicked") };
    let mut problems = Vec::new();
    for (label, r) in [("first", &a), ("second", &b)] {
        match &r.ending {
            Ending::Done if !r.chunks.is_empty() => {}
            Ending::Done => problems.push(format!("{label}: finished with no audio")),
            Ending::Failed(e) => problems.push(format!("{label}: {}", checks::describe(e))),
            Ending::TimedOut => problems.push(format!("{label}: no answer within {:?}", suite.options.timeout)),
        }
    }
    let overlap =
        if meeting.met() { "inside the plugin at once" } else { "though one ended before the other's first audio" };
    CheckResult::from_problems(
        "concurrent",
        &problems,
        format!("two requests on one backend both gave audio, {overlap}"),
    )
}

fn refusal(r: &Recording) -> String {
    match &r.ending {
        Ending::Failed(e) => format!("refused: {}", checks::describe(e)),
        _ => String::new(),
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}
