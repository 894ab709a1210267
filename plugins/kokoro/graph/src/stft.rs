//! The vocoder's `STFT` node as chorus's `Stft`, which computes the same bits on the session's
//! threads (the runtime's runs on one): same inputs, same output.
//!
//! Only a node the kernel reproduces is touched: one-sided, a stored frame length of
//! [`LENGTHS`], a stored window of that length and a stored hop. [`chain_model`] is the node
//! alone, for checking the kernel against the runtime at hand.

use crate::GraphError;
use crate::fusion::{Fused, View, apply};
use crate::schema::chorus::{DOMAIN, STFT};
use crate::schema::{elem, graph as graph_field};
use crate::snake::{runnable, stored_floats};
use crate::wire::{bytes_field, graph, int_attr, node, tensor};

/// Names the rewrite (part of the derived files' names, so a changed rewrite writes new files).
pub const VERSION: &str = "stft-1";

/// Frame lengths the kernel computes as the runtime does: those it transforms with 64-point FFTs
/// (not a power of two, at most 31).
pub const LENGTHS: std::ops::RangeInclusive<usize> = 17..=31;

/// `model` with each such `STFT` node as a [`STFT`] node; the number replaced.
pub fn rewrite(model: &[u8]) -> Result<(Vec<u8>, usize), GraphError> {
    let graph_bytes = graph(model)?;
    let view = View::new(&graph_bytes)?;
    let mut fused = Fused::default();
    for (i, n) in view.nodes.iter().enumerate() {
        let fits = (|| {
            let [_, hop, window, length] = n.inputs.as_slice() else { return None };
            let length = match view.stored_ints(length)?.as_slice() {
                &[l] if l > 0 && LENGTHS.contains(&(l as usize)) && !(l as usize).is_power_of_two() => l as usize,
                _ => return None,
            };
            let hop_ok = matches!(view.stored_ints(hop)?.as_slice(), &[h] if h > 0);
            let window_ok = view.stored_floats(window)?.len() == length;
            Some(n.is("STFT") && n.ints("onesided") == Some(vec![1]) && hop_ok && window_ok)
        })();
        if fits == Some(true) {
            let inputs: Vec<&str> = n.inputs.iter().map(String::as_str).collect();
            fused.add([], i, node(STFT, &inputs, &[&n.outputs[0]], &[], DOMAIN));
        }
    }
    Ok((apply(model, &view, &fused)?, fused.len()))
}

/// A model of one one-sided `STFT` node: `signal` `[1, L]` in, `spectrum` out.
pub fn chain_model(window: &[f32], hop: i64, length: usize) -> Vec<u8> {
    let attributes = [int_attr("onesided", 1)];
    let inputs = ["signal", "hop", "window", "length"];
    let mut g = bytes_field(graph_field::NODE, &node("STFT", &inputs, &["spectrum"], &attributes, ""));
    let int =
        |name: &str, v: i64| bytes_field(graph_field::INITIALIZER, &tensor(name, &[], elem::INT64, &v.to_le_bytes()));
    g.extend(int("hop", hop));
    g.extend(int("length", length as i64));
    g.extend(stored_floats("window", &[window.len() as i64], window));
    runnable(g, ("signal", &[1, -1]), &["spectrum"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fusion::{nodes_of, ops_of};

    #[test]
    fn a_one_sided_stft_of_twenty_samples_becomes_chorus_s_and_others_stay() {
        let window = vec![0.5f32; 20];
        let (out, count) = rewrite(&chain_model(&window, 5, 20)).unwrap();
        assert_eq!(count, 1);
        let nodes = nodes_of(&out);
        assert_eq!((ops_of(&nodes), nodes[0].domain.as_str()), ("Stft".into(), DOMAIN));
        assert_eq!(nodes[0].inputs, ["signal", "hop", "window", "length"]);
        assert_eq!(nodes[0].outputs, ["spectrum"]);
        let power_of_two = chain_model(&[0.5; 16], 4, 16);
        assert_eq!(rewrite(&power_of_two).unwrap().1, 0, "the runtime's radix-2 path: left alone");
    }
}
