//! Wyoming's framing, as the `wyoming` Python package reads and writes it: one JSON header line
//! (`type`, `data`, `data_length`, `payload_length`, `version`), then `data_length` bytes of JSON
//! merged into `data`, then `payload_length` bytes of payload.
//!
//! A header that is not JSON, or has no `type`, or extra data that is not a JSON object, costs
//! only that event (its bytes were read; the next line is the next event). A header line or
//! length past the limits, or a connection that ends inside an event, ends the connection.

use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The protocol version chorus speaks (the `wyoming` package release it follows).
pub const VERSION: &str = "1.10.2";
/// The longest header line accepted, newline included.
pub const MAX_HEADER: usize = 64 * 1024;
/// The most extra data an event may carry.
pub const MAX_DATA: u64 = 1024 * 1024;
/// The most payload an event may carry (a TTS server is sent text, not audio).
pub const MAX_PAYLOAD: u64 = 4 * 1024 * 1024;

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub kind: String,
    pub data: Map<String, Value>,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn new(kind: &str, data: Value) -> Self {
        let data = match data {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Frame { kind: kind.to_string(), data, payload: Vec::new() }
    }

    pub fn with_payload(mut self, payload: Vec<u8>) -> Self {
        self.payload = payload;
        self
    }

    /// The bytes on the wire: header line, data, payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut header = json!({"type": self.kind, "version": VERSION});
        let data = (!self.data.is_empty()).then(|| Value::Object(self.data.clone()).to_string());
        if let Some(data) = &data {
            header["data_length"] = json!(data.len());
        }
        if !self.payload.is_empty() {
            header["payload_length"] = json!(self.payload.len());
        }
        let mut out = header.to_string().into_bytes();
        out.push(b'\n');
        if let Some(data) = data {
            out.extend_from_slice(data.as_bytes());
        }
        out.extend_from_slice(&self.payload);
        out
    }
}

/// Why an event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("malformed event header: {0}")]
    Header(String),
    #[error("malformed event data: {0}")]
    Data(String),
    #[error("event header line over {MAX_HEADER} bytes")]
    HeaderTooLong,
    #[error("event {what} of {len} bytes is over the limit of {max}")]
    TooLarge { what: &'static str, len: u64, max: u64 },
    #[error("the connection ended inside an event ({0})")]
    Truncated(std::io::Error),
    #[error("reading from the connection failed: {0}")]
    Io(std::io::Error),
}

impl FrameError {
    /// Whether the connection can go on with its next event.
    pub fn recoverable(&self) -> bool {
        matches!(self, FrameError::Header(_) | FrameError::Data(_))
    }

    /// The `code` of the error event sent for it.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::Header(_) => "malformed-header",
            FrameError::Data(_) => "malformed-data",
            FrameError::HeaderTooLong | FrameError::TooLarge { .. } => "too-large",
            FrameError::Truncated(_) | FrameError::Io(_) => "connection",
        }
    }
}

/// The next event; `None` when the connection ends between events.
pub async fn read<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Option<Frame>, FrameError> {
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut *reader).take(MAX_HEADER as u64).read_until(b'\n', &mut line).await.map_err(FrameError::Io)?;
        if n == 0 {
            return Ok(None);
        }
        if line.last() != Some(&b'\n') {
            if line.len() >= MAX_HEADER {
                return Err(FrameError::HeaderTooLong);
            }
            // The peer closed mid-line: as the Python reader, no event.
            return Ok(None);
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            break;
        }
    }
    let header: Value = serde_json::from_slice(&line).map_err(|e| FrameError::Header(e.to_string()))?;
    let Value::Object(mut header) = header else {
        return Err(FrameError::Header("the header line is not a JSON object".into()));
    };
    let length = |header: &Map<String, Value>, key: &str| -> Result<u64, FrameError> {
        match header.get(key) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v.as_u64().ok_or_else(|| FrameError::Header(format!("'{key}' is not a length: {v}"))),
        }
    };
    let (data_length, payload_length) = (length(&header, "data_length")?, length(&header, "payload_length")?);
    if data_length > MAX_DATA {
        return Err(FrameError::TooLarge { what: "data", len: data_length, max: MAX_DATA });
    }
    if payload_length > MAX_PAYLOAD {
        return Err(FrameError::TooLarge { what: "payload", len: payload_length, max: MAX_PAYLOAD });
    }
    let kind = match header.remove("type") {
        Some(Value::String(kind)) if !kind.is_empty() => Some(kind),
        _ => None,
    };
    let mut data = match header.remove("data") {
        None | Some(Value::Null) => Some(Map::new()),
        Some(Value::Object(map)) => Some(map),
        Some(_) => None,
    };
    // The lengths are read even when the header is bad, so the next event starts where it should.
    let mut extra = vec![0; data_length as usize];
    reader.read_exact(&mut extra).await.map_err(FrameError::Truncated)?;
    let mut payload = vec![0; payload_length as usize];
    reader.read_exact(&mut payload).await.map_err(FrameError::Truncated)?;
    let Some(kind) = kind else {
        return Err(FrameError::Header("no 'type' (a non-empty string)".into()));
    };
    let Some(data) = data.as_mut() else {
        return Err(FrameError::Header(format!("'data' of '{kind}' is not a JSON object")));
    };
    if !extra.is_empty() {
        match serde_json::from_slice::<Value>(&extra) {
            Ok(Value::Object(more)) => data.extend(more),
            Ok(_) => return Err(FrameError::Data(format!("the extra data of '{kind}' is not a JSON object"))),
            Err(e) => return Err(FrameError::Data(format!("the extra data of '{kind}': {e}"))),
        }
    }
    Ok(Some(Frame { kind, data: std::mem::take(data), payload }))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(bytes: &[u8]) -> Vec<Result<Frame, String>> {
        let mut reader = tokio::io::BufReader::new(bytes);
        let mut out = Vec::new();
        loop {
            match read(&mut reader).await {
                Ok(Some(frame)) => out.push(Ok(frame)),
                Ok(None) => return out,
                Err(e) if e.recoverable() => out.push(Err(e.to_string())),
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    #[tokio::test]
    async fn an_event_round_trips_with_data_and_payload() {
        let frame =
            Frame::new("audio-chunk", json!({"rate": 22050, "width": 2, "channels": 1})).with_payload(vec![1, 2, 3, 4]);
        let bytes = frame.encode();
        let line = bytes.split(|b| *b == b'\n').next().unwrap();
        let header: Value = serde_json::from_slice(line).unwrap();
        assert_eq!(header["type"], "audio-chunk");
        assert_eq!(header["version"], VERSION);
        assert_eq!(header["payload_length"], 4);
        assert!(header.get("data").is_none(), "data goes after the header line, as the Python writer sends it");
        assert_eq!(read_all(&bytes).await, [Ok(frame)]);
    }

    #[tokio::test]
    async fn inline_data_and_extra_data_merge() {
        let bytes =
            b"{\"type\":\"synthesize\",\"data\":{\"text\":\"a\",\"keep\":1},\"data_length\":12}\n{\"text\":\"b\"}";
        let frames = read_all(bytes).await;
        let frame = frames[0].as_ref().unwrap();
        assert_eq!(Value::Object(frame.data.clone()), json!({"text": "b", "keep": 1}));
    }

    #[tokio::test]
    async fn a_bad_header_costs_only_its_own_event() {
        let mut bytes = b"not json\n[1,2]\n{\"data\":{}}\n\n".to_vec();
        bytes.extend(Frame::new("describe", Value::Null).encode());
        let frames = read_all(&bytes).await;
        assert_eq!(frames.len(), 4, "{frames:?}");
        assert!(frames[0].as_ref().unwrap_err().contains("malformed event header"));
        assert!(frames[1].as_ref().unwrap_err().contains("not a JSON object"));
        assert!(frames[2].as_ref().unwrap_err().contains("no 'type'"));
        assert_eq!(frames[3].as_ref().unwrap().kind, "describe");
    }

    #[tokio::test]
    async fn a_payload_shorter_than_declared_ends_the_connection() {
        let frames = read_all(b"{\"type\":\"x\",\"payload_length\":100}\nabc").await;
        assert!(frames[0].as_ref().unwrap_err().contains("ended inside an event"), "{frames:?}");
    }

    #[tokio::test]
    async fn oversized_lines_and_lengths_are_refused_without_reading_them() {
        let long = vec![b'x'; MAX_HEADER + 10];
        assert!(read_all(&long).await[0].as_ref().unwrap_err().contains("header line over"));
        let huge = format!("{{\"type\":\"x\",\"payload_length\":{}}}\n", u64::MAX);
        assert!(read_all(huge.as_bytes()).await[0].as_ref().unwrap_err().contains("over the limit"));
    }
}
