//! MP3 with LAME (vendored by mp3lame-encoder), 64 kbit/s mono. LAME opens the stream with an
//! empty Xing/Info frame; a seekable file gets the finished LAME tag frame written over it, so
//! players know the exact length and the encoder delay to trim.

use super::Encoder;
use crate::audio::{AudioError, Format};
use mp3lame_encoder::{Bitrate, Builder, FlushGap, Mode, MonoPcm, Quality};
use std::{
    fs::File,
    io::{Seek, SeekFrom, Write},
};

pub(crate) struct Mp3 {
    lame: mp3lame_encoder::Encoder,
    scratch: Vec<f32>,
}

fn error(e: impl std::fmt::Display) -> AudioError {
    AudioError::encoder(Format::Mp3, e)
}

impl Mp3 {
    pub fn new(rate: u32) -> Result<Self, AudioError> {
        let mut b = Builder::new().ok_or_else(|| error("LAME could not allocate an encoder"))?;
        b.set_num_channels(1).map_err(error)?;
        b.set_sample_rate(rate).map_err(error)?;
        b.set_mode(Mode::Mono).map_err(error)?;
        b.set_brate(if rate >= 32_000 { Bitrate::Kbps64 } else { Bitrate::Kbps48 }).map_err(error)?;
        b.set_quality(Quality::Good).map_err(error)?;
        b.set_to_write_vbr_tag(true).map_err(error)?;
        Ok(Mp3 { lame: b.build().map_err(error)?, scratch: Vec::new() })
    }
}

impl Encoder for Mp3 {
    fn start(&mut self, _out: &mut Vec<u8>) -> Result<(), AudioError> {
        Ok(())
    }

    fn encode(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        self.scratch.clear();
        self.scratch.extend(samples.iter().map(|s| s.clamp(-1.0, 1.0)));
        // LAME's documented worst case: 1.25 x samples + 7200 bytes.
        out.reserve(samples.len() * 5 / 4 + 7200);
        self.lame.encode_to_vec(MonoPcm(&self.scratch[..]), out).map_err(error)?;
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        out.reserve(7200);
        self.lame.flush_to_vec::<FlushGap>(out).map_err(error)?;
        Ok(())
    }

    fn patch(&mut self, file: &mut File) -> Result<(), AudioError> {
        let mut tag = Vec::with_capacity(self.lame.lame_tag_size());
        if self.lame.lame_tag_encode_to_vec(&mut tag).is_some() {
            file.seek(SeekFrom::Start(self.lame.id3v2_tag_size() as u64))?;
            file.write_all(&tag)?;
            file.seek(SeekFrom::End(0))?;
        }
        Ok(())
    }
}
