//! A `multipart/form-data` body built in memory, so a request that carries a file (a reference
//! voice for cloning) can be sent again on retry. RFC 7578.

/// A form under construction.
#[derive(Debug, Clone)]
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Multipart {
    fn default() -> Self {
        Self::new()
    }
}

impl Multipart {
    pub fn new() -> Self {
        let random: String = std::iter::repeat_with(fastrand::alphanumeric).take(24).collect();
        Self { boundary: format!("chorus-{random}"), body: Vec::new() }
    }

    fn start_part(&mut self, disposition: &str, content_type: Option<&str>) {
        self.body.extend_from_slice(
            format!("--{}\r\nContent-Disposition: form-data; {disposition}\r\n", self.boundary).as_bytes(),
        );
        if let Some(ct) = content_type {
            self.body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        self.body.extend_from_slice(b"\r\n");
    }

    /// A text field.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.start_part(&format!("name=\"{}\"", escape(name)), None);
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// A file field.
    pub fn file(mut self, name: &str, filename: &str, content_type: &str, data: &[u8]) -> Self {
        self.start_part(&format!("name=\"{}\"; filename=\"{}\"", escape(name), escape(filename)), Some(content_type));
        self.body.extend_from_slice(data);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The `Content-Type` header value (with the boundary) and the body bytes.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (format!("multipart/form-data; boundary={}", self.boundary), self.body)
    }
}

/// Quotes, CR and LF in names are percent-encoded, as browsers do (RFC 7578 §4.2 / WHATWG).
fn escape(s: &str) -> String {
    s.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_layout() {
        let (ct, body) =
            Multipart::new().text("input", "Hi").file("voice_file", "ref.wav", "audio/wav", b"RIFF").finish();
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.starts_with(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"input\"\r\n\r\nHi\r\n"))
        );
        assert!(text.contains("name=\"voice_file\"; filename=\"ref.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }
}
