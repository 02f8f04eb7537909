//! Any bytes as `Retry-After` and `retry-after-ms`: a bounded duration or nothing, never a
//! panic (a float that overflows a `Duration` once aborted the CLI).
#![no_main]

use libfuzzer_sys::fuzz_target;
use reqwest::header::{HeaderMap, HeaderValue};
use shengwang_agent::transport::retry_after;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (a, b) = data.split_at(split);
    for (name, value) in [("retry-after", a), ("retry-after-ms", b), ("retry-after", b)] {
        let Ok(value) = HeaderValue::from_bytes(value) else {
            continue;
        };
        let mut headers = HeaderMap::new();
        headers.insert(name, value);
        if let Some(d) = retry_after(&headers) {
            assert!(d <= std::time::Duration::from_secs(24 * 3600));
        }
    }
});
