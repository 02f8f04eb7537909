//! `Client::from_env()`: every error names the variable at fault and never quotes its value.
//! One test in this binary, so nothing else reads the environment while it changes.

use shengwang_agent::{Client, ClientBuilder, Error};

const VARS: [&str; 6] = [
    "SHENGWANG_APP_ID",
    "SHENGWANG_APP_CERTIFICATE",
    "SHENGWANG_CUSTOMER_ID",
    "SHENGWANG_CUSTOMER_SECRET",
    "SHENGWANG_BASE_URL",
    "SHENGWANG_AREA",
];
const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
const SENTINEL: &str = "SENTINEL-VALUE-77";

fn with_env(vars: &[(&str, &str)]) {
    for v in VARS {
        std::env::remove_var(v);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
}

fn error_of(vars: &[(&str, &str)]) -> String {
    with_env(vars);
    let err = Client::from_env().expect_err("should fail");
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains(SENTINEL), "echoes the value: {text}");
    assert_eq!(text.lines().count(), 1);
    text
}

#[test]
fn from_env_errors_name_the_variable() {
    let id = ("SHENGWANG_APP_ID", APP_ID);
    let cert = ("SHENGWANG_APP_CERTIFICATE", CERT);

    let e = error_of(&[]);
    assert!(
        e.contains("SHENGWANG_APP_ID") && e.contains("not set"),
        "{e}"
    );
    let e = error_of(&[id]);
    assert!(e.contains("SHENGWANG_APP_CERTIFICATE"), "{e}");
    let e = error_of(&[("SHENGWANG_APP_ID", SENTINEL), cert]);
    assert!(
        e.contains("SHENGWANG_APP_ID") && e.contains("32 hex"),
        "{e}"
    );
    let e = error_of(&[id, ("SHENGWANG_APP_CERTIFICATE", SENTINEL)]);
    assert!(e.contains("SHENGWANG_APP_CERTIFICATE"), "{e}");
    let e = error_of(&[id, cert, ("SHENGWANG_AREA", SENTINEL)]);
    assert!(e.contains("SHENGWANG_AREA"), "{e}");
    let e = error_of(&[id, cert, ("SHENGWANG_BASE_URL", SENTINEL)]);
    assert!(e.contains("SHENGWANG_BASE_URL"), "{e}");
    let e = error_of(&[id, cert, ("SHENGWANG_CUSTOMER_ID", SENTINEL)]);
    assert!(e.contains("SHENGWANG_CUSTOMER_SECRET"), "{e}");
    let e = error_of(&[id, cert, ("SHENGWANG_CUSTOMER_SECRET", SENTINEL)]);
    assert!(e.contains("SHENGWANG_CUSTOMER_ID"), "{e}");

    // And a complete environment builds, with every value applied.
    with_env(&[
        id,
        cert,
        ("SHENGWANG_CUSTOMER_ID", "cid"),
        ("SHENGWANG_CUSTOMER_SECRET", SENTINEL),
        (
            "SHENGWANG_BASE_URL",
            "http://127.0.0.1:9/api/conversational-ai-agent",
        ),
        ("SHENGWANG_AREA", "eu"),
    ]);
    let client = Client::from_env().unwrap();
    assert_eq!(client.auth_mode(), "basic");
    assert_eq!(
        client.current_base_url(),
        "http://127.0.0.1:9/api/conversational-ai-agent"
    );
    assert!(!format!("{client:?}").contains(SENTINEL));
    // The builder form leaves missing credentials to its setters.
    with_env(&[("SHENGWANG_AREA", "us")]);
    let built = ClientBuilder::from_env()
        .unwrap()
        .app_id(APP_ID)
        .app_certificate(CERT)
        .build();
    assert!(built.is_ok(), "{built:?}");
    with_env(&[]);
}
