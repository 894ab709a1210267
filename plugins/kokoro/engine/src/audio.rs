//! Joining chunk audio: finding the model's leading and trailing silence, short fades, and pauses.

/// 10 ms analysis frames at 24 kHz.
const FRAME: usize = 240;
/// A frame this far below the chunk's loudest frame counts as silence.
const QUIET_DB: f32 = -42.0;
/// Kept before the first sound and after the last, so onsets and releases survive the cut.
pub const LEAD_MARGIN: usize = 480;
pub const TAIL_MARGIN: usize = 960;
/// Raised-cosine fade length at a cut, so a cut never clicks.
const FADE: usize = 120;
/// Length of the crossfade joining two chunks cut between words (20 ms).
pub const CROSSFADE: usize = 480;

/// Which 10 ms frames of `audio` are sound (louder than [`QUIET_DB`] below the loudest frame);
/// `None` when the whole of it is silence.
fn loud_frames(audio: &[f32]) -> Option<Vec<bool>> {
    let rms: Vec<f32> =
        audio.chunks(FRAME).map(|f| (f.iter().map(|x| x * x).sum::<f32>() / f.len() as f32).sqrt()).collect();
    let peak = rms.iter().copied().fold(0.0f32, f32::max);
    if peak < 1e-4 {
        return None;
    }
    let threshold = peak * 10f32.powf(QUIET_DB / 20.0);
    Some(rms.iter().map(|&r| r > threshold).collect())
}

/// Where sound starts and ends in `audio`: `(first, last)` sample indices of loud frames, or
/// `None` when the whole chunk is silence.
pub fn sound_span(audio: &[f32]) -> Option<(usize, usize)> {
    let loud = loud_frames(audio)?;
    let first = loud.iter().position(|&l| l)?;
    let last = loud.iter().rposition(|&l| l)?;
    Some((first * FRAME, ((last + 1) * FRAME).min(audio.len())))
}

/// A 10 ms frame quieter than this (RMS, −60 dBFS) ends a request's sound. Absolute, not relative
/// to the loudest frame, so the cut does not depend on how much audio came before it.
const TAIL_QUIET: f32 = 1e-3;

/// Cut `audio` off [`TAIL_MARGIN`] after its last sound, so a request does not end in the
/// silence the model speaks after its last word. Frames are counted back from the end, so where
/// the cut falls does not depend on where the piece starts (a first window does not move it).
pub fn trim_tail(audio: &mut Vec<f32>) {
    let rms = |f: &[f32]| (f.iter().map(|x| x * x).sum::<f32>() / f.len() as f32).sqrt();
    let mut end = audio.len();
    while end > 0 {
        let start = end.saturating_sub(FRAME);
        if rms(&audio[start..end]) > TAIL_QUIET {
            audio.truncate((end + TAIL_MARGIN).min(audio.len()));
            return;
        }
        end = start;
    }
}

/// The silent stretches of at least `min` samples between the first and the last sound of
/// `audio`, as sample ranges: the pauses a listener hears.
pub fn pauses(audio: &[f32], min: usize) -> Vec<std::ops::Range<usize>> {
    let Some(loud) = loud_frames(audio) else { return Vec::new() };
    let mut out = Vec::new();
    let mut quiet_from = None;
    for (i, &l) in loud.iter().enumerate() {
        match (l, quiet_from) {
            (false, None) if i > 0 && loud[..i].iter().any(|&x| x) => quiet_from = Some(i),
            (true, Some(from)) => {
                if (i - from) * FRAME >= min {
                    out.push(from * FRAME..i * FRAME);
                }
                quiet_from = None;
            }
            _ => {}
        }
    }
    out
}

/// The cut points `(head, tail)` for a chunk: trim silence but never inside `keep` (the span of
/// the words, in samples), so no word loses its start or end.
pub fn cut_points(audio: &[f32], keep: Option<(usize, usize)>) -> (usize, usize) {
    let len = audio.len();
    let (mut head, mut tail) = match sound_span(audio) {
        Some((first, last)) => (first.saturating_sub(LEAD_MARGIN), (last + TAIL_MARGIN).min(len)),
        None => (0, 0),
    };
    if let Some((start, end)) = keep {
        head = head.min(start.min(len));
        tail = tail.max(end.min(len));
    }
    (head, tail.max(head))
}

/// Fade the first and last few samples of a cut so it starts and ends at zero.
pub fn fade_edges(audio: &mut [f32], fade_in: bool, fade_out: bool) {
    let n = FADE.min(audio.len() / 2);
    for i in 0..n {
        let gain = 0.5 - 0.5 * (std::f32::consts::PI * i as f32 / n as f32).cos();
        if fade_in {
            audio[i] *= gain;
        }
        if fade_out {
            let j = audio.len() - 1 - i;
            audio[j] *= gain;
        }
    }
}

/// Fade `held` out while `next` fades in over its first `held.len()` samples (equal-power).
pub fn crossfade(held: &[f32], next: &mut [f32]) {
    let n = held.len().min(next.len());
    for i in 0..n {
        let t = (i as f32 + 0.5) / n as f32 * std::f32::consts::FRAC_PI_2;
        next[i] = held[i] * t.cos() + next[i] * t.sin();
    }
}

/// Move linearly from `held` to `next` over `held.len()` samples: for two decodings of the same
/// stretch of audio, whose sum must not swell as an equal-power crossfade's would.
pub fn blend(held: &[f32], next: &mut [f32]) {
    let n = held.len().min(next.len());
    for i in 0..n {
        let t = (i as f32 + 0.5) / n as f32;
        next[i] = held[i] * (1.0 - t) + next[i] * t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(silence_before: usize, sound: usize, silence_after: usize) -> Vec<f32> {
        let mut v = vec![0.0; silence_before];
        v.extend((0..sound).map(|i| 0.5 * (i as f32 * 0.1).sin()));
        v.extend(vec![0.0; silence_after]);
        v
    }

    #[test]
    fn silence_around_sound_is_found_to_the_frame() {
        let a = tone(4800, 2400, 7200);
        assert_eq!(sound_span(&a), Some((4800, 7200)));
        assert_eq!(sound_span(&vec![0.0; 1000]), None);
    }

    #[test]
    fn a_tail_is_cut_after_the_last_sound() {
        let mut a = tone(2400, 4800, 12000);
        trim_tail(&mut a);
        assert_eq!(a.len(), 7200 + TAIL_MARGIN);
        let mut quiet = vec![0.0f32; 1000];
        trim_tail(&mut quiet);
        assert_eq!(quiet.len(), 1000, "silence alone is left as it is");
    }

    #[test]
    fn pauses_are_the_silences_between_sounds() {
        let mut a = tone(2400, 4800, 4800);
        a.extend(tone(0, 2400, 1200));
        a.extend(tone(0, 2400, 9600));
        assert_eq!(pauses(&a, 3600), vec![7200..12000], "the long pause inside, not the short one nor the edges");
        assert_eq!(pauses(&a, 1200).len(), 2);
        assert!(pauses(&vec![0.0; 4800], 240).is_empty());
    }

    #[test]
    fn a_crossfade_moves_from_one_signal_to_the_other() {
        let held = vec![1.0f32; 100];
        let mut next = vec![-1.0f32; 150];
        crossfade(&held, &mut next);
        assert!(next[0] > 0.95 && next[99] < -0.95, "starts as held, ends as next: {} {}", next[0], next[99]);
        assert!(next.windows(2).take(99).all(|w| w[1] <= w[0]), "monotonic between two constants");
        assert!(next[100..].iter().all(|&x| x == -1.0), "untouched after the crossfade");
    }

    #[test]
    fn cuts_keep_margins_and_never_enter_the_words() {
        let a = tone(4800, 2400, 7200);
        assert_eq!(cut_points(&a, None), (4800 - LEAD_MARGIN, 7200 + TAIL_MARGIN));
        // Words said to run past the sound are kept whole.
        assert_eq!(cut_points(&a, Some((1000, 9000))), (1000, 9000));
        // Words inside the sound never shrink the cut to them.
        assert_eq!(cut_points(&a, Some((5000, 6000))), (4800 - LEAD_MARGIN, 7200 + TAIL_MARGIN));
    }

    #[test]
    fn a_blend_moves_linearly_from_one_decoding_to_the_other() {
        let held = vec![1.0f32; 100];
        let mut next = vec![1.0f32; 150];
        blend(&held, &mut next);
        assert!(next.iter().all(|&x| (x - 1.0).abs() < 1e-6), "two equal signals stay as they are: no swell");
        let mut next = vec![0.0f32; 150];
        blend(&held, &mut next);
        assert!(next[0] > 0.99 && next[99] < 0.01 && next[100..].iter().all(|&x| x == 0.0));
        let mut untouched = vec![0.5f32; 10];
        blend(&[], &mut untouched);
        assert!(untouched.iter().all(|&x| x == 0.5), "nothing held, nothing changed");
    }

    #[test]
    fn fades_reach_zero_at_the_edges() {
        let mut a = vec![1.0; 1000];
        fade_edges(&mut a, true, true);
        assert_eq!(a[0], 0.0);
        assert!(a[999].abs() < 1e-3);
        assert_eq!(a[500], 1.0);
    }
}
