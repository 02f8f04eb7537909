//! Byte-exact vectors: the spec's worked ConvoAI vector (§12, §13) and AgoraIO/Tools'
//! published AccessToken2 RTC vectors, all at issue_ts 1111111 and salt 1.

use shengwang_agent::token::{self, RtcRole, RtcUid, ServiceBody, ServiceType, TokenBuilder};

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
const CHANNEL: &str = "7d72365eb983485397e3e3f9d460bdda";

fn fixed() -> TokenBuilder {
    TokenBuilder::new(APP_ID, CERT)
        .unwrap()
        .issue_ts(1_111_111)
        .salt(1)
}

const SPEC_CONVOAI: &str = "007eJxTYHjNyj415sLf281TT2jd52gMyguwUBKaOPHnh33f9599e2+6AoOluYGzo7FpSqqZQbKJiZmJaVJSYqpFopGhqYGZYZKxsfsXAYYIJgYGRgYGBiYgyQLEID4TmGQGkyxgUoHBPMXcyNjMNDXJ0sLYxMLU2NI81TjVOM0yxcTMICklJZGLwcjCwsjYxNDI3BhkFsQkZFEAssUrFg==";
const SPEC_CONVOAI_WITH_SERVICE: &str = "007eJxTYKgsmvjh9ZfuNRGMW4xzonz++XirKKhXC06qrPnu/uHlbikFBktzA2dHY9OUVDODZBMTMxPTpKTEVItEI0NTAzPDJGNj9y8CDBFMDAyMDAwMzECSBYhBfCYwyQwmWcCkAoN5irmRsZlpapKlhbGJhamxpXmqcapxmmWKiZlBUkpKIheDkYWFkbGJoZG5MRPQHIhJyKKcQFsA/wEoxw==";
// AgoraIO/Tools python3/test/AccessToken2Test.py: RTC join privilege only, 600 s.
const TOOLS_RTC_UID: &str = "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj";
const TOOLS_RTC_UID_0: &str = "007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo=";

#[test]
fn convo_ai_token_matches_python_sdk_vector() {
    let t = fixed()
        .convo_ai(CHANNEL, "2882341273")
        .expire(600)
        .privilege_expire(0)
        .build()
        .unwrap();
    assert_eq!(t, SPEC_CONVOAI);
}

#[test]
fn convo_ai_token_with_service_matches_spec_variant() {
    let t = fixed()
        .convo_ai(CHANNEL, "2882341273")
        .expire(600)
        .with_convoai_service(true)
        .build()
        .unwrap();
    assert_eq!(t, SPEC_CONVOAI_WITH_SERVICE);
}

#[test]
fn rtc_subscriber_tokens_match_tools_vectors() {
    let by_uid = fixed()
        .rtc(CHANNEL, 2_882_341_273u32)
        .role(RtcRole::Subscriber)
        .expire(600)
        .build()
        .unwrap();
    assert_eq!(by_uid, TOOLS_RTC_UID);
    let by_account = fixed()
        .rtc(CHANNEL, RtcUid::Account("2882341273".into()))
        .role(RtcRole::Subscriber)
        .expire(600)
        .build()
        .unwrap();
    assert_eq!(by_account, TOOLS_RTC_UID);
    let any_uid = fixed()
        .rtc(CHANNEL, 0u32)
        .role(RtcRole::Subscriber)
        .expire(600)
        .build()
        .unwrap();
    assert_eq!(any_uid, TOOLS_RTC_UID_0);
}

#[test]
fn spec_vector_decodes_to_its_annotated_fields() {
    let d = token::decode(SPEC_CONVOAI).unwrap().content;
    assert_eq!(d.app_id, APP_ID);
    assert_eq!((d.issue_ts, d.expire, d.salt), (1_111_111, 600, 1));
    assert_eq!(d.services.len(), 2);
    assert_eq!(
        d.services[0].body,
        ServiceBody::Rtc {
            channel: CHANNEL.into(),
            uid: "2882341273".into()
        }
    );
    assert_eq!(
        d.services[0]
            .privileges
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect::<Vec<_>>(),
        vec![(1, 600), (2, 600), (3, 600), (4, 600)]
    );
    assert_eq!(d.services[1].service_type(), ServiceType::Rtm);
    assert_eq!(d.services[1].privileges.get(&1), Some(&600));
}
