//! Tests that need something this machine may lack (Chromium and chromedriver, redis-server,
//! util-linux `script`, an example binary): when it is missing such a test is reported as
//! **ignored, with the reason**, in the normal `cargo test` output, never as passed; in CI it
//! fails instead, naming what is missing and how to install it.
//!
//! **In CI** means one thing in every test of the workspace: the `CI` environment variable is
//! set and is not empty, `0` or `false` (in any case). CI services set `CI=true`, and `.ci/run`
//! exports it itself.
//!
//! A test target using this has `harness = false` in its manifest (libtest's own harness
//! cannot ignore a test once it runs) and a `main` that hands its [`Trial`]s to [`run`]; a test
//! that needs something builds its trial with [`needs`] and returns `Err(Missing)` when it
//! cannot have it. The summary stays libtest's: `test result: ok. N passed; 0 failed; M ignored`.
//!
//! The emulator's, the SDK's and the CLI's tests all use this one file (the latter two include
//! it by path).
#![allow(dead_code)] // each test target uses a different subset

use std::ffi::OsString;
use std::fmt::Display;
use std::path::PathBuf;
use std::sync::Mutex;

pub use libtest_mimic::Trial;
use libtest_mimic::{Arguments, Completion, Failed};

/// Whether the tests run in CI, where every test must run what it tests.
pub fn in_ci() -> bool {
    ci_means_yes(std::env::var_os("CI"))
}

fn ci_means_yes(value: Option<OsString>) -> bool {
    let Some(value) = value else { return false };
    let value = value.to_string_lossy();
    let value = value.trim();
    !(value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false"))
}

/// Why a test cannot run the real component it tests, and how to get it.
#[derive(Debug)]
pub struct Missing(pub String);

impl Missing {
    pub fn new(why: impl Display) -> Self {
        Missing(why.to_string())
    }
}

/// The reasons given by the tests ignored in this run, repeated on stderr at the end.
static IGNORED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A test that needs something the machine may lack: `body` runs the test (panicking when it
/// fails) or returns `Err(Missing)` before testing anything.
pub fn needs(name: &str, body: impl FnOnce() -> Result<(), Missing> + Send + 'static) -> Trial {
    let test = name.to_owned();
    Trial::ignorable_test(name, move || match body() {
        Ok(()) => Ok(Completion::Completed),
        Err(Missing(why)) if in_ci() => Err(Failed::from(format!(
            "{why}\n(CI is set, and in CI a test that cannot run what it tests fails)"
        ))),
        Err(Missing(why)) => {
            let note = format!("{test}: {why}");
            IGNORED.lock().unwrap_or_else(|p| p.into_inner()).push(note);
            Ok(Completion::ignored_with(why))
        }
    })
}

/// A test that always runs.
pub fn test(name: &str, body: impl FnOnce() + Send + 'static) -> Trial {
    Trial::test(name, move || {
        body();
        Ok(())
    })
}

/// The program `names` on `PATH`, or the one the environment variable `env` names (a path, or
/// a name looked up on `PATH`). `install` says how to get it.
pub fn program(env: &str, names: &[&str], install: &str) -> Result<PathBuf, Missing> {
    let (wanted, looked) = match std::env::var(env) {
        Ok(v) if !v.trim().is_empty() => (vec![v.clone()], format!("{v} (from ${env}) not found")),
        _ => (
            names.iter().map(|n| n.to_string()).collect(),
            format!(
                "{} not found on PATH (nor set in ${env})",
                names.join(" or ")
            ),
        ),
    };
    for name in &wanted {
        let direct = PathBuf::from(name);
        if direct.components().count() > 1 {
            if direct.is_file() {
                return Ok(direct);
            }
            continue;
        }
        let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
        let path = std::env::var_os("PATH").unwrap_or_default();
        if let Some(found) = std::env::split_paths(&path)
            .map(|dir| dir.join(&file))
            .find(|p| p.is_file())
        {
            return Ok(found);
        }
    }
    Err(Missing::new(format_args!(
        "{looked}; install it with `{install}`"
    )))
}

/// Runs `trials` as libtest would (same arguments, output and exit code), then repeats on
/// stderr why any were ignored.
pub fn run(trials: Vec<Trial>) -> ! {
    let conclusion = libtest_mimic::run(&Arguments::from_args(), trials);
    let ignored = IGNORED.lock().unwrap_or_else(|p| p.into_inner());
    for note in ignored.iter() {
        eprintln!("ignored, not run: {note}");
    }
    drop(ignored);
    conclusion.exit()
}

/// A test of what "in CI" means, for one target to list among its trials.
pub fn ci_definition() -> Trial {
    test("harness::ci_is_set_unless_empty_zero_or_false", || {
        ci_is_set_unless_empty_zero_or_false()
    })
}

fn ci_is_set_unless_empty_zero_or_false() {
    for (value, yes) in [
        (None, false),
        (Some(""), false),
        (Some(" "), false),
        (Some("0"), false),
        (Some("false"), false),
        (Some("FALSE"), false),
        (Some("true"), true),
        (Some("1"), true),
        (Some("yes"), true),
    ] {
        assert_eq!(ci_means_yes(value.map(OsString::from)), yes, "{value:?}");
    }
}
