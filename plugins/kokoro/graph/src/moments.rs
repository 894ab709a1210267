//! The instance norms' statistics, each computed by one chorus node.
//!
//! Kokoro's decoder normalizes ~50 tensors `x` `[1, C, T]` per channel over time, exported as
//! `mean = ReduceMean(x)`, `d = x − mean`, `ReduceMean(d · d)`, `+ ε`, `Sqrt`: two passes over
//! `x` and two more over full-size intermediates (`d · d` is written and read back), about a
//! tenth of a decode. [`rewrite`] replaces the mean and everything after the subtraction with one
//! `chorus.Moments(x, ε) → (mean, divisor)` node; the subtraction stays for whoever else reads
//! it (the Snake pass, [`crate::snake`], takes it into its `NormSnake`). The kernels crate
//! computes both sums in the runtime's order, so the values are the same to the last bit;
//! [`chain_model`] is the nodes alone, for checking that against the runtime at hand.

use crate::GraphError;
use crate::fusion::{Fused, View, apply};
use crate::schema::chorus::{DOMAIN, MOMENTS};
use crate::schema::{elem, graph as graph_field};
use crate::snake::{runnable, stored_floats};
use crate::wire::{bytes_field, graph, node, tensor};

/// Names the rewrite (part of the derived files' names, so a changed rewrite writes new files).
pub const VERSION: &str = "moments-1";

/// `model` with each instance norm's statistics as one [`MOMENTS`] node; the number replaced.
///
/// Only the exact chain is touched: both means over the last axis of a 3-D tensor (stored axes
/// `[2]`, dimensions kept), `d · d` of the subtraction's own output, ε a stored float, each
/// intermediate read by the next node alone.
pub fn rewrite(model: &[u8]) -> Result<(Vec<u8>, usize), GraphError> {
    let graph_bytes = graph(model)?;
    let view = View::new(&graph_bytes)?;
    let nodes = &view.nodes;
    let over_time = |mean: usize| {
        let n = &nodes[mean];
        n.ints("keepdims").is_none_or(|k| k == [1])
            && n.inputs.get(1).and_then(|axes| view.stored_ints(axes)).is_some_and(|a| a == [2])
    };
    let mut fused = Fused::default();
    for (m, mean) in nodes.iter().enumerate() {
        let chain = (|| {
            if !mean.is("ReduceMean") || !over_time(m) {
                return None;
            }
            let (x, average) = (mean.inputs.first()?, &mean.outputs[0]);
            let sub = view.only_reader(average, "Sub")?;
            if nodes[sub].inputs != [x.clone(), average.clone()] {
                return None;
            }
            let d = &nodes[sub].outputs[0];
            let square = view
                .readers(d)
                .iter()
                .copied()
                .find(|&r| nodes[r].is("Mul") && nodes[r].inputs == [d.clone(), d.clone()])?;
            let variance = view.only_reader(&nodes[square].outputs[0], "ReduceMean")?;
            if !over_time(variance) || nodes[variance].inputs.first() != Some(&nodes[square].outputs[0]) {
                return None;
            }
            let add = view.only_reader(&nodes[variance].outputs[0], "Add")?;
            let epsilon = nodes[add].inputs.iter().find(|i| **i != nodes[variance].outputs[0])?;
            if view.stored_floats(epsilon).is_none_or(|v| v.len() != 1) {
                return None;
            }
            let sqrt = view.only_reader(&nodes[add].outputs[0], "Sqrt")?;
            let outputs = [average.as_str(), nodes[sqrt].outputs[0].as_str()];
            Some(([square, variance, add, sqrt], node(MOMENTS, &[x, epsilon], &outputs, &[], DOMAIN)))
        })();
        if let Some((chain, node)) = chain {
            // The mean's place: before the subtraction that reads it.
            fused.add(chain, m, node);
        }
    }
    Ok((apply(model, &view, &fused)?, fused.len()))
}

/// A model of one norm's statistics as Kokoro's export writes them: `x` of `shape` in, `mean` and
/// `divisor` out.
pub fn chain_model(shape: [i64; 3], epsilon: f32) -> Vec<u8> {
    let mut g = Vec::new();
    for (op, inputs, output) in [
        ("ReduceMean", &["x", "axes"][..], "mean"),
        ("Sub", &["x", "mean"], "d"),
        ("Mul", &["d", "d"], "squared"),
        ("ReduceMean", &["squared", "axes"], "variance"),
        ("Add", &["variance", "epsilon"], "shifted"),
        ("Sqrt", &["shifted"], "divisor"),
    ] {
        g.extend(bytes_field(graph_field::NODE, &node(op, inputs, &[output], &[], "")));
    }
    g.extend(bytes_field(graph_field::INITIALIZER, &tensor("axes", &[1], elem::INT64, &2i64.to_le_bytes())));
    g.extend(stored_floats("epsilon", &[], &[epsilon]));
    runnable(g, ("x", &shape), &["mean", "divisor"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fusion::{nodes_of, ops_of};
    use crate::wire::build::{self, op};

    /// An instance norm of `{p}x` (`ReduceMean, Sub, Mul, ReduceMean, Add, Sqrt, Div`), read by
    /// `readers` nodes `{p}r0`, `{p}r1`, …
    fn norm(g: &mut Vec<u8>, p: &str, readers: usize) {
        let n = |s: &str| format!("{p}{s}");
        g.extend(op("ReduceMean", &[&n("x"), "axes"], &n("mean"), &[]));
        g.extend(op("Sub", &[&n("x"), &n("mean")], &n("d"), &[]));
        g.extend(op("Mul", &[&n("d"), &n("d")], &n("sq"), &[]));
        g.extend(op("ReduceMean", &[&n("sq"), "axes"], &n("var"), &[]));
        g.extend(op("Add", &[&n("var"), "eps"], &n("var_eps"), &[]));
        g.extend(op("Sqrt", &[&n("var_eps")], &n("divisor"), &[]));
        g.extend(op("Div", &[&n("d"), &n("divisor")], &n("normed"), &[]));
        for r in 0..readers {
            g.extend(op("Mul", &[&format!("{p}gain{r}"), &n("normed")], &format!("{p}r{r}"), &[]));
        }
    }

    fn stored(g: &mut Vec<u8>, axes: i64) {
        g.extend(bytes_field(graph_field::INITIALIZER, &tensor("axes", &[1], elem::INT64, &axes.to_le_bytes())));
        g.extend(stored_floats("eps", &[], &[1e-5]));
    }

    #[test]
    fn a_norm_s_statistics_become_one_node_and_its_subtraction_stays() {
        let mut g = Vec::new();
        norm(&mut g, "a", 3);
        norm(&mut g, "b", 1);
        g.extend(op("Identity", &["bsq"], "seen", &[])); // b's squares are read elsewhere: left alone
        stored(&mut g, 2);
        let (out, count) = rewrite(&build::model(&g)).unwrap();
        assert_eq!(count, 1);
        let nodes = nodes_of(&out);
        assert_eq!(
            ops_of(&nodes),
            "Moments Sub Div Mul Mul Mul ReduceMean Sub Mul ReduceMean Add Sqrt Div Mul Identity"
        );
        let moments = &nodes[0];
        assert_eq!((moments.domain.as_str(), moments.inputs.join(" ")), (DOMAIN, "ax eps".into()));
        assert_eq!(moments.outputs, ["amean", "adivisor"], "the chain's own outputs");
        assert_eq!(nodes[1].inputs, ["ax", "amean"]);
        assert_eq!(nodes[2].inputs, ["ad", "adivisor"]);
        assert_eq!(rewrite(&out).unwrap().1, 0, "nothing left to fuse");
    }

    #[test]
    fn a_mean_over_another_axis_is_left_alone() {
        let mut g = Vec::new();
        norm(&mut g, "a", 1);
        stored(&mut g, 1);
        let model = build::model(&g);
        assert_eq!(rewrite(&model).unwrap(), (model, 0));
    }
}
