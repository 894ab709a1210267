//! `cargo xtask test`: install what the tests need, build every crate (plugins, fixtures, the
//! binary), then run the whole workspace's tests.

use crate::{cargo, setup, sh};
use anyhow::Result;

pub fn run(args: &[String]) -> Result<()> {
    crate::deps::ensure()?;
    setup::run(&setup::SetupArgs::default())?;
    let python = crate::pyenv::ensure_test_python()?;
    // SAFETY: single-threaded at this point; children inherit the variable.
    unsafe { std::env::set_var("CHORUS_TEST_PYTHON", &python) };
    sh(&cargo(), &["build", "--workspace"])?;
    // SAFETY: as above. Tells the tests' support code that every plugin and binary is built.
    unsafe { std::env::set_var("CHORUS_TESTS_PREBUILT", "1") };
    let mut test = vec!["test", "--workspace", "--no-fail-fast"];
    test.extend(args.iter().map(String::as_str));
    sh(&cargo(), &test)
}
