//! Splitting a long text into pieces a service accepts in one request (OpenAI's speech
//! endpoint takes at most 4096 characters), at sentence ends where possible, then at spaces.

/// Byte ranges of `text` of at most `max_chars` characters each, covering all of it in order.
pub fn split(text: &str, max_chars: usize) -> Vec<(usize, usize)> {
    let max_chars = max_chars.max(1);
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let rest = &text[start..];
        // Byte index just past the first `max_chars` characters of the rest.
        let limit = rest.char_indices().nth(max_chars).map_or(rest.len(), |(i, _)| i);
        if limit == rest.len() {
            pieces.push((start, text.len()));
            break;
        }
        let window = &rest[..limit];
        let cut = last_boundary(window, &[". ", "! ", "? ", "\n", "。", "！", "？", "; ", ": ", ", "])
            .or_else(|| window.rfind(char::is_whitespace).filter(|&i| i > 0).map(|i| i + 1))
            .unwrap_or(limit);
        pieces.push((start, start + cut));
        start += cut;
    }
    pieces
}

/// The end of the last occurrence of the first separator (in priority order) found in the
/// second half of `window`, so pieces do not get tiny.
fn last_boundary(window: &str, separators: &[&str]) -> Option<usize> {
    let half = window.len() / 2;
    separators.iter().find_map(|sep| window.rfind(sep).map(|i| i + sep.len()).filter(|&end| end > half))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split("Hello there.", 4096), vec![(0, 12)]);
    }

    #[test]
    fn long_text_splits_at_sentences_and_covers_everything() {
        let text = "One two three. Four five six. Seven eight nine ten eleven.";
        let pieces = split(text, 20);
        assert_eq!(pieces.first().unwrap().0, 0);
        assert_eq!(pieces.last().unwrap().1, text.len());
        for w in pieces.windows(2) {
            assert_eq!(w[0].1, w[1].0);
        }
        assert_eq!(&text[pieces[0].0..pieces[0].1], "One two three. ");
        for (s, e) in &pieces {
            assert!(text[*s..*e].chars().count() <= 20);
        }
    }

    #[test]
    fn unbroken_text_is_cut_at_the_limit_on_char_boundaries() {
        let text = "ééééééééé";
        let pieces = split(text, 4);
        assert_eq!(pieces.len(), 3);
        assert_eq!(&text[pieces[2].0..pieces[2].1], "é");
    }
}
