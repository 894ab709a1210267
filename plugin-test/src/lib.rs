//! chorus-plugin-test: run the host's conformance checks on a plugin from the plugin's own tests,
//! the same checks `chorus plugin check FILE` runs, through the same loader.
//!
//! In a plugin crate (`crate-type = ["cdylib"]`), with `chorus-plugin-test` as a dev-dependency,
//! `tests/conformance.rs`:
//!
//! ```no_run
//! #[test]
//! fn keeps_the_contract() {
//!     let options = chorus_plugin_test::Options::with_config_toml("[backends.mine]\nspeed = 2\n").unwrap();
//!     chorus_plugin_test::check(&chorus_plugin_test::this_plugin!(), &options).assert_passed();
//! }
//! ```
//!
//! `cargo test` builds the crate's library before its integration tests run; [`this_plugin!`]
//! finds it beside them. A failure prints the whole report: every check, pass, fail or skip, and why.

pub use chorus_host::conformance::{CheckResult, Options, Report, Status, check, check_with};

use std::path::PathBuf;

/// The library file that `cargo test` built for package `package`, in the target folder of the
/// running test binary (`target/<profile>/lib<package>.so`, dashes as underscores).
///
/// Panics with what to do when it is not there.
pub fn built_plugin(package: &str) -> PathBuf {
    let file = format!("{}{}{}", std::env::consts::DLL_PREFIX, package.replace('-', "_"), std::env::consts::DLL_SUFFIX);
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // target/<profile>/deps/<test binary>: the libraries sit in target/<profile>.
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("the test binary is in target/<profile>/deps");
    let path = profile.join(&file);
    assert!(
        path.exists(),
        "{} does not exist: is {package} a cdylib (crate-type = [\"cdylib\"])? Build it with `cargo build -p {package}`",
        path.display()
    );
    path
}

/// The plugin library of the package whose test calls it (see [`built_plugin`]).
#[macro_export]
macro_rules! this_plugin {
    () => {
        $crate::built_plugin(env!("CARGO_PKG_NAME"))
    };
}
