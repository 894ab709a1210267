//! `cargo xtask bench-stream`: text streamed in at an LLM's pace (20 tokens a second, 4
//! characters a token), spoken by Kokoro through chorus's ElevenLabs WebSocket, against the
//! baseline a client would otherwise build: wait for each whole sentence, then POST it to
//! `/v1/audio/speech`, in the same run on the same server.
//!
//! Each reply is two consecutive sentences of the dev set (`../shared/eval/dev2_en.txt`, else
//! tests/judge/sentences_en.txt). Measured per reply: from the moment the first sentence's text is
//! complete (the token carrying the space after it is sent) to its first audio byte, and from the
//! last token to the end of the audio. Medians go to target/bench/stream.md (docs/BENCHMARKS.md
//! is the full bench's). Flags: `--quick` (3 replies), `--voice V` (default jf_alpha), `--debug`
//! (a debug build: checks the scenario runs, its numbers mean nothing).

use super::{serve::Server, stats::median};
use crate::{cargo, dist::target_dir, pyenv, root, setup, sh};
use anyhow::{Context, Result, bail};
use std::{
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};
use tungstenite::{Message, client::IntoClientRequest};

/// The WebSocket's second run: clauses cut from 50 characters on (ElevenLabs' smallest schedule).
const CLAUSES: &str = r#"{"text": " ", "generation_config": {"chunk_length_schedule": [50]}}"#;

/// An LLM's pace.
const TOKEN_CHARS: usize = 4;
const TOKEN_INTERVAL: Duration = Duration::from_millis(50);

/// One reply's two delays, in ms.
#[derive(Debug, Clone, Copy)]
struct Delays {
    first_sentence_ms: f64,
    end_ms: f64,
}

/// When each token is sent (from the reply's start), and when the first sentence is complete.
struct Schedule {
    tokens: Vec<String>,
    first_complete: usize,
}

impl Schedule {
    fn new(first: &str, second: &str) -> Self {
        let text: Vec<char> = format!("{first} {second}").chars().collect();
        let tokens: Vec<String> = text.chunks(TOKEN_CHARS).map(|c| c.iter().collect()).collect();
        // The token carrying the space right after the first sentence completes it.
        let space = first.chars().count();
        Self { tokens, first_complete: space / TOKEN_CHARS }
    }

    fn at(&self, token: usize) -> Duration {
        TOKEN_INTERVAL * token as u32
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let (mut quick, mut debug, mut voice) = (false, false, "jf_alpha".to_string());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--debug" => debug = true,
            "--voice" => voice = it.next().cloned().context("--voice needs a value")?,
            other => bail!("bench-stream: unknown argument {other} (known: --quick, --debug, --voice V)"),
        }
    }
    setup::run(&setup::SetupArgs::default())?;
    let profile = if debug { "debug" } else { "release" };
    let mut build = vec!["build", "-p", "chorus-host", "-p", "chorus-plugin-kokoro", "--bin", "chorus", "--lib"];
    if !debug {
        build.insert(1, "--release");
    }
    sh(&cargo(), &build)?;
    let built = target_dir().join(profile);
    let work = target_dir().join("bench/stream");
    let stage = work.join("plugins");
    std::fs::create_dir_all(&stage)?;
    let lib = "libchorus_plugin_kokoro.so";
    let _ = std::fs::remove_file(stage.join(lib));
    std::fs::copy(built.join(lib), stage.join(lib)).with_context(|| format!("stage {lib}"))?;
    let config = work.join("config.toml");
    let data = setup::data_dir();
    std::fs::write(
        &config,
        format!("default_model = \"kokoro\"\n[backends.kokoro]\ndata_dir = {:?}\n", data.display().to_string()),
    )?;
    let host_args =
        vec!["--plugins".into(), stage.display().to_string(), "--config".into(), config.display().to_string()];

    let sentences_file = match pyenv::eval_dir() {
        Some(eval) => eval.join("dev2_en.txt"),
        None => root().join("tests/judge/sentences_en.txt"),
    };
    let sentences: Vec<String> = std::fs::read_to_string(&sentences_file)
        .with_context(|| format!("read {}", sentences_file.display()))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let mut replies: Vec<(String, String)> = sentences.windows(2).map(|w| (w[0].clone(), w[1].clone())).collect();
    if quick {
        replies.truncate(3);
    }

    let server = Server::start(&built.join("chorus"), &host_args, &work.join("serve.log"))?;
    request(server.addr, &voice, "Warm up.")?;
    let (mut socket, mut clauses, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (first, second)) in replies.iter().enumerate() {
        eprintln!("bench-stream: reply {} of {}", i + 1, replies.len());
        let schedule = Schedule::new(first, second);
        socket.push(websocket(server.addr, &voice, &schedule, r#"{"text": " "}"#)?);
        clauses.push(websocket(server.addr, &voice, &schedule, CLAUSES)?);
        baseline.push(sentence_posts(server.addr, &voice, &schedule, first, second)?);
    }
    let report = markdown(&sentences_file, &voice, profile, &[&socket, &clauses, &baseline]);
    let out = target_dir().join("bench/stream.md");
    std::fs::write(&out, &report)?;
    println!("{report}\nwritten to {}", out.display());
    Ok(())
}

/// The reply over the WebSocket: tokens sent on schedule while the audio is read between them.
fn websocket(addr: SocketAddr, voice: &str, schedule: &Schedule, init: &str) -> Result<Delays> {
    let stream = TcpStream::connect(addr)?;
    let url = format!("ws://{addr}/v1/text-to-speech/{voice}/stream-input?output_format=pcm_24000");
    let (mut ws, _) = tungstenite::client(url.into_client_request()?, stream).map_err(|e| anyhow::anyhow!("{e}"))?;
    ws.get_ref().set_read_timeout(Some(Duration::from_millis(2)))?;
    ws.send(Message::text(init))?;
    let start = Instant::now();
    let (mut first_audio, mut last_token) = (None, None);
    for (i, token) in schedule.tokens.iter().enumerate() {
        while start.elapsed() < schedule.at(i) {
            read(&mut ws, &mut first_audio)?;
        }
        ws.send(Message::text(serde_json::json!({ "text": token }).to_string()))?;
        if i + 1 == schedule.tokens.len() {
            ws.send(Message::text(r#"{"text": ""}"#))?;
            last_token = Some(Instant::now());
        }
    }
    while !read(&mut ws, &mut first_audio)? {}
    let end = Instant::now();
    let complete = start + schedule.at(schedule.first_complete);
    let first_audio = first_audio.context("no audio over the WebSocket")?;
    Ok(Delays {
        first_sentence_ms: ms(first_audio.saturating_duration_since(complete)),
        end_ms: ms(end.saturating_duration_since(last_token.unwrap_or(end))),
    })
}

/// Read what the server sent within the socket's short timeout; true at `isFinal` or the close.
fn read(ws: &mut tungstenite::WebSocket<TcpStream>, first_audio: &mut Option<Instant>) -> Result<bool> {
    match ws.read() {
        Ok(Message::Text(text)) => {
            let message: serde_json::Value = serde_json::from_str(&text)?;
            if message.get("error").is_some() {
                bail!("the server answered an error: {message}");
            }
            if message["audio"].as_str().is_some_and(|a| !a.is_empty()) {
                first_audio.get_or_insert_with(Instant::now);
            }
            Ok(message["isFinal"] == true)
        }
        Ok(Message::Close(_)) => Ok(true),
        Ok(_) => Ok(false),
        Err(tungstenite::Error::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The baseline: each sentence POSTed once its text is complete, one after the other.
fn sentence_posts(addr: SocketAddr, voice: &str, schedule: &Schedule, first: &str, second: &str) -> Result<Delays> {
    let start = Instant::now();
    let complete = start + schedule.at(schedule.first_complete);
    let last = start + schedule.at(schedule.tokens.len() - 1);
    std::thread::sleep(complete.saturating_duration_since(Instant::now()));
    let one = request(addr, voice, first)?;
    std::thread::sleep(last.saturating_duration_since(Instant::now()));
    let two = request(addr, voice, second)?;
    Ok(Delays {
        first_sentence_ms: ms(one.first_byte.saturating_duration_since(complete)),
        end_ms: ms(two.end.saturating_duration_since(last)),
    })
}

struct Timed {
    first_byte: Instant,
    end: Instant,
}

/// `POST /v1/audio/speech` (pcm): when the body's first byte came, and its end.
fn request(addr: SocketAddr, voice: &str, text: &str) -> Result<Timed> {
    let body =
        serde_json::json!({"model": "kokoro", "voice": voice, "input": text, "response_format": "pcm"}).to_string();
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "POST /v1/audio/speech HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut buf = [0u8; 65536];
    let mut head = Vec::new();
    let mut first_byte = None;
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if first_byte.is_none() {
            head.extend_from_slice(&buf[..n]);
            if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                if !head.starts_with(b"HTTP/1.1 200") {
                    bail!("the server answered {}", String::from_utf8_lossy(&head));
                }
                if head.len() > at + 4 {
                    first_byte = Some(Instant::now());
                }
            }
        }
    }
    let end = Instant::now();
    Ok(Timed { first_byte: first_byte.context("no audio in the response")?, end })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn markdown(sentences: &std::path::Path, voice: &str, profile: &str, runs: &[&Vec<Delays>; 3]) -> String {
    let med = |v: &[Delays], f: fn(&Delays) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let names = [
        "ElevenLabs WebSocket (`stream-input`, default schedule)",
        "ElevenLabs WebSocket, `chunk_length_schedule: [50]`",
        "whole sentences POSTed to `/v1/audio/speech`",
    ];
    let rows: String = names
        .iter()
        .zip(runs)
        .map(|(name, run)| {
            format!("| {name} | {:.0} | {:.0} |\n", med(run, |d| d.first_sentence_ms), med(run, |d| d.end_ms))
        })
        .collect();
    format!(
        "# Streamed text: WebSocket vs sentence-by-sentence POSTs\n\n\
         {} replies of two sentences from {}, voice {voice}, {profile} build, text at 20 tokens/s ({TOKEN_CHARS} chars a token).\n\n\
         | client | first sentence complete → first audio (median ms) | last token → end of audio (median ms) |\n\
         | --- | --- | --- |\n{rows}\n\
         0 ms means the first audio came before the sentence's text was complete (a clause cut).\n",
        runs[0].len(),
        sentences.display(),
    )
}
