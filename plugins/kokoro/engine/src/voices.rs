//! The voice pack: loading it, describing each voice, and resolving blends like `jf_alpha(2)+jm_kumo(1)`.

use crate::npy::{self, NpyError};
use chorus_plugin_api::{PluginError, Voice};
use std::path::Path;

/// Floats in one style vector.
pub const STYLE_DIM: usize = 256;

/// Every voice of a pack: per voice, `rows` style vectors of [`STYLE_DIM`] floats.
pub struct VoicePack {
    voices: Vec<(String, Vec<f32>)>,
    rows: usize,
}

/// A voice or a blend, resolved to weights over the pack's voices.
#[derive(Debug, Clone, PartialEq)]
pub struct Blend {
    pub parts: Vec<(usize, f32)>,
}

impl VoicePack {
    pub fn load(path: &Path) -> Result<Self, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let arrays =
            npy::read_npz(std::io::BufReader::new(file)).map_err(|e: NpyError| format!("{}: {e}", path.display()))?;
        Self::from_arrays(arrays).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_arrays(arrays: Vec<(String, npy::Array)>) -> Result<Self, String> {
        let mut rows = None;
        let mut voices = Vec::with_capacity(arrays.len());
        for (name, array) in arrays {
            let n = array.data.len() / STYLE_DIM;
            if array.shape.last() != Some(&STYLE_DIM) || n == 0 {
                return Err(format!("voice {name} has shape {:?}; expected [rows, 1, {STYLE_DIM}]", array.shape));
            }
            rows = Some(rows.map_or(n, |r: usize| r.min(n)));
            voices.push((name, array.data));
        }
        if voices.is_empty() {
            return Err("the file holds no voices".into());
        }
        voices.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Self { voices, rows: rows.unwrap_or(0) })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.voices.iter().map(|(n, _)| n.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.voices.iter().any(|(n, _)| n == name)
    }

    /// Parse `name`, `a+b` or `a(2)+b(1)` (weights are relative, positive numbers).
    pub fn blend(&self, spec: &str) -> Result<Blend, PluginError> {
        let malformed = |why: &str| {
            PluginError::bad_request(format!(
                "kokoro: malformed voice blend '{spec}': {why} (write e.g. `jf_alpha(2)+jm_kumo(1)`)"
            ))
        };
        let mut parts = Vec::new();
        for term in spec.split('+') {
            let term = term.trim();
            if term.is_empty() {
                return Err(malformed("an empty term"));
            }
            let (name, weight) = match term.split_once('(') {
                None => (term, 1.0),
                Some((name, rest)) => {
                    let w = rest.strip_suffix(')').ok_or_else(|| malformed("a weight without its closing ')'"))?;
                    let w: f32 = w.trim().parse().map_err(|_| malformed(&format!("weight '{w}' is not a number")))?;
                    if !(w.is_finite() && w > 0.0) {
                        return Err(malformed(&format!("weight {w} must be a positive number")));
                    }
                    (name.trim(), w)
                }
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(malformed(&format!("'{name}' is not a voice name")));
            }
            let index = self.voices.iter().position(|(n, _)| n == name).ok_or_else(|| {
                PluginError::unknown_voice(format!(
                    "kokoro has no voice '{name}' (voices: {})",
                    self.names().collect::<Vec<_>>().join(", ")
                ))
            })?;
            parts.push((index, weight));
        }
        // Shares of the whole, summed in f64: weights near f32's limit (`a(3e38)+b(3e38)`) would
        // overflow an f32 sum and silence the style.
        let total: f64 = parts.iter().map(|&(_, w)| f64::from(w)).sum();
        let parts = parts.into_iter().map(|(i, w)| (i, (f64::from(w) / total) as f32)).collect();
        Ok(Blend { parts })
    }

    /// The style vector for a chunk of `tokens` phoneme tokens (row `tokens - 1`, as kokoro-onnx).
    pub fn style(&self, blend: &Blend, tokens: usize) -> Vec<f32> {
        let row = tokens.clamp(1, self.rows) - 1;
        let total: f32 = blend.parts.iter().map(|(_, w)| w).sum();
        let mut out = vec![0.0f32; STYLE_DIM];
        for &(i, w) in &blend.parts {
            let v = &self.voices[i].1[row * STYLE_DIM..(row + 1) * STYLE_DIM];
            for (o, x) in out.iter_mut().zip(v) {
                *o += x * w / total;
            }
        }
        out
    }

    /// Listings: id, a display name, language and gender read from Kokoro's naming (`af_heart`).
    pub fn describe(&self) -> Vec<Voice> {
        self.names().map(describe).collect()
    }
}

/// Metadata from Kokoro's voice naming: first letter the language, second the gender.
pub fn describe(id: &str) -> Voice {
    let mut chars = id.chars();
    let (lang, accent) = match chars.next() {
        Some('a') => ("en-us", "American English"),
        Some('b') => ("en-gb", "British English"),
        Some('j') => ("ja", "Japanese"),
        Some('z') => ("zh", "Mandarin Chinese"),
        Some('e') => ("es", "Spanish"),
        Some('f') => ("fr", "French"),
        Some('h') => ("hi", "Hindi"),
        Some('i') => ("it", "Italian"),
        Some('p') => ("pt-br", "Brazilian Portuguese"),
        _ => ("", "unknown"),
    };
    let gender = match chars.next() {
        Some('f') => "female",
        Some('m') => "male",
        _ => "",
    };
    let short = id.split_once('_').map_or(id, |(_, n)| n);
    let name: String = short
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ");
    let description = format!("Kokoro {accent} {gender} voice; speaks English text in this plugin").replace("  ", " ");
    Voice {
        id: id.into(),
        name: name.into(),
        language: lang.into(),
        gender: gender.into(),
        description: description.into(),
        extra_json: serde_json::json!({"accent": accent, "blendable": true}).to_string().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack() -> VoicePack {
        let voice = |v: f32| npy::Array { shape: vec![3, 1, STYLE_DIM], data: vec![v; 3 * STYLE_DIM] };
        VoicePack::from_arrays(vec![("jm_kumo".into(), voice(3.0)), ("jf_alpha".into(), voice(0.0))]).unwrap()
    }

    #[test]
    fn a_weighted_blend_averages_the_styles() {
        let p = pack();
        let b = p.blend("jf_alpha(2)+jm_kumo(1)").unwrap();
        assert_eq!(p.style(&b, 2), vec![1.0; STYLE_DIM]);
        assert_eq!(p.style(&p.blend("jm_kumo").unwrap(), 99), vec![3.0; STYLE_DIM]);
        // Weights whose f32 sum would overflow still blend as equal shares.
        let huge = p.blend("jf_alpha(3e38)+jm_kumo(3e38)").unwrap();
        assert_eq!(p.style(&huge, 2), vec![1.5; STYLE_DIM]);
    }

    #[test]
    fn malformed_blends_are_bad_requests_and_unknown_names_unknown_voices() {
        let p = pack();
        for bad in ["jf_alpha(2", "jf_alpha(x)", "jf_alpha(0)", "jf_alpha(-1)+jm_kumo", "+jm_kumo", "jf_alpha()", "a b"]
        {
            let e = p.blend(bad).unwrap_err();
            assert_eq!(e.kind, chorus_plugin_api::ErrorKind::BAD_REQUEST, "{bad}: {e}");
        }
        let e = p.blend("af_nobody").unwrap_err();
        assert_eq!(e.kind, chorus_plugin_api::ErrorKind::UNKNOWN_VOICE);
        assert!(e.message.contains("jf_alpha"));
    }

    #[test]
    fn names_give_language_gender_and_a_display_name() {
        let v = describe("bm_george");
        assert_eq!((v.language.as_str(), v.gender.as_str(), v.name.as_str()), ("en-gb", "male", "George"));
        assert_eq!(describe("jf_alpha").language.as_str(), "ja");
    }
}
