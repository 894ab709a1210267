//! Reading a response body as a stream: byte chunks, lines (NDJSON, SSE) or whole JSON, with
//! every failure mapped to a [`PluginError`] that says how far the stream got.
//!
//! ureq reports a body that ends before its `Content-Length` or without the final chunk of a
//! chunked encoding as an error, so a cut connection surfaces here, never as a short success.

use crate::failure::{Service, transport_error};
use chorus_plugin_api::PluginError;
use std::{io::Read, time::Duration};

/// Largest JSON or error body read into memory.
const MAX_TEXT_BODY: usize = 16 << 20;
/// Longest line accepted by [`BodyStream::next_line`] (ElevenLabs' timestamp chunks carry
/// base64 audio, so lines are long).
const MAX_LINE: usize = 64 << 20;

/// A response body being read.
pub struct BodyStream {
    reader: ureq::BodyReader<'static>,
    service: Service,
    url: String,
    timeouts: (Duration, Duration),
    bytes: u64,
    pending: Vec<u8>,
    ended: bool,
}

impl BodyStream {
    pub(crate) fn new(body: ureq::Body, service: Service, url: String, timeouts: (Duration, Duration)) -> Self {
        let reader = body.into_with_config().limit(u64::MAX).reader();
        Self { reader, service, url, timeouts, bytes: 0, pending: Vec::new(), ended: false }
    }

    /// Bytes received so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    fn map(&self, e: std::io::Error) -> PluginError {
        let err = ureq::Error::from(e);
        transport_error(&self.service, &self.url, &err, self.timeouts, Some(self.bytes))
    }

    /// Read the next bytes into `buf`; `Ok(0)` at a clean end of the body.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, PluginError> {
        if !self.pending.is_empty() {
            let n = self.pending.len().min(buf.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        if self.ended {
            return Ok(0);
        }
        loop {
            match self.reader.read(buf) {
                Ok(0) => {
                    self.ended = true;
                    return Ok(0);
                }
                Ok(n) => {
                    self.bytes += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.map(e)),
            }
        }
    }

    /// The next `\n`-terminated line without its line ending; `None` at the end of the body.
    /// A last line without a newline is returned too.
    pub fn next_line(&mut self) -> Result<Option<String>, PluginError> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(at) = self.pending.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=at).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(self.utf8(line)?));
            }
            if self.pending.len() > MAX_LINE {
                return Err(PluginError::unavailable(format!(
                    "{}: a line of the response from {} is longer than {} MiB",
                    self.service.name,
                    self.url,
                    MAX_LINE >> 20
                )));
            }
            let n = self.read_raw(&mut chunk)?;
            if n == 0 {
                if self.pending.is_empty() {
                    return Ok(None);
                }
                let line = std::mem::take(&mut self.pending);
                return Ok(Some(self.utf8(line)?));
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }

    /// Read from the wire, bypassing `pending`.
    fn read_raw(&mut self, buf: &mut [u8]) -> Result<usize, PluginError> {
        let pending = std::mem::take(&mut self.pending);
        let n = self.read(buf);
        self.pending = pending;
        n
    }

    fn utf8(&self, bytes: Vec<u8>) -> Result<String, PluginError> {
        String::from_utf8(bytes).map_err(|_| {
            PluginError::unavailable(format!(
                "{}: the response from {} is not valid UTF-8 text",
                self.service.name, self.url
            ))
        })
    }

    /// The whole body as text (at most 16 MiB).
    pub fn read_text(mut self) -> Result<String, PluginError> {
        let mut all = std::mem::take(&mut self.pending);
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = self.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            all.extend_from_slice(&chunk[..n]);
            if all.len() > MAX_TEXT_BODY {
                return Err(PluginError::unavailable(format!(
                    "{}: the response from {} is larger than {} MiB",
                    self.service.name,
                    self.url,
                    MAX_TEXT_BODY >> 20
                )));
            }
        }
        self.utf8(all)
    }

    /// The whole body parsed as JSON.
    pub fn read_json(self) -> Result<serde_json::Value, PluginError> {
        let (name, url) = (self.service.name.clone(), self.url.clone());
        let text = self.read_text()?;
        serde_json::from_str(&text).map_err(|e| {
            PluginError::unavailable(format!("{name}: the response from {url} is not the JSON expected ({e})"))
        })
    }

    /// The body of an error answer, best effort (empty when unreadable).
    pub(crate) fn read_error_text(mut self) -> String {
        let mut all = Vec::new();
        let mut chunk = [0u8; 8 * 1024];
        while all.len() < 64 * 1024 {
            match self.reader.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&chunk[..n]),
            }
        }
        String::from_utf8_lossy(&all).into_owned()
    }
}
