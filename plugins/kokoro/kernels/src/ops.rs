//! The kernels' shared parts — panics caught at the C boundary, tasks on the session's threads,
//! ONNX Runtime's C status — and two of the operators: [`Im2col`] and [`Requantize`].

use ort::operator::{BoxedKernel, ComputeContext, KernelContext, Operator, OperatorInput, OperatorOutput};
use ort::session::builder::SessionBuilder;
use ort::value::TensorElementType;
use std::sync::atomic::{AtomicBool, Ordering};

use chorus_kokoro_graph::schema::chorus::{IM2COL, REQUANTIZE};

use crate::rescale::Rescale;

/// A kernel for ONNX Runtime, which calls it through C, where a panic would abort the whole
/// process: a panic in `compute` fails the node (and so the request) with an error instead.
pub fn kernel<'a>(
    op: &'static str,
    compute: impl Fn(&ComputeContext) -> ort::Result<()> + Send + 'a,
) -> BoxedKernel<'a> {
    Box::new(move |ctx: &ComputeContext| caught(|| compute(ctx)).unwrap_or_else(|| Err(panicked(op))))
}

/// Runs `task(i)` for every `i < tasks` on the session's threads, which also call it through C: a
/// task that panics fails the node with an error.
pub fn par_tasks(ctx: &ComputeContext, op: &'static str, tasks: usize, task: impl Fn(usize) + Sync) -> ort::Result<()> {
    let failed = AtomicBool::new(false);
    ctx.par_for(tasks, 0, |i| {
        if caught(|| task(i)).is_none() {
            failed.store(true, Ordering::Relaxed);
        }
    })?;
    if failed.load(Ordering::Relaxed) { Err(panicked(op)) } else { Ok(()) }
}

/// `f`'s result, or `None` if it panics.
fn caught<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

fn panicked(op: &str) -> ort::Error {
    ort::Error::new(format!("{op}: chorus's kernel panicked (a bug in chorus; this request fails, nothing else)"))
}

/// A status from ONNX Runtime's C API as a result (its message on failure); the status is released.
///
/// # Safety
/// `status` is null or a status returned by the C API and not yet released.
pub unsafe fn api_status(status: ort::sys::OrtStatusPtr) -> Result<(), String> {
    if status.0.is_null() {
        return Ok(());
    }
    let api = ort::api();
    // SAFETY: a non-null status from the C API; its message lives until the status is released.
    unsafe {
        let message = std::ffi::CStr::from_ptr((api.GetErrorMessage)(status.0)).to_string_lossy().into_owned();
        (api.ReleaseStatus)(status.0);
        Err(message)
    }
}

/// A fixed sequence of values in [−1, 1) from `seed` (a linear congruential generator), for the
/// kernels' checks against the runtime: the same values on every run.
pub fn noise(seed: u32) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
}

/// `model`'s float outputs `outputs` for its one input `name` (`values` of `shape`), as the
/// runtime computes them in a session from `builder`: the kernels' checks' other side. `None` if
/// the runtime cannot run it.
pub fn runtime_outputs(
    builder: &mut SessionBuilder,
    model: &[u8],
    (name, shape, values): (&str, &[usize], &[f32]),
    outputs: &[&str],
) -> Option<Vec<Vec<f32>>> {
    let mut run = || -> ort::Result<Vec<Vec<f32>>> {
        let mut session = builder.commit_from_memory(model)?;
        let input = ort::value::TensorRef::from_array_view((shape.to_vec(), values))?;
        let out = session.run(ort::inputs![name => input])?;
        outputs.iter().map(|o| Ok(out[*o].try_extract_tensor::<f32>()?.1.to_vec())).collect()
    };
    run().ok()
}

/// Whether two runs' values are the same to the last bit.
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits())
}

/// An output buffer that parallel tasks fill in disjoint parts.
pub struct Shared<T>(pub *mut T);
// SAFETY: tasks write disjoint parts, and the buffer outlives `par_tasks`, which joins them all.
unsafe impl<T> Sync for Shared<T> {}
// SAFETY: as for `Sync`: the pointer is only used for disjoint writes inside `par_tasks`.
unsafe impl<T> Send for Shared<T> {}

/// A 1-D convolution's input laid out for one matrix product: `x` `[1, C, T]` (uint8) and its
/// zero point in, `[1, T', taps·C]` out, where row `t` holds, tap after tap, every channel of
/// `x` at time `t + tap·dilation − pads[0]` (the zero point outside `x`), and
/// `T' = T + pads[0] + pads[1] − dilation·(taps − 1)`. One pass instead of a transpose, a pad, a
/// slice per tap and a concatenation, each a single-threaded copy in ONNX Runtime.
pub struct Im2col;

impl Operator for Im2col {
    type Kernel<'attr> = BoxedKernel<'attr>;

    fn name(&self) -> &str {
        IM2COL
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        (0..2).map(|_| OperatorInput::required(TensorElementType::Uint8))
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(TensorElementType::Uint8)]
    }

    fn create_kernel<'attr>(&self, info: &KernelContext<'attr>) -> ort::Result<Self::Kernel<'attr>> {
        let layout = Layout::from_info(info, IM2COL)?;
        Ok(kernel(IM2COL, move |ctx: &ComputeContext| layout.compute(ctx)))
    }
}

/// An [`Im2col`] node's attributes (also a [`QConv`](crate::qconv::QConv)'s).
#[derive(Clone, Copy)]
pub struct Layout {
    taps: usize,
    dilation: usize,
    before: usize,
    after: usize,
}

/// Output rows per task.
pub const BLOCK: usize = 128;

/// What a layout reads: `x` `[1, C, T]` (uint8) and its zero point.
#[derive(Clone, Copy)]
pub struct LayoutInput<'a> {
    pub x: &'a [u8],
    pub channels: usize,
    pub len: usize,
    pub zero: u8,
}

impl<'a> LayoutInput<'a> {
    /// `x` and `zero` checked: a non-empty `[1, C, T]` and one zero point.
    pub fn read(op: &str, x: &'a ort::value::DynValue, zero: &ort::value::DynValue) -> ort::Result<Self> {
        let (shape, values) = x.try_extract_tensor::<u8>()?;
        let zero = *zero
            .try_extract_tensor::<u8>()?
            .1
            .first()
            .ok_or_else(|| ort::Error::new(format!("{op}: no zero point")))?;
        let &[1, channels, len] = &shape[..] else {
            return Err(ort::Error::new(format!("{op}: input {shape:?} is not [1, C, T]")));
        };
        let (channels, len) = (channels as usize, len as usize);
        if channels == 0 || len == 0 {
            return Err(ort::Error::new(format!("{op}: input {shape:?} is empty")));
        }
        Ok(Self { x: values, channels, len, zero })
    }
}

impl Layout {
    /// The node's `taps`, `dilation`, `pad_before` and `pad_after`.
    pub fn from_info(info: &KernelContext<'_>, op: &str) -> ort::Result<Self> {
        let int = |name: &str| {
            let v = info.get::<i64>(name).ok_or_else(|| ort::Error::new(format!("{op} needs `{name}`")))?;
            usize::try_from(v).map_err(|e| ort::Error::new(format!("{op}: `{name}` {v}: {e}")))
        };
        let layout = Layout {
            taps: int("taps")?,
            dilation: int("dilation")?,
            before: int("pad_before")?,
            after: int("pad_after")?,
        };
        if layout.taps == 0 || layout.dilation == 0 {
            return Err(ort::Error::new(format!("{op}: taps and dilation must be positive")));
        }
        Ok(layout)
    }

    /// Output rows for `len` input steps, and the width of a row for `channels`.
    pub fn rows(self, len: usize, channels: usize) -> (usize, usize) {
        ((len + self.before + self.after).saturating_sub(self.dilation * (self.taps - 1)), self.taps * channels)
    }

    fn compute(self, ctx: &ComputeContext) -> ort::Result<()> {
        let input = |i: usize| ctx.input(i)?.ok_or_else(|| ort::Error::new("Im2col: an input is missing"));
        let (x, zero) = (input(0)?, input(1)?);
        let input = LayoutInput::read("Im2col", &x, &zero)?;
        let (rows, width) = self.rows(input.len, input.channels);
        let mut output =
            ctx.output(0, vec![1, rows as i64, width as i64])?.ok_or_else(|| ort::Error::new("Im2col: no output"))?;
        let (_, out) = output.try_extract_tensor_mut::<u8>()?;
        self.fill(ctx, "Im2col", input, 0..rows, out)
    }

    /// Output rows `rows` of `input` into `out` (exactly those rows), in blocks of [`BLOCK`] on the
    /// session's threads.
    pub fn fill(
        self,
        ctx: &ComputeContext,
        op: &'static str,
        input: LayoutInput,
        rows: std::ops::Range<usize>,
        out: &mut [u8],
    ) -> ort::Result<()> {
        let width = self.taps * input.channels;
        assert_eq!(out.len(), rows.len() * width, "{op}: the output holds exactly the rows");
        let shared = Shared(out.as_mut_ptr());
        let shared = &shared;
        let (start, count) = (rows.start, rows.len());
        par_tasks(ctx, op, count.div_ceil(BLOCK), move |b| {
            let (from, to) = (b * BLOCK, (b * BLOCK + BLOCK).min(count));
            // SAFETY: block `b` is rows from..to of `out`, written by this task alone.
            let out = unsafe { std::slice::from_raw_parts_mut(shared.0.add(from * width), (to - from) * width) };
            self.block(input.x, input.channels, input.len, input.zero, start + from..start + to, out);
        })
    }

    /// Output rows `rows` into `out`: the padded input's columns they read, transposed to
    /// time-major once, then each row's taps copied from there (one copy per row where the taps
    /// are adjacent).
    pub fn block(self, x: &[u8], channels: usize, len: usize, zero: u8, rows: std::ops::Range<usize>, out: &mut [u8]) {
        let span = rows.len() + self.dilation * (self.taps - 1);
        let mut columns = vec![zero; span * channels];
        // Padded column p is input column p − before.
        let from = rows.start.saturating_sub(self.before);
        let until = (rows.start + span).saturating_sub(self.before).min(len);
        let offset = self.before.saturating_sub(rows.start); // columns before the input starts
        let steps = until.saturating_sub(from);
        transpose(x, len, channels, from, steps, &mut columns[offset * channels..]);
        let width = self.taps * channels;
        if self.dilation == 1 {
            for (r, out) in out.chunks_exact_mut(width).enumerate() {
                out.copy_from_slice(&columns[r * channels..r * channels + width]);
            }
            return;
        }
        for (r, out) in out.chunks_exact_mut(width).enumerate() {
            for (tap, out) in out.chunks_exact_mut(channels).enumerate() {
                let s = r + tap * self.dilation;
                out.copy_from_slice(&columns[s * channels..(s + 1) * channels]);
            }
        }
    }
}

/// Steps `from..from + steps` of `x` `[channels, len]` into `columns` `[steps, channels]`: with
/// SSE2, 16 channels × 16 steps at a time; the edges one byte at a time.
fn transpose(x: &[u8], len: usize, channels: usize, from: usize, steps: usize, columns: &mut [u8]) {
    // What the vectors cover; the rest goes one byte at a time.
    let (done_channels, done_steps) =
        if cfg!(target_arch = "x86_64") { (channels / 16 * 16, steps / 16 * 16) } else { (0, 0) };
    #[cfg(target_arch = "x86_64")]
    {
        for c in (0..done_channels).step_by(16) {
            for s in (0..done_steps).step_by(16) {
                transpose_16(x, len, c, from + s, &mut columns[s * channels + c..], channels);
            }
        }
    }
    for c in 0..channels {
        let row = &x[c * len + from..c * len + from + steps];
        let start = if c < done_channels { done_steps } else { 0 };
        for (s, &v) in row.iter().enumerate().skip(start) {
            columns[s * channels + c] = v;
        }
    }
}
/// 16 channels from `c` × 16 steps from `step` of `x` `[C, len]` into the start of `out`, rows of
/// `stride` bytes (one per step), in SSE2 registers: four rounds of interleaving.
#[cfg(target_arch = "x86_64")]
fn transpose_16(x: &[u8], len: usize, c: usize, step: usize, out: &mut [u8], stride: usize) {
    use std::arch::x86_64::*;
    let rows: [__m128i; 16] = std::array::from_fn(|i| {
        let row = &x[(c + i) * len + step..][..16];
        // SAFETY: 16 bytes of a slice, bounds-checked by the slicing; SSE2 is part of x86-64.
        unsafe { _mm_loadu_si128(row.as_ptr().cast()) }
    });
    // Row i interleaved with row i + 8, byte by byte; four times over, the rows are the columns.
    let round = |v: [__m128i; 16]| -> [__m128i; 16] {
        std::array::from_fn(|j| {
            let (a, b) = (v[j / 2], v[j / 2 + 8]);
            // SAFETY: SSE2 register operations, part of x86-64.
            unsafe { if j % 2 == 0 { _mm_unpacklo_epi8(a, b) } else { _mm_unpackhi_epi8(a, b) } }
        })
    };
    let v = round(round(round(round(rows))));
    for (i, v) in v.into_iter().enumerate() {
        let row = &mut out[i * stride..][..16];
        // SAFETY: 16 bytes of a slice, bounds-checked by the slicing.
        unsafe { _mm_storeu_si128(row.as_mut_ptr().cast(), v) };
    }
}

/// An integer product back to float, channel-major: `product` `[1, T, O]` (int32), `bias` (int32,
/// one per output channel) and `scale` (float, one or one per channel) in;
/// `y[o, t] = float(product[t, o] + bias[o]) · scale[o]` `[1, O, T]` out. One pass instead of a
/// transpose, an add, a cast and a multiplication; the same arithmetic, so the same bits.
pub struct Requantize;

impl Operator for Requantize {
    type Kernel<'attr> = BoxedKernel<'attr>;

    fn name(&self) -> &str {
        REQUANTIZE
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        [
            OperatorInput::required(TensorElementType::Int32),
            OperatorInput::required(TensorElementType::Int32),
            OperatorInput::required(TensorElementType::Float32),
        ]
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(TensorElementType::Float32)]
    }

    fn create_kernel<'attr>(&self, _: &KernelContext<'attr>) -> ort::Result<Self::Kernel<'attr>> {
        Ok(kernel(REQUANTIZE, requantize))
    }
}

fn requantize(ctx: &ComputeContext) -> ort::Result<()> {
    let input = |i: usize| ctx.input(i)?.ok_or_else(|| ort::Error::new("Requantize: an input is missing"));
    let (product, bias, scale) = (input(0)?, input(1)?, input(2)?);
    let (shape, product) = product.try_extract_tensor::<i32>()?;
    let (_, bias) = bias.try_extract_tensor::<i32>()?;
    let (_, scale) = scale.try_extract_tensor::<f32>()?;
    let &[1, len, channels] = &shape[..] else {
        return Err(ort::Error::new(format!("Requantize: product {shape:?} is not [1, T, O]")));
    };
    let (len, channels) = (len as usize, channels as usize);
    let rescale = Rescale { bias, scale, residual: None };
    if rescale.channels() != Some(channels) {
        return Err(ort::Error::new("Requantize: bias and scale need one value per channel"));
    }
    let mut output =
        ctx.output(0, vec![1, channels as i64, len as i64])?.ok_or_else(|| ort::Error::new("Requantize: no output"))?;
    let (_, y) = output.try_extract_tensor_mut::<f32>()?;
    rescale.write(ctx, "Requantize", product, y, 0..len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_kernel_is_caught_before_it_reaches_the_runtime() {
        let index = std::hint::black_box(9);
        assert_eq!(caught(|| [1, 2, 3][index]), None, "out of bounds");
        assert_eq!(caught(|| [1, 2, 3][1]), Some(2));
    }

    /// The definition, one value at a time.
    fn reference(l: Layout, x: &[u8], channels: usize, len: usize, zero: u8) -> Vec<u8> {
        let rows = len + l.before + l.after - l.dilation * (l.taps - 1);
        let mut out = Vec::new();
        for t in 0..rows {
            for tap in 0..l.taps {
                for c in 0..channels {
                    let p = (t + tap * l.dilation) as i64 - l.before as i64;
                    out.push(if (0..len as i64).contains(&p) { x[c * len + p as usize] } else { zero });
                }
            }
        }
        out
    }

    #[test]
    fn blocks_lay_out_every_tap_of_every_channel_with_the_padding() {
        for (channels, len) in [(3, 300), (37, 301)] {
            blocks_match(channels, len);
        }
    }

    fn blocks_match(channels: usize, len: usize) {
        let x: Vec<u8> = (0..channels * len).map(|i| (i * 7 % 251) as u8).collect();
        for (taps, dilation, before, after) in [(3, 1, 1, 1), (7, 3, 9, 9), (1, 1, 0, 0), (5, 5, 10, 10), (3, 2, 0, 4)]
        {
            let l = Layout { taps, dilation, before, after };
            let expected = reference(l, &x, channels, len, 200);
            let rows = expected.len() / (taps * channels);
            let mut out = vec![0u8; expected.len()];
            for (b, part) in out.chunks_mut(BLOCK * taps * channels).enumerate() {
                let end = (b * BLOCK + BLOCK).min(rows);
                l.block(&x, channels, len, 200, b * BLOCK..end, part);
            }
            assert!(out == expected, "{channels} channels, taps {taps} dilation {dilation} pads {before}/{after}");
        }
    }
}
