//! Arbitrary strings into the token parser and verifier: never a panic, never unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shengwang_agent::token::{self, Validation};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = token::decode(s);
    if let Ok(v) = Validation::new(
        "970CA35de60c44645bbae8a215061b33",
        "5CFd2fd1755d40ecb72977518be15d3b",
    ) {
        let _ = token::verify(s, &v.require_rtc_join("c", "1"));
    }
});
