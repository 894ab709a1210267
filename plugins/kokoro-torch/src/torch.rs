//! The two TorchScript halves `cargo xtask torch` converts (`<data>/kokoro-torch/{front,decoder}.pt`)
//! run through libtorch: tokens, style, speed → per-token durations and the decoder's frame-rate
//! features; a window of those features and the style → audio.

use std::path::{Path, PathBuf};

use tch::{CModule, Device, IValue, Kind, Tensor};

/// The converted model's folder under the data folder.
pub const DIR: &str = "kokoro-torch";
/// Files the converter writes there, checked against its `SHA256SUMS` when loading.
pub const FILES: [&str; 2] = ["front.pt", "decoder.pt"];
/// Each decoder input's time axis and steps per frame, in the front's output order (after the
/// durations): aligned text features [1, 512, F], F0 [1, 2F], energy [1, 2F], phase [1, 2F, 9].
pub const FEATURE_AXES: [(usize, usize); 4] = [(2, 1), (1, 2), (1, 2), (1, 2)];

/// A loading or inference failure, with what a user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    #[error("{path} is missing: run `cargo xtask torch` to convert the Kokoro model for PyTorch")]
    Missing { path: PathBuf },
    #[error("{path} does not match its checksum in SHA256SUMS: run `cargo xtask torch --force`")]
    Corrupt { path: PathBuf },
    #[error("libtorch cannot load {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("libtorch failed in the {half}: {reason}")]
    Run { half: &'static str, reason: String },
}

/// One float tensor copied out of libtorch: its shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Plain {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// The loaded halves, on one device.
pub struct TorchModel {
    front: CModule,
    decoder: CModule,
    device: Device,
}

impl TorchModel {
    /// Load both halves from `dir` onto `device`, after checking their checksums.
    pub fn load(dir: &Path, device: Device) -> Result<Self, TorchError> {
        let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap_or_default();
        let mut modules = Vec::new();
        for name in FILES {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(TorchError::Missing { path });
            }
            let expected = sums.lines().find_map(|l| l.strip_suffix(&format!("  {name}"))).map(str::to_owned);
            match expected {
                Some(sum) if sum == sha256(&path).map_err(|e| load_error(&path, e))? => {}
                _ => return Err(TorchError::Corrupt { path }),
            }
            let mut module = CModule::load_on_device(&path, device).map_err(|e| load_error(&path, e))?;
            module.set_eval();
            modules.push(module);
        }
        let decoder = modules.pop().expect("two modules");
        let front = modules.pop().expect("two modules");
        Ok(Self { front, decoder, device })
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The front: `ids` (padded with 0 at both ends), `style` (256 floats), `speed` → one duration
    /// per id, and the four decoder features for every frame.
    pub fn front(&self, ids: &[i64], style: &[f32], speed: f32) -> Result<(Vec<i64>, Vec<Plain>), TorchError> {
        let _guard = tch::no_grad_guard();
        let run = |reason: tch::TchError| TorchError::Run { half: "front", reason: reason.to_string() };
        let tokens = Tensor::from_slice(ids).view([1, -1]).to_device(self.device);
        let style = Tensor::from_slice(style).view([1, -1]).to_device(self.device);
        let speed = Tensor::from_slice(&[speed]).to_device(self.device);
        let out = self
            .front
            .forward_is(&[IValue::Tensor(tokens), IValue::Tensor(style), IValue::Tensor(speed)])
            .map_err(run)?;
        let IValue::Tuple(mut parts) = out else {
            return Err(TorchError::Run { half: "front", reason: "it did not return a tuple".into() });
        };
        if parts.len() != 1 + FEATURE_AXES.len() {
            return Err(TorchError::Run { half: "front", reason: format!("{} outputs, not 5", parts.len()) });
        }
        let features = parts.split_off(1).into_iter().map(|p| plain(p, "front")).collect::<Result<Vec<_>, _>>()?;
        let IValue::Tensor(durations) = parts.remove(0) else {
            return Err(TorchError::Run { half: "front", reason: "its durations are not a tensor".into() });
        };
        let durations = durations.to_device(Device::Cpu).to_kind(Kind::Int64).reshape([-1]);
        let durations = Vec::<i64>::try_from(&durations).map_err(run)?;
        Ok((durations, features))
    }

    /// Audio for a window of features (each already cut to the window's frames) and the style.
    pub fn decode(&self, features: &[Plain], style: &[f32]) -> Result<Vec<f32>, TorchError> {
        let _guard = tch::no_grad_guard();
        let run = |reason: tch::TchError| TorchError::Run { half: "decoder", reason: reason.to_string() };
        let mut inputs: Vec<IValue> = features
            .iter()
            .map(|f| {
                let dims: Vec<i64> = f.shape.iter().map(|&d| d as i64).collect();
                IValue::Tensor(Tensor::from_slice(&f.data).view(dims.as_slice()).to_device(self.device))
            })
            .collect();
        inputs.push(IValue::Tensor(Tensor::from_slice(style).view([1, -1]).to_device(self.device)));
        let out = self.decoder.forward_is(&inputs).map_err(run)?;
        Ok(plain(out, "decoder")?.data)
    }
}

fn plain(value: IValue, half: &'static str) -> Result<Plain, TorchError> {
    let IValue::Tensor(t) = value else {
        return Err(TorchError::Run { half, reason: "an output is not a tensor".into() });
    };
    let t = t.to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
    let shape = t.size().iter().map(|&d| d as usize).collect();
    let data = Vec::<f32>::try_from(&t.reshape([-1])).map_err(|e| TorchError::Run { half, reason: e.to_string() })?;
    Ok(Plain { shape, data })
}

fn load_error(path: &Path, reason: impl std::fmt::Display) -> TorchError {
    TorchError::Load { path: path.to_path_buf(), reason: reason.to_string() }
}

fn sha256(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
