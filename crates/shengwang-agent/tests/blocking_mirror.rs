//! The blocking client mirrors the async one: every public method of the async `Client`,
//! `ClientBuilder`, resource handles and list builders exists on its blocking twin under the
//! same name (`stream` becomes `iter`). Read from the source, so adding an async method without
//! its blocking twin fails here.

use std::collections::{BTreeMap, BTreeSet};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/");

/// `pub fn` / `pub async fn` names per `impl` target in a rustfmt-formatted file.
fn pub_fns(file: &str) -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(format!("{SRC}{file}")).unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("impl") {
            // `impl<'c> Agents<'c> {`, `impl ClientBuilder {`; trait impls are not API here.
            if rest.contains(" for ") || !rest.trim_end().ends_with('{') {
                current = None;
                continue;
            }
            let rest = rest.trim_start();
            let rest = if rest.starts_with('<') {
                &rest[rest.find('>').unwrap() + 1..]
            } else {
                rest
            };
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            current = Some(name);
        } else if line == "}" {
            current = None;
        } else if let Some(target) = &current {
            let t = line.trim_start();
            let indent = line.len() - t.len();
            let name = t
                .strip_prefix("pub fn ")
                .or_else(|| t.strip_prefix("pub async fn "));
            if let (4, Some(name)) = (indent, name) {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.entry(target.clone()).or_default().insert(name);
            }
        }
    }
    out
}

fn methods(file: &str, target: &str) -> BTreeSet<String> {
    pub_fns(file)
        .remove(target)
        .unwrap_or_else(|| panic!("no `impl {target}` in {file}"))
}

/// (async file, async type, blocking type): blocking types live in `blocking/mod.rs`.
const PAIRS: &[(&str, &str, &str)] = &[
    ("client.rs", "Client", "Client"),
    ("client.rs", "ClientBuilder", "ClientBuilder"),
    ("api/agents.rs", "Agents", "Agents"),
    ("api/agents.rs", "ListAgents", "ListAgents"),
    ("api/telephony.rs", "Telephony", "Telephony"),
    ("api/telephony.rs", "ListCalls", "ListCalls"),
    ("api/phone_numbers.rs", "PhoneNumbers", "PhoneNumbers"),
];

/// Methods the blocking side has on purpose and the async side does not need.
const BLOCKING_ONLY: &[(&str, &str)] = &[
    ("Client", "as_async"),
    ("ClientBuilder", "configure"),
    ("ListAgents", "iter"),
    ("ListCalls", "iter"),
];

#[test]
fn every_async_method_has_a_blocking_twin() {
    let blocking = pub_fns("blocking/mod.rs");
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    for (file, async_ty, blocking_ty) in PAIRS {
        let wanted: BTreeSet<String> = methods(file, async_ty)
            .into_iter()
            .map(|m| if m == "stream" { "iter".into() } else { m })
            .collect();
        let have = blocking
            .get(*blocking_ty)
            .unwrap_or_else(|| panic!("no `impl {blocking_ty}` in blocking/mod.rs"));
        for m in wanted.difference(have) {
            missing.push(format!("blocking::{blocking_ty}::{m}"));
        }
        for m in have.difference(&wanted) {
            if !BLOCKING_ONLY.contains(&(blocking_ty, m.as_str())) {
                extra.push(format!("blocking::{blocking_ty}::{m}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "async methods without a blocking twin: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "blocking methods with no async original: {extra:?}"
    );
}

#[test]
fn the_parser_sees_what_it_should() {
    // Guards the test above against reading nothing: a parser that finds no methods would
    // pass it vacuously.
    let client = methods("client.rs", "ClientBuilder");
    for m in ["app_id", "timeout", "http_client", "build", "from_env"] {
        assert!(client.contains(m), "{m} not found in {client:?}");
    }
    let agents = methods("api/agents.rs", "Agents");
    assert!(agents.contains("start") && agents.contains("list") && !agents.contains("call"));
    assert!(methods("blocking/mod.rs", "ListAgents").contains("iter"));
}
