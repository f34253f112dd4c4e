//! A real proxy in front of the reference server, as staging often is: Debian's nginx with TLS
//! from a private CA, gzip, and `limit_req` (50 r/s, burst 50), whose refusals are nginx's own
//! HTML 503 without `Retry-After`. Two shapes: `burst=50`, where nginx queues what exceeds the
//! rate (latency grows), and `burst=50 nodelay`, where it refuses it at once (503s). Through
//! either, the full suite must pass with no false failure, leave no token behind, and take
//! the pace the limit allows.
//!
//! Needs `nginx` and `openssl` on the PATH (`.ci/run` installs both; locally:
//! `sudo apt-get install nginx openssl`). Without them the test fails and says so; it is never
//! reported as passed without running.

use conformance::exit;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A port nothing listens on right now (nginx binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn nginx_config(dir: &Path, port: u16, upstream: u16, burst: &str) -> String {
    let d = dir.display();
    format!(
        "daemon off;
master_process off;
worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    limit_req_zone $binary_remote_addr zone=api:1m rate=50r/s;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        gzip on;
        gzip_types application/json;
        gzip_min_length 0;
        gzip_proxied any;
        location / {{
            limit_req zone=api {burst};
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
        }}
    }}
}}
"
    )
}

/// nginx in the foreground, stopped when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian installs nginx in /usr/sbin, which an unprivileged user's PATH may lack.
fn nginx_command() -> Command {
    let sbin = Path::new("/usr/sbin/nginx");
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("nginx").is_file()));
    match on_path || !sbin.is_file() {
        true => Command::new("nginx"),
        false => Command::new(sbin),
    }
}

fn start_nginx(dir: &Path, port: u16) -> Nginx {
    let child = nginx_command()
        .args(["-p", &dir.display().to_string(), "-c"])
        .arg(dir.join("nginx.conf"))
        .spawn()
        .unwrap_or_else(|e| {
            panic!("nginx is needed for this test (`sudo apt-get install nginx`): {e}")
        });
    let nginx = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not listen on {port}: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    nginx
}

#[test]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
fn the_suite_passes_through_nginx_that_queues_past_its_rate() {
    through_nginx("burst=50", false);
}

#[test]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
fn the_suite_passes_through_nginx_that_refuses_past_its_burst() {
    through_nginx("burst=50 nodelay", true);
}

/// One full run through nginx with this `limit_req` burst; `refusals`: nginx must have
/// refused requests (503), which the run must have waited out.
fn through_nginx(burst: &str, refusals: bool) {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        crate::tls::make_certificates(dir.path()),
        "the openssl command is needed to make test certificates"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(reference_server::start_embedded(vec![]))
        .expect("the reference server starts");
    let port = free_port();
    std::fs::write(
        dir.path().join("nginx.conf"),
        nginx_config(dir.path(), port, server.addr.port(), burst),
    )
    .unwrap();
    let _nginx = start_nginx(dir.path(), port);
    let c = &server.credentials;
    let report = dir.path().join("run.jsonl");
    let started = Instant::now();
    let out = crate::common::binary()
        .args([
            "run",
            "--base-url",
            &format!("https://localhost:{port}/api/v1"),
        ])
        .arg("--ca-cert")
        .arg(dir.path().join("ca.pem"))
        // The snapshot gate is about the embedded target's baseline, not this one.
        .args(["--skip-check", "snapshot", "--report"])
        .arg(format!("json={}", report.display()))
        .env("ABP_TOKEN", &c.user)
        .env("ABP_OTHER_USER_TOKEN", &c.other_user)
        .env("ABP_FORBIDDEN_TOKEN", &c.forbidden)
        .env("ABP_EXPIRED_TOKEN", &c.expired)
        .output()
        .unwrap();
    let wall = started.elapsed();
    let (stdout, stderr) = crate::common::output_text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{stdout}\n{stderr}"
    );
    let finished: serde_json::Value = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "run_finished")
        .expect("a run_finished event");
    let stats = &finished["stats"];
    assert_eq!(stats["failed"], 0, "{stdout}");
    assert_eq!(stats["checks_failed"], 0, "{stdout}");
    assert_eq!(stats["tokens_left"], 0, "{stdout}");
    let requests = stats["requests"].as_u64().unwrap_or(0);
    let retries = stats["retries"].as_u64().unwrap_or(0);
    if refusals {
        // The limit was met: nginx refused requests, and the run waited them out.
        assert!(retries > 0, "limit_req never refused a request: {stdout}");
    }
    // 50 requests a second after a burst of 50 is the floor; the pace converges on it.
    eprintln!("{burst}: {requests} requests, {retries} retries, {wall:?}");
    let floor = Duration::from_secs_f64(requests.saturating_sub(50) as f64 / 50.0);
    assert!(
        wall < floor.mul_f64(1.3) + Duration::from_secs(15),
        "{wall:?} for {requests} requests and {retries} retries (floor {floor:?})"
    );
    // Every token is gone from the account, seen straight from the server.
    for credential in [&c.user, &c.other_user] {
        let left = rt.block_on(crate::common::tokens(&server.base_url, credential));
        assert!(left.is_empty(), "{left:?}");
    }
    rt.block_on(server.shutdown());
}
