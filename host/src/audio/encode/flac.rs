//! FLAC (16-bit mono) with flacenc, one fixed-size frame at a time: the STREAMINFO goes out
//! first with the total length unknown (0), each frame as soon as its block is full; a seekable
//! file gets the real STREAMINFO (sample count, frame sizes, MD5) at the end.

use super::{Encoder, to_i16};
use crate::audio::{AudioError, Format};
use flacenc::{
    bitsink::ByteSink,
    component::{BitRepr, StreamInfo},
    config,
    error::{Verified, Verify},
    source::{Fill, FrameBuf},
};
use md5::{Digest, Md5};
use std::{
    fs::File,
    io::{Seek, SeekFrom, Write},
};

/// Samples per frame (170 ms at 24 kHz).
const BLOCK: usize = 4096;
/// Where the STREAMINFO body starts: after "fLaC" and the metadata block header.
const STREAMINFO_AT: u64 = 8;

pub(crate) struct Flac {
    config: Verified<config::Encoder>,
    info: StreamInfo,
    /// STREAMINFO as first sent (length unknown), for frame encoding.
    sent_info: StreamInfo,
    block: Vec<i32>,
    frame: FrameBuf,
    frames: usize,
    md5: Md5,
}

fn error(e: impl std::fmt::Debug) -> AudioError {
    AudioError::encoder(Format::Flac, format!("{e:?}"))
}

impl Flac {
    pub fn new(rate: u32) -> Result<Self, AudioError> {
        let mut info = StreamInfo::new(rate as usize, 1, 16).map_err(error)?;
        info.set_block_sizes(BLOCK, BLOCK).map_err(error)?;
        Ok(Flac {
            config: config::Encoder::default().into_verified().map_err(|(_, e)| error(e))?,
            sent_info: info.clone(),
            info,
            block: Vec::with_capacity(BLOCK),
            frame: FrameBuf::with_size(1, BLOCK).map_err(error)?,
            frames: 0,
            md5: Md5::new(),
        })
    }

    fn write_frame(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        if self.block.is_empty() {
            return Ok(());
        }
        if self.block.len() < BLOCK {
            self.frame.resize(self.block.len());
        }
        self.frame.fill_interleaved(&self.block).map_err(error)?;
        let frame =
            flacenc::encode_fixed_size_frame(&self.config, &self.frame, self.frames, &self.sent_info).map_err(error)?;
        let mut sink = ByteSink::new();
        frame.write(&mut sink).map_err(error)?;
        out.extend_from_slice(sink.as_slice());
        self.info.update_frame_info(&frame);
        self.frames += 1;
        self.block.clear();
        Ok(())
    }
}

fn streaminfo_bytes(info: &StreamInfo) -> Result<Vec<u8>, AudioError> {
    let mut sink = ByteSink::new();
    info.write(&mut sink).map_err(error)?;
    Ok(sink.as_slice().to_vec())
}

impl Encoder for Flac {
    fn start(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        out.extend(b"fLaC");
        // Metadata block header: last block, type 0 (STREAMINFO), 34 bytes.
        out.extend([0x80, 0, 0, 34]);
        out.extend(streaminfo_bytes(&self.sent_info)?);
        Ok(())
    }

    fn encode(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        for &s in samples {
            let v = to_i16(s);
            self.md5.update(v.to_le_bytes());
            self.block.push(v as i32);
            if self.block.len() == BLOCK {
                self.write_frame(out)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        self.write_frame(out)?;
        let digest: [u8; 16] = self.md5.clone().finalize().into();
        self.info.set_md5_digest(&digest);
        // The last, shorter block does not count towards the minimum block size.
        self.info.set_block_sizes(BLOCK, BLOCK).map_err(error)?;
        Ok(())
    }

    fn patch(&mut self, file: &mut File) -> Result<(), AudioError> {
        file.seek(SeekFrom::Start(STREAMINFO_AT))?;
        file.write_all(&streaminfo_bytes(&self.info)?)?;
        file.seek(SeekFrom::End(0))?;
        Ok(())
    }
}
