//! Reference audio for cloning: the file name (its extension is what the server checks) and
//! MIME type to upload it with.
//!
//! The server accepts `.mp3 .wav .flac .m4a .ogg` up to 10 MB (travisvn/chatterbox-tts-api
//! app/api/endpoints/speech.py `SUPPORTED_AUDIO_FORMATS`, `validate_audio_file`).

use chorus_plugin_api::{PluginError, ReferenceAudio};

/// Largest upload the server takes.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// The extension and MIME type of `reference`: from its declared format (an extension or a MIME
/// type), else from the file's first bytes.
pub fn kind(reference: &ReferenceAudio) -> Result<(&'static str, &'static str), PluginError> {
    if reference.data.is_empty() {
        return Err(PluginError::bad_request("the reference audio for cloning is empty"));
    }
    if reference.data.len() > MAX_BYTES {
        return Err(PluginError::bad_request(format!(
            "the reference audio is {} bytes; Chatterbox takes at most 10 MB",
            reference.data.len()
        )));
    }
    let declared = reference.format.trim().trim_start_matches('.').to_ascii_lowercase();
    let by_name = match declared.as_str() {
        "wav" | "wave" | "audio/wav" | "audio/wave" | "audio/x-wav" | "audio/vnd.wave" => Some(("wav", "audio/wav")),
        "mp3" | "mpeg" | "audio/mpeg" | "audio/mp3" => Some(("mp3", "audio/mpeg")),
        "flac" | "audio/flac" | "audio/x-flac" => Some(("flac", "audio/flac")),
        "m4a" | "mp4" | "aac" | "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => Some(("m4a", "audio/mp4")),
        "ogg" | "oga" | "opus" | "audio/ogg" | "audio/opus" => Some(("ogg", "audio/ogg")),
        _ => None,
    };
    by_name.or_else(|| sniff(&reference.data)).ok_or_else(|| {
        PluginError::unsupported(format!(
            "Chatterbox clones from wav, mp3, flac, m4a or ogg reference audio; this one is '{}'",
            if declared.is_empty() { "of unknown format" } else { &declared }
        ))
    })
}

/// The format from a file's magic bytes.
fn sniff(data: &[u8]) -> Option<(&'static str, &'static str)> {
    let starts = |magic: &[u8]| data.starts_with(magic);
    if starts(b"RIFF") && data.get(8..12) == Some(b"WAVE") {
        Some(("wav", "audio/wav"))
    } else if starts(b"fLaC") {
        Some(("flac", "audio/flac"))
    } else if starts(b"OggS") {
        Some(("ogg", "audio/ogg"))
    } else if starts(b"ID3") || (data.len() > 1 && data[0] == 0xFF && data[1] & 0xE0 == 0xE0) {
        Some(("mp3", "audio/mpeg"))
    } else if data.get(4..8) == Some(b"ftyp") {
        Some(("m4a", "audio/mp4"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(data: &[u8], format: &str) -> ReferenceAudio {
        ReferenceAudio { data: data.to_vec().into(), format: format.into(), transcript: "".into() }
    }

    #[test]
    fn declared_then_sniffed() {
        assert_eq!(kind(&reference(b"xx", "audio/x-wav")).unwrap().0, "wav");
        assert_eq!(kind(&reference(b"RIFF\0\0\0\0WAVEfmt ", "")).unwrap().0, "wav");
        assert_eq!(kind(&reference(b"fLaC....", "application/octet-stream")).unwrap().0, "flac");
        assert!(kind(&reference(b"hello", "txt")).is_err());
        assert!(kind(&reference(b"", "wav")).is_err());
    }
}
