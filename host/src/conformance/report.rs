//! The outcome of a conformance run: one line per check (pass, fail or skip, with the reason),
//! as text for people and as JSON for tools.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// One check: its stable name, how it came out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

impl CheckResult {
    pub fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self { name, status: Status::Pass, detail: detail.into() }
    }
    pub fn fail(name: &'static str, detail: impl Into<String>) -> Self {
        Self { name, status: Status::Fail, detail: detail.into() }
    }
    pub fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self { name, status: Status::Skip, detail: format!("skipped: {}", detail.into()) }
    }
    /// Pass when `problems` is empty, else fail with the first few of them.
    pub fn from_problems(name: &'static str, problems: &[String], passed: impl Into<String>) -> Self {
        match problems {
            [] => Self::pass(name, passed),
            [one] => Self::fail(name, one.clone()),
            [first, second] => Self::fail(name, format!("{first}; {second}")),
            [first, second, rest @ ..] => Self::fail(name, format!("{first}; {second}; and {} more", rest.len())),
        }
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        write!(f, "  {status}  {:<14} {}", self.name, self.detail)
    }
}

/// A [`CheckResult`] as read back (from a worker process): its name must be one of
/// [`super::suite::NAMES`].
#[derive(Deserialize)]
struct Named {
    name: String,
    status: Status,
    detail: String,
}

impl<'de> Deserialize<'de> for CheckResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let read = Named::deserialize(deserializer)?;
        let name = super::suite::NAMES.iter().find(|n| **n == read.name);
        let name = name.ok_or_else(|| serde::de::Error::custom(format!("no check {:?}", read.name)))?;
        Ok(Self { name, status: read.status, detail: read.detail })
    }
}

/// Every check of one plugin file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub file: String,
    /// The plugin's name, once it loaded.
    pub plugin: Option<String>,
    /// The model name the requests used.
    pub model: Option<String>,
    pub passed: bool,
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// The check called `name`.
    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.name == name)
    }
    /// Names of the failed checks, in order.
    pub fn failed(&self) -> Vec<&'static str> {
        self.names(Status::Fail)
    }
    /// Names of the skipped checks, in order.
    pub fn skipped(&self) -> Vec<&'static str> {
        self.names(Status::Skip)
    }
    fn names(&self, status: Status) -> Vec<&'static str> {
        self.checks.iter().filter(|c| c.status == status).map(|c| c.name).collect()
    }
    /// Panic with the whole report unless every check passed or was skipped (for tests).
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.passed, "the plugin failed {:?}:\n{self}", self.failed());
    }
    /// The closing line: how many passed, failed and were skipped.
    pub fn summary(&self) -> String {
        let count = |s| self.checks.iter().filter(|c| c.status == s).count();
        format!("{} passed, {} failed, {} skipped", count(Status::Pass), count(Status::Fail), count(Status::Skip))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", heading(&self.file, self.plugin.as_deref(), self.model.as_deref()))?;
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        write!(f, "{}", self.summary())
    }
}

/// `checking FILE (plugin NAME, model MODEL)`.
pub fn heading(file: &str, plugin: Option<&str>, model: Option<&str>) -> String {
    match (plugin, model) {
        (Some(p), Some(m)) => format!("checking {file} (plugin {p}, model {m})"),
        (Some(p), None) => format!("checking {file} (plugin {p})"),
        _ => format!("checking {file}"),
    }
}
