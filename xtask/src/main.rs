//! Development tasks, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! `regenerate` turns the committed spec into the committed client; `--check` proves the
//! committed client is current. The generator crates are dependencies of this crate only.
//! `bench` prints how close a run against a remote-like server comes to its floor.

mod bench;
mod codegen;
mod tidy;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Development tasks for this workspace")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Lint the spec, regenerate the client in generated/src/ with progenitor and the
    /// operations enum in openapi/src/operations.rs.
    Regenerate {
        /// Do not write: exit non-zero with a diff when the committed code is stale.
        #[arg(long)]
        check: bool,
        /// The spec to generate from (default: the committed one).
        #[arg(long)]
        spec: Option<PathBuf>,
        /// A directory to write both files into (default: the committed places).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Time full runs against the reference server with added latency (release build), and
    /// Schemathesis against the same server; prints figures (README "Performance").
    Bench {
        /// Milliseconds the server waits before each answer: a remote staging's round trip.
        #[arg(long, default_value_t = 50)]
        latency_ms: u64,
        /// Skip the Schemathesis comparison (it needs python3 and PyPI).
        #[arg(long)]
        no_schemathesis: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Regenerate { check, spec, out } => {
            let root = codegen::workspace_root();
            let spec = spec.unwrap_or_else(|| root.join(abp_spec::SPEC_RELATIVE_PATH));
            let outputs = out.map_or_else(codegen::Outputs::committed, |dir| {
                codegen::Outputs::in_dir(&dir)
            });
            let mode = if check {
                codegen::Mode::Check
            } else {
                codegen::Mode::Write
            };
            codegen::regenerate(&spec, &outputs, mode)
        }
        Task::Bench {
            latency_ms,
            no_schemathesis,
        } => bench::run(
            &codegen::workspace_root(),
            &bench::Options {
                latency_ms,
                schemathesis: !no_schemathesis,
            },
        )
        .map(|()| String::new()),
    };
    match result {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
