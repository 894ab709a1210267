//! Language selection: chorus language codes (`en-us`, `pt-BR`, `zh-cn`) to the codes AllTalk
//! accepts.
//!
//! The accepted set is the `language` pattern of `JSONInput` in erew123/alltalk_tts (branch
//! alltalkbeta) `tts_server.py`; `auto` makes the server detect the language itself
//! (`generate_audio` calls `detect_language`).

use chorus_plugin_api::PluginError;

/// Every code `/api/tts-generate` accepts.
pub const CODES: [&str; 19] = [
    "auto", "ar", "zh-cn", "zh", "cs", "nl", "en", "fr", "de", "hu", "hi", "it", "ja", "ko", "pl", "pt", "ru", "es",
    "tr",
];

/// The AllTalk code for `language`: an exact match (case-insensitive), else its primary subtag
/// (`en-gb` → `en`, `pt-br` → `pt`); Chinese variants other than `zh-cn` become `zh`.
pub fn to_alltalk(language: &str) -> Result<&'static str, PluginError> {
    let lang = language.trim().to_ascii_lowercase().replace('_', "-");
    if let Some(code) = CODES.iter().find(|c| **c == lang) {
        return Ok(code);
    }
    let primary = lang.split('-').next().unwrap_or_default();
    CODES.iter().find(|c| **c == primary).copied().ok_or_else(|| {
        PluginError::unsupported(format!("AllTalk does not speak '{language}'; it accepts: {}", CODES.join(", ")))
    })
}

/// The languages to advertise in chorus' own terms (every code but `auto`).
pub fn advertised() -> Vec<&'static str> {
    CODES.iter().copied().filter(|c| *c != "auto").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map() {
        assert_eq!(to_alltalk("en-us").unwrap(), "en");
        assert_eq!(to_alltalk("EN_GB").unwrap(), "en");
        assert_eq!(to_alltalk("zh-CN").unwrap(), "zh-cn");
        assert_eq!(to_alltalk("zh-tw").unwrap(), "zh");
        assert_eq!(to_alltalk("ja").unwrap(), "ja");
        assert_eq!(to_alltalk("auto").unwrap(), "auto");
        assert!(to_alltalk("sw").unwrap_err().message.contains("accepts"));
    }
}
