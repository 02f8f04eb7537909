//! What goes over the wire: headers, bodies, the golden start request, and no secret in logs,
//! errors or `Debug` output.

mod support;

use convoai_emulator::Emulator;
use serde_json::{json, Value};
use shengwang_agent::types::agents::*;
use shengwang_agent::Client;

#[tokio::test]
async fn headers_bodies_and_auth_on_the_wire() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .user_agent_suffix("wire-test")
        .build()
        .unwrap();
    let agents = client.agents();
    let id = agents
        .start(&support::start_request(&emu, "w", "k"))
        .await
        .unwrap()
        .agent_id
        .clone();
    agents.get(&id).await.unwrap();
    agents.interrupt(&id).await.unwrap();
    agents.speak(&id, &SpeakRequest::new("hi")).await.unwrap();
    agents.stop(&id).await.unwrap();
    let log = emu.recent_requests();
    assert_eq!(log.len(), 5);
    for r in &log {
        let ua = r.user_agent.as_deref().unwrap();
        assert!(
            ua.starts_with(&format!(
                "shengwang-agent-rust/{} ",
                env!("CARGO_PKG_VERSION")
            )),
            "{ua}"
        );
        assert!(ua.ends_with("wire-test"));
        // Every request carries a token, direct low-level calls included.
        assert_eq!(r.auth_scheme, "agora token", "{}", r.path);
        let has_body = r.content_length.unwrap_or(0) > 0;
        let json = r.content_type.as_deref() == Some("application/json");
        assert_eq!(
            has_body, json,
            "{} {}: content-type only with a body",
            r.method, r.path
        );
    }
    let bodiless: Vec<_> = log
        .iter()
        .filter(|r| r.content_length.unwrap_or(0) == 0)
        .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
        .collect();
    // interrupt sends `{}`, as the official clients do.
    assert_eq!(bodiless, [id.clone(), "leave".into()]);
    // A body-less POST still says its length (RFC 9110 §8.6; some front ends answer 411).
    let leave = log.iter().find(|r| r.path.ends_with("/leave")).unwrap();
    assert_eq!(
        leave.content_length,
        Some(0),
        "leave carries Content-Length: 0"
    );
    let interrupt = log.iter().find(|r| r.path.ends_with("/interrupt")).unwrap();
    assert_eq!(interrupt.content_length, Some(2), "interrupt carries {{}}");
}

#[test]
fn a_fully_populated_start_request_matches_the_golden_file() {
    let golden: Value = serde_json::from_str(include_str!("fixtures/start_request.json")).unwrap();
    let parsed: StartAgentRequest = serde_json::from_value(golden.clone()).unwrap();
    assert_eq!(
        parsed.properties.extra["future_field"],
        json!({"kept": true})
    );
    assert_eq!(serde_json::to_value(&parsed).unwrap(), golden);
    // The blocks are typed, not opaque.
    use shengwang_agent::types::config::*;
    let p = &parsed.properties;
    assert_eq!(p.geofence.as_ref().unwrap().area, GeofenceArea::Global);
    assert_eq!(
        p.geofence.as_ref().unwrap().exclude_area,
        Some(GeofenceArea::Europe)
    );
    assert_eq!(p.advanced_features.as_ref().unwrap().enable_rtm, Some(true));
    assert_eq!(
        p.rtc.as_ref().unwrap().encryption_mode,
        Some(EncryptionMode::Aes256Gcm)
    );
    assert_eq!(
        p.parameters.as_ref().unwrap().data_channel,
        Some(DataChannel::Rtm)
    );
    let eos = p
        .turn_detection
        .as_ref()
        .unwrap()
        .config
        .as_ref()
        .unwrap()
        .end_of_speech
        .as_ref();
    assert_eq!(eos.unwrap().mode, Some(EndOfSpeechMode::Semantic));
    assert_eq!(p.sal.as_ref().unwrap().sal_mode, Some(SalMode::Locking));
    assert!(
        !format!("{:?}", p.rtc).contains("\"k\""),
        "encryption key hidden from Debug"
    );
    let bad_mode = serde_json::from_value::<RtcEncryption>(json!({"encryption_mode": 9}));
    assert!(bad_mode.is_err());
    // Unset options are left out, not sent as null.
    let minimal = StartAgentRequest {
        name: "n".into(),
        properties: StartProperties::default(),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&minimal).unwrap(),
        json!({"name": "n", "properties": {"channel": "", "token": "", "agent_rtc_uid": "", "remote_rtc_uids": []}})
    );
}
