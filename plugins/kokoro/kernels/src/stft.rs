//! `Stft`: the vocoder's short-time Fourier transform (20-sample frames), as ONNX Runtime's `STFT`
//! computes it, on the session's threads and 16 frames at a time.
//!
//! The runtime's kernel runs on one thread and costs about a tenth of a decode. For a frame
//! length that is not a power of two it uses Bluestein's chirp-z transform over 64-point radix-2
//! FFTs in `std::complex<float>` (products `(ac − bd, ad + bc)`, no fused multiply-add), its
//! twiddles from the C library's `sinf`/`cosf`. This kernel does the same operations in the same
//! order for every output — frames side by side in vector lanes, and the inverse FFT's
//! butterflies whose results are never read left out — so the output is the node's bit for
//! bit. The twiddles come from the same C library (`f32::sin`/`cos`), and [`matches_runtime`]
//! runs a node both ways at load: the graph is rewritten only where every bit agrees.

use chorus_kokoro_graph::schema::chorus::STFT;
use chorus_kokoro_graph::stft::{LENGTHS, chain_model};
use ort::operator::{BoxedKernel, ComputeContext, KernelContext, Operator, OperatorInput, OperatorOutput};
use ort::session::builder::SessionBuilder;
use ort::value::TensorElementType;

use crate::ops::{Shared, kernel, par_tasks, runtime_outputs, same_bits};

/// The FFT's length: the power of two the runtime picks for frames of 17 to 31 samples.
const M: usize = 64;
/// Frames side by side.
const LANES: usize = 16;
/// Frames per task.
const FRAMES_PER_TASK: usize = 8 * LANES;

type Lanes = [f32; LANES];

/// Inputs as ONNX `STFT`'s: the signal `[B, L]` or `[B, L, 1]` (real), the hop, the window and
/// the frame length (its length, one of [`LENGTHS`]); output `[B, frames, bins, 2]`, one-sided.
pub struct Stft;

impl Operator for Stft {
    type Kernel<'attr> = BoxedKernel<'attr>;

    fn name(&self) -> &str {
        STFT
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        [
            OperatorInput::required(TensorElementType::Float32),
            OperatorInput::required(TensorElementType::Int64),
            OperatorInput::required(TensorElementType::Float32),
            OperatorInput::required(TensorElementType::Int64),
        ]
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(TensorElementType::Float32)]
    }

    fn create_kernel<'attr>(&self, _: &KernelContext<'attr>) -> ort::Result<Self::Kernel<'attr>> {
        Ok(kernel(STFT, compute))
    }
}

fn compute(ctx: &ComputeContext) -> ort::Result<()> {
    let input = |i: usize| ctx.input(i)?.ok_or_else(|| ort::Error::new("Stft: an input is missing"));
    let (signal, hop, window, length) = (input(0)?, input(1)?, input(2)?, input(3)?);
    let (shape, signal) = signal.try_extract_tensor::<f32>()?;
    let (&[hop], &[length]) = (hop.try_extract_tensor::<i64>()?.1, length.try_extract_tensor::<i64>()?.1) else {
        return Err(ort::Error::new("Stft: the hop and the frame length are one value each"));
    };
    let (_, window) = window.try_extract_tensor::<f32>()?;
    let (batch, len) = match shape[..] {
        [b, l] | [b, l, 1] => (b as usize, l as usize),
        _ => return Err(ort::Error::new(format!("Stft: signal {shape:?} is not [B, L] or [B, L, 1]"))),
    };
    let n = length as usize;
    if !LENGTHS.contains(&n) || window.len() != n || hop < 1 || len < n {
        return Err(ort::Error::new(format!(
            "Stft: frames of {length} (window {}), hop {hop}, signal {len}",
            window.len()
        )));
    }
    let hop = hop as usize;
    let tables = Tables::new(window);
    let (frames, bins) = ((len - n) / hop + 1, n / 2 + 1);
    let dims = vec![batch as i64, frames as i64, bins as i64, 2];
    let mut output = ctx.output(0, dims)?.ok_or_else(|| ort::Error::new("Stft: no output"))?;
    let (_, out) = output.try_extract_tensor_mut::<f32>()?;
    let shared = Shared(out.as_mut_ptr());
    let shared = &shared;
    let tasks = frames.div_ceil(FRAMES_PER_TASK);
    par_tasks(ctx, STFT, batch * tasks, move |i| {
        let (b, first) = (i / tasks, i % tasks * FRAMES_PER_TASK);
        let last = (first + FRAMES_PER_TASK).min(frames);
        let at = (b * frames + first) * bins * 2;
        // SAFETY: frames first..last of batch b, written by this task alone.
        let out = unsafe { std::slice::from_raw_parts_mut(shared.0.add(at), (last - first) * bins * 2) };
        tables.frames(&signal[b * len..(b + 1) * len], hop, first..last, out);
    })
}

/// `std::complex<float>`'s product.
#[inline(always)]
fn times((ar, ai): (f32, f32), (br, bi): (f32, f32)) -> (f32, f32) {
    (ar * br - ai * bi, ar * bi + ai * br)
}

/// `i`'s lowest `bits` bits reversed.
fn reversed(i: usize, bits: u32) -> usize {
    i.reverse_bits() >> (usize::BITS - bits)
}

/// A butterfly: its offset in the stage's spans and its two twiddles.
type Butterfly = (usize, (f32, f32), (f32, f32));

/// One stage of butterflies: its span, half of it, and each butterfly's offset and two twiddles.
struct Stage {
    span: usize,
    half: usize,
    butterflies: Vec<Butterfly>,
}

/// What every frame of one call shares.
struct Tables {
    window: Vec<f32>,
    chirp: Vec<(f32, f32)>,
    /// The chirp's conjugate, mirrored and transformed.
    filter: [(f32, f32); M],
    stages: Vec<Stage>,
    /// Which outputs of each stage the inverse transform reads later.
    needed: Vec<[bool; M]>,
}

impl Tables {
    fn new(window: &[f32]) -> Self {
        let n = window.len();
        let pi = std::f32::consts::PI;
        let chirp: Vec<(f32, f32)> = (0..n)
            .map(|k| {
                let angle = -pi * k as f32 * k as f32 / n as f32;
                (angle.cos(), angle.sin())
            })
            .collect();
        let bits = M.trailing_zeros();
        let step = -(2.0f32 * pi) / M as f32;
        let mut twiddles = [(0.0f32, 0.0f32); M];
        for i in 0..M {
            let angle = i as f32 * step;
            twiddles[reversed(i, bits)] = (angle.cos(), angle.sin());
        }
        let stages: Vec<Stage> = (1..=bits)
            .map(|c| {
                let (span, half) = (1 << c, 1 << (c - 1));
                let butterflies =
                    (0..half).map(|k| (k, twiddles[reversed(k, c)], twiddles[reversed(half + k, c)])).collect();
                Stage { span, half, butterflies }
            })
            .collect();
        let mut needed = vec![[false; M]; stages.len()];
        let mut read = [false; M];
        read[0] = true;
        for k in 1..n / 2 + 1 {
            read[M - k] = true;
        }
        for (s, stage) in stages.iter().enumerate().rev() {
            needed[s] = read;
            let mut before = [false; M];
            for j in (0..M).step_by(stage.span) {
                for k in 0..stage.half {
                    let used = read[j + k] || read[j + k + stage.half];
                    before[j + k] |= used;
                    before[j + k + stage.half] |= used;
                }
            }
            read = before;
        }
        let mut tables = Tables { window: window.to_vec(), chirp, filter: [(0.0, 0.0); M], stages, needed };
        let mut b = [(0.0f32, 0.0f32); M];
        for (k, &(re, im)) in tables.chirp.iter().enumerate() {
            b[k] = (re, -im);
        }
        for k in M - n + 1..M {
            b[k] = b[M - k];
        }
        let (mut re, mut im) = ([[0.0; LANES]; M], [[0.0; LANES]; M]);
        for (k, &(r, i)) in b.iter().enumerate() {
            (re[k][0], im[k][0]) = (r, i);
        }
        let (mut out_re, mut out_im) = ([[0.0; LANES]; M], [[0.0; LANES]; M]);
        tables.fft(&re, &im, &mut out_re, &mut out_im, false);
        for k in 0..M {
            tables.filter[k] = (out_re[k][0], out_im[k][0]);
        }
        tables
    }

    /// The runtime's radix-2 FFT of `M` points, on each lane; with `inverse`, only the outputs
    /// the one-sided result reads (the runtime's inverse uses the forward twiddles too).
    fn fft(&self, re: &[Lanes; M], im: &[Lanes; M], out_re: &mut [Lanes; M], out_im: &mut [Lanes; M], inverse: bool) {
        let bits = M.trailing_zeros();
        for i in 0..M {
            let from = reversed(i, bits);
            for l in 0..LANES {
                let v = times(times((1.0, 0.0), (re[from][l], im[from][l])), (1.0, 0.0));
                (out_re[i][l], out_im[i][l]) = v;
            }
        }
        for (stage, needed) in self.stages.iter().zip(&self.needed) {
            for &(k, first, second) in &stage.butterflies {
                for j in (0..M).step_by(stage.span) {
                    let (e, o) = (k + j, k + j + stage.half);
                    let (even_re, even_im, odd_re, odd_im) = (out_re[e], out_im[e], out_re[o], out_im[o]);
                    for (at, twiddle) in [(e, first), (o, second)] {
                        if inverse && !needed[at] {
                            continue;
                        }
                        for l in 0..LANES {
                            let (pr, pi) = times(twiddle, (odd_re[l], odd_im[l]));
                            out_re[at][l] = even_re[l] + pr;
                            out_im[at][l] = even_im[l] + pi;
                        }
                    }
                }
            }
        }
    }

    /// Frames `frames` of `signal` into `out` (`[frames, bins, 2]`), `LANES` at a time.
    fn frames(&self, signal: &[f32], hop: usize, frames: std::ops::Range<usize>, out: &mut [f32]) {
        let (n, bins) = (self.window.len(), self.window.len() / 2 + 1);
        let zero = [[0.0f32; LANES]; M];
        let (mut a_re, mut a_im, mut y_re, mut y_im) = (zero, zero, zero, zero);
        let (mut b_re, mut b_im) = (zero, zero);
        for first in frames.clone().step_by(LANES) {
            let count = (frames.end - first).min(LANES);
            for k in 0..n {
                let (w, c) = (self.window[k], self.chirp[k]);
                for l in 0..LANES {
                    // Lanes past the last frame repeat it; their results are not written.
                    let x = signal[(first + l.min(count - 1)) * hop + k];
                    (a_re[k][l], a_im[k][l]) = times((x * w, 0.0f32 * w), c);
                }
            }
            self.fft(&a_re, &a_im, &mut y_re, &mut y_im, false);
            for k in 0..M {
                for l in 0..LANES {
                    (b_re[k][l], b_im[k][l]) = times((y_re[k][l], y_im[k][l]), self.filter[k]);
                }
            }
            self.fft(&b_re, &b_im, &mut y_re, &mut y_im, true);
            for bin in 0..bins {
                let from = if bin == 0 { 0 } else { M - bin };
                for l in 0..count {
                    let c = (y_re[from][l] / M as f32, y_im[from][l] / M as f32);
                    let (re, im) = times(c, self.chirp[bin]);
                    let at = ((first - frames.start + l) * bins + bin) * 2;
                    (out[at], out[at + 1]) = (re, im);
                }
            }
        }
    }
}

/// Whether [`Stft`] computes what ONNX Runtime's `STFT` computes, bit for bit, with the library
/// and C library at hand: Kokoro's frames (20 samples, a periodic Hann window, hop 5) over a
/// signal of speech-like and extreme values, run both ways.
pub fn matches_runtime(mut builder: SessionBuilder) -> bool {
    const LENGTH: usize = 20;
    let window: Vec<f32> = (0..LENGTH)
        .map(|k| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * k as f64 / LENGTH as f64).cos())
        .map(|w| w as f32)
        .collect();
    let mut next = crate::ops::noise(0x2545_f491);
    let signal: Vec<f32> = (0..4021)
        .map(|i| {
            let noise = next();
            match i % 97 {
                0 => 0.0,
                1 => -0.0,
                2 => 1e-30,
                _ => (0.03 * i as f32).sin() * 0.6 + noise * (1 << (i % 4)) as f32 * 0.1,
            }
        })
        .collect();
    let model = chain_model(&window, 5, LENGTH);
    let input = ("signal", &[1, signal.len()][..], &signal[..]);
    let Some([runtime]) =
        runtime_outputs(&mut builder, &model, input, &["spectrum"]).and_then(|v| <[_; 1]>::try_from(v).ok())
    else {
        return false;
    };
    let frames = (signal.len() - LENGTH) / 5 + 1;
    let mut ours = vec![0f32; frames * (LENGTH / 2 + 1) * 2];
    Tables::new(&window).frames(&signal, 5, 0..frames, &mut ours);
    same_bits(&runtime, &ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_s_bins_are_its_discrete_fourier_transform() {
        let n = 20;
        let window: Vec<f32> =
            (0..n).map(|k| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * k as f32 / n as f32).cos()).collect();
        let signal: Vec<f32> = (0..n + 3 * 5).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
        let frames = (signal.len() - n) / 5 + 1;
        let mut out = vec![0f32; frames * 11 * 2];
        Tables::new(&window).frames(&signal, 5, 0..frames, &mut out);
        for f in 0..frames {
            for bin in 0..11 {
                let (mut re, mut im) = (0f64, 0f64);
                for k in 0..n {
                    let x = f64::from(signal[f * 5 + k] * window[k]);
                    let angle = -2.0 * std::f64::consts::PI * (bin * k) as f64 / n as f64;
                    (re, im) = (re + x * angle.cos(), im + x * angle.sin());
                }
                let at = (f * 11 + bin) * 2;
                assert!(
                    (f64::from(out[at]) - re).abs() < 1e-5 && (f64::from(out[at + 1]) - im).abs() < 1e-5,
                    "frame {f} bin {bin}"
                );
            }
        }
    }
}
