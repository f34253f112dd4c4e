//! `conformance run`: resolve the target (the embedded server unless one is given), build the
//! run's configuration from the flags, and run it with signal handling and the reporters.

use super::target::{ConnectArgs, TargetArgs, load_spec, remote};
use super::{CliError, print, this_command};
use clap::Args;
use conformance::checks::{self, Selection};
use conformance::config::{Credentials, RunConfig, RunControl};
use conformance::exit;
use conformance::report::{Commands, Fanout, Format, Reporter, human::Human};
use conformance::snapshot::baseline::{self, Baseline};
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
    /// Write a report (repeatable): junit=PATH, json=PATH (events as JSON lines), html=PATH,
    /// markdown=PATH (a CI job summary).
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
    /// Switch on a conformant variant in the embedded server (repeatable; `reference-server
    /// --list-variants` shows them); its answers differ from the committed embedded baseline.
    #[arg(long = "embedded-variant", value_name = "NAME", conflicts_with_all = ["base_url", "server"])]
    pub embedded_variants: Vec<reference_server::Variant>,
    /// The model suite's seed: the same seed sends the same sequence of requests (default: a
    /// random seed, shown in the scenario's summary and in any failure).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Stop the whole run after this many seconds, like an interrupted one: scenarios in
    /// flight are cut short (never passed), the run's tokens are deleted, and it exits 3.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub deadline: Option<u64>,
    /// Run a failed scenario again, up to N times, with fresh tokens. One that then passes is
    /// FLAKY (its own verdict in every report), which still fails the run unless
    /// --allow-flaky; a failure that reproduces stays FAIL.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub rerun_failures: u32,
    /// With --rerun-failures: flaky scenarios are reported but do not fail the run.
    #[arg(long)]
    pub allow_flaky: bool,
    /// The model suite's budget: steps of all its lanes together (requests sent at once count
    /// as one step); lanes of about 15 steps run at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub model_steps: Option<u64>,
    /// Run only this lane of the model suite (1-based), as a failure's replay line says.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub model_lane: Option<u64>,
    /// Report a failing model lane as it ran instead of shrinking it to a minimal sequence
    /// (shrinking replays the lane, up to 200 times): for a gate that only needs the verdict.
    #[arg(long)]
    pub no_shrink: bool,
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

/// On GitHub Actions without a Markdown report, one line saying how to get a job summary.
/// The summary file is never written uninvited.
fn step_summary_hint(reports: &[String]) -> Option<String> {
    let on_actions = std::env::var_os("GITHUB_STEP_SUMMARY").is_some_and(|v| !v.is_empty());
    let asked = reports.iter().any(|r| r.starts_with("markdown="));
    (on_actions && !asked).then(|| {
        "job summary: add --report markdown=summary.md and append it to \"$GITHUB_STEP_SUMMARY\" (cat summary.md >> \"$GITHUB_STEP_SUMMARY\") to show this run on the job's page\n".to_owned()
    })
}

/// The run's configuration from the flags, for a target at `base_url` named `name`.
fn build_config(
    args: RunArgs,
    spec: std::sync::Arc<conformance::api::Contract>,
    base_url: &str,
    name: String,
    credentials: Credentials,
    embedded: bool,
) -> Result<(RunConfig, Baseline, Commands), CliError> {
    let checks = Selection::new(&args.checks, &args.skip_checks).map_err(CliError::Usage)?;
    let known_failures = match &args.known_failures {
        Some(path) => {
            conformance::known::KnownFailures::load(path, chrono::Utc::now().date_naive())
                .map_err(CliError::Usage)?
        }
        None => Default::default(),
    };
    let target_name = args.target_name.clone().unwrap_or(name);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let baseline = baseline::locate(
        &baseline::Wanted {
            snapshot_dir: args.snapshot_dir.as_deref(),
            target: &target_name,
            embedded,
            record: args.update_snapshots,
            gate: checks.is_enabled(checks::SNAPSHOT),
            ci: conformance::snapshot::is_ci(),
        },
        &cwd,
    )
    .map_err(CliError::Usage)?;
    if args.update_snapshots
        && let Some(snapshot_dir) = &baseline.dir
    {
        std::fs::create_dir_all(snapshot_dir).map_err(|e| {
            CliError::Usage(format!("cannot create {}: {e}", snapshot_dir.display()))
        })?;
    }
    let mut config = RunConfig::new(base_url, &target_name, spec, credentials);
    config.update_snapshots = args.update_snapshots;
    // Outside a checkout nothing is written unless the user names a directory
    // (snapshot/baseline.rs): a compiled baseline's mismatch is reported, not kept.
    config.snapshot_writes = conformance::snapshot::Writes::decide(
        args.update_snapshots,
        baseline::outside_checkout(args.snapshot_dir.as_deref()),
    );
    config.force_record = args.force;
    // The command to record a baseline: this one, without its report files (a recording
    // writes snapshots, not the gate's reports).
    let mut commands = Commands {
        record: without_reports(&this_command(
            &["--update-snapshots"],
            &["--update-snapshots"],
        )),
        ..Commands::default()
    };
    if args.target.base_url.is_some() || args.target.server.is_some() {
        let mut target = vec!["conformance".to_owned(), "cleanup".to_owned()];
        if let Some(url) = &args.target.base_url {
            target.extend(["--base-url".into(), url.clone()]);
        }
        if let Some(server) = &args.target.server {
            target.extend(["--server".into(), server.clone()]);
        }
        commands.cleanup = target.join(" ");
        config.target_args = target[2..].to_vec();
    }
    if let Some(spec) = &args.target.spec {
        config
            .target_args
            .extend(["--spec".into(), spec.display().to_string()]);
    }
    for fault in &args.embedded_faults {
        config
            .target_args
            .extend(["--embedded-fault".into(), fault.to_string()]);
    }
    config.snapshot_dir = baseline.dir.clone();
    config.suites = args.suite;
    config.scenario_glob = args.scenario;
    config.model_seed = args.seed;
    config.model_steps = args.model_steps.map(|n| n as usize);
    config.model_lane = args.model_lane.map(|n| n as usize);
    config.model_shrink = !args.no_shrink;
    config.checks = checks;
    config.clock_tolerance = chrono::TimeDelta::seconds(i64::from(args.clock_tolerance));
    config.timeout = std::time::Duration::from_secs(args.connect.timeout);
    config.max_body_bytes = args.connect.max_body_bytes;
    config.known_failures = std::sync::Arc::new(known_failures);
    config.require_coverage = args.require_coverage;
    config.max_rps = args.connect.max_rps;
    config.jobs = args.jobs;
    config.deadline = args.deadline.map(std::time::Duration::from_secs);
    config.rerun_failures = args.rerun_failures;
    config.allow_flaky = args.allow_flaky;
    config.retry = args.connect.retry();
    config.ca_certs = args.connect.ca_certs()?;
    Ok((config, baseline, commands))
}

pub async fn run(args: RunArgs) -> Result<(), CliError> {
    // Watched from the first moment: a signal during start-up or preflight is an interrupted
    // run too (exit 130, reports that say so), never one that goes on to a green verdict.
    let control = RunControl::default();
    watch_signals(control.clone());
    let spec = load_spec(args.target.spec.as_ref())?;
    let remote = remote(
        &args.target,
        &spec,
        "a run creates and deletes access tokens",
    )?;
    let file_reporters = open_reports(&args.reports)?;
    let hint = step_summary_hint(&args.reports);
    // A full recording also retires the baselines of scenarios that no longer exist.
    let prune = args.update_snapshots
        && args.suite.is_empty()
        && args.scenario.is_none()
        && (args.checks.is_empty() || args.checks.iter().any(|c| c == checks::SNAPSHOT))
        && !args.skip_checks.iter().any(|c| c == checks::SNAPSHOT);
    let all_names: Vec<String> = match prune {
        true => suites::all(&spec)?.into_iter().map(|s| s.name).collect(),
        false => Vec::new(),
    };

    let (config, embedded, baseline, commands) = match remote {
        Some(r) => {
            let (config, baseline, commands) =
                build_config(args, spec, &r.base_url, r.name, r.credentials, false)?;
            (config, None, baseline, commands)
        }
        None => {
            let server = reference_server::start_embedded_variants(
                args.embedded_faults.clone(),
                args.embedded_variants.clone(),
            )
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
            let (config, baseline, commands) = build_config(
                args,
                spec,
                &url,
                baseline::EMBEDDED_TARGET.into(),
                credentials,
                true,
            )?;
            (config, Some(server), baseline, commands)
        }
    };
    let snapshot_dir = config.snapshot_dir.clone();
    let deadline = config.deadline.map(|d| d.as_secs());

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
    reporters.set_commands(&commands);

    let outcome = conformance::runner::run_controlled(config, control, &mut reporters).await;
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    reporters.finish().map_err(CliError::Report)?;
    let stats = outcome?;
    // After the summary: lines about how the run was set up, not about the target.
    for line in [baseline.notice.as_deref(), hint.as_deref()]
        .into_iter()
        .flatten()
    {
        print(line)?;
    }
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
    use conformance::events::RunVerdict;
    match stats.verdict() {
        RunVerdict::Interrupted if stats.deadline_passed => Err(CliError::DeadlinePassed {
            seconds: deadline.unwrap_or_default(),
            scenarios: stats.not_run + stats.cut_short,
        }),
        RunVerdict::Interrupted => Err(CliError::Interrupted),
        RunVerdict::NoVerdict => Err(CliError::Unavailable {
            scenarios: stats.unavailable,
            requests: stats.rate_limited,
        }),
        RunVerdict::Passed => Ok(()),
        RunVerdict::Failed => Err(CliError::ChecksFailed),
    }
}

/// First SIGINT/SIGTERM: start no more scenarios, cut those in flight short (verdict
/// `interrupted`, never passed), delete what the run created, report, exit 130. A second one
/// exits at once.
fn watch_signals(control: RunControl) {
    // The handlers are installed here, before this returns, so no signal falls between
    // start-up and the watch.
    let mut signals = Signals::install();
    tokio::spawn(async move {
        let mut count = 0;
        while signals.next().await {
            count += 1;
            if count > 1 {
                super::say_err(
                    "error: interrupted twice: exiting without cleaning up (`conformance cleanup` removes what is left)",
                );
                std::process::exit(exit::INTERRUPTED.into());
            }
            // The run is told first: the console may be a pipe whose reader the same Ctrl-C
            // ended (`| tee log`), and nothing written after this may stop the signal's effect.
            control.cancel();
            super::say_err(
                "interrupted: stopping the scenarios in flight and deleting this run's tokens (again to exit now)",
            );
        }
    });
}

/// SIGINT and SIGTERM (CI systems cancel jobs with either).
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                streams: signal(SignalKind::interrupt())
                    .ok()
                    .zip(signal(SignalKind::terminate()).ok()),
            }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// The next signal; `false` if signals cannot be watched.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            let Some((int, term)) = &mut self.streams else {
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
}

/// A shell line without its `--report FORMAT=PATH` arguments (both spellings).
fn without_reports(command: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut words = command.split(' ').peekable();
    while let Some(w) = words.next() {
        if w == "--report" {
            words.next();
        } else if !w.starts_with("--report=") {
            out.push(w);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_record_command_leaves_the_report_files_out() {
        assert_eq!(
            super::without_reports(
                "conformance run --report junit=a.xml --base-url u --report=html=b.html --update-snapshots"
            ),
            "conformance run --base-url u --update-snapshots"
        );
    }
}
