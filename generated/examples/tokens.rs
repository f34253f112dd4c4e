//! Create, list and delete a user access token. Start a server with
//! `cargo run -p conformance -- serve`, then run `cargo run -p abp-tokens-client --example tokens`.
//! `ABP_BASE_URL` and `ABP_TOKEN` choose another server and bearer credential.

use abp_tokens_client::{ApiError, Client, ErrorExt, StatusCode, servers, types};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = std::env::var("ABP_BASE_URL").unwrap_or_else(|_| servers::LOCAL.into());
    // `conformance serve` prints its development credentials; this one may manage tokens.
    let token = std::env::var("ABP_TOKEN").unwrap_or_else(|_| "dev-alice-token".into());
    run(&base_url, &token).await
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
