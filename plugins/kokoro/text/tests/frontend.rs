//! Front-end tests on the real misaki G2P: word coverage (property test), chunk limits, inline
//! overrides, unspeakable input, lazy chunking of a 30-minute text, the dev set's hard lines.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use chorus_kokoro_text::{
    Boundary, ChunkPolicy, EspeakSearch, FallbackKind, Frontend, FrontendOptions, Lang, MAX_TOKENS, Piece, TextError,
};
use proptest::prelude::*;

static FE: LazyLock<Frontend> = LazyLock::new(|| Frontend::new().expect("front-end builds"));

fn chunks(text: &str, policy: &ChunkPolicy) -> Vec<chorus_kokoro_text::Chunk> {
    FE.chunks(text, Lang::EnUs, policy).collect::<Result<Vec<_>, _>>().expect("chunks")
}

fn pieces(text: &str) -> Vec<Piece> {
    chunks(text, &ChunkPolicy::default()).into_iter().flat_map(|c| c.pieces).collect()
}

/// Phonemes of the pieces whose word is exactly `word` (the first occurrence in `text`).
fn word_phonemes(text: &str, word: &str) -> String {
    let start = text.find(word).expect("word in text");
    let r = start..start + word.len();
    pieces(text).into_iter().filter(|p| p.word.as_ref() == Some(&r)).map(|p| p.phonemes).collect()
}

/// Checks the contract for every whitespace token holding a letter or digit: some piece inside
/// it has non-empty phonemes; no piece carries misaki's unknown marker.
fn assert_covers(text: &str, ps: &[Piece]) {
    for p in ps {
        assert!(!p.phonemes.contains('❓'), "unknown marker in {p:?} for {text:?}");
        if let Some(w) = &p.word {
            assert!(text.get(w.clone()).is_some(), "bad range {w:?} in {text:?}");
        }
    }
    let mut offset = 0;
    for tok in text.split_whitespace() {
        let start = offset + text[offset..].find(tok).unwrap();
        offset = start + tok.len();
        if !tok.chars().any(|c| c.is_alphanumeric()) {
            continue;
        }
        let r = start..offset;
        let hit = ps.iter().any(|p| {
            p.word.as_ref().is_some_and(|w| w.start >= r.start && w.end <= r.end) && !p.phonemes.trim().is_empty()
        });
        assert!(hit, "token {tok:?} has no phonemes in {text:?}: {ps:?}");
    }
}

#[test]
fn dev_set_hard_lines() {
    let lines = [
        "Ms. Lee moved to 42 Elm Ave. in March with her 2 dogs.",
        "Tickets cost $7.25 each, or $60 for a family pass of 10.",
        "The meeting starts at 3:30 p.m. on Nov. 14, 2026, in room 12B.",
        "Call 1-800-555-0199 or email help@example.com before 9 a.m.",
        "Is it 50% off? \"Absolutely,\" she said, \"until Sunday!\"",
    ];
    for line in lines {
        let ps = pieces(line);
        assert_covers(line, &ps);
        // The sentence's closing mark reaches the model (misaki folds "B." into an initial).
        let last = chunks(line, &ChunkPolicy::default()).last().unwrap().phonemes();
        let mark = if line.ends_with('"') { '”' } else { line.chars().last().unwrap() };
        assert!(last.ends_with(mark), "{line:?} -> {last:?}");
        let all: String = ps.iter().map(|p| p.phonemes.as_str()).collect::<Vec<_>>().join("|");
        println!("{line}\n  {all}");
    }
    assert_eq!(word_phonemes(lines[0], "Ms."), "mˈɪz");
    assert_eq!(word_phonemes(lines[0], "Ave."), "ˈævənˌu");
    assert_eq!(word_phonemes(lines[1], "$7.25"), "sˈɛvən dˈɑləɹz ænd twˈɛntifˌIv sˈɛnts");
    assert_eq!(word_phonemes(lines[2], "12B"), "twˈɛlv bˈi");
    assert_eq!(word_phonemes(lines[2], "p.m."), "pˌiˈɛm");
    assert!(word_phonemes(lines[2], "Nov.").contains("vˈɛmbəɹ"));
    assert!(word_phonemes(lines[2], "2026").starts_with("twˈɛnti twˈɛnti"));
    assert!(word_phonemes(lines[3], "1-800-555-0199").contains("ˈAt hˈʌndɹəd, fˈIv fˈIv fˈIv"));
    assert_eq!(word_phonemes(lines[3], "help@example.com"), "hˈɛlp æt ɪɡzˈæmpəl dˈɑt kˈɑm");
    assert_eq!(word_phonemes(lines[4], "50%"), "fˈɪfti pəɹsˈɛnt");
    // Prosody punctuation survives as inter-word pieces.
    let p4: String =
        chunks(lines[4], &ChunkPolicy::default()).iter().map(|c| c.phonemes()).collect::<Vec<_>>().join(" ");
    assert!(p4.contains('?') && p4.contains('“') && p4.contains("!”"), "{p4}");
}

/// The spoken words of the normalizer token for `word` (its first occurrence in `text`).
fn spoken(text: &str, word: &str) -> String {
    let start = text.find(word).expect("word in text");
    let toks = chorus_kokoro_text::normalize(text);
    let t = toks.iter().find(|t| t.source == (start..start + word.len()));
    t.unwrap_or_else(|| panic!("no token for {word:?} in {toks:?}")).spoken.clone()
}

/// Everyday lines of the dev set: run names, elapsed and clock times, ordinals, phone numbers,
/// addresses, fractions, temperatures, speeds, quarters, day and month abbreviations, units.
#[test]
fn dev_set_everyday_lines() {
    let lines = [
        "Mrs. Garcia bought 3 tickets for $45.50 on Thurs., Oct. 2.",
        "The bus leaves at 8:15 a.m. and arrives around 11:40 a.m.",
        "Our lab is at 77 Pine Rd., Room 4B, second floor.",
        "The jar holds 750 ml, roughly 25 oz. of liquid.",
        "Temperatures fell to -5 °C overnight, about 23 °F.",
        "Only 2 of the 9 players scored, a rate of 22%.",
        "The 1st, 2nd and 10th places win prizes worth $1,000 in total.",
        "Dial (212) 555-0147 or go to shop.example.net for details.",
        "Write to info@example.org with your order no. 4521.",
        "Her 10K time was 52:18, a new personal best.",
        "Add 2/3 cup of oats and 1 1/2 tsp. of cinnamon.",
        "Sales rose 8.5% in Q4, to $2.3 million.",
        "Prof. Nguyen teaches Tue. and Thu. from 2 to 3:30 p.m.",
        "The train travels at 180 km/h between the 2 cities.",
        "Release 3.10.2 adds 5 new features and removes 1 old one.",
        "The meeting is set for 12/05 at noon in Bldg. C.",
        "Mt. Rainier rises 14,410 ft. above sea level.",
        "About 3 in 10 adults use the app every day.",
        "Gate A7 closes 20 min. before the 9:05 p.m. flight.",
    ];
    for line in lines {
        let ps = pieces(line);
        assert_covers(line, &ps);
        let words: Vec<String> = chorus_kokoro_text::normalize(line)
            .into_iter()
            .filter(|t| t.kind == chorus_kokoro_text::TokenKind::Word)
            .map(|t| t.spoken)
            .collect();
        println!("{line}\n  {}\n  {}", words.join(" "), FE.phonemes(line, Lang::EnUs).expect("phonemes"));
        // Each line is one sentence: no abbreviation's period splits it.
        assert_eq!(chunks(line, &ChunkPolicy::default()).iter().filter(|c| c.end == Boundary::Sentence).count(), 0);
    }
    let cases = [
        (0, "Mrs.", "Missus"),
        (0, "$45.50", "forty-five dollars and fifty cents"),
        (0, "Thurs.", "Thursday"),
        (0, "Oct.", "October"),
        (0, "2", "second"),
        (1, "8:15", "eight fifteen"),
        (1, "11:40", "eleven forty"),
        (2, "Rd.", "Road"),
        (2, "4B", "four B"),
        (3, "ml", "milliliters"),
        (3, "oz.", "ounces"),
        (4, "-5", "minus five"),
        (4, "°C", "degrees Celsius"),
        (4, "°F", "degrees Fahrenheit"),
        (5, "2", "two"),
        (5, "22%", "twenty-two percent"),
        (6, "1st", "first"),
        (6, "2nd", "second"),
        (6, "10th", "tenth"),
        (6, "$1,000", "one thousand dollars"),
        (7, "(212)", "two one two,"),
        (7, "555-0147", "five five five, zero one four seven"),
        (7, "shop.example.net", "shop dot example dot net"),
        (8, "info@example.org", "info at example dot org"),
        (8, "no.", "number"),
        (8, "4521", "four thousand five hundred twenty-one"),
        (9, "10K", "ten K"),
        (9, "52:18", "fifty-two eighteen"),
        (10, "2/3", "two thirds"),
        (10, "1/2", "and a half"),
        (10, "tsp.", "teaspoons"),
        (11, "8.5%", "eight point five percent"),
        (11, "Q4", "Q four"),
        (11, "$2.3", "two point three"),
        (11, "million", "million dollars"),
        (12, "Prof.", "Professor"),
        (12, "Tue.", "Tuesday"),
        (12, "Thu.", "Thursday"),
        (12, "3:30", "three thirty"),
        (13, "km/h", "kilometers per hour"),
        (14, "3.10.2", "three point ten point two"),
        (15, "12/05", "December fifth"),
        (15, "Bldg.", "Building"),
        (16, "Mt.", "Mount"),
        (16, "14,410", "fourteen thousand four hundred ten"),
        (16, "ft.", "feet"),
        (17, "3", "three"),
        (17, "in", "in"),
        (17, "10", "ten"),
        (18, "A7", "[A](/ˈA/) seven"),
        (18, "min.", "minutes"),
        (18, "9:05", "nine oh five"),
    ];
    for (k, word, want) in cases {
        assert_eq!(spoken(lines[k], word), want, "{word:?} in {:?}", lines[k]);
    }
    assert_eq!(word_phonemes(lines[9], "10K"), "tˈɛn kˈA");
    assert_eq!(word_phonemes(lines[11], "Q4"), "kjˈu fˈɔɹ");
    assert_eq!(word_phonemes(lines[12], "Tue."), "tˈuzdˌA");
    assert_eq!(word_phonemes(lines[15], "12/05"), "disˈɛmbəɹ fˈɪfθ");
}

/// Prints the tests' sentences (tests/judge/sentences_en.txt) as the front-end reads them.
#[test]
fn test_sentences_print() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/judge/sentences_en.txt");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let ps = pieces(line);
        assert_covers(line, &ps);
        let all: String = ps.iter().map(|p| p.phonemes.as_str()).collect();
        println!("{line}\n  {all}");
    }
}

#[test]
fn inline_override_is_used_as_given() {
    let text = "Say [Kokoro](/kˈOkəɹO/) and [test](/tˈɛsTɪŋ/) now.";
    let ps = pieces(text);
    let kokoro = text.find("Kokoro").unwrap();
    let test = text.find("test").unwrap();
    assert!(ps.contains(&Piece { phonemes: "kˈOkəɹO".into(), word: Some(kokoro..kokoro + 6) }), "{ps:?}");
    // "test" is in misaki's lexicon; the override must still win.
    assert!(ps.contains(&Piece { phonemes: "tˈɛsTɪŋ".into(), word: Some(test..test + 4) }), "{ps:?}");
    assert!(!ps.iter().any(|p| p.phonemes.contains('[') || p.phonemes.contains('/')));
}

#[test]
fn nothing_speakable_is_an_error_not_a_panic() {
    for text in ["", "   ", "?! … --", "🙂🙂 🎉", "\"...\""] {
        let mut it = FE.chunks(text, Lang::EnUs, &ChunkPolicy::default());
        assert!(matches!(it.next(), Some(Err(TextError::NothingToSpeak))), "{text:?}");
        assert!(it.next().is_none());
    }
}

#[test]
fn unknown_words_never_reach_the_model_as_unknown() {
    let text = "The zorblaxian flimflorp met Qwxz near Zaphodville.";
    let ps = pieces(text);
    assert_covers(text, &ps);
    assert!(!word_phonemes(text, "zorblaxian").is_empty());
}

#[test]
fn text_in_capitals_is_read_not_spelled() {
    let text = "THE MEETING STARTS AT NOON. CALL ME TODAY, PLEASE.";
    assert_eq!(word_phonemes(text, "STARTS"), "stˈɑɹts");
    assert_eq!(word_phonemes(text, "MEETING"), "mˈiTɪŋ");
    // Acronyms in ordinary text stay spelled.
    let text = "I work for the FBI in the USA.";
    assert_eq!(word_phonemes(text, "FBI"), "ˌɛfbˌiˈI");
}

fn long_clause(words: usize) -> String {
    let vocab = ["alpha", "river", "quietly", "moved", "under", "seven", "green", "bridges", "and", "lanterns"];
    (0..words).map(|i| vocab[i % vocab.len()]).collect::<Vec<_>>().join(" ")
}

#[test]
fn chunks_stay_within_limits() {
    let text = format!(
        "{}. Short one, then more. {} and https://www.{}.com/{}",
        long_clause(300),
        long_clause(40),
        "abcdefghij".repeat(30),
        "qrstuvwxyz".repeat(20)
    );
    for policy in [
        ChunkPolicy::default(),
        cutting(),
        ChunkPolicy { first_max_tokens: 30, max_tokens: 200, ..cutting() },
        ChunkPolicy { max_tokens: 5000, first_max_tokens: 5000, ..cutting() },
        ChunkPolicy { first_cut_at_word: false, ..cutting() },
    ] {
        let cs = chunks(&text, &policy);
        assert!(cs.len() > 2);
        for (i, c) in cs.iter().enumerate() {
            let limit = policy.max_tokens.min(MAX_TOKENS);
            assert!(c.token_len() <= limit, "chunk {i} has {} tokens > {limit}", c.token_len());
            assert_eq!(c.token_len(), c.phonemes().chars().count());
            assert!(!c.phonemes().starts_with(' ') && !c.phonemes().ends_with(' '));
        }
        if policy.first_cut_at_word {
            // A cut may stretch the budget by half when none fits within it (`cut_at_word`).
            let stretch = policy.first_max_tokens + policy.first_max_tokens / 2;
            assert!(cs[0].token_len() <= stretch.min(MAX_TOKENS), "first chunk: {}", cs[0].phonemes());
            assert_eq!(cs[0].end, Boundary::Word);
        } else if policy.first_max_tokens < policy.max_tokens {
            assert!(cs[0].token_len() > policy.first_max_tokens, "first chunk is a whole clause");
        }
        assert_eq!(cs.last().unwrap().end, Boundary::End);
        // Every word is spoken once, in order, across the chunks.
        let words: Vec<Range<usize>> = cs.iter().flat_map(|c| c.words()).collect();
        let unique: HashSet<_> = words.iter().cloned().collect();
        assert!(words.windows(2).all(|w| w[0].start <= w[1].start), "words out of order");
        assert_covers(&text, &cs.iter().flat_map(|c| c.pieces.clone()).collect::<Vec<_>>());
        assert!(unique.len() >= text.split_whitespace().count() - 1);
    }
}

/// Clause marks keep the space after them however the text is cut and packed.
#[test]
fn punctuation_spacing_survives_chunking() {
    let text = "The meeting starts at 3:30 p.m. on Nov. 14, 2026, in room 12B. Tickets cost $7.25 each, or $60 for a family pass of 10; \
                Is it 50% off? \"Absolutely,\" she said, \"until Sunday!\" Well, then — fine.";
    for first_max_tokens in [10, 30, 45, 80, 200] {
        for max_tokens in [40, 90, 400] {
            let policy = ChunkPolicy { first_max_tokens, max_tokens, ..cutting() };
            for c in chunks(text, &policy) {
                let ph: Vec<char> = c.phonemes().chars().collect();
                for (k, w) in ph.windows(2).enumerate() {
                    if matches!(w[0], ',' | ';' | '.' | '?' | '!' | '—') {
                        assert!(
                            matches!(w[1], ' ' | '”' | ')' | '“'),
                            "no space after {:?} at {k} in {:?}",
                            w[0],
                            c.phonemes()
                        );
                    }
                }
            }
        }
    }
}

/// A cut inside a clause falls before a phrase-opening word where the budget allows.
#[test]
fn word_cuts_prefer_phrase_boundaries() {
    let text =
        "The old fisherman carried his heavy nets slowly down the hill toward the harbor before the storm arrived";
    let policy = ChunkPolicy { first_max_tokens: 56, ..cutting() };
    let cs = chunks(text, &policy);
    assert_eq!(cs[0].end, Boundary::Word);
    let next_word = &text[cs[1].words()[0].clone()];
    assert!(["toward", "down", "before"].contains(&next_word), "cut before {next_word:?}: {}", cs[0].phonemes());
}

/// A cut never leaves an article, preposition, auxiliary or conjunction dangling at a chunk's
/// end ("painted the | kitchen"); a clause just over the budget with no other cut stays whole.
#[test]
fn word_cuts_never_leave_a_leaning_word_behind() {
    let leaning = ["the", "a", "at", "is", "on", "to", "of", "and", "will"];
    let lines = [
        "My sister painted the kitchen a bright shade of yellow last spring.",
        "Nobody expected the old clock tower to ring again after so many years.",
        "The committee approved the new budget after a long discussion.",
        "The bakery on the corner sells the best cinnamon rolls in town.",
        "Turn left at the gas station, then follow the road past the school.",
        "The garden is full of tomatoes, peppers, and sweet green beans.",
    ];
    for text in lines {
        for first_max_tokens in [10, 14, 18, 24, 30] {
            let cs = chunks(text, &ChunkPolicy { first_max_tokens, ..cutting() });
            for c in cs.iter().filter(|c| c.end == Boundary::Word) {
                let last = &text[c.words().last().expect("words").clone()];
                assert!(!leaning.contains(&last.to_lowercase().as_str()), "cut after {last:?}: {}", c.phonemes());
            }
        }
    }
    // With three words on each side only "at |" would fit: the clause stays whole; with a smaller
    // budget it is cut with two words on a side.
    let text = "Turn left at the gas station, then follow the road past the school.";
    let budget24 = ChunkPolicy { first_max_tokens: 24, ..cutting() };
    let cs = chunks(text, &budget24);
    assert_eq!(cs[0].end, Boundary::Clause, "{}", cs[0].phonemes());
    let cs = chunks(text, &ChunkPolicy { first_max_tokens: 14, ..cutting() });
    assert_eq!(&text[cs[1].words()[0].clone()], "at", "{}", cs[0].phonemes());
    let cs = chunks("Is it 50% off? \"Absolutely,\" she said.", &budget24);
    assert_eq!(cs[0].end, Boundary::Sentence, "a clause just over the budget stays whole: {}", cs[0].phonemes());
}

#[test]
fn first_chunk_is_short_and_later_chunks_pack_sentences() {
    let text = "The small boat drifted slowly toward the quiet harbor at dawn, while the town slept and the gulls circled overhead. \
                Please remind me to buy milk, eggs, and bread on the way home. \
                My sister painted the kitchen a bright shade of yellow last spring. \
                The library will stay open late during the final exam week.";
    let policy = ChunkPolicy { lookahead_words: 1, ..cutting() };
    let cs = chunks(text, &policy);
    assert!(cs[0].token_len() <= policy.first_max_tokens, "{}", cs[0].token_len());
    // The first clause is longer than the first chunk's budget, so it is cut between two words,
    // with the next word as context; later chunks are whole clauses and sentences, no context.
    assert_eq!(cs[0].end, Boundary::Word);
    assert!(cs[1].phonemes().starts_with(cs[0].lookahead.trim()), "{:?} then {:?}", cs[0].lookahead, cs[1].phonemes());
    let context = cs[0].lookahead.trim();
    assert!(!context.is_empty() && !context.contains(' '), "one word of context: {:?}", cs[0].lookahead);
    assert!(cs[1..].iter().all(|c| c.end == Boundary::Word || c.lookahead.is_empty()));
    assert!(cs.len() <= 4, "later sentences are packed: {}", cs.len());
    assert!(cs.iter().any(|c| c.phonemes().contains(". ")), "two sentences in one chunk");

    // With a budget over the first clause, the first chunk is that clause, without context.
    let whole = chunks(text, &ChunkPolicy { first_max_tokens: 80, ..policy.clone() });
    assert_eq!(whole[0].end, Boundary::Clause);
    assert!(whole[0].lookahead.is_empty());
    // By default a cut carries no context.
    let plain = chunks(text, &cutting());
    assert_eq!(plain[0].end, Boundary::Word);
    assert!(plain.iter().all(|c| c.lookahead.is_empty()));
    // By default the first chunk is the whole first sentence: prosody from the whole sentence.
    let default = chunks(text, &ChunkPolicy::default());
    assert_eq!(default[0].end, Boundary::Sentence, "{}", default[0].phonemes());
    assert_eq!(&text[default[0].words().last().expect("words").clone()], "overhead");
}

/// The policy that cuts the first chunk short between two words (chorus's default before the
/// front saw whole sentences; still a config choice).
fn cutting() -> ChunkPolicy {
    ChunkPolicy { first_max_tokens: 16, first_cut_at_word: true, ..ChunkPolicy::default() }
}

/// A 30-minute chapter: ~25k words. The first chunk arrives after one sentence is phonemized and
/// only a small block of the text is normalized; after that phonemization stays at most a sentence
/// or two ahead of the chunks handed out.
#[test]
fn thirty_minute_text_is_chunked_lazily() {
    let sentences = [
        "The small boat drifted slowly toward the quiet harbor at dawn.",
        "Ms. Lee moved to 42 Elm Ave. in March with her 2 dogs.",
        "Tickets cost $7.25 each, or $60 for a family pass of 10.",
        "He whispered the answer so quietly that nobody else could hear it.",
        "Our flight was delayed because of strong winds over the mountains.",
    ];
    let mut text = String::new();
    let mut ends = Vec::new();
    let mut words = 0;
    let mut i = 0;
    while words < 25_000 {
        let s = sentences[i % sentences.len()];
        text.push_str(s);
        ends.push(text.len());
        text.push_str(if i % 12 == 11 { "\n\n" } else { " " });
        words += s.split_whitespace().count();
        i += 1;
    }
    let mut it = FE.chunks(&text, Lang::EnUs, &ChunkPolicy::default());
    let first = it.next().unwrap().unwrap();
    assert!(first.token_len() > 0 && first.token_len() <= 80);
    assert_eq!(it.sentences_phonemized(), 1, "first chunk needs only the first sentence");
    assert!(it.bytes_normalized() < text.len() / 10, "normalized {} of {}", it.bytes_normalized(), text.len());
    let mut last_end = first.source.end;
    for _ in 0..40 {
        let c = it.next().unwrap().unwrap();
        assert!(c.token_len() <= MAX_TOKENS);
        assert!(c.source.start >= last_end, "chunks advance through the text");
        last_end = c.source.end;
        let done = ends.iter().filter(|&&e| e <= c.source.end + 1).count();
        assert!(it.sentences_phonemized() <= done + 2, "{} phonemized, {done} spoken", it.sentences_phonemized());
    }
    assert!(it.sentences_phonemized() < i / 10);
    assert!(it.bytes_normalized() < text.len() / 2);
}

/// Long text without paragraph breaks is normalized in blocks cut at sentence ends, so no
/// sentence is split between blocks.
#[test]
fn normalization_blocks_never_split_a_sentence() {
    let text =
        vec!["The small boat drifted slowly toward the quiet harbor at dawn, and Mr. Hale watched it."; 130].join(" ");
    assert!(text.len() > 8192 + 1000, "spans two normalization blocks");
    let mut n = 0;
    for c in FE.chunks(&text, Lang::EnUs, &ChunkPolicy { first_max_tokens: 400, ..ChunkPolicy::default() }) {
        let c = c.unwrap();
        assert!(c.phonemes().ends_with('.'), "chunk {n} ends mid-sentence: {}", c.phonemes());
        n += 1;
    }
    assert!(n > 8);
}

#[test]
fn british_english_uses_its_lexicon() {
    let text = "I can't find the tomato schedule.";
    let us: String = FE.chunks(text, Lang::EnUs, &ChunkPolicy::default()).map(|c| c.unwrap().phonemes()).collect();
    let gb: String = FE.chunks(text, Lang::EnGb, &ChunkPolicy::default()).map(|c| c.unwrap().phonemes()).collect();
    assert_ne!(us, gb);
    assert!(gb.contains("təmˈɑːtQ") || gb.contains("ɑː"), "{gb}");
}

#[test]
fn frontend_is_shared_across_threads() {
    let text = "Call 1-800-555-0199 or email help@example.com before 9 a.m.";
    let expected = FE.phonemes(text, Lang::EnUs).unwrap();
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..3).map(|_| s.spawn(|| FE.phonemes(text, Lang::EnUs).unwrap())).collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), expected);
        }
    });
}

#[test]
fn espeak_fallback_when_present_and_a_clear_error_when_misconfigured() {
    let bad = FrontendOptions {
        espeak: EspeakSearch { library: Some("/nonexistent/libespeak-ng.so.1".into()), ..EspeakSearch::default() },
    };
    match Frontend::with_options(bad) {
        Err(TextError::Espeak { path, .. }) => assert!(path.contains("nonexistent")),
        other => panic!("expected an espeak error, got {:?}", other.err()),
    }
    let none =
        Frontend::with_options(FrontendOptions { espeak: EspeakSearch { disabled: true, ..EspeakSearch::default() } })
            .unwrap();
    assert_eq!(none.fallback(), FallbackKind::Rules);
    let rules = none.phonemes("Zorblaxian", Lang::EnUs).unwrap();
    assert!(rules.contains('ˈ'), "{rules}");
    if let FallbackKind::Espeak(path) = FE.fallback() {
        println!("espeak-ng found at {}", path.display());
        let e = FE.phonemes("Zorblaxian", Lang::EnUs).unwrap();
        assert!(!e.is_empty() && !e.contains('❓'));
        assert!(e.contains('z') && e.contains('ˈ'), "{e}");
    }
}

/// The tests' data folder, `<target>/test-env/data`, where `cargo xtask test` installs espeak-ng
/// with the Kokoro assets.
fn data_dir() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |t| root.join(t));
    target.join("test-env/data")
}

/// espeak-ng from the data folder is loaded first; a later system search then finds the same
/// library by its soname (the loader returns the instance already in memory). That instance must
/// be shared as it is — initializing it again without its data folder made espeak-ng call
/// `exit(1)` and took the process down.
#[test]
#[ignore = "needs espeak-ng from the tests' data folder: `cargo xtask test` runs it"]
fn a_second_espeak_search_reuses_the_loaded_library() {
    let data = data_dir();
    assert!(data.join("espeak-ng").is_dir(), "setup installs espeak-ng into {}", data.display());
    let first = Frontend::with_options(FrontendOptions::with_data_dir(&data)).expect("front-end with the data folder");
    let FallbackKind::Espeak(path) = first.fallback() else { panic!("espeak-ng from {}", data.display()) };
    assert!(path.starts_with(&data), "{}", path.display());
    let second = Frontend::with_options(FrontendOptions {
        espeak: EspeakSearch { dirs: vec![], system: true, ..EspeakSearch::default() },
    })
    .expect("a system search after it");
    for fe in [&first, &second] {
        let p = fe.phonemes("Zorblaxian", Lang::EnUs).unwrap();
        assert!(p.contains('z') && p.contains('ˈ'), "{p}");
    }
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "the",
            "quiet",
            "harbor",
            "Ms.",
            "Dr.",
            "St.",
            "Ave.",
            "Nov.",
            "e.g.",
            "i.e.",
            "vs.",
            "etc.",
            "a.m.",
            "p.m.",
            "&",
            "+",
            "=",
            "@",
            "#",
            "%",
            "—",
            "...",
            "\"quoted\"",
            "(aside)",
            "it's",
            "dogs'",
            "U.S.",
            "NASA",
            "iPhone",
            "help@example.com",
            "https://example.com/a-b",
            "1-800-555-0199",
            "12B",
            "COVID-19",
            "20°C",
            "5km",
            "60",
            "mph",
            "café",
            "naïve",
            "🙂",
            "x🙂y",
            "#tag",
            "@user",
            "C++",
            "AT&T",
            "1990s",
            "'90s",
            "3/4",
            "24/7",
        ])
        .prop_map(String::from),
        (0u32..100_000).prop_map(|n| n.to_string()),
        (0u32..10_000, 0u32..100).prop_map(|(a, b)| format!("${a}.{b:02}")),
        (1u32..13, 0u32..60).prop_map(|(h, m)| format!("{h}:{m:02}")),
        (0u32..1000).prop_map(|n| format!("{n}%")),
        (1u32..40).prop_map(|n| format!("{n}th")),
        "[a-zA-Z]{1,12}",
        "[a-zA-Z0-9$%&@#.,'/:+-]{1,10}",
    ]
}

fn sentence() -> impl Strategy<Value = String> {
    (prop::collection::vec(token(), 1..14), prop::sample::select(vec![".", "!", "?", ",", ""])).prop_map(|(t, end)| {
        let mut s = t.join(" ");
        s.push_str(end);
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    /// Every input token with a letter or digit maps to at least one piece with phonemes.
    #[test]
    fn every_token_maps_to_phonemes(s in prop::collection::vec(sentence(), 1..4)) {
        let text = s.join(" ");
        let mut got = Vec::new();
        for c in FE.chunks(&text, Lang::EnUs, &ChunkPolicy::default()) {
            match c {
                Ok(c) => {
                    prop_assert!(c.token_len() <= MAX_TOKENS);
                    got.extend(c.pieces);
                }
                Err(TextError::NothingToSpeak) => {
                    prop_assert!(!text.chars().any(|c| c.is_alphanumeric()));
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
        assert_covers(&text, &got);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Arbitrary Unicode never panics, never emits the unknown marker, never exceeds the limit.
    #[test]
    fn arbitrary_text_is_handled(text in "\\PC{0,60}( \\PC{0,30}){0,4}") {
        for c in FE.chunks(&text, Lang::EnUs, &ChunkPolicy { first_max_tokens: 20, max_tokens: 60, ..ChunkPolicy::default() }) {
            match c {
                Ok(c) => {
                    prop_assert!(c.token_len() <= 60 || c.pieces.len() == 1, "{} tokens", c.token_len());
                    prop_assert!(!c.phonemes().contains('❓'));
                    for p in &c.pieces {
                        if let Some(w) = &p.word {
                            prop_assert!(text.get(w.clone()).is_some());
                        }
                    }
                }
                Err(TextError::NothingToSpeak) => {}
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Made-up Latin-script words (the ones that reach the fallback, espeak-ng where present)
    /// always get phonemes.
    #[test]
    fn made_up_words_get_phonemes(word in "[a-zA-Zà-ÿĀ-ſ][a-zA-Zà-ÿĀ-ſ'’.-]{0,30}[a-zA-Z]") {
        let text = format!("Say {word} now.");
        let ps = pieces(&text);
        assert_covers(&text, &ps);
    }
}

/// With the first chunk cut short: a long word early in the first clause (a phone number, an
/// amount) leaves no cut within its budget; the first chunk is then the first two words, not the
/// whole clause.
#[test]
fn a_long_early_word_still_gives_a_short_first_chunk() {
    let words_of = |c: &chorus_kokoro_text::Chunk, text: &str| -> Vec<String> {
        c.words().into_iter().map(|w| text[w].to_string()).collect()
    };
    let text = "Call 1-800-555-0199 or email help@example.com before 9 a.m.";
    let cs = chunks(text, &cutting());
    assert_eq!(words_of(&cs[0], text), ["Call", "1-800-555-0199"]);
    assert_eq!(cs[0].end, Boundary::Word);
    let text = "Tickets cost $7.25 each, or $60 for a family pass of 10.";
    let cs = chunks(text, &cutting());
    assert_eq!(words_of(&cs[0], text), ["Tickets", "cost"]);
    // Every word is spoken exactly once across the chunks.
    let all: Vec<String> = cs.iter().flat_map(|c| words_of(c, text)).collect();
    assert_eq!(all, ["Tickets", "cost", "$7.25", "each", "or", "$60", "for", "a", "family", "pass", "of", "10"]);
}
