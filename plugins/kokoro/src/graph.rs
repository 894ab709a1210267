//! Exposing the per-token durations `/encoder/Cast_output_0` as a graph output, without an ONNX library.
//!
//! Protobuf merges a message field that occurs twice, and appends repeated fields. So appending
//! to the model bytes a `ModelProto.graph` (field 7) that holds only one `GraphProto.output`
//! (field 12) adds that value to the graph's outputs: ONNX Runtime then keeps the tensor and
//! returns it. The audio is unchanged (a test checks it).

use crate::derived;
use crate::proto::{bytes_field, varint_field};

/// The tensor of per-token durations inside Kokoro's graph: i64 `[1, T+2]`, one unit = 600 samples.
pub const DURATIONS: &str = "/encoder/Cast_output_0";
/// Samples of 24 kHz audio per duration unit.
pub const SAMPLES_PER_UNIT: usize = 600;

/// The bytes to append to a model to add the i64 output `name`.
pub fn extra_output(name: &str) -> Vec<u8> {
    const INT64: u64 = 7;
    let tensor_type = varint_field(1, INT64); // TypeProto.Tensor.elem_type
    let type_proto = bytes_field(1, &tensor_type); // TypeProto.tensor_type
    let mut value_info = bytes_field(1, name.as_bytes()); // ValueInfoProto.name
    value_info.extend(bytes_field(2, &type_proto)); // ValueInfoProto.type
    let graph = bytes_field(12, &value_info); // GraphProto.output
    bytes_field(7, &graph) // ModelProto.graph
}

/// A copy of `model` with the output `name` added, in `dir`, made once and reused: its file name
/// holds the source's name, size and modification time, so a changed source gets a new copy.
/// Written to a temporary file first, then renamed, so a crash never leaves a torn copy.
pub fn patched_copy(model: &std::path::Path, dir: &std::path::Path, name: &str) -> std::io::Result<std::path::PathBuf> {
    let extra = extra_output(name);
    let out = derived::path_for(model, dir, "durations", None)?;
    let full = std::fs::metadata(model)?.len() + extra.len() as u64;
    if std::fs::metadata(&out).is_ok_and(|m| m.len() == full) {
        return Ok(out);
    }
    let mut bytes = std::fs::read(model)?;
    bytes.extend(extra);
    derived::write(dir, &out, &bytes)?;
    derived::evict_others(dir, model, "durations", &out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patch_matches_the_hand_checked_encoding() {
        // Built by hand from the protobuf wire format (and checked against onnxruntime in Python).
        let name = DURATIONS.as_bytes();
        let mut expected = vec![0x3a, (name.len() + 10) as u8, 0x62, (name.len() + 8) as u8, 0x0a, name.len() as u8];
        expected.extend_from_slice(name);
        expected.extend_from_slice(&[0x12, 0x04, 0x0a, 0x02, 0x08, 0x07]);
        assert_eq!(extra_output(DURATIONS), expected);
    }
}
