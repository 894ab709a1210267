//! chorus-host: loads speech-engine plugins and turns requests into streams of audio events.
//!
//! [`Chorus`] is the library API: open it (plugin folders and config resolved by the documented
//! precedence in [`paths`]), then [`Chorus::synthesize`] a [`Request`] into a [`SynthesisStream`]
//! of [`Event`]s. The `chorus` binary (CLI and HTTP server) is built on the same API.

pub mod audio;
pub mod backend;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod error;
pub mod ledger;
pub mod paths;
pub mod plugin;
pub mod registry;
pub mod request;
pub mod server;
pub mod stream;
pub mod textstream;
pub mod wyoming;

pub use backend::{Backend, Manager};
pub use config::Config;
pub use error::{Error, Result};
pub use registry::{Registry, Route};
pub use request::Request;
pub use stream::{AudioChunk, Event, ProgressUpdate, Report, SynthesisStream, Word};

use abi_stable::{sabi_trait::TD_Opaque, std_types::RResult};
use chorus_plugin_api::{FfiSink_TO, Voice};
use plugin::{Absent, LoadedPlugin, Rejected};
use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, atomic::AtomicBool},
    time::Instant,
};
use stream::{HostSink, Tally};
use tokio::sync::mpsc;

/// Events buffered between a plugin and its consumer before the plugin waits.
pub const DEFAULT_CHANNEL_CAPACITY: usize = 4;

/// Where to look, as given on the command line (or by a library caller).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--plugins DIR`, repeatable; replaces every default when given.
    pub plugin_dirs: Vec<PathBuf>,
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
}

/// The host: loaded plugins, routing, live backends.
pub struct Chorus {
    config: Config,
    config_file: Option<PathBuf>,
    data_dir: PathBuf,
    plugin_dirs: Vec<PathBuf>,
    registry: Registry,
    manager: Manager,
    rejected: Vec<Rejected>,
    channel_capacity: usize,
    /// The usage ledger's writer; the file is opened on the first finished request.
    ledger: Arc<ledger::Writer>,
}

impl Chorus {
    /// Resolve config and plugin folders by their precedence, load the config and every plugin.
    pub fn open(options: &Options) -> Result<Self> {
        let config_file = paths::config_file(options.config_file.as_deref());
        let config = match &config_file {
            Some(path) => {
                if options.config_file.is_some() && !path.exists() {
                    return Err(Error::Config { path: path.clone(), message: "no such file".into() });
                }
                Config::load(path)?
            }
            None => Config::default(),
        };
        let dirs = paths::plugin_dirs(&options.plugin_dirs, &config.plugin_dirs);
        let mut chorus = Self::with_config(config, &dirs);
        chorus.config_file = config_file;
        Ok(chorus)
    }

    /// A host over `config` with plugins from exactly `plugin_dirs`.
    pub fn with_config(config: Config, plugin_dirs: &[PathBuf]) -> Self {
        let (loaded, rejected) = plugin::discover(plugin_dirs);
        // A note for a plugin that did load is stale (built since): not worth a word.
        let absent: Vec<_> =
            plugin::absent(plugin_dirs).into_iter().filter(|a| !loaded.iter().any(|p| p.info.name == a.name)).collect();
        let data_dir = paths::data_dir(config.data_dir.as_deref());
        let ledger = Arc::new(ledger::Writer::new(ledger::Ledger::path_in(&data_dir)));
        Self {
            registry: Registry::new(loaded, &config).with_absent(absent),
            manager: Manager::new(config.clone(), data_dir.clone()),
            config,
            config_file: None,
            data_dir,
            plugin_dirs: plugin_dirs.to_vec(),
            rejected,
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
            ledger,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    pub fn plugin_dirs(&self) -> &[PathBuf] {
        &self.plugin_dirs
    }
    pub fn plugins(&self) -> &[Arc<LoadedPlugin>] {
        self.registry.plugins()
    }
    pub fn rejected(&self) -> &[Rejected] {
        &self.rejected
    }
    /// Plugins a packager could not build here (`NAME.absent` notes), with why.
    pub fn absent(&self) -> &[Absent] {
        self.registry.absent()
    }
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// The usage ledger's writer (`<data_dir>/usage.sqlite3`): [`ledger::Writer::flush`] waits
    /// for the requests finished so far to be written, `stats` counts what was and was not.
    pub fn ledger(&self) -> &ledger::Writer {
        &self.ledger
    }

    /// The price of `model` on `backend`: the config's override, else what the backend declares.
    pub fn price(&self, backend: &Backend, model: &str) -> chorus_plugin_api::CostModel {
        self.config.price_override(backend.name(), model).unwrap_or_else(|| price_of(backend, model))
    }

    /// Events buffered between plugin and consumer (at least 1).
    pub fn set_channel_capacity(&mut self, capacity: usize) {
        self.channel_capacity = capacity.max(1);
    }

    /// The route and live backend for `model` (default model when `None`).
    pub fn backend(&self, model: Option<&str>) -> Result<(Route, Arc<Backend>)> {
        let route = self.registry.resolve(model)?;
        let backend = self.manager.get(&route.plugin)?;
        Ok((route, backend))
    }

    /// The voices of the backend serving `model`.
    pub fn voices(&self, model: Option<&str>) -> Result<Vec<Voice>> {
        self.backend(model)?.1.voices()
    }

    /// Check the text against the input limits.
    pub fn validate_text(&self, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::EmptyText);
        }
        let len = text.chars().count();
        if len > self.config.max_input_chars {
            return Err(Error::TextTooLong { len, max: self.config.max_input_chars });
        }
        Ok(())
    }

    /// The voice the backend will be asked for, after the config's voice aliases.
    pub fn resolve_voice(&self, plugin: &str, voice: Option<&str>) -> Option<String> {
        let voice = voice.map(str::trim).filter(|v| !v.is_empty())?;
        let mapped = self.config.voice_aliases.get(plugin).and_then(|table| table.get(voice));
        Some(mapped.map_or(voice, String::as_str).to_string())
    }

    /// Start a synthesis. Input and routing errors return here; backend errors (including a
    /// failure to create the backend) arrive as the stream's [`Event::Error`].
    pub fn synthesize(&self, mut request: Request) -> Result<SynthesisStream> {
        self.validate_text(&request.text)?;
        let route = self.registry.resolve(request.model.as_deref())?;
        request.voice = self.resolve_voice(&route.plugin.info.name, request.voice.as_deref());
        let (tx, rx) = mpsc::channel(self.channel_capacity);
        let cancel = Arc::new(AtomicBool::new(false));
        let stream = SynthesisStream {
            rx,
            cancel: cancel.clone(),
            model: route.model.clone(),
            plugin: route.plugin.info.name.clone(),
        };
        let backend = self.manager.get(&route.plugin);
        let usage = Usage {
            ledger: self.ledger.clone(),
            price: self.config.price_override(&route.plugin.info.name, &route.model),
        };
        std::thread::Builder::new()
            .name(format!("chorus-{}", route.plugin.info.name))
            .spawn(move || run(backend, route, request, tx, cancel, usage))
            .map_err(Error::Spawn)?;
        Ok(stream)
    }
}

/// How long dropping a [`Chorus`] waits for the ledger writer to finish what it was given: a
/// failing write gives up after the busy timeout, so this is one failed batch and a good one.
pub const LEDGER_FLUSH_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Drop for Chorus {
    /// A process that ends right after its last request (`chorus speak`) still records it; a
    /// request still running when the host goes is not recorded (the data folder may be gone).
    fn drop(&mut self) {
        self.ledger.close(LEDGER_FLUSH_LIMIT);
    }
}

/// Where a finished request is recorded, and the config's price for it (which wins).
struct Usage {
    ledger: Arc<ledger::Writer>,
    price: Option<chorus_plugin_api::CostModel>,
}

/// The synthesis thread: call the plugin, record usage, then send the closing event.
fn run(
    backend: Result<Arc<Backend>>,
    route: Route,
    request: Request,
    tx: mpsc::Sender<Event>,
    cancel: Arc<AtomicBool>,
    usage: Usage,
) {
    let started = Instant::now();
    let backend = match backend {
        Ok(backend) => backend,
        Err(e) => {
            let _ = stream::send_blocking(&tx, Event::Error(e));
            return;
        }
    };
    let tally = Arc::new(Mutex::new(Tally::default()));
    let sink = HostSink { tx: tx.clone(), cancel, started, tally: tally.clone() };
    let ffi_request = request.to_ffi(&route.model);
    let result = backend.inner.synthesize(&ffi_request, FfiSink_TO::from_value(sink, TD_Opaque));
    let tally = backend::lock(&tally).clone();
    let event = match result {
        RResult::ROk(summary) => {
            let wall = started.elapsed().as_secs_f64();
            let characters = request.text.chars().count();
            let cost = if let Some(price) = &usage.price {
                price.price(characters as u64, tally.audio_seconds)
            } else if summary.cost_usd >= 0.0 {
                summary.cost_usd
            } else {
                price_of(&backend, &route.model).price(characters as u64, tally.audio_seconds)
            };
            let voice = request.voice.clone().unwrap_or_else(|| backend.info.default_voice.to_string());
            usage.ledger.submit(ledger::Entry {
                plugin: backend.name().to_string(),
                model: route.model.clone(),
                voice: voice.clone(),
                characters: characters as u64,
                audio_seconds: tally.audio_seconds,
                cost_usd: cost,
            });
            Event::Done(Report {
                model: route.model.clone(),
                plugin: backend.name().to_string(),
                voice,
                characters,
                audio_seconds: tally.audio_seconds,
                first_audio_ms: tally.first_audio_ms,
                wall_ms: wall * 1e3,
                x_realtime: if wall > 0.0 { tally.audio_seconds / wall } else { 0.0 },
                chunks: tally.audio_chunks,
                cost_usd: cost,
            })
        }
        RResult::RErr(e) => {
            Event::Error(Error::Backend { plugin: backend.name().to_string(), kind: e.kind, message: e.message.into() })
        }
    };
    // The consumer may end the process as soon as it sees the closing event. If this thread still
    // held the backend then and its reference were the last, the plugin's teardown (ONNX Runtime
    // sessions, for Kokoro) would run here, racing the process's exit and the C++ runtime's static
    // destructors (seen once as "double free or corruption" at the end of a bench run). Let go
    // first: the host's own reference then ends it, before exit.
    drop(backend);
    let _ = stream::send_blocking(&tx, event);
}

/// The price model of `model` on `backend`: its listed model, else the backend's default.
pub fn price_of(backend: &Backend, model: &str) -> chorus_plugin_api::CostModel {
    backend
        .info
        .models
        .iter()
        .find(|m| m.id.as_str() == model)
        .map_or_else(|| backend.info.default_cost.clone(), |m| m.cost.clone())
}
