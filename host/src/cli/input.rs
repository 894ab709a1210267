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
    /// The text, or an error that says what to give (`usage` shows an example). A file or
    /// standard input is read only as far as `max_chars` characters can reach (4 bytes each at
    /// most), so `--file /dev/zero` is refused instead of filling memory.
    pub fn read(&self, usage: &str, max_chars: usize) -> anyhow::Result<String> {
        let source = self.file.as_ref().map_or("standard input".to_string(), |p| p.display().to_string());
        let limit = max_chars.saturating_mul(4).saturating_add(1) as u64;
        let mut bytes = Vec::new();
        match (&self.text, &self.file) {
            (_, Some(path)) => std::fs::File::open(path)
                .and_then(|f| f.take(limit).read_to_end(&mut bytes))
                .with_context(|| format!("cannot read {}", path.display()))?,
            (Some(t), None) if t == "-" => {
                std::io::stdin().take(limit).read_to_end(&mut bytes).context("cannot read standard input")?
            }
            (Some(t), None) => return Ok(t.clone()),
            (None, None) => bail!("{usage}"),
        };
        if bytes.len() as u64 == limit {
            bail!(
                "{source} holds more than max_input_chars ({max_chars} characters); stopped reading there \
                 (set max_input_chars in the config to raise it)"
            );
        }
        String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!("{source} is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to())
        })
    }
}
