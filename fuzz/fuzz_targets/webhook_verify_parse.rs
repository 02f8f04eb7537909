//! Arbitrary bodies and signature headers into webhook verification and parsing: never a
//! panic, a correct signature always verifies, a changed body never does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shengwang_agent::webhooks::{parse, sign_v1, sign_v2, Event, Signatures, Verifier};

fuzz_target!(|data: &[u8]| {
    // First byte: how much of the rest is a signature header; then the header; then the body.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n).min(rest.len());
    let (header, body) = rest.split_at(n);
    let header = String::from_utf8_lossy(header);
    let v = Verifier::new("fuzz-secret").with_secret("older-secret").max_body(1 << 16);
    let _ = v.verify(Signatures { v2: Some(&header), v1: None }, body);
    let _ = v.verify(Signatures { v2: None, v1: Some(&header) }, body);
    let _ = v.clone().require_v2(true).verify(Signatures { v2: None, v1: Some(&header) }, body);

    if body.len() <= 1 << 16 {
        let s2 = sign_v2(b"fuzz-secret", body);
        let s1 = sign_v1(b"older-secret", body);
        assert!(v.verify(Signatures { v2: Some(&s2), v1: None }, body).is_ok());
        assert!(v.verify(Signatures { v2: None, v1: Some(&s1) }, body).is_ok());
        if let Some((first, tail)) = body.split_first() {
            let mut changed = vec![first ^ 0x01];
            changed.extend_from_slice(tail);
            assert!(v.verify(Signatures { v2: Some(&s2), v1: None }, &changed).is_err());
        }
    }

    if let Ok(n) = parse(body) {
        // Accessors never panic, whatever the payload.
        let _ = (n.notice_id(), n.agent_id(), n.channel(), n.labels(), n.product(), n.dedupe_key());
        if let Event::AgentLeft(left) = &n.event {
            let _ = left.reason().is_failure();
        }
        let _ = n.event.kind();
    }
});
