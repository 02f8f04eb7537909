//! Untrusted and invalid input: every case is rejected with the exact error kind, without a
//! panic and without echoing the certificate.

use std::io::Write;

use base64::Engine as _;
use shengwang_agent::token::{self, TokenBuilder, MAX_CONTENT_LEN};
use shengwang_agent::{Error, TokenError};

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
const VECTOR: &str = "007eJxTYHjNyj415sLf281TT2jd52gMyguwUBKaOPHnh33f9599e2+6AoOluYGzo7FpSqqZQbKJiZmJaVJSYqpFopGhqYGZYZKxsfsXAYYIJgYGRgYGBiYgyQLEID4TmGQGkyxgUoHBPMXcyNjMNDXJ0sLYxMLU2NI81TjVOM0yxcTMICklJZGLwcjCwsjYxNDI3BhkFsQkZFEAssUrFg==";

fn decode_err(s: &str) -> TokenError {
    match token::decode(s) {
        Err(Error::Token(e)) => e,
        other => panic!("expected a token error for {s:?}, got {other:?}"),
    }
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

fn encode(compressed: &[u8]) -> String {
    format!(
        "007{}",
        base64::engine::general_purpose::STANDARD.encode(compressed)
    )
}

/// The inflated content of the spec vector: 34-byte signature field + signing_info.
fn vector_content() -> Vec<u8> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&VECTOR[3..])
        .unwrap();
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&raw[..]).read_to_end_checked(&mut out);
    out
}

trait ReadAll {
    fn read_to_end_checked(self, out: &mut Vec<u8>);
}
impl<R: std::io::Read> ReadAll for R {
    fn read_to_end_checked(mut self, out: &mut Vec<u8>) {
        self.read_to_end(out).unwrap();
    }
}

#[test]
fn every_truncation_of_the_token_string_is_rejected() {
    for len in 0..VECTOR.len() {
        assert!(
            token::decode(&VECTOR[..len]).is_err(),
            "prefix of length {len} was accepted"
        );
    }
}

#[test]
fn every_truncation_of_the_content_is_reported_as_truncated() {
    let content = vector_content();
    assert_eq!(content.len(), 178);
    for len in 0..content.len() {
        let e = decode_err(&encode(&zlib(&content[..len])));
        assert!(
            matches!(
                e,
                TokenError::Truncated { .. } | TokenError::SignatureLength(_)
            ),
            "content cut at {len}: {e:?}"
        );
    }
}

#[test]
fn wrong_prefix_bad_base64_and_garbage() {
    assert_eq!(decode_err(""), TokenError::WrongPrefix);
    assert_eq!(
        decode_err(&VECTOR.replacen("007", "006", 1)),
        TokenError::WrongPrefix
    );
    assert_eq!(decode_err("hello"), TokenError::WrongPrefix);
    // '+' turned into a space by careless URL handling.
    assert_eq!(decode_err(&VECTOR.replace('+', " ")), TokenError::Base64);
    assert_eq!(decode_err("007!!!!"), TokenError::Base64);
    // URL-safe alphabet is not AccessToken2.
    assert_eq!(decode_err(&VECTOR.replace('+', "-")), TokenError::Base64);
    // Valid base64 that is not zlib.
    assert_eq!(
        decode_err(&encode(b"not a zlib stream")),
        TokenError::Inflate
    );
    assert_eq!(decode_err("007"), TokenError::Inflate);
}

#[test]
fn bytes_after_the_zlib_stream_are_rejected() {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&VECTOR[3..])
        .unwrap();
    let mut padded = raw.clone();
    padded.push(0);
    assert_eq!(decode_err(&encode(&padded)), TokenError::Inflate);
}

#[test]
fn a_zlib_bomb_is_bounded() {
    let bomb = zlib(&vec![0u8; 4 * 1024 * 1024]);
    let s = encode(&bomb);
    assert!(s.len() < token::MAX_TOKEN_LEN, "bomb is {} chars", s.len());
    assert_eq!(
        decode_err(&s),
        TokenError::TooLarge {
            limit: MAX_CONTENT_LEN
        }
    );
}

#[test]
fn an_oversized_token_string_is_rejected_before_decoding() {
    let s = format!("007{}", "A".repeat(token::MAX_TOKEN_LEN));
    assert_eq!(
        decode_err(&s),
        TokenError::TooLarge {
            limit: token::MAX_TOKEN_LEN
        }
    );
}

#[test]
fn unknown_service_types_and_bad_signature_length_are_typed() {
    let content = vector_content();
    // Service type of the first service sits at offset 82 (spec §12).
    let mut unknown = content.clone();
    unknown[82] = 42;
    assert_eq!(
        decode_err(&encode(&zlib(&unknown))),
        TokenError::UnknownService(42)
    );
    // Signature length field says 31.
    let mut short_sig = content.clone();
    short_sig[0] = 31;
    assert!(matches!(
        decode_err(&encode(&zlib(&short_sig))),
        TokenError::SignatureLength(31) | TokenError::Truncated { .. }
    ));
    // RTC privilege ids start at offset 86: make the first one repeat the second (2, 2, 3, 4),
    // then put them out of order (3, 2, ...). Encoders always write ascending ids.
    let mut repeated = content.clone();
    repeated[86] = 2;
    assert_eq!(
        decode_err(&encode(&zlib(&repeated))),
        TokenError::NonCanonical {
            field: "privilege id"
        }
    );
    let mut unordered = content.clone();
    unordered[86] = 3;
    assert_eq!(
        decode_err(&encode(&zlib(&unordered))),
        TokenError::NonCanonical {
            field: "privilege id"
        }
    );
    let mut trailing = content;
    trailing.push(7);
    assert_eq!(
        decode_err(&encode(&zlib(&trailing))),
        TokenError::TrailingBytes(1)
    );
}

#[test]
fn every_single_character_change_of_a_token_is_rejected() {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= ";
    let v = token::Validation::new(APP_ID, CERT).unwrap().at(1_111_112);
    let original = token::decode(VECTOR).unwrap().content;
    for (i, orig) in VECTOR.char_indices() {
        for c in alphabet.chars().filter(|c| *c != orig) {
            let mut mutated = VECTOR.to_string();
            mutated.replace_range(i..i + 1, c.encode_utf8(&mut [0; 4]));
            if let Ok(d) = token::decode(&mutated) {
                assert_ne!(d.content, original, "char {i} -> {c:?} decodes the same");
            }
            assert!(
                token::verify(&mutated, &v).is_err(),
                "char {i} -> {c:?} still verifies"
            );
        }
    }
}

fn invalid_field(r: shengwang_agent::Result<String>) -> (String, String) {
    match r {
        Err(Error::InvalidInput { field, reason }) => (field, reason),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn credentials_are_validated_without_echoing_the_certificate() {
    let bad_certs = [
        "5CFd2fd1755d40ecb72977518be15d3",   // 31 chars
        "5CFd2fd1755d40ecb72977518be15d3bX", // 33 chars
        "5CFd2fd1755d40ecb72977518be15dZZ",  // non-hex
        "",
    ];
    for cert in bad_certs {
        let err = TokenBuilder::new(APP_ID, cert).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "app_certificate"));
        if !cert.is_empty() {
            assert!(!shown.contains(cert), "certificate echoed: {shown}");
        }
    }
    for app_id in [
        "970CA35de60c44645bbae8a215061b3",
        "970CA35de60c44645bbae8a215061bXX",
    ] {
        let err = TokenBuilder::new(app_id, CERT).unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "app_id"));
        assert!(!format!("{err} {err:?}").contains(CERT));
    }
    let ok = TokenBuilder::new(APP_ID, CERT).unwrap();
    assert!(!format!("{ok:?}").contains(CERT));
}

#[test]
fn channel_uid_and_lifetime_rules() {
    let b = TokenBuilder::new(APP_ID, CERT).unwrap();
    let long = "a".repeat(65);
    let cases: Vec<(shengwang_agent::Result<String>, &str)> = vec![
        (b.rtc("", 1u32).build(), "channel"),
        (b.rtc(&long, 1u32).build(), "channel"),
        (b.rtc("room/1", 1u32).build(), "channel"),
        (b.rtc("频道", 1u32).build(), "channel"),
        (b.rtc("room", "").build(), "account"),
        (b.rtc("room", "a".repeat(256)).build(), "account"),
        (b.rtc("room", "bad\naccount").build(), "account"),
        (b.rtc("room", 1u32).expire(0).build(), "expire"),
        (b.rtc("room", 1u32).expire(86_401).build(), "expire"),
        (
            b.rtc("room", 1u32).privilege_expire(86_401).build(),
            "privilege_expire",
        ),
        (b.convo_ai("room", "1").expire(0).build(), "expire"),
        (b.convo_ai("", "1").build(), "channel"),
        (b.rtm("").build(), "user_id"),
        (b.rtm(&long).build(), "user_id"),
        (b.rtm("u").expire(100_000).build(), "expire"),
    ];
    for (i, (result, field)) in cases.into_iter().enumerate() {
        let (got, reason) = invalid_field(result);
        assert_eq!(got, field, "case {i}: {reason}");
        assert!(!reason.is_empty());
    }
    // The full allowed character set and the 64-byte limit are accepted.
    let edge = "aZ09 !#$%&()+-:;<=.>?@[]^_{}|~,";
    assert!(b.rtc(edge, 1u32).build().is_ok());
    assert!(b.rtc(&"x".repeat(64), 1u32).build().is_ok());
}

#[test]
fn expires_in_follows_the_python_range_without_its_holes() {
    use std::time::Duration;
    assert_eq!(token::expires_in(Duration::from_secs(1)).unwrap(), 1);
    assert_eq!(token::expires_in(Duration::from_millis(1500)).unwrap(), 1);
    assert_eq!(
        token::expires_in(Duration::from_secs(24 * 3600)).unwrap(),
        86_400
    );
    assert_eq!(
        token::expires_in(Duration::from_secs(30 * 60)).unwrap(),
        1_800
    );
    for bad in [
        token::expires_in(Duration::ZERO),
        token::expires_in(Duration::from_millis(999)),
        token::expires_in(Duration::from_secs(86_401)),
        token::expires_in(Duration::from_secs(25 * 3600)),
        token::expires_in(Duration::from_secs(u64::MAX)),
        token::expires_in(Duration::from_secs(0)),
    ] {
        match bad {
            Err(Error::InvalidInput { field, reason }) => {
                assert_eq!(field, "expires_in");
                assert!(reason.contains("between 1 and 86400 seconds"), "{reason}");
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }
}
