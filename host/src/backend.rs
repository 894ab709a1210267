//! The backend manager: creates each plugin's backend lazily, once, with its config table.

use crate::{config::Config, error::Error, plugin::LoadedPlugin};
use abi_stable::std_types::RResult;
use chorus_plugin_api::{BackendBox, BackendInfo, Voice};
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

/// A live backend of one plugin.
pub struct Backend {
    pub plugin: Arc<LoadedPlugin>,
    pub inner: BackendBox,
    pub info: BackendInfo,
}

impl Backend {
    pub fn name(&self) -> &str {
        &self.plugin.info.name
    }

    pub fn voices(&self) -> Result<Vec<Voice>, Error> {
        match self.inner.voices() {
            RResult::ROk(voices) => Ok(voices.into_vec()),
            RResult::RErr(e) => {
                Err(Error::Backend { plugin: self.name().to_string(), kind: e.kind, message: e.message.into() })
            }
        }
    }
}

/// Creates backends on first use and keeps them. A failed creation is not cached: the next
/// request tries again (the user may have fixed the config or started the server meanwhile).
pub struct Manager {
    config: Config,
    data_dir: PathBuf,
    backends: Mutex<HashMap<String, Arc<Backend>>>,
    /// One lock per plugin so two first requests do not build the same backend twice.
    creating: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Manager {
    pub fn new(config: Config, data_dir: PathBuf) -> Self {
        Self { config, data_dir, backends: Mutex::default(), creating: Mutex::default() }
    }

    /// The backend of `plugin`, created now if needed.
    pub fn get(&self, plugin: &Arc<LoadedPlugin>) -> Result<Arc<Backend>, Error> {
        let name = plugin.info.name.clone();
        if let Some(b) = lock(&self.backends).get(&name) {
            return Ok(b.clone());
        }
        let gate = lock(&self.creating).entry(name.clone()).or_default().clone();
        let _guard = lock(&gate);
        if let Some(b) = lock(&self.backends).get(&name) {
            return Ok(b.clone());
        }
        let json = self.config.backend_json(&name, &self.data_dir);
        let inner = match (plugin.module.new_backend())(json.as_str().into()) {
            RResult::ROk(inner) => inner,
            RResult::RErr(e) => {
                return Err(Error::BackendInit { plugin: name, kind: e.kind, message: e.message.into() });
            }
        };
        let info = inner.info();
        let backend = Arc::new(Backend { plugin: plugin.clone(), inner, info });
        lock(&self.backends).insert(name, backend.clone());
        Ok(backend)
    }

    /// Backends created so far.
    pub fn created(&self) -> Vec<Arc<Backend>> {
        lock(&self.backends).values().cloned().collect()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
