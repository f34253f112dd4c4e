//! `reference-server`: the development server for the User Access Token API.

use clap::Parser;
use reference_server::{ServeArgs, serve};

/// A development server that implements openapi/user-access-tokens.yaml.
#[derive(Parser)]
#[command(name = "reference-server", version, about)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

#[tokio::main]
async fn main() {
    // clap exits with status 2 on bad flags (including an unknown --fault).
    let cli = Cli::parse();
    if let Err(e) = serve(cli.serve).await {
        // Not eprintln!: a closed stderr must not turn a clear exit code into a panic.
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "reference-server: {e}");
        std::process::exit(e.exit_code());
    }
}
