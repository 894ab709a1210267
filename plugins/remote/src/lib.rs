//! chorus-remote: what every chorus plugin that talks to a speech server over HTTP needs.
//!
//! - [`Client`]: a blocking ureq client bound to one service, with connect and read timeouts
//!   and retries with exponential backoff on 429 and 5xx (honouring `Retry-After`), only
//!   before a response body is handed over — so never after the first audio byte.
//! - [`stream_audio`]: send a [`Call`], read the body as it arrives, decode it with an
//!   [`AudioDecoder`] ([`PcmS16Le`], [`WavDecoder`]) and push it through an [`Output`], which
//!   also reports progress and builds the [`Summary`](chorus_plugin_api::Summary).
//! - [`BodyStream`]: byte, line (NDJSON / SSE) and JSON reading of a body with failures mapped.
//! - [`HttpFailure`] / [`failure::transport_error`]: HTTP failures as [`PluginError`]s with
//!   kinds and messages a user can act on ("AllTalk is not reachable at http://…").
//! - [`config`]: `base_url`, `api_key`, timeouts and retries from the plugin's config table.
//! - [`Multipart`]: form bodies for uploads (reference audio for cloning).
//!
//! A typical synthesize:
//! ```ignore
//! let mut out = Output::new(sink, "AllTalk", &request.text, request.speed);
//! let call = Call::post_json(client.url("/v1/audio/speech"), &body);
//! match stream_audio(&client, &call, &WavDecoder::new(), &mut out)? {
//!     Ended::Complete | Ended::Stopped => Ok(out.finish(-1.0)),
//! }
//! ```

pub mod body;
pub mod client;
pub mod config;
pub mod failure;
pub mod multipart;
pub mod output;
pub mod pcm;
pub mod pump;
pub mod retry;
pub mod wav;

pub use body::BodyStream;
pub use chorus_plugin_api::PluginError;
pub use client::{Call, Client, ClientOptions, Response, RetryNotice, RetryObserver};
pub use failure::{HttpFailure, Service};
pub use multipart::Multipart;
pub use output::Output;
pub use pcm::{AudioDecoder, AudioFormat, PcmS16Le, s16le_to_f32};
pub use pump::{Ended, stream_audio};
pub use retry::RetryPolicy;
/// The HTTP client crate, for plugins that need more than [`Client`] offers.
pub use ureq;
pub use wav::WavDecoder;
