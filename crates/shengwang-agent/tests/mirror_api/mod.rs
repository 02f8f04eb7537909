//! The crate's public API as rustdoc sees it (rustdoc's JSON output), for the tests that check
//! that the blocking API mirrors the async one: `blocking_mirror.rs` (every pair) and
//! `session_api_pairs.rs` (the session types). Nothing here reads source text: a method is
//! public API when rustdoc documents it, whichever file or macro it comes from.
//!
//! The JSON comes from `cargo rustdoc -- --output-format json` on this crate, run once per test
//! binary (a few seconds when nothing changed). Its `-Z unstable-options` needs
//! `RUSTC_BOOTSTRAP=1` on a stable toolchain, given to rustdoc alone through a wrapper so the
//! dependencies' fingerprints (proc-macro2 reads that variable) and the shared target directory
//! are left as every other build has them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use shengwang_agent::serde_json::{self, Value};

/// A public struct: its name, whether it is in `blocking`, and its public inherent methods with
/// their parameter names (`self` aside).
#[derive(Debug, Clone)]
pub struct Type {
    pub name: String,
    pub blocking: bool,
    pub methods: BTreeMap<String, Vec<String>>,
}

/// Methods the blocking side has on purpose and the async side does not: `(type, method)`.
pub const BLOCKING_ONLY: &[(&str, &str)] = &[
    // The async value underneath each blocking handle that wraps one.
    ("Client", "as_async"),
    ("Session", "as_async"),
    ("SessionHub", "as_async"),
    // Any async builder setting, including ones added later.
    ("ClientBuilder", "configure"),
];

/// Async methods with no blocking twin, on purpose: `(type, method)`. None today.
pub const ASYNC_ONLY: &[(&str, &str)] = &[];

/// Blocking types with no async type of the same name: what async streams become.
pub const BLOCKING_ONLY_TYPES: &[&str] = &["Iter", "Subscription"];

/// The blocking name of an async method: a stream becomes an iterator (`stream` → `iter`,
/// `turn_stream` → `turn_iter`); every other name is the same.
pub fn twin_name(async_name: &str) -> String {
    match async_name.strip_suffix("stream") {
        Some(stem) if stem.is_empty() || stem.ends_with('_') => format!("{stem}iter"),
        _ => async_name.to_owned(),
    }
}

/// What differs between an async type and its blocking twin, as readable lines; empty when
/// they mirror each other (minus the exception lists).
pub fn compare(a: &Type, b: &Type) -> Vec<String> {
    let ty = b.name.as_str();
    let mut problems = Vec::new();
    let mut wanted = BTreeSet::new();
    for (name, params) in &a.methods {
        if ASYNC_ONLY.contains(&(ty, name.as_str())) {
            continue;
        }
        let twin = twin_name(name);
        match b.methods.get(&twin) {
            None => problems.push(format!("{ty}::{name} has no blocking twin `{twin}`")),
            Some(p) if p != params => problems.push(format!(
                "{ty}::{name} takes ({}) but blocking {ty}::{twin} takes ({})",
                params.join(", "),
                p.join(", ")
            )),
            Some(_) => {}
        }
        wanted.insert(twin);
    }
    for name in b.methods.keys() {
        if !wanted.contains(name) && !BLOCKING_ONLY.contains(&(ty, name.as_str())) {
            problems.push(format!("blocking {ty}::{name} has no async original"));
        }
    }
    problems
}

/// Every blocking type with its async twin (same name, outside `blocking`); a blocking type
/// without one, or with several, is a problem unless listed in [`BLOCKING_ONLY_TYPES`].
pub fn pairs(types: &[Type]) -> (Vec<(&Type, &Type)>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for b in types.iter().filter(|t| t.blocking) {
        if BLOCKING_ONLY_TYPES.contains(&b.name.as_str()) {
            continue;
        }
        let twins: Vec<&Type> = types
            .iter()
            .filter(|a| !a.blocking && a.name == b.name)
            .collect();
        match twins.as_slice() {
            [a] => out.push((*a, b)),
            [] => problems.push(format!(
                "blocking::{} has no async type of that name",
                b.name
            )),
            _ => problems.push(format!("blocking::{} has several async namesakes", b.name)),
        }
    }
    (out, problems)
}

/// The crate's public structs, read from rustdoc's JSON (generated once per test binary).
pub fn public_types() -> &'static [Type] {
    static TYPES: OnceLock<Vec<Type>> = OnceLock::new();
    TYPES.get_or_init(|| types_of(&rustdoc_json()))
}

/// The public structs of a rustdoc JSON document, with their inherent public methods.
pub fn types_of(doc: &Value) -> Vec<Type> {
    let index = doc["index"].as_object().expect("rustdoc JSON has an index");
    let paths = doc["paths"].as_object().expect("rustdoc JSON has paths");
    let mut out = Vec::new();
    for (id, item) in index {
        let (Some(name), Some(s)) = (item["name"].as_str(), item["inner"].get("struct")) else {
            continue;
        };
        if item["crate_id"] != 0 {
            continue;
        }
        let path = paths[id]["path"].as_array().cloned().unwrap_or_default();
        let blocking = path.get(1).and_then(Value::as_str) == Some("blocking");
        let mut methods = BTreeMap::new();
        for impl_id in s["impls"].as_array().into_iter().flatten() {
            let Some(imp) = index.get(&id_key(impl_id)).map(|i| &i["inner"]["impl"]) else {
                continue;
            };
            if !imp["trait"].is_null() || imp["is_synthetic"] == true {
                continue;
            }
            for m in imp["items"].as_array().into_iter().flatten() {
                let Some(f) = index.get(&id_key(m)) else {
                    continue;
                };
                let (Some(fname), Some(func)) = (f["name"].as_str(), f["inner"].get("function"))
                else {
                    continue;
                };
                let params = func["sig"]["inputs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p[0].as_str())
                    .filter(|p| *p != "self")
                    .map(str::to_owned)
                    .collect();
                methods.insert(fname.to_owned(), params);
            }
        }
        out.push(Type {
            name: name.to_owned(),
            blocking,
            methods,
        });
    }
    out
}

fn id_key(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Runs `cargo rustdoc` on this crate with JSON output and reads the result.
fn rustdoc_json() -> Value {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let rustdoc = std::env::var_os("RUSTDOC").unwrap_or_else(|| "rustdoc".into());
    let out = Command::new(cargo)
        .args(["rustdoc", "--lib", "--quiet", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .env("RUSTDOC", bootstrap_wrapper())
        .env("MIRROR_API_RUSTDOC", rustdoc)
        .env_remove("RUSTC_BOOTSTRAP")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo rustdoc --output-format json failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = target.join("doc").join("shengwang_agent.json");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    serde_json::from_str(&text).expect("rustdoc JSON parses")
}

/// A script that runs the real rustdoc with `RUSTC_BOOTSTRAP=1`, written once (atomically) to
/// the test's temporary directory under a fixed name, so cargo sees the same `RUSTDOC` each run.
fn bootstrap_wrapper() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("rustdoc-json.sh");
    let script = "#!/bin/sh\nRUSTC_BOOTSTRAP=1 exec \"$MIRROR_API_RUSTDOC\" \"$@\"\n";
    if std::fs::read_to_string(&path).ok().as_deref() != Some(script) {
        let tmp = dir.join(format!("rustdoc-json.{}.sh", std::process::id()));
        std::fs::write(&tmp, script).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}
