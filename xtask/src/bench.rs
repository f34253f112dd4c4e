//! `cargo xtask bench`: a run's time against a remote-like server, side by side with its
//! floor and with Schemathesis.
//!
//! Builds the runner and the reference server in release mode and prints, from one command:
//! the full default run against the server answering after 50 ms (best of three: wall,
//! requests, the longest scenario, which is the chain of dependent requests no schedule can
//! beat, in round trips, and the ratio wall / longest scenario), the model suite's share of
//! it, a full run against each finite-staging shape of the reference server (a token bucket,
//! nginx's `limit_req`, a fixed window, one worker holding each create, a server that stalls)
//! with its wall time next to the floor the limit allows, its requests, retries and tokens
//! left, the full run against the embedded server (process
//! start to exit, median of five), and Schemathesis on the same server and latency when it is
//! installed (the pinned version in `target/schemathesis-venv`, or on `PATH`); otherwise a
//! note says it was skipped.
//!
//! Figures, not assertions: a shared machine's timings vary, so nothing here fails on a
//! slow run. README "Performance" records the figures with their date and machine.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "dev-alice-token";
const CREDENTIALS: [(&str, &str); 4] = [
    ("ABP_TOKEN", USER),
    ("ABP_OTHER_USER_TOKEN", "dev-bob-token"),
    ("ABP_FORBIDDEN_TOKEN", "dev-carol-token"),
    ("ABP_EXPIRED_TOKEN", "dev-expired-token"),
];

pub struct Options {
    pub latency_ms: u64,
    pub schemathesis: bool,
}

/// Kills the server when the benchmark ends, however it ends.
struct Server {
    child: Child,
    log: PathBuf,
    base_url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Requests the server has logged so far.
    fn requests(&self) -> usize {
        std::fs::File::open(&self.log)
            .map(|f| {
                std::io::BufReader::new(f)
                    .lines()
                    .map_while(Result::ok)
                    .filter(|l| l.contains("method=") && l.contains("status="))
                    .count()
            })
            .unwrap_or(0)
    }
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_relative() { root.join(p) } else { p })
        .unwrap_or_else(|| root.join("target"))
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn start_server(bin: &Path, out: &Path, latency_ms: u64, extra: &[&str]) -> Result<Server> {
    let port = free_port()?;
    let log = out.join(format!("server-{port}.log"));
    let file = std::fs::File::create(&log)?;
    let child = Command::new(bin)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--latency-ms", &latency_ms.to_string()])
        .args(extra)
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let server = Server {
        child,
        log,
        base_url: format!("http://127.0.0.1:{port}/api/v1"),
    };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    bail!("the reference server did not start listening on port {port}")
}

/// What one run's JSON events say.
struct RunFigures {
    requests: u64,
    /// The scenario that took longest, and how long.
    longest: (String, u64),
    model_requests: u64,
    model_longest_ms: u64,
    model_scenarios: usize,
    passed: bool,
    retries: u64,
    /// Creates sent (each holds a worker of the `--workers` shape).
    creates: u64,
    tokens_left: u64,
    checks_failed: u64,
}

fn read_events(path: &Path) -> Result<RunFigures> {
    let text = std::fs::read_to_string(path)?;
    let mut figures = RunFigures {
        requests: 0,
        longest: (String::new(), 0),
        model_requests: 0,
        model_longest_ms: 0,
        model_scenarios: 0,
        passed: false,
        retries: 0,
        creates: 0,
        tokens_left: 0,
        checks_failed: 0,
    };
    for line in text.lines() {
        let event: serde_json::Value = serde_json::from_str(line)?;
        match event["event"].as_str() {
            Some("scenario_finished") => {
                let ms = event["duration_ms"].as_u64().unwrap_or(0);
                let name = event["scenario"].as_str().unwrap_or("").to_owned();
                if event["suite"].as_str() == Some("model") {
                    figures.model_scenarios += 1;
                    figures.model_requests += event["requests"].as_u64().unwrap_or(0);
                    figures.model_longest_ms = figures.model_longest_ms.max(ms);
                }
                if ms > figures.longest.1 {
                    figures.longest = (name, ms);
                }
            }
            Some("exchange") if event["method"] == "POST" => figures.creates += 1,
            Some("run_finished") => {
                let stat = |k: &str| event["stats"][k].as_u64().unwrap_or(0);
                figures.requests = stat("requests");
                figures.passed = event["stats"]["failed"].as_u64() == Some(0);
                figures.retries = stat("retries");
                figures.tokens_left = stat("tokens_left");
                figures.checks_failed = stat("checks_failed");
            }
            _ => {}
        }
    }
    Ok(figures)
}

/// One full run against `base_url` with JSON events in `report`; its wall time and figures.
fn full_run(
    conformance: &Path,
    out: &Path,
    base_url: &str,
    report: &Path,
) -> Result<(Duration, RunFigures)> {
    let mut command = Command::new(conformance);
    command
        .current_dir(out)
        .args(["run", "--base-url", base_url, "--skip-check", "snapshot"])
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .envs(CREDENTIALS);
    let wall = time(&mut command)?;
    let figures = read_events(report)?;
    if !figures.passed {
        bail!(
            "the run failed against a correct server: see {}",
            report.display()
        );
    }
    Ok((wall, figures))
}

fn time(command: &mut Command) -> Result<Duration> {
    let started = Instant::now();
    let status = command.stdout(Stdio::null()).status()?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("{command:?} exited with {status}");
    }
    Ok(elapsed)
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let target = target_dir(root);
    let out = target.join("bench");
    std::fs::create_dir_all(&out)?;
    println!(
        "building release binaries (cargo build --release -p conformance -p reference-server)"
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "conformance",
            "-p",
            "reference-server",
        ])
        .status()?;
    if !status.success() {
        bail!("the release build failed");
    }
    let conformance = target.join("release/conformance");
    let server_bin = target.join("release/reference-server");
    let latency = options.latency_ms;
    let server = start_server(&server_bin, &out, latency, &[])?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\nreference server at {} answering after {latency} ms; {cores} cores; {}",
        server.base_url,
        chrono_free_date()
    );
    let mut best: Option<(Duration, RunFigures)> = None;
    for attempt in 1..=3 {
        let report = out.join(format!("events-default-{attempt}.jsonl"));
        let (wall, figures) = full_run(&conformance, &out, &server.base_url, &report)?;
        println!(
            "  full default run {attempt}/3: {:.2}s, {} requests",
            wall.as_secs_f64(),
            figures.requests
        );
        if best.as_ref().is_none_or(|(w, _)| wall < *w) {
            best = Some((wall, figures));
        }
    }
    let (wall, figures) = best.context("no run")?;
    let chain = Duration::from_millis(figures.longest.1);
    println!(
        "\n{:<34} {:>9} {:>9} {:>26} {:>8}",
        "run", "requests", "wall", "longest chain", "ratio"
    );
    println!(
        "{:<34} {:>9} {:>8.2}s {:>17} ≈ {:>3} × {latency} ms {:>7.2}",
        "full default run (best of 3)",
        figures.requests,
        wall.as_secs_f64(),
        figures.longest.0,
        (figures.longest.1 as f64 / latency.max(1) as f64).round(),
        wall.as_secs_f64() / chain.as_secs_f64().max(f64::EPSILON)
    );
    println!(
        "{:<34} {:>9} {:>9} {:>26}",
        format!(
            "  of which the model suite ({} lanes)",
            figures.model_scenarios
        ),
        figures.model_requests,
        "",
        format!(
            "longest lane {:.2}s ≈ {} × {latency} ms",
            figures.model_longest_ms as f64 / 1000.0,
            (figures.model_longest_ms as f64 / latency.max(1) as f64).round()
        )
    );
    let ours = Some((figures.requests, wall));
    drop(server);

    throttle_shapes(&conformance, &server_bin, &out, latency);
    let server = start_server(&server_bin, &out, latency, &[])?;

    let mut walls = Vec::new();
    for _ in 0..5 {
        walls.push(time(
            Command::new(&conformance).current_dir(root).arg("run"),
        )?);
    }
    walls.sort();
    println!(
        "\nembedded server, no added latency (process start to exit, median of 5): {:.2}s",
        walls[2].as_secs_f64()
    );

    if options.schemathesis {
        let (our_requests, our_wall) = ours.context("no run of ours")?;
        match schemathesis(root, &target, &out, &server) {
            Ok((requests, wall)) => {
                let our_rps = our_requests as f64 / our_wall.as_secs_f64();
                let their_rps = requests as f64 / wall.as_secs_f64();
                println!("\nsame server, spec and latency:");
                println!(
                    "{:<34} {:>9} {:>9} {:>14}",
                    "tool", "requests", "wall", "requests/s"
                );
                println!(
                    "{:<34} {:>9} {:>8.2}s {:>14.1}",
                    "conformance (default jobs)",
                    our_requests,
                    our_wall.as_secs_f64(),
                    our_rps
                );
                println!(
                    "{:<34} {:>9} {:>8.2}s {:>14.1}",
                    "schemathesis --checks all",
                    requests,
                    wall.as_secs_f64(),
                    their_rps
                );
                println!(
                    "ratio schemathesis / conformance: wall {:.1}×, requests/s {:.2}×",
                    wall.as_secs_f64() / our_wall.as_secs_f64(),
                    their_rps / our_rps
                );
            }
            Err(e) => println!("\nschemathesis comparison skipped: {e:#}"),
        }
    }
    Ok(())
}

/// A finite staging: the reference server's condition, and the least time a run of `n`
/// requests (`creates` of them creates) can take under it, the server answering after
/// `latency` seconds.
struct Shape {
    name: &'static str,
    flags: &'static [&'static str],
    floor: fn(u64, u64, f64) -> f64,
}

const SHAPES: &[Shape] = &[
    Shape {
        name: "token bucket 20/s, 429 + Retry-After",
        flags: &["--rate-limit", "20"],
        floor: |n, _, _| n as f64 / 20.0,
    },
    Shape {
        name: "nginx limit_req 50/s burst 50, 503",
        flags: &["--limit-req", "50,50"],
        floor: |n, _, _| n.saturating_sub(50) as f64 / 50.0,
    },
    Shape {
        name: "fixed window 600 per 60 s, 429",
        flags: &["--fixed-window", "600,60"],
        floor: |n, _, _| (n.saturating_sub(1) / 600) as f64 * 60.0,
    },
    Shape {
        name: "1 worker, 300 ms per create",
        flags: &["--workers", "1,300"],
        // Every request holds the one worker while the server's latency passes, a create
        // 300 ms more.
        floor: |n, creates, latency| creates as f64 * 0.3 + n as f64 * latency,
    },
];

/// A full run against each throttle shape: wall time against the floor the limit allows,
/// requests, retries, tokens left; and a server that stalls, which must end the run (exit 3).
fn throttle_shapes(conformance: &Path, server_bin: &Path, out: &Path, latency: u64) {
    println!(
        "\n{:<40} {:>9} {:>8} {:>9} {:>9} {:>7} {:>6}",
        "throttle shape", "requests", "retries", "wall", "floor", "ratio", "left"
    );
    for shape in SHAPES {
        let row = start_server(server_bin, out, latency, shape.flags).and_then(|server| {
            let report = out.join(format!("events-{}.jsonl", shape.flags[0].trim_matches('-')));
            let (wall, code, figures) = any_run(conformance, out, &server.base_url, &report)?;
            if code != Some(0) || figures.checks_failed > 0 {
                bail!(
                    "exit {code:?}, {} failed checks: see {}",
                    figures.checks_failed,
                    report.display()
                );
            }
            Ok((wall, figures))
        });
        match row {
            Ok((wall, f)) => {
                let floor = (shape.floor)(f.requests, f.creates, latency as f64 / 1000.0);
                println!(
                    "{:<40} {:>9} {:>8} {:>8.1}s {:>8.1}s {:>7.2} {:>6}",
                    shape.name,
                    f.requests,
                    f.retries,
                    wall.as_secs_f64(),
                    floor,
                    wall.as_secs_f64() / floor.max(f64::EPSILON),
                    f.tokens_left
                );
            }
            Err(e) => println!("{:<40} failed: {e:#}", shape.name),
        }
    }
    let stalled = start_server(server_bin, out, latency, &["--stall-after", "100"]).and_then(|s| {
        let report = out.join("events-stall.jsonl");
        let (wall, code, _) = any_run(conformance, out, &s.base_url, &report)?;
        Ok((wall, code))
    });
    match stalled {
        Ok((wall, code)) => println!(
            "{:<40} exit {} after {:.1}s (a silent target ends the run with no verdict)",
            "stalls after 100 requests",
            code.map_or("none".into(), |c| c.to_string()),
            wall.as_secs_f64()
        ),
        Err(e) => println!("{:<40} failed: {e:#}", "stalls after 100 requests"),
    }
}

/// One full run whatever its exit code: wall time, exit code, figures.
fn any_run(
    conformance: &Path,
    out: &Path,
    base_url: &str,
    report: &Path,
) -> Result<(Duration, Option<i32>, RunFigures)> {
    let started = Instant::now();
    let status = Command::new(conformance)
        .current_dir(out)
        .args(["run", "--base-url", base_url, "--skip-check", "snapshot"])
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .envs(CREDENTIALS)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    let wall = started.elapsed();
    Ok((wall, status.code(), read_events(report)?))
}

/// Today's date from the system clock, without a date crate: `date -u +%F` where it exists.
fn chrono_free_date() -> String {
    Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The pinned Schemathesis of scripts/schemathesis.sh, in a venv under target/; returns the
/// requests the server logged during its run and the run's wall time.
fn schemathesis(
    root: &Path,
    target: &Path,
    out: &Path,
    server: &Server,
) -> Result<(usize, Duration)> {
    let script = std::fs::read_to_string(root.join("scripts/schemathesis.sh"))?;
    let version = script
        .lines()
        .find_map(|l| l.strip_prefix("SCHEMATHESIS_VERSION=\""))
        .and_then(|v| v.strip_suffix('"'))
        .context("scripts/schemathesis.sh pins no SCHEMATHESIS_VERSION")?;
    let venv = target.join("schemathesis-venv");
    let bin = venv.join("bin/schemathesis");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(version));
    let on_path = || {
        Command::new("schemathesis")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let bin = if installed {
        bin
    } else if on_path() {
        PathBuf::from("schemathesis")
    } else {
        bail!(
            "schemathesis is not installed (python3 -m venv {} && {}/bin/pip install schemathesis=={version})",
            venv.display(),
            venv.display()
        );
    };
    let work = out.join("schemathesis-work");
    std::fs::create_dir_all(&work)?;
    let before = server.requests();
    let mut log = std::fs::File::create(out.join("schemathesis.log"))?;
    let started = Instant::now();
    let output = Command::new(&bin)
        .current_dir(&work)
        .arg("run")
        .arg(root.join("openapi/user-access-tokens.yaml"))
        .args(["--url", &server.base_url])
        .args(["-H", &format!("Authorization: Bearer {USER}")])
        .args([
            "--checks",
            "all",
            "--max-examples",
            "100",
            "--seed",
            "20251206",
        ])
        .args(["--generation-database", "none", "--no-color"])
        .output()?;
    let wall = started.elapsed();
    log.write_all(&output.stdout)?;
    log.write_all(&output.stderr)?;
    // Let the server finish writing its log.
    std::thread::sleep(Duration::from_millis(200));
    Ok((server.requests() - before, wall))
}
