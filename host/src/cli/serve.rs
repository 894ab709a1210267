//! `chorus serve`: run the OpenAI-compatible HTTP server, the Wyoming server, or both, until
//! SIGTERM or Ctrl-C.

use crate::{
    Chorus,
    server::{self, Settings},
};
use anyhow::Context;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (default: [server] host, else 127.0.0.1).
    #[arg(long)]
    pub host: Option<String>,
    /// Port (default: [server] port, else 8880; 0 picks a free one).
    #[arg(long, short)]
    pub port: Option<u16>,
    /// Require `Authorization: Bearer KEY` (default: [server] api_key; none = open).
    #[arg(long, env = "CHORUS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Also serve the Wyoming protocol (Home Assistant) at tcp://HOST:PORT (default: [server] wyoming; none).
    #[arg(long, value_name = "URI")]
    pub wyoming: Option<String>,
    /// Serve no HTTP API: the Wyoming server alone (needs --wyoming or [server] wyoming).
    #[arg(long)]
    pub no_http: bool,
    /// Announce the Wyoming server over zeroconf (_wyoming._tcp.local.) as NAME (default: [server] wyoming_zeroconf; off).
    #[arg(long, value_name = "NAME")]
    pub zeroconf: Option<String>,
}

pub async fn run(chorus: Chorus, args: Args) -> anyhow::Result<()> {
    let mut settings =
        Settings::from_table(&chorus.config().server).map_err(anyhow::Error::msg).with_context(|| {
            format!("config file {}", chorus.config_file().map_or("(none)".into(), |p| p.display().to_string()))
        })?;
    if let Some(host) = args.host {
        settings.host = host;
    }
    if let Some(port) = args.port {
        settings.port = port;
    }
    if let Some(key) = args.api_key.filter(|k| !k.is_empty()) {
        settings.api_key = Some(key);
    }
    if let Some(uri) = &args.wyoming {
        settings.wyoming = Some(server::settings::parse_wyoming_uri(uri).map_err(anyhow::Error::msg)?);
    }
    settings.http = !args.no_http;
    if let Some(name) = args.zeroconf.filter(|n| !n.trim().is_empty()) {
        settings.wyoming_zeroconf = Some(name);
    }
    if settings.wyoming_zeroconf.is_some() && settings.wyoming.is_none() {
        anyhow::bail!(
            "zeroconf announces the Wyoming server: give it an address (--wyoming tcp://HOST:PORT or [server] wyoming)"
        );
    }
    let plugins: Vec<String> =
        chorus.plugins().iter().map(|p| format!("{} ({})", p.info.name, p.info.patterns.join(", "))).collect();
    for rejected in chorus.rejected() {
        eprintln!("chorus serve: skipped {}: {}", rejected.file.display(), rejected.reason);
    }
    let auth = if settings.api_key.is_some() { "API key required" } else { "no API key" };
    let plugins = if plugins.is_empty() { "none".into() } else { plugins.join(", ") };
    server::serve(Arc::new(chorus), settings, |listening| {
        if let Some(addr) = listening.http {
            eprintln!("chorus serve: listening on http://{addr} ({auth}); plugins: {plugins}");
        }
        if let Some(addr) = listening.wyoming {
            eprintln!("chorus serve: wyoming listening on tcp://{addr}; plugins: {plugins}");
        }
    })
    .await?;
    Ok(())
}
