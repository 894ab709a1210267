//! Kokoro's 1-D integer convolutions rewritten as one integer matrix product each, int8 weights.
//!
//! The int8 model runs its convolutions as `ConvInteger` on uint8 activations and uint8 weights;
//! ONNX Runtime computes one as im2col and a u8×u8 product. Its u8×s8 product (`MatMulInteger`
//! with int8 weights) has faster kernels on x86 (VNNI where the CPU has it). So each convolution
//! becomes: transpose to time-major, pad with the activations' zero point (as `ConvInteger`
//! pads), lay the kernel's taps side by side (im2col: a `Slice` per tap, one `Concat`), multiply
//! by the weights laid out as `[taps × channels, outputs]`, transpose back. (One `Gather` over
//! computed indices copies less, but its data-dependent shape makes ONNX Runtime's memory
//! planner take a second longer to load the decoder.) The weights `w` with zero point `z`
//! become `w − 128` with zero point `z − 128`: every `w − z` is the same, so every integer sum
//! is, and the audio is bit for bit the original's (a test checks it on the dev set).
//!
//! Only on a CPU with VNNI ([`exact_here`]): there ONNX Runtime's u8×s8 kernel accumulates every
//! product in 32 bits. Its AVX2 kernel without VNNI adds pairs of products in 16 bits with
//! saturation, which would change the sums, so elsewhere the convolutions stay as they are.
//!
//! Only what the rewrite understands is touched: a `ConvInteger` with stored uint8 weights
//! `[out, in, taps]`, one group, stride 1 and explicit pads. Everything else is copied as it was.

use std::collections::HashMap;

use crate::proto::{Field, bytes_field, fields, graph, name_of, read_varint, strings, varint_field, with_graph};

/// Names the rewrite (part of the derived files' names, so a changed rewrite writes new files).
pub const VERSION: &str = "gemm-2";

/// Whether ONNX Runtime multiplies u8×s8 exactly on this CPU (AVX-512 VNNI or AVX-VNNI).
pub fn exact_here() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512vnni") || std::arch::is_x86_feature_detected!("avxvnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// What the derived files made on this machine hold: the rewrite's version, or `conv` without it.
pub fn key() -> &'static str {
    if exact_here() { VERSION } else { "conv" }
}

const UINT8: u64 = 2;
const INT8: u64 = 3;
const INT64: u64 = 7;

/// `model` with every convolution the rewrite understands replaced; the number replaced.
pub fn rewrite(model: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let graph_bytes = graph(model)?;
    let graph = fields(&graph_bytes)?;
    let mut stored = HashMap::new();
    for f in graph.iter().filter(|f| f.number == 5) {
        let tensor = f.payload.unwrap_or_default();
        stored.insert(name_of(tensor, 8)?, tensor);
    }
    let mut out_graph = Vec::with_capacity(graph_bytes.len() + graph_bytes.len() / 8);
    let mut added = Vec::new();
    let mut constants = Constants::default();
    let mut replaced_weights = Vec::new();
    let mut count = 0;
    for f in &graph {
        if f.number == 1 {
            if let Some(conv) = Conv::parse(f.payload.unwrap_or_default(), &stored)? {
                let (tensors, nodes) = conv.emit(&mut constants);
                out_graph.extend(nodes.iter().flat_map(|n| bytes_field(1, n)));
                added.extend(tensors);
                replaced_weights.extend([conv.weight_name, conv.weight_zero_name]);
                count += 1;
                continue;
            }
        }
        if f.number != 5 {
            out_graph.extend_from_slice(f.raw);
        }
    }
    // The original weights and their zero points go unless something else still reads them.
    let mut still_read = std::collections::HashSet::new();
    for node in fields(&out_graph)?.iter().filter(|f| f.number == 1) {
        still_read.extend(strings(node.payload.unwrap_or_default(), 1)?.into_iter().map(str::to_string));
    }
    for f in graph.iter().filter(|f| f.number == 5) {
        let name = name_of(f.payload.unwrap_or_default(), 8)?;
        if !replaced_weights.contains(&name) || still_read.contains(&name) {
            out_graph.extend_from_slice(f.raw);
        }
    }
    for tensor in added.into_iter().chain(constants.tensors()) {
        out_graph.extend(bytes_field(5, &tensor));
    }
    let out = with_graph(model, &out_graph)?;
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
    fn parse(node: &[u8], stored: &HashMap<String, &[u8]>) -> Result<Option<Self>, String> {
        let fs = fields(node)?;
        if name_of(node, 4)? != "ConvInteger" || !name_of(node, 7)?.is_empty() {
            return Ok(None);
        }
        let inputs = strings(node, 1)?;
        let outputs = strings(node, 2)?;
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
        for attribute in fs.iter().filter(|f| f.number == 5).map(|f| f.payload.unwrap_or_default()) {
            let ints = ints(attribute)?;
            match name_of(attribute, 1)?.as_str() {
                "group" | "strides" if ints.iter().any(|&v| v != 1) => return Ok(None),
                "dilations" if ints.len() == 1 => dilation = ints[0],
                "pads" if ints.len() == 2 => pads = [ints[0], ints[1]],
                "auto_pad" if name_of(attribute, 4)? != "NOTSET" => return Ok(None),
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

    /// The weights as tensors, and the nodes; small integer constants come from `constants`.
    fn emit(&self, constants: &mut Constants) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let [o, i, k] = self.shape;
        let zero: Vec<u8> = self.weight_zero.iter().map(|z| z ^ 0x80).collect();
        let zero_dims: &[i64] = if zero.len() == 1 { &[] } else { &[o as i64] };
        let n = |part: &str| self.name(part);
        let tensors = vec![
            tensor(&n("w"), &[(k * i) as i64, o as i64], INT8, &self.matrix()),
            tensor(&n("w_zero"), zero_dims, INT8, &zero),
        ];
        let pads = constants.get(&[0, self.pads[0], 0, 0, self.pads[1], 0]);
        let mut nodes = vec![
            node("Transpose", &[&self.input], &[&n("time_major")], &[ints_attr("perm", &[0, 2, 1])]),
            node("Pad", &[&n("time_major"), &pads, &self.input_zero], &[&n("padded")], &[]),
        ];
        // Tap t reads padded rows t·d .. t·d + (length − d·(k − 1)): the slice's end counts from
        // the end of the rows, except for the last tap, which runs to the end.
        let rows = if k > 1 {
            let span = self.dilation * (k as i64 - 1);
            let axis = constants.get(&[1]);
            let mut taps = Vec::with_capacity(k);
            for t in 0..k as i64 {
                let (start, end) = (t * self.dilation, t * self.dilation - span);
                let (start, end) = (constants.get(&[start]), constants.get(&[if end < 0 { end } else { i64::MAX }]));
                let tap = n(&format!("tap{t}"));
                nodes.push(node("Slice", &[&n("padded"), &start, &end, &axis], &[&tap], &[]));
                taps.push(tap);
            }
            let taps: Vec<&str> = taps.iter().map(String::as_str).collect();
            nodes.push(node("Concat", &taps, &[&n("im2col")], &[int_attr("axis", 2)]));
            n("im2col")
        } else {
            n("padded")
        };
        nodes.extend([
            node("MatMulInteger", &[&rows, &n("w"), &self.input_zero, &n("w_zero")], &[&n("product")], &[]),
            node("Transpose", &[&n("product")], &[&self.output], &[ints_attr("perm", &[0, 2, 1])]),
        ]);
        (tensors, nodes)
    }
}

/// One-dimensional int64 constants shared by every rewritten node, named after their values.
#[derive(Default)]
struct Constants {
    made: std::collections::BTreeSet<Vec<i64>>,
}

impl Constants {
    fn get(&mut self, values: &[i64]) -> String {
        self.made.insert(values.to_vec());
        Self::name(values)
    }

    fn name(values: &[i64]) -> String {
        format!("gemm/int64{values:?}")
    }

    fn tensors(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.made.iter().map(|v| {
            let raw: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            tensor(&Self::name(v), &[v.len() as i64], INT64, &raw)
        })
    }
}

/// A stored tensor's dims and data.
type Stored = (Vec<usize>, Vec<u8>);

/// A stored uint8 tensor's dims and data (`raw_data`, or `int32_data` for small ones); `None`
/// for another element type.
fn uint8_tensor(tensor: &[u8]) -> Result<Option<Stored>, String> {
    let fs = fields(tensor)?;
    if fs.iter().find(|f| f.number == 2).map(|f| f.value) != Some(UINT8) {
        return Ok(None);
    }
    let dims: Vec<usize> = varints(&fs, 1)?.into_iter().map(|d| d as usize).collect();
    let count: usize = dims.iter().product();
    let data = match fs.iter().find(|f| f.number == 9) {
        Some(raw) => raw.payload.unwrap_or_default().to_vec(),
        None => varints(&fs, 5)?.into_iter().map(|v| v as u8).collect(),
    };
    Ok((data.len() == count).then_some((dims, data)))
}

/// The integers of a repeated varint field, packed or not.
fn varints(fs: &[Field], number: u64) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for f in fs.iter().filter(|f| f.number == number) {
        match f.payload {
            Some(packed) => {
                let mut at = 0;
                while at < packed.len() {
                    out.push(read_varint(packed, &mut at)?);
                }
            }
            None => out.push(f.value),
        }
    }
    Ok(out)
}

/// An attribute's integer (`i`) or integers (`ints`).
fn ints(attribute: &[u8]) -> Result<Vec<i64>, String> {
    let fs = fields(attribute)?;
    let mut out: Vec<i64> = varints(&fs, 8)?.into_iter().map(|v| v as i64).collect();
    out.extend(fs.iter().filter(|f| f.number == 3).map(|f| f.value as i64));
    Ok(out)
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], attributes: &[Vec<u8>]) -> Vec<u8> {
    let mut n = Vec::new();
    for i in inputs {
        n.extend(bytes_field(1, i.as_bytes()));
    }
    for o in outputs {
        n.extend(bytes_field(2, o.as_bytes()));
    }
    n.extend(bytes_field(3, format!("{}/{op}", outputs[0]).as_bytes()));
    n.extend(bytes_field(4, op.as_bytes()));
    for a in attributes {
        n.extend(bytes_field(5, a));
    }
    n
}

fn int_attr(name: &str, value: i64) -> Vec<u8> {
    let mut a = bytes_field(1, name.as_bytes());
    a.extend(varint_field(3, value as u64));
    a.extend(varint_field(20, 2)); // AttributeType INT
    a
}

fn ints_attr(name: &str, values: &[i64]) -> Vec<u8> {
    let mut a = bytes_field(1, name.as_bytes());
    for v in values {
        a.extend(varint_field(8, *v as u64));
    }
    a.extend(varint_field(20, 7)); // AttributeType INTS
    a
}

fn tensor(name: &str, dims: &[i64], data_type: u64, raw: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    for d in dims {
        t.extend(varint_field(1, *d as u64));
    }
    t.extend(varint_field(2, data_type));
    t.extend(bytes_field(8, name.as_bytes()));
    t.extend(bytes_field(9, raw));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(name: &str, weight: &str, output: &str, attributes: &[Vec<u8>]) -> Vec<u8> {
        let mut n = Vec::new();
        for i in ["x", weight, "x_zero", "w_zero"] {
            n.extend(bytes_field(1, i.as_bytes()));
        }
        n.extend(bytes_field(2, output.as_bytes()));
        n.extend(bytes_field(3, name.as_bytes()));
        n.extend(bytes_field(4, b"ConvInteger"));
        for a in attributes {
            n.extend(bytes_field(5, a));
        }
        bytes_field(1, &n)
    }

    /// Two convolutions over `x`: `y` (2 → 2 channels, 3 taps, dilation 2, padded) can be
    /// rewritten; `z` (stride 2) cannot. Both share the weights' zero point.
    fn model() -> Vec<u8> {
        let mut g = conv("a", "w", "y", &[ints_attr("dilations", &[2]), ints_attr("pads", &[2, 2])]);
        g.extend(conv("b", "w2", "z", &[ints_attr("strides", &[2])]));
        let w: Vec<u8> = (0..12).collect();
        g.extend(bytes_field(5, &tensor("w", &[2, 2, 3], UINT8, &w)));
        g.extend(bytes_field(5, &tensor("w2", &[1, 2, 3], UINT8, &w[..6])));
        g.extend(bytes_field(5, &tensor("w_zero", &[], UINT8, &[5])));
        let mut m = varint_field(1, 8);
        m.extend(bytes_field(7, &g));
        m
    }

    #[test]
    fn a_plain_convolution_becomes_one_matrix_product() {
        let c = Constants::name;
        let (out, count) = rewrite(&model()).unwrap();
        assert_eq!(count, 1);
        let graph = graph(&out).unwrap();
        let fs = fields(&graph).unwrap();
        let ops: Vec<String> =
            fs.iter().filter(|f| f.number == 1).map(|f| name_of(f.payload.unwrap(), 4).unwrap()).collect();
        assert_eq!(ops.join(" "), "Transpose Pad Slice Slice Slice Concat MatMulInteger Transpose ConvInteger");
        let nodes: Vec<&[u8]> = fs.iter().filter(|f| f.number == 1).map(|f| f.payload.unwrap()).collect();
        assert_eq!(strings(nodes[7], 2).unwrap(), ["y"], "the product ends in the convolution's own output");
        // Padded rows r, 3 taps 2 apart: tap t reads rows 2t .. r − 4 + 2t.
        let slices: Vec<Vec<&str>> = nodes[2..5].iter().map(|n| strings(n, 1).unwrap()[1..3].to_vec()).collect();
        let expected = [[c(&[0]), c(&[-4])], [c(&[2]), c(&[-2])], [c(&[4]), c(&[i64::MAX])]];
        assert_eq!(slices, expected);
        let stored: HashMap<String, &[u8]> = fs
            .iter()
            .filter(|f| f.number == 5)
            .map(|f| (name_of(f.payload.unwrap(), 8).unwrap(), f.payload.unwrap()))
            .collect();
        assert!(!stored.contains_key("w"), "the replaced weights are dropped");
        assert!(stored.contains_key("w2") && stored.contains_key("w_zero"), "weights still read are kept");
        let raw = |name: &str| -> Vec<u8> {
            fields(stored[name]).unwrap().iter().find(|f| f.number == 9).unwrap().payload.unwrap().to_vec()
        };
        // Row t·in + c, column out holds w[out][c][t] − 128: w[out][c][t] = out·6 + c·3 + t.
        let expected: Vec<u8> = [0, 6, 3, 9, 1, 7, 4, 10, 2, 8, 5, 11].iter().map(|v: &u8| v ^ 0x80).collect();
        assert_eq!(raw("y/gemm/w"), expected);
        assert_eq!(raw("y/gemm/w_zero"), [5 ^ 0x80], "the zero point moves with the weights");
        assert_eq!(raw(&c(&[-2])), (-2i64).to_le_bytes(), "constants hold their values");
        assert!(stored.contains_key(&c(&[0, 2, 0, 0, 2, 0])), "the pads");
    }

    #[test]
    fn what_is_not_understood_is_left_alone() {
        let mut g = conv("b", "w2", "z", &[ints_attr("strides", &[2])]);
        g.extend(conv("c", "w3", "v", &[int_attr("group", 2)]));
        g.extend(bytes_field(5, &tensor("w2", &[1, 2, 3], UINT8, &[0; 6])));
        g.extend(bytes_field(5, &tensor("w3", &[2, 1, 3], INT8, &[0; 6])));
        let model = bytes_field(7, &g);
        let (out, count) = rewrite(&model).unwrap();
        assert_eq!(count, 0);
        assert_eq!(graph(&out).unwrap(), g, "the graph is copied as it was");
        assert!(rewrite(&[0xff]).is_err(), "a broken file is an error");
    }
}
