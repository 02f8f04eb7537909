//! The blocking session API mirrors the async one: every public method and setter of
//! `Session`, `SessionBuilder`, `WeakSession`, `Say`, `Think` and `Update` exists on both
//! sides under the same name. Read from the sources, so adding a method to one side only
//! fails here.

use std::collections::BTreeSet;

const ASYNC: &[&str] = &[
    include_str!("../src/agentkit/session.rs"),
    include_str!("../src/agentkit/calls.rs"),
];
const BLOCKING: &[&str] = &[include_str!("../src/blocking/session.rs")];
const TYPES: &[&str] = &[
    "Session",
    "SessionBuilder",
    "WeakSession",
    "Say",
    "Think",
    "Update",
];
/// On one side only, on purpose.
const BLOCKING_ONLY: &[&str] = &["Session::as_async"];

/// The type of an inherent `impl` line (`impl<'s> Say<'s> {` → `Say`); none for trait impls.
fn impl_type(line: &str) -> Option<String> {
    if line.contains(" for ") {
        return None;
    }
    let mut rest = line.strip_prefix("impl")?;
    if let Some(generic) = rest.strip_prefix('<') {
        rest = &generic[generic.find('>')? + 1..];
    }
    let name: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    Some(name)
}

/// `Type::method` for every `pub fn` (or `pub async fn`, or `forward!` setter) inside an
/// inherent `impl Type` block.
fn public_methods(sources: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for src in sources {
        let mut current: Option<String> = None;
        let mut forward_next = false;
        for line in src.lines() {
            if line.starts_with("impl") {
                current = impl_type(line);
                continue;
            }
            if line.starts_with('}') {
                current = None;
                continue;
            }
            let Some(ty) = &current else { continue };
            if !TYPES.contains(&ty.as_str()) {
                continue;
            }
            let t = line.trim_start();
            if forward_next {
                forward_next = false;
                if let Some(name) = t.split('(').next() {
                    out.insert(format!("{ty}::{name}"));
                }
                continue;
            }
            if t.starts_with("forward!(") {
                forward_next = true;
                continue;
            }
            for prefix in ["pub fn ", "pub async fn "] {
                if let Some(rest) = t.strip_prefix(prefix) {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    out.insert(format!("{ty}::{name}"));
                }
            }
        }
    }
    out
}

#[test]
fn blocking_and_async_sessions_have_the_same_methods() {
    let a = public_methods(ASYNC);
    let mut b = public_methods(BLOCKING);
    for only in BLOCKING_ONLY {
        assert!(
            b.remove(*only),
            "{only} is listed as blocking-only but is gone"
        );
    }
    // The parser must see the API at all, or this test proves nothing.
    for must in [
        "Session::start",
        "SessionBuilder::stop_on_drop",
        "Say::priority",
        "Think::on_speaking",
    ] {
        assert!(a.contains(must), "async side: {must} not found in {a:?}");
        assert!(b.contains(must), "blocking side: {must} not found in {b:?}");
    }
    let only_async: Vec<_> = a.difference(&b).collect();
    let only_blocking: Vec<_> = b.difference(&a).collect();
    assert!(
        only_async.is_empty() && only_blocking.is_empty(),
        "the session APIs drifted: async only {only_async:?}, blocking only {only_blocking:?}"
    );
}

#[test]
fn a_method_on_one_side_only_is_seen() {
    let a = public_methods(&[
        "impl Session {\n    pub async fn start(&self) {}\n    pub fn extra(&self) {}\n}\n",
    ]);
    let b = public_methods(&["impl Session {\n    pub fn start(&self) {}\n}\nimpl Drop for Session {\n    pub fn extra(&self) {}\n}\n"]);
    assert_eq!(
        a.difference(&b).collect::<Vec<_>>(),
        [&"Session::extra".to_owned()]
    );
}
