"""The tests' speech judge: Whisper base (CTranslate2, through faster-whisper) listens to WAV files.

usage: judge.py SENTENCES.txt OUTDIR [--model DIR]
           word error rate of OUTDIR/NN.wav (NN = the sentence's line number, from 00) against each
           non-empty line of SENTENCES.txt: one line `NN wer=0.12 | transcript` per sentence, then
           `WER 0.093 over N words (model)`.
       judge.py --words WAV... [--model DIR]
           the start time of every word heard: one line `path<TAB>start<TAB>word` per word.

Run it with the Python of `cargo xtask judge-env` (or `$CHORUS_TEST_PYTHON` under `cargo xtask
test`); the model defaults to `whisper-base/` beside that Python's venv.

Deterministic: beam search (5) in English, the random seed reset before every file, so the same WAVs
always score the same. Before comparing, the sentence and the transcript are both put in one
canonical form (numbers spelled out, "%" as percent, "$" as dollars, "a.m." as am, abbreviations as
the words a reader says), so the score counts words heard wrong rather than spelling habits. A
sentence counts at most as many errors as it has words.
"""
import os
import re
import sys

import ctranslate2
from faster_whisper import WhisperModel
from num2words import num2words

SEED = 1234

# Words written in several ways, each mapped to one form (applied to both sides, word by word).
SAME_WORDS = {
    "st": "street", "saint": "street", "ave": "avenue", "rd": "road", "blvd": "boulevard",
    "ln": "lane", "hwy": "highway", "mt": "mount",
    "dr": "doctor", "mr": "mister", "mrs": "missus", "ms": "miss", "prof": "professor",
    "jr": "junior", "sr": "senior", "vs": "versus", "etc": "etcetera", "approx": "approximately",
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june",
    "jul": "july", "aug": "august", "sep": "september", "sept": "september", "oct": "october",
    "nov": "november", "dec": "december",
    "mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday", "thu": "thursday",
    "thur": "thursday", "thurs": "thursday", "fri": "friday", "sat": "saturday", "sun": "sunday",
    "km": "kilometers", "kilometer": "kilometers", "kilometre": "kilometers", "kilometres": "kilometers",
    "kg": "kilograms", "kilogram": "kilograms", "cm": "centimeters", "centimeter": "centimeters",
    "mm": "millimeters", "millimeter": "millimeters", "ml": "milliliters", "milliliter": "milliliters",
    "mi": "miles", "mile": "miles", "ft": "feet", "foot": "feet", "oz": "ounces", "ounce": "ounces",
    "lb": "pounds", "lbs": "pounds", "pound": "pounds", "min": "minutes", "mins": "minutes",
    "minute": "minutes", "hr": "hours", "hrs": "hours", "hour": "hours", "sec": "seconds",
    "secs": "seconds", "second": "seconds", "degree": "degrees", "celsius": "c", "fahrenheit": "f",
    "ok": "okay", "email": "e mail",
}

# Written forms spelled out before the text is split into words.
SPELLED = [
    (r"\b([ap])\.\s?m\b\.?", r" \1m "),            # a.m., p. m. -> am, pm
    (r"(\d)\s?([ap])m\b", r"\1 \2m"),               # 9am -> 9 am
    (r"\b(km|mi)\s?/\s?h\b", r" \1 per hour "),     # km/h
    (r"\bmph\b", " miles per hour "),
    (r"\bper\s+cent\b", " percent "),
    (r"°\s?([cf])\b", r" degrees \1 "),             # 20°C -> 20 degrees c
    (r"°", " degrees "),
    (r"%", " percent "),
    (r"&", " and "),
    (r"@", " at "),
    (r"\+", " plus "),
    (r"(\d),(?=\d{3}\b)", r"\1"),                   # 1,000 -> 1000
    (r"\$(\d+)\.(\d\d)\b", r" \1 dollars \2 "),     # $4.50 -> 4 dollars 50
    (r"\$", " dollars "),
    (r"(\d)[.:](\d)", r"\1 \2"),                     # 9:30, 9.30, 2.5 -> 9 30, 9 30, 2 5
]


def spell_number(match):
    digits, suffix = match.group(1), match.group(2)
    if suffix:
        return f" {num2words(int(digits), to='ordinal')} "
    return f" {num2words(int(digits))} "


def canonical(text):
    """The words of `text` in the canonical form both sides are compared in."""
    text = text.lower().replace("\u2019", "'").replace("'", "")
    for pattern, repl in SPELLED:
        text = re.sub(pattern, repl, text)
    text = re.sub(r"(\d+)(?:(st|nd|rd|th)\b)?", spell_number, text)
    words = []
    for word in re.sub(r"[^a-z]+", " ", text).split():
        words.extend(SAME_WORDS.get(word, word).split())
    # "$4.50" may be heard as "4 dollars 50" or "4.50 dollars": where the currency word falls is
    # not an error, so it goes last.
    words = ["dollars" if w == "dollar" else w for w in words]
    return [w for w in words if w != "dollars"] + [w for w in words if w == "dollars"]


def edit_distance(ref, hyp):
    """Word-level Levenshtein distance."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def default_model():
    return os.path.normpath(os.path.join(sys.prefix, "..", "whisper-base"))


def transcribe(asr, path, **options):
    ctranslate2.set_random_seed(SEED)
    segments, _ = asr.transcribe(path, language="en", beam_size=5, **options)
    return list(segments)


def score(asr, model, sentences, outdir):
    with open(sentences, encoding="utf-8") as f:
        refs = [line.strip() for line in f if line.strip()]
    errors = total = 0
    for n, ref in enumerate(refs):
        path = os.path.join(outdir, f"{n:02d}.wav")
        heard = " ".join(s.text.strip() for s in transcribe(asr, path)) if os.path.exists(path) else ""
        want = canonical(ref)
        wrong = min(edit_distance(want, canonical(heard)), len(want))
        errors += wrong
        total += len(want)
        print(f"{n:02d} wer={wrong / max(len(want), 1):.2f} | {heard}", flush=True)
    print(f"WER {errors / max(total, 1):.3f} over {total} words ({os.path.basename(model.rstrip('/'))})")


def word_starts(asr, paths):
    for path in paths:
        for segment in transcribe(asr, path, word_timestamps=True):
            for w in segment.words:
                print(f"{path}\t{w.start:.3f}\t{w.word.strip()}", flush=True)


def main():
    args = sys.argv[1:]
    model = default_model()
    if "--model" in args:
        i = args.index("--model")
        model = args[i + 1]
        del args[i:i + 2]
    words = "--words" in args
    if words:
        args.remove("--words")
    if not args or (not words and len(args) != 2):
        sys.exit(__doc__)
    if not os.path.exists(os.path.join(model, "model.bin")):
        sys.exit(f"judge.py: no Whisper model in {model}: run `cargo xtask judge-env`")
    asr = WhisperModel(model, device="cpu", compute_type="int8")
    if words:
        word_starts(asr, args)
    else:
        score(asr, model, *args)


if __name__ == "__main__":
    main()
