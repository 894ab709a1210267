//! espeak-ng through `libloading`: found at run time, never linked (it is GPL-3). Its IPA is
//! mapped onto misaki's phoneme set the way misaki's own espeak fallback does.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use libloading::Library;

use super::EspeakSearch;
use crate::{Lang, TextError};

type InitializeFn = unsafe extern "C" fn(c_int, c_int, *const c_char, c_int) -> c_int;
type SetVoiceFn = unsafe extern "C" fn(*const c_char) -> c_int;
type TextToPhonemesFn = unsafe extern "C" fn(*mut *const c_void, c_int, c_int) -> *const c_char;

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
/// `espeakINITIALIZE_DONT_EXIT`: without it espeak-ng calls `exit(1)` when its data is missing,
/// which would take the whole host process down.
const INITIALIZE_DONT_EXIT: c_int = 0x8000;
const CHARS_UTF8: c_int = 1;
/// IPA output, with '^' tying the letters of multi-letter phonemes (bit 7 + separator in bits 8-23).
const PHONEMES_IPA_TIED: c_int = 0x02 | 0x80 | ((b'^' as c_int) << 8);

struct State {
    text_to_phonemes: TextToPhonemesFn,
    set_voice: SetVoiceFn,
}

/// Every espeak-ng library instance initialized in this process, keyed by the address of its
/// `espeak_Initialize`. espeak-ng keeps one global state per instance, and `dlopen` of a bare
/// soname returns an instance already loaded from elsewhere, so a later search must reuse the
/// one already initialized (and its lock) rather than initialize it again or call it unlocked.
static LOADED: Mutex<Vec<(usize, Arc<Espeak>)>> = Mutex::new(Vec::new());

/// A loaded espeak-ng. espeak-ng keeps global state, so every call goes through one lock.
pub struct Espeak {
    state: Mutex<State>,
    path: PathBuf,
    _lib: Library,
}

fn candidates(search: &EspeakSearch) -> Vec<PathBuf> {
    let names: &[&str] = if cfg!(target_os = "windows") {
        &["libespeak-ng.dll", "espeak-ng.dll"]
    } else if cfg!(target_os = "macos") {
        &["libespeak-ng.dylib", "libespeak-ng.1.dylib"]
    } else {
        &["libespeak-ng.so.1", "libespeak-ng.so"]
    };
    let mut out = Vec::new();
    for dir in &search.dirs {
        scan(dir, 3, &mut out);
    }
    if search.system {
        out.extend(names.iter().map(PathBuf::from));
        for dir in [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib",
            "/usr/local/lib",
            "/opt/homebrew/lib",
        ] {
            out.extend(names.iter().map(|n| Path::new(dir).join(n)));
        }
    }
    out
}

fn is_espeak_lib(name: &str) -> bool {
    (name.starts_with("libespeak-ng") || name.starts_with("espeak-ng"))
        && (name.contains(".so") || name.ends_with(".dylib") || name.ends_with(".dll"))
}

fn scan(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut subdirs = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            subdirs.push(p);
        } else if p.file_name().and_then(|n| n.to_str()).is_some_and(is_espeak_lib) {
            out.push(p);
        }
    }
    if depth > 0 {
        subdirs.sort();
        for d in subdirs {
            scan(&d, depth - 1, out);
        }
    }
}

/// espeak-ng data beside a library, as the espeakng-loader wheel lays it out.
fn data_beside(lib: &Path) -> Option<PathBuf> {
    let mut dir = lib.parent();
    for _ in 0..3 {
        let d = dir?;
        let cand = d.join("espeak-ng-data");
        if cand.join("phontab").exists() {
            return Some(cand);
        }
        dir = d.parent();
    }
    None
}

impl Espeak {
    /// Finds and initializes espeak-ng. `Ok(None)` when no library is found; an error only when
    /// a library was named explicitly and does not work.
    pub fn find(search: &EspeakSearch) -> Result<Option<Arc<Espeak>>, TextError> {
        if let Some(lib) = &search.library {
            return Espeak::load(lib, search.data.as_deref())
                .map(Some)
                .map_err(|reason| TextError::Espeak { path: lib.display().to_string(), reason });
        }
        for cand in candidates(search) {
            if let Ok(e) = Espeak::load(&cand, search.data.as_deref()) {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// Loads one library file and checks that it phonemizes; an instance already initialized in
    /// this process is returned as it is.
    pub fn load(path: &Path, data: Option<&Path>) -> Result<Arc<Espeak>, String> {
        // SAFETY: loading a shared library runs its initializers; libespeak-ng's are plain C
        // constructors with no preconditions.
        let lib = unsafe { Library::new(path) }.map_err(|e| e.to_string())?;
        // SAFETY: the symbol types match espeak-ng's speak_lib.h declarations.
        let (init, set_voice, ttp) = unsafe {
            let init: InitializeFn = *lib.get::<InitializeFn>(b"espeak_Initialize\0").map_err(|e| e.to_string())?;
            let sv: SetVoiceFn = *lib.get::<SetVoiceFn>(b"espeak_SetVoiceByName\0").map_err(|e| e.to_string())?;
            let ttp: TextToPhonemesFn =
                *lib.get::<TextToPhonemesFn>(b"espeak_TextToPhonemes\0").map_err(|e| e.to_string())?;
            (init, sv, ttp)
        };
        let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
        let key = init as usize;
        if let Some((_, e)) = loaded.iter().find(|(k, _)| *k == key) {
            return Ok(e.clone());
        }
        let data = data.map(Path::to_path_buf).or_else(|| data_beside(path));
        let data_c = match &data {
            Some(d) => Some(CString::new(d.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?),
            None => None,
        };
        // SAFETY: a valid (or null) NUL-terminated path; synchronous mode opens no audio device.
        let rate = unsafe {
            init(
                AUDIO_OUTPUT_SYNCHRONOUS,
                0,
                data_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                INITIALIZE_DONT_EXIT,
            )
        };
        if rate <= 0 {
            return Err(format!(
                "espeak_Initialize failed (data folder {}); set CHORUS_ESPEAK_DATA to its espeak-ng-data folder",
                data.as_ref().map_or("built-in".into(), |d| d.display().to_string())
            ));
        }
        let e = Espeak {
            state: Mutex::new(State { text_to_phonemes: ttp, set_voice }),
            path: path.to_path_buf(),
            _lib: lib,
        };
        match e.phonemize("hello", Lang::EnUs) {
            Some(p) if !p.is_empty() => {
                let e = Arc::new(e);
                loaded.push((key, e.clone()));
                Ok(e)
            }
            _ => Err("espeak-ng loaded but produced no phonemes for 'hello' (missing en data?)".into()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Raw IPA from espeak-ng, clauses joined by spaces.
    fn ipa(&self, text: &str, lang: Lang) -> Option<String> {
        let clean: String = text.chars().filter(|c| !c.is_control()).collect();
        let c = CString::new(clean).ok()?;
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // Set the voice on every call: espeak switches language by itself on foreign scripts
        // and would keep reading later words with that voice.
        let name = CString::new(if lang == Lang::EnGb { "en-gb" } else { "en-us" }).ok()?;
        // SAFETY: NUL-terminated voice name; espeak copies it.
        if unsafe { (st.set_voice)(name.as_ptr()) } != 0 {
            return None;
        }
        let mut ptr: *const c_void = c.as_ptr().cast();
        let mut out = Vec::new();
        while !ptr.is_null() {
            // SAFETY: `ptr` points into `c`, which outlives the loop; espeak advances it or sets it
            // to null at the end and returns a pointer to its own static buffer, copied at once.
            let res = unsafe { (st.text_to_phonemes)(&mut ptr, CHARS_UTF8, PHONEMES_IPA_TIED) };
            if res.is_null() {
                break;
            }
            // SAFETY: espeak returns a NUL-terminated string.
            let s = unsafe { CStr::from_ptr(res) }.to_string_lossy().trim().to_string();
            if !s.is_empty() {
                out.push(s);
            }
        }
        Some(out.join(" "))
    }

    /// misaki phonemes for `word`, or None if espeak gave nothing.
    pub fn phonemize(&self, word: &str, lang: Lang) -> Option<String> {
        let ipa = self.ipa(word, lang)?;
        let p = to_misaki(&ipa, lang);
        (!p.is_empty()).then_some(p)
    }
}

/// espeak IPA (with '^' ties) to misaki's alphabet, after misaki's `EspeakFallback.E2M`.
pub fn to_misaki(ipa: &str, lang: Lang) -> String {
    let mut map: Vec<(&str, &str)> = vec![
        ("ʔˌn\u{329}", "tᵊn"),
        ("ʔn\u{329}", "tᵊn"),
        ("ʔn", "tᵊn"),
        ("ʔ", "t"),
        ("a^ɪ", "I"),
        ("a^ʊ", "W"),
        ("d^ʒ", "ʤ"),
        ("e^ɪ", "A"),
        ("e", "A"),
        ("t^ʃ", "ʧ"),
        ("ɔ^ɪ", "Y"),
        ("ə^l", "ᵊl"),
        ("ʲ", ""),
        ("x", "k"),
        ("ç", "k"),
        ("ɐ", "ə"),
        ("ɬ", "l"),
        ("r", "ɹ"),
        ("ɚ", "əɹ"),
        ("\u{329}", ""),
        ("\u{361}", "^"),
        ("oː^ɹ", "ɔɹ"),
        ("oː", "ɔ"),
        ("o", "ɔ"),
    ];
    match lang {
        Lang::EnGb => map.extend([("e^ə", "ɛː"), ("iə", "ɪə"), ("ə^ʊ", "Q"), ("a^ɪ", "I")]),
        Lang::EnUs => map.extend([("o^ʊ", "O"), ("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"), ("ɪə", "iə"), ("ː", ""), ("ɾ", "T")]),
    }
    map.sort_by_key(|(k, _)| std::cmp::Reverse(k.chars().count()));
    let mut out = String::new();
    let chars: Vec<char> = ipa.chars().collect();
    let mut i = 0;
    'outer: while i < chars.len() {
        for (k, v) in &map {
            let kc: Vec<char> = k.chars().collect();
            if chars[i..].starts_with(&kc) {
                out.push_str(v);
                i += kc.len();
                continue 'outer;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    let out = out.replace('^', "");
    out.chars().filter(|c| super::rules::PHONEME_CHARS.contains(*c) || *c == ' ').collect::<String>().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_ipa_to_misaki() {
        assert_eq!(to_misaki("həlˈo^ʊ", Lang::EnUs), "həlˈO");
        assert_eq!(to_misaki("t^ʃˈa^ɪld", Lang::EnUs), "ʧˈIld");
        assert_eq!(to_misaki("ɹˈe^ɪn", Lang::EnGb), "ɹˈAn");
        assert_eq!(to_misaki("bˈʌɾɚ", Lang::EnUs), "bˈʌTəɹ");
        assert_eq!(to_misaki("zoː^ɹblˈe^ɪksi^ən", Lang::EnUs), "zɔɹblˈAksiən");
    }
}
