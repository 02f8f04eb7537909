//! The Redis de-duplication store against a real `redis-server` started on a free loopback
//! port (persistence off). Where redis-server is missing (or `$REDIS_SERVER` names none) the
//! tests are reported as ignored with the reason; in CI they fail (see the harness).

#[path = "../../convoai-emulator/tests/support/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::{needs, Missing};
use shengwang_agent::webhooks::{
    self, sign_v2, DedupeStore, Notification, Receiver, RedisStore, Verifier,
};

fn main() {
    harness::run(vec![
        needs("redis_store_claims_once_releases_and_expires", || {
            with_redis(false, redis_store_claims_once_releases_and_expires)
        }),
        needs("redis_down_is_a_store_error_not_a_hang", || {
            with_redis(false, redis_down_is_a_store_error_not_a_hang)
        }),
        needs(
            "two_receivers_sharing_redis_handle_every_notice_exactly_once",
            || {
                with_redis(
                    true,
                    two_receivers_sharing_redis_handle_every_notice_exactly_once,
                )
            },
        ),
    ])
}

struct Redis {
    child: Child,
    url: String,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts redis-server, then runs `test` with it on a Tokio runtime (two workers if `multi`).
fn with_redis<F, Fut>(multi: bool, test: F) -> Result<(), Missing>
where
    F: FnOnce(Redis) -> Fut,
    Fut: Future<Output = ()>,
{
    let redis = start()?;
    let mut rt = if multi {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    rt.enable_all().build().unwrap().block_on(test(redis));
    Ok(())
}

fn start() -> Result<Redis, Missing> {
    let bin = harness::program(
        "REDIS_SERVER",
        &["redis-server"],
        "apt-get install redis-server",
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Missing::new(format_args!("no free loopback port: {e}")))?
        .port();
    let child = Command::new(&bin)
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
        .args(["--protected-mode", "yes", "--daemonize", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Missing::new(format_args!("cannot run {}: {e}", bin.display())))?;
    let r = Redis {
        child,
        url: format!("redis://127.0.0.1:{port}/"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(r);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(Missing::new(format_args!(
        "{} did not listen on port {port} within 10 s",
        bin.display()
    )))
}

async fn redis_store_claims_once_releases_and_expires(redis: Redis) {
    let a = RedisStore::connect(&redis.url).await.unwrap().prefix("t1:");
    let b = RedisStore::connect(&redis.url).await.unwrap().prefix("t1:");
    assert!(a.claim("17:n1", Duration::from_secs(60)).await.unwrap());
    assert!(!b.claim("17:n1", Duration::from_secs(60)).await.unwrap());
    b.release("17:n1").await.unwrap();
    assert!(b.claim("17:n1", Duration::from_secs(60)).await.unwrap());
    assert!(a
        .claim("17:short", Duration::from_millis(50))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(b
        .claim("17:short", Duration::from_millis(50))
        .await
        .unwrap());
    // Another prefix is another namespace.
    let c = RedisStore::connect(&redis.url).await.unwrap().prefix("t2:");
    assert!(c.claim("17:n1", Duration::from_secs(60)).await.unwrap());
    assert!(!format!("{a:?}").contains("redis://"));
}

async fn redis_down_is_a_store_error_not_a_hang(redis: Redis) {
    let store = RedisStore::connect(&redis.url)
        .await
        .unwrap()
        .timeout(Duration::from_millis(500));
    drop(redis);
    let t = Instant::now();
    let e = store
        .claim("17:x", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(e, webhooks::WebhookError::Store(_)), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3));
    // Unreachable at connect: an error within the connect bound.
    assert!(RedisStore::connect("redis://127.0.0.1:1/").await.is_err());
    assert!(RedisStore::connect("not a url").await.is_err());
}

async fn two_receivers_sharing_redis_handle_every_notice_exactly_once(redis: Redis) {
    const SECRET: &str = "fleet-secret";
    let handled: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let mut urls = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let store = RedisStore::connect(&redis.url)
            .await
            .unwrap()
            .prefix("fleet:");
        let h = handled.clone();
        let app = webhooks::axum::router(
            "/hook",
            Receiver::new(Verifier::new(SECRET)).store(store),
            move |n: Notification| {
                let h = h.clone();
                async move {
                    *h.lock()
                        .unwrap()
                        .entry(n.notice_id.to_string())
                        .or_default() += 1;
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!("http://{}/hook", listener.local_addr().unwrap()));
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }
    // 100 notices, each delivered twice (new notifyMs each time) to both receivers, all at once.
    let client = reqwest::Client::new();
    let mut sends = Vec::new();
    for i in 0..100 {
        for attempt in 0..2 {
            for url in &urls {
                let body = format!(
                    r#"{{"noticeId":"n-{i}","productId":17,"eventType":101,"notifyMs":{},"payload":{{"agent_id":"A{i}","channel":"c"}}}}"#,
                    1_000 + attempt
                );
                let sig = sign_v2(SECRET.as_bytes(), body.as_bytes());
                let req = client
                    .post(url)
                    .header("Agora-Signature-V2", sig)
                    .body(body);
                sends.push(tokio::spawn(async move {
                    req.send().await.map(|r| r.status().as_u16())
                }));
            }
        }
    }
    for s in sends {
        assert_eq!(s.await.unwrap().unwrap(), 200);
    }
    let handled = handled.lock().unwrap();
    assert_eq!(handled.len(), 100);
    assert!(
        handled.values().all(|c| *c == 1),
        "some notice handled twice"
    );
    for t in tasks {
        t.abort();
    }
}
