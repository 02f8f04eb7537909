//! Parsing and verification: what a server (our emulator) relies on.

use shengwang_agent::token::{self, ServiceBody, ServiceType, TokenBuilder, Validation};
use shengwang_agent::{Error, TokenError};

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
const OTHER_CERT: &str = "0123456789abcdef0123456789ABCDEF";
const ISSUED: u32 = 1_700_000_000;

fn builder() -> TokenBuilder {
    TokenBuilder::new(APP_ID, CERT).unwrap().issue_ts(ISSUED)
}

fn validation() -> Validation {
    Validation::new(APP_ID, CERT)
        .unwrap()
        .at(u64::from(ISSUED) + 10)
}

fn token_error(r: shengwang_agent::Result<token::AccessToken>) -> TokenError {
    match r {
        Err(Error::Token(e)) => e,
        other => panic!("expected a token error, got {other:?}"),
    }
}

#[test]
fn a_fresh_convoai_token_verifies_for_its_channel_and_uid() {
    let t = builder().convo_ai("room-1", "1001").build().unwrap();
    let v = validation()
        .require_service(ServiceType::Rtc)
        .require_service(ServiceType::Rtm)
        .require_rtc_join("room-1", "1001");
    let content = token::verify(&t, &v).unwrap();
    assert_eq!(content.app_id, APP_ID);
    assert_eq!(content.expire, 86_400);
}

#[test]
fn a_token_signed_with_another_certificate_is_rejected() {
    let t = TokenBuilder::new(APP_ID, OTHER_CERT)
        .unwrap()
        .issue_ts(ISSUED)
        .convo_ai("room-1", "1001")
        .build()
        .unwrap();
    assert_eq!(
        token_error(token::verify(&t, &validation())),
        TokenError::SignatureMismatch
    );
}

#[test]
fn a_token_for_another_app_is_rejected_before_the_signature() {
    let other_app = "00000000000000000000000000000000";
    let t = TokenBuilder::new(other_app, CERT)
        .unwrap()
        .issue_ts(ISSUED)
        .rtm("u1")
        .build()
        .unwrap();
    assert_eq!(
        token_error(token::verify(&t, &validation())),
        TokenError::AppIdMismatch
    );
}

#[test]
fn expiry_is_judged_against_the_injected_clock() {
    let t = builder().rtm("u1").expire(600).build().unwrap();
    let base = Validation::new(APP_ID, CERT).unwrap();
    assert!(token::verify(&t, &base.clone().at(u64::from(ISSUED) + 599)).is_ok());
    assert_eq!(
        token_error(token::verify(&t, &base.clone().at(u64::from(ISSUED) + 600))),
        TokenError::Expired {
            expired_at: u64::from(ISSUED) + 600
        }
    );
    // The system clock is far past 2023-11-14 + 10 minutes.
    assert!(matches!(
        token_error(token::verify(&t, &base)),
        TokenError::Expired { .. }
    ));
}

#[test]
fn rtc_join_requirement_checks_channel_uid_and_privilege() {
    let t = builder().convo_ai("room-1", "1001").build().unwrap();
    assert_eq!(
        token_error(token::verify(
            &t,
            &validation().require_rtc_join("room-2", "1001")
        )),
        TokenError::ChannelMismatch
    );
    assert_eq!(
        token_error(token::verify(
            &t,
            &validation().require_rtc_join("room-1", "1002")
        )),
        TokenError::UidMismatch
    );
    // RTM-only token: no RTC service at all.
    let rtm = builder().rtm("1001").build().unwrap();
    assert_eq!(
        token_error(token::verify(
            &rtm,
            &validation().require_rtc_join("room-1", "1001")
        )),
        TokenError::MissingService(ServiceType::Rtc)
    );
    // Privileges that ran out before the token did.
    let short = builder()
        .rtc("room-1", 1001u32)
        .expire(3600)
        .privilege_expire(5)
        .build()
        .unwrap();
    assert_eq!(
        token_error(token::verify(
            &short,
            &validation().require_rtc_join("room-1", "1001")
        )),
        TokenError::MissingPrivilege {
            service: ServiceType::Rtc,
            privilege: 1
        }
    );
}

#[test]
fn uid_zero_and_empty_account_mean_any_uid() {
    let any = builder().rtc("room-1", 0u32).build().unwrap();
    assert!(token::verify(&any, &validation().require_rtc_join("room-1", "424242")).is_ok());
    let any_account = builder().convo_ai("room-1", "").build().unwrap();
    assert!(token::verify(&any_account, &validation().require_rtc_join("room-1", "7")).is_ok());
    // The string account "0" is a real account, not a wildcard.
    let zero = builder().convo_ai("room-1", "0").build().unwrap();
    assert_eq!(
        token_error(token::verify(
            &zero,
            &validation().require_rtc_join("room-1", "7")
        )),
        TokenError::UidMismatch
    );
}

#[test]
fn missing_convoai_service_is_reported_when_required() {
    let plain = builder().convo_ai("room-1", "1").build().unwrap();
    let v = validation().require_service(ServiceType::ConvoAi);
    assert_eq!(
        token_error(token::verify(&plain, &v)),
        TokenError::MissingService(ServiceType::ConvoAi)
    );
    let with = builder()
        .convo_ai("room-1", "1")
        .with_convoai_service(true)
        .build()
        .unwrap();
    assert!(token::verify(&with, &v).is_ok());
}

#[test]
fn tools_multi_service_vector_parses_every_service() {
    // AgoraIO/Tools python3/test/AccessToken2Test.py test_multi_service: RTC, RTM, Streaming,
    // FPA ("rtns") and Chat, issued at 1111111 with salt 1.
    let t = "007eJxTYAh5UWu1drfhsnu9etvupS0v/iFs+3PC/Sbl8gdht55xSusqMFiaGzg7GpumpJoZJJuYmJmYJiUlplokGhmaGpgZJhkbu38RYIhgYmBgZGBgYAWSLEAM4jOBSWYwyQImFRjMU8yNjM1MU5MsLYxNLEyNLc1TjVON0yxTTMwMklJSErkYjCwsjIxNDI3MjZmA5kBM4mQoSS0uiS8tTi1iZmBCMZ40I1mgToSYgCwDAGL1OcI=";
    let d = token::decode(t).unwrap().content;
    let kinds: Vec<_> = d.services.iter().map(|s| s.service_type()).collect();
    assert_eq!(
        kinds,
        [
            ServiceType::Rtc,
            ServiceType::Rtm,
            ServiceType::Streaming,
            ServiceType::Fpa,
            ServiceType::Chat
        ]
    );
    assert_eq!(
        d.services[1].body,
        ServiceBody::Rtm {
            user_id: "test_user".into()
        }
    );
    // And it verifies with the published certificate (at its issue time).
    let v = Validation::new(APP_ID, CERT).unwrap().at(1_111_111);
    assert!(token::verify(t, &v).is_ok());
    // Re-signing the parsed content with the same certificate reproduces the exact string.
    assert_eq!(d.sign(CERT), t);
}
