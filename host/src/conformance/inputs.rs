//! What the checks send: the texts every plugin must speak or refuse clearly, and the unusual
//! requests a plugin must answer without crashing.

use chorus_plugin_api::SynthesisRequest;

pub const SHORT: &str = "Hello there, this is a short conformance check.";

pub const LONG: &str = "The morning light spread slowly across the quiet valley, and the river \
carried it down toward the old stone bridge. A baker opened her shop early, set the warm bread \
in the window, and waved to the children walking past with their bags. Later the wind turned \
cold, clouds gathered over the hills, and the first drops of rain tapped against the glass. \
Nobody seemed to mind the weather, because the market was busy and the tea was hot. By evening \
the sky had cleared again, the stars came out one after another, and the whole town fell \
asleep listening to the water.";

pub const PUNCTUATION: &str = "?! ... -- ; : ( ) !!";

pub const EMOJI: &str = "👋🎉🌍🙂";

/// How many bytes the largest text has.
pub const LARGE_BYTES: usize = 100_000;

/// [`LONG`] repeated to at least [`LARGE_BYTES`] bytes.
pub fn large() -> String {
    let mut text = String::with_capacity(LARGE_BYTES + LONG.len());
    while text.len() < LARGE_BYTES {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(LONG);
    }
    text
}

/// The texts of the `texts` check: label, text, whether it must give audio (else a clear refusal
/// also passes), whether to stop after its first audio.
pub fn texts() -> Vec<(&'static str, String, bool, bool)> {
    vec![
        ("short", SHORT.into(), true, false),
        ("long", LONG.into(), true, false),
        ("punctuation", PUNCTUATION.into(), false, false),
        ("emoji", EMOJI.into(), false, false),
        ("100 kB", large(), false, true),
    ]
}

/// A voice no plugin has.
pub const NO_SUCH_VOICE: &str = "chorus-check-no-such-voice";

/// Speeds every plugin must refuse.
pub const BAD_SPEEDS: [f32; 4] = [f32::NAN, 0.0, -1.0, f32::INFINITY];

/// Requests that are legal at the boundary but unusual: each must get audio or an error, never a
/// crash or a hang. Label and request.
pub fn unusual(model: &str) -> Vec<(&'static str, SynthesisRequest)> {
    let with = |text: &str, f: &dyn Fn(&mut SynthesisRequest)| {
        let mut r = SynthesisRequest::new(model, text);
        f(&mut r);
        r
    };
    vec![
        ("options that are not JSON", with(SHORT, &|r| r.options_json = "{not json".into())),
        ("options that are a JSON array", with(SHORT, &|r| r.options_json = "[1, 2]".into())),
        ("control and combining characters", with("\u{0}\u{301}\u{200b}\u{7}a\u{301}", &|_| {})),
        ("one 500-letter word", with(&"a".repeat(500), &|_| {})),
        ("a preferred rate of 4 GHz", with(SHORT, &|r| r.preferred_sample_rate = u32::MAX)),
        ("an unknown language", with(SHORT, &|r| r.language = "zz-invalid".into())),
    ]
}
