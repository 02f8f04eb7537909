//! Arbitrary requests into the emulator's router: every endpoint, any method, any body, with
//! and without valid credentials. It must answer, and never with a 5xx.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const PATHS: [&str; 12] = [
    "join", "agents", "agents/{id}", "agents/{id}/history", "agents/{id}/leave",
    "agents/{id}/update", "agents/{id}/speak", "agents/{id}/interrupt", "agents/{id}/think",
    "agents/{id}/turns?page_index=0&page_size=99999", "call", "calls/{id}/hangup",
];
const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "DELETE", "PUT"];

fn setup() -> &'static (tokio::runtime::Runtime, axum::Router, String) {
    static S: OnceLock<(tokio::runtime::Runtime, axum::Router, String)> = OnceLock::new();
    S.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let router = convoai_emulator::Emulator::builder().router().unwrap();
        use base64::Engine as _;
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                convoai_emulator::DEV_CUSTOMER_ID,
                convoai_emulator::DEV_CUSTOMER_SECRET
            ))
        );
        (rt, router, basic)
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (rt, router, basic) = setup();
    let method = METHODS[data[0] as usize % METHODS.len()];
    let rest = &data[3..];
    let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len().min(24));
    let id = String::from_utf8_lossy(&rest[..split]).replace(['/', '?', '#', ' ', '%'], "");
    let body = rest.get(split + 1..).unwrap_or_default().to_vec();
    let path = if data[1] % 7 == 0 {
        format!("/api/conversational-ai-agent/v2/phone-numbers/{id}")
    } else {
        let p = PATHS[data[1] as usize % PATHS.len()].replace("{id}", &id);
        format!("/cn/api/conversational-ai-agent/v2/projects/{}/{p}", convoai_emulator::DEV_APP_ID)
    };
    let mut req = Request::builder().method(method).uri(path.as_str());
    if data[2] % 4 != 0 {
        req = req.header("authorization", basic.as_str());
    }
    let Ok(req) = req.header("content-type", "application/json").body(Body::from(body)) else {
        return;
    };
    let res = rt.block_on(router.clone().oneshot(req)).expect("the router is infallible");
    assert!(res.status().as_u16() < 500, "{method} {path} -> {}", res.status());
});
