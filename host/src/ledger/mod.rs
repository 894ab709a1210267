//! The usage ledger: one SQLite row per finished request (time, plugin, model, voice, characters,
//! audio seconds, cost) in `<data_dir>/usage.sqlite3`, and totals by provider and model.
//!
//! The file is opened in WAL mode with a busy timeout, so concurrent requests and several chorus
//! processes can write at once. Writing is best effort by design: the host turns every ledger
//! error into a warning and never fails a synthesis over it (see `Chorus::record_usage`).

use rusqlite::{Connection, OptionalExtension, params};
use std::{
    path::{Path, PathBuf},
    sync::Mutex,
    time::Duration,
};

/// The ledger's file name inside the data folder.
pub const FILE_NAME: &str = "usage.sqlite3";

/// How long a write waits for another writer (or a lock holder) before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(1500);

/// What can go wrong with the ledger, always naming the file.
#[derive(thiserror::Error, Debug)]
pub enum LedgerError {
    #[error("usage ledger {path}: cannot create its folder: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("usage ledger {path}: {source}{hint}")]
    Sqlite { path: PathBuf, source: rusqlite::Error, hint: &'static str },
    #[error("usage ledger: month must be YYYY-MM, got '{0}'")]
    BadMonth(String),
}

/// One finished request.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub plugin: String,
    pub model: String,
    pub voice: String,
    pub characters: u64,
    pub audio_seconds: f64,
    pub cost_usd: f64,
}

/// Totals of one provider (plugin) and model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Total {
    pub plugin: String,
    pub model: String,
    pub requests: u64,
    pub characters: u64,
    pub audio_seconds: f64,
    pub cost_usd: f64,
}

/// An open ledger file.
pub struct Ledger {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Ledger {
    /// The ledger of data folder `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE_NAME)
    }

    /// Open (creating when missing) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LedgerError::Folder { path: path.into(), source })?;
        }
        let err = |source| sqlite_error(path, source);
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // journal_mode answers with the mode in force; WAL persists in the file once set.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0)).map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS usage (
                id INTEGER PRIMARY KEY,
                time TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                plugin TEXT NOT NULL,
                model TEXT NOT NULL,
                voice TEXT NOT NULL,
                characters INTEGER NOT NULL,
                audio_seconds REAL NOT NULL,
                cost_usd REAL NOT NULL
            );
            CREATE INDEX IF NOT EXISTS usage_time ON usage(time);",
        )
        .map_err(err)?;
        Ok(Self { path: path.into(), conn: Mutex::new(conn) })
    }

    /// Open the ledger at `path` only if the file exists (for read-only reports).
    pub fn open_existing(path: &Path) -> Result<Option<Self>, LedgerError> {
        if path.exists() { Self::open(path).map(Some) } else { Ok(None) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one finished request, stamped with the current UTC time.
    pub fn record(&self, entry: &Entry) -> Result<(), LedgerError> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.execute(
            "INSERT INTO usage (plugin, model, voice, characters, audio_seconds, cost_usd) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![entry.plugin, entry.model, entry.voice, entry.characters as i64, entry.audio_seconds, entry.cost_usd],
        )
        .map_err(|source| sqlite_error(&self.path, source))?;
        Ok(())
    }

    /// Totals by plugin and model, for one month (`YYYY-MM`, UTC) or for all time.
    pub fn totals(&self, month: Option<&str>) -> Result<Vec<Total>, LedgerError> {
        if let Some(m) = month {
            check_month(m)?;
        }
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let err = |source| sqlite_error(&self.path, source);
        let mut stmt = conn
            .prepare(
                "SELECT plugin, model, COUNT(*), SUM(characters), SUM(audio_seconds), SUM(cost_usd) FROM usage
                 WHERE ?1 IS NULL OR substr(time, 1, 7) = ?1
                 GROUP BY plugin, model ORDER BY plugin, model",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![month], |row| {
                Ok(Total {
                    plugin: row.get(0)?,
                    model: row.get(1)?,
                    requests: row.get::<_, i64>(2)? as u64,
                    characters: row.get::<_, i64>(3)? as u64,
                    audio_seconds: row.get(4)?,
                    cost_usd: row.get(5)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    /// The time of the first and last recorded request, if any.
    pub fn span(&self) -> Result<Option<(String, String)>, LedgerError> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.query_row("SELECT MIN(time), MAX(time) FROM usage WHERE id IS NOT NULL HAVING COUNT(*) > 0", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()
        .map_err(|source| sqlite_error(&self.path, source))
    }
}

/// The host's handle on its ledger: opened on first use, on the synthesis thread, and written
/// best effort. Every failure (a locked or damaged file, a read-only folder) becomes one warning
/// on stderr per request; the request itself goes on. A failed open is retried next time.
pub struct LazyLedger {
    path: PathBuf,
    open: Mutex<Option<std::sync::Arc<Ledger>>>,
}

impl LazyLedger {
    pub fn new(path: PathBuf) -> Self {
        Self { path, open: Mutex::new(None) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open ledger, opening it now if needed.
    pub fn get(&self) -> Result<std::sync::Arc<Ledger>, LedgerError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ledger) = open.as_ref() {
            return Ok(ledger.clone());
        }
        let ledger = std::sync::Arc::new(Ledger::open(&self.path)?);
        *open = Some(ledger.clone());
        Ok(ledger)
    }

    /// Record `entry`; on failure print a warning and carry on.
    pub fn record_or_warn(&self, entry: &Entry) {
        if let Err(e) = self.get().and_then(|ledger| ledger.record(entry)) {
            eprintln!("chorus: warning: {e}");
        }
    }
}

/// Validate a `YYYY-MM` month.
pub fn check_month(month: &str) -> Result<(), LedgerError> {
    let ok = month.len() == 7
        && month.as_bytes()[4] == b'-'
        && month[..4].bytes().all(|b| b.is_ascii_digit())
        && month[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m));
    if ok { Ok(()) } else { Err(LedgerError::BadMonth(month.into())) }
}

fn sqlite_error(path: &Path, source: rusqlite::Error) -> LedgerError {
    let hint = match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            " (another program holds a lock on it; usage was not recorded this time)"
        }
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            " (the file is damaged; move it aside and chorus starts a new ledger)"
        }
        _ => "",
    };
    LedgerError::Sqlite { path: path.into(), source, hint }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(plugin: &str, model: &str, chars: u64, cost: f64) -> Entry {
        Entry {
            plugin: plugin.into(),
            model: model.into(),
            voice: "v".into(),
            characters: chars,
            audio_seconds: 1.5,
            cost_usd: cost,
        }
    }

    #[test]
    fn totals_group_by_plugin_and_model() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("sub/usage.sqlite3")).unwrap();
        ledger.record(&entry("cloud", "openai/tts-1", 10, 0.25)).unwrap();
        ledger.record(&entry("cloud", "openai/tts-1", 30, 0.5)).unwrap();
        ledger.record(&entry("example", "example", 5, 0.0)).unwrap();
        let totals = ledger.totals(None).unwrap();
        assert_eq!(totals.len(), 2);
        assert_eq!((totals[0].requests, totals[0].characters, totals[0].cost_usd), (2, 40, 0.75));
        assert_eq!(totals[0].audio_seconds, 3.0);
        assert_eq!(totals[1].model, "example");
        assert!(ledger.totals(Some("1999-01")).unwrap().is_empty());
        let (first, _) = ledger.span().unwrap().unwrap();
        assert_eq!(ledger.totals(Some(&first[..7])).unwrap().len(), 2);
    }

    #[test]
    fn months_are_checked() {
        assert!(check_month("2026-11").is_ok());
        assert!(check_month("2026-13").is_err());
        assert!(check_month("26-11").is_err());
    }

    #[test]
    fn a_garbage_file_is_an_error_that_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let message = Ledger::open(&path).err().expect("garbage is not a ledger").to_string();
        assert!(message.contains("damaged"), "{message}");
    }
}
