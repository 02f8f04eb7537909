//! `Error::is_timeout()` / `is_connect()` and the source chain of transport failures: the
//! HTTP library's error is kept (without the request's URL) and `Display` stays one line.

use std::error::Error as _;
use std::net::TcpListener;
use std::time::Duration;

use shengwang_agent::{Client, Error, RetryPolicy};

const APP_ID: &str = "0123456789abcdef0123456789abcdef";
const CERT: &str = "5e571e1c0de5e571e1c0de5e571e1c0d";

fn client(base: &str) -> Client {
    Client::builder()
        .app_id(APP_ID)
        .app_certificate(CERT)
        .base_url(base)
        .retry(RetryPolicy::none())
        .timeout(Duration::from_secs(2))
        .attempt_timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

/// Every error of `e`'s source chain, `e` excluded.
fn chain(e: &Error) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = e.source();
    while let Some(s) = next {
        out.push(s.to_string());
        next = s.source();
    }
    out
}

#[tokio::test]
async fn a_silent_server_is_a_timeout() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for conn in listener.incoming().take(4) {
            conns.push(conn);
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    let err = client(&format!("http://{addr}"))
        .agents()
        .get("AGENT1")
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(!err.is_connect(), "{err:?}");
    assert!(err.is_retryable(), "{err:?}");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("request timed out") && !text.contains('\n'),
        "{text}"
    );
    drop(held);
}

#[tokio::test]
async fn a_closed_port_is_a_connect_failure_with_its_cause_kept() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = client(&format!("http://127.0.0.1:{port}"))
        .agents()
        .get("AGENT1")
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("connection failed") && !text.contains('\n'),
        "{text}"
    );
    // The HTTP library's error is the source, without the request's URL, and its own chain
    // reaches the OS error.
    let source = err.source().expect("a source");
    let reqwest = source
        .downcast_ref::<reqwest::Error>()
        .expect("reqwest's error");
    assert!(reqwest.url().is_none(), "{reqwest:?}");
    assert!(reqwest.is_connect(), "{reqwest:?}");
    let causes = chain(&err);
    assert!(causes.len() >= 2, "{causes:?}");
    assert!(
        causes
            .iter()
            .all(|c| !c.contains(APP_ID) && !c.contains(CERT)),
        "{causes:?}"
    );
    assert!(!format!("{err:?}").contains(CERT));
}
