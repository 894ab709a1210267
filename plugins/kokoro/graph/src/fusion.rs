//! Replacing chains of nodes with one of chorus's own (domain [`chorus::DOMAIN`], whose kernels
//! are in `chorus-kokoro-kernels`) on the protobuf wire: a read-only view of a graph's wiring to
//! find chains ([`View`]), and [`apply`] to write the graph back with them fused.
//! [`requantize`] and [`conv`] are such passes; the instance norms' and Snake passes are in
//! [`crate::moments`] and [`crate::snake`].

use std::collections::{HashMap, HashSet};

use crate::GraphError;
use crate::schema::chorus::{self, DOMAIN};
use crate::schema::{elem, graph as graph_field, model as model_field, node as node_field, opset, tensor, value_info};
use crate::wire::{
    Field, Stored, bytes_field, fields, graph, ints, name_of, node, stored_as, strings, varint_field, varints,
    with_graph,
};

/// A node's type and wiring.
pub struct Node {
    pub op: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// Its attributes, encoded.
    pub attributes: Vec<Vec<u8>>,
}

impl Node {
    pub fn parse(node: &[u8]) -> Result<Self, GraphError> {
        let owned = |v: Vec<&str>| v.into_iter().map(str::to_string).collect();
        let attributes = fields(node)?
            .iter()
            .filter(|f| f.number == node_field::ATTRIBUTE)
            .map(|f| f.payload.unwrap_or_default().to_vec())
            .collect();
        Ok(Self {
            op: name_of(node, node_field::OP_TYPE)?,
            domain: name_of(node, node_field::DOMAIN)?,
            inputs: owned(strings(node, node_field::INPUT)?),
            outputs: owned(strings(node, node_field::OUTPUT)?),
            attributes,
        })
    }

    /// An ONNX operator `op` with one output.
    pub fn is(&self, op: &str) -> bool {
        self.op == op && self.domain.is_empty() && self.outputs.len() == 1
    }

    /// One of chorus's operators, `op`, with one output.
    pub fn is_ours(&self, op: &str) -> bool {
        self.op == op && self.domain == DOMAIN && self.outputs.len() == 1
    }

    /// The integers of attribute `name`, if it has it.
    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attributes
            .iter()
            .find(|a| name_of(a, crate::schema::attribute::NAME).is_ok_and(|n| n == name))
            .and_then(|a| ints(a).ok())
    }
}

/// A graph's nodes, who reads and who writes each value.
pub struct View<'a> {
    pub fields: Vec<Field<'a>>,
    pub nodes: Vec<Node>,
    readers: HashMap<String, Vec<usize>>,
    producer: HashMap<String, usize>,
    outputs: HashSet<String>,
}

impl<'a> View<'a> {
    pub fn new(graph: &'a [u8]) -> Result<Self, GraphError> {
        let fields = fields(graph)?;
        let mut nodes = Vec::new();
        let mut outputs = HashSet::new();
        for f in &fields {
            match f.number {
                graph_field::NODE => nodes.push(Node::parse(f.payload.unwrap_or_default())?),
                graph_field::OUTPUT => {
                    outputs.insert(name_of(f.payload.unwrap_or_default(), value_info::NAME)?);
                }
                _ => {}
            }
        }
        let (mut readers, mut producer) = (HashMap::<String, Vec<usize>>::new(), HashMap::new());
        for (i, n) in nodes.iter().enumerate() {
            for input in &n.inputs {
                readers.entry(input.clone()).or_default().push(i);
            }
            for output in &n.outputs {
                producer.insert(output.clone(), i);
            }
        }
        Ok(Self { fields, nodes, readers, producer, outputs })
    }

    /// The one node reading `name`'s value (nothing else, not a graph output), if it is an `op`.
    pub fn only_reader(&self, name: &str, op: &str) -> Option<usize> {
        self.sole_reader(name).filter(|&i| self.nodes[i].is(op))
    }

    /// The one node reading `name`'s value, if nothing else does and it is not a graph output.
    pub fn sole_reader(&self, name: &str) -> Option<usize> {
        match self.readers.get(name).map(Vec::as_slice) {
            Some(&[i]) if !self.outputs.contains(name) => Some(i),
            _ => None,
        }
    }

    /// The nodes reading `name`.
    pub fn readers(&self, name: &str) -> &[usize] {
        self.readers.get(name).map_or(&[], Vec::as_slice)
    }

    /// The node writing `name`.
    pub fn producer(&self, name: &str) -> Option<usize> {
        self.producer.get(name).copied()
    }

    /// The stored tensor (initializer) `name`, encoded.
    pub fn stored(&self, name: &str) -> Option<&'a [u8]> {
        self.fields
            .iter()
            .filter(|f| f.number == graph_field::INITIALIZER)
            .map(|f| f.payload.unwrap_or_default())
            .find(|t| name_of(t, tensor::NAME).is_ok_and(|n| n == name))
    }

    /// The values of the stored int64 tensor `name`, if it is one.
    pub fn stored_ints(&self, name: &str) -> Option<Vec<i64>> {
        let Ok(Some((_, Stored::Raw(raw)))) = stored_as(self.stored(name)?, elem::INT64) else { return None };
        Some(raw.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes"))).collect())
    }

    /// The values of the stored float tensor `name`, if it is one.
    pub fn stored_floats(&self, name: &str) -> Option<Vec<f32>> {
        let Ok(Some((dims, Stored::Raw(raw)))) = stored_as(self.stored(name)?, elem::FLOAT) else { return None };
        let values: Vec<f32> =
            raw.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
        (values.len() as u64 == dims.iter().product::<u64>()).then_some(values)
    }

    /// How many elements the stored tensor (initializer) `name` has.
    pub fn stored_len(&self, name: &str) -> Option<usize> {
        let tensor = self.stored(name)?;
        Some(varints(&fields(tensor).ok()?, tensor::DIMS).ok()?.iter().map(|&d| d as usize).product())
    }
}

/// Chains found in a graph: nodes that go, and nodes that take another node's place.
#[derive(Default)]
pub struct Fused {
    pub gone: HashSet<usize>,
    pub replaced: HashMap<usize, Vec<u8>>,
    /// Nodes written right after another (or where it was, if it goes).
    pub after: HashMap<usize, Vec<Vec<u8>>>,
}

impl Fused {
    /// `chain`'s nodes go; the fused node `node` takes the place of `last`.
    pub fn add(&mut self, chain: impl IntoIterator<Item = usize>, last: usize, node: Vec<u8>) {
        self.gone.extend(chain);
        self.replaced.insert(last, node);
    }

    pub fn len(&self) -> usize {
        self.replaced.len()
    }

    pub fn is_empty(&self) -> bool {
        self.replaced.is_empty() && self.after.is_empty()
    }

    /// Of `candidates`, the nodes nothing reads any more (no graph output, no node that stays, no
    /// fused node) go too, until none is left to drop.
    pub fn drop_unread(&mut self, view: &View, candidates: &[usize]) -> Result<(), GraphError> {
        let mut fused_reads = HashSet::new();
        for node in self.replaced.values() {
            fused_reads.extend(strings(node, node_field::INPUT)?.into_iter().map(str::to_string));
        }
        loop {
            let unread = candidates.iter().copied().find(|&c| {
                !self.gone.contains(&c)
                    && view.nodes[c].outputs.iter().all(|o| {
                        !view.outputs.contains(o)
                            && !fused_reads.contains(o)
                            && view.readers(o).iter().all(|r| self.gone.contains(r) || self.replaced.contains_key(r))
                    })
            });
            match unread {
                Some(c) => {
                    self.gone.insert(c);
                }
                None => return Ok(()),
            }
        }
    }
}

/// `model` (whose graph `view` reads) with `fused` applied: every other field as it was, stored
/// tensors only removed nodes read dropped, the chorus domain declared.
pub fn apply(model: &[u8], view: &View, fused: &Fused) -> Result<Vec<u8>, GraphError> {
    if fused.is_empty() {
        return Ok(model.to_vec());
    }
    let mut still_read = HashSet::new();
    for (i, n) in view.nodes.iter().enumerate() {
        if let Some(f) = fused.replaced.get(&i) {
            still_read.extend(strings(f, node_field::INPUT)?.into_iter().map(str::to_string));
        } else if !fused.gone.contains(&i) {
            still_read.extend(n.inputs.iter().cloned());
        }
        for added in fused.after.get(&i).into_iter().flatten() {
            still_read.extend(strings(added, node_field::INPUT)?.into_iter().map(str::to_string));
        }
    }
    let read_before: HashSet<&str> = view.nodes.iter().flat_map(|n| n.inputs.iter().map(String::as_str)).collect();
    let mut out = Vec::new();
    let mut i = 0;
    for f in &view.fields {
        match f.number {
            graph_field::NODE => {
                if let Some(node) = fused.replaced.get(&i) {
                    out.extend(bytes_field(graph_field::NODE, node));
                } else if !fused.gone.contains(&i) {
                    out.extend_from_slice(f.raw);
                }
                for added in fused.after.get(&i).into_iter().flatten() {
                    out.extend(bytes_field(graph_field::NODE, added));
                }
                i += 1;
            }
            graph_field::INITIALIZER
                if {
                    let name = name_of(f.payload.unwrap_or_default(), tensor::NAME)?;
                    read_before.contains(name.as_str()) && !still_read.contains(&name)
                } => {}
            _ => out.extend_from_slice(f.raw),
        }
    }
    declare(&with_graph(model, &out)?)
}

/// `model` declaring the [`DOMAIN`] operator set (once), as a graph with chorus's nodes must.
pub fn declare(model: &[u8]) -> Result<Vec<u8>, GraphError> {
    let declared = fields(model)?
        .iter()
        .filter(|f| f.number == model_field::OPSET_IMPORT)
        .any(|f| name_of(f.payload.unwrap_or_default(), opset::DOMAIN).is_ok_and(|d| d == DOMAIN));
    let mut out = model.to_vec();
    if !declared {
        let mut set = bytes_field(opset::DOMAIN, DOMAIN.as_bytes());
        set.extend(varint_field(opset::VERSION, 1));
        out.extend(bytes_field(model_field::OPSET_IMPORT, &set));
    }
    Ok(out)
}

/// `model` with each integer product's way back to float — transpose to channel-major, add the
/// quantized bias, cast, scale — as one [`chorus::REQUANTIZE`] node; the
/// number replaced. The chain is what [`crate::gemm`] leaves after each convolution.
pub fn requantize(model: &[u8]) -> Result<(Vec<u8>, usize), GraphError> {
    let graph_bytes = graph(model)?;
    let view = View::new(&graph_bytes)?;
    let mut fused = Fused::default();
    for (t, transpose) in view.nodes.iter().enumerate() {
        let chain = (|| {
            if !transpose.is("Transpose") || transpose.ints("perm")? != [0, 2, 1] {
                return None;
            }
            let product = transpose.inputs.first()?;
            if !view.nodes[view.producer(product)?].is("MatMulInteger") {
                return None;
            }
            let add = view.only_reader(&transpose.outputs[0], "Add")?;
            let bias = view.nodes[add].inputs.iter().find(|i| **i != transpose.outputs[0])?;
            let cast = view.only_reader(&view.nodes[add].outputs[0], "Cast")?;
            if view.nodes[cast].ints("to")? != [elem::FLOAT as i64] {
                return None;
            }
            let mul = view.only_reader(&view.nodes[cast].outputs[0], "Mul")?;
            let scale = view.nodes[mul].inputs.iter().find(|i| **i != view.nodes[cast].outputs[0])?;
            let output = &view.nodes[mul].outputs[0];
            Some(([t, add, cast], mul, node(chorus::REQUANTIZE, &[product, bias, scale], &[output], &[], DOMAIN)))
        })();
        if let Some((chain, last, node)) = chain {
            fused.add(chain, last, node);
        }
    }
    Ok((apply(model, &view, &fused)?, fused.len()))
}

/// The largest weight matrix [`conv`] fuses (elements): the generator's (up to 11 × 256 × 256),
/// not the decoder's 1024-channel ones, which run on a few steps per frame.
const MAX_WEIGHTS: usize = 1 << 20;

/// `model` with each convolution's three nodes — [`chorus::IM2COL`], `MatMulInteger`,
/// [`chorus::REQUANTIZE`] — as one [`chorus::QCONV`] node, whose kernel never
/// holds the first two's outputs whole; with the residual sum after it, if one is (an `Add` that
/// alone reads the output), as the node's seventh input. The number replaced. Run after
/// [`requantize`].
pub fn conv(model: &[u8]) -> Result<(Vec<u8>, usize), GraphError> {
    let graph_bytes = graph(model)?;
    let view = View::new(&graph_bytes)?;
    let mut fused = Fused::default();
    for (r, requantize) in view.nodes.iter().enumerate() {
        let chain = (|| {
            if !requantize.is_ours(chorus::REQUANTIZE) {
                return None;
            }
            let p = view.producer(requantize.inputs.first()?)?;
            let product = &view.nodes[p];
            let l = view.producer(product.inputs.first()?)?;
            let layout = &view.nodes[l];
            let sole = |n: &Node, reader: usize| view.sole_reader(&n.outputs[0]) == Some(reader);
            if !product.is("MatMulInteger") || !layout.is_ours(chorus::IM2COL) || !sole(product, r) || !sole(layout, p)
            {
                return None;
            }
            let [x, x_zero] = &layout.inputs[..] else { return None };
            let [_, w, product_zero, w_zero] = &product.inputs[..] else { return None };
            let [_, bias, scale] = &requantize.inputs[..] else { return None };
            // Called from QConv, the product packs its weights on every call, where as a node of
            // its own it packs them once at load: worth it only for the generator's smaller
            // matrices, which are also where the long inputs (and the memory) are.
            if product_zero != x_zero || view.stored_len(w)? > MAX_WEIGHTS {
                return None;
            }
            let mut inputs = vec![x, x_zero, w, w_zero, bias, scale];
            // A residual sum after it (`Add(y, r)`, nothing else reading y) is made in the same pass.
            let residual = view.only_reader(&requantize.outputs[0], "Add").and_then(|add| {
                let [a, b] = &view.nodes[add].inputs[..] else { return None };
                let other = if *a == requantize.outputs[0] { b } else { a };
                (other != &requantize.outputs[0]).then_some((add, other))
            });
            let (last, output) = match residual {
                Some((add, other)) => {
                    inputs.push(other);
                    (add, &view.nodes[add].outputs[0])
                }
                None => (r, &requantize.outputs[0]),
            };
            let inputs: Vec<&str> = inputs.into_iter().map(String::as_str).collect();
            let chain: Vec<usize> = [l, p, r].into_iter().filter(|&n| n != last).collect();
            Some((chain, last, node(chorus::QCONV, &inputs, &[output], &layout.attributes, DOMAIN)))
        })();
        if let Some((chain, last, node)) = chain {
            fused.add(chain, last, node);
        }
    }
    Ok((apply(model, &view, &fused)?, fused.len()))
}

/// A model's nodes in order (for the passes' tests).
#[cfg(test)]
pub fn nodes_of(model: &[u8]) -> Vec<Node> {
    View::new(&graph(model).unwrap()).unwrap().nodes
}

/// Their operators, space-separated.
#[cfg(test)]
pub fn ops_of(nodes: &[Node]) -> String {
    nodes.iter().map(|n| n.op.as_str()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::build::{self, op};
    use crate::wire::{int_attr, ints_attr, node, tensor};

    /// A product's way back to float, and a second product whose transpose is also a graph output.
    fn products() -> Vec<u8> {
        let mut g = Vec::new();
        for (p, kept) in [("a", false), ("b", true)] {
            let n = |s: &str| format!("{p}{s}");
            g.extend(op("MatMulInteger", &["x", "w", "xz", "wz"], &n("product"), &[]));
            g.extend(op("Transpose", &[&n("product")], &n("t"), &[ints_attr("perm", &[0, 2, 1])]));
            g.extend(op("Add", &[&n("t"), "bias"], &n("biased"), &[]));
            g.extend(op("Cast", &[&n("biased")], &n("float"), &[int_attr("to", 1)]));
            g.extend(op("Mul", &[&n("float"), "scale"], &n("y"), &[]));
            if kept {
                g.extend(bytes_field(graph_field::OUTPUT, &bytes_field(value_info::NAME, n("t").as_bytes())));
            }
        }
        build::model(&g)
    }

    #[test]
    fn a_product_back_to_float_becomes_one_node() {
        let (out, count) = requantize(&products()).unwrap();
        assert_eq!(count, 1);
        let nodes = nodes_of(&out);
        assert_eq!(ops_of(&nodes), "MatMulInteger Requantize MatMulInteger Transpose Add Cast Mul");
        let fused = &nodes[1];
        assert_eq!((fused.domain.as_str(), fused.inputs.join(" ")), (DOMAIN, "aproduct bias scale".to_string()));
        assert_eq!(fused.outputs, ["ay"], "the fused node ends in the chain's own output");
        assert_eq!(requantize(&out).unwrap().1, 0, "nothing left to fuse");
    }

    /// Three convolutions as the earlier passes leave them: `a` plain, `b` whose laid-out rows
    /// are also read elsewhere, `c` with a weight matrix too large to pack on every call.
    fn convolutions() -> Vec<u8> {
        let mut g = Vec::new();
        for (p, weights) in [("a", 3 * 8 * 8), ("b", 3 * 8 * 8), ("c", MAX_WEIGHTS + 8)] {
            let n = |s: &str| format!("{p}{s}");
            let attrs =
                [int_attr("taps", 3), int_attr("dilation", 1), int_attr("pad_before", 1), int_attr("pad_after", 1)];
            g.extend(bytes_field(
                graph_field::NODE,
                &node(chorus::IM2COL, &["x", "xz"], &[&n("rows")], &attrs, DOMAIN),
            ));
            g.extend(op("MatMulInteger", &[&n("rows"), &n("w"), "xz", "wz"], &n("product"), &[]));
            let back = node(chorus::REQUANTIZE, &[&n("product"), "bias", "scale"], &[&n("y")], &[], DOMAIN);
            g.extend(bytes_field(graph_field::NODE, &back));
            let w = tensor(&n("w"), &[weights as i64 / 8, 8], elem::INT8, &vec![0; weights]);
            g.extend(bytes_field(graph_field::INITIALIZER, &w));
        }
        g.extend(op("Identity", &["brows"], "seen", &[]));
        g.extend(op("Add", &["x2", "ay"], "sum", &[]));
        build::model(&g)
    }

    #[test]
    fn a_convolution_s_three_nodes_become_one_where_nothing_else_reads_them() {
        let (out, count) = conv(&convolutions()).unwrap();
        assert_eq!(count, 1);
        let nodes = nodes_of(&out);
        assert_eq!(
            ops_of(&nodes),
            "Im2col MatMulInteger Requantize Im2col MatMulInteger Requantize Identity QConv",
            "only `a` is fused, with the sum after it, where the sum was"
        );
        let fused = &nodes[7];
        assert_eq!(fused.inputs.join(" "), "x xz aw wz bias scale x2");
        assert_eq!((fused.domain.as_str(), fused.outputs.as_slice()), (DOMAIN, &["sum".to_string()][..]));
        assert_eq!(fused.ints("taps"), Some(vec![3]), "the layout's attributes carry over");
        let g = graph(&out).unwrap();
        assert_eq!(View::new(&g).unwrap().stored_len("aw"), Some(3 * 8 * 8), "its weights stay, now read by QConv");
        assert_eq!(conv(&out).unwrap().1, 0, "nothing left to fuse");
    }
}
