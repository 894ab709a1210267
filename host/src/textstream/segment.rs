//! The segmenter: text arriving in pieces, cut into segments as soon as each is ready (a whole
//! sentence, or under a length schedule the text up to a clause boundary). Every char goes
//! through one state machine, so how the text was split into pieces never changes the cuts.

/// Sentence ends. A period also needs a word before it that is not an abbreviation.
const TERMINATORS: &[char] = &['.', '!', '?', '…', '。', '！', '？'];
/// What may follow a terminator and still belong to its sentence ("Stop!" she said. / (Yes.)).
const CLOSERS: &[char] = &['"', '\'', '”', '’', ')', ']', '}', '»'];
/// Clause ends, cut after (with the whitespace that follows, except for dashes).
const CLAUSE: &[char] = &[',', ';', ':', '—', '–'];
/// Words whose period does not end a sentence (lower case, without their last period).
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "etc", "e.g", "i.e", "eg", "ie", "cf", "al",
    "approx", "appt", "apt", "dept", "est", "fig", "figs", "gen", "gov", "inc", "ltd", "co", "corp", "no", "nos",
    "vol", "vols", "p", "pp", "ch", "sec", "rev", "capt", "col", "lt", "sgt", "cmdr", "adm", "hon", "pres", "rep",
    "sen", "ave", "blvd", "rd", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "a.m", "p.m", "u.s", "u.k", "ph.d", "min", "max", "misc", "op", "viz",
];

/// When a segment is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Characters buffered (after the sentences already cut) before the text up to the last
    /// clause boundary goes out: the first entry for the first segment, the next for the next,
    /// the last one for the rest (ElevenLabs' `chunk_length_schedule`).
    pub schedule: Vec<usize>,
    /// Cut at sentence ends only (the schedule is not used).
    pub sentences_only: bool,
}

impl Policy {
    /// ElevenLabs' default `chunk_length_schedule`.
    pub const DEFAULT_SCHEDULE: [usize; 4] = [120, 160, 250, 290];

    /// Whole sentences only (Wyoming, as wyoming-piper streams).
    pub fn sentences() -> Self {
        Policy { schedule: Vec::new(), sentences_only: true }
    }

    /// Sentences, and clauses once the buffer is past `schedule`'s entry.
    pub fn schedule(schedule: Vec<usize>) -> Self {
        Policy { schedule, sentences_only: false }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::schedule(Self::DEFAULT_SCHEDULE.to_vec())
    }
}

/// A piece of the input ready to speak. `start` is its offset in the whole input, in chars; the
/// segments' texts, in order, concatenate to exactly the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub start: usize,
}

impl Segment {
    /// Its end in the whole input, in chars.
    pub fn end(&self) -> usize {
        self.start + self.text.chars().count()
    }

    /// True when there is nothing to say in it (no letter or digit).
    pub fn is_silent(&self) -> bool {
        !self.text.chars().any(char::is_alphanumeric)
    }
}

/// A place in the buffer: bytes and chars from its start.
#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    byte: usize,
    char: usize,
}

/// Cuts text that arrives in pieces; see the module documentation.
#[derive(Debug, Clone)]
pub struct Segmenter {
    policy: Policy,
    buf: String,
    /// Chars in `buf`.
    len: usize,
    /// Offset of `buf` in the whole input, in chars.
    start: usize,
    /// Inside a sentence end (terminator, then closers), waiting for whitespace to confirm it.
    ending: bool,
    /// Just after a clause mark that a whitespace would confirm.
    after_clause_mark: bool,
    /// The last confirmed clause boundary in `buf`.
    clause: Option<Mark>,
    /// Segments cut so far (the schedule's index).
    cut: usize,
}

impl Segmenter {
    pub fn new(policy: Policy) -> Self {
        Segmenter {
            policy,
            buf: String::new(),
            len: 0,
            start: 0,
            ending: false,
            after_clause_mark: false,
            clause: None,
            cut: 0,
        }
    }

    /// Add a piece; returns the segments it made ready, in order.
    pub fn push(&mut self, piece: &str) -> Vec<Segment> {
        let mut out = Vec::new();
        for c in piece.chars() {
            self.buf.push(c);
            self.len += 1;
            let here = Mark { byte: self.buf.len(), char: self.len };
            if self.ending {
                if c.is_whitespace() {
                    out.push(self.take(here));
                    continue;
                }
                self.ending = TERMINATORS.contains(&c) || CLOSERS.contains(&c);
            } else if TERMINATORS.contains(&c) {
                self.ending = c != '.' || !self.abbreviation();
            }
            if !self.policy.sentences_only {
                if self.after_clause_mark && c.is_whitespace() {
                    self.clause = Some(here);
                }
                self.after_clause_mark = CLAUSE.contains(&c);
                if matches!(c, '—' | '–') {
                    self.clause = Some(here);
                }
                if let Some(limit) = self.limit()
                    && self.len > limit
                    && let Some(mark) = self.clause
                {
                    out.push(self.take(mark));
                }
            }
        }
        out
    }

    /// Everything still buffered, as one segment (none when the buffer is empty); the
    /// segmenter then starts over at the same offset, for more input.
    pub fn flush(&mut self) -> Option<Segment> {
        if self.buf.is_empty() {
            return None;
        }
        let end = Mark { byte: self.buf.len(), char: self.len };
        Some(self.take(end))
    }

    /// Chars of the input cut or buffered so far.
    pub fn offset(&self) -> usize {
        self.start + self.len
    }

    /// The schedule's entry for the next segment.
    fn limit(&self) -> Option<usize> {
        let schedule = &self.policy.schedule;
        schedule.get(self.cut).or(schedule.last()).copied()
    }

    /// Whether the period just pushed ends an abbreviation or an initial ("Dr.", "e.g.", "J.").
    fn abbreviation(&self) -> bool {
        let before = &self.buf[..self.buf.len() - 1];
        let word = before.rsplit(char::is_whitespace).next().unwrap_or("");
        let word = word.trim_start_matches(|c: char| !c.is_alphanumeric());
        if word.is_empty() {
            return false;
        }
        let mut chars = word.chars();
        let single = chars.next().is_some_and(char::is_alphabetic) && chars.next().is_none();
        single || ABBREVIATIONS.contains(&word.to_lowercase().as_str())
    }

    /// Cut the buffer at `mark`: the part before becomes a segment.
    fn take(&mut self, mark: Mark) -> Segment {
        let rest = self.buf.split_off(mark.byte);
        let text = std::mem::replace(&mut self.buf, rest);
        let segment = Segment { text, start: self.start };
        self.start += mark.char;
        self.len -= mark.char;
        self.cut += 1;
        self.ending = false;
        self.clause = self
            .clause
            .filter(|c| c.byte > mark.byte)
            .map(|c| Mark { byte: c.byte - mark.byte, char: c.char - mark.char });
        segment
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(policy: Policy, pieces: &[&str]) -> Vec<Segment> {
        let mut segmenter = Segmenter::new(policy);
        let mut out: Vec<Segment> = pieces.iter().flat_map(|p| segmenter.push(p)).collect();
        out.extend(segmenter.flush());
        out
    }

    fn texts(segments: &[Segment]) -> Vec<&str> {
        segments.iter().map(|s| s.text.as_str()).collect()
    }

    fn char_at_a_time(text: &str) -> Vec<String> {
        text.chars().map(String::from).collect()
    }

    /// Segments' texts concatenate back to the input, and each `start` is where its text begins.
    fn assert_covers(input: &str, segments: &[Segment]) {
        let joined: String = segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(joined, input);
        let mut at = 0;
        for s in segments {
            assert_eq!(s.start, at, "{s:?}");
            assert_eq!(input.chars().skip(at).take(s.text.chars().count()).collect::<String>(), s.text);
            at = s.end();
        }
    }

    #[test]
    fn sentences_are_cut_after_their_end_and_one_whitespace() {
        let input = "Hello there. How are you?  I am fine! Thanks";
        let segments = all(Policy::sentences(), &[input]);
        assert_eq!(texts(&segments), ["Hello there. ", "How are you? ", " I am fine! ", "Thanks"]);
        assert_covers(input, &segments);
    }

    #[test]
    fn a_sentence_is_ready_only_once_the_whitespace_after_it_arrived() {
        let mut s = Segmenter::new(Policy::sentences());
        assert!(s.push("It is done.").is_empty(), "'.' might be '.5' or 'e.g.'");
        assert_eq!(texts(&s.push(" Next")), ["It is done. "]);
        assert_eq!(s.flush().unwrap(), Segment { text: "Next".into(), start: 12 });
        assert_eq!(s.flush(), None);
    }

    #[test]
    fn abbreviations_initials_and_numbers_do_not_end_sentences() {
        let input = "Dr. Smith met J. R. Tolkien, e.g. at 3.5 p.m. on Elm St. today. Then he left.";
        let segments = all(Policy::sentences(), &[input]);
        assert_eq!(
            texts(&segments),
            ["Dr. Smith met J. R. Tolkien, e.g. at 3.5 p.m. on Elm St. today. ", "Then he left."]
        );
    }

    #[test]
    fn closing_quotes_and_ellipses_stay_with_their_sentence() {
        let input = "\"Stop!\" she said. (Really?) Wait... what… yes";
        let segments = all(Policy::sentences(), &[input]);
        assert_eq!(texts(&segments), ["\"Stop!\" ", "she said. ", "(Really?) ", "Wait... ", "what… ", "yes"]);
    }

    #[test]
    fn pieces_of_any_size_give_the_same_segments_as_one_push() {
        let input = "First, a clause; then another: and a dash—like this. Dr. Who? Yes! \
                     A long run of words, with commas, goes on, and on, and on, past the schedule, \
                     until a clause boundary lets it go; the rest waits for its end. Ünïcödé, too… ok";
        for policy in [Policy::sentences(), Policy::schedule(vec![20, 30]), Policy::default()] {
            let whole = all(policy.clone(), &[input]);
            assert_covers(input, &whole);
            let chars = char_at_a_time(input);
            let by_char = all(policy.clone(), &chars.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(by_char, whole, "{policy:?}");
            for size in [2, 3, 7, 13] {
                let pieces: Vec<String> = chars.chunks(size).map(|c| c.concat()).collect();
                let pieces = all(policy.clone(), &pieces.iter().map(String::as_str).collect::<Vec<_>>());
                assert_eq!(pieces, whole, "{policy:?} in pieces of {size}");
            }
        }
    }

    #[test]
    fn the_schedule_releases_clauses_once_the_buffer_is_past_its_entry() {
        let input = "one two three, four five six, seven eight nine, ten eleven twelve, thirteen";
        let segments = all(Policy::schedule(vec![20, 40]), &[input]);
        // Past 20 chars: up to the last clause boundary then ("one two three, "); the next cut
        // waits for 40 chars past that, when two clauses are complete; the rest is under 40.
        assert_eq!(
            texts(&segments),
            ["one two three, ", "four five six, seven eight nine, ", "ten eleven twelve, thirteen"]
        );
        assert_covers(input, &segments);
        // Sentences only: no clause is ever cut, however long.
        assert_eq!(all(Policy::sentences(), &[input]).len(), 1);
    }

    #[test]
    fn past_the_schedule_without_a_clause_boundary_the_text_waits() {
        let input = "a very long sentence without any clause boundary at all in it";
        let mut s = Segmenter::new(Policy::schedule(vec![10]));
        assert!(s.push(input).is_empty());
        assert_eq!(s.flush().unwrap().text, input);
    }

    #[test]
    fn offsets_count_chars_not_bytes() {
        let segments = all(Policy::sentences(), &["Ça va? Très bien. Ok"]);
        assert_eq!(segments.iter().map(|s| s.start).collect::<Vec<_>>(), [0, 7, 18]);
    }

    #[test]
    fn silent_segments_are_recognised() {
        assert!(Segment { text: " ... ".into(), start: 0 }.is_silent());
        assert!(!Segment { text: "a.".into(), start: 0 }.is_silent());
    }
}
