//! `chorus speak`: text (argument, stdin or file) to an audio file, stdout or the sound device,
//! encoded while it is synthesized (see [`crate::audio`]).

use super::input::TextInput;
use crate::{
    Chorus, Event, Request,
    audio::{AudioError, Boundary, DEFAULT_RATE, Format, OutputSpec, Pipeline, Seam, SeamMode},
};
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::{
    fs::File,
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: TextInput,
    #[arg(long, short)]
    pub model: Option<String>,
    #[arg(long, short)]
    pub voice: Option<String>,
    #[arg(long, default_value_t = 1.0)]
    pub speed: f32,
    /// Language code (en-us, en-gb, ...); the backend's default when omitted.
    #[arg(long)]
    pub language: Option<String>,
    /// Output file, its format from the extension unless --format is given; `-` writes to stdout
    /// (raw PCM, s16le mono 24 kHz, unless --format / --sample-rate say otherwise).
    #[arg(long, short, value_name = "FILE", required_unless_present = "play")]
    pub output: Option<PathBuf>,
    /// Audio format: wav, pcm, mp3, opus, flac or aac.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Output sample rate in Hz, 8000 to 48000 (mp3 and aac: a standard MPEG rate).
    #[arg(long, value_name = "HZ")]
    pub sample_rate: Option<u32>,
    /// Volume multiplier, 0 to 10.
    #[arg(long, default_value_t = 1.0)]
    pub volume: f32,
    /// Play on the default audio device (as well as writing -o, when given).
    #[arg(long)]
    pub play: bool,
    /// How chunks are joined: smooth (default), crossfade (overlaps, shortens) or none.
    #[arg(long, value_name = "MODE", default_value = "smooth", value_parser = ["smooth", "crossfade", "none"])]
    pub seam: String,
    /// Length of the seam smoothing or crossfade, in ms.
    #[arg(long, value_name = "MS", default_value_t = 10.0)]
    pub seam_ms: f32,
    /// Silence added where a chunk ends a sentence, in ms.
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    pub sentence_gap_ms: f32,
    /// Silence added where a chunk ends a clause (, ; :), in ms.
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    pub clause_gap_ms: f32,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Input longer than this shows a progress bar (when stderr is a terminal).
const PROGRESS_BAR_CHARS: usize = 400;

pub async fn run(chorus: &Chorus, args: Args) -> anyhow::Result<()> {
    let text = args.input.read(
        "give the text to speak: chorus speak \"Hello\" -o hello.wav (or - for stdin, or --file F)",
        chorus.config().max_input_chars,
    )?;
    let spec = output_spec(&args)?;
    // Check everything the user chose before synthesizing anything.
    let mut out = match &args.output {
        Some(path) => Some(Output::new(path, Pipeline::new(&spec)?)),
        None => None,
    };
    let mut player = if args.play { Some(open_player(&spec)?) } else { None };
    let mut request = Request::new(text.clone());
    request.model = args.model.clone();
    request.voice = args.voice.clone();
    request.speed = args.speed;
    request.language = args.language.clone();
    request.sample_rate = Some(spec.sample_rate);
    let mut stream = chorus.synthesize(request)?;
    let bar = (std::io::stderr().is_terminal() && text.chars().count() > PROGRESS_BAR_CHARS).then(progress_bar);
    let mut boundary = Boundary::Word;
    let result: anyhow::Result<_> = async {
        loop {
            match stream.next().await {
                Some(Event::Audio(chunk)) => {
                    if let Some(out) = &mut out {
                        out.pipeline.boundary(boundary);
                        let bytes = out.pipeline.push(&chunk)?;
                        out.write(&bytes)?;
                    }
                    if let Some(player) = &mut player {
                        player.boundary(boundary);
                        player.push(&chunk)?;
                    }
                    boundary = Boundary::Word;
                }
                Some(Event::Progress(p)) => {
                    if let Some(bar) = &bar {
                        bar.set_position((p.fraction * 1000.0) as u64);
                        bar.set_message(p.status);
                    }
                }
                Some(Event::Words(words)) => {
                    if let Some(last) = words.last() {
                        boundary = Boundary::after(&last.word);
                    }
                }
                Some(Event::Done(report)) => break Ok(report),
                Some(Event::Error(e)) => break Err(e.into()),
                None => bail!("the synthesis ended without a result"),
            }
        }
    }
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            if let Some(out) = out {
                out.discard();
            }
            return Err(e);
        }
    };
    let output_name = match &args.output {
        Some(path) => path.display().to_string(),
        None => "audio device".to_string(),
    };
    if let Some(out) = out {
        out.finish()?;
    }
    if let Some(player) = player {
        close_player(player)?;
    }
    if args.json {
        let summary = serde_json::json!({
            "audio_seconds": report.audio_seconds,
            "first_audio_ms": report.first_audio_ms,
            "wall_ms": report.wall_ms,
            "x_realtime": report.x_realtime,
            "characters": report.characters,
            "model": report.model,
            "voice": report.voice,
            "output": output_name,
            "format": args.output.as_ref().map(|_| spec.format.name()),
            "sample_rate": spec.sample_rate,
        });
        // Standard output carries the audio with `-o -`; the summary then goes to stderr.
        if output_name == "-" { eprintln!("{summary}") } else { println!("{summary}") }
    } else {
        eprintln!(
            "{}: {:.2} s of audio, first audio {} ms, {:.1}x real time ({} characters, {})",
            output_name,
            report.audio_seconds,
            report.first_audio_ms.map_or("-".into(), |ms| format!("{ms:.0}")),
            report.x_realtime,
            report.characters,
            report.model,
        );
    }
    Ok(())
}

/// The output asked for on the command line.
fn output_spec(args: &Args) -> Result<OutputSpec, AudioError> {
    let asked = args.format.as_deref().map(Format::parse).transpose()?;
    let format = match &args.output {
        Some(path) if path.as_os_str() == "-" => asked.unwrap_or(Format::Pcm),
        Some(path) => OutputSpec::format_for_path(path, asked, Format::Wav)?,
        None => asked.unwrap_or(Format::Pcm),
    };
    let mode = match args.seam.as_str() {
        "crossfade" => SeamMode::Crossfade,
        "none" => SeamMode::None,
        _ => SeamMode::Smooth,
    };
    let spec = OutputSpec {
        format,
        sample_rate: args.sample_rate.unwrap_or(DEFAULT_RATE),
        volume: args.volume,
        seam: Seam { mode, ms: args.seam_ms, clause_gap_ms: args.clause_gap_ms, sentence_gap_ms: args.sentence_gap_ms },
    };
    spec.validate()?;
    Ok(spec)
}

#[cfg(feature = "play")]
type Player = crate::audio::Player;

#[cfg(feature = "play")]
fn open_player(spec: &OutputSpec) -> Result<Player, AudioError> {
    Player::open(spec.volume, spec.seam)
}

#[cfg(feature = "play")]
fn close_player(player: Player) -> Result<(), AudioError> {
    player.finish()
}

/// Stands in for the player in a build without the `play` feature: it never opens.
#[cfg(not(feature = "play"))]
enum Player {}

#[cfg(not(feature = "play"))]
impl Player {
    fn boundary(&mut self, _: Boundary) {
        match *self {}
    }
    fn push(&mut self, _: &crate::AudioChunk) -> Result<(), AudioError> {
        match *self {}
    }
}

#[cfg(not(feature = "play"))]
fn open_player(_: &OutputSpec) -> Result<Player, AudioError> {
    Err(AudioError::NotBuilt("play"))
}

#[cfg(not(feature = "play"))]
fn close_player(player: Player) -> Result<(), AudioError> {
    match player {}
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(1000);
    bar.set_style(ProgressStyle::with_template("{bar:40} {percent:>3}% {msg}").expect("valid template"));
    bar
}

/// Where the encoded bytes go: a file (opened at the first bytes, completed or removed at the
/// end) or standard output (flushed at every chunk so a reader gets the audio as it comes).
struct Output {
    path: PathBuf,
    pipeline: Pipeline,
    file: Option<File>,
}

impl Output {
    fn new(path: &Path, pipeline: Pipeline) -> Self {
        Output { path: path.to_path_buf(), pipeline, file: None }
    }

    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        emit(&self.path, &mut self.file, bytes)
    }

    /// Flush the encoder; a regular file also gets its headers completed.
    fn finish(self) -> anyhow::Result<()> {
        let Output { path, pipeline, mut file } = self;
        if path.as_os_str() != "-" && file.is_none() {
            bail!("the backend produced no audio");
        }
        let regular = file.as_ref().and_then(|f| f.metadata().ok()).is_some_and(|m| m.is_file());
        match &mut file {
            Some(f) if regular => {
                pipeline.finish_file(f).with_context(|| format!("cannot finish {}", path.display()))?
            }
            _ => {
                let tail = pipeline.finish()?;
                emit(&path, &mut file, &tail)?;
            }
        }
        Ok(())
    }

    /// Drop a partly written regular file after a failure.
    fn discard(self) {
        if let Some(file) = self.file
            && file.metadata().is_ok_and(|m| m.is_file())
        {
            drop(file);
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Write `bytes` to standard output (`-`, flushed at once) or to `path`, created at the first bytes.
fn emit(path: &Path, file: &mut Option<File>, bytes: &[u8]) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes).context("cannot write to standard output")?;
        return stdout.flush().context("cannot write to standard output");
    }
    if file.is_none() {
        *file = Some(File::create(path).with_context(|| format!("cannot write {}", path.display()))?);
    }
    let f = file.as_mut().expect("opened above");
    f.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))
}
