//! Requests per second of the reference server for list (100 tokens) and create.
//!
//! ```text
//! cargo run --release -p reference-server --example bench -- [--connections 4] [--seconds 5]
//! ```
//!
//! The server runs in-process (in memory, embedded mode) on 127.0.0.1 and a Rust load
//! generator (reqwest, one keep-alive connection per worker) drives it, so both share the
//! machine's cores. The figures are in reference-server/BENCH.md.

use clap::Parser;
use reference_server::{Config, Fixtures, start_with};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Concurrent connections of the load generator.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Added per-request latency in the server, in milliseconds (simulates a remote server).
    #[arg(long)]
    latency_ms: Option<u64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    List,
    Create,
}

async fn run(
    scenario: Scenario,
    base: &str,
    credential: &str,
    lifetime: &str,
    args: &Args,
) -> (f64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (ok, bad) = (ok.clone(), bad.clone());
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .expect("client builds");
        let url = format!("{base}/me/tokens");
        let credential = credential.to_owned();
        let body = json!({"name": "bench", "lifetime": lifetime}).to_string();
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let request = match scenario {
                    Scenario::List => http.get(&url),
                    Scenario::Create => http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone()),
                };
                let expected = if scenario == Scenario::List { 200 } else { 201 };
                match request.bearer_auth(&credential).send().await {
                    Ok(r) if r.status().as_u16() == expected => {
                        let _ = r.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    (
        ok.load(Ordering::Relaxed) as f64 / elapsed,
        bad.load(Ordering::Relaxed),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let lifetime = abp_spec::Spec::embedded().lifetimes()?[0].name.clone();
    let server = start_with(Config {
        fixtures: Fixtures::random(),
        latency: args.latency_ms.map(Duration::from_millis),
        ..Config::default()
    })
    .await?;
    let credential = server.credentials.user.clone();
    // The list scenario lists a user who owns exactly 100 tokens.
    let lister = server.credentials.other_user.clone();
    let http = reqwest::Client::new();
    for i in 0..100 {
        let status = http
            .post(format!("{}/me/tokens", server.base_url))
            .bearer_auth(&lister)
            .json(&json!({"name": format!("seed{i}"), "lifetime": lifetime}))
            .send()
            .await?
            .status();
        if status.as_u16() != 201 {
            return Err(format!("seeding failed with {status}").into());
        }
    }
    println!(
        "reference-server bench: {} connections, {} s per scenario, {} cores",
        args.connections,
        args.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let (list_rps, list_bad) =
        run(Scenario::List, &server.base_url, &lister, &lifetime, &args).await;
    println!("list (100 tokens): {list_rps:>9.0} requests/s  ({list_bad} failed)");
    let (create_rps, create_bad) = run(
        Scenario::Create,
        &server.base_url,
        &credential,
        &lifetime,
        &args,
    )
    .await;
    println!("create:            {create_rps:>9.0} requests/s  ({create_bad} failed)");
    server.shutdown().await;
    Ok(())
}
