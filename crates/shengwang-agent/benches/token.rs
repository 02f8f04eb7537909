//! `cargo bench -p shengwang-agent --bench token`: build and verify one ConvoAI token.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use shengwang_agent::token::{self, TokenBuilder, Validation};

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
const CHANNEL: &str = "7d72365eb983485397e3e3f9d460bdda";

fn bench(c: &mut Criterion) {
    let random = TokenBuilder::new(APP_ID, CERT).unwrap();
    c.bench_function("convo_ai_token/random_ts_salt", |b| {
        b.iter(|| {
            random
                .convo_ai(black_box(CHANNEL), black_box("2882341273"))
                .build()
                .unwrap()
        })
    });
    let fixed = random.clone().issue_ts(1_111_111).salt(1);
    c.bench_function("convo_ai_token/fixed_ts_salt", |b| {
        b.iter(|| {
            fixed
                .convo_ai(black_box(CHANNEL), black_box("2882341273"))
                .build()
                .unwrap()
        })
    });
    let t = random.convo_ai(CHANNEL, "2882341273").build().unwrap();
    let v = Validation::new(APP_ID, CERT)
        .unwrap()
        .require_rtc_join(CHANNEL, "2882341273");
    c.bench_function("convo_ai_token/verify", |b| {
        b.iter(|| token::verify(black_box(&t), &v).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
