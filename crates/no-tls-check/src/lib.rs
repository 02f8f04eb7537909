//! Nothing to use: this package exists for its test, `tests/no_tls.rs`, which needs
//! `shengwang-agent` built with no TLS feature. The SDK's own tests cannot: their
//! dev-dependencies (the emulator) turn its default features, and TLS, back on.
//!
//! `.ci/features` runs `cargo test -p shengwang-agent-no-tls-check` (the SDK then has no
//! feature at all). Inside `cargo test --workspace` other members turn TLS on, and the test
//! checks that side instead.
