//! Word lists of the normalizer: abbreviations, months, units, symbols, letter names.

use std::sync::LazyLock;

use regex::Regex;

/// "(555)": an area code whose parentheses belong to a phone number.
pub static AREA_CODE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\(\d{3}\)$").unwrap());
/// "U.S.", "e.g.", "a.m.", "Ph.D.": letters each followed by a period.
pub static LETTER_DOTS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:[A-Za-z]{1,2}\.){2,}$").unwrap());
/// "J." — an initial.
pub static INITIAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Z]\.$").unwrap());

/// How an abbreviation behaves around a sentence end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbbrKind {
    /// Precedes a name ("Mr.", "Dr."): its period never ends a sentence.
    Title,
    /// Follows its noun or stands alone ("Ave.", "Inc.", "etc."): its period may end a sentence.
    Trailing,
    /// Read only before a number ("No. 5", "p. 12").
    BeforeNumber,
    /// Month or weekday.
    Date,
}

/// Abbreviations with their expansion. Matched case-sensitively first, then lower-cased.
pub const ABBREVIATIONS: &[(&str, &str, AbbrKind)] = &[
    ("Mr.", "Mister", AbbrKind::Title),
    ("Mrs.", "Missus", AbbrKind::Title),
    ("Ms.", "Ms.", AbbrKind::Title),
    ("Mx.", "Mix", AbbrKind::Title),
    ("Dr.", "Doctor", AbbrKind::Title),
    ("St.", "Saint", AbbrKind::Title),
    ("Prof.", "Professor", AbbrKind::Title),
    ("Gen.", "General", AbbrKind::Title),
    ("Capt.", "Captain", AbbrKind::Title),
    ("Lt.", "Lieutenant", AbbrKind::Title),
    ("Sgt.", "Sergeant", AbbrKind::Title),
    ("Col.", "Colonel", AbbrKind::Title),
    ("Gov.", "Governor", AbbrKind::Title),
    ("Sen.", "Senator", AbbrKind::Title),
    ("Rep.", "Representative", AbbrKind::Title),
    ("Rev.", "Reverend", AbbrKind::Title),
    ("Hon.", "Honorable", AbbrKind::Title),
    ("Pres.", "President", AbbrKind::Title),
    ("Supt.", "Superintendent", AbbrKind::Title),
    ("Mt.", "Mount", AbbrKind::Title),
    ("Ft.", "Fort", AbbrKind::Title),
    ("Jr.", "Junior", AbbrKind::Trailing),
    ("Sr.", "Senior", AbbrKind::Trailing),
    ("Ave.", "Avenue", AbbrKind::Trailing),
    ("Av.", "Avenue", AbbrKind::Trailing),
    ("Blvd.", "Boulevard", AbbrKind::Trailing),
    ("Rd.", "Road", AbbrKind::Trailing),
    ("Ln.", "Lane", AbbrKind::Trailing),
    ("Hwy.", "Highway", AbbrKind::Trailing),
    ("Pkwy.", "Parkway", AbbrKind::Trailing),
    ("Ct.", "Court", AbbrKind::Trailing),
    ("Sq.", "Square", AbbrKind::Trailing),
    ("Apt.", "Apartment", AbbrKind::Trailing),
    ("Ste.", "Suite", AbbrKind::Trailing),
    ("Bldg.", "Building", AbbrKind::Trailing),
    ("Inc.", "Incorporated", AbbrKind::Trailing),
    ("Ltd.", "Limited", AbbrKind::Trailing),
    ("Co.", "Company", AbbrKind::Trailing),
    ("Corp.", "Corporation", AbbrKind::Trailing),
    ("Bros.", "Brothers", AbbrKind::Trailing),
    ("Dept.", "Department", AbbrKind::Trailing),
    ("Univ.", "University", AbbrKind::Trailing),
    ("etc.", "et cetera", AbbrKind::Trailing),
    ("e.g.", "for example", AbbrKind::Title),
    ("i.e.", "that is", AbbrKind::Title),
    ("vs.", "versus", AbbrKind::Title),
    ("vs", "versus", AbbrKind::Title),
    ("cf.", "compare", AbbrKind::Title),
    ("approx.", "approximately", AbbrKind::Title),
    ("est.", "established", AbbrKind::Title),
    ("a.m.", "a.m.", AbbrKind::Trailing),
    ("p.m.", "p.m.", AbbrKind::Trailing),
    ("No.", "number", AbbrKind::BeforeNumber),
    ("ext.", "extension", AbbrKind::BeforeNumber),
    ("Ext.", "extension", AbbrKind::BeforeNumber),
    ("tel.", "telephone", AbbrKind::BeforeNumber),
    ("Tel.", "telephone", AbbrKind::BeforeNumber),
    ("Rm.", "room", AbbrKind::BeforeNumber),
    ("Ph.", "phone", AbbrKind::BeforeNumber),
    ("Nos.", "numbers", AbbrKind::BeforeNumber),
    ("Vol.", "volume", AbbrKind::BeforeNumber),
    ("Ch.", "chapter", AbbrKind::BeforeNumber),
    ("p.", "page", AbbrKind::BeforeNumber),
    ("pp.", "pages", AbbrKind::BeforeNumber),
    ("Fig.", "figure", AbbrKind::BeforeNumber),
    ("ca.", "circa", AbbrKind::BeforeNumber),
    ("c.", "circa", AbbrKind::BeforeNumber),
    ("Jan.", "January", AbbrKind::Date),
    ("Feb.", "February", AbbrKind::Date),
    ("Mar.", "March", AbbrKind::Date),
    ("Apr.", "April", AbbrKind::Date),
    ("Jun.", "June", AbbrKind::Date),
    ("Jul.", "July", AbbrKind::Date),
    ("Aug.", "August", AbbrKind::Date),
    ("Sep.", "September", AbbrKind::Date),
    ("Sept.", "September", AbbrKind::Date),
    ("Oct.", "October", AbbrKind::Date),
    ("Nov.", "November", AbbrKind::Date),
    ("Dec.", "December", AbbrKind::Date),
    ("Mon.", "Monday", AbbrKind::Date),
    ("Tue.", "Tuesday", AbbrKind::Date),
    ("Tues.", "Tuesday", AbbrKind::Date),
    ("Wed.", "Wednesday", AbbrKind::Date),
    ("Thu.", "Thursday", AbbrKind::Date),
    ("Thur.", "Thursday", AbbrKind::Date),
    ("Thurs.", "Thursday", AbbrKind::Date),
    ("Fri.", "Friday", AbbrKind::Date),
    ("Sat.", "Saturday", AbbrKind::Date),
    ("Sun.", "Sunday", AbbrKind::Date),
];

/// The weekday a short form names ("Mon", "Tues", "thu"), if any.
pub fn weekday(word: &str) -> Option<&'static str> {
    let w = word.trim_end_matches('.');
    (w.len() >= 3)
        .then(|| {
            ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
                .into_iter()
                .find(|d| d.len() > w.len() && d[..w.len()].eq_ignore_ascii_case(w))
        })
        .flatten()
}

/// Looks an abbreviation up: exact spelling first, then case-insensitively.
pub fn abbreviation(core: &str) -> Option<(&'static str, AbbrKind)> {
    ABBREVIATIONS
        .iter()
        .find(|(a, _, _)| *a == core)
        .or_else(|| ABBREVIATIONS.iter().find(|(a, _, k)| *k != AbbrKind::Title && a.eq_ignore_ascii_case(core)))
        .or_else(|| ABBREVIATIONS.iter().find(|(a, _, _)| a.eq_ignore_ascii_case(core) && a.len() > 3))
        .map(|&(_, e, k)| (e, k))
}

/// Does `core` (ending in a period) keep that period as part of the word?
pub fn keeps_period(core: &str) -> bool {
    abbreviation(core).is_some() || LETTER_DOTS.is_match(core) || INITIAL.is_match(core) || unit_with_period(core)
}

fn unit_with_period(core: &str) -> bool {
    matches!(
        core,
        "in."
            | "ft."
            | "lb."
            | "lbs."
            | "oz."
            | "hr."
            | "hrs."
            | "min."
            | "sec."
            | "yr."
            | "yrs."
            | "mo."
            | "tbsp."
            | "tsp."
    )
}

/// Full month names, January first.
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The month a word names ("Nov", "Nov.", "November", "sept"), if any.
pub fn month(word: &str) -> Option<&'static str> {
    let w = word.trim_end_matches('.');
    if w.len() < 3 {
        return None;
    }
    MONTHS.iter().copied().find(|m| {
        m.eq_ignore_ascii_case(w)
            || (w.len() >= 3
                && m.len() > w.len()
                && m[..w.len()].eq_ignore_ascii_case(w)
                && (w.len() == 3 || w.eq_ignore_ascii_case("sept")))
    })
}

/// Units read after a number: (symbol, singular, plural). Case-sensitive.
pub const UNITS: &[(&str, &str, &str)] = &[
    ("km", "kilometer", "kilometers"),
    ("m", "meter", "meters"),
    ("cm", "centimeter", "centimeters"),
    ("mm", "millimeter", "millimeters"),
    ("µm", "micrometer", "micrometers"),
    ("nm", "nanometer", "nanometers"),
    ("kg", "kilogram", "kilograms"),
    ("g", "gram", "grams"),
    ("mg", "milligram", "milligrams"),
    ("t", "ton", "tons"),
    ("lb", "pound", "pounds"),
    ("lbs", "pounds", "pounds"),
    ("lb.", "pound", "pounds"),
    ("lbs.", "pounds", "pounds"),
    ("oz", "ounce", "ounces"),
    ("oz.", "ounce", "ounces"),
    ("tbsp", "tablespoon", "tablespoons"),
    ("tbsp.", "tablespoon", "tablespoons"),
    ("tsp", "teaspoon", "teaspoons"),
    ("tsp.", "teaspoon", "teaspoons"),
    ("mi", "mile", "miles"),
    ("ft", "foot", "feet"),
    ("ft.", "foot", "feet"),
    ("in.", "inch", "inches"),
    ("yd", "yard", "yards"),
    ("mph", "mile per hour", "miles per hour"),
    ("km/h", "kilometer per hour", "kilometers per hour"),
    ("kph", "kilometer per hour", "kilometers per hour"),
    ("m/s", "meter per second", "meters per second"),
    ("L", "liter", "liters"),
    ("l", "liter", "liters"),
    ("ml", "milliliter", "milliliters"),
    ("mL", "milliliter", "milliliters"),
    ("gal", "gallon", "gallons"),
    ("KB", "kilobyte", "kilobytes"),
    ("kB", "kilobyte", "kilobytes"),
    ("MB", "megabyte", "megabytes"),
    ("GB", "gigabyte", "gigabytes"),
    ("TB", "terabyte", "terabytes"),
    ("Hz", "hertz", "hertz"),
    ("kHz", "kilohertz", "kilohertz"),
    ("MHz", "megahertz", "megahertz"),
    ("GHz", "gigahertz", "gigahertz"),
    ("W", "watt", "watts"),
    ("kW", "kilowatt", "kilowatts"),
    ("kWh", "kilowatt hour", "kilowatt hours"),
    ("V", "volt", "volts"),
    ("mAh", "milliamp hour", "milliamp hours"),
    ("ms", "millisecond", "milliseconds"),
    ("s", "second", "seconds"),
    ("sec", "second", "seconds"),
    ("sec.", "second", "seconds"),
    ("min", "minute", "minutes"),
    ("min.", "minute", "minutes"),
    ("h", "hour", "hours"),
    ("hr", "hour", "hours"),
    ("hr.", "hour", "hours"),
    ("hrs", "hours", "hours"),
    ("hrs.", "hours", "hours"),
    ("yr", "year", "years"),
    ("yrs", "years", "years"),
    ("°C", "degree Celsius", "degrees Celsius"),
    ("°F", "degree Fahrenheit", "degrees Fahrenheit"),
    ("ºC", "degree Celsius", "degrees Celsius"),
    ("ºF", "degree Fahrenheit", "degrees Fahrenheit"),
    ("℃", "degree Celsius", "degrees Celsius"),
    ("℉", "degree Fahrenheit", "degrees Fahrenheit"),
    ("°", "degree", "degrees"),
    ("K", "kelvin", "kelvin"),
    ("x", "times", "times"),
    ("×", "times", "times"),
];

/// The spoken unit for `sym` after a number with value `v`.
pub fn unit(sym: &str, v: f64) -> Option<&'static str> {
    UNITS.iter().find(|(s, _, _)| *s == sym).map(|&(_, one, many)| if v == 1.0 { one } else { many })
}

/// Number words that scale the number before them ("$5 million").
pub const MAGNITUDES: &[&str] = &["hundred", "thousand", "million", "billion", "trillion"];

/// Symbols spoken as words.
pub fn symbol(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "and",
        '+' => "plus",
        '=' => "equals",
        '@' => "at",
        '#' => "number",
        '%' => "percent",
        '×' => "times",
        '÷' => "divided by",
        '°' | 'º' => "degrees",
        '§' => "section",
        '¶' => "paragraph",
        '©' => "copyright",
        '®' => "registered",
        '™' => "trademark",
        '<' => "less than",
        '>' => "greater than",
        '≤' => "less than or equal to",
        '≥' => "greater than or equal to",
        '≠' => "not equal to",
        '≈' => "approximately",
        '±' => "plus or minus",
        '$' => "dollars",
        '£' => "pounds",
        '€' => "euros",
        '¥' => "yen",
        '¢' => "cents",
        '/' => "slash",
        '\\' => "backslash",
        '^' => "caret",
        '~' => "tilde",
        '|' => "bar",
        '½' => "one half",
        '¼' => "one quarter",
        '¾' => "three quarters",
        _ => return None,
    })
}

/// A letter spelled out, in the form misaki reads as the letter's name.
/// "A" alone is tagged as the article, so its phonemes are given inline.
pub fn letter(c: char) -> String {
    let u = c.to_ascii_uppercase();
    if u == 'A' { "[A](/ˈA/)".to_string() } else { u.to_string() }
}

/// Spells `s` letter by letter ("ABC" → "[A](/ˈA/) B C"); digits become their names.
pub fn spell(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| if c.is_ascii_digit() { crate::numbers::digits(&c.to_string()) } else { letter(c) })
        .collect::<Vec<_>>()
        .join(" ")
}
