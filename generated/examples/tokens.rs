//! Create, list and delete a user access token. Start a server with
//! `cargo run -p conformance -- serve`, then run `cargo run -p abp-tokens-client --example tokens`.
//! `ABP_BASE_URL` and `ABP_TOKEN` choose another server and bearer credential.

use abp_tokens_client::{ApiError, Client, ErrorExt, StatusCode, servers, types};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let base_url = std::env::var("ABP_BASE_URL").unwrap_or_else(|_| servers::LOCAL.into());
    // `conformance serve` prints its development credentials; this one may manage tokens.
    let token = std::env::var("ABP_TOKEN").unwrap_or_else(|_| "dev-alice-token".into());
    match run(&base_url, &token).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", with_causes(e.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error and every cause under it: "Communication Error: error sending request … :
/// client error (Connect): tcp connect error: Connection refused (os error 111)", where the
/// error alone would stop before saying why.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Everything but the configuration; `pub` so that `generated/tests/readme.rs` can run it.
pub async fn run(base_url: &str, bearer: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::with_bearer(base_url, bearer)?;

    // Create: the lifetime is one of the spec's values, as an enum.
    let request = types::CreateUserAccessTokenRequest {
        name: "tokens-example".parse()?,
        lifetime: types::TokenLifetime::OneWeek,
        privileges: vec!["project:read".into()],
    };
    let created = client.create_my_token(&request).await?.into_inner();
    let expires = created.expires_on;
    println!("created {} (expires {expires})", created.id.as_str());

    // The full secret is in this answer only. It authenticates as the other security scheme.
    let as_token = Client::with_access_token(base_url, created.token.as_str())?;

    // List: secrets come back masked.
    for token in as_token.list_my_tokens().await?.into_inner() {
        let (id, masked) = (token.id.as_str(), token.token.as_str());
        println!("  {id}  {}  {masked}", token.name);
    }

    // Delete, then delete again: the second answer is the spec's 404 error body.
    client.delete_my_token(&created.id).await?;
    match client.delete_my_token(&created.id).await {
        Err(e) => match e.api_error() {
            Some(ApiError {
                status: StatusCode::NOT_FOUND,
                code,
                message,
                ..
            }) => {
                println!("deleted; deleting again: {code}: {message}");
            }
            _ => return Err(e.into()),
        },
        Ok(_) => return Err("a deleted token was deleted again".into()),
    }
    Ok(())
}
