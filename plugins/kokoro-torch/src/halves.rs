//! [`TorchModel`] as the Kokoro engine's [`Halves`]: the front's outputs become the engine's
//! [`Frames`], and a decoder window is cut from them with its context frames and probes, decoded by libtorch
//! and trimmed back to the window, as the ONNX Runtime halves do.

use chorus_kokoro::halves::{Feature, Feed, Frames, Halves};
use chorus_plugin_api::PluginError;

use crate::torch::{FEATURE_AXES, Plain, TorchError, TorchModel};

/// libtorch's modules behind the engine's trait. libtorch runs a module from several threads at
/// once; the engine calls the halves from its synthesis thread.
pub struct TorchHalves(pub TorchModel);

fn fail(e: TorchError) -> PluginError {
    PluginError::internal(format!("kokoro-torch: {e}"))
}

impl Halves for TorchHalves {
    fn front(&self, ids: &[i64], style: &[f32], speed: f32) -> Result<Frames, PluginError> {
        let (durations, plain) = self.0.front(ids, style, speed).map_err(fail)?;
        let features = plain
            .into_iter()
            .zip(FEATURE_AXES)
            .map(|(Plain { shape, data }, (axis, per_frame))| Feature { shape, data, axis, per_frame })
            .collect();
        Frames { durations, features }.checked(ids.len(), "kokoro-torch")
    }

    fn decode(&self, frames: &Frames, style: &[f32], feed: &Feed) -> Result<Vec<f32>, PluginError> {
        let window: Vec<Plain> = frames
            .features
            .iter()
            .map(|f| {
                let (shape, data) = f.gather(feed);
                Plain { shape, data }
            })
            .collect();
        let audio = self.0.decode(&window, style).map_err(fail)?;
        Ok(feed.cut(&audio))
    }
}
