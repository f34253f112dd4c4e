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
