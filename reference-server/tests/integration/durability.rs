//! With `--db`, a server killed with SIGKILL right after its 201s restarts with every
//! acknowledged token. Runs the real binary.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(db: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_reference-server"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts")
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if http
            .get(format!("{base}/me/tokens"))
            .bearer_auth("dev-alice-token")
            .send()
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up");
}

#[tokio::test]
async fn acknowledged_tokens_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tokens.db");
    let http = reqwest::Client::new();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let mut child = start(&db, port);
    wait_ready(&http, &base).await;
    let lifetime = abp_spec::Spec::embedded().lifetimes().unwrap()[0]
        .name
        .clone();
    let mut acknowledged = Vec::new();
    for i in 0..25 {
        let r = http
            .post(format!("{base}/me/tokens"))
            .bearer_auth("dev-alice-token")
            .json(&serde_json::json!({"name": format!("d{i}"), "lifetime": lifetime}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let body: serde_json::Value = r.json().await.unwrap();
        acknowledged.push(body["_id"].as_str().unwrap().to_owned());
    }
    // SIGKILL on Unix: no chance to flush anything that was not already durable.
    child.kill().unwrap();
    child.wait().unwrap();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let mut child = start(&db, port);
    wait_ready(&http, &base).await;
    let listed: Vec<serde_json::Value> = http
        .get(format!("{base}/me/tokens"))
        .bearer_auth("dev-alice-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let ids: Vec<_> = listed
        .iter()
        .map(|t| t["_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, acknowledged);
}

#[test]
fn bad_flags_and_fixtures_exit_2() {
    let bin = env!("CARGO_BIN_EXE_reference-server");
    let out = Command::new(bin)
        .args(["--fault", "no-such-fault"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "users = 1").unwrap();
    let out = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--fixtures"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid fixtures"));
    let out = Command::new(bin).arg("--list-faults").output().unwrap();
    assert!(out.status.success());
    let catalog = String::from_utf8(out.stdout).unwrap();
    assert_eq!(catalog.lines().count(), reference_server::Fault::ALL.len());
}
