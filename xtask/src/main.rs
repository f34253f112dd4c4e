//! Development tasks, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! `regenerate` turns the committed spec into the committed client; `--check` proves the
//! committed client is current. The generator crates are dependencies of this crate only.

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
    /// Lint the spec and regenerate the client in generated/src/ with progenitor.
    Regenerate {
        /// Do not write: exit non-zero with a diff when the committed code is stale.
        #[arg(long)]
        check: bool,
        /// The spec to generate from (default: the committed one).
        #[arg(long)]
        spec: Option<PathBuf>,
        /// The directory to write into (default: the committed generated/src/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Regenerate { check, spec, out } => {
            let root = codegen::workspace_root();
            let spec = spec.unwrap_or_else(|| root.join(abp_spec::SPEC_RELATIVE_PATH));
            let out = out.unwrap_or_else(|| root.join(codegen::GENERATED_DIR));
            let mode = if check {
                codegen::Mode::Check
            } else {
                codegen::Mode::Write
            };
            codegen::regenerate(&spec, &out, mode)
        }
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
