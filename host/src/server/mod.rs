//! `chorus serve`: an OpenAI-compatible speech API over HTTP/1.1.
//!
//! Routes: `POST /v1/audio/speech`, `GET /v1/models`, `GET /v1/models/{id}`,
//! `GET /v1/audio/voices`, `POST /dev/captioned_speech`, `GET /health`, `GET /metrics`, and
//! ElevenLabs' API (`elevenlabs/`: text-to-speech REST, voices, models).
//! Every error is OpenAI's JSON shape and is decided before any audio is sent: a speech response's
//! headers leave only once the backend's first audio is in hand. Per-backend concurrency limits
//! with a bounded queue, a body limit, a request timeout, an optional API key, graceful shutdown
//! on SIGTERM / Ctrl-C, and a client that hangs up stops its synthesis. Against clients that
//! stall: header, body and write timeouts and a connection cap (`conn.rs`, `guard.rs`, `stall.rs`).
//! The same process may serve the Wyoming protocol beside it (`crate::wyoming`), sharing
//! [`AppState`] and so the per-backend limits.

mod body;
mod captioned;
mod catalog;
mod conn;
pub mod elevenlabs;
mod encode;
pub mod error;
mod guard;
pub(crate) mod limits;
pub mod metrics;
mod params;
mod session;
pub mod settings;
mod speech;
mod stall;
mod synth;
mod voice;

pub use settings::Settings;

use crate::Chorus;
use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Request, State, rejection::BytesRejection},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use error::ApiError;
use limits::Limits;
use metrics::Metrics;
use std::{net::SocketAddr, sync::Arc};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub chorus: Arc<Chorus>,
    pub settings: Arc<Settings>,
    pub(crate) limits: Limits,
    pub metrics: Metrics,
}

impl AppState {
    pub fn new(chorus: Arc<Chorus>, settings: Settings) -> Self {
        let settings = Arc::new(settings);
        let for_limits = settings.clone();
        Self {
            chorus,
            limits: Limits::new(move |plugin| for_limits.limit(plugin)),
            settings,
            metrics: Metrics::default(),
        }
    }
}

/// The HTTP routes over `state`.
pub fn router(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    let api = Router::new()
        .route("/v1/audio/speech", post(speech::speech))
        .route("/v1/models", get(catalog::list_models))
        .route("/v1/models/{id}", get(catalog::get_model))
        .route("/v1/audio/voices", get(catalog::list_voices))
        .route("/dev/captioned_speech", post(captioned::captioned_speech))
        .route("/metrics", get(catalog::metrics))
        .merge(elevenlabs::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/health", get(catalog::health))
        .merge(elevenlabs::socket_routes())
        .merge(api)
        .method_not_allowed_fallback(guard::method_not_allowed)
        .fallback(|| async {
            ApiError::not_found("no such endpoint; see /v1/audio/speech, /v1/models, /v1/audio/voices").into_response()
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), guard::guard))
        .with_state(state)
}

/// With an API key configured, require `Authorization: Bearer <key>` (the scheme in any case) or
/// ElevenLabs' `xi-api-key: <key>`. ElevenLabs' endpoints answer in ElevenLabs' error shape.
async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(key) = &state.settings.api_key else { return next.run(request).await };
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        .and_then(|(scheme, key)| scheme.eq_ignore_ascii_case("bearer").then_some(key));
    let xi = headers.get(elevenlabs::KEY_HEADER).and_then(|v| v.to_str().ok());
    let elevenlabs = xi.is_some() || elevenlabs::is_elevenlabs_path(request.uri().path());
    let refuse = |e: ApiError| {
        if elevenlabs { elevenlabs::error::ElError(e).into_response() } else { e.into_response() }
    };
    match bearer.or(xi) {
        Some(given) if key_matches(given, key) => next.run(request).await,
        Some(_) => refuse(ApiError::unauthorized("incorrect API key provided")),
        None => refuse(ApiError::unauthorized(
            "missing API key: send 'Authorization: Bearer <key>' (or ElevenLabs' 'xi-api-key: <key>')",
        )),
    }
}

/// Whether `given` is the configured `key` (in constant time).
pub fn key_matches(given: &str, key: &str) -> bool {
    constant_time_eq(given.trim().as_bytes(), key.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The request body, or 413 past the limit (`DefaultBodyLimit` is set on the router), or 408
/// when it did not arrive in time (the guard's body timeout).
fn read_body(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if let Some(limit) = guard::timed_out(&rejection) {
            ApiError::body_timeout(limit.as_secs_f64())
        } else if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            state.metrics.limit_hit(metrics::Limit::BodySize);
            ApiError::too_large(state.settings.max_body_bytes)
        } else {
            ApiError::bad_request(format!("cannot read the request body: {}", rejection.body_text()))
        }
    })
}

/// A listener on the first address `host:port` resolves to; connections it accepts inherit its
/// send buffer size (`send_buffer_bytes`).
async fn listen(settings: &Settings, host: &str, port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        if let Some(bytes) = settings.send_buffer_bytes {
            socket.set_send_buffer_size(bytes)?;
        }
        match socket.bind(addr).and_then(|()| socket.listen(1024)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "the host resolves to no address")))
}

/// The addresses `chorus serve` listens on.
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub http: Option<SocketAddr>,
    pub wyoming: Option<SocketAddr>,
}

/// Serve HTTP on `settings.host:settings.port` (unless `settings.http` is off) and Wyoming on
/// `settings.wyoming` (if set) until SIGTERM or Ctrl-C; then stop accepting, let running responses
/// finish for up to the grace period, and return. `on_listening` gets the bound addresses
/// (useful with port 0).
pub async fn serve(
    chorus: Arc<Chorus>,
    settings: Settings,
    on_listening: impl FnOnce(Listening),
) -> std::io::Result<()> {
    if !settings.http && settings.wyoming.is_none() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "nothing to serve: --no-http needs a Wyoming address (--wyoming tcp://HOST:PORT or [server] wyoming)",
        ));
    }
    let http = if settings.http {
        Some(listen(&settings, &settings.host, settings.port).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot listen on {}:{}: {e}", settings.host, settings.port))
        })?)
    } else {
        None
    };
    let wyoming =
        match &settings.wyoming {
            Some((host, port)) => Some(listen(&settings, host, *port).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen for Wyoming on {host}:{port}: {e}"))
            })?),
            None => None,
        };
    on_listening(Listening {
        http: http.as_ref().map(|l| l.local_addr()).transpose()?,
        wyoming: wyoming.as_ref().map(|l| l.local_addr()).transpose()?,
    });
    let grace = settings.shutdown_grace;
    let state = AppState::new(chorus, settings);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let http = {
        let (state, stop_rx) = (state.clone(), stop_rx.clone());
        async move {
            if let Some(listener) = http {
                conn::run(listener, router(state.clone()), state, stop_rx).await;
            }
        }
    };
    let wyoming = {
        let (state, stop_rx) = (state.clone(), stop_rx.clone());
        async move {
            if let Some(listener) = wyoming {
                crate::wyoming::run(listener, state, stop_rx).await;
            }
        }
    };
    let server = async move {
        tokio::join!(http, wyoming);
    };
    let deadline = async move {
        let mut stop_rx = stop_rx;
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        () = server => Ok(()),
        () = deadline => {
            eprintln!("chorus serve: responses still running after the {:.0} s grace period; stopping them", grace.as_secs_f64());
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    eprintln!("chorus serve: shutting down (no new connections; running responses may finish)");
}
