//! Property tests: build → parse round trips, certificates don't cross, tampering is caught.

use proptest::prelude::*;
use shengwang_agent::token::{
    self, AccessToken, RtcRole, RtcUid, Service, ServiceBody, ServiceType, TokenBuilder, Validation,
};

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";

fn hex32() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{32}"
}

fn channel() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 !#$%&()+:;<=.>?@^_{}|~,-]{1,64}"
}

fn account() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_-]{1,255}"
}

fn uid() -> impl Strategy<Value = RtcUid> {
    prop_oneof![
        any::<u32>().prop_map(RtcUid::Uid),
        account().prop_map(RtcUid::Account)
    ]
}

fn text() -> impl Strategy<Value = String> {
    ".{0,40}"
}

fn privileges() -> impl Strategy<Value = std::collections::BTreeMap<u16, u32>> {
    proptest::collection::btree_map(any::<u16>(), any::<u32>(), 0..6)
}

fn body() -> impl Strategy<Value = ServiceBody> {
    prop_oneof![
        (text(), text()).prop_map(|(channel, uid)| ServiceBody::Rtc { channel, uid }),
        text().prop_map(|user_id| ServiceBody::Rtm { user_id }),
        (text(), text()).prop_map(|(channel, account)| ServiceBody::Streaming { channel, account }),
        Just(ServiceBody::Fpa),
        text().prop_map(|user_id| ServiceBody::Chat { user_id }),
        (text(), text()).prop_map(|(channel, account)| ServiceBody::Fcdn { channel, account }),
        (text(), text(), any::<i16>()).prop_map(|(room_uuid, user_uuid, role)| {
            ServiceBody::Apaas {
                room_uuid,
                user_uuid,
                role,
            }
        }),
        (
            text(),
            proptest::collection::btree_map(
                any::<u16>(),
                proptest::collection::btree_map(
                    any::<u16>(),
                    proptest::collection::vec(text(), 0..3),
                    0..3
                ),
                0..3
            )
        )
            .prop_map(|(user_id, permissions)| ServiceBody::Rtm2 {
                user_id,
                permissions
            }),
        Just(ServiceBody::ConvoAi),
        Just(ServiceBody::Stt),
    ]
}

fn content() -> impl Strategy<Value = AccessToken> {
    (
        hex32(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        proptest::collection::vec(
            (privileges(), body()).prop_map(|(privileges, body)| Service { privileges, body }),
            0..5,
        ),
    )
        .prop_map(|(app_id, issue_ts, expire, salt, services)| AccessToken {
            app_id,
            issue_ts,
            expire,
            salt,
            services,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_content_round_trips_through_sign_and_decode(c in content(), cert in hex32()) {
        let s = c.sign(&cert);
        let d = token::decode(&s).unwrap();
        prop_assert_eq!(&d.content, &c);
        let v = Validation::new(c.app_id.clone(), cert).unwrap().at(u64::from(c.issue_ts));
        if c.expire > 0 {
            prop_assert!(token::verify(&s, &v).is_ok());
        }
    }

    #[test]
    fn rtc_builder_fields_round_trip(
        ch in channel(), u in uid(), publisher in any::<bool>(),
        expire in 1u32..=86_400, privilege in 0u32..=86_400,
        ts in any::<u32>(), salt in any::<u32>(), cert in hex32(),
    ) {
        let role = if publisher { RtcRole::Publisher } else { RtcRole::Subscriber };
        let t = TokenBuilder::new(APP_ID, &cert).unwrap().issue_ts(ts).salt(salt)
            .rtc(&ch, u.clone()).role(role).expire(expire).privilege_expire(privilege)
            .build().unwrap();
        let d = token::decode(&t).unwrap().content;
        prop_assert_eq!(&d.app_id, APP_ID);
        prop_assert_eq!((d.issue_ts, d.expire, d.salt), (ts, expire, salt));
        prop_assert_eq!(d.services.len(), 1);
        prop_assert_eq!(&d.services[0].body, &ServiceBody::Rtc { channel: ch, uid: u.to_wire() });
        let ids: Vec<u16> = d.services[0].privileges.keys().copied().collect();
        prop_assert_eq!(ids, if publisher { vec![1, 2, 3, 4] } else { vec![1] });
        prop_assert!(d.services[0].privileges.values().all(|v| *v == privilege));
    }

    #[test]
    fn convoai_builder_fields_round_trip(
        ch in channel(), acct in account(), expire in 1u32..=86_400, privilege in 0u32..=86_400,
        with_service in any::<bool>(), ts in any::<u32>(), salt in any::<u32>(),
    ) {
        let t = TokenBuilder::new(APP_ID, "5CFd2fd1755d40ecb72977518be15d3b").unwrap()
            .issue_ts(ts).salt(salt)
            .convo_ai(&ch, &acct).expire(expire).privilege_expire(privilege)
            .with_convoai_service(with_service)
            .build().unwrap();
        let d = token::decode(&t).unwrap().content;
        let rtc_priv = if privilege == 0 { expire } else { privilege };
        prop_assert_eq!(d.expire, expire);
        let rtc = d.service(ServiceType::Rtc).unwrap();
        prop_assert_eq!(&rtc.body, &ServiceBody::Rtc { channel: ch, uid: acct.clone() });
        prop_assert!(rtc.privileges.values().all(|v| *v == rtc_priv));
        let rtm = d.service(ServiceType::Rtm).unwrap();
        prop_assert_eq!(&rtm.body, &ServiceBody::Rtm { user_id: acct });
        prop_assert_eq!(rtm.privileges.get(&1), Some(&expire));
        prop_assert_eq!(d.service(ServiceType::ConvoAi).is_some(), with_service);
        prop_assert_eq!(d.services.len(), if with_service { 3 } else { 2 });
    }

    #[test]
    fn a_token_signed_with_one_certificate_never_verifies_with_another(
        a in hex32(), b in hex32(), ch in channel(),
    ) {
        prop_assume!(a != b);
        let t = TokenBuilder::new(APP_ID, &a).unwrap().convo_ai(&ch, "1").build().unwrap();
        let v = Validation::new(APP_ID, &b).unwrap();
        prop_assert!(token::verify(&t, &v).is_err());
        prop_assert!(token::verify(&t, &Validation::new(APP_ID, &a).unwrap()).is_ok());
    }

    #[test]
    fn any_single_byte_change_is_rejected_or_decodes_differently(
        ch in channel(), acct in account(), pos in any::<prop::sample::Index>(), byte in 0x20u8..0x7f,
    ) {
        let cert = "5CFd2fd1755d40ecb72977518be15d3b";
        let t = TokenBuilder::new(APP_ID, cert).unwrap().convo_ai(&ch, &acct).build().unwrap();
        let original = token::decode(&t).unwrap().content;
        let mut bytes = t.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let mutated = String::from_utf8(bytes).unwrap();
        if let Ok(d) = token::decode(&mutated) {
            prop_assert_ne!(d.content, original);
        }
        prop_assert!(token::verify(&mutated, &Validation::new(APP_ID, cert).unwrap()).is_err());
    }

    #[test]
    fn decoding_arbitrary_input_never_panics(s in ".{0,300}", raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = token::decode(&s);
        let _ = token::decode(&format!("007{s}"));
        use base64::Engine as _;
        let _ = token::decode(&format!("007{}", base64::engine::general_purpose::STANDARD.encode(&raw)));
    }
}
