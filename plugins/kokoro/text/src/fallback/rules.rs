//! A rule-based English reader for words neither misaki nor espeak-ng can read: spelling
//! patterns to misaki phonemes with first-syllable stress; acronyms and vowel-less strings are
//! spelled letter by letter. Intelligible rather than exact.

use crate::Lang;

/// Every character misaki's English phoneme set (and so Kokoro's vocabulary) uses.
pub const PHONEME_CHARS: &str = "AIOQWYabdfhijklmnpstuvwzæçðŋɐɑɒɔəɛɜɡɪɹɾʃʊʌʒʤʧʔˈˌːθᵊᵻT";

fn letter_name(c: char, lang: Lang) -> &'static str {
    match c.to_ascii_lowercase() {
        'a' => "ˈA",
        'b' => "bˈi",
        'c' => "sˈi",
        'd' => "dˈi",
        'e' => "ˈi",
        'f' => "ˈɛf",
        'g' => "ʤˈi",
        'h' => "ˈAʧ",
        'i' => "ˈI",
        'j' => "ʤˈA",
        'k' => "kˈA",
        'l' => "ˈɛl",
        'm' => "ˈɛm",
        'n' => "ˈɛn",
        'o' => {
            if lang == Lang::EnGb {
                "ˈQ"
            } else {
                "ˈO"
            }
        }
        'p' => "pˈi",
        'q' => "kjˈu",
        'r' => {
            if lang == Lang::EnGb {
                "ˈɑː"
            } else {
                "ˈɑɹ"
            }
        }
        's' => "ˈɛs",
        't' => "tˈi",
        'u' => "jˈu",
        'v' => "vˈi",
        'w' => "dˈʌbᵊlju",
        'x' => "ˈɛks",
        'y' => "wˈI",
        'z' => {
            if lang == Lang::EnGb {
                "zˈɛd"
            } else {
                "zˈi"
            }
        }
        '0' => "zˈɪɹO",
        '1' => "wˈʌn",
        '2' => "tˈu",
        '3' => "θɹˈi",
        '4' => "fˈɔɹ",
        '5' => "fˈIv",
        '6' => "sˈɪks",
        '7' => "sˈɛvən",
        '8' => "ˈAt",
        '9' => "nˈIn",
        _ => "",
    }
}

/// Spells a word letter by letter.
pub fn spell(word: &str, lang: Lang) -> String {
    word.chars().map(|c| letter_name(fold(c), lang)).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Accented Latin letters to their base letter.
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'ý' | 'ÿ' => 'y',
        c => c.to_ascii_lowercase(),
    }
}

const VOWEL_PHONEMES: &str = "AIOQWYaiuæɑɒɔəɛɜɪʊʌ";

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

/// Reads `word` by English spelling rules, or spells it when it looks like an acronym.
pub fn phonemize(word: &str, lang: Lang) -> String {
    let letters: String = word.chars().filter(|c| c.is_alphanumeric()).collect();
    if letters.is_empty() {
        return String::new();
    }
    let upper = letters.chars().all(|c| !c.is_lowercase());
    let folded: Vec<char> = letters.chars().map(fold).collect();
    let has_vowel = folded.iter().any(|&c| is_vowel(c));
    let ascii = folded.iter().all(|c| c.is_ascii_alphabetic());
    if (upper && letters.chars().count() <= 5) || !has_vowel || !ascii || folded.len() == 1 {
        return spell(&letters, lang);
    }
    read(&folded, lang)
}

fn read(w: &[char], lang: Lang) -> String {
    let n = w.len();
    let at = |i: usize| w.get(i).copied().unwrap_or(' ');
    let rest = |i: usize, s: &str| s.chars().enumerate().all(|(k, c)| at(i + k) == c);
    // A final silent e lengthens the vowel before a single consonant ("make", "time").
    let magic_e = n >= 3 && w[n - 1] == 'e' && !is_vowel(w[n - 2]) && is_vowel(w[n - 3]);
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < n {
        let c = w[i];
        let next = at(i + 1);
        let (p, len): (&str, usize) = if rest(i, "tion") {
            ("ʃən", 4)
        } else if rest(i, "sion") {
            ("ʒən", 4)
        } else if rest(i, "tch") {
            ("ʧ", 3)
        } else if rest(i, "igh") {
            ("I", 3)
        } else if i == 0 && rest(i, "kn") {
            ("n", 2)
        } else if i == 0 && rest(i, "wr") {
            ("ɹ", 2)
        } else if rest(i, "sch") {
            ("sk", 3)
        } else if rest(i, "ch") {
            ("ʧ", 2)
        } else if rest(i, "sh") {
            ("ʃ", 2)
        } else if rest(i, "th") {
            ("θ", 2)
        } else if rest(i, "ph") {
            ("f", 2)
        } else if rest(i, "wh") {
            ("w", 2)
        } else if rest(i, "ck") {
            ("k", 2)
        } else if rest(i, "ng") {
            ("ŋ", 2)
        } else if rest(i, "qu") {
            ("kw", 2)
        } else if rest(i, "gh") {
            (if i == 0 { "ɡ" } else { "" }, 2)
        } else if rest(i, "ee") || rest(i, "ea") || rest(i, "ie") {
            ("i", 2)
        } else if rest(i, "oo") {
            ("u", 2)
        } else if rest(i, "ou") {
            ("W", 2)
        } else if rest(i, "ow") {
            ("O", 2)
        } else if rest(i, "oi") || rest(i, "oy") {
            ("Y", 2)
        } else if rest(i, "ai") || rest(i, "ay") || rest(i, "ei") || rest(i, "ey") {
            ("A", 2)
        } else if rest(i, "au") || rest(i, "aw") {
            ("ɔ", 2)
        } else if rest(i, "oa") {
            ("O", 2)
        } else if rest(i, "ar") && !is_vowel(at(i + 2)) {
            ("ɑɹ", 2)
        } else if rest(i, "or") && !is_vowel(at(i + 2)) {
            ("ɔɹ", 2)
        } else if (rest(i, "er") || rest(i, "ir") || rest(i, "ur")) && !is_vowel(at(i + 2)) {
            ("ɜɹ", 2)
        } else if i + 1 < n && c == next && !is_vowel(c) {
            // Doubled consonant: one sound.
            (single(c, at(i + 2)), 2)
        } else if is_vowel(c) {
            let long = magic_e && i == n - 3;
            let v = match (c, long) {
                (_, _) if i == n - 1 && c == 'e' && n > 2 => "",
                ('a', true) => "A",
                ('e', true) => "i",
                ('i', true) | ('y', true) => "I",
                ('o', true) => "O",
                ('u', true) => "u",
                ('a', _) => "æ",
                ('e', _) => "ɛ",
                ('i', _) => "ɪ",
                ('o', _) => {
                    if i == n - 1 {
                        "O"
                    } else {
                        "ɑ"
                    }
                }
                ('u', _) => "ʌ",
                ('y', _) if i == 0 => "j",
                ('y', _) => {
                    if i == n - 1 {
                        "i"
                    } else {
                        "ɪ"
                    }
                }
                _ => "",
            };
            (v, 1)
        } else {
            (single(c, next), 1)
        };
        out.push(p.to_string());
        i += len;
    }
    let mut s = stress(&out);
    if lang == Lang::EnGb {
        s = s
            .replace("ɑɹ", "ɑː")
            .replace("ɔɹ", "ɔː")
            .replace("ɜɹ", "ɜː")
            .replace('O', "Q")
            .replace('ɑ', "ɒ")
            .replace("ɒː", "ɑː");
    }
    s
}

fn single(c: char, next: char) -> &'static str {
    match c {
        'c' => {
            if matches!(next, 'e' | 'i' | 'y') {
                "s"
            } else {
                "k"
            }
        }
        'g' => {
            if matches!(next, 'e' | 'i' | 'y') {
                "ʤ"
            } else {
                "ɡ"
            }
        }
        'j' => "ʤ",
        'x' => "ks",
        'q' => "k",
        'r' => "ɹ",
        'y' => "j",
        'b' => "b",
        'd' => "d",
        'f' => "f",
        'h' => "h",
        'k' => "k",
        'l' => "l",
        'm' => "m",
        'n' => "n",
        'p' => "p",
        's' => "s",
        't' => "t",
        'v' => "v",
        'w' => "w",
        'z' => "z",
        _ => "",
    }
}

/// Primary stress on the first vowel; later short vowels reduce to schwa.
fn stress(parts: &[String]) -> String {
    let mut out = String::new();
    let mut stressed = false;
    for p in parts {
        let Some(pos) = p.char_indices().find(|(_, c)| VOWEL_PHONEMES.contains(*c)).map(|(i, _)| i) else {
            out.push_str(p);
            continue;
        };
        if !stressed {
            out.push_str(&p[..pos]);
            out.push('ˈ');
            out.push_str(&p[pos..]);
            stressed = true;
        } else if matches!(p.as_str(), "æ" | "ɛ" | "ʌ" | "ɑ") {
            out.push('ə');
        } else {
            out.push_str(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_by_rules() {
        assert_eq!(phonemize("blorptastic", Lang::EnUs), "blˈɔɹptəstɪk");
        assert_eq!(phonemize("Zarkovian", Lang::EnUs), "zˈɑɹkəvɪən");
        assert_eq!(phonemize("make", Lang::EnUs), "mˈAk");
        assert_eq!(phonemize("qzxwv", Lang::EnUs), "kjˈu zˈi ˈɛks dˈʌbᵊlju vˈi");
        assert_eq!(phonemize("NATO", Lang::EnUs), "ˈɛn ˈA tˈi ˈO");
        assert!(!phonemize("ångström", Lang::EnUs).is_empty());
        assert_eq!(phonemize("🙂", Lang::EnUs), "");
        for w in ["flurbish", "Xanthor", "pterodon", "Oyelaran"] {
            let p = phonemize(w, Lang::EnUs);
            assert!(p.contains('ˈ') && p.chars().all(|c| PHONEME_CHARS.contains(c) || c == ' '), "{w}: {p}");
        }
    }
}
