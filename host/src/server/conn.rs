//! Connections: the accept loop, which answers a connection over `max_connections` with a 503
//! and closes it, and each connection served by hyper's HTTP/1.1 with a header read timeout and
//! the write-stall watch ([`super::stall`]). On shutdown the loop stops accepting, asks every
//! connection to finish its response and close, and returns once all have.

use super::{
    AppState,
    error::ApiError,
    metrics::Limit,
    stall::{self, Heard},
};
use axum::{Router, body::Body, extract::Request};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{convert::Infallible, pin::pin, sync::Arc, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, watch},
};
use tower_service::Service;

/// Refused connections read from for a moment before closing, at most this many at once.
const MAX_LINGERING: usize = 64;

/// Header fields hyper itself accepts (its own default is 100). The guard answers 431 well
/// before this; hyper's bare 431 is for requests far beyond it.
const HYPER_MAX_HEADERS: usize = 400;

/// Accept and serve connections until `stop` turns true, then wait for the open ones to close.
pub async fn run(listener: TcpListener, app: Router, state: AppState, stop: watch::Receiver<bool>) {
    let max = state.settings.max_connections;
    let open = Arc::new(Semaphore::new(max));
    let lingering = Arc::new(Semaphore::new(MAX_LINGERING));
    let mut stopping = stop.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stopping) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors and the like: give the system a moment.
                eprintln!("chorus serve: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        match open.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(connection(stream, app.clone(), state.clone(), stop.clone(), permit));
            }
            Err(_) => refuse(stream, &state, &lingering),
        }
    }
    drop(listener);
    // Every connection holds a permit until it closes.
    let _ = open.acquire_many(max as u32).await;
}

/// One connection over the cap: a 503 in OpenAI's shape if the socket takes it at once, then close.
fn refuse(stream: TcpStream, state: &AppState, lingering: &Arc<Semaphore>) {
    state.metrics.limit_hit(Limit::MaxConnections);
    let e = ApiError::too_many_connections(state.settings.max_connections, state.settings.retry_after_secs);
    let _ = stream.try_write(&e.to_http1());
    // Closing with the client's request unread would reset the connection, and the client might
    // lose the 503: read what it sends for up to a second first, unless many already linger.
    let Ok(permit) = lingering.clone().try_acquire_owned() else { return };
    tokio::spawn(async move {
        let mut stream = stream;
        let _ = stream.shutdown().await;
        let mut buf = [0u8; 4096];
        let drain = async { while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {} };
        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
        drop(permit);
    });
}

async fn connection(
    stream: TcpStream,
    app: Router,
    state: AppState,
    mut stop: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
) {
    let metrics = state.metrics.clone();
    let hold = Hold { _held: Arc::new((permit, metrics.connection())) };
    let (stream, heard) = Heard::new(stream);
    let (watch, mut handed) = stall::watch();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let mut app = app.clone();
        let watch = watch.clone();
        request.extensions_mut().insert(hold.clone());
        async move {
            let response = app.call(request).await.unwrap_or_else(|never: Infallible| match never {});
            Ok::<_, Infallible>(response.map(|body| Body::new(stall::Watched::new(body, watch))))
        }
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(state.settings.header_timeout).max_headers(HYPER_MAX_HEADERS);
    let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service).with_upgrades());
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                // A header timeout on a connection that sent nothing since its last response is
                // an idle keep-alive connection closing, not a slow client.
                if result.is_err_and(|e| e.is_timeout()) && heard.since_last_write() {
                    metrics.limit_hit(Limit::HeaderTimeout);
                }
                return;
            }
            () = stall::stalled(&mut handed, state.settings.write_timeout) => {
                // Dropping the connection closes the socket and drops the response body, whose
                // synthesis session then stops its plugin and frees its slot.
                metrics.limit_hit(Limit::WriteTimeout);
                return;
            }
            () = stopped(&mut stop), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A connection's place under `max_connections` and in the open-connections gauge, shared with
/// what outlives its HTTP part: a WebSocket keeps it (from the request's extensions) until it
/// closes, so sockets count against the cap and shutdown waits for them too.
#[derive(Clone)]
pub struct Hold {
    _held: Arc<(OwnedSemaphorePermit, super::metrics::Connection)>,
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stopped| *stopped).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Errors of one connection that should not slow the accept loop.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}
