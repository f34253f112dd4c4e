//! `conformance run`: resolve the target (the embedded server unless one is given), build the
//! run's configuration from the flags, and run it with signal handling and the reporters.

use super::target::{ConnectArgs, TargetArgs, load_spec, remote};
use super::{CliError, print, this_command};
use clap::Args;
use conformance::checks::{self, Selection};
use conformance::config::{Credentials, RunConfig};
use conformance::report::{Fanout, Format, Reporter, human::Human};
use conformance::suites;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Run only this suite (repeatable): lifecycle, validation, auth, model.
    #[arg(long, value_name = "SUITE")]
    pub suite: Vec<String>,
    /// Run only scenarios whose name matches this glob, e.g. 'auth/*/expired-*'.
    #[arg(long, value_name = "GLOB")]
    pub scenario: Option<String>,
    /// Run only this check (repeatable).
    #[arg(long = "check", value_name = "NAME")]
    pub checks: Vec<String>,
    /// Do not run this check (repeatable).
    #[arg(long = "skip-check", value_name = "NAME")]
    pub skip_checks: Vec<String>,
    /// Scenarios to run at once. Against a remote server a run's time is round trips, and
    /// concurrent scenarios overlap them; each scenario judges only its own tokens, so the
    /// verdict does not depend on it. 1 runs them one by one, in order.
    #[arg(long, short = 'j', value_name = "N", default_value_t = conformance::config::DEFAULT_JOBS, value_parser = clap::builder::ValueParser::new(clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(1..=256), usize::from)))]
    pub jobs: usize,
    /// How far the server's createdAt may be from this machine's clock, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub clock_tolerance: u32,
    /// Where approved snapshots live; each target has a directory below it (default:
    /// conformance/snapshots of the enclosing git work tree, else of the current directory).
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,
    /// The snapshot directory's name for this target (default: embedded, the --server name,
    /// or the URL's host, port and path stem).
    #[arg(long, value_name = "NAME")]
    pub target_name: Option<String>,
    /// Record the exchanges of this run as the target's new approved baseline. Scenarios
    /// whose spec checks fail are not recorded (see --force).
    #[arg(long)]
    pub update_snapshots: bool,
    /// With --update-snapshots: record scenarios whose spec checks failed too.
    #[arg(long, requires = "update_snapshots")]
    pub force: bool,
    /// Write a report (repeatable): junit=PATH, json=PATH (events as JSON lines), html=PATH.
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    pub reports: Vec<String>,
    /// A TOML file of known failures: reported, but they do not fail the run until they expire.
    #[arg(long, value_name = "PATH")]
    pub known_failures: Option<PathBuf>,
    /// Fail the run when a status documented in the spec was never exercised.
    #[arg(long)]
    pub require_coverage: bool,
    /// Switch on a deliberate bug in the embedded server (repeatable; `reference-server
    /// --list-faults` shows them). Shows what failures look like; only without a target.
    #[arg(long = "embedded-fault", value_name = "NAME", conflicts_with_all = ["base_url", "server"])]
    pub embedded_faults: Vec<reference_server::Fault>,
    /// The model suite's seed: the same seed sends the same sequence of requests (default: a
    /// random seed, shown in the scenario's summary and in any failure).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// The model suite's budget: operations in its random sequence (a burst counts as one).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub model_steps: Option<u64>,
}

/// Opens every `--report` file before the run, so a bad path fails fast and changes nothing
/// on the target.
fn open_reports(specs: &[String]) -> Result<Vec<Box<dyn Reporter>>, CliError> {
    use clap::ValueEnum as _;
    let names = Format::names().join(", ");
    let mut out = Vec::new();
    for spec in specs {
        let (format, path) = spec.split_once('=').ok_or_else(|| {
            CliError::Usage(format!(
                "invalid --report `{spec}`: expected FORMAT=PATH ({names})"
            ))
        })?;
        let format = Format::from_str(format, false).map_err(|_| {
            CliError::Usage(format!(
                "invalid --report `{spec}`: unknown format `{format}` ({names})"
            ))
        })?;
        let path = PathBuf::from(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = std::fs::File::create(&path)
            .map_err(|e| CliError::Usage(format!("cannot write report {}: {e}", path.display())))?;
        out.push(format.open(file));
    }
    Ok(out)
}

/// The run's configuration from the flags, for a target at `base_url` named `name`.
fn build_config(
    args: RunArgs,
    spec: abp_spec::Spec,
    base_url: &str,
    name: String,
    credentials: Credentials,
) -> Result<RunConfig, CliError> {
    let checks = Selection::new(&args.checks, &args.skip_checks).map_err(CliError::Usage)?;
    let known_failures = match &args.known_failures {
        Some(path) => {
            conformance::known::KnownFailures::load(path, chrono::Utc::now().date_naive())
                .map_err(CliError::Usage)?
        }
        None => Default::default(),
    };
    let target_name = args.target_name.clone().unwrap_or(name);
    let snapshot_root = args
        .snapshot_dir
        .clone()
        .unwrap_or_else(conformance::snapshot::default_root);
    let snapshot_dir = snapshot_root.join(conformance::snapshot::target_dir_name(&target_name));
    if args.update_snapshots {
        std::fs::create_dir_all(&snapshot_dir).map_err(|e| {
            CliError::Usage(format!("cannot create {}: {e}", snapshot_dir.display()))
        })?;
    }
    let mut config = RunConfig::new(base_url, &target_name, spec, credentials);
    config.update_snapshots = args.update_snapshots;
    config.force_record = args.force;
    config.record_command = Some(this_command(
        &["--update-snapshots"],
        &["--update-snapshots"],
    ));
    if args.target.base_url.is_some() || args.target.server.is_some() {
        let mut target = vec!["conformance".to_owned(), "cleanup".to_owned()];
        if let Some(url) = &args.target.base_url {
            target.extend(["--base-url".into(), url.clone()]);
        }
        if let Some(server) = &args.target.server {
            target.extend(["--server".into(), server.clone()]);
        }
        config.cleanup_command = Some(target.join(" "));
    }
    config.snapshot_dir = Some(snapshot_dir);
    config.suites = args.suite;
    config.scenario_glob = args.scenario;
    config.model_seed = args.seed;
    config.model_steps = args.model_steps.map(|n| n as usize);
    config.checks = checks;
    config.clock_tolerance = chrono::TimeDelta::seconds(i64::from(args.clock_tolerance));
    config.timeout = std::time::Duration::from_secs(args.connect.timeout);
    config.max_body_bytes = args.connect.max_body_bytes;
    config.known_failures = std::sync::Arc::new(known_failures);
    config.require_coverage = args.require_coverage;
    config.max_rps = args.connect.max_rps;
    config.jobs = args.jobs;
    config.retry = args.connect.retry();
    config.ca_certs = args.connect.ca_certs()?;
    Ok(config)
}

pub async fn run(args: RunArgs) -> Result<(), CliError> {
    let spec = load_spec(args.target.spec.as_ref())?;
    let remote = remote(
        &args.target,
        &spec,
        "a run creates and deletes access tokens",
    )?;
    let file_reporters = open_reports(&args.reports)?;
    // A full recording also retires the baselines of scenarios that no longer exist.
    let prune = args.update_snapshots
        && args.suite.is_empty()
        && args.scenario.is_none()
        && (args.checks.is_empty() || args.checks.iter().any(|c| c == checks::SNAPSHOT))
        && !args.skip_checks.iter().any(|c| c == checks::SNAPSHOT);
    let all_names: Vec<String> = suites::all(&spec)?.into_iter().map(|s| s.name).collect();

    let (config, embedded) = match remote {
        Some(r) => (
            build_config(args, spec, &r.base_url, r.name, r.credentials)?,
            None,
        ),
        None => {
            let server = reference_server::start_embedded(args.embedded_faults.clone())
                .await
                .map_err(|e| CliError::Usage(format!("cannot start the embedded server: {e}")))?;
            let c = &server.credentials;
            let credentials = Credentials {
                user: c.user.clone(),
                other_user: Some(c.other_user.clone()),
                forbidden: Some(c.forbidden.clone()),
                expired: Some(c.expired.clone()),
            };
            let url = server.base_url.clone();
            let mut config = build_config(args, spec, &url, "embedded".into(), credentials)?;
            // The fixture's credentials are right by construction.
            config.verify_roles = false;
            (config, Some(server))
        }
    };
    let snapshot_dir = config.snapshot_dir.clone();

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

    watch_signals(config.cancel.clone());
    let outcome = conformance::run(config, &mut reporters).await;
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    reporters.finish().map_err(CliError::Report)?;
    let stats = outcome?;
    if prune
        && !stats.interrupted
        && let Some(dir) = &snapshot_dir
    {
        let removed = conformance::snapshot::prune(dir, &all_names)
            .map_err(|e| CliError::Usage(format!("cannot prune {}: {e}", dir.display())))?;
        for path in removed {
            print(&format!(
                "removed the snapshot of a scenario that no longer exists: {}\n",
                path.display()
            ))?;
        }
    }
    if stats.interrupted {
        Err(CliError::Interrupted)
    } else if stats.failed == 0 && stats.unavailable > 0 {
        Err(CliError::Unavailable {
            scenarios: stats.unavailable,
            requests: stats.rate_limited,
        })
    } else if stats.success() {
        Ok(())
    } else {
        Err(CliError::ChecksFailed)
    }
}

/// First SIGINT/SIGTERM: start no more scenarios, let those in flight finish, delete what
/// the run created, report. A second one exits at once.
fn watch_signals(cancel: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    tokio::spawn(async move {
        let mut signals = 0;
        while interrupted().await {
            signals += 1;
            if signals > 1 {
                eprintln!(
                    "error: interrupted twice: exiting without cleaning up (`conformance cleanup` removes what is left)"
                );
                std::process::exit(130);
            }
            eprintln!(
                "interrupted: finishing the scenarios in flight, then deleting this run's tokens (again to exit now)"
            );
            cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
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
