//! Routing model names to plugins.
//!
//! Precedence, in order:
//! 1. Aliases rewrite the name first: an exact alias (`tts-1` → `kokoro`), else the longest
//!    matching prefix rewrite (`openai_official_` → `openai/`). One rewrite, never chained.
//! 2. A pattern without glob characters equal to the name beats any glob.
//! 3. Among matching globs, the plugin with the higher configured `priority` wins, then the
//!    pattern with the longer literal prefix, then the plugin loaded first (folder order, then
//!    file name).
//!
//! A pattern that is not a valid glob never gets here: the loader rejects its plugin.

use crate::{
    config::Config,
    error::Error,
    plugin::{Absent, LoadedPlugin},
};
use globset::{Glob, GlobMatcher};
use std::sync::Arc;

/// The characters that make a pattern a glob rather than an exact name.
const GLOB_CHARS: [char; 4] = ['*', '?', '[', '{'];

/// A model-name pattern: an exact name, or a glob (`*`, `?`, `[abc]`, `{a,b}`).
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    glob: Option<GlobMatcher>,
}

impl Pattern {
    /// The pattern `text`, or why it can never match.
    pub fn new(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("an empty pattern".into());
        }
        let glob = if text.contains(GLOB_CHARS) {
            Some(Glob::new(text).map_err(|e| format!("'{text}' is not a valid glob ({})", e.kind()))?.compile_matcher())
        } else {
            None
        };
        Ok(Self { text: text.to_string(), glob })
    }

    fn is_exact(&self) -> bool {
        self.glob.is_none()
    }

    fn matches(&self, name: &str) -> bool {
        match &self.glob {
            Some(glob) => glob.is_match(name),
            None => self.text == name,
        }
    }

    /// How many characters come before the first glob character.
    fn literal_prefix(&self) -> usize {
        self.text.find(GLOB_CHARS).unwrap_or(self.text.len())
    }
}

struct Entry {
    pattern: Pattern,
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
    absent: Vec<Absent>,
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
            // The loader checked every pattern; one that fails here cannot match anything anyway.
            for pattern in plugin.info.patterns.iter().filter_map(|p| Pattern::new(p).ok()) {
                entries.push(Entry { pattern, plugin: index, priority });
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
            absent: Vec::new(),
        }
    }

    /// The same routing, told which plugins were not built here (named in an unknown model's error).
    pub fn with_absent(mut self, absent: Vec<Absent>) -> Self {
        self.absent = absent;
        self
    }

    pub fn absent(&self) -> &[Absent] {
        &self.absent
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
        match pick(&self.entries, &name) {
            Some(entry) => Ok(Route { model: name, plugin: self.plugins[entry.plugin].clone() }),
            None => Err(Error::UnknownModel { model: model.unwrap_or(&name).to_string(), known: self.known() }),
        }
    }

    /// "pattern (plugin), ..." for error messages, then the plugins not built here and why.
    pub fn known(&self) -> String {
        let mut known = if self.entries.is_empty() {
            "none (no plugins loaded; see `chorus plugins`)".to_string()
        } else {
            let mut names: Vec<String> = self
                .entries
                .iter()
                .map(|e| format!("{} ({})", e.pattern.text, self.plugins[e.plugin].info.name))
                .collect();
            names.extend(self.aliases.iter().map(|(a, b)| format!("{a} → {b}")));
            names.join(", ")
        };
        for a in &self.absent {
            known.push_str(&format!("; {} is not built here: {}", a.name, a.reason));
        }
        known
    }
}

/// The entry serving `name`: an exact pattern equal to it, else among matching globs the higher
/// priority, then the longer literal prefix, then the plugin loaded first.
fn pick<'a>(entries: &'a [Entry], name: &str) -> Option<&'a Entry> {
    let exact = entries.iter().find(|e| e.pattern.is_exact() && e.pattern.matches(name));
    exact.or_else(|| {
        entries.iter().filter(|e| !e.pattern.is_exact() && e.pattern.matches(name)).min_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(b.pattern.literal_prefix().cmp(&a.pattern.literal_prefix()))
                .then(a.plugin.cmp(&b.plugin))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries from `(pattern, plugin index in load order, priority)`.
    fn entries(table: &[(&str, usize, i32)]) -> Vec<Entry> {
        table
            .iter()
            .map(|&(p, plugin, priority)| Entry { pattern: Pattern::new(p).unwrap(), plugin, priority })
            .collect()
    }

    /// For each `(name, expected pattern)`, the pattern `pick` chooses among `table`.
    fn check(table: &[(&str, usize, i32)], cases: &[(&str, Option<&str>)]) {
        let entries = entries(table);
        for &(name, expected) in cases {
            let got = pick(&entries, name).map(|e| e.pattern.text.as_str());
            assert_eq!(got, expected, "routing '{name}' among {table:?}");
        }
    }

    #[test]
    fn an_exact_name_beats_every_glob_whatever_its_priority_or_order() {
        let table = [("kok*", 0, 10), ("kokoro*", 1, 5), ("kokoro", 2, -3), ("kokoro-hd", 3, 0)];
        check(
            &table,
            &[
                ("kokoro", Some("kokoro")),
                ("kokoro-hd", Some("kokoro-hd")),
                ("kokoro-x", Some("kok*")),
                ("Kokoro", None),
                ("other", None),
            ],
        );
    }

    #[test]
    fn among_globs_the_higher_priority_wins_before_prefix_and_order() {
        let table = [("openai/*", 0, 0), ("*", 1, 1), ("open*", 2, 5), ("openai/tts-*", 3, -1)];
        check(
            &table,
            &[
                ("openai/tts-1", Some("open*")),
                ("openai/gpt", Some("open*")),
                ("opentts", Some("open*")),
                ("kokoro", Some("*")),
            ],
        );
    }

    #[test]
    fn at_equal_priority_the_longer_literal_prefix_wins() {
        let table = [("*", 0, 0), ("openai/*", 1, 0), ("openai/tts-?", 2, 0), ("openai/tts-[12]-hd", 3, 0)];
        check(
            &table,
            &[
                ("openai/tts-1", Some("openai/tts-?")),
                ("openai/tts-1-hd", Some("openai/tts-[12]-hd")),
                ("openai/gpt-4o-mini-tts", Some("openai/*")),
                ("elevenlabs/x", Some("*")),
            ],
        );
    }

    #[test]
    fn at_equal_priority_and_prefix_the_plugin_loaded_first_wins() {
        let table = [("x-{a,b}", 1, 0), ("x-*", 0, 0), ("x-?", 2, 0), ("y*", 3, 0), ("y?", 4, 0)];
        check(&table, &[("x-a", Some("x-*")), ("x-c", Some("x-*")), ("yy", Some("y*")), ("y", Some("y*"))]);
    }

    #[test]
    fn a_pattern_that_is_not_a_valid_glob_is_refused_with_the_reason() {
        for (bad, why) in [("kokoro[", "unclosed character class"), ("a{b", "unclosed alternate group"), (" ", "empty")]
        {
            let e = Pattern::new(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        for good in ["kokoro", "openai/*", "x-[ab]", "{a,b}-1", "kokoro]"] {
            assert!(Pattern::new(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn aliases_rewrite_once_exact_before_the_longest_prefix() {
        let config = Config::parse(
            "default_model = \"dflt\"\n[aliases]\nnarrator = \"kokoro\"\n\"my_x\" = \"exact\"\n\
             [prefix_aliases]\n\"my_\" = \"kokoro/\"\n\"my_long_\" = \"long/\"\n\"kokoro/\" = \"never/\"\n",
        )
        .unwrap();
        let registry = Registry::new(Vec::new(), &config);
        for (model, rewritten) in [
            (Some("narrator"), "narrator→kokoro"),
            (Some("my_x"), "my_x→exact"),
            (Some("my_long_y"), "my_long_y→long/y"),
            (Some("my_y"), "my_y→kokoro/y"),
            (Some("plain"), "plain→plain"),
            (None, "None→dflt"),
            (Some("  "), "  →dflt"),
        ] {
            let shown = format!("{}→{}", model.map_or("None".into(), str::to_string), registry.rewrite(model));
            assert_eq!(shown, rewritten);
        }
    }
}
