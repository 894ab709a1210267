//! ElevenLabs' WebSocket input streaming: `GET /v1/text-to-speech/{voice_id}/stream-input` (one
//! utterance per socket) and `/multi-stream-input` (utterances by `context_id`, spoken side by
//! side; `close_context` stops one while the others go on).
//!
//! The query (`model_id`, `output_format`, `inactivity_timeout`) and the voice id are checked
//! before the upgrade: a bad one is an HTTP error in ElevenLabs' shape. After it, a bad message
//! (not JSON, a field of the wrong type, a binary frame, text past the limit of characters
//! waiting to be spoken) gets `{"error", "message"}` and the socket stays usable; a message over [`MAX_MESSAGE_BYTES`] is answered and closed with 1009; a
//! missing or wrong key (header `xi-api-key`, or `xi_api_key` in the first message) closes with
//! 1008, as does a failed synthesis of a single-context socket (1011 for the server's own
//! failures). A socket with no message and no audio for `inactivity_timeout` seconds (default
//! 20, at most 180) is closed with 1008, and one that takes no message for `[server]
//! write_timeout_secs` is dropped. A client that vanishes stops its contexts' syntheses. The loop
//! never waits on the audio to take a client message: answers go straight out, and text goes to
//! the speakers through unbounded forwarders, bounded in characters instead.

use super::{
    context::{Context, Out, Setup},
    error::ElError,
    messages::ClientMessage,
    request::{model_for, output, voice_id},
};
use crate::server::{AppState, conn::Hold, error::ApiError, key_matches};
use axum::{
    Extension,
    extract::{
        Path, Query, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket, close_code},
    },
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use std::{collections::HashMap, sync::atomic::Ordering, time::Duration};
use tokio::{sync::mpsc, time::Instant};

/// The metrics' endpoint label.
pub const ENDPOINT: &str = "elevenlabs_ws";
/// The longest text message taken (longer ones close the socket with 1009).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// What the WebSocket layer itself reads at most before giving up on a frame.
const MAX_FRAME_BYTES: usize = 1024 * 1024;
const DEFAULT_INACTIVITY_SECS: u64 = 20;
const MAX_INACTIVITY_SECS: u64 = 180;
/// The context of a multi-context message that names none.
const DEFAULT_CONTEXT: &str = "default";

#[derive(Deserialize)]
pub struct SocketQuery {
    model_id: Option<String>,
    output_format: Option<String>,
    inactivity_timeout: Option<String>,
    language_code: Option<String>,
}

/// What both routes take from the request.
struct Asked {
    ws: WebSocketUpgrade,
    state: AppState,
    voice: String,
    query: SocketQuery,
    headers: HeaderMap,
    /// The connection's place under `max_connections`, kept while the socket lives.
    hold: Option<Hold>,
}

pub async fn stream_input(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Path(voice): Path<String>,
    Query(query): Query<SocketQuery>,
    hold: Option<Extension<Hold>>,
    headers: HeaderMap,
) -> Response {
    upgrade(Asked { ws, state, voice, query, headers, hold: hold.map(|h| h.0) }, false)
}

pub async fn multi_stream_input(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Path(voice): Path<String>,
    Query(query): Query<SocketQuery>,
    hold: Option<Extension<Hold>>,
    headers: HeaderMap,
) -> Response {
    upgrade(Asked { ws, state, voice, query, headers, hold: hold.map(|h| h.0) }, true)
}

fn upgrade(asked: Asked, multi: bool) -> Response {
    let Asked { ws, state, voice, query, headers, hold } = asked;
    let setup = match setup(&state, &voice, &query, multi) {
        Ok(setup) => setup,
        Err(e) => return e.into_response(),
    };
    let inactivity = match query.inactivity_timeout.as_deref().map(str::parse::<u64>) {
        None => DEFAULT_INACTIVITY_SECS,
        Some(Ok(secs)) if (1..=MAX_INACTIVITY_SECS).contains(&secs) => secs,
        Some(_) => {
            let message =
                format!("inactivity_timeout must be a whole number of seconds from 1 to {MAX_INACTIVITY_SECS}");
            return ElError::invalid("inactivity_timeout", message).into_response();
        }
    };
    let authorized = match &state.settings.api_key {
        None => true,
        Some(key) => {
            let bearer = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
            let xi = headers.get(super::KEY_HEADER).and_then(|v| v.to_str().ok());
            match xi.or(bearer) {
                Some(given) if key_matches(given, key) => true,
                Some(_) => return ElError(ApiError::unauthorized("incorrect API key provided")).into_response(),
                // The key may come in the first message.
                None => false,
            }
        }
    };
    let socket = Socket {
        state,
        setup,
        authorized,
        inactivity: Duration::from_secs(inactivity),
        contexts: HashMap::new(),
        opened: false,
        closing: false,
        stopping: 0,
        replies: Vec::new(),
    };
    ws.max_message_size(MAX_FRAME_BYTES).max_frame_size(MAX_FRAME_BYTES).on_upgrade(move |ws| async move {
        socket.run(ws).await;
        drop(hold);
    })
}

/// Routing, voice and output format, checked before the upgrade.
fn setup(state: &AppState, voice: &str, query: &SocketQuery, multi: bool) -> Result<Setup, ElError> {
    let voice = voice_id(voice)?;
    let output = output(query.output_format.as_deref())?;
    let model = model_for(state, query.model_id.clone());
    let route = state
        .chorus
        .registry()
        .resolve(model.as_deref())
        .map_err(|e| ElError(ApiError::from_host(&e, state.settings.retry_after_secs)))?;
    let language = query.language_code.clone().filter(|l| !l.trim().is_empty());
    Ok(Setup { model, routed: route.model, plugin: route.plugin.info.name.clone(), voice, language, output, multi })
}

/// What to do after a client message.
enum Then {
    Go,
    Close(u16, String),
}

struct Socket {
    state: AppState,
    setup: Setup,
    authorized: bool,
    inactivity: Duration,
    contexts: HashMap<String, Context>,
    /// A single-context socket had its context (it never gets another).
    opened: bool,
    /// `close_socket` (or the end of a single context's input): close once every context ended.
    closing: bool,
    /// Contexts closed by the client whose output task has not ended yet.
    stopping: usize,
    /// Answers to the client's last message (errors), sent before anything else.
    replies: Vec<serde_json::Value>,
}

impl Socket {
    async fn run(mut self, mut ws: WebSocket) {
        let (out_tx, mut out_rx) = mpsc::channel::<Out>(64);
        let mut deadline = Instant::now() + self.inactivity;
        let write_timeout = self.state.settings.write_timeout;
        let close = loop {
            tokio::select! {
                frame = ws.recv() => {
                    deadline = Instant::now() + self.inactivity;
                    let then = match frame {
                        // The client left: dropping the contexts stops their syntheses.
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                        Some(Ok(Message::Text(text))) => self.text(text.as_str(), &out_tx).await,
                        Some(Ok(Message::Binary(_))) => self.error(
                            "invalid_message",
                            "binary frames are not part of the protocol: send JSON messages as text frames".into(),
                            None,
                        ),
                        Some(Ok(_)) => Then::Go, // ping and pong
                    };
                    for reply in std::mem::take(&mut self.replies) {
                        let sent = tokio::time::timeout(write_timeout, ws.send(Message::Text(reply.to_string().into()))).await;
                        if !matches!(sent, Ok(Ok(()))) {
                            return;
                        }
                    }
                    if let Then::Close(code, reason) = then {
                        break Some((code, reason));
                    }
                }
                out = out_rx.recv() => {
                    deadline = Instant::now() + self.inactivity;
                    match out {
                        // Audio of a context the client closed is dropped, even if already made.
                        Some(Out::Audio(_, stopped)) if stopped.load(Ordering::Acquire) => {}
                        Some(Out::Json(message) | Out::Audio(message, _)) => {
                            // A client that takes nothing for the write timeout is gone.
                            let sent = tokio::time::timeout(write_timeout, ws.send(Message::Text(message.to_string().into()))).await;
                            if !matches!(sent, Ok(Ok(()))) {
                                return;
                            }
                        }
                        Some(Out::Ended { context, error, stopped }) => {
                            if stopped {
                                self.stopping -= 1;
                            }
                            if !self.setup.multi {
                                break Some(match error {
                                    None => (close_code::NORMAL, "the input has ended and is spoken".into()),
                                    Some(code) => (code, "the synthesis failed".into()),
                                });
                            }
                            // A failed context is gone too; later text under its id opens a new one.
                            if !stopped && (error.is_some() || self.contexts.get(&context).is_some_and(Context::finished)) {
                                self.contexts.remove(&context);
                            }
                            if self.closing && self.contexts.is_empty() && self.stopping == 0 {
                                break Some((close_code::NORMAL, "close_socket: every context is spoken".into()));
                            }
                        }
                        None => break None,
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    let secs = self.inactivity.as_secs();
                    let message = format!("no message and no audio for {secs} s (inactivity_timeout); closing");
                    let _ = ws.send(Message::Text(json!({"error": "input_timeout_exceeded", "message": message}).to_string().into())).await;
                    break Some((close_code::POLICY, message));
                }
            }
        };
        // Messages already made go out before the close frame.
        while let Ok(out) = out_rx.try_recv() {
            if let Out::Json(message) | Out::Audio(message, _) = out {
                let _ = ws.send(Message::Text(message.to_string().into())).await;
            }
        }
        if let Some((code, reason)) = close {
            let reason = reason.chars().take(120).collect::<String>();
            let _ = ws.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
        }
    }

    /// Answer with an error message (to a context when named); the socket stays usable.
    fn error(&mut self, code: &str, message: String, context: Option<&str>) -> Then {
        let mut body = json!({"error": code, "message": message});
        if let Some(context) = context {
            body["contextId"] = json!(context);
        }
        self.replies.push(body);
        Then::Go
    }

    async fn text(&mut self, frame: &str, out: &mpsc::Sender<Out>) -> Then {
        if frame.len() > MAX_MESSAGE_BYTES {
            let message = format!("the message is {} bytes, over the limit of {MAX_MESSAGE_BYTES}", frame.len());
            self.error("message_too_big", message.clone(), None);
            return Then::Close(close_code::SIZE, message);
        }
        let message = match ClientMessage::parse(frame) {
            Ok(message) => message,
            Err(e) => return self.error("invalid_message", e, None),
        };
        if !self.authorized {
            match (&message.key, &self.state.settings.api_key) {
                (Some(given), Some(key)) if key_matches(given, key) => self.authorized = true,
                (given, _) => {
                    let what = if given.is_some() {
                        "incorrect API key"
                    } else {
                        "missing API key: send the xi-api-key header, or xi_api_key in the first message"
                    };
                    self.error("invalid_api_key", what.into(), None);
                    return Then::Close(close_code::POLICY, what.into());
                }
            }
        }
        if self.setup.multi { self.multi(message, out).await } else { self.single(message, out).await }
    }

    async fn single(&mut self, message: ClientMessage, out: &mpsc::Sender<Out>) -> Then {
        let first = !self.opened;
        if first {
            self.opened = true;
            match Context::open(
                &self.state,
                &self.setup,
                String::new(),
                message.schedule.clone(),
                message.speed,
                out.clone(),
            )
            .await
            {
                Ok(context) => {
                    self.contexts.insert(String::new(), context);
                }
                Err((code, e)) => {
                    self.error(code, e.clone(), None);
                    return Then::Close(close_code::AGAIN, e);
                }
            }
        }
        let Some(context) = self.contexts.get_mut("") else { return Then::Go };
        if context.finished() {
            let e = "the input has ended ({\"text\": \"\"}); open a new socket";
            return self.error("invalid_message", e.into(), None);
        }
        let pushed = match message.text.as_deref() {
            // The first message's " " only opens the stream.
            Some(text) if first && text.trim().is_empty() && !text.is_empty() => Ok(()),
            Some("") => {
                context.finish();
                return Then::Go;
            }
            Some(text) => context.push(text),
            None => Ok(()),
        };
        context.prompt(message.flush, message.try_trigger);
        match pushed {
            Ok(()) => Then::Go,
            Err(e) => self.error("too_much_text", e, None),
        }
    }

    async fn multi(&mut self, message: ClientMessage, out: &mpsc::Sender<Out>) -> Then {
        if message.close_socket {
            self.closing = true;
            for context in self.contexts.values_mut() {
                context.finish();
            }
            if self.contexts.is_empty() && self.stopping == 0 {
                return Then::Close(close_code::NORMAL, "close_socket".into());
            }
            return Then::Go;
        }
        let id = message.context_id.clone().unwrap_or_else(|| DEFAULT_CONTEXT.to_string());
        if message.close_context {
            // Its output task sends isFinal once the synthesis has stopped; later text under the
            // same id opens a new context.
            if let Some(mut context) = self.contexts.remove(&id) {
                context.stop();
                self.stopping += 1;
            }
            return Then::Go;
        }
        if self.closing {
            return self.error("invalid_message", "the socket is closing (close_socket)".into(), Some(&id));
        }
        let first = !self.contexts.contains_key(&id);
        if first {
            if message.text.as_deref() == Some("") {
                return Then::Go; // keep-alive of a context that is gone
            }
            match Context::open(
                &self.state,
                &self.setup,
                id.clone(),
                message.schedule.clone(),
                message.speed,
                out.clone(),
            )
            .await
            {
                Ok(context) => {
                    self.contexts.insert(id.clone(), context);
                }
                Err((code, e)) => return self.error(code, e, Some(&id)),
            }
        }
        let Some(context) = self.contexts.get_mut(&id) else { return Then::Go };
        let pushed = match message.text.as_deref() {
            Some(text) if first && text.trim().is_empty() => Ok(()),
            Some("") => Ok(()), // keep-alive
            Some(text) => context.push(text),
            None => Ok(()),
        };
        context.prompt(message.flush, message.try_trigger);
        match pushed {
            Ok(()) => Then::Go,
            Err(e) => self.error("too_much_text", e, Some(&id)),
        }
    }
}
