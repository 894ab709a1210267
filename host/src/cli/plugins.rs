//! `chorus plugins`: what loaded (name, version, patterns, capabilities), what was rejected and
//! what was not built here (a packager's `NAME.absent` note), each with why.

use crate::Chorus;
use serde_json::json;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print {"loaded":[...],"rejected":[...],"absent":[...]} as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(chorus: &Chorus, args: &Args) -> anyhow::Result<()> {
    if args.json {
        let loaded: Vec<_> = chorus
            .plugins()
            .iter()
            .map(|p| {
                json!({
                    "name": p.info.name,
                    "version": p.info.version,
                    "api_version": p.info.api_version,
                    "patterns": p.info.patterns,
                    "capabilities": p.info.capabilities.names(),
                    "description": p.info.description,
                    "license": p.info.license,
                    "file": p.path.display().to_string(),
                })
            })
            .collect();
        let rejected: Vec<_> = chorus
            .rejected()
            .iter()
            .map(|r| json!({"file": r.file.display().to_string(), "reason": r.reason}))
            .collect();
        let absent: Vec<_> = chorus
            .absent()
            .iter()
            .map(|a| json!({"name": a.name, "file": a.file.display().to_string(), "reason": a.reason}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"loaded": loaded, "rejected": rejected, "absent": absent}))?
        );
        return Ok(());
    }
    let dirs: Vec<String> = chorus.plugin_dirs().iter().map(|d| d.display().to_string()).collect();
    println!("plugin folders: {}", if dirs.is_empty() { "(none)".into() } else { dirs.join(", ") });
    if chorus.plugins().is_empty() {
        println!("no plugins loaded");
    }
    for p in chorus.plugins() {
        let caps = p.info.capabilities.names().join(", ");
        println!("{} {}  [{}]  {}", p.info.name, p.info.version, p.info.patterns.join(" "), p.info.description);
        println!(
            "    capabilities: {}; api {}; licence {}",
            if caps.is_empty() { "none" } else { &caps },
            p.info.api_version,
            p.info.license
        );
    }
    for r in chorus.rejected() {
        println!("rejected {}: {}", r.file.display(), r.reason);
    }
    for a in chorus.absent() {
        println!("not built here: {}: {}", a.name, a.reason);
    }
    Ok(())
}
