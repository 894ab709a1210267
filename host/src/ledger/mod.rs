//! The usage ledger: one SQLite row per finished request (time, plugin, model, voice, characters,
//! audio seconds, cost) in `<data_dir>/usage.sqlite3`, and totals by provider and model.
//!
//! The file is opened in WAL mode with a busy timeout, so several chorus processes can write at
//! once. Writing is best effort and off every request's path: finished requests go to one writer
//! thread over a bounded queue ([`Writer`]), which turns every ledger error into a logged, counted
//! warning and never delays or fails a synthesis over it. Reports open the file read-only
//! ([`Ledger::open_read_only`]), so they work on a file or folder chorus may not write.

mod writer;

pub use writer::{BACKLOG, Stats, Writer};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
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

    /// Open the ledger at `path` read-only, for reports; `None` when there is no file. Nothing is
    /// created or written. In a folder chorus may not write, where SQLite cannot make the WAL's
    /// shared-memory file, the file is read as immutable (as it stands on disk).
    pub fn open_read_only(path: &Path) -> Result<Option<Self>, LedgerError> {
        if !path.exists() {
            return Ok(None);
        }
        let err = |source| sqlite_error(path, source);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let probe =
            |conn: &Connection| conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get::<_, i64>(0));
        let conn = Connection::open_with_flags(path, flags).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        let conn = match probe(&conn) {
            Ok(_) => conn,
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
                ) =>
            {
                drop(conn);
                let conn = Connection::open_with_flags(immutable_uri(path), flags).map_err(err)?;
                probe(&conn).map_err(err)?;
                conn
            }
            Err(e) => return Err(err(e)),
        };
        Ok(Some(Self { path: path.into(), conn: Mutex::new(conn) }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one finished request, stamped with the current UTC time.
    pub fn record(&self, entry: &Entry) -> Result<(), LedgerError> {
        self.record_all(std::slice::from_ref(entry))
    }

    /// Append finished requests in one transaction: all of them or none.
    pub fn record_all(&self, entries: &[Entry]) -> Result<(), LedgerError> {
        let err = |source| sqlite_error(&self.path, source);
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let transaction = rusqlite::Transaction::new_unchecked(&conn, TransactionBehavior::Immediate).map_err(err)?;
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO usage (plugin, model, voice, characters, audio_seconds, cost_usd) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(err)?;
            for e in entries {
                insert
                    .execute(params![e.plugin, e.model, e.voice, e.characters as i64, e.audio_seconds, e.cost_usd])
                    .map_err(err)?;
            }
        }
        transaction.commit().map_err(err)
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

/// Validate a `YYYY-MM` month.
pub fn check_month(month: &str) -> Result<(), LedgerError> {
    let ok = month.len() == 7
        && month.as_bytes()[4] == b'-'
        && month[..4].bytes().all(|b| b.is_ascii_digit())
        && month[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m));
    if ok { Ok(()) } else { Err(LedgerError::BadMonth(month.into())) }
}

/// `path` as an SQLite URI that opens it immutable: read as it stands, no lock or WAL files.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

fn sqlite_error(path: &Path, source: rusqlite::Error) -> LedgerError {
    let hint = match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            " (another program holds a lock on it; usage was not recorded this time)"
        }
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            " (the file is damaged; move it aside and chorus starts a new ledger)"
        }
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen) => {
            " (chorus may not write the file or its folder)"
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
