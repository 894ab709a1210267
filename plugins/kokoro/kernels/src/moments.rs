//! `Moments`: an instance norm's statistics — each channel's mean over time and
//! `sqrt(mean((x − mean)²) + ε)` — in two passes over each row of `x`, where the six nodes it
//! replaces make four passes and write and read back a full-size tensor of squares.
//!
//! The sums are added in the order ONNX Runtime's `ReduceMean` adds them (Eigen's vectorized
//! sum in the runtime's x86-64 build: 4-float packets from the first 16-byte-aligned element,
//! two running packets, the ends added one by one), so both outputs are the nodes' to the last
//! bit. The order belongs to the library's build, so [`matches_runtime`] runs the nodes both ways
//! at load, and the graph is rewritten only where every bit agrees.

use chorus_kokoro_graph::moments::chain_model;
use chorus_kokoro_graph::schema::chorus::MOMENTS;
use ort::operator::{BoxedKernel, ComputeContext, KernelContext, Operator, OperatorInput, OperatorOutput};
use ort::session::builder::SessionBuilder;
use ort::value::TensorElementType;

use crate::ops::{Shared, kernel, par_tasks, runtime_outputs, same_bits};

/// Inputs `x` `[1, C, T]` and ε (one float); outputs the mean and the divisor, `[1, C, 1]` each.
pub struct Moments;

impl Operator for Moments {
    type Kernel<'attr> = BoxedKernel<'attr>;

    fn name(&self) -> &str {
        MOMENTS
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        [OperatorInput::required(TensorElementType::Float32), OperatorInput::required(TensorElementType::Float32)]
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(TensorElementType::Float32), OperatorOutput::required(TensorElementType::Float32)]
    }

    fn create_kernel<'attr>(&self, _: &KernelContext<'attr>) -> ort::Result<Self::Kernel<'attr>> {
        Ok(kernel(MOMENTS, compute))
    }
}

fn compute(ctx: &ComputeContext) -> ort::Result<()> {
    let input = |i: usize| ctx.input(i)?.ok_or_else(|| ort::Error::new("Moments: an input is missing"));
    let (x, epsilon) = (input(0)?, input(1)?);
    let (shape, x) = x.try_extract_tensor::<f32>()?;
    let &[1, channels, len] = &shape[..] else {
        return Err(ort::Error::new(format!("Moments: input {shape:?} is not [1, C, T]")));
    };
    let (channels, len) = (channels as usize, len as usize);
    if len == 0 {
        return Err(ort::Error::new(format!("Moments: input {shape:?} is empty")));
    }
    let &[epsilon] = epsilon.try_extract_tensor::<f32>()?.1 else {
        return Err(ort::Error::new("Moments: ε must be one value"));
    };
    let stats = [1, channels as i64, 1];
    let mut mean = ctx.output(0, stats.to_vec())?.ok_or_else(|| ort::Error::new("Moments: no mean output"))?;
    let mut divisor = ctx.output(1, stats.to_vec())?.ok_or_else(|| ort::Error::new("Moments: no divisor output"))?;
    let (means, divisors) = (
        Shared(mean.try_extract_tensor_mut::<f32>()?.1.as_mut_ptr()),
        Shared(divisor.try_extract_tensor_mut::<f32>()?.1.as_mut_ptr()),
    );
    let (means, divisors) = (&means, &divisors);
    par_tasks(ctx, MOMENTS, channels, move |c| {
        let (m, d) = row(&x[c * len..(c + 1) * len], c * len, epsilon);
        // SAFETY: each channel `c` is one value of each output, written by this task alone.
        unsafe {
            *means.0.add(c) = m;
            *divisors.0.add(c) = d;
        }
    })
}

/// One channel's mean and divisor. `offset` is the row's place in its tensor: the squares the
/// nodes would write lie in a tensor of their own, whose start the runtime aligns to 64 bytes.
fn row(x: &[f32], offset: usize, epsilon: f32) -> (f32, f32) {
    let count = x.len() as f32;
    let mean = eigen_sum(x, aligned_start(x.as_ptr() as usize, x.len()), |v| v) / count;
    let variance = eigen_sum(x, (PACKET - offset % PACKET) % PACKET, |v| {
        let d = v - mean;
        d * d
    }) / count;
    (mean, (variance + epsilon).sqrt())
}

/// Floats per packet (SSE).
const PACKET: usize = 4;

/// The index of the first element of a row at `address` that lies on a packet boundary (`n`
/// if none does, as for a row whose floats are not even 4-byte aligned).
fn aligned_start(address: usize, n: usize) -> usize {
    if address % 4 != 0 {
        return n;
    }
    ((PACKET * 4 - address % (PACKET * 4)) % (PACKET * 4) / 4).min(n)
}

/// `f(x[0]) + … + f(x[n − 1])` in the order of Eigen's vectorized `sum()` with packets aligned
/// from `start`: two running packets over pairs of packets (here one 8-lane array, which the
/// compiler keeps in a vector), a last single packet, the packet's four lanes added as
/// `(l0 + l2) + (l1 + l3)`, then the elements before `start` and after the last packet one by
/// one. Without a whole packet, the elements in order.
#[inline(always)]
fn eigen_sum(x: &[f32], start: usize, f: impl Fn(f32) -> f32) -> f32 {
    let n = x.len();
    let start = start.min(n);
    let whole = (n - start) / PACKET * PACKET;
    if whole == 0 {
        return x[1..].iter().fold(f(x[0]), |sum, &v| sum + f(v));
    }
    let pairs = (n - start) / (2 * PACKET) * (2 * PACKET);
    let packet = |at: usize| -> [f32; PACKET] { std::array::from_fn(|l| f(x[at + l])) };
    let mut first = packet(start);
    if whole > PACKET {
        let mut chunks = x[start..start + pairs].chunks_exact(2 * PACKET);
        let lanes = |c: &[f32]| -> [f32; 2 * PACKET] { std::array::from_fn(|l| f(c[l])) };
        let mut both = lanes(chunks.next().expect("whole > PACKET: at least one pair"));
        for chunk in chunks {
            let next = lanes(chunk);
            both = std::array::from_fn(|l| both[l] + next[l]);
        }
        first = std::array::from_fn(|l| both[l] + both[l + PACKET]);
        if whole > pairs {
            let last = packet(start + pairs);
            first = std::array::from_fn(|l| first[l] + last[l]);
        }
    }
    let mut sum = (first[0] + first[2]) + (first[1] + first[3]);
    for &v in x[..start].iter().chain(&x[start + whole..]) {
        sum += f(v);
    }
    sum
}

/// Whether [`Moments`] computes what ONNX Runtime computes for the six nodes, bit for bit, with
/// the library and CPU at hand: rows of several lengths (shorter than a packet, and longer than
/// Kokoro's), each starting at another alignment, with values like Kokoro's, run both ways.
pub fn matches_runtime(mut builder: SessionBuilder) -> bool {
    const EPSILON: f32 = 1e-5;
    let mut next = crate::ops::noise(0x9e37_79b9);
    [(3, 1), (5, 3), (6, 7), (4, 35), (7, 1001), (3, 24_007)].into_iter().all(|(channels, len)| {
        let x: Vec<f32> = (0..channels * len).map(|i| next() * (1 << (i % 5)) as f32 + 0.25).collect();
        let model = chain_model([1, channels as i64, len as i64], EPSILON);
        let input = ("x", &[1, channels, len][..], &x[..]);
        let Some([means, divisors]) =
            runtime_outputs(&mut builder, &model, input, &["mean", "divisor"]).and_then(|v| <[_; 2]>::try_from(v).ok())
        else {
            return false;
        };
        let (ours_means, ours_divisors): (Vec<f32>, Vec<f32>) =
            (0..channels).map(|c| row(&x[c * len..(c + 1) * len], c * len, EPSILON)).unzip();
        same_bits(&means, &ours_means) && same_bits(&divisors, &ours_divisors)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sum_adds_every_element_once_whatever_the_alignment() {
        for n in [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 1001] {
            for start in 0..4 {
                let x: Vec<f32> = (1..=n).map(|i| i as f32).collect();
                let sum = eigen_sum(&x, start, |v| v);
                assert_eq!(sum, (n * (n + 1) / 2) as f32, "{n} elements from {start}");
            }
        }
    }

    #[test]
    fn the_statistics_are_the_mean_and_the_deviation() {
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let (mean, divisor) = row(&x, 0, 0.0);
        assert_eq!(mean, 5.0);
        assert!((divisor - (60.0f32 / 9.0).sqrt()).abs() < 1e-6, "{divisor}");
    }

    #[test]
    fn packets_start_at_the_first_sixteen_byte_boundary() {
        assert_eq!(aligned_start(64, 10), 0);
        assert_eq!(aligned_start(68, 10), 3);
        assert_eq!(aligned_start(76, 10), 1);
        assert_eq!(aligned_start(76, 0), 0);
        assert_eq!(aligned_start(66, 10), 10, "not even float-aligned: no packets");
    }
}
