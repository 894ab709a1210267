//! The Wyoming protocol server (`chorus serve --wyoming tcp://HOST:PORT`): Home Assistant's
//! voice pipeline, and any `wyoming` client, gets every engine chorus hosts as a text-to-speech
//! program, with streaming synthesis.
//!
//! `frame.rs` reads and writes events exactly as the `wyoming` Python package does; `info.rs`
//! answers `describe` and maps voice names back to models; `conn.rs` runs a connection. Each
//! reply takes a slot of its backend's concurrency limit, the same gates the HTTP server uses, so
//! the two front doors share one budget. Connections past `wyoming_max_connections` get an error
//! event and are closed. `zeroconf.rs` announces the server over multicast DNS when asked.

mod conn;
pub mod frame;
pub mod info;
pub mod zeroconf;

use crate::server::AppState;
use frame::Frame;
use serde_json::json;
use std::{sync::Arc, time::Duration};
use tokio::{
    io::AsyncWriteExt,
    net::TcpListener,
    sync::{Semaphore, watch},
};

/// What every connection shares.
struct Shared {
    state: AppState,
    catalogs: info::Catalogs,
}

/// Accept and serve Wyoming connections until `stop` turns true; then stop accepting and wait
/// for the open connections (each ends after its running reply).
pub async fn run(listener: TcpListener, state: AppState, stop: watch::Receiver<bool>) {
    let max = state.settings.wyoming_max_connections;
    let _announcement = match (&state.settings.wyoming_zeroconf, listener.local_addr()) {
        (Some(name), Ok(addr)) => match zeroconf::announce(name, addr) {
            Ok(announcement) => {
                eprintln!("chorus serve: wyoming announced over zeroconf as '{name}' ({})", zeroconf::SERVICE_TYPE);
                Some(announcement)
            }
            Err(e) => {
                eprintln!("chorus serve: {e}; serving without it");
                None
            }
        },
        _ => None,
    };
    let shared = Arc::new(Shared { state, catalogs: info::Catalogs::default() });
    let open = Arc::new(Semaphore::new(max));
    let mut stopping = stop.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|s| *s) => break,
        };
        let mut stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("chorus serve: wyoming: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        match open.clone().try_acquire_owned() {
            Ok(permit) => {
                let (shared, stop) = (shared.clone(), stop.clone());
                tokio::spawn(async move {
                    conn::serve(stream, shared, stop).await;
                    drop(permit);
                });
            }
            Err(_) => {
                tokio::spawn(async move {
                    let text = format!("the server has {max} Wyoming connections open; try again shortly");
                    let refusal = Frame::new("error", json!({"text": text, "code": "busy"})).encode();
                    let _ = tokio::time::timeout(Duration::from_secs(2), stream.write_all(&refusal)).await;
                    let _ = stream.shutdown().await;
                });
            }
        }
    }
    drop(listener);
    let _ = open.acquire_many(max as u32).await;
}
