//! `cargo xtask bench`: how close a run against a remote-like server comes to its floor.
//!
//! Builds the runner and the reference server in release mode, starts the server with an
//! added latency (50 ms by default, a nearby staging), and runs the full suite with
//! `--jobs 1` and with the default jobs. For each it prints requests, wall time, the critical
//! path measured from the run's own JSON events (the scenario with the most requests ×
//! latency: no schedule can beat it) and the ratio wall / critical path. It also times a
//! full run against the embedded server (process start to exit, median of five), and runs
//! Schemathesis (pinned, in a venv under target/) against the same server for comparison;
//! requests are counted the same way for both, from the server's request log.
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

fn start_server(bin: &Path, out: &Path, latency_ms: u64) -> Result<Server> {
    let port = free_port()?;
    let log = out.join("server.log");
    let file = std::fs::File::create(&log)?;
    let child = Command::new(bin)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--latency-ms", &latency_ms.to_string()])
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
    longest_scenario_requests: u64,
    passed: bool,
}

fn read_events(path: &Path) -> Result<RunFigures> {
    let text = std::fs::read_to_string(path)?;
    let mut figures = RunFigures {
        requests: 0,
        longest_scenario_requests: 0,
        passed: false,
    };
    for line in text.lines() {
        let event: serde_json::Value = serde_json::from_str(line)?;
        match event["event"].as_str() {
            Some("scenario_finished") => {
                let n = event["requests"].as_u64().unwrap_or(0);
                figures.longest_scenario_requests = figures.longest_scenario_requests.max(n);
            }
            Some("run_finished") => {
                figures.requests = event["stats"]["requests"].as_u64().unwrap_or(0);
                figures.passed = event["stats"]["failed"].as_u64() == Some(0);
            }
            _ => {}
        }
    }
    Ok(figures)
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
    let server = start_server(&server_bin, &out, latency)?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\nreference server at {} answering after {latency} ms; {cores} cores; {}",
        server.base_url,
        chrono_free_date()
    );
    println!(
        "\n{:<22} {:>9} {:>9} {:>14} {:>16}",
        "run", "requests", "wall", "critical path", "wall / critical"
    );
    let mut ours = None;
    for (label, jobs) in [("--jobs 1", Some("1")), ("default jobs", None)] {
        let report = out.join(format!("events-{}.jsonl", jobs.unwrap_or("default")));
        let mut command = Command::new(&conformance);
        command
            .current_dir(&out)
            .args([
                "run",
                "--base-url",
                &server.base_url,
                "--skip-check",
                "snapshot",
            ])
            .arg("--report")
            .arg(format!("json={}", report.display()))
            .envs(CREDENTIALS);
        if let Some(j) = jobs {
            command.args(["--jobs", j]);
        }
        let wall = time(&mut command)?;
        let figures = read_events(&report)?;
        if !figures.passed {
            bail!(
                "the run with {label} failed against a correct server: see {}",
                report.display()
            );
        }
        let critical = Duration::from_millis(figures.longest_scenario_requests * latency);
        println!(
            "{label:<22} {:>9} {:>8.2}s {:>13.2}s {:>16.2}",
            figures.requests,
            wall.as_secs_f64(),
            critical.as_secs_f64(),
            wall.as_secs_f64() / critical.as_secs_f64().max(f64::EPSILON)
        );
        ours = Some((figures.requests, wall));
    }

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
    if !installed {
        println!(
            "\ninstalling schemathesis {version} into {}",
            venv.display()
        );
        let ok = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()?
            .success()
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", &format!("schemathesis=={version}")])
                .status()?
                .success();
        if !ok {
            bail!("cannot install schemathesis {version} (needs python3 and PyPI)");
        }
    }
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
