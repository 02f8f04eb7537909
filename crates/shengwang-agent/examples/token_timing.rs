//! Times building one ConvoAI token, for `bench/token_vs_python.sh`.
//!
//! `cargo run --release -p shengwang-agent --example token_timing -- [N] [REPEATS]` prints the
//! best per-token time in microseconds over REPEATS runs of N tokens.

use std::time::Instant;

use shengwang_agent::token::TokenBuilder;

fn main() -> Result<(), shengwang_agent::Error> {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let repeats: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let builder = TokenBuilder::new(
        "970CA35de60c44645bbae8a215061b33",
        "5CFd2fd1755d40ecb72977518be15d3b",
    )?;
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let start = Instant::now();
        for _ in 0..n {
            let t = builder
                .convo_ai("7d72365eb983485397e3e3f9d460bdda", "2882341273")
                .build()?;
            std::hint::black_box(t);
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    println!("{best:.3}");
    Ok(())
}
