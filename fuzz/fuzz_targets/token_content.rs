//! Arbitrary bytes as the inflated token content: exercises the binary layout parser directly
//! (the string form rarely gets past base64 and zlib). A content that parses must re-encode to
//! the same signing bytes.
#![no_main]

use std::io::Write;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use shengwang_agent::token;

fuzz_target!(|data: &[u8]| {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    if z.write_all(data).is_err() {
        return;
    }
    let Ok(compressed) = z.finish() else {
        return;
    };
    let s = format!(
        "007{}",
        base64::engine::general_purpose::STANDARD.encode(compressed)
    );
    if let Ok(decoded) = token::decode(&s) {
        // Round trip: what we parsed is exactly what was signed (34-byte signature field first).
        let info = decoded.content.signing_info();
        assert_eq!(&data[34..], &info[..], "re-encoded content differs");
    }
});
