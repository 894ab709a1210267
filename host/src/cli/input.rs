//! The text a command works on: an argument, standard input (`-`) or a UTF-8 file.

use anyhow::{Context, bail};
use std::io::Read;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct TextInput {
    /// The text; `-` reads standard input.
    pub text: Option<String>,
    /// Read the text from a UTF-8 file.
    #[arg(long, short, value_name = "FILE", conflicts_with = "text")]
    pub file: Option<PathBuf>,
}

impl TextInput {
    /// The text, or an error that says what to give (`usage` shows an example).
    pub fn read(&self, usage: &str) -> anyhow::Result<String> {
        let bytes = match (&self.text, &self.file) {
            (_, Some(path)) => std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            (Some(t), None) if t == "-" => {
                let mut buf = Vec::new();
                std::io::stdin().read_to_end(&mut buf).context("cannot read standard input")?;
                buf
            }
            (Some(t), None) => return Ok(t.clone()),
            (None, None) => bail!("{usage}"),
        };
        let source = self.file.as_ref().map_or("standard input".to_string(), |p| p.display().to_string());
        String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!("{source} is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to())
        })
    }
}
