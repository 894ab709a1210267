//! Opus in Ogg (RFC 7845) with libopus: OpusHead and OpusTags pages first, then 20 ms packets,
//! each push ending its page so the bytes leave at once. Granule positions count 48 kHz samples,
//! the header's pre-skip hides the encoder's lookahead and the last page's granule trims the
//! padding of the final frame, so the decoded length is exact.

use super::Encoder;
use crate::audio::{AudioError, Format};
use ogg::writing::{PacketWriteEndInfo, PacketWriter};

/// Bits per second for mono speech.
const BITRATE: i32 = 32_000;
const MAX_PACKET: usize = 4000;

pub(crate) struct OggOpus {
    opus: opus::Encoder,
    writer: PacketWriter<'static, Vec<u8>>,
    serial: u32,
    /// The encoder's rate, and the rate announced in the header.
    rate: u32,
    input_rate: u32,
    frame: usize,
    pending: Vec<f32>,
    /// Lookahead, in 48 kHz samples.
    pre_skip: u64,
    /// Real samples taken in (encoder rate) and packets written.
    samples_in: u64,
    packets: u64,
}

fn error(e: impl std::fmt::Display) -> AudioError {
    AudioError::encoder(Format::Opus, e)
}

impl OggOpus {
    pub fn new(rate: u32, input_rate: u32) -> Result<Self, AudioError> {
        let mut opus = opus::Encoder::new(rate, opus::Channels::Mono, opus::Application::Audio).map_err(error)?;
        opus.set_bitrate(opus::Bitrate::Bits(BITRATE)).map_err(error)?;
        let lookahead = opus.get_lookahead().map_err(error)? as u64;
        let serial = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.subsec_nanos())
            ^ std::process::id();
        Ok(OggOpus {
            opus,
            writer: PacketWriter::new(Vec::new()),
            serial,
            rate,
            input_rate,
            frame: rate as usize / 50,
            pending: Vec::new(),
            pre_skip: lookahead * 48_000 / rate as u64,
            samples_in: 0,
            packets: 0,
        })
    }

    fn to_48k(&self, samples: u64) -> u64 {
        samples * 48_000 / self.rate as u64
    }

    /// Encode every whole frame pending; the last packet of the call ends a page (or the stream).
    fn drain(&mut self, out: &mut Vec<u8>, last: bool) -> Result<(), AudioError> {
        let frames = self.pending.len() / self.frame;
        let mut buf = vec![0u8; MAX_PACKET];
        for i in 0..frames {
            let len =
                self.opus.encode_float(&self.pending[i * self.frame..(i + 1) * self.frame], &mut buf).map_err(error)?;
            self.packets += 1;
            let end_of_call = i + 1 == frames;
            let (info, granule) = match (end_of_call, last) {
                (true, true) => (PacketWriteEndInfo::EndStream, self.pre_skip + self.to_48k(self.samples_in)),
                (true, false) => (PacketWriteEndInfo::EndPage, self.packets * 960),
                _ => (PacketWriteEndInfo::NormalPacket, self.packets * 960),
            };
            self.writer.write_packet(buf[..len].to_vec(), self.serial, info, granule)?;
        }
        self.pending.drain(..frames * self.frame);
        out.append(self.writer.inner_mut());
        Ok(())
    }
}

impl Encoder for OggOpus {
    fn start(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        let mut head = Vec::with_capacity(19);
        head.extend(b"OpusHead");
        head.push(1); // version
        head.push(1); // channels
        head.extend((self.pre_skip as u16).to_le_bytes());
        head.extend(self.input_rate.to_le_bytes());
        head.extend(0i16.to_le_bytes()); // output gain
        head.push(0); // mapping family: mono/stereo
        self.writer.write_packet(head, self.serial, PacketWriteEndInfo::EndPage, 0)?;
        let vendor = concat!("chorus ", env!("CARGO_PKG_VERSION"));
        let mut tags = Vec::new();
        tags.extend(b"OpusTags");
        tags.extend((vendor.len() as u32).to_le_bytes());
        tags.extend(vendor.as_bytes());
        tags.extend(0u32.to_le_bytes()); // no user comments
        self.writer.write_packet(tags, self.serial, PacketWriteEndInfo::EndPage, 0)?;
        out.append(self.writer.inner_mut());
        Ok(())
    }

    fn encode(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        self.samples_in += samples.len() as u64;
        self.pending.extend(samples.iter().map(|s| s.clamp(-1.0, 1.0)));
        self.drain(out, false)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        // Enough frames that the decoder, after dropping pre-skip, has every real sample.
        let needed_48k = self.pre_skip + self.to_48k(self.samples_in);
        let frames_total = needed_48k.div_ceil(960).max(self.packets + 1);
        let to_add = (frames_total - self.packets) as usize * self.frame - self.pending.len();
        self.pending.extend(std::iter::repeat_n(0.0, to_add));
        self.drain(out, true)
    }
}
