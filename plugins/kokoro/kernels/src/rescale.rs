//! An integer product's way back to float, channel-major, for `Requantize` and `QConv`:
//! `y[o, t] = float(product[t, o] + bias[o]) · scale[o]`, plus `residual[o, t]` with one.
//!
//! The product comes step-major and the output is channel-major, so this is a transpose: with
//! AVX2, 8 channels × 8 steps at a time, each step's 8 channels converted side by side in one
//! vector and the tile transposed in registers; elsewhere (and at the edges), one value at a
//! time. The arithmetic per value is the same either way (an integer add that wraps, a
//! conversion that rounds to nearest, a multiply, an add), so the bits are the same.

use ort::operator::ComputeContext;

use crate::ops::{Shared, par_tasks};

/// Time steps per task: a block of the product stays in cache while it is written out.
const STEPS: usize = 64;

/// A product's way back to float.
pub struct Rescale<'a> {
    /// One per output channel.
    pub bias: &'a [i32],
    /// One, or one per output channel.
    pub scale: &'a [f32],
    /// As `y`, added last (the residual sum the convolution feeds).
    pub residual: Option<&'a [f32]>,
}

/// Where a block of steps goes: `y` `[O, len]`, from column `first`.
#[derive(Clone, Copy)]
struct Target<'a> {
    y: &'a Shared<f32>,
    len: usize,
    first: usize,
}

impl Rescale<'_> {
    /// Output channels, if `scale` fits `bias`.
    pub fn channels(&self) -> Option<usize> {
        (self.scale.len() == 1 || self.scale.len() == self.bias.len()).then_some(self.bias.len())
    }

    fn scale_of(&self, o: usize) -> f32 {
        self.scale[if self.scale.len() == 1 { 0 } else { o }]
    }

    /// Columns `steps` of `y` `[O, T]` from `product`, those steps' rows `[steps.len(), O]`; tasks
    /// of `STEPS` steps on the session's threads.
    pub fn write(
        &self,
        ctx: &ComputeContext,
        op: &'static str,
        product: &[i32],
        y: &mut [f32],
        steps: std::ops::Range<usize>,
    ) -> ort::Result<()> {
        let channels = self.bias.len();
        let len = y.len() / channels.max(1);
        let shared = Shared(y.as_mut_ptr());
        let shared = &shared;
        par_tasks(ctx, op, steps.len().div_ceil(STEPS), move |b| {
            let local = b * STEPS..((b + 1) * STEPS).min(steps.len());
            let block = &product[local.start * channels..local.end * channels];
            self.block(block, Target { y: shared, len, first: steps.start + local.start });
        })
    }

    /// Steps `first..` of `y` from `block` (`[steps, O]`), written by this call alone.
    fn block(&self, block: &[i32], to: Target) {
        let channels = self.bias.len();
        let rows = block.len() / channels.max(1);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let (whole_channels, whole_rows) = (channels / 8 * 8, rows / 8 * 8);
            // SAFETY: the CPU has AVX2; the tiles lie inside `block` and the target's columns.
            unsafe { self.tiles_avx2(block, to, whole_channels, whole_rows) };
            self.values(block, to, 0..whole_channels, whole_rows..rows);
            self.values(block, to, whole_channels..channels, 0..rows);
            return;
        }
        self.values(block, to, 0..channels, 0..rows);
    }

    /// Channels `outs` of steps `rows` of the block, one value at a time.
    fn values(&self, block: &[i32], to: Target, outs: std::ops::Range<usize>, rows: std::ops::Range<usize>) {
        let channels = self.bias.len();
        if rows.is_empty() {
            return;
        }
        for o in outs {
            let (bias, scale) = (self.bias[o], self.scale_of(o));
            let at = o * to.len + to.first + rows.start;
            // SAFETY: these columns of row `o` belong to this block, written by this task alone.
            let row = unsafe { std::slice::from_raw_parts_mut(to.y.0.add(at), rows.len()) };
            let products = block[rows.start * channels + o..].iter().step_by(channels);
            match self.residual {
                Some(residual) => {
                    for ((y, p), r) in row.iter_mut().zip(products).zip(&residual[at..]) {
                        *y = p.wrapping_add(bias) as f32 * scale + r;
                    }
                }
                None => {
                    for (y, p) in row.iter_mut().zip(products) {
                        *y = p.wrapping_add(bias) as f32 * scale;
                    }
                }
            }
        }
    }

    /// The first `outs` channels × `rows` steps (multiples of 8), in 8 × 8 tiles.
    ///
    /// # Safety
    /// The CPU has AVX2; `block` holds `rows` steps of all channels; the target's rows `0..outs`
    /// have `to.first + rows` columns, these written by this call alone.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn tiles_avx2(&self, block: &[i32], to: Target, outs: usize, rows: usize) {
        use std::arch::x86_64::*;
        let channels = self.bias.len();
        for o in (0..outs).step_by(8) {
            // SAFETY: 8 values of a slice, bounds-checked by the slicing.
            let bias = unsafe { _mm256_loadu_si256(self.bias[o..o + 8].as_ptr().cast()) };
            let scale = match self.scale.len() {
                1 => _mm256_set1_ps(self.scale[0]),
                // SAFETY: 8 values of a slice, bounds-checked by the slicing.
                _ => unsafe { _mm256_loadu_ps(self.scale[o..o + 8].as_ptr()) },
            };
            for t in (0..rows).step_by(8) {
                let mut v = [_mm256_setzero_ps(); 8];
                for (i, v) in v.iter_mut().enumerate() {
                    // SAFETY: 8 values of a slice, bounds-checked by the slicing.
                    let p = unsafe { _mm256_loadu_si256(block[(t + i) * channels + o..][..8].as_ptr().cast()) };
                    *v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(p, bias)), scale);
                }
                let v = transpose(v);
                for (j, v) in v.into_iter().enumerate() {
                    let at = (o + j) * to.len + to.first + t;
                    let v = match self.residual {
                        // SAFETY: 8 values of a slice, bounds-checked by the slicing.
                        Some(residual) => _mm256_add_ps(v, unsafe { _mm256_loadu_ps(residual[at..at + 8].as_ptr()) }),
                        None => v,
                    };
                    // SAFETY: columns `t..t + 8` of row `o + j` from `to.first`, inside the output
                    // and written by this call alone (the caller's promise).
                    unsafe { _mm256_storeu_ps(to.y.0.add(at), v) };
                }
            }
        }
    }
}

/// Eight rows of eight floats transposed.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn transpose(r: [std::arch::x86_64::__m256; 8]) -> [std::arch::x86_64::__m256; 8] {
    use std::arch::x86_64::*;
    let pairs = |a, b| (_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
    let (t0, t1) = pairs(r[0], r[1]);
    let (t2, t3) = pairs(r[2], r[3]);
    let (t4, t5) = pairs(r[4], r[5]);
    let (t6, t7) = pairs(r[6], r[7]);
    let (u0, u1) = (_mm256_shuffle_ps::<0x44>(t0, t2), _mm256_shuffle_ps::<0xEE>(t0, t2));
    let (u2, u3) = (_mm256_shuffle_ps::<0x44>(t1, t3), _mm256_shuffle_ps::<0xEE>(t1, t3));
    let (u4, u5) = (_mm256_shuffle_ps::<0x44>(t4, t6), _mm256_shuffle_ps::<0xEE>(t4, t6));
    let (u6, u7) = (_mm256_shuffle_ps::<0x44>(t5, t7), _mm256_shuffle_ps::<0xEE>(t5, t7));
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_and_single_values_give_the_same_bits() {
        for (channels, rows) in [(21, 19), (16, 8), (8, 24)] {
            tiles_match(channels, rows);
        }
    }

    fn tiles_match(channels: usize, rows: usize) {
        let (len, first) = (40, 7);
        let mut state = 7u32;
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            state as i32
        };
        let product: Vec<i32> = (0..channels * rows).map(|_| next() >> 8).collect();
        let bias: Vec<i32> = (0..channels).map(|_| next() >> 12).collect();
        let scales: Vec<f32> = (0..channels).map(|o| 1e-4 * (o + 1) as f32).collect();
        let residual: Vec<f32> = (0..channels * len).map(|i| (i as f32).sin()).collect();
        for (scale, residual) in [(&scales[..], None), (&scales[..1], Some(&residual[..]))] {
            let rescale = Rescale { bias: &bias, scale, residual };
            let mut expected = vec![0f32; channels * len];
            let mut fast = expected.clone();
            let (e, f) = (Shared(expected.as_mut_ptr()), Shared(fast.as_mut_ptr()));
            rescale.values(&product, Target { y: &e, len, first }, 0..channels, 0..rows);
            rescale.block(&product, Target { y: &f, len, first });
            assert!(expected.iter().zip(&fast).all(|(a, b)| a.to_bits() == b.to_bits()));
            let (o, t) = (channels - 1, rows - 1);
            let want = (product[t * channels + o].wrapping_add(bias[o]) as f32 * rescale.scale_of(o))
                + residual.map_or(0.0, |r| r[o * len + first + t]);
            assert_eq!(fast[o * len + first + t], want, "the definition");
        }
    }
}
