//! Pay-as-you-go API list prices per model, and their overrides from the config's `prices`
//! table (`[backends.cloud.prices."openai/tts-1"] usd_per_million_chars = 15`).
//!
//! Sources, read 2026-11-25 through the stored copies of the providers' pages:
//! - OpenAI model pages (developers.openai.com/api/docs/models/tts-1, …/tts-1-hd,
//!   …/gpt-4o-mini-tts): tts-1 $15.00 and tts-1-hd $30.00 per 1M characters; gpt-4o-mini-tts
//!   $0.60 per 1M text input tokens plus $12.00 per 1M audio output tokens, which OpenAI's
//!   pricing page estimates at $0.015 per minute of audio — so it is modelled here as
//!   input tokens (characters / 4) plus $0.015 per audio minute.
//! - ElevenLabs API pricing (elevenlabs.io/pricing/api, as summarised in June 2026): Multilingual
//!   v2/v3 $0.10 and Flash/Turbo $0.05 per 1K characters; the help centre's model-ID article
//!   agrees (Flash and Turbo cost one credit per two characters, other models one per character).
//!   Models not listed (newer ids) are priced at the higher Multilingual rate.

use chorus_plugin_api::{CostModel, ModelInfo, PluginError};
use serde_json::Value;

const OPENAI_SOURCE: &str = "OpenAI API list price (developers.openai.com model pages), as of 2026-11";
const ELEVEN_SOURCE: &str = "ElevenLabs API list price (elevenlabs.io/pricing/api), as of 2026-06";

fn per_chars(usd_per_million: f64, source: &str) -> CostModel {
    CostModel { usd_per_million_chars: usd_per_million, source: source.into(), ..Default::default() }
}

/// The known models with their default prices.
pub fn defaults() -> Vec<(&'static str, &'static str, CostModel)> {
    let mini_tts = CostModel {
        usd_per_million_input_tokens: 0.60,
        usd_per_audio_minute: 0.015,
        source: format!("{OPENAI_SOURCE}: $0.60/1M input tokens + $12/1M audio tokens (≈ $0.015/min)").into(),
        ..Default::default()
    };
    let multilingual = 100.0;
    let flash = 50.0;
    vec![
        ("openai/tts-1", "OpenAI TTS, optimised for speed", per_chars(15.0, OPENAI_SOURCE)),
        ("openai/tts-1-hd", "OpenAI TTS, optimised for quality", per_chars(30.0, OPENAI_SOURCE)),
        ("openai/gpt-4o-mini-tts", "OpenAI GPT-4o mini TTS, follows instructions", mini_tts.clone()),
        ("openai/gpt-4o-mini-tts-2025-12-15", "OpenAI GPT-4o mini TTS snapshot", mini_tts),
        ("elevenlabs/eleven_multilingual_v2", "ElevenLabs Multilingual v2", per_chars(multilingual, ELEVEN_SOURCE)),
        ("elevenlabs/eleven_v3", "ElevenLabs v3, most expressive", per_chars(multilingual, ELEVEN_SOURCE)),
        ("elevenlabs/eleven_flash_v2_5", "ElevenLabs Flash v2.5, lowest latency", per_chars(flash, ELEVEN_SOURCE)),
        ("elevenlabs/eleven_flash_v2", "ElevenLabs Flash v2 (English)", per_chars(flash, ELEVEN_SOURCE)),
        ("elevenlabs/eleven_turbo_v2_5", "ElevenLabs Turbo v2.5", per_chars(flash, ELEVEN_SOURCE)),
        ("elevenlabs/eleven_turbo_v2", "ElevenLabs Turbo v2 (English)", per_chars(flash, ELEVEN_SOURCE)),
    ]
}

/// The price for models not in the list.
pub fn default_cost() -> CostModel {
    per_chars(
        100.0,
        "ElevenLabs Multilingual rate, applied to models chorus does not list (set [backends.cloud.prices] to change)",
    )
}

/// The model list with overrides from `prices` applied; an override for an unlisted model adds it.
pub fn models(config: &Value) -> Result<(Vec<ModelInfo>, CostModel), PluginError> {
    let mut models: Vec<ModelInfo> = defaults()
        .into_iter()
        .map(|(id, description, cost)| ModelInfo { id: id.into(), description: description.into(), cost })
        .collect();
    let mut fallback = default_cost();
    let Some(prices) = config.get("prices") else { return Ok((models, fallback)) };
    let table = prices.as_object().ok_or_else(|| PluginError::not_configured("prices must be a table of model ids"))?;
    for (id, value) in table {
        let cost = parse_override(id, value)?;
        if id == "default" {
            fallback = cost;
        } else if let Some(m) = models.iter_mut().find(|m| m.id.as_str() == id) {
            m.cost = cost;
        } else {
            models.push(ModelInfo { id: id.as_str().into(), description: "configured price".into(), cost });
        }
    }
    Ok((models, fallback))
}

fn parse_override(id: &str, value: &Value) -> Result<CostModel, PluginError> {
    let table =
        value.as_object().ok_or_else(|| PluginError::not_configured(format!("prices.\"{id}\" must be a table")))?;
    let mut cost = CostModel { source: "configured in [backends.cloud.prices]".into(), ..Default::default() };
    for (key, v) in table {
        let number = || {
            v.as_f64().filter(|n| *n >= 0.0 && n.is_finite()).ok_or_else(|| {
                PluginError::not_configured(format!("prices.\"{id}\".{key} must be a number ≥ 0, got {v}"))
            })
        };
        match key.as_str() {
            "usd_per_million_chars" => cost.usd_per_million_chars = number()?,
            "usd_per_million_input_tokens" => cost.usd_per_million_input_tokens = number()?,
            "usd_per_audio_minute" => cost.usd_per_audio_minute = number()?,
            "source" => cost.source = v.as_str().unwrap_or_default().into(),
            other => {
                return Err(PluginError::not_configured(format!(
                    "prices.\"{id}\": unknown key '{other}' (use usd_per_million_chars, usd_per_million_input_tokens, usd_per_audio_minute, source)"
                )));
            }
        }
    }
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_prices() {
        let (models, _) = models(&Value::Null).unwrap();
        let price = |id: &str| models.iter().find(|m| m.id.as_str() == id).unwrap().cost.price(1_000_000, 60.0);
        assert!((price("openai/tts-1") - 15.0).abs() < 1e-9);
        assert!((price("openai/tts-1-hd") - 30.0).abs() < 1e-9);
        // 250k tokens at $0.60/1M + one minute at $0.015.
        assert!((price("openai/gpt-4o-mini-tts") - (0.15 + 0.015)).abs() < 1e-9);
        assert!((price("elevenlabs/eleven_flash_v2_5") - 50.0).abs() < 1e-9);
        assert!((price("elevenlabs/eleven_multilingual_v2") - 100.0).abs() < 1e-9);
    }

    #[test]
    fn overrides_replace_and_add() {
        let config: Value = serde_json::json!({"prices": {
            "openai/tts-1": {"usd_per_million_chars": 7.5},
            "elevenlabs/eleven_new": {"usd_per_million_chars": 1},
            "default": {"usd_per_audio_minute": 0.5}
        }});
        let (models, fallback) = models(&config).unwrap();
        assert_eq!(models.iter().find(|m| m.id.as_str() == "openai/tts-1").unwrap().cost.usd_per_million_chars, 7.5);
        assert!(models.iter().any(|m| m.id.as_str() == "elevenlabs/eleven_new"));
        assert_eq!(fallback.usd_per_audio_minute, 0.5);
        let bad = serde_json::json!({"prices": {"openai/tts-1": {"usd_per_char": 1}}});
        assert!(super::models(&bad).is_err());
    }
}
