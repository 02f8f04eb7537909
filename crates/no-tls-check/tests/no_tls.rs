//! `default-features = false` removes HTTPS: `build()` must say so, naming the features to
//! enable, instead of building a client whose every call fails to connect.
//!
//! Which side is checked depends on the features cargo unified into the SDK for this run
//! (see `src/lib.rs`). `SHENGWANG_EXPECT_NO_TLS=1` (set by `.ci/features`) makes a build
//! with TLS a failure, so that run cannot quietly check the wrong side.

use shengwang_agent::{Client, ClientBuilder, Error};

const FEATURES: [&str; 3] = ["`rustls`", "`rustls-native-roots`", "`native-tls`"];

fn builder() -> ClientBuilder {
    Client::builder()
        .app_id("0123456789abcdef0123456789abcdef")
        .app_certificate("fedcba9876543210fedcba9876543210")
}

/// Whether the SDK in this build has a TLS stack: without one, extra roots are a
/// configuration error; with one, a bundle holding no certificate is an invalid input.
fn tls_compiled_in() -> bool {
    let probe = builder()
        .base_url("http://127.0.0.1:9")
        .add_root_certificate("no certificate here")
        .build();
    match probe {
        Err(Error::Config(m)) => {
            assert!(m.contains("TLS feature"), "{m}");
            false
        }
        Err(Error::InvalidInput { field, .. }) if field == "root_certificate" => true,
        other => panic!("unexpected probe result: {other:?}"),
    }
}

#[test]
fn https_needs_a_tls_feature_and_the_error_names_them() {
    let tls = tls_compiled_in();
    if std::env::var("SHENGWANG_EXPECT_NO_TLS").as_deref() == Ok("1") {
        assert!(!tls, "this run was meant to build the SDK without TLS");
    }
    let https = builder()
        .base_url("https://proxy.example:8443/api/conversational-ai-agent")
        .build();
    // No base URL: the area's hosts, which are https.
    let area = builder().build();
    let plain = builder().base_url("http://127.0.0.1:9").build();
    assert!(plain.is_ok(), "{plain:?}");
    if tls {
        assert!(https.is_ok() && area.is_ok(), "{https:?} {area:?}");
        return;
    }
    for result in [https, area] {
        let Err(e @ Error::Config(_)) = result else {
            panic!("expected a configuration error, got {result:?}");
        };
        let text = e.to_string();
        assert!(
            !text.contains('\n') && text.contains("without TLS"),
            "{text}"
        );
        for feature in FEATURES {
            assert!(text.contains(feature), "{text}");
        }
    }
}
