//! The kernel of Kokoro's fused Snake activations, `x + sin(αx)² / α`, on ONNX Runtime's thread
//! pool.
//!
//! The vocoder's Snake is five elementwise nodes (`Mul(α, x)`, `Sin`, `Pow(·, 2)`, `Mul(1/α, ·)`,
//! `Add(x, ·)`); ONNX Runtime runs `Sin` on one thread and each node is a pass over memory:
//! together about a quarter of a decode. The graph crate's `snake::rewrite` replaces each chain
//! with one `chorus.Snake(x, α, 1/α)` node — or `chorus.NormSnake`, with the instance norm's last
//! four nodes before it (`gain · ((x − mean) / divisor) + bias`) — and [`Snake`] computes it in
//! one pass, rows split across the session's threads.
//!
//! The arithmetic is the nodes', in their order, and the sine is the one ONNX Runtime's `Sin`
//! computes (Eigen's vectorized sine, built without fused multiply-add), so the output is the
//! same to the last bit. It has to be: the model requantizes every activation dynamically, so
//! one changed last bit moves whole tensors' rounding and the audio ends ~20 dB from the
//! original's. The sine belongs to the library's build, so [`matches_runtime`] runs a chain both
//! ways at load and the rewrite is used only where every bit agrees. Sessions register the
//! operators with [`crate::domain`].

use chorus_kokoro_graph::schema::chorus::{NORM_SNAKE, SNAKE};
use chorus_kokoro_graph::snake::chain_model;
use ort::operator::{BoxedKernel, ComputeContext, KernelContext, Operator, OperatorInput, OperatorOutput};
use ort::session::builder::SessionBuilder;
use ort::value::TensorElementType;

use crate::ops::{Shared, runtime_outputs, same_bits};

/// Whether [`Snake`] computes what ONNX Runtime computes for the five nodes, bit for bit, with
/// the library and CPU at hand: a small chain on values like Kokoro's, run both ways. (The sine
/// matches the runtime's x86-64 build; a runtime built otherwise keeps the five nodes.) The
/// norm's subtraction, divide, multiply and add that `NormSnake` adds are single IEEE
/// operations, the same in any build.
pub fn matches_runtime(mut builder: SessionBuilder) -> bool {
    const CHANNELS: usize = 4;
    const LEN: usize = 4096;
    let alpha = [0.3f32, 1.0, 2.7, 9.5];
    let inverse = alpha.map(|a| 1.0 / a);
    // Values over ±64, spread across binades, from a fixed generator.
    let mut next = crate::ops::noise(0x2545_f491);
    let x: Vec<f32> = (0..CHANNELS * LEN).map(|_| next()).enumerate().map(|(i, v)| v * (1 << (i % 7)) as f32).collect();
    let model = chain_model(&alpha, &inverse, [1, CHANNELS as i64, LEN as i64]);
    let input = ("x", &[1, CHANNELS, LEN][..], &x[..]);
    let Some([runtime]) = runtime_outputs(&mut builder, &model, input, &["y"]).and_then(|v| <[_; 1]>::try_from(v).ok())
    else {
        return false;
    };
    let mut ours = vec![0f32; x.len()];
    for (c, (x, y)) in x.chunks(LEN).zip(ours.chunks_mut(LEN)).enumerate() {
        snake_row::<false>(x, y, Channel { alpha: alpha[c], inverse: inverse[c], ..Channel::PLAIN });
    }
    same_bits(&runtime, &ours)
}

/// The fused operator: `y = x + sin(α·x)² · (1/α)`, α and 1/α one per channel, inputs `x, α,
/// 1/α` (`Snake`). With `NORM`, the instance norm and style before it come first,
/// `x' = gain · ((x − mean) / divisor) + bias` (one mean, divisor, gain and bias per channel),
/// inputs `x, mean, divisor, gain, bias, α, 1/α` (`NormSnake`).
pub struct Snake<const NORM: bool>;

impl<const NORM: bool> Operator for Snake<NORM> {
    type Kernel<'attr> = BoxedKernel<'attr>;

    fn name(&self) -> &str {
        if NORM { NORM_SNAKE } else { SNAKE }
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        (0..if NORM { 7 } else { 3 }).map(|_| OperatorInput::required(TensorElementType::Float32))
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(TensorElementType::Float32)]
    }

    fn create_kernel<'attr>(&self, _: &KernelContext<'attr>) -> ort::Result<Self::Kernel<'attr>> {
        Ok(crate::ops::kernel(if NORM { NORM_SNAKE } else { SNAKE }, compute::<NORM>))
    }
}

/// One channel's parameters.
#[derive(Clone, Copy)]
struct Channel {
    alpha: f32,
    inverse: f32,
    mean: f32,
    divisor: f32,
    gain: f32,
    bias: f32,
}

impl Channel {
    /// No norm before the Snake.
    const PLAIN: Channel = Channel { alpha: 1.0, inverse: 1.0, mean: 0.0, divisor: 1.0, gain: 1.0, bias: 0.0 };
}

fn compute<const NORM: bool>(ctx: &ComputeContext) -> ort::Result<()> {
    let input = |i: usize| ctx.input(i)?.ok_or_else(|| ort::Error::new("Snake: an input is missing"));
    let x = input(0)?;
    let (shape, x) = x.try_extract_tensor::<f32>()?;
    let channels = shape.get(1).copied().unwrap_or(0) as usize;
    let params: Vec<_> = (1..if NORM { 7 } else { 3 }).map(input).collect::<ort::Result<_>>()?;
    let mut per_channel = Vec::with_capacity(params.len());
    for p in &params {
        let (_, v) = p.try_extract_tensor::<f32>()?;
        if shape.len() != 3 || !(v.len() == channels || v.len() == 1) {
            return Err(ort::Error::new(format!("Snake: x {shape:?} needs its parameters per channel")));
        }
        per_channel.push(v);
    }
    let at = |v: &[f32], c: usize| v[if v.len() == 1 { 0 } else { c }];
    let channel = |c: usize| match per_channel[..] {
        [mean, divisor, gain, bias, alpha, inverse] => Channel {
            alpha: at(alpha, c),
            inverse: at(inverse, c),
            mean: at(mean, c),
            divisor: at(divisor, c),
            gain: at(gain, c),
            bias: at(bias, c),
        },
        [alpha, inverse, ..] => Channel { alpha: at(alpha, c), inverse: at(inverse, c), ..Channel::PLAIN },
        _ => unreachable!("two or six parameters"),
    };
    let len = x.len() / channels.max(1);
    let mut output = ctx.output(0, shape.to_vec())?.ok_or_else(|| ort::Error::new("Snake: no output"))?;
    let (_, y) = output.try_extract_tensor_mut::<f32>()?;
    let rows = Shared(y.as_mut_ptr());
    let rows = &rows;
    crate::ops::par_tasks(ctx, SNAKE, x.len() / len.max(1), move |r| {
        // SAFETY: each index `r` is one row of the output, written by this call alone.
        let y = unsafe { std::slice::from_raw_parts_mut(rows.0.add(r * len), len) };
        snake_row::<NORM>(&x[r * len..(r + 1) * len], y, channel(r % channels));
    })
}

/// One row, with the widest vectors this CPU has.
fn snake_row<const NORM: bool>(x: &[f32], y: &mut [f32], channel: Channel) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { row_avx512::<NORM>(x, y, channel) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { row_avx2::<NORM>(x, y, channel) };
        }
    }
    row::<NORM>(x, y, channel);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn row_avx512<const NORM: bool>(x: &[f32], y: &mut [f32], channel: Channel) {
    row::<NORM>(x, y, channel);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn row_avx2<const NORM: bool>(x: &[f32], y: &mut [f32], channel: Channel) {
    row::<NORM>(x, y, channel);
}

/// The same operations in the same order as the nodes it replaces.
#[inline(always)]
fn row<const NORM: bool>(x: &[f32], y: &mut [f32], c: Channel) {
    let input = |x: f32| if NORM { c.gain * ((x - c.mean) / c.divisor) + c.bias } else { x };
    let mut far = false;
    for (y, &x) in y.iter_mut().zip(x) {
        let x = input(x);
        let u = c.alpha * x;
        far |= is_far(u);
        let s = sin(u);
        *y = x + c.inverse * (s * s);
    }
    if far {
        for (y, &x) in y.iter_mut().zip(x) {
            let x = input(x);
            let u = c.alpha * x;
            if is_far(u) {
                let s = sin_far(u);
                *y = x + c.inverse * (s * s);
            }
        }
    }
}

/// Whether `u` needs [`sin_far`].
#[inline(always)]
fn is_far(u: f32) -> bool {
    u.abs() >= HUGE || u.is_nan()
}

/// From here on the runtime reduces by π/2 another way ([`sin_far`]).
const HUGE: f32 = 25966.0;
const ROUND: f32 = 12_582_912.0; // 1.5·2²³: adding it rounds to an integer in the low bits

/// `sin(u)` as ONNX Runtime's `Sin` computes it (Eigen's vectorized sine, built without fused
/// multiply-add), so the fused node's output is the five nodes' bit for bit: `u = kπ/2 + r` with
/// π/2 in four parts, then the sine or cosine polynomial of `r` by `k`'s parity, its sign by
/// `k`'s second bit. [`matches_runtime`] checks the library at hand agrees. For `|u| < HUGE`.
#[inline(always)]
fn sin(u: f32) -> f32 {
    let a = u.abs();
    let scaled = a * f32::from_bits(0x3f22_f983); // 2/π
    let rounded = scaled + ROUND;
    let k = rounded - ROUND;
    let mut r = a;
    for part in [0xbfc9_0000, 0xb9fd_c000, 0x342e_e000, 0x2e74_b9ee] {
        r += k * f32::from_bits(part);
    }
    polynomial(u, r, rounded.to_bits())
}

/// `sin(u)` for `|u| ≥ HUGE` or not finite: the reduction in double precision (the runtime's is
/// exact to the last bit there too; these values do not occur in Kokoro).
#[cold]
fn sin_far(u: f32) -> f32 {
    if !u.is_finite() {
        return f32::NAN;
    }
    let a = f64::from(u.abs());
    let k = (a / std::f64::consts::FRAC_PI_2).round();
    polynomial(u, (a - k * std::f64::consts::FRAC_PI_2) as f32, k as i64 as u32)
}

/// The runtime's sine of `u` from `r = |u| − kπ/2` and `k`'s low bits.
#[inline(always)]
fn polynomial(u: f32, r: f32, k: u32) -> f32 {
    let madd = |p: f32, q: f32, c: u32| p * q + f32::from_bits(c);
    let r2 = r * r;
    let mut cos = f32::from_bits(0x37cc_730b);
    for c in [0xbab6_036e, 0x3d2a_aa9e, 0xbf00_0000, 0x3f80_0000] {
        cos = madd(cos, r2, c);
    }
    let mut sin = f32::from_bits(0xb94d_70ca);
    for c in [0x3c08_85d3, 0xbe2a_aaa8] {
        sin = madd(sin, r2, c);
    }
    let sin = (sin * r2) * r + r;
    let value = if k & 1 == 0 { sin } else { cos };
    let sign = (u.to_bits() ^ (k << 30)) & 0x8000_0000;
    f32::from_bits(value.to_bits() ^ sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sine_is_within_three_ten_millionths() {
        let mut worst = 0f64;
        for i in -3_000_000..=3_000_000 {
            let u = i as f32 * 1e-2; // ±30000: both reductions
            let ours = if is_far(u) { sin_far(u) } else { sin(u) };
            worst = worst.max((f64::from(ours) - f64::from(u).sin()).abs());
        }
        assert!(worst < 3e-7, "worst error {worst}");
    }

    #[test]
    fn a_row_matches_the_formula_far_out_and_for_non_finite_values() {
        let x = [0.0, 0.5, -3.0, 1e5, f32::INFINITY, f32::NAN];
        let mut y = [0.0; 6];
        snake_row::<false>(&x, &mut y, Channel { alpha: 2.0, inverse: 0.5, ..Channel::PLAIN });
        for (&x, &y) in x.iter().zip(&y) {
            let exact = (x as f64) + ((2.0 * x as f64).sin().powi(2)) * 0.5;
            let close = (y as f64 - exact).abs() <= 1e-6 * exact.abs().max(1.0);
            assert!(y.is_nan() == exact.is_nan() && (y.is_nan() || close), "{x}: {y} vs {exact}");
        }
    }
}
