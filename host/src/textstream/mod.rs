//! Text that arrives in pieces, spoken in order as it becomes ready, for every plugin; nothing
//! waits for the end of the text that does not have to.
//!
//! [`Segmenter`] cuts the text as it comes: each complete sentence at once, and under a length
//! schedule ([`Policy`], ElevenLabs' `chunk_length_schedule`) the text up to a clause boundary.
//! [`speak`] turns those segments, sent over a channel, into one utterance's events: audio as the
//! engine makes it, word timings on the utterance's own timeline in chars of the whole input,
//! each segment's end, an error; a [`Cancel`] stops it within one chunk. Used by the Wyoming
//! server's streaming synthesis and by the ElevenLabs WebSocket endpoint.

mod segment;
mod speaker;

pub use segment::{Policy, Segment, Segmenter};
pub use speaker::{Cancel, Spoken, TimedWord, Utterance, speak, speak_holding};
