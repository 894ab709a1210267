//! Kokoro's Snake activations, `x + sin(αx)² / α`, each rewritten as one chorus node.
//!
//! The vocoder applies Snake before each of its ~50 residual convolutions, exported as five
//! elementwise nodes over `[1, channels, samples]` tensors: `Mul(α, x)`, `Sin`, `Pow(·, 2)`,
//! `Mul(1/α, ·)`, `Add(x, ·)`. [`rewrite`] replaces each chain with one
//! `chorus.Snake(x, α, 1/α)` node — or `chorus.NormSnake`, taking in the instance norm's
//! subtraction, divide and style before it (`gain · ((x − mean) / divisor) + bias`) when only the
//! chain reads the style's output; the kernels crate computes it in one pass, bit for bit. A norm
//! that a stage's three branches share is then computed inside each branch's node, and its own
//! divide and subtraction go once no other node reads them.
//!
//! Only the exact chain is touched: α and 1/α stored as `[1, C, 1]` float tensors, the exponent
//! a stored 2, every intermediate read by the next node alone. Everything else is copied as it
//! was. [`chain_model`] is one chain alone, for checking a kernel against the runtime's nodes.

use std::collections::HashMap;

use crate::GraphError;
use crate::fusion::{Fused, View, apply};
use crate::schema::chorus::{DOMAIN, NORM_SNAKE, SNAKE};
use crate::schema::{
    elem, graph as graph_field, model as model_field, opset, tensor as tensor_field, type_proto, value_info,
};
use crate::wire::{Stored as Values, bytes_field, graph, name_of, node, stored_as, tensor, varint_field};

/// Names the rewrite (part of the derived files' names, so a changed rewrite writes new files).
pub const VERSION: &str = "snake-4";

/// `model` with every Snake chain replaced by one node; the number replaced.
pub fn rewrite(model: &[u8]) -> Result<(Vec<u8>, usize), GraphError> {
    let graph_bytes = graph(model)?;
    let view = View::new(&graph_bytes)?;
    let mut stored = HashMap::new();
    for f in view.fields.iter().filter(|f| f.number == graph_field::INITIALIZER) {
        let payload = f.payload.unwrap_or_default();
        if let Some(t) = small_float(payload)? {
            stored.insert(name_of(payload, tensor_field::NAME)?, t);
        }
    }
    let per_channel =
        |name: &str| stored.get(name).is_some_and(|(dims, _): &Stored| dims.len() == 3 && dims[0] == 1 && dims[2] == 1);
    let nodes = &view.nodes;
    let mut fused = Fused::default();
    let mut norms = Vec::new();
    for (s, sin) in nodes.iter().enumerate().filter(|(_, n)| n.is("Sin")) {
        let chain = (|| {
            let scale = view.producer(sin.inputs.first()?)?;
            let [a, b] = nodes[scale].inputs.as_slice() else { return None };
            let (alpha, x) = if per_channel(a) { (a, b) } else { (b, a) };
            if !nodes[scale].is("Mul") || !per_channel(alpha) || view.only_reader(&nodes[scale].outputs[0], "Sin")? != s
            {
                return None;
            }
            let pow = view.only_reader(&sin.outputs[0], "Pow")?;
            let exponent = nodes[pow].inputs.get(1)?;
            if stored.get(exponent.as_str()).map(|(_, v)| v.as_slice()) != Some(&[2.0]) {
                return None;
            }
            let times = view.only_reader(&nodes[pow].outputs[0], "Mul")?;
            let inverse = nodes[times].inputs.iter().find(|i| **i != nodes[pow].outputs[0])?;
            let add = view.only_reader(&nodes[times].outputs[0], "Add")?;
            let mut add_inputs = nodes[add].inputs.clone();
            add_inputs.sort();
            let mut expected = vec![x.clone(), nodes[times].outputs[0].clone()];
            expected.sort();
            if !per_channel(inverse) || add_inputs != expected {
                return None;
            }
            let output = &nodes[add].outputs[0];
            let chain = [scale, s, pow, times];
            // The instance norm and style before it, `gain · ((x − mean) / divisor) + bias`, when
            // only the chain reads it.
            let norm = (|| {
                if view.readers(x).iter().any(|r| *r != scale && *r != add) {
                    return None;
                }
                let shift = view.producer(x).filter(|&i| nodes[i].is("Add"))?;
                let (times, bias) = other_of(&nodes[shift].inputs, |i| {
                    view.producer(i).is_some_and(|p| nodes[p].is("Mul") && view.only_reader(i, "Add") == Some(shift))
                })?;
                let times = view.producer(times)?;
                let (divided, gain) =
                    other_of(&nodes[times].inputs, |i| view.producer(i).is_some_and(|p| nodes[p].is("Div")))?;
                let divide = view.producer(divided)?;
                let [d, divisor] = nodes[divide].inputs.as_slice() else { return None };
                let sub = view.producer(d).filter(|&i| nodes[i].is("Sub"))?;
                let [x, mean] = nodes[sub].inputs.as_slice() else { return None };
                let inputs = [x.as_str(), mean, divisor, gain, bias, alpha, inverse];
                let node = node(NORM_SNAKE, &inputs, &[output], &[], DOMAIN);
                Some(([shift, times], [divide, sub], node))
            })();
            Some(match norm {
                Some((more, norm, node)) => {
                    (chain.into_iter().chain(more).collect::<Vec<_>>(), add, node, norm.to_vec())
                }
                None => (chain.to_vec(), add, node(SNAKE, &[x, alpha, inverse], &[output], &[], DOMAIN), Vec::new()),
            })
        })();
        if let Some((chain, last, node, norm)) = chain {
            fused.add(chain, last, node);
            norms.extend(norm);
        }
    }
    // A norm's divide and subtraction go once every reader is fused: shared by a stage's three
    // branches, they are computed inside each branch's `NormSnake` instead.
    fused.drop_unread(&view, &norms)?;
    Ok((apply(model, &view, &fused)?, fused.len()))
}

/// Of two inputs, the one `pick` accepts and the other.
fn other_of(inputs: &[String], pick: impl Fn(&str) -> bool) -> Option<(&str, &str)> {
    match inputs {
        [a, b] if pick(a) => Some((a, b)),
        [a, b] if pick(b) => Some((b, a)),
        _ => None,
    }
}

/// A model of one Snake chain as Kokoro's export writes it: `x` of `shape` in, `y` out.
pub fn chain_model(alpha: &[f32], inverse: &[f32], shape: [i64; 3]) -> Vec<u8> {
    let per_channel = [1, shape[1], 1];
    let mut g = Vec::new();
    for (op, inputs, output) in [
        ("Mul", ["alpha", "x"], "scaled"),
        ("Sin", ["scaled", ""], "sin"),
        ("Pow", ["sin", "two"], "squared"),
        ("Mul", ["inverse", "squared"], "term"),
        ("Add", ["x", "term"], "y"),
    ] {
        let inputs: Vec<&str> = inputs.into_iter().filter(|i| !i.is_empty()).collect();
        g.extend(bytes_field(graph_field::NODE, &node(op, &inputs, &[output], &[], "")));
    }
    g.extend(stored_floats("alpha", &per_channel, alpha));
    g.extend(stored_floats("inverse", &per_channel, inverse));
    g.extend(stored_floats("two", &[], &[2.0]));
    runnable(g, ("x", &shape), &["y"])
}

/// A graph's stored float tensor.
pub(crate) fn stored_floats(name: &str, dims: &[i64], values: &[f32]) -> Vec<u8> {
    let raw: Vec<u8> = values.iter().flat_map(|f| f.to_le_bytes()).collect();
    bytes_field(graph_field::INITIALIZER, &tensor(name, dims, elem::FLOAT, &raw))
}

/// A model ONNX Runtime can run from graph fields `g`: one float input of `shape` (a negative
/// size for any), float outputs.
pub(crate) fn runnable(mut g: Vec<u8>, (input, shape): (&str, &[i64]), outputs: &[&str]) -> Vec<u8> {
    g.extend(bytes_field(graph_field::NAME, b"check"));
    let info = |name: &str, shape: Option<&[i64]>| {
        let mut tensor_type = varint_field(type_proto::ELEM_TYPE, elem::FLOAT);
        if let Some(shape) = shape {
            let mut shape_proto = Vec::new();
            for &d in shape {
                // A negative size: any length.
                let dim = if d < 0 {
                    bytes_field(type_proto::DIM_PARAM, b"n")
                } else {
                    varint_field(type_proto::DIM_VALUE, d as u64)
                };
                shape_proto.extend(bytes_field(type_proto::DIM, &dim));
            }
            tensor_type.extend(bytes_field(type_proto::SHAPE, &shape_proto));
        }
        let mut info = bytes_field(value_info::NAME, name.as_bytes());
        info.extend(bytes_field(value_info::TYPE, &bytes_field(type_proto::TENSOR_TYPE, &tensor_type)));
        info
    };
    g.extend(bytes_field(graph_field::INPUT, &info(input, Some(shape))));
    for output in outputs {
        g.extend(bytes_field(graph_field::OUTPUT, &info(output, None)));
    }
    let mut m = varint_field(model_field::IR_VERSION, 8);
    m.extend(bytes_field(model_field::OPSET_IMPORT, &varint_field(opset::VERSION, 18)));
    m.extend(bytes_field(model_field::GRAPH, &g));
    m
}

/// A stored tensor's dims and values.
type Stored = (Vec<u64>, Vec<f32>);

/// A stored float tensor of at most 4096 values (raw or `float_data`): dims and values.
fn small_float(tensor: &[u8]) -> Result<Option<Stored>, GraphError> {
    let Some((dims, Values::Raw(bytes))) = stored_as(tensor, elem::FLOAT)? else { return Ok(None) };
    let count: u64 = dims.iter().product();
    if count > 4096 {
        return Ok(None);
    }
    let values: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok((values.len() as u64 == count).then_some((dims, values)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fusion::{nodes_of, ops_of};
    use crate::wire::fields;

    fn op(op: &str, inputs: &[&str], output: &str) -> Vec<u8> {
        crate::wire::build::op(op, inputs, output, &[])
    }

    fn stored(name: &str, dims: &[i64], values: &[f32]) -> Vec<u8> {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        bytes_field(graph_field::INITIALIZER, &tensor(name, dims, elem::FLOAT, &raw))
    }

    /// A Snake chain on `x` (its sum read by `y`), and one whose `Sin` output is also read elsewhere.
    fn model() -> Vec<u8> {
        let mut g = Vec::new();
        for (p, x, extra) in [("a", "x", false), ("b", "z", true)] {
            let n = |s: &str| format!("{p}{s}");
            g.extend(op("Mul", &["alpha", x], &n("scaled")));
            g.extend(op("Sin", &[&n("scaled")], &n("sin")));
            g.extend(op("Pow", &[&n("sin"), "two"], &n("squared")));
            g.extend(op("Mul", &["inverse", &n("squared")], &n("term")));
            g.extend(op("Add", &[x, &n("term")], &n("sum")));
            if extra {
                g.extend(op("Relu", &[&n("sin")], &n("also")));
            }
        }
        g.extend(stored("alpha", &[1, 2, 1], &[2.0, 3.0]));
        g.extend(stored("inverse", &[1, 2, 1], &[0.5, 1.0 / 3.0]));
        g.extend(stored("two", &[], &[2.0]));
        crate::wire::build::model(&g)
    }

    #[test]
    fn a_snake_chain_becomes_one_node_and_the_rest_stays() {
        let (out, count) = rewrite(&model()).unwrap();
        assert_eq!(count, 1);
        let nodes = nodes_of(&out);
        assert_eq!(ops_of(&nodes), "Snake Mul Sin Pow Mul Add Relu");
        assert_eq!((nodes[0].domain.as_str(), nodes[0].inputs.join(" ")), (DOMAIN, "x alpha inverse".into()));
        assert_eq!(nodes[0].outputs, ["asum"], "the fused node ends in the chain's own output");
        let g = graph(&out).unwrap();
        let stored: Vec<String> = fields(&g)
            .unwrap()
            .iter()
            .filter(|f| f.number == graph_field::INITIALIZER)
            .map(|f| name_of(f.payload.unwrap(), tensor_field::NAME).unwrap())
            .collect();
        assert_eq!(stored, ["alpha", "inverse", "two"], "the exponent is kept while the other chain reads it");
        let opsets: Vec<String> = fields(&out)
            .unwrap()
            .iter()
            .filter(|f| f.number == model_field::OPSET_IMPORT)
            .map(|f| name_of(f.payload.unwrap(), opset::DOMAIN).unwrap())
            .collect();
        assert_eq!(opsets, [DOMAIN], "the model declares the domain");
    }

    /// A norm of `x0` (`d = x0 − mean`, `d / divisor`) whose normalized values `branches` Snake
    /// chains read, each through its own style (`gain{p}`, `bias{p}`); graph fields.
    fn norm_and_branches(branches: &[&str]) -> Vec<u8> {
        let mut g = Vec::new();
        g.extend(op("Sub", &["x0", "mean"], "d"));
        g.extend(op("Div", &["d", "divisor"], "normed"));
        for p in branches {
            let n = |s: &str| format!("{p}{s}");
            g.extend(op("Mul", &[&n("gain"), "normed"], &n("scaled_norm")));
            g.extend(op("Add", &[&n("scaled_norm"), &n("bias")], &n("x")));
            g.extend(op("Mul", &["alpha", &n("x")], &n("scaled")));
            g.extend(op("Sin", &[&n("scaled")], &n("sin")));
            g.extend(op("Pow", &[&n("sin"), "two"], &n("squared")));
            g.extend(op("Mul", &["inverse", &n("squared")], &n("term")));
            g.extend(op("Add", &[&n("x"), &n("term")], &n("sum")));
        }
        g.extend(stored("alpha", &[1, 2, 1], &[2.0, 3.0]));
        g.extend(stored("inverse", &[1, 2, 1], &[0.5, 1.0 / 3.0]));
        g.extend(stored("two", &[], &[2.0]));
        g
    }

    #[test]
    fn an_instance_norm_joins_the_chains_that_read_it() {
        for branches in [&["a"][..], &["a", "b", "c"]] {
            let (out, count) = rewrite(&bytes_field(model_field::GRAPH, &norm_and_branches(branches))).unwrap();
            assert_eq!(count, branches.len());
            let nodes = nodes_of(&out);
            assert_eq!(nodes.len(), branches.len(), "one node per branch, the shared subtraction and divide gone");
            for (node, p) in nodes.iter().zip(branches) {
                assert_eq!(node.op, NORM_SNAKE);
                assert_eq!(node.inputs.join(" "), format!("x0 mean divisor {p}gain {p}bias alpha inverse"));
                assert_eq!(node.outputs, [format!("{p}sum")]);
            }
        }
    }

    #[test]
    fn a_norm_something_else_reads_stays_beside_the_fused_chain() {
        let mut g = norm_and_branches(&["a"]);
        g.extend(op("Relu", &["normed"], "seen"));
        let (out, count) = rewrite(&bytes_field(model_field::GRAPH, &g)).unwrap();
        assert_eq!(count, 1);
        assert_eq!(ops_of(&nodes_of(&out)), "Sub Div NormSnake Relu");
    }

    #[test]
    fn a_graph_without_snake_chains_is_copied_as_it_was() {
        let g = op("Sin", &["x"], "y");
        let model = bytes_field(model_field::GRAPH, &g);
        let (out, count) = rewrite(&model).unwrap();
        assert_eq!(count, 0);
        assert_eq!(out, model);
        assert!(rewrite(&[0xff]).is_err(), "a broken file is an error");
    }
}
