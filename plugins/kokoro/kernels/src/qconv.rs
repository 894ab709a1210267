//! `QConv`: a whole integer 1-D convolution — [`Im2col`](crate::ops::Im2col), ONNX Runtime's own
//! `MatMulInteger`, [`Requantize`](crate::ops::Requantize) — computed a block of time steps at a
//! time, so the laid-out rows (taps × channels bytes per step) and the int32 product never exist
//! for the whole input at once: at the decoder's last stage they were the largest tensors of a run
//! (about 170 and 60 KB per 25 ms frame). The product is ONNX Runtime's kernel, called through its
//! C API (`InvokeOp`) on the session's threads, and integer sums do not depend on how the rows are
//! split, so the output is the three nodes' output bit for bit.

use ort::AsPointer;
use ort::operator::{BoxedKernel, ComputeContext, KernelContext, Operator, OperatorInput, OperatorOutput};
use ort::value::{TensorElementType, TensorRef, TensorRefMut};

use chorus_kokoro_graph::schema::chorus::QCONV;

use crate::ops::{BLOCK, Layout, LayoutInput, api_status, kernel};
use crate::rescale::Rescale;

/// Laid-out bytes per tile of output time steps (at least [`BLOCK`] steps).
const TILE_BYTES: usize = 4 << 20;

/// Inputs: `x` `[1, C, T]` and its zero point (uint8), the weights `[taps·C, O]` and their zero
/// point (int8), `bias` (int32, one per output channel), `scale` (float, one or one per channel),
/// and optionally a residual `[1, O, T']` added to the output; output `[1, O, T']` float. Attributes as [`Im2col`](crate::ops::Im2col)'s.
pub struct QConv;

impl Operator for QConv {
    type Kernel<'attr> = BoxedKernel<'attr>;

    fn name(&self) -> &str {
        QCONV
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        [
            OperatorInput::required(TensorElementType::Uint8),
            OperatorInput::required(TensorElementType::Uint8),
            OperatorInput::required(TensorElementType::Int8),
            OperatorInput::required(TensorElementType::Int8),
            OperatorInput::required(TensorElementType::Int32),
            OperatorInput::required(TensorElementType::Float32),
            OperatorInput::optional(TensorElementType::Float32),
        ]
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(TensorElementType::Float32)]
    }

    fn create_kernel<'attr>(&self, info: &KernelContext<'attr>) -> ort::Result<Self::Kernel<'attr>> {
        let layout = Layout::from_info(info, QCONV)?;
        let product = MatMulInteger::new(info)?;
        Ok(kernel(QCONV, move |ctx: &ComputeContext| compute(layout, &product, ctx)))
    }
}

fn compute(layout: Layout, product: &MatMulInteger, ctx: &ComputeContext) -> ort::Result<()> {
    let input = |i: usize| ctx.input(i)?.ok_or_else(|| ort::Error::new("QConv: an input is missing"));
    let (x, x_zero, w, w_zero, bias, scale) = (input(0)?, input(1)?, input(2)?, input(3)?, input(4)?, input(5)?);
    let input = LayoutInput::read("QConv", &x, &x_zero)?;
    let (w_shape, _) = w.try_extract_tensor::<i8>()?;
    let (_, bias_values) = bias.try_extract_tensor::<i32>()?;
    let (_, scale_values) = scale.try_extract_tensor::<f32>()?;
    let (rows, width) = layout.rows(input.len, input.channels);
    let &[w_rows, outs] = &w_shape[..] else {
        return Err(ort::Error::new(format!("QConv: weights {w_shape:?} are not a matrix")));
    };
    let outs = outs as usize;
    if w_rows as usize != width {
        return Err(ort::Error::new(format!("QConv: weights {w_shape:?} do not match {width} values per step")));
    }
    let residual = ctx.input(6)?;
    let residual = match &residual {
        Some(r) => {
            let (shape, values) = r.try_extract_tensor::<f32>()?;
            if shape[..] != [1, outs as i64, rows as i64] {
                return Err(ort::Error::new(format!("QConv: residual {shape:?} is not [1, {outs}, {rows}]")));
            }
            Some(values)
        }
        None => None,
    };
    let rescale = Rescale { bias: bias_values, scale: scale_values, residual };
    if rescale.channels() != Some(outs) {
        return Err(ort::Error::new("QConv: bias and scale need one value per output channel"));
    }
    let mut output =
        ctx.output(0, vec![1, outs as i64, rows as i64])?.ok_or_else(|| ort::Error::new("QConv: no output"))?;
    let (_, y) = output.try_extract_tensor_mut::<f32>()?;
    // The tiles' buffers come from the session's allocator: pages it already holds, where a fresh
    // allocation per node would fault in (and zero) new pages every time.
    let tile = (TILE_BYTES / width).clamp(BLOCK, rows.max(BLOCK));
    let allocator = ctx.allocator(&ort::memory::MemoryInfo::default())?;
    let mut laid_block = allocator.alloc::<u8>(tile * width)?;
    let mut sums_block = allocator.alloc::<i32>(tile * outs)?;
    // SAFETY: blocks of exactly these sizes, suitably aligned (the allocator aligns for any
    // tensor), alive until the end of this call. Like ONNX Runtime's own output buffers they
    // start with whatever the arena held: every element of a tile is written (the layout by
    // `block`, the sums by the product) before it is read.
    let (laid, sums) = unsafe {
        (
            std::slice::from_raw_parts_mut(laid_block.as_mut_ptr().cast::<u8>(), tile * width),
            std::slice::from_raw_parts_mut(sums_block.as_mut_ptr().cast::<i32>(), tile * outs),
        )
    };
    for first in (0..rows).step_by(tile) {
        let steps = first..(first + tile).min(rows);
        let laid = &mut laid[..steps.len() * width];
        layout.fill(ctx, "QConv", input, steps.clone(), laid)?;
        let sums = &mut sums[..steps.len() * outs];
        product.run(ctx, (steps.len(), width, laid), &w, &x_zero, &w_zero, (outs, sums))?;
        rescale.write(ctx, "QConv", sums, y, steps)?;
    }
    Ok(())
}

/// ONNX Runtime's `MatMulInteger` kernel (uint8 × int8 → int32), created for a node's kernel.
///
/// Never released (a few hundred bytes per QConv node, once per session load): `ReleaseOp` removes
/// the op from a registry that is a C++ static in ONNX Runtime, and when a session is dropped on
/// one thread while the process exits on another, that static may already be destroyed — a
/// release then corrupts the heap (reproduced: an engine dropped 1–4 ms after `main` returned
/// aborted 17 of 18 runs with "double free or corruption"; without the release, none of 6).
struct MatMulInteger(*mut ort::sys::OrtOp);

// SAFETY: the kernel is immutable once created; ONNX Runtime runs it from any thread.
unsafe impl Send for MatMulInteger {}
// SAFETY: as for `Send`: nothing mutates the op after creation, so shared use is sound.
unsafe impl Sync for MatMulInteger {}

impl MatMulInteger {
    fn new(info: &KernelContext<'_>) -> ort::Result<Self> {
        let api = ort::api();
        let mut names = [c"T1".as_ptr(), c"T2".as_ptr()];
        let types = [
            ort::sys::ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8,
            ort::sys::ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8,
        ];
        let mut op = std::ptr::null_mut();
        // SAFETY: valid C strings and arrays for the call; `op` is kept for the process's life.
        unsafe {
            api_status((api.CreateOp)(
                info.ptr(),
                c"MatMulInteger".as_ptr(),
                c"".as_ptr(),
                10,
                names.as_mut_ptr(),
                types.as_ptr(),
                2,
                std::ptr::null(),
                0,
                4,
                1,
                &mut op,
            ))
            .map_err(|e| ort::Error::new(format!("QConv: {e}")))?;
        }
        if op.is_null() {
            return Err(ort::Error::new("QConv: ONNX Runtime has no MatMulInteger kernel for uint8 × int8"));
        }
        Ok(Self(op))
    }

    /// `sums` `[rows, outs]` = `a` `[rows, width]` × the weights, zero points subtracted.
    fn run(
        &self,
        ctx: &ComputeContext,
        a: (usize, usize, &mut [u8]),
        w: &ort::value::DynValue,
        a_zero: &ort::value::DynValue,
        w_zero: &ort::value::DynValue,
        sums: (usize, &mut [i32]),
    ) -> ort::Result<()> {
        let (rows, width, a) = a;
        let (outs, sums) = sums;
        let a = TensorRef::from_array_view(([rows, width], &*a))?;
        let out = TensorRefMut::from_array_view_mut(([rows, outs], sums))?;
        let inputs = [a.ptr(), w.ptr(), a_zero.ptr(), w_zero.ptr()];
        let outputs = [out.ptr().cast_mut()];
        // SAFETY: every value outlives the call; the output tensor wraps `sums`, which has exactly
        // [rows, outs] elements, the product's shape, so the kernel writes inside it.
        unsafe { api_status((ort::api().InvokeOp)(ctx.ptr(), self.0, inputs.as_ptr(), 4, outputs.as_ptr(), 1)) }
            .map_err(|e| ort::Error::new(format!("QConv: {e}")))
    }
}
