//! Routing model names to plugins.
//!
//! Precedence, in order:
//! 1. Aliases rewrite the name first: an exact alias (`tts-1` → `kokoro`), else the longest
//!    matching prefix rewrite (`openai_official_` → `openai/`). One rewrite, never chained.
//! 2. A pattern without glob characters equal to the name beats any glob.
//! 3. Among matching globs, the plugin with the higher configured `priority` wins, then the
//!    pattern with the longer literal prefix, then the plugin loaded first (folder order, then
//!    file name).

use crate::{config::Config, error::Error, plugin::LoadedPlugin};
use globset::{Glob, GlobMatcher};
use std::sync::Arc;

struct Entry {
    pattern: String,
    exact: bool,
    matcher: Option<GlobMatcher>,
    plugin: usize,
    priority: i32,
}

/// Model-name routing over the loaded plugins.
pub struct Registry {
    plugins: Vec<Arc<LoadedPlugin>>,
    entries: Vec<Entry>,
    aliases: Vec<(String, String)>,
    prefix_aliases: Vec<(String, String)>,
    default_model: String,
}

/// A resolved request target.
#[derive(Clone)]
pub struct Route {
    /// The model name after alias rewriting, as the plugin will see it.
    pub model: String,
    pub plugin: Arc<LoadedPlugin>,
}

impl Registry {
    pub fn new(plugins: Vec<LoadedPlugin>, config: &Config) -> Self {
        let plugins: Vec<Arc<LoadedPlugin>> = plugins.into_iter().map(Arc::new).collect();
        let mut entries = Vec::new();
        for (index, plugin) in plugins.iter().enumerate() {
            let priority = config.priority.get(&plugin.info.name).copied().unwrap_or(0);
            for pattern in &plugin.info.patterns {
                let exact = !pattern.contains(['*', '?', '[', '{']);
                let matcher = (!exact).then(|| Glob::new(pattern).ok().map(|g| g.compile_matcher())).flatten();
                entries.push(Entry { pattern: pattern.clone(), exact, matcher, plugin: index, priority });
            }
        }
        let mut prefix_aliases: Vec<(String, String)> =
            config.prefix_aliases.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
        prefix_aliases.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Self {
            plugins,
            entries,
            aliases: config.aliases.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
            prefix_aliases,
            default_model: config.default_model.clone(),
        }
    }

    pub fn plugins(&self) -> &[Arc<LoadedPlugin>] {
        &self.plugins
    }

    pub fn default_model(&self) -> &str {
        &self.default_model
    }

    /// Apply aliases to a model name (or the default model when none is given).
    pub fn rewrite(&self, model: Option<&str>) -> String {
        let name = model.map(str::trim).filter(|m| !m.is_empty()).unwrap_or(&self.default_model);
        if let Some((_, to)) = self.aliases.iter().find(|(from, _)| from == name) {
            return to.clone();
        }
        if let Some((from, to)) = self.prefix_aliases.iter().find(|(from, _)| name.starts_with(from.as_str())) {
            return format!("{to}{}", &name[from.len()..]);
        }
        name.to_string()
    }

    /// Find the plugin serving `model` (after aliases), or an error listing what is known.
    pub fn resolve(&self, model: Option<&str>) -> Result<Route, Error> {
        let name = self.rewrite(model);
        let exact = self.entries.iter().find(|e| e.exact && e.pattern == name);
        let best = exact.or_else(|| {
            self.entries.iter().filter(|e| e.matcher.as_ref().is_some_and(|m| m.is_match(&name))).max_by(|a, b| {
                a.priority
                    .cmp(&b.priority)
                    .then(literal_prefix(&a.pattern).cmp(&literal_prefix(&b.pattern)))
                    .then(b.plugin.cmp(&a.plugin))
            })
        });
        match best {
            Some(entry) => Ok(Route { model: name, plugin: self.plugins[entry.plugin].clone() }),
            None => Err(Error::UnknownModel { model: model.unwrap_or(&name).to_string(), known: self.known() }),
        }
    }

    /// "pattern (plugin), ..." for error messages.
    pub fn known(&self) -> String {
        if self.entries.is_empty() {
            return "none (no plugins loaded; see `chorus plugins`)".into();
        }
        let mut names: Vec<String> =
            self.entries.iter().map(|e| format!("{} ({})", e.pattern, self.plugins[e.plugin].info.name)).collect();
        names.extend(self.aliases.iter().map(|(a, b)| format!("{a} → {b}")));
        names.join(", ")
    }
}

fn literal_prefix(pattern: &str) -> usize {
    pattern.find(['*', '?', '[', '{']).unwrap_or(pattern.len())
}
