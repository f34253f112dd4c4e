//! `conformance`: run the suites against a server, list what exists, or serve the reference
//! server. Exit codes: 0 all checks passed, 1 a check failed, 2 usage or configuration
//! error, 3 the target could not be reached.

use abp_spec::Spec;
use clap::{Args, Parser, Subcommand};
use conformance::checks::{self, Selection};
use conformance::config::{Credentials, Role, RunConfig};
use conformance::report::{
    Fanout, Reporter, html::Html, human::Human, json::JsonLines, junit::Junit,
};
use conformance::suites;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "conformance",
    version,
    about = "Prove that a server implements the User Access Token API spec"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the scenario suites (against the embedded reference server unless a target is given).
    Run(Box<RunArgs>),
    /// List suites, scenarios and checks, one line each.
    List(ListArgs),
    /// Run the reference server in the foreground.
    Serve(reference_server::ServeArgs),
}

#[derive(Args)]
struct TargetArgs {
    /// The server's base URL including the path stem, e.g. https://host/api/v1.
    #[arg(long, value_name = "URL", conflicts_with = "server")]
    base_url: Option<String>,
    /// One of the spec's servers by name: production, test (staging) or local.
    #[arg(long, value_name = "NAME")]
    server: Option<String>,
    /// The spec to test against (default: the one compiled into this binary).
    #[arg(long, value_name = "PATH")]
    spec: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Run only this suite (repeatable): lifecycle, validation, auth, model.
    #[arg(long, value_name = "SUITE")]
    suite: Vec<String>,
    /// Run only scenarios whose name matches this glob, e.g. 'auth/*/expired-*'.
    #[arg(long, value_name = "GLOB")]
    scenario: Option<String>,
    /// Run only this check (repeatable).
    #[arg(long = "check", value_name = "NAME")]
    checks: Vec<String>,
    /// Do not run this check (repeatable).
    #[arg(long = "skip-check", value_name = "NAME")]
    skip_checks: Vec<String>,
    /// How far the server's createdAt may be from this machine's clock, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    clock_tolerance: u32,
    /// Where approved snapshots live; each target has a directory below it.
    #[arg(long, value_name = "DIR")]
    snapshot_dir: Option<PathBuf>,
    /// The snapshot directory's name for this target (default: embedded, the --server name,
    /// or the URL's host, port and path stem).
    #[arg(long, value_name = "NAME")]
    target_name: Option<String>,
    /// Record the exchanges of this run as the target's new approved baseline. Scenarios
    /// whose spec checks fail are not recorded (see --force).
    #[arg(long)]
    update_snapshots: bool,
    /// With --update-snapshots: record scenarios whose spec checks failed too.
    #[arg(long, requires = "update_snapshots")]
    force: bool,
    /// Write a report (repeatable): junit=PATH, json=PATH (events as JSON lines), html=PATH.
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    reports: Vec<String>,
    /// A TOML file of known failures: reported, but they do not fail the run until they expire.
    #[arg(long, value_name = "PATH")]
    known_failures: Option<PathBuf>,
    /// Fail the run when a status documented in the spec was never exercised.
    #[arg(long)]
    require_coverage: bool,
    /// Switch on a deliberate bug in the embedded server (repeatable; `reference-server
    /// --list-faults` shows them). Shows what failures look like; only without a target.
    #[arg(long = "embedded-fault", value_name = "NAME", conflicts_with_all = ["base_url", "server"])]
    embedded_faults: Vec<reference_server::Fault>,
    /// Send at most this many requests per second (for rate-limited staging servers).
    #[arg(long, value_name = "N", value_parser = parse_rps)]
    max_rps: Option<f64>,
    /// Scenarios to run at once. Against a remote server a run's time is round trips, and
    /// concurrent scenarios overlap them; each scenario judges only its own tokens, so the
    /// verdict does not depend on it. 1 runs them one by one, in order.
    #[arg(long, short = 'j', value_name = "N", default_value_t = conformance::config::DEFAULT_JOBS, value_parser = clap::builder::ValueParser::new(clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(1..=256), usize::from)))]
    jobs: usize,
    /// Retries per request after a 429/503 or a dropped connection (0: never retry).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=20))]
    max_retries: u32,
    /// The longest wait for one retry, in seconds; a Retry-After beyond it ends the request.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    max_retry_wait: u64,
    /// Trust this certificate authority (PEM) too, for a staging server with a private CA.
    /// There is no option to skip certificate checks.
    #[arg(long, value_name = "PATH")]
    ca_cert: Vec<PathBuf>,
    /// Per-request timeout, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    /// The model suite's seed: the same seed sends the same sequence of requests (default: a
    /// random seed, shown in the scenario's summary and in any failure).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// The model suite's budget: operations in its random sequence (a burst counts as one).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    model_steps: Option<u64>,
}

#[derive(Args)]
struct ListArgs {
    /// The spec to generate scenarios from (default: the one compiled into this binary).
    #[arg(long, value_name = "PATH")]
    spec: Option<PathBuf>,
}

/// A one-line error and the exit code that goes with it.
struct Failure(u8, String);

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    configure_insta(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run(*args).await,
            Command::List(args) => list(args),
            Command::Serve(args) => reference_server::serve(args)
                .await
                .map(|()| 0)
                .map_err(|e| Failure(2, e.to_string())),
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

/// insta reads its behaviour from the environment once per process; set it before any thread
/// exists. Our report shows the diffs, so insta's own output is off unless asked for.
fn configure_insta(cli: &Cli) {
    let set = |key: &str, value: &str| {
        // SAFETY: called from `main` before the runtime starts, so no other thread can be
        // reading the environment.
        unsafe { std::env::set_var(key, value) }
    };
    if std::env::var_os("INSTA_OUTPUT").is_none() {
        set("INSTA_OUTPUT", "none");
    }
    if std::env::var_os("INSTA_WORKSPACE_ROOT").is_none()
        && let Ok(cwd) = std::env::current_dir()
    {
        set("INSTA_WORKSPACE_ROOT", &cwd.to_string_lossy());
    }
    if let Command::Run(args) = &cli.command
        && args.update_snapshots
    {
        set("INSTA_UPDATE", "always");
    }
}

fn load_spec(path: Option<&PathBuf>) -> Result<Spec, Failure> {
    match path {
        Some(p) => Spec::load(p).map_err(|e| Failure(2, e.to_string())),
        None => Ok(Spec::embedded()),
    }
}

/// Checks a base URL and returns it without a trailing slash.
fn parse_base_url(url: &str) -> Result<String, Failure> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Failure(2, format!("invalid --base-url `{url}`: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Failure(
            2,
            format!("invalid --base-url `{url}`: expected an http:// or https:// URL with a host"),
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// This invocation with `--update-snapshots`, for the first-contact message. Arguments only:
/// credentials come from the environment and never appear here.
fn record_command() -> String {
    let mut words = vec!["conformance".to_owned()];
    for arg in std::env::args().skip(1) {
        if arg == "--update-snapshots" {
            continue;
        }
        let plain = arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c));
        words.push(if plain {
            arg
        } else {
            format!("'{}'", arg.replace('\'', "'\\''"))
        });
    }
    words.push("--update-snapshots".into());
    words.join(" ")
}

/// Reads every `--ca-cert` file; a missing or malformed one is a usage error.
fn load_ca_certs(paths: &[PathBuf]) -> Result<Vec<reqwest::Certificate>, Failure> {
    let mut out = Vec::new();
    for path in paths {
        let pem = std::fs::read(path)
            .map_err(|e| Failure(2, format!("cannot read --ca-cert {}: {e}", path.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            Failure(
                2,
                format!("--ca-cert {} is not a PEM certificate: {e}", path.display()),
            )
        })?;
        if certs.is_empty() {
            return Err(Failure(
                2,
                format!("--ca-cert {} holds no PEM certificate", path.display()),
            ));
        }
        out.extend(certs);
    }
    Ok(out)
}

fn parse_rps(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.01 => Ok(n),
        _ => Err(format!(
            "`{text}` is not a rate of at least 0.01 requests per second"
        )),
    }
}

/// Opens every `--report` file before the run, so a bad path fails fast and changes nothing
/// on the target.
fn open_reports(specs: &[String]) -> Result<Vec<Box<dyn Reporter>>, Failure> {
    let mut out: Vec<Box<dyn Reporter>> = Vec::new();
    for spec in specs {
        let (format, path) = spec.split_once('=').ok_or_else(|| {
            Failure(
                2,
                format!("invalid --report `{spec}`: expected FORMAT=PATH (junit, json or html)"),
            )
        })?;
        if !matches!(format, "junit" | "json" | "html") {
            return Err(Failure(
                2,
                format!(
                    "invalid --report `{spec}`: unknown format `{format}` (junit, json or html)"
                ),
            ));
        }
        let path = PathBuf::from(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure(2, format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = std::fs::File::create(&path)
            .map_err(|e| Failure(2, format!("cannot write report {}: {e}", path.display())))?;
        out.push(match format {
            "junit" => Box::new(Junit::new(file)),
            "json" => Box::new(JsonLines::new(file)),
            _ => Box::new(Html::new(file)),
        });
    }
    Ok(out)
}

async fn run(args: RunArgs) -> Result<u8, Failure> {
    let spec = load_spec(args.target.spec.as_ref())?;
    let checks = Selection::new(&args.checks, &args.skip_checks).map_err(|e| Failure(2, e))?;
    let known_failures = match &args.known_failures {
        Some(path) => {
            conformance::known::KnownFailures::load(path, chrono::Utc::now().date_naive())
                .map_err(|e| Failure(2, e))?
        }
        None => Default::default(),
    };
    let remote = match (&args.target.base_url, &args.target.server) {
        (Some(url), _) => {
            let url = parse_base_url(url)?;
            let name = conformance::snapshot::url_target_name(&url);
            Some((url, name))
        }
        (None, Some(name)) => {
            let servers = spec.servers();
            let server = servers.iter().find(|s| &s.name == name).ok_or_else(|| {
                let names: Vec<_> = servers.iter().map(|s| s.name.as_str()).collect();
                Failure(
                    2,
                    format!(
                        "unknown --server `{name}` (the spec names: {})",
                        names.join(", ")
                    ),
                )
            })?;
            Some((parse_base_url(&server.url)?, name.clone()))
        }
        (None, None) => None,
    };

    let file_reporters = open_reports(&args.reports)?;
    let mut embedded = None;
    let (base_url, target_name, credentials) = match remote {
        Some((url, name)) => {
            let (user, credentials) = Credentials::from_env();
            if user.is_none() {
                return Err(Failure(
                    2,
                    format!(
                        "{} is not set: a remote target needs the bearer credential of a user who may manage tokens",
                        Role::User.env_var()
                    ),
                ));
            }
            (url, name, credentials)
        }
        None => {
            let server = reference_server::start_embedded(args.embedded_faults.clone())
                .await
                .map_err(|e| Failure(2, format!("cannot start the embedded server: {e}")))?;
            let c = &server.credentials;
            let credentials = Credentials {
                user: c.user.clone(),
                other_user: Some(c.other_user.clone()),
                forbidden: Some(c.forbidden.clone()),
                expired: Some(c.expired.clone()),
            };
            let url = server.base_url.clone();
            embedded = Some(server);
            (url, "embedded".to_owned(), credentials)
        }
    };

    let target_name = args.target_name.clone().unwrap_or(target_name);
    let snapshot_root = args
        .snapshot_dir
        .clone()
        .unwrap_or_else(conformance::snapshot::default_root);
    let snapshot_dir = snapshot_root.join(conformance::snapshot::target_dir_name(&target_name));
    if args.update_snapshots {
        std::fs::create_dir_all(&snapshot_dir)
            .map_err(|e| Failure(2, format!("cannot create {}: {e}", snapshot_dir.display())))?;
    }
    // A full recording also retires the baselines of scenarios that no longer exist.
    let prune = (args.update_snapshots
        && args.suite.is_empty()
        && args.scenario.is_none()
        && checks.is_enabled(conformance::checks::SNAPSHOT))
    .then(|| suites::all(&spec).map(|all| all.into_iter().map(|s| s.name).collect::<Vec<_>>()))
    .transpose()
    .map_err(|e| Failure(2, e.to_string()))?;
    let mut config = RunConfig::new(&base_url, &target_name, spec, credentials);
    config.verify_roles = embedded.is_none();
    config.update_snapshots = args.update_snapshots;
    config.force_record = args.force;
    config.record_command = Some(record_command());
    config.snapshot_dir = Some(snapshot_dir.clone());
    config.suites = args.suite;
    config.scenario_glob = args.scenario;
    config.model_seed = args.seed;
    config.model_steps = args.model_steps.map(|n| n as usize);
    config.checks = checks;
    config.clock_tolerance = chrono::TimeDelta::seconds(i64::from(args.clock_tolerance));
    config.timeout = std::time::Duration::from_secs(args.timeout);
    config.known_failures = std::sync::Arc::new(known_failures);
    config.require_coverage = args.require_coverage;
    config.max_rps = args.max_rps;
    config.jobs = args.jobs;
    config.retry = conformance::transport::RetryPolicy {
        max_retries: args.max_retries,
        max_wait: std::time::Duration::from_secs(args.max_retry_wait),
    };
    config.ca_certs = load_ca_certs(&args.ca_cert)?;

    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let color = tty && std::env::var_os("NO_COLOR").is_none();
    let mut reporters = Fanout::default();
    reporters.push(Box::new(Human::new(
        stdout,
        color,
        tty && std::io::stderr().is_terminal(),
    )));
    for r in file_reporters {
        reporters.push(r);
    }

    // First SIGINT/SIGTERM: finish the current scenario, delete what the run created, report.
    // A second one exits at once.
    let cancel = config.cancel.clone();
    tokio::spawn(async move {
        let mut signals = 0;
        while interrupted().await {
            signals += 1;
            if signals > 1 {
                eprintln!("error: interrupted twice: exiting without cleaning up");
                std::process::exit(130);
            }
            eprintln!(
                "interrupted: finishing the current scenario, then deleting this run's tokens (again to exit now)"
            );
            cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let outcome = conformance::run(config, &mut reporters).await;
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    if let Err(e) = reporters.finish() {
        return Err(Failure(2, format!("cannot write a report: {e}")));
    }
    if let (Some(names), Ok(stats)) = (&prune, &outcome)
        && !stats.interrupted
    {
        let removed = conformance::snapshot::prune(&snapshot_dir, names)
            .map_err(|e| Failure(2, format!("cannot prune {}: {e}", snapshot_dir.display())))?;
        for path in removed {
            let _ = std::io::Write::write_all(
                &mut std::io::stdout(),
                format!(
                    "removed the snapshot of a scenario that no longer exists: {}\n",
                    path.display()
                )
                .as_bytes(),
            );
        }
    }
    match outcome {
        Ok(stats) if stats.interrupted => Ok(130),
        Ok(stats) => Ok(if stats.success() { 0 } else { 1 }),
        Err(e) => Err(Failure(e.exit_code(), e.to_string())),
    }
}

/// Waits for SIGINT or SIGTERM (CI systems cancel jobs with either); `false` if signals
/// cannot be watched.
async fn interrupted() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return false;
        };
        tokio::select! {
            _ = int.recv() => true,
            _ = term.recv() => true,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

fn list(args: ListArgs) -> Result<u8, Failure> {
    use std::fmt::Write as _;
    let spec = load_spec(args.spec.as_ref())?;
    let scenarios = suites::all(&spec).map_err(|e| Failure(2, e.to_string()))?;
    let mut out = String::from("suites:\n");
    for suite in suites::Suite::ALL {
        let n = scenarios.iter().filter(|s| s.suite == suite).count();
        let _ = writeln!(
            out,
            "  {:<12} {n:>3} scenarios  {}",
            suite.as_str(),
            suite.description()
        );
    }
    out.push_str("\nscenarios:\n");
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &scenarios {
        let needs = if s.needs.is_empty() {
            String::new()
        } else {
            let vars: Vec<_> = s.needs.iter().map(|r| r.env_var()).collect();
            format!("  [needs {}]", vars.join(", "))
        };
        let _ = writeln!(out, "  {:<width$}  {}{needs}", s.name, s.summary);
    }
    out.push_str("\nchecks:\n");
    for c in checks::ALL {
        let scope = match c.scope {
            checks::Scope::Response => "every response",
            checks::Scope::Scenario => "scenario",
        };
        let _ = writeln!(out, "  {:<28} {:<15} {}", c.name, scope, c.description);
    }
    // A reader that stops early (`| head`) closes the pipe: that is not an error.
    let mut stdout = std::io::stdout().lock();
    match std::io::Write::write_all(&mut stdout, out.as_bytes()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Failure(2, format!("cannot write to stdout: {e}"))),
    }
}
