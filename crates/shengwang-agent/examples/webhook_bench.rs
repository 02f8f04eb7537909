//! Webhook receiving throughput; prints one JSON line per run.
//!
//! `cargo run --release -p shengwang-agent --example webhook_bench -- MODE N [CONC]`
//!
//! - `inproc N`: verify + parse + dedupe (in-memory store) of N distinct signed callbacks on
//!   one thread (a current-thread runtime): the cost per event on one core.
//! - `http N CONC`: the same through the axum endpoint over loopback HTTP/1.1 keep-alive,
//!   CONC requests in flight, server and client sharing a 2-worker runtime.
//! - `redis N CONC`: `http` with the Redis store (`REDIS_URL`, or a `redis-server` started
//!   on a free loopback port with persistence off).

use std::sync::Arc;
use std::time::{Duration, Instant};

use shengwang_agent::webhooks::{
    self, sign_v2, Notification, Receiver, RedisStore, Signatures, Verifier,
};

const SECRET: &str = "bench-secret";

fn bodies(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let body = format!(
                r#"{{"noticeId":"2000001428:{i}:102","productId":17,"eventType":102,"notifyMs":1737111755480,"sid":"C866467GVJJ54687","payload":{{"agent_id":"1NT29X10YH4Q8ZRWJOXLYHNYB","name":"support-bot-42","start_ts":1737111452,"stop_ts":1737111755,"channel":"room-8841","status":"STOPPED","message":"Idle for too long","labels":{{"campaign_id":"test_campaign","customer_group":"vip"}}}}}}"#
            );
            let sig = sign_v2(SECRET.as_bytes(), body.as_bytes());
            (body, sig)
        })
        .collect()
}

fn report(mode: &str, n: usize, secs: f64, extra: &str) {
    println!(
        "{{\"mode\":\"{mode}\",\"events\":{n},\"secs\":{secs:.3},\"events_per_sec\":{:.0}{extra}}}",
        n as f64 / secs
    );
}

fn inproc(n: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let input = bodies(n);
    let receiver = Receiver::new(Verifier::new(SECRET));
    rt.block_on(async {
        let t = Instant::now();
        let mut new = 0usize;
        for (body, sig) in &input {
            let r = receiver
                .receive(
                    Signatures {
                        v2: Some(sig),
                        v1: None,
                    },
                    body.as_bytes(),
                )
                .await
                .expect("verifies");
            new += usize::from(!r.is_duplicate());
        }
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(new, n);
        report("inproc", n, secs, "");
    });
}

async fn http(mode: &str, n: usize, conc: usize, receiver: Receiver) {
    let app = webhooks::axum::router("/hook", receiver, |_n: Notification| async {});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let input = Arc::new(bodies(n));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conc)
        .build()
        .expect("client");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, url, input, next) = (client.clone(), url.clone(), input.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((body, sig)) = input.get(i) else {
                    break;
                };
                // The answer is read whole, as the service does, so its connection can go
                // back to the pool.
                let ok = match client
                    .post(&url)
                    .header("Agora-Signature-V2", sig)
                    .body(body.clone())
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                errors += usize::from(!ok);
            }
            errors
        }));
    }
    let mut errors = 0;
    for t in tasks {
        errors += t.await.unwrap_or(1);
    }
    report(
        mode,
        n,
        t.elapsed().as_secs_f64(),
        &format!(",\"concurrency\":{conc},\"errors\":{errors}"),
    );
}

struct RedisChild(std::process::Child);
impl Drop for RedisChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_url() -> (String, Option<RedisChild>) {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return (url, None);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server (or set REDIS_URL)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    (
        format!("redis://127.0.0.1:{port}/"),
        Some(RedisChild(child)),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("inproc");
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let conc: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let multi = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    };
    match mode {
        "inproc" => inproc(n),
        "http" => multi().block_on(http("http", n, conc, Receiver::new(Verifier::new(SECRET)))),
        "redis" => {
            let (url, _child) = redis_url();
            multi().block_on(async {
                let store = RedisStore::connect(&url).await.expect("redis");
                // A fresh prefix per run, so earlier runs' claims do not count.
                let store = store.prefix(format!("bench:{}:", std::process::id()));
                http(
                    "redis",
                    n,
                    conc,
                    Receiver::new(Verifier::new(SECRET)).store(store),
                )
                .await
            })
        }
        other => {
            eprintln!("unknown mode {other}: use inproc, http or redis");
            std::process::exit(2);
        }
    }
}
