//! What the client does with responses it cannot use: each is a typed error, never a panic.

mod support;

use convoai_emulator::{Emulator, Fault, FaultRule};
use shengwang_agent::{Client, Error, ErrorReason, RetryPolicy};

#[tokio::test]
async fn bad_2xx_bodies_are_decode_errors_with_the_status() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = support::client(&emu, RetryPolicy::none());
    let huge = format!("{{\"agent_id\": \"{}\"}}", "x".repeat(9 * 1024 * 1024));
    let cases: Vec<(u16, String, &str)> = vec![
        (200, "<html>ok</html>".into(), "expected value"),
        (200, "{\"agent_id\": \"A\", \"status\": ".into(), "EOF"),
        (
            200,
            "{\"agent_id\": 5, \"status\": \"RUNNING\"}".into(),
            "invalid type",
        ),
        (202, "".into(), "EOF"),
        (200, huge, "larger than"),
    ];
    for (status, body, message_has) in cases {
        emu.push_fault(
            FaultRule::new(Fault::Respond {
                status,
                body: body.clone(),
            })
            .method("GET"),
        );
        match client.agents().get("A").await {
            Err(Error::Decode {
                status: s,
                message,
                body: raw,
            }) => {
                assert_eq!(s, status);
                assert!(message.contains(message_has), "{message}");
                assert!(raw.len() <= 512);
            }
            other => panic!("{status} {:?}: {other:?}", &body[..body.len().min(40)]),
        }
    }
}

#[tokio::test]
async fn error_bodies_of_any_shape_become_api_errors() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = support::client(&emu, RetryPolicy::none());
    let cases = [
        (503, "<html>bad gateway</html>", ErrorReason::Unknown, None),
        (
            400,
            "{\"detail\": \"x: bad\", \"reason\": \"BrandNewReason\"}",
            ErrorReason::Other("BrandNewReason".into()),
            Some("x: bad"),
        ),
        (429, "", ErrorReason::Unknown, None),
    ];
    for (status, body, reason, detail) in cases {
        emu.push_fault(
            FaultRule::new(Fault::Respond {
                status,
                body: body.into(),
            })
            .method("GET"),
        );
        match client.agents().get("A").await {
            Err(Error::Api {
                status: s,
                reason: r,
                detail: d,
                ..
            }) => {
                assert_eq!((s, r), (status, reason));
                assert_eq!(d.as_deref(), detail);
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[test]
fn from_env_reads_every_variable_and_names_bad_ones() {
    // The only test in this binary that touches the environment.
    let set = |k: &str, v: &str| std::env::set_var(k, v);
    set("SHENGWANG_APP_ID", "0123456789abcdef0123456789abcdef");
    set(
        "SHENGWANG_APP_CERTIFICATE",
        "fedcba9876543210fedcba9876543210",
    );
    set("SHENGWANG_CUSTOMER_ID", "cid");
    set("SHENGWANG_CUSTOMER_SECRET", "csecret");
    set(
        "SHENGWANG_BASE_URL",
        "http://127.0.0.1:9/api/conversational-ai-agent",
    );
    set("SHENGWANG_AREA", "us");
    let c = Client::from_env().unwrap();
    assert_eq!(c.auth_mode(), "basic");
    assert_eq!(
        c.current_base_url(),
        "http://127.0.0.1:9/api/conversational-ai-agent"
    );
    set("SHENGWANG_AREA", "mars");
    match Client::from_env() {
        Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "SHENGWANG_AREA"),
        other => panic!("{other:?}"),
    }
    for k in [
        "SHENGWANG_APP_ID",
        "SHENGWANG_APP_CERTIFICATE",
        "SHENGWANG_CUSTOMER_ID",
        "SHENGWANG_CUSTOMER_SECRET",
        "SHENGWANG_BASE_URL",
        "SHENGWANG_AREA",
    ] {
        std::env::remove_var(k);
    }
    match Client::from_env() {
        Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "SHENGWANG_APP_ID"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn clients_are_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Client>();
    assert_send_sync::<shengwang_agent::blocking::Client>();
    // An `Arc` and a flag telling the user's handles from the SDK's own.
    assert!(std::mem::size_of::<Client>() <= 2 * std::mem::size_of::<usize>());
}
