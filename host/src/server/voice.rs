//! Voice names from clients: OpenAI's names mapped through the config's voice aliases, also
//! inside blends (`alloy+nova`, `af_bella(2)+af_sky(1)`), which then pass to the backend as is.

use std::collections::BTreeMap;

/// Map every part of a voice blend through `aliases`; weights in parentheses are kept.
pub fn map_blend(voice: &str, aliases: Option<&BTreeMap<String, String>>) -> String {
    let voice = voice.trim();
    let Some(aliases) = aliases else { return voice.to_string() };
    let map_part = |part: &str| {
        let part = part.trim();
        let (name, weight) = match part.find('(') {
            Some(at) if part.ends_with(')') => (part[..at].trim(), &part[at..]),
            _ => (part, ""),
        };
        let name = aliases.get(name).map_or(name, String::as_str);
        format!("{name}{weight}")
    };
    voice.split('+').map(map_part).collect::<Vec<_>>().join("+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_apply_inside_blends_and_keep_weights() {
        let aliases: BTreeMap<String, String> =
            [("alloy", "jf_alpha"), ("onyx", "jm_kumo")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(map_blend("alloy", Some(&aliases)), "jf_alpha");
        assert_eq!(map_blend(" alloy(2) + onyx(1)", Some(&aliases)), "jf_alpha(2)+jm_kumo(1)");
        assert_eq!(map_blend("jf_nezumi+alloy", Some(&aliases)), "jf_nezumi+jf_alpha");
        assert_eq!(map_blend("alloy+x", None), "alloy+x");
    }
}
