//! Debian packages the build and the tests need, installed with apt-get when missing.

use anyhow::{Result, bail};
use std::process::Command;

/// Package → a file that proves it is installed.
const PACKAGES: &[(&str, &str)] = &[
    ("cmake", "/usr/bin/cmake"),
    ("pkg-config", "/usr/bin/pkg-config"),
    ("libasound2-dev", "/usr/include/alsa/asoundlib.h"),
    ("ffmpeg", "/usr/bin/ffmpeg"),
    // The throwaway certificate of the TLS proxy the ElevenLabs SDK's wss-only client test needs.
    ("openssl", "/usr/bin/openssl"),
];

/// Install whatever is missing. Quiet when everything is there.
pub fn ensure() -> Result<()> {
    let missing: Vec<&str> =
        PACKAGES.iter().filter(|(_, probe)| !std::path::Path::new(probe).exists()).map(|(p, _)| *p).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing Debian packages: {}", missing.join(" "));
    let root = is_root();
    let apt = |args: &[&str]| -> Result<()> {
        let mut cmd = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            cmd.arg("apt-get");
        }
        let status = cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive").status();
        match status {
            Ok(s) if s.success() => Ok(()),
            _ => bail!(
                "could not install {}: run `sudo apt-get update && sudo apt-get install -y {}` and try again",
                missing.join(" "),
                missing.join(" ")
            ),
        }
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    apt(&args)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}
