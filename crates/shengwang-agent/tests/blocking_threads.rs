//! Where the blocking client may wait: plain threads and `spawn_blocking` (of multi-thread and
//! current-thread runtimes, including a `#[tokio::main]`-style program) work; a runtime's
//! worker thread and a current-thread runtime's own thread get `Error::BlockingInAsync`,
//! with nothing sent and no panic.

use std::time::Duration;

use convoai_emulator::{Emulator, EmulatorHandle};
use shengwang_agent::blocking::Client;
use shengwang_agent::Error;

fn client(emu: &EmulatorHandle) -> Client {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A call that reaches the emulator: a list of the project's agents.
fn works(client: &Client) {
    let page = client.agents().list().page().expect("the call should work");
    assert!(page.items.is_empty());
}

fn refused(client: &Client, emu: &EmulatorHandle) {
    let before = emu.request_counts();
    match client.agents().list().page() {
        Err(Error::BlockingInAsync) => {}
        other => panic!("expected BlockingInAsync, got {other:?}"),
    }
    assert!(matches!(
        client.agents().list().iter().next(),
        Some(Err(Error::BlockingInAsync))
    ));
    assert_eq!(
        emu.request_counts(),
        before,
        "a refused call sent a request"
    );
}

#[test]
fn plain_threads_work() {
    let emu = Emulator::builder().start().unwrap();
    let client = client(&emu);
    works(&client);
    let c = client.clone();
    std::thread::spawn(move || works(&c)).join().unwrap();
}

#[test]
fn spawn_blocking_of_a_multi_thread_runtime_works_and_its_workers_are_refused() {
    let emu = Emulator::builder().start().unwrap();
    let client = client(&emu);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The `#[tokio::main]` shape: the main future, tasks on workers, spawn_blocking.
    rt.block_on(async {
        let c = client.clone();
        tokio::task::spawn_blocking(move || {
            works(&c);
            // A client may also be built there.
            let fresh = Client::builder()
                .app_id(c.app_id())
                .app_certificate("fedcba9876543210fedcba9876543210")
                .base_url(c.current_base_url())
                .build();
            assert!(fresh.is_ok(), "{fresh:?}");
        })
        .await
        .unwrap();

        let c = client.clone();
        let e = emu.base_url();
        tokio::spawn(async move {
            assert!(!e.is_empty());
            match c.agents().get("X") {
                Err(Error::BlockingInAsync) => {}
                other => panic!("a worker thread must be refused, got {other:?}"),
            }
            // Building a blocking client on a worker is refused the same way.
            let built = Client::builder()
                .app_id(c.app_id())
                .app_certificate("fedcba9876543210fedcba9876543210")
                .build();
            assert!(matches!(built, Err(Error::BlockingInAsync)));
        })
        .await
        .unwrap();

        // block_in_place hands the worker's tasks away: blocking there is fine.
        let c = client.clone();
        tokio::spawn(async move { tokio::task::block_in_place(|| works(&c)) })
            .await
            .unwrap();
    });
    refused_on_worker(&client, &emu, &rt);
}

fn refused_on_worker(client: &Client, emu: &EmulatorHandle, rt: &tokio::runtime::Runtime) {
    let c = client.clone();
    let counts = emu.request_counts();
    rt.block_on(async move {
        tokio::spawn(async move {
            match c.stop_agent("X") {
                Err(Error::BlockingInAsync) => {}
                other => panic!("expected BlockingInAsync, got {other:?}"),
            }
        })
        .await
        .unwrap()
    });
    assert_eq!(emu.request_counts(), counts);
}

#[test]
fn a_current_thread_runtime_is_refused_but_its_spawn_blocking_works() {
    let emu = Emulator::builder().start().unwrap();
    let client = client(&emu);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        refused(&client, &emu);
        let c = client.clone();
        tokio::spawn(async move {
            assert!(matches!(c.agents().get("X"), Err(Error::BlockingInAsync)));
        })
        .await
        .unwrap();
        let c = client.clone();
        tokio::task::spawn_blocking(move || works(&c))
            .await
            .unwrap();
    });
    // Afterwards the same thread may block again.
    works(&client);
}

#[test]
fn a_client_dropped_on_a_runtime_thread_does_not_panic() {
    let emu = Emulator::builder().start().unwrap();
    let client = client(&emu);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move { drop(client) });
}
