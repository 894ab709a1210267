//! `describe` → `info`: one `tts` program per plugin (a model family), each with its voices, and
//! the voice a `synthesize` names resolved back to a model and a voice.
//!
//! A voice's Wyoming name is `MODEL:VOICE` (`kokoro:af_heart`, `openai/tts-1:coral`), so every
//! name routes on its own whatever program the connection selected. A bare name (`af_heart`) is a
//! voice of the selected program (`select-program`), else of the first one, which is the default
//! model's: Home Assistant lists the first installed program's voices.

use super::frame::Frame;
use crate::Chorus;
use serde_json::{Value, json};
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How long a built catalog is served before the backends are asked again.
const FRESH: Duration = Duration::from_secs(60);

/// One voice of a program.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramVoice {
    /// `MODEL:VOICE`.
    pub name: String,
    /// The voice id the backend takes.
    pub id: String,
    /// Wyoming-style codes (`en_US`).
    pub languages: Vec<String>,
    pub description: String,
}

/// One `tts` program: a plugin, the model its requests are sent as, its voices.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub name: String,
    pub model: String,
    pub description: String,
    pub version: String,
    pub voices: Vec<ProgramVoice>,
}

/// What `synthesize` asks for in its `voice` field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VoiceSpec {
    pub name: Option<String>,
    pub language: Option<String>,
}

impl VoiceSpec {
    pub fn from_data(data: &serde_json::Map<String, Value>) -> Self {
        let voice = data.get("voice").and_then(Value::as_object);
        let field = |key: &str| {
            voice
                .and_then(|v| v.get(key))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        VoiceSpec { name: field("name"), language: field("language") }
    }
}

/// The programs, default model's first.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub programs: Vec<Program>,
}

/// `en-us` → `en_US`, as Wyoming's voices name languages.
fn wyoming_language(code: &str) -> String {
    match code.split_once(['-', '_']) {
        Some((lang, region)) => format!("{}_{}", lang.to_lowercase(), region.to_uppercase()),
        None => code.to_lowercase(),
    }
}

/// Whether Wyoming language `asked` (`en`, `en_US`, `en-us`) covers `voice` (`en_US`).
fn language_matches(asked: &str, voice: &str) -> bool {
    let asked = wyoming_language(asked);
    voice == asked || (!asked.contains('_') && voice.split('_').next() == Some(asked.as_str()))
}

/// The model a plugin's program sends: the default model when it routes there, else the first
/// model its backend lists, else its first pattern's literal part.
fn program_model(chorus: &Chorus, plugin: &str, listed: &[String]) -> Option<String> {
    let registry = chorus.registry();
    let routes_here = |name: &str| registry.resolve(Some(name)).is_ok_and(|r| r.plugin.info.name == plugin);
    let default = registry.default_model().to_string();
    let patterns = registry.plugins().iter().filter(|p| p.info.name == plugin).flat_map(|p| p.info.patterns.clone());
    let literals = patterns.map(|p| p.split(['*', '?', '[', '{']).next().unwrap_or_default().to_string());
    std::iter::once(default)
        .chain(listed.iter().cloned())
        .chain(literals)
        .find(|name| !name.is_empty() && routes_here(name))
}

impl Catalog {
    /// Ask every plugin's backend (creating it if need be: this blocks) for its voices. A plugin
    /// whose backend cannot be made or cannot list voices has no program; the reason is logged.
    pub fn build(chorus: &Chorus) -> Catalog {
        let default_plugin = chorus.registry().resolve(None).ok().map(|r| r.plugin.info.name.clone());
        let mut programs = Vec::new();
        for plugin in chorus.plugins() {
            let name = plugin.info.name.clone();
            let made = chorus.manager().get(plugin).and_then(|backend| Ok((backend.voices()?, backend)));
            let (voices, backend) = match made {
                Ok(made) => made,
                Err(e) => {
                    eprintln!("chorus serve: wyoming: no program for plugin '{name}': {e}");
                    continue;
                }
            };
            let listed: Vec<String> = backend.info.models.iter().map(|m| m.id.to_string()).collect();
            let Some(model) = program_model(chorus, &name, &listed) else { continue };
            let fallback: Vec<String> = backend.info.languages.iter().map(|l| wyoming_language(l)).collect();
            let mut voices: Vec<ProgramVoice> = voices
                .iter()
                .map(|v| ProgramVoice {
                    name: format!("{model}:{}", v.id),
                    id: v.id.to_string(),
                    languages: if v.language.is_empty() {
                        fallback.clone()
                    } else {
                        vec![wyoming_language(&v.language)]
                    },
                    description: [v.name.as_str(), v.description.as_str()]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect();
            if voices.is_empty() {
                // A backend that lists no voices (an OpenAI-compatible server without a voice
                // list) still speaks with its default one.
                let id = backend.info.default_voice.to_string();
                voices.push(ProgramVoice {
                    name: format!("{model}:{id}"),
                    id,
                    languages: fallback,
                    description: format!("{name} default voice"),
                });
            }
            let program = Program {
                name,
                model,
                description: plugin.info.description.clone(),
                version: plugin.info.version.clone(),
                voices,
            };
            if default_plugin.as_deref() == Some(program.name.as_str()) {
                programs.insert(0, program);
            } else {
                programs.push(program);
            }
        }
        Catalog { programs }
    }

    /// The `info` event.
    pub fn info(&self) -> Frame {
        let attribution = json!({"name": "chorus", "url": env!("CARGO_PKG_REPOSITORY")});
        let tts: Vec<Value> = self
            .programs
            .iter()
            .map(|p| {
                let voices: Vec<Value> = p
                    .voices
                    .iter()
                    .map(|v| {
                        json!({"name": v.name, "attribution": attribution, "installed": true,
                               "description": v.description, "version": null, "languages": v.languages,
                               "speakers": null})
                    })
                    .collect();
                json!({"name": p.name, "attribution": attribution, "installed": true,
                       "description": format!("{} (chorus, model {})", p.description, p.model),
                       "version": p.version, "voices": voices, "supports_synthesize_streaming": true})
            })
            .collect();
        let info = json!({"asr": [], "tts": tts, "handle": [], "intent": [], "wake": [], "mic": [], "snd": []});
        Frame::new("info", info)
    }

    /// Whether a program is called `name`.
    pub fn has_program(&self, name: &str) -> bool {
        self.programs.iter().any(|p| p.name == name)
    }

    /// The (model, voice) to synthesize with, or why there is none. `selected` is the
    /// connection's program, if it chose one.
    pub fn resolve(
        &self,
        chorus: &Chorus,
        selected: Option<&str>,
        spec: &VoiceSpec,
    ) -> Result<(String, Option<String>), String> {
        let program = selected.and_then(|s| self.programs.iter().find(|p| p.name == s)).or(self.programs.first());
        if let Some(name) = &spec.name {
            if let Some(voice) =
                self.programs.iter().flat_map(|p| p.voices.iter().map(move |v| (p, v))).find(|(_, v)| &v.name == name)
            {
                return Ok((voice.0.model.clone(), Some(voice.1.id.clone())));
            }
            if let Some((model, voice)) = name.rsplit_once(':')
                && chorus.registry().resolve(Some(model)).is_ok()
            {
                return Ok((model.to_string(), Some(voice.to_string()).filter(|v| !v.is_empty())));
            }
            let program =
                program.ok_or("no plugin can speak here: every backend failed to start (see the server's log)")?;
            return Ok((program.model.clone(), Some(name.clone())));
        }
        let program =
            program.ok_or("no plugin can speak here: every backend failed to start (see the server's log)")?;
        if let Some(language) = &spec.language {
            let voice = program.voices.iter().find(|v| v.languages.iter().any(|l| language_matches(language, l)));
            return match voice {
                Some(voice) => Ok((program.model.clone(), Some(voice.id.clone()))),
                None => Err(format!("program '{}' has no voice for language '{language}'", program.name)),
            };
        }
        Ok((program.model.clone(), None))
    }
}

/// A catalog and when it was built.
type Built = (Instant, Arc<Catalog>);

/// A catalog built at most once a minute, shared by every connection.
#[derive(Clone, Default)]
pub struct Catalogs {
    cached: Arc<Mutex<Option<Built>>>,
}

impl Catalogs {
    /// The current catalog, rebuilt off the async workers when it is stale.
    pub async fn get(&self, chorus: Arc<Chorus>) -> Arc<Catalog> {
        if let Some((built, catalog)) = self.cached.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && built.elapsed() < FRESH
        {
            return catalog.clone();
        }
        let catalog = Arc::new(tokio::task::spawn_blocking(move || Catalog::build(&chorus)).await.unwrap_or_default());
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), catalog.clone()));
        catalog
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_written_and_matched_as_wyoming_does() {
        assert_eq!(wyoming_language("en-us"), "en_US");
        assert_eq!(wyoming_language("ja"), "ja");
        assert!(language_matches("en", "en_US"));
        assert!(language_matches("en-US", "en_US"));
        assert!(!language_matches("en_GB", "en_US"));
        assert!(!language_matches("e", "en_US"));
    }
}
