//! The server under hostile clients: a connection that never finishes its request head is
//! cut off at the header-read timeout, and connections beyond the bound wait in the backlog
//! instead of exhausting descriptors, so normal requests are served once a slow one is cut.

use reference_server::{Config, ConnectionLimits, Fixtures, start_guarded};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn limits(max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(5),
        max_connections,
    }
}

async fn start(max_connections: usize) -> reference_server::EmbeddedServer {
    start_guarded(
        Config {
            fixtures: Fixtures::random(),
            ..Config::default()
        },
        limits(max_connections),
    )
    .await
    .expect("server starts")
}

/// Reads until the server closes the connection (or 60 s pass: then the test fails).
async fn closed_within(stream: &mut TcpStream) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    read.ok().map(|()| started.elapsed())
}

#[tokio::test]
async fn a_slow_header_connection_is_closed_at_the_header_read_timeout() {
    let srv = start(16).await;
    let mut slow = TcpStream::connect(srv.addr).await.unwrap();
    slow.write_all(b"GET /api/v1/me/tokens HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let closed = closed_within(&mut slow).await;
    assert!(
        closed.is_some(),
        "a connection whose head never ends stays open"
    );
    // A client that sends its head in time is served.
    let answer = reqwest::get(format!("{}/me/tokens", srv.base_url))
        .await
        .expect("a normal request is answered");
    assert_eq!(answer.status(), 401);
    srv.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_bound_wait_and_normal_requests_are_served() {
    let srv = start(4).await;
    // Four silent connections take every slot.
    let mut slow = Vec::new();
    for _ in 0..4 {
        slow.push(TcpStream::connect(srv.addr).await.unwrap());
    }
    let started = Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        reqwest::get(format!("{}/me/tokens", srv.base_url)),
    )
    .await
    .expect("a normal request is answered once a slow connection is cut")
    .expect("a normal request is answered");
    assert_eq!(answer.status(), 401);
    // It could only be served after a slot was freed by the header-read timeout.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "served while every slot was taken: {:?}",
        started.elapsed()
    );
    for s in &mut slow {
        assert!(closed_within(s).await.is_some());
    }
    srv.shutdown().await;
}
