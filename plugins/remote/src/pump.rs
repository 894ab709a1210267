//! The loop every audio-streaming plugin runs: send, read the body as it arrives, decode, push.
//!
//! Retries: [`Client::send`] retries 429 and 5xx answers; here a response whose body breaks
//! before its first byte is retried too. After the first audio byte nothing is retried: a
//! failure is an error, never a truncated success.

use crate::{
    client::{Call, Client, RetryNotice, RetryObserver},
    failure::extract_message,
    output::Output,
    pcm::AudioDecoder,
};
use chorus_plugin_api::PluginError;

/// How a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The body ended cleanly and every byte was decoded.
    Complete,
    /// The consumer went away; the plugin should return promptly.
    Stopped,
}

/// Bytes read per call; ureq returns as soon as any bytes are there, so this only bounds it.
const READ_SIZE: usize = 16 * 1024;

/// Send `call` and stream its audio body through a fresh clone of `decoder` into `out`.
pub fn stream_audio<D: AudioDecoder + Clone>(
    client: &Client,
    call: &Call,
    decoder: &D,
    out: &mut Output,
) -> Result<Ended, PluginError> {
    let policy = &client.options().retry;
    let mut retry = 0;
    loop {
        if out.status("sending request").is_stop() {
            return Ok(Ended::Stopped);
        }
        let Some(response) = client.send(call, out)? else { return Ok(Ended::Stopped) };
        let content_type =
            response.headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
        if let Some(ct) = content_type.filter(|ct| ct.starts_with("application/json") || ct.starts_with("text/")) {
            // A 2xx answer that is JSON or text where audio was expected carries the server's error.
            let (message, _) = extract_message(&response.body.read_text().unwrap_or_default());
            return Err(PluginError::unavailable(format!(
                "{} answered with {ct} instead of audio: {message}",
                client.service().name
            )));
        }
        let mut body = response.body;
        let mut decoder = decoder.clone();
        let mut buf = vec![0u8; READ_SIZE];
        let mut samples = Vec::new();
        let failure = loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) => break Some(e),
            };
            samples.clear();
            decoder.push(&buf[..n], &mut samples)?;
            if let Some(format) = decoder.format().filter(|_| !samples.is_empty()) {
                if out.audio(&samples, format).is_stop() {
                    return Ok(Ended::Stopped);
                }
            }
        };
        match failure {
            None if body.bytes_read() == 0 => {
                return Err(PluginError::unavailable(format!(
                    "{} answered {} with an empty body: no audio",
                    client.service().name,
                    call.url
                )));
            }
            None => {
                decoder
                    .finish()
                    .map_err(|e| PluginError::new(e.kind, format!("{}: {}", client.service().name, e.message)))?;
                if out.flush().is_stop() {
                    return Ok(Ended::Stopped);
                }
                return Ok(Ended::Complete);
            }
            Some(error) if body.bytes_read() == 0 => {
                let Some(delay) = policy.delay(retry, None) else { return Err(error) };
                retry += 1;
                let notice =
                    RetryNotice { retry, max_retries: policy.max_retries, delay, reason: error.message.to_string() };
                if out.retrying(&notice).is_stop() {
                    return Ok(Ended::Stopped);
                }
                std::thread::sleep(delay);
            }
            Some(error) => return Err(error),
        }
    }
}
