//! The blocking session API mirrors the async one: every public method and setter of
//! `Session`, `SessionBuilder`, `WeakSession`, `Say`, `Think`, `Update` and `WaitReady`
//! exists on both sides under the same name (a stream becomes an iterator). Read from the
//! public API as rustdoc documents it (see `mirror_api`), so adding a method to one side only
//! fails here.

mod mirror_api;

use std::collections::BTreeMap;

use mirror_api::{compare, pairs, public_types, Type};

const TYPES: &[&str] = &[
    "Session",
    "SessionBuilder",
    "WeakSession",
    "Say",
    "Think",
    "Update",
    "WaitReady",
];

#[test]
#[cfg_attr(not(unix), ignore = "runs rustdoc through a POSIX shell wrapper")]
fn blocking_and_async_sessions_have_the_same_methods() {
    let (pairs, _) = pairs(public_types());
    let mut problems = Vec::new();
    for ty in TYPES {
        match pairs.iter().find(|(a, _)| a.name == *ty) {
            Some((a, b)) => problems.extend(compare(a, b)),
            None => problems.push(format!("no blocking twin of the async {ty}")),
        }
    }
    // The reader must see the API at all, or this test proves nothing.
    for (ty, must) in [
        ("Session", "start"),
        ("Session", "turn_iter"),
        ("SessionBuilder", "stop_on_drop"),
        ("Say", "priority"),
        ("Think", "on_speaking"),
    ] {
        let (_, b) = pairs.iter().find(|(a, _)| a.name == ty).unwrap();
        assert!(
            b.methods.contains_key(must),
            "blocking {ty}::{must} not found"
        );
    }
    assert!(
        problems.is_empty(),
        "the session APIs drifted:\n  {}",
        problems.join("\n  ")
    );
}

fn ty(name: &str, blocking: bool, methods: &[(&str, &[&str])]) -> Type {
    Type {
        name: name.into(),
        blocking,
        methods: methods
            .iter()
            .map(|(m, p)| (m.to_string(), p.iter().map(|s| s.to_string()).collect()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn a_method_on_one_side_only_is_seen() {
    let a = ty(
        "Session",
        false,
        &[("start", &[]), ("extra", &[]), ("turn_stream", &[])],
    );
    let b = ty(
        "Session",
        true,
        &[("start", &[]), ("turn_iter", &[]), ("as_async", &[])],
    );
    assert_eq!(
        compare(&a, &b),
        ["Session::extra has no blocking twin `extra`"]
    );
    let b2 = ty(
        "Session",
        true,
        &[
            ("start", &["x"]),
            ("extra", &[]),
            ("turn_iter", &[]),
            ("more", &[]),
        ],
    );
    assert_eq!(
        compare(&a, &b2),
        [
            "Session::start takes () but blocking Session::start takes (x)",
            "blocking Session::more has no async original",
        ]
    );
    // A blocking type with no async namesake is reported too.
    let types = [a.clone(), b, ty("Orphan", true, &[])];
    let (found, problems) = pairs(&types);
    assert_eq!(found.len(), 1);
    assert_eq!(
        problems,
        ["blocking::Orphan has no async type of that name"]
    );
}
