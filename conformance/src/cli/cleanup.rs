//! `conformance cleanup`: the tokens earlier runs left behind (a run killed with SIGKILL, or
//! interrupted twice), listed with their age, and deleted only with `--yes`. A token is a
//! leftover only if its name has the exact shape a run gives (`conformance-` and a 16-digit
//! hex run id), so a person's token is never touched. Uses the same target options,
//! credentials and retry policy as `run`.

use super::target::{ConnectArgs, Remote, TargetArgs, load_spec, remote};
use super::{CliError, print, this_command};
use abp_spec::Contract;
use clap::Args;
use conformance::config::Role;
use conformance::context::is_run_token_name;
use conformance::redact::Redactor;
use conformance::transport::Transport;
use std::fmt::Write as _;
use std::sync::Arc;

#[derive(Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Delete the leftovers. Without it they are only listed.
    #[arg(long)]
    pub yes: bool,
}

/// A leftover token and the user whose list shows it (the only one who may delete it).
struct Leftover {
    role: Role,
    id: abp_tokens_client::types::ObjectId,
    name: String,
    created: chrono::DateTime<chrono::Utc>,
}

fn age(since: chrono::DateTime<chrono::Utc>) -> String {
    let d = chrono::Utc::now() - since;
    if d.num_days() > 0 {
        format!("{} d", d.num_days())
    } else if d.num_hours() > 0 {
        format!("{} h", d.num_hours())
    } else {
        format!("{} min", d.num_minutes().max(0))
    }
}

pub async fn cleanup(args: CleanupArgs) -> Result<(), CliError> {
    let spec = load_spec(args.target.spec.as_ref())?;
    let doing = if args.yes {
        "cleanup --yes deletes tokens"
    } else {
        "cleanup lists tokens"
    };
    let mut target = args.target;
    // Listing is a read: only deleting needs the production flag.
    target.allow_production |= !args.yes;
    let Some(remote) = remote(&target, &spec, doing)? else {
        return Err(CliError::Usage(
            "cleanup needs a target: --base-url URL or --server NAME (an embedded server starts empty)".into(),
        ));
    };
    let (transport, redactor) = connect(&remote, &spec, &args.connect)?;
    let leftovers = find_leftovers(&transport, &remote, &redactor).await?;

    let mut out = String::new();
    if leftovers.is_empty() {
        let _ = writeln!(
            out,
            "no tokens left by earlier conformance runs at {}",
            remote.base_url
        );
        return print(&out);
    }
    list(&mut out, &leftovers, &remote.base_url);
    if !args.yes {
        let _ = writeln!(
            out,
            "nothing deleted; delete them with: {}",
            this_command(&["--yes"], &["--yes"])
        );
        return print(&out);
    }
    print(&out)?;
    delete(&transport, &leftovers, &redactor).await
}

/// The transport to the target, with a redactor that knows every credential the
/// environment sets, so no error message shows one.
fn connect(
    remote: &Remote,
    spec: &Contract,
    connect: &ConnectArgs,
) -> Result<(Arc<Transport>, Redactor), CliError> {
    let redactor = Redactor::default();
    for role in Role::ALL {
        if let Some(c) = remote.credentials.get(role) {
            redactor.add(c, &format!("[{}]", role.env_var()));
        }
    }
    let transport = Transport::new(
        redactor.clone(),
        spec.secret_fields.clone(),
        conformance::transport::TransportSettings {
            base_url: &remote.base_url,
            credentials: remote.credentials.clone(),
            api_version: spec.version(),
            timeout: std::time::Duration::from_secs(connect.timeout),
            max_rps: connect.max_rps,
            retry: connect.retry(),
            ca_certs: &connect.ca_certs()?,
            max_body: connect.max_body_bytes,
            // The clean-up deletes one token at a time.
            jobs: 1,
        },
    )?;
    Ok((transport, redactor))
}

/// The run tokens on the lists of the users whose credentials are set.
async fn find_leftovers(
    transport: &Arc<Transport>,
    remote: &Remote,
    redactor: &Redactor,
) -> Result<Vec<Leftover>, CliError> {
    let mut leftovers = Vec::new();
    for role in [Role::User, Role::OtherUser] {
        if remote.credentials.get(role).is_none() {
            continue;
        }
        let Some((result, _)) = transport
            .typed(role, |c| async move { c.list_my_tokens().await })
            .await
        else {
            continue;
        };
        let tokens = result.map_err(|e| {
            CliError::Config(format!(
                "{}: listing the tokens failed: {}",
                role.env_var(),
                conformance::exchange::describe_client_error(&e, redactor)
            ))
        })?;
        for t in tokens.into_inner() {
            if is_run_token_name(&t.name) {
                leftovers.push(Leftover {
                    role,
                    id: t.id.clone(),
                    name: t.name.clone(),
                    created: t.created_at,
                });
            }
        }
    }
    Ok(leftovers)
}

/// One line per leftover, under a line that counts them.
fn list(out: &mut String, leftovers: &[Leftover], base_url: &str) {
    let _ = writeln!(
        out,
        "{} tokens left by earlier conformance runs at {}:",
        leftovers.len(),
        base_url
    );
    for l in leftovers {
        let _ = writeln!(
            out,
            "  {:<22} {}  {}  created {} ago",
            l.role.env_var(),
            l.id.as_str(),
            l.name,
            age(l.created)
        );
    }
}

/// Deletes every leftover as the user who owns it; an error names each one that stayed.
async fn delete(
    transport: &Arc<Transport>,
    leftovers: &[Leftover],
    redactor: &Redactor,
) -> Result<(), CliError> {
    let mut failed = Vec::new();
    let mut deleted = 0;
    for l in leftovers {
        let id = l.id.clone();
        let answer = transport
            .typed(l.role, |c| async move { c.delete_my_token(&id).await })
            .await;
        match answer {
            Some((Ok(_), _)) => deleted += 1,
            Some((Err(e), _)) => failed.push(format!(
                "{}: {}",
                l.id.as_str(),
                conformance::exchange::describe_client_error(&e, redactor)
            )),
            None => failed.push(format!(
                "{}: {} is not set",
                l.id.as_str(),
                l.role.env_var()
            )),
        }
    }
    print(&format!("deleted {deleted} of {}\n", leftovers.len()))?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Config(format!(
            "{} leftovers could not be deleted: {}",
            failed.len(),
            failed.join("; ")
        )))
    }
}
