//! `conformance`: run the suites against a server, remove what killed runs left behind, list
//! what exists, or serve the reference server. Exit codes: 0 all checks passed, 1 a check
//! failed, 2 usage or configuration error, 3 the target could not be reached, 130
//! interrupted. The commands live in `cli/`; this file parses, dispatches and exits.

mod cli;

use clap::{Parser, Subcommand};
use cli::CliError;
use conformance::exit;
use std::process::ExitCode;

/// The runner parses and drops a JSON tree per answer; mimalloc makes that cheaper than the
/// system allocator (README, "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    #[command(after_help = cli::ENVIRONMENT_HELP)]
    Run(Box<cli::run::RunArgs>),
    /// List, and with --yes delete, the tokens earlier runs left behind on a target.
    #[command(after_help = cli::ENVIRONMENT_HELP)]
    Cleanup(Box<cli::cleanup::CleanupArgs>),
    /// List suites, scenarios and checks, one line each.
    List(cli::list::ListArgs),
    /// Run the reference server in the foreground.
    Serve(Box<reference_server::ServeArgs>),
    /// Compare two runs' JSON reports: regressed, fixed, still failing, new, removed, coverage.
    /// Exit 1 when anything regressed.
    Diff(cli::diff::DiffArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::PASSED
            };
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
            cli::say_err(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(exit::USAGE);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => cli::run::run(*args).await,
            Command::Cleanup(args) => cli::cleanup::cleanup(*args).await,
            Command::List(args) => cli::list::list(args),
            Command::Diff(args) => cli::diff::diff(args),
            Command::Serve(args) => reference_server::serve(*args)
                .await
                .map_err(|e| CliError::Usage(e.to_string())),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is_reported() {
                cli::say_err(&format!("error: {e}"));
            }
            ExitCode::from(e.exit_code())
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
    // Outside a checkout nothing is written unless the user names a directory
    // (snapshot/baseline.rs): a compiled baseline's mismatch is reported, not kept.
    if let Command::Run(args) = &cli.command
        && !args.update_snapshots
        && conformance::snapshot::baseline::outside_checkout(args.snapshot_dir.as_deref())
    {
        set("INSTA_UPDATE", "no");
    }
}
