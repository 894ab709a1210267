//! Kokoro's 1-D integer convolutions rewritten as one integer matrix product each, int8 weights.
//!
//! The int8 model runs its convolutions as `ConvInteger` on uint8 activations and uint8 weights;
//! ONNX Runtime computes one as im2col and a u8×u8 product. Its u8×s8 product (`MatMulInteger`
//! with int8 weights) has faster kernels on x86 (VNNI where the CPU has it). So each convolution
//! becomes: the input laid out for one product ([`chorus::IM2COL`]: each row holds
//! the kernel's taps side by side, the padding filled with the activations' zero point, as
//! `ConvInteger` pads), multiplied by the weights laid out as `[taps × channels, outputs]`, and
//! transposed back. (As ONNX nodes, the layout was a transpose, a pad, a slice per tap and a
//! concatenation: single-threaded copies, a fifth of a decode. One `Gather` over computed indices
//! makes ONNX Runtime's memory planner take a second longer to load the decoder.) The weights `w`
//! with zero point `z`
//! become `w − 128` with zero point `z − 128`: every `w − z` is the same, so every integer sum
//! is, and the audio is bit for bit the original's (a test checks it on the tests' sentences).
//!
//! Only for a CPU with VNNI (the engine decides): there ONNX Runtime's u8×s8 kernel accumulates
//! every product in 32 bits. Its AVX2 kernel without VNNI adds pairs of products in 16 bits with
//! saturation, which would change the sums, so elsewhere the convolutions stay as they are.
//!
//! Only what the rewrite understands is touched: a `ConvInteger` with stored uint8 weights
//! `[out, in, taps]`, one group, stride 1 and explicit pads. Everything else is copied as it was.

use std::collections::HashMap;

use crate::GraphError;
use crate::fusion::declare;
use crate::schema::chorus::{self, DOMAIN};
use crate::schema::{attribute, elem, graph as graph_field, node as node_field, tensor as tensor_field};
use crate::wire::{
    Stored, bytes_field, fields, graph, int_attr, ints, ints_attr, name_of, node, stored_as, strings, tensor,
    with_graph,
};

/// Names the rewrite and the `requantize` and `conv` fusions made after it (part of the derived files' names, so a
/// changed rewrite writes new files).
pub const VERSION: &str = "gemm-6";

/// `model` with every convolution the rewrite understands replaced; the number replaced.
pub fn rewrite(model: &[u8]) -> Result<(Vec<u8>, usize), GraphError> {
    let graph_bytes = graph(model)?;
    let graph = fields(&graph_bytes)?;
    let mut stored = HashMap::new();
    for f in graph.iter().filter(|f| f.number == graph_field::INITIALIZER) {
        let tensor = f.payload.unwrap_or_default();
        stored.insert(name_of(tensor, tensor_field::NAME)?, tensor);
    }
    let mut out_graph = Vec::with_capacity(graph_bytes.len() + graph_bytes.len() / 8);
    let mut added = Vec::new();
    let mut replaced_weights = Vec::new();
    let mut count = 0;
    for f in &graph {
        if f.number == graph_field::NODE {
            if let Some(conv) = Conv::parse(f.payload.unwrap_or_default(), &stored)? {
                let (tensors, nodes) = conv.emit();
                out_graph.extend(nodes.iter().flat_map(|n| bytes_field(graph_field::NODE, n)));
                added.extend(tensors);
                replaced_weights.extend([conv.weight_name, conv.weight_zero_name]);
                count += 1;
                continue;
            }
        }
        if f.number != graph_field::INITIALIZER {
            out_graph.extend_from_slice(f.raw);
        }
    }
    // The original weights and their zero points go unless something else still reads them.
    let mut still_read = std::collections::HashSet::new();
    for node in fields(&out_graph)?.iter().filter(|f| f.number == graph_field::NODE) {
        still_read
            .extend(strings(node.payload.unwrap_or_default(), node_field::INPUT)?.into_iter().map(str::to_string));
    }
    for f in graph.iter().filter(|f| f.number == graph_field::INITIALIZER) {
        let name = name_of(f.payload.unwrap_or_default(), tensor_field::NAME)?;
        if !replaced_weights.contains(&name) || still_read.contains(&name) {
            out_graph.extend_from_slice(f.raw);
        }
    }
    for tensor in added {
        out_graph.extend(bytes_field(graph_field::INITIALIZER, &tensor));
    }
    let out = with_graph(model, &out_graph)?;
    let out = if count > 0 { declare(&out)? } else { out };
    Ok((out, count))
}

/// One convolution the rewrite understands.
struct Conv {
    input: String,
    input_zero: String,
    output: String,
    weight_name: String,
    weight_zero_name: String,
    /// `[out, in, taps]`, uint8.
    shape: [usize; 3],
    weights: Vec<u8>,
    /// One value, or one per output channel.
    weight_zero: Vec<u8>,
    dilation: i64,
    pads: [i64; 2],
}

impl Conv {
    fn parse(node: &[u8], stored: &HashMap<String, &[u8]>) -> Result<Option<Self>, GraphError> {
        let fs = fields(node)?;
        if name_of(node, node_field::OP_TYPE)? != "ConvInteger" || !name_of(node, node_field::DOMAIN)?.is_empty() {
            return Ok(None);
        }
        let inputs = strings(node, node_field::INPUT)?;
        let outputs = strings(node, node_field::OUTPUT)?;
        let (Some(&input), Some(&weight_name), Some(&input_zero), [output]) =
            (inputs.first(), inputs.get(1), inputs.get(2), outputs.as_slice())
        else {
            return Ok(None);
        };
        if input_zero.is_empty() {
            return Ok(None);
        }
        let Some((dims, weights)) = stored.get(weight_name).map(|t| uint8_tensor(t)).transpose()?.flatten() else {
            return Ok(None);
        };
        let [o, i, k] = dims[..] else { return Ok(None) };
        let weight_zero_name = inputs.get(3).map_or(String::new(), |n| n.to_string());
        let weight_zero = match inputs.get(3).filter(|n| !n.is_empty()) {
            None => vec![0],
            Some(name) => match stored.get(*name).map(|t| uint8_tensor(t)).transpose()?.flatten() {
                Some((_, zero)) if zero.len() == 1 || zero.len() == o => zero,
                _ => return Ok(None),
            },
        };
        let (mut dilation, mut pads) = (1, [0, 0]);
        for attr in fs.iter().filter(|f| f.number == node_field::ATTRIBUTE).map(|f| f.payload.unwrap_or_default()) {
            let ints = ints(attr)?;
            match name_of(attr, attribute::NAME)?.as_str() {
                "group" | "strides" if ints.iter().any(|&v| v != 1) => return Ok(None),
                "dilations" if ints.len() == 1 => dilation = ints[0],
                "pads" if ints.len() == 2 => pads = [ints[0], ints[1]],
                "auto_pad" if name_of(attr, attribute::S)? != "NOTSET" => return Ok(None),
                "group" | "strides" | "kernel_shape" | "auto_pad" => {}
                _ => return Ok(None),
            }
        }
        if dilation < 1 || pads.iter().any(|&p| p < 0) {
            return Ok(None);
        }
        Ok(Some(Self {
            input: input.into(),
            input_zero: input_zero.into(),
            output: output.to_string(),
            weight_name: weight_name.into(),
            weight_zero_name,
            shape: [o, i, k],
            weights,
            weight_zero,
            dilation,
            pads,
        }))
    }

    fn name(&self, part: &str) -> String {
        format!("{}/gemm/{part}", self.output)
    }

    /// The weights as int8 `[taps × in, out]`: row `t·in + c` holds every output's weight for
    /// input channel `c` at tap `t`, matching the gathered rows.
    fn matrix(&self) -> Vec<u8> {
        let [o, i, k] = self.shape;
        let mut m = vec![0u8; o * i * k];
        for out in 0..o {
            for c in 0..i {
                for t in 0..k {
                    m[(t * i + c) * o + out] = self.weights[(out * i + c) * k + t] ^ 0x80; // w − 128 as int8
                }
            }
        }
        m
    }

    /// The weights as tensors, and the nodes.
    fn emit(&self) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let [o, i, k] = self.shape;
        let zero: Vec<u8> = self.weight_zero.iter().map(|z| z ^ 0x80).collect();
        let zero_dims: &[i64] = if zero.len() == 1 { &[] } else { &[o as i64] };
        let n = |part: &str| self.name(part);
        let tensors = vec![
            tensor(&n("w"), &[(k * i) as i64, o as i64], elem::INT8, &self.matrix()),
            tensor(&n("w_zero"), zero_dims, elem::INT8, &zero),
        ];
        let attributes = [
            int_attr("taps", k as i64),
            int_attr("dilation", self.dilation),
            int_attr("pad_before", self.pads[0]),
            int_attr("pad_after", self.pads[1]),
        ];
        let mut nodes =
            vec![node(chorus::IM2COL, &[&self.input, &self.input_zero], &[&n("im2col")], &attributes, DOMAIN)];
        let rows = n("im2col");
        nodes.extend([
            node("MatMulInteger", &[&rows, &n("w"), &self.input_zero, &n("w_zero")], &[&n("product")], &[], ""),
            node("Transpose", &[&n("product")], &[&self.output], &[ints_attr("perm", &[0, 2, 1])], ""),
        ]);
        (tensors, nodes)
    }
}

/// A stored uint8 tensor's dims and data.
type Uint8Tensor = (Vec<usize>, Vec<u8>);

/// A stored uint8 tensor's dims and data (`raw_data`, or `int32_data` for small ones); `None`
/// for another element type.
fn uint8_tensor(tensor: &[u8]) -> Result<Option<Uint8Tensor>, GraphError> {
    let Some((dims, data)) = stored_as(tensor, elem::UINT8)? else { return Ok(None) };
    let dims: Vec<usize> = dims.into_iter().map(|d| d as usize).collect();
    let count: usize = dims.iter().product();
    let data = match data {
        Stored::Raw(bytes) => bytes,
        Stored::Ints(values) => values.into_iter().map(|v| v as u8).collect(),
    };
    Ok((data.len() == count).then_some((dims, data)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fusion::{nodes_of, ops_of};
    use crate::wire::build::{self, op};

    fn conv(weight: &str, output: &str, attributes: &[Vec<u8>]) -> Vec<u8> {
        op("ConvInteger", &["x", weight, "x_zero", "w_zero"], output, attributes)
    }

    /// Two convolutions over `x`: `y` (2 → 2 channels, 3 taps, dilation 2, padded) can be
    /// rewritten; `z` (stride 2) cannot. Both share the weights' zero point.
    fn model() -> Vec<u8> {
        let mut g = conv("w", "y", &[ints_attr("dilations", &[2]), ints_attr("pads", &[2, 2])]);
        g.extend(conv("w2", "z", &[ints_attr("strides", &[2])]));
        let w: Vec<u8> = (0..12).collect();
        let stored = |t: Vec<u8>| bytes_field(graph_field::INITIALIZER, &t);
        g.extend(stored(tensor("w", &[2, 2, 3], elem::UINT8, &w)));
        g.extend(stored(tensor("w2", &[1, 2, 3], elem::UINT8, &w[..6])));
        g.extend(stored(tensor("w_zero", &[], elem::UINT8, &[5])));
        build::model(&g)
    }

    #[test]
    fn a_plain_convolution_becomes_one_matrix_product() {
        let (out, count) = rewrite(&model()).unwrap();
        assert_eq!(count, 1);
        let nodes = nodes_of(&out);
        assert_eq!(ops_of(&nodes), "Im2col MatMulInteger Transpose ConvInteger");
        assert_eq!(nodes[2].outputs, ["y"], "the product ends in the convolution's own output");
        assert_eq!(nodes[0].domain, DOMAIN);
        assert_eq!(nodes[0].attributes.len(), 4, "the layout's four attributes, nothing else");
        for (name, value) in [("taps", 3), ("dilation", 2), ("pad_before", 2), ("pad_after", 2)] {
            assert_eq!(nodes[0].ints(name), Some(vec![value]), "{name}");
        }
        let graph = graph(&out).unwrap();
        let fs = fields(&graph).unwrap();
        let stored: HashMap<String, &[u8]> = fs
            .iter()
            .filter(|f| f.number == graph_field::INITIALIZER)
            .map(|f| (name_of(f.payload.unwrap(), tensor_field::NAME).unwrap(), f.payload.unwrap()))
            .collect();
        assert!(!stored.contains_key("w"), "the replaced weights are dropped");
        assert!(stored.contains_key("w2") && stored.contains_key("w_zero"), "weights still read are kept");
        let raw = |name: &str| -> Vec<u8> {
            let fs = fields(stored[name]).unwrap();
            fs.iter().find(|f| f.number == tensor_field::RAW_DATA).unwrap().payload.unwrap().to_vec()
        };
        // Row t·in + c, column out holds w[out][c][t] − 128: w[out][c][t] = out·6 + c·3 + t.
        let expected: Vec<u8> = [0, 6, 3, 9, 1, 7, 4, 10, 2, 8, 5, 11].iter().map(|v: &u8| v ^ 0x80).collect();
        assert_eq!(raw("y/gemm/w"), expected);
        assert_eq!(raw("y/gemm/w_zero"), [5 ^ 0x80], "the zero point moves with the weights");
    }

    #[test]
    fn what_is_not_understood_is_left_alone() {
        let mut g = conv("w2", "z", &[ints_attr("strides", &[2])]);
        g.extend(conv("w3", "v", &[int_attr("group", 2)]));
        g.extend(bytes_field(graph_field::INITIALIZER, &tensor("w2", &[1, 2, 3], elem::UINT8, &[0; 6])));
        g.extend(bytes_field(graph_field::INITIALIZER, &tensor("w3", &[2, 1, 3], elem::INT8, &[0; 6])));
        let model = bytes_field(crate::schema::model::GRAPH, &g);
        let (out, count) = rewrite(&model).unwrap();
        assert_eq!(count, 0);
        assert_eq!(graph(&out).unwrap(), g, "the graph is copied as it was");
        assert!(rewrite(&[0xff]).is_err(), "a broken file is an error");
    }
}
