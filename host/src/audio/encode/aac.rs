//! AAC-LC in ADTS frames with the Fraunhofer FDK AAC library, vendored and built by fdk-aac-sys.
//!
//! Licence: the Rust wrappers are MIT, but the C++ library is under the "Software License for The
//! Fraunhofer FDK AAC Codec Library for Android": free redistribution in source and binary form
//! (keep its licence text, offer its source with binaries, no licence fees), explicitly *no*
//! patent licence, and not GPL-compatible (Debian ships it in non-free). Hence the `aac` cargo
//! feature: on by default, and a packager who cannot ship it builds without it; `--format aac`
//! then says so.
//!
//! ADTS carries no length or delay fields, so there is nothing to patch: the encoder's priming
//! delay stays at the start of the decoded audio.

use super::{Encoder, to_i16};
use crate::audio::{AudioError, Format};
use fdk_aac::enc::{AudioObjectType, BitRate, ChannelMode, EncoderParams, Transport};

pub(crate) struct Aac {
    fdk: fdk_aac::enc::Encoder,
    buf: Vec<u8>,
    frame: u64,
    delay: u64,
    pending: Vec<i16>,
    samples_in: u64,
    frames_out: u64,
}

fn error(e: impl std::fmt::Display) -> AudioError {
    AudioError::encoder(Format::Aac, e)
}

impl Aac {
    pub fn new(rate: u32) -> Result<Self, AudioError> {
        let fdk = fdk_aac::enc::Encoder::new(EncoderParams {
            bit_rate: BitRate::Cbr((rate * 2).clamp(16_000, 96_000)),
            sample_rate: rate,
            transport: Transport::Adts,
            channels: ChannelMode::Mono,
            audio_object_type: AudioObjectType::Mpeg4LowComplexity,
        })
        .map_err(error)?;
        let info = fdk.info().map_err(error)?;
        Ok(Aac {
            buf: vec![0; info.maxOutBufBytes.max(8192) as usize],
            frame: info.frameLength.max(1) as u64,
            delay: info.nDelay as u64,
            fdk,
            pending: Vec::new(),
            samples_in: 0,
            frames_out: 0,
        })
    }

    /// Feed pending samples until the encoder takes no more and has nothing to give.
    fn pump(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        let mut used = 0;
        loop {
            let info = self.fdk.encode(&self.pending[used..], &mut self.buf).map_err(error)?;
            used += info.input_consumed;
            if info.output_size > 0 {
                out.extend_from_slice(&self.buf[..info.output_size]);
                self.frames_out += 1;
            }
            if info.input_consumed == 0 && info.output_size == 0 {
                break;
            }
        }
        self.pending.drain(..used);
        Ok(())
    }
}

impl Encoder for Aac {
    fn start(&mut self, _out: &mut Vec<u8>) -> Result<(), AudioError> {
        Ok(())
    }

    fn encode(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        self.samples_in += samples.len() as u64;
        self.pending.extend(samples.iter().map(|&s| to_i16(s)));
        self.pump(out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        // Silence until every real sample (after the encoder's delay) is inside a written frame.
        let needed = (self.samples_in + self.delay).div_ceil(self.frame);
        let mut guard = 0;
        while self.frames_out < needed && guard < needed + 8 {
            self.pending.extend(std::iter::repeat_n(0i16, self.frame as usize));
            self.pump(out)?;
            guard += 1;
        }
        Ok(())
    }
}
