//! Cutting Kokoro's graph in two at the decoder's inputs, on the protobuf wire format.
//!
//! The *front* (text encoder, duration and pitch predictors: about 5 % of a run) maps tokens to
//! per-token durations and frame-rate features; the *decoder* (the vocoder: the rest) maps a
//! stretch of those frames to audio. Cut there, a sentence's front runs once and its decoder runs
//! on short windows of frames, so audio starts after the first window instead of after the whole
//! chunk, and activations stay bounded by the window. Run on all the frames at once, the two
//! halves give the original graph's audio bit for bit (a test checks it).
//!
//! [`extract`] keeps the nodes that compute the wanted outputs from the given inputs (nodes are
//! topologically sorted in ONNX files, so one backward pass finds them), the initializers they
//! read, and every other graph and model field as it was.

use std::collections::{HashMap, HashSet};

use crate::GraphError;
use crate::durations::DURATIONS;
use crate::schema::{elem, graph as graph_field, node, tensor, type_proto, value_info as info_field};
use crate::wire::{bytes_field, fields, graph, name_of, strings, varint_field, with_graph};

/// The decoder's inputs, with the axis that runs along time and how many steps it has per frame
/// (one frame = one duration unit = 600 samples).
pub const FEATURES: [Feature; 4] = [
    Feature { name: "/encoder/MatMul_1_output_0", axis: 2, per_frame: 1 }, // aligned text features [1, 512, F]
    Feature { name: "/encoder/Reshape_output_0", axis: 1, per_frame: 2 },  // F0 curve [1, 2F]
    Feature { name: "/encoder/Reshape_1_output_0", axis: 1, per_frame: 2 }, // energy [1, 2F]
    // The harmonic source's running phase: a cumulative sum from the start of the chunk, so it is
    // computed in the front and a window starts with the phase the whole chunk would have there.
    Feature { name: "/decoder/decoder/generator/m_source/l_sin_gen/CumSum_output_0", axis: 1, per_frame: 2 }, // [1, 2F, 9]
];

/// One decoder input: a float tensor of frame-rate features.
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    /// The tensor's name in Kokoro's graph.
    pub name: &'static str,
    /// The axis that runs along time.
    pub axis: usize,
    /// Steps along that axis per frame.
    pub per_frame: usize,
}

/// The front: tokens, style, speed → durations and the decoder's features.
pub fn front(model: &[u8]) -> Result<Vec<u8>, GraphError> {
    let mut outputs = vec![(DURATIONS, elem::INT64)];
    outputs.extend(FEATURES.iter().map(|f| (f.name, elem::FLOAT)));
    extract(model, &[("tokens", 0), ("style", 0), ("speed", 0)], &outputs)
}

/// The decoder: features (any number of frames) and style → audio.
pub fn decoder(model: &[u8]) -> Result<Vec<u8>, GraphError> {
    let mut inputs: Vec<(&str, u64)> = FEATURES.iter().map(|f| (f.name, elem::FLOAT)).collect();
    inputs.push(("style", 0));
    extract(model, &inputs, &[("audio", 0)])
}

/// A `ValueInfoProto` naming a tensor of element type `elem` (shape left open).
fn value_info(name: &str, elem: u64) -> Vec<u8> {
    let elem_type = varint_field(type_proto::ELEM_TYPE, elem);
    let mut info = bytes_field(info_field::NAME, name.as_bytes());
    info.extend(bytes_field(info_field::TYPE, &bytes_field(type_proto::TENSOR_TYPE, &elem_type)));
    info
}

/// The sub-model computing `outputs` from `inputs`, each `(name, element type)`; type 0 means
/// "a tensor of the original graph's own inputs or outputs, described as it was".
pub fn extract(model: &[u8], inputs: &[(&str, u64)], outputs: &[(&str, u64)]) -> Result<Vec<u8>, GraphError> {
    let graph_bytes = graph(model)?;
    let graph = fields(&graph_bytes)?;
    let mut declared = HashMap::new();
    for f in graph.iter().filter(|f| f.number == graph_field::INPUT || f.number == graph_field::OUTPUT) {
        let info = f.payload.unwrap_or_default();
        declared.insert(name_of(info, info_field::NAME)?, info);
    }
    let is_input = |name: &str| inputs.iter().any(|(n, _)| *n == name);
    let mut needed: HashSet<String> = outputs.iter().map(|(n, _)| n.to_string()).collect();
    let mut produced = HashSet::new();
    let mut keep = vec![false; graph.len()];
    for (i, f) in graph.iter().enumerate().rev() {
        if f.number != graph_field::NODE {
            continue;
        }
        let node = f.payload.unwrap_or_default();
        let outs = strings(node, node::OUTPUT)?;
        let wanted: Vec<&&str> = outs.iter().filter(|o| needed.contains(**o) && !is_input(o)).collect();
        if wanted.is_empty() {
            continue;
        }
        if let Some(cut) = outs.iter().find(|o| is_input(o)) {
            return Err(GraphError::CutInsideNode { cut: cut.to_string(), other: wanted[0].to_string() });
        }
        keep[i] = true;
        produced.extend(outs.iter().map(|o| o.to_string()));
        needed.extend(strings(node, node::INPUT)?.into_iter().filter(|s| !s.is_empty()).map(str::to_string));
    }
    for (i, f) in graph.iter().enumerate() {
        if f.number != graph_field::INITIALIZER {
            continue;
        }
        let name = name_of(f.payload.unwrap_or_default(), tensor::NAME)?;
        if needed.contains(&name) {
            keep[i] = true;
            produced.insert(name);
        }
    }
    for (name, _) in inputs {
        if !needed.contains(*name) {
            return Err(GraphError::UnusedInput(name.to_string()));
        }
        produced.insert(name.to_string());
    }
    if let Some(missing) = needed.iter().find(|n| !produced.contains(*n)) {
        return Err(GraphError::Unreachable(missing.clone()));
    }
    let described = |name: &str, elem: u64| -> Result<Vec<u8>, GraphError> {
        match (elem, declared.get(name)) {
            (0, Some(info)) => Ok(info.to_vec()),
            (0, None) => Err(GraphError::Undeclared(name.to_string())),
            (elem, _) => Ok(value_info(name, elem)),
        }
    };
    let mut out_graph = Vec::with_capacity(graph_bytes.len());
    for (i, f) in graph.iter().enumerate() {
        let kept = match f.number {
            graph_field::NODE | graph_field::INITIALIZER => keep[i],
            // Inputs and outputs are written below; Kokoro has no sparse initializers.
            graph_field::INPUT | graph_field::OUTPUT | graph_field::SPARSE_INITIALIZER => false,
            graph_field::VALUE_INFO => needed.contains(&name_of(f.payload.unwrap_or_default(), info_field::NAME)?),
            _ => true,
        };
        if kept {
            out_graph.extend_from_slice(f.raw);
        }
    }
    for (name, elem) in inputs {
        out_graph.extend(bytes_field(graph_field::INPUT, &described(name, *elem)?));
    }
    for (name, elem) in outputs {
        out_graph.extend(bytes_field(graph_field::OUTPUT, &described(name, *elem)?));
    }
    with_graph(model, &out_graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::schema::model as model_field;

    fn node(inputs: &[&str], outputs: &[&str]) -> Vec<u8> {
        bytes_field(graph_field::NODE, &crate::wire::node("Add", inputs, outputs, &[], ""))
    }

    fn initializer(name: &str) -> Vec<u8> {
        bytes_field(graph_field::INITIALIZER, &bytes_field(tensor::NAME, name.as_bytes()))
    }

    /// x --n1--> a --n2--> b --n3--> y, with weights w1 (n1) and w3 (n3); opset field kept.
    fn model() -> Vec<u8> {
        let mut g = node(&["x", "w1"], &["a"]);
        g.extend(node(&["a"], &["b"]));
        g.extend(node(&["b", "w3"], &["y"]));
        g.extend(initializer("w1"));
        g.extend(initializer("w3"));
        g.extend(bytes_field(graph_field::INPUT, &value_info("x", elem::FLOAT)));
        g.extend(bytes_field(graph_field::OUTPUT, &value_info("y", elem::FLOAT)));
        let mut m = crate::wire::build::model(&g);
        m.extend(bytes_field(model_field::OPSET_IMPORT, b"opset"));
        m
    }

    fn summary(model: &[u8]) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
        let top = fields(model).unwrap();
        let graph = top.iter().find(|f| f.number == model_field::GRAPH).unwrap().payload.unwrap();
        let fs = fields(graph).unwrap();
        let pick = |n: u64, name: u64| -> Vec<String> {
            fs.iter().filter(|f| f.number == n).map(|f| name_of(f.payload.unwrap(), name).unwrap()).collect()
        };
        let nodes = fs
            .iter()
            .filter(|f| f.number == graph_field::NODE)
            .map(|f| strings(f.payload.unwrap(), node::OUTPUT).unwrap()[0].to_string());
        (
            nodes.collect(),
            pick(graph_field::INITIALIZER, tensor::NAME),
            pick(graph_field::INPUT, info_field::NAME),
            pick(graph_field::OUTPUT, info_field::NAME),
        )
    }

    #[test]
    fn the_front_half_keeps_what_its_outputs_need() {
        let front = extract(&model(), &[("x", 0)], &[("b", elem::FLOAT)]).unwrap();
        let (nodes, inits, ins, outs) = summary(&front);
        assert_eq!(
            (nodes, inits, ins, outs),
            (vec!["a".into(), "b".into()], vec!["w1".into()], vec!["x".into()], vec!["b".into()])
        );
        let opset = fields(&front).unwrap().iter().any(|f| f.number == model_field::OPSET_IMPORT);
        assert!(opset, "model fields other than the graph are kept");
    }

    #[test]
    fn the_back_half_starts_at_the_cut() {
        let back = extract(&model(), &[("b", elem::FLOAT)], &[("y", 0)]).unwrap();
        let (nodes, inits, ins, outs) = summary(&back);
        assert_eq!(
            (nodes, inits, ins, outs),
            (vec!["y".into()], vec!["w3".into()], vec!["b".into()], vec!["y".into()])
        );
    }

    #[test]
    fn a_cut_that_misses_an_input_is_refused() {
        let e = extract(&model(), &[("a", elem::FLOAT)], &[("z", elem::FLOAT)]).unwrap_err();
        assert_eq!(e, GraphError::UnusedInput("a".into()));
        let e = extract(&model(), &[("b", elem::FLOAT)], &[("b", elem::FLOAT), ("y", 0)]);
        assert!(e.is_ok(), "an input may also be an output");
        let e = extract(&[0xff], &[], &[]).unwrap_err();
        assert!(matches!(e, GraphError::Malformed(_)), "{e}");
    }
}
