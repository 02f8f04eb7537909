//! Arbitrary bytes as every response body the client decodes: a typed value or a decode
//! error, never a panic; whatever decodes serializes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shengwang_agent::types::agents::*;
use shengwang_agent::types::phone_numbers::*;
use shengwang_agent::types::telephony::*;

fn check<T: serde::de::DeserializeOwned + serde::Serialize>(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<T>(data) {
        let _ = serde_json::to_vec(&v).expect("a decoded value serializes");
    }
}

fuzz_target!(|data: &[u8]| {
    check::<AgentCreated>(data);
    check::<AgentList>(data);
    check::<AgentInfo>(data);
    check::<AgentHistory>(data);
    check::<AgentAck>(data);
    check::<AgentTurns>(data);
    check::<CallList>(data);
    check::<CallInfo>(data);
    check::<CallCreated>(data);
    check::<Vec<PhoneNumber>>(data);
    check::<PhoneNumberCreated>(data);
    check::<StartAgentRequest>(data);
});
