//! Exposing the per-token durations `/encoder/Cast_output_0` as a graph output, without an ONNX library.
//!
//! Protobuf merges a message field that occurs twice, and appends repeated fields. So appending
//! to the model bytes a `ModelProto.graph` that holds only one `GraphProto.output` adds that
//! value to the graph's outputs: ONNX Runtime then keeps the tensor and returns it. The audio is unchanged (a test checks it).

use crate::schema::{elem, graph, model, type_proto, value_info};
use crate::wire::{bytes_field, varint_field};

/// The tensor of per-token durations inside Kokoro's graph: i64 `[1, T+2]`, one unit = 600 samples.
pub const DURATIONS: &str = "/encoder/Cast_output_0";
/// Samples of 24 kHz audio per duration unit.
pub const SAMPLES_PER_UNIT: usize = 600;

/// The bytes to append to a model to add the i64 output `name`.
pub fn extra_output(name: &str) -> Vec<u8> {
    let tensor_type = varint_field(type_proto::ELEM_TYPE, elem::INT64);
    let type_proto = bytes_field(type_proto::TENSOR_TYPE, &tensor_type);
    let mut info = bytes_field(value_info::NAME, name.as_bytes());
    info.extend(bytes_field(value_info::TYPE, &type_proto));
    let graph = bytes_field(graph::OUTPUT, &info);
    bytes_field(model::GRAPH, &graph)
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
