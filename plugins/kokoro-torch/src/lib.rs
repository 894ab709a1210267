//! chorus plugin `kokoro-torch`: Kokoro-82M on PyTorch (libtorch through the `tch` crate), from
//! the float weights `cargo xtask torch` converts out of the int8 ONNX model
//! (`<data>/kokoro-torch/{front,decoder}.pt`, TorchScript).
//!
//! Serves model names `kokoro-torch*` (the ONNX engine keeps `kokoro*`; the host prefers the more
//! specific pattern). Everything but the two model halves is the ONNX engine's own code, from the
//! `chorus-kokoro` crate: text front-end, voices, chunking, decoder windows, word timestamps,
//! progress. Only the halves differ ([`halves::TorchHalves`]).
//!
//! # Config (the `[backends.kokoro-torch]` table)
//! The ONNX engine's keys except `model` and `ort_library`, plus `cuda` (true: run on the first
//! GPU when libtorch sees one; default false) and `torch_dir` (default `<data_dir>/kokoro-torch`).
//!
//! # Building
//! Needs libtorch 2.13 (`LIBTORCH` = the torch package folder of the converter's environment,
//! which `cargo xtask torch` makes); `cargo xtask dist` builds this crate only when it is there.

pub mod config;
pub mod halves;
pub mod torch;

use chorus_kokoro::{KokoroEngine, model::Model};
use chorus_plugin_api::{
    BackendInfo, Capabilities, Engine, ModelInfo, PluginError, Sink, Summary, SynthError, SynthesisRequest, Voice,
};
use config::TorchConfig;
use tch::Device;

/// The Kokoro engine with libtorch's halves.
pub struct KokoroTorch {
    engine: KokoroEngine,
    device: Device,
}

/// The device a config asks for and this machine has.
pub fn device(cuda: bool) -> Device {
    if cuda && tch::Cuda::is_available() { Device::Cuda(0) } else { Device::Cpu }
}

impl Engine for KokoroTorch {
    const NAME: &'static str = "kokoro-torch";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PATTERNS: &'static [&'static str] = &["kokoro-torch*"];
    const DESCRIPTION: &'static str =
        "Kokoro-82M on PyTorch (libtorch): float weights from the int8 ONNX model, with streaming and word timestamps";
    const LICENSE: &'static str = "MIT OR Apache-2.0";
    const CAPABILITIES: Capabilities = Capabilities::STREAMING.union(Capabilities::WORD_TIMESTAMPS);

    type Config = TorchConfig;

    fn new(config: TorchConfig) -> Result<Self, PluginError> {
        let dir = match (&config.torch_dir, &config.base.data_dir) {
            (Some(dir), _) => dir.clone(),
            (None, Some(data)) => data.join(torch::DIR),
            (None, None) => {
                return Err(PluginError::not_configured(
                    "kokoro-torch: no `torch_dir` and no `data_dir` in its config; run `cargo xtask torch`",
                ));
            }
        };
        let device = device(config.cuda);
        let engine = KokoroEngine::with_model(&config.base, |threads| {
            tch::set_num_threads(threads as i32);
            let model = torch::TorchModel::load(&dir, device)
                .map_err(|e| PluginError::not_configured(format!("kokoro-torch: {e}")))?;
            Ok(Model::from_halves(Box::new(halves::TorchHalves(model))))
        })?;
        Ok(Self { engine, device })
    }

    fn info(&self) -> BackendInfo {
        let mut info = self.engine.info();
        info.models =
            vec![ModelInfo { id: Self::NAME.into(), description: Self::DESCRIPTION.into(), cost: Default::default() }]
                .into();
        let mut extra: serde_json::Value = serde_json::from_str(info.extra_json.as_str()).unwrap_or_default();
        extra["device"] = format!("{:?}", self.device).into();
        extra["libtorch"] = "2.13.0".into();
        info.extra_json = extra.to_string().into();
        info
    }

    fn voices(&self) -> Result<Vec<Voice>, PluginError> {
        self.engine.voices()
    }

    fn synthesize(&self, request: &SynthesisRequest, sink: &mut Sink) -> Result<Summary, SynthError> {
        self.engine.synthesize(request, sink)
    }
}

chorus_plugin_api::export_plugin!(KokoroTorch);
