//! A graph's large weights moved out to external data: ONNX's form for initializers kept in a
//! file of their own, which ONNX Runtime maps instead of copying.
//!
//! Each initializer of at least [`MIN_BYTES`] gets `data_location = EXTERNAL` and a
//! `location`/`offset`/`length` entry pointing into the weights file, at an offset aligned to
//! [`ALIGN`] (ONNX Runtime maps only aligned data). Bytes in, bytes out: writing the two files is
//! the caller's.

use crate::GraphError;
use crate::schema::{entry, graph as graph_field, tensor as tensor_field};
use crate::wire::{bytes_field, fields, varint_field, with_graph};

/// Initializers smaller than this stay inside the graph file.
pub const MIN_BYTES: usize = 4096;
/// Offsets in the weights file are multiples of this (the page size ONNX Runtime maps by).
pub const ALIGN: usize = 4096;

/// The model with its large initializers moved out, referring to the weights file by `location`
/// (its file name, beside the graph file), and the weights file's bytes.
pub fn split(model: &[u8], location: &str) -> Result<(Vec<u8>, Vec<u8>), GraphError> {
    let mut data = Vec::new();
    let mut graph = Vec::new();
    for g in fields(&crate::wire::graph(model)?)? {
        match (g.number, g.payload) {
            (graph_field::INITIALIZER, Some(tensor)) => {
                graph.extend(bytes_field(graph_field::INITIALIZER, &external(tensor, location, &mut data)?));
            }
            _ => graph.extend_from_slice(g.raw),
        }
    }
    Ok((with_graph(model, &graph)?, data))
}

/// A `TensorProto` whose `raw_data`, if large, moves to the end of `data`.
fn external(tensor: &[u8], location: &str, data: &mut Vec<u8>) -> Result<Vec<u8>, GraphError> {
    let fs = fields(tensor)?;
    let raw = fs.iter().find(|f| f.number == tensor_field::RAW_DATA).and_then(|f| f.payload);
    let Some(raw) = raw.filter(|r| r.len() >= MIN_BYTES) else {
        return Ok(tensor.to_vec());
    };
    data.resize(data.len().next_multiple_of(ALIGN), 0);
    let offset = data.len();
    data.extend_from_slice(raw);
    let mut out: Vec<u8> =
        fs.iter().filter(|f| f.number != tensor_field::RAW_DATA).flat_map(|f| f.raw.iter().copied()).collect();
    for (key, value) in
        [("location", location.to_string()), ("offset", offset.to_string()), ("length", raw.len().to_string())]
    {
        let mut pair = bytes_field(entry::KEY, key.as_bytes());
        pair.extend(bytes_field(entry::VALUE, value.as_bytes()));
        out.extend(bytes_field(tensor_field::EXTERNAL_DATA, &pair));
    }
    out.extend(varint_field(tensor_field::DATA_LOCATION, tensor_field::LOCATION_EXTERNAL));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{elem, tensor as t};
    use crate::wire::build;
    use crate::wire::{name_of, strings, tensor};

    fn model_with(tensors: &[Vec<u8>]) -> Vec<u8> {
        let mut graph = build::op("Identity", &["x"], "y", &[]);
        for t in tensors {
            graph.extend(bytes_field(graph_field::INITIALIZER, t));
        }
        build::model(&graph)
    }

    fn initializers(model: &[u8]) -> Vec<Vec<u8>> {
        let graph = crate::wire::graph(model).unwrap();
        let fs = fields(&graph).unwrap();
        fs.iter().filter(|f| f.number == graph_field::INITIALIZER).map(|f| f.payload.unwrap().to_vec()).collect()
    }

    #[test]
    fn large_initializers_move_to_aligned_offsets_and_small_ones_stay() {
        let big: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let other: Vec<u8> = vec![7; 4096];
        let small = tensor("small", &[2], elem::UINT8, &[1, 2, 3, 4, 5, 6, 7, 8]);
        let model = model_with(&[
            tensor("big", &[5000], elem::UINT8, &big),
            small.clone(),
            tensor("other", &[4096], elem::UINT8, &other),
        ]);
        let (out, data) = split(&model, "m.onnx.weights").unwrap();
        let inits = initializers(&out);
        assert_eq!(inits[1], small, "a small initializer is untouched");
        assert_eq!(&data[..5000], &big[..]);
        assert_eq!(&data[8192..8192 + 4096], &other[..], "the second starts at the next 4 KiB boundary");
        let entries = |tensor: &[u8]| -> Vec<(String, String)> {
            fields(tensor)
                .unwrap()
                .iter()
                .filter(|f| f.number == t::EXTERNAL_DATA)
                .map(|f| {
                    let key = strings(f.payload.unwrap(), entry::KEY).unwrap()[0].to_string();
                    let value = strings(f.payload.unwrap(), entry::VALUE).unwrap()[0].to_string();
                    (key, value)
                })
                .collect()
        };
        assert_eq!(
            entries(&inits[2]),
            [("location", "m.onnx.weights"), ("offset", "8192"), ("length", "4096")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let f = fields(&inits[0]).unwrap();
        assert!(f.iter().all(|f| f.number != t::RAW_DATA), "the raw data left the graph");
        assert_eq!(f.iter().find(|f| f.number == t::DATA_LOCATION).map(|f| f.value), Some(t::LOCATION_EXTERNAL));
        assert_eq!(name_of(&inits[0], t::NAME).unwrap(), "big");
    }

    #[test]
    fn a_damaged_model_is_an_error() {
        assert!(matches!(split(&[0xff], "w"), Err(GraphError::Malformed(_))));
    }
}
