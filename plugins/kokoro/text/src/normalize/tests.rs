//! Normalizer unit tests: one group per reading category, asserting the spoken text.

use super::*;

fn say(text: &str) -> String {
    say_in(text, Lang::EnUs)
}

fn say_in(text: &str, lang: Lang) -> String {
    normalize_with(text, lang)
        .into_iter()
        .filter(|t| t.kind == TokenKind::Word)
        .map(|t| t.spoken)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sentences as the chunker will see them: the words of each, joined.
fn sentences(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for t in normalize(text) {
        if t.kind == TokenKind::Word {
            let s = out.last_mut().unwrap();
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(&t.spoken);
        }
        if t.sentence_end {
            out.push(String::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

#[test]
fn cardinals() {
    assert_eq!(say("42 Elm"), "forty-two Elm");
    assert_eq!(say("her 2 dogs"), "her two dogs");
    assert_eq!(say("1,234,567 people"), "one million two hundred thirty-four thousand five hundred sixty-seven people");
    assert_eq!(say("-40 below"), "minus forty below");
    assert_eq!(say("pass of 10."), "pass of ten");
    assert_eq!(say_in("105 sheep", Lang::EnGb), "one hundred and five sheep");
}

#[test]
fn ordinals() {
    assert_eq!(say("the 1st and 22nd"), "the first and twenty-second");
    assert_eq!(say("3rd place, 11th hour, 101st"), "third place eleventh hour one hundred first");
}

#[test]
fn decimals_and_fractions() {
    assert_eq!(say("3.14 is pi"), "three point one four is pi");
    assert_eq!(say("add 1/2 cup or 3/4"), "add one half cup or three quarters");
    assert_eq!(say("open 24/7"), "open twenty-four seven");
}

#[test]
fn versions_addresses_and_ratios() {
    assert_eq!(say("Version 2.0.1 shipped"), "Version two point zero point one shipped");
    assert_eq!(say("update to v1.10.3 now"), "update to version one point ten point three now");
    assert_eq!(
        say("ping 192.168.0.1 again"),
        "ping one hundred ninety-two dot one hundred sixty-eight dot zero dot one again"
    );
    assert_eq!(say("a 16:9 screen"), "a sixteen to nine screen");
    assert_eq!(say("at 10:45 sharp"), "at ten forty-five sharp");
}

#[test]
fn phone_numbers_written_with_spaces() {
    assert_eq!(say("call +1 212 555 0100 now"), "call plus one, two one two, five five five, zero one zero zero now");
    assert_eq!(say("or 212 555 0100."), "or two one two, five five five, zero one zero zero");
    assert_eq!(say("in 2024 100 people came"), "in twenty twenty-four one hundred people came");
    assert_eq!(say("rooms 101 102 103"), "rooms one hundred one one hundred two one hundred three");
    assert_eq!(say("+1 +212 555 0100"), say("+1") + " " + &say("+212 555 0100"), "a plus sign starts a number");
}

#[test]
fn kitchen_units_and_day_ranges() {
    assert_eq!(
        say("add 2 tbsp. of butter and 1 tsp of salt"),
        "add two tablespoons of butter and one teaspoon of salt"
    );
    assert_eq!(say("open Mon-Fri only"), "open Monday to Friday only");
    assert_eq!(say("closed Tues-Thurs"), "closed Tuesday to Thursday");
}

#[test]
fn money() {
    assert_eq!(say("$7.25"), "seven dollars and twenty-five cents");
    assert_eq!(say("$60 for"), "sixty dollars for");
    assert_eq!(say("$1"), "one dollar");
    assert_eq!(say("$0.99"), "ninety-nine cents");
    assert_eq!(say("$1,250.75"), "one thousand two hundred fifty dollars and seventy-five cents");
    assert_eq!(say("£3.50"), "three pounds and fifty pence");
    assert_eq!(say("€20"), "twenty euros");
    assert_eq!(say("€1.01"), "one euro and one cent");
    assert_eq!(say("$5 million"), "five million dollars");
    assert_eq!(say("$2.5B"), "two point five billion dollars");
    assert_eq!(say("50¢"), "fifty cents");
}

#[test]
fn percentages() {
    assert_eq!(say("50% off"), "fifty percent off");
    assert_eq!(say("12.5%"), "twelve point five percent");
    assert_eq!(say("-3%"), "minus three percent");
}

#[test]
fn times() {
    assert_eq!(say("at 10:45 a.m."), "at ten forty-five a.m.");
    assert_eq!(say("at 3:30 p.m. on"), "at three thirty p.m. on");
    assert_eq!(say("before 9 a.m."), "before nine a.m.");
    assert_eq!(say("at 7pm"), "at seven p.m.");
    assert_eq!(say("at 7 PM"), "at seven p.m.");
    assert_eq!(say("at 10:05"), "at ten oh five");
    assert_eq!(say("at 6:00."), "at six o'clock");
    assert_eq!(say("at 6:00pm"), "at six p.m.");
    assert_eq!(say("at 18:30"), "at eighteen thirty");
}

#[test]
fn dates_and_years() {
    assert_eq!(say("on Nov. 14, 2026, in"), "on November fourteenth, twenty twenty-six in");
    assert_eq!(say("May 3rd, 1999"), "May third, nineteen ninety-nine");
    assert_eq!(say("Jan 5"), "January fifth");
    assert_eq!(say("14 March 1999"), "the fourteenth of March nineteen ninety-nine");
    assert_eq!(say("in 1999"), "in nineteen ninety-nine");
    assert_eq!(say("since 2005"), "since two thousand five");
    assert_eq!(say("the 1990s"), "the nineteen nineties");
    assert_eq!(say("1990–1995"), "nineteen ninety to nineteen ninety-five");
    assert_eq!(say("1500 people"), "fifteen hundred people");
    assert_eq!(say("2026 dogs"), "two thousand twenty-six dogs");
    assert_eq!(say("11/14/2026"), "November fourteenth, twenty twenty-six");
    assert_eq!(say_in("14/11/2026", Lang::EnGb), "the fourteenth of November, twenty twenty-six");
    assert_eq!(say("2026-11-14"), "November fourteenth, twenty twenty-six");
}

#[test]
fn phone_numbers() {
    assert_eq!(say("Call 1-800-555-0199 or"), "Call one, eight hundred, five five five, zero one nine nine or");
    assert_eq!(say("(555) 123-4567"), "five five five, one two three, four five six seven");
    assert_eq!(say("555-0199"), "five five five, zero one nine nine");
    assert_eq!(say("Dial (212) 555-0147 or"), "Dial two one two, five five five, zero one four seven or");
    assert_eq!(say("area code (212) only"), "area code two one two only");
}

#[test]
fn run_distances() {
    assert_eq!(say("a 10K run"), "a ten K run");
    assert_eq!(say("ran the 5K"), "ran the five K");
    assert_eq!(say("earns $10K"), "earns ten thousand dollars");
    assert_eq!(say("300 K is cold"), "three hundred kelvin is cold");
}

#[test]
fn elapsed_times() {
    assert_eq!(say("Her 10K time was 52:18, a new best"), "Her ten K time was fifty-two eighteen a new best");
    assert_eq!(say("finished in 1:02:45"), "finished in one hour two minutes and forty-five seconds");
    assert_eq!(say("ran 3:45 today"), "ran three forty-five today");
    assert_eq!(say("the mile in 4:05"), "the mile in four oh five");
    assert_eq!(say("lasted 52:00"), "lasted fifty-two minutes");
    assert_eq!(say("took 0:45"), "took forty-five seconds");
    assert_eq!(say("a 1:00:05 film"), "a one hour and five seconds film");
    assert_eq!(say("a 60:40 split"), "a sixty to forty split");
    assert_eq!(say("at 9:05"), "at nine oh five");
    assert_eq!(say("the 9:05 p.m. flight"), "the nine oh five p.m. flight");
    assert_eq!(say("at 10:45:30"), "at ten forty-five and thirty seconds");
}

#[test]
fn heights_in_feet_and_inches() {
    assert_eq!(say("He is 6'2\" tall"), "He is six foot two tall");
    assert_eq!(say("she is 5′11″"), "she is five foot eleven");
    assert_eq!(say("a 6'0\" door"), "a six foot door");
}

#[test]
fn mixed_numbers_and_slash_dates() {
    assert_eq!(say("add 1 1/2 tsp. of cinnamon"), "add one and a half teaspoons of cinnamon");
    assert_eq!(say("2 3/4 cups"), "two and three quarters cups");
    assert_eq!(say("in 1 1/8 hours"), "in one and an eighth hours");
    assert_eq!(say("3/4 oz of"), "three quarters of an ounce of");
    assert_eq!(say("1/4 and 5/8"), "one quarter and five eighths");
    assert_eq!(say("set for 12/05 at noon"), "set for December fifth at noon");
    assert_eq!(say("due 3/15"), "due March fifteenth");
    assert_eq!(say_in("due 15/3", Lang::EnGb), "due the fifteenth of March");
    assert_eq!(say("on 3/4 of them"), "on three quarters of them");
}

#[test]
fn day_and_month_abbreviations_alone() {
    assert_eq!(say("teaches Tue. and Thu. from 2"), "teaches Tuesday and Thursday from two");
    assert_eq!(say("open Mon. through Sat."), "open Monday through Saturday");
    assert_eq!(sentences("Back in Sept. We left."), ["Back in September", "We left"]);
    assert_eq!(say("look at the Sun."), "look at the Sun");
    assert_eq!(say("he sat. then"), "he sat then");
}

#[test]
fn building_letters_do_not_end_sentences() {
    assert_eq!(sentences("It is at noon in Bldg. C."), ["It is at noon in Building C"]);
    assert_eq!(sentences("Go to Apt. 4B now."), ["Go to Apartment four B now"]);
    assert_eq!(sentences("Meet at the Bldg. Then go."), ["Meet at the Building", "Then go"]);
}

#[test]
fn abbreviations() {
    assert_eq!(say("Ms. Lee moved to 42 Elm Ave. in March"), "Ms. Lee moved to forty-two Elm Avenue in March");
    assert_eq!(say("Mr. and Mrs. Smith met Dr. Jones"), "Mister and Missus Smith met Doctor Jones");
    assert_eq!(say("St. Louis"), "Saint Louis");
    assert_eq!(say("on St. Patrick's Day"), "on Saint Patrick's Day");
    assert_eq!(say("lives on Main St. in"), "lives on Main Street in");
    assert_eq!(say("at 5th St. and"), "at fifth Street and");
    assert_eq!(say("Visit St. Paul"), "Visit Saint Paul");
    assert_eq!(say("turn onto Mulholland Dr. and stop"), "turn onto Mulholland Drive and stop");
    assert_eq!(say("fruit, e.g. apples, i.e. food, etc."), "fruit for example apples that is food et cetera");
    assert_eq!(say("cats vs. dogs"), "cats versus dogs");
    assert_eq!(say("No. 5"), "number five");
    assert_eq!(say("I said no."), "I said no");
    assert_eq!(say("Acme Inc. and"), "Acme Incorporated and");
    assert_eq!(say("the U.S. Army"), "the U.S. Army");
    assert_eq!(say("ext. 89"), "extension eighty-nine");
    assert_eq!(say("Chapter IV: World War II and Henry VIII"), "Chapter four World War two and Henry the eighth");
    assert_eq!(say("I saw an IV drip"), "I saw an IV drip");
}

#[test]
fn sentence_splitting_respects_abbreviations() {
    assert_eq!(
        sentences("Ms. Lee moved to 42 Elm Ave. in March. Dr. Smith met her at 3 p.m. on Nov. 14. They talked."),
        [
            "Ms. Lee moved to forty-two Elm Avenue in March",
            "Doctor Smith met her at three p.m. on November fourteenth",
            "They talked"
        ]
    );
    assert_eq!(sentences("We met on Elm St. Then we left."), ["We met on Elm Street", "Then we left"]);
    assert_eq!(sentences("Call before 9 a.m. Tomorrow is late."), ["Call before nine a.m.", "Tomorrow is late"]);
    assert_eq!(
        sentences("Is it 50% off? \"Absolutely,\" she said, \"until Sunday!\""),
        ["Is it fifty percent off", "Absolutely she said until Sunday"]
    );
    assert_eq!(sentences("Title line\n\nBody text here."), ["Title line", "Body text here"]);
    assert_eq!(
        sentences("It weighs approx. five tons. Call ext. 89 now."),
        ["It weighs approximately five tons", "Call extension eighty-nine now"]
    );
    assert_eq!(sentences("We paid Acme Corp. to do it."), ["We paid Acme Corporation to do it"]);
}

#[test]
fn units() {
    assert_eq!(say("5 km away"), "five kilometers away");
    assert_eq!(say("1 km"), "one kilometer");
    assert_eq!(say("2.5kg of"), "two point five kilograms of");
    assert_eq!(say("60 mph"), "sixty miles per hour");
    assert_eq!(say("20°C today"), "twenty degrees Celsius today");
    assert_eq!(say("98.6 °F"), "ninety-eight point six degrees Fahrenheit");
    assert_eq!(say("6 ft tall"), "six feet tall");
    assert_eq!(say("512 GB"), "five hundred twelve gigabytes");
    assert_eq!(say("100 ms"), "one hundred milliseconds");
}

#[test]
fn urls_and_emails() {
    assert_eq!(say("email help@example.com before"), "email help at example dot com before");
    assert_eq!(say("see https://www.example.com/docs."), "see W W W dot example dot com slash docs");
    assert_eq!(say("visit example.org"), "visit example dot org");
}

#[test]
fn symbols() {
    assert_eq!(say("salt & pepper"), "salt and pepper");
    assert_eq!(say("2 + 2 = 4"), "two plus two equals four");
    assert_eq!(say("AT&T"), "AT and T");
    assert_eq!(say("me @ home"), "me at home");
    assert_eq!(say("#1 fan"), "number one fan");
    assert_eq!(say("#rustlang"), "hashtag rustlang");
    assert_eq!(say("100 %"), "one hundred percent");
    assert_eq!(say("C++"), "C plus plus");
    assert_eq!(say("wait — what"), "wait what");
    assert_eq!(say("🙂 hi ★"), "hi");
}

#[test]
fn room_numbers_and_mixed() {
    assert_eq!(say("in room 12B."), "in room twelve B");
    assert_eq!(say("Gate A4"), "Gate [A](/ˈA/) four");
    assert_eq!(say("COVID-19"), "COVID nineteen");
    assert_eq!(say("a 5-year-old"), "a five year old");
    assert_eq!(say("MP3"), "M P three");
}

#[test]
fn ranges_point_at_input_words() {
    let text = "Tickets cost $7.25 each, or \"$60\".";
    let toks = normalize(text);
    let words: Vec<&str> = toks.iter().filter(|t| t.kind == TokenKind::Word).map(|t| &text[t.source.clone()]).collect();
    assert_eq!(words, ["Tickets", "cost", "$7.25", "each", "or", "$60"]);
    let puncts: Vec<&str> = toks.iter().filter(|t| t.kind == TokenKind::Punct).map(|t| t.spoken.as_str()).collect();
    assert_eq!(puncts, [",", "\"", "\"", "."]);
}

#[test]
fn inline_override_is_one_word() {
    let text = "say [Kokoro](/kˈOkəɹO/) now";
    let toks = normalize(text);
    assert_eq!(toks.len(), 3);
    assert_eq!(&text[toks[1].source.clone()], "Kokoro");
    assert_eq!(toks[1].spoken, "[Kokoro](/kˈOkəɹO/)");
}

#[test]
fn nothing_speakable() {
    assert!(normalize("?! … 🙂🙂 --").iter().all(|t| t.kind == TokenKind::Punct));
    assert!(normalize("").is_empty());
}
