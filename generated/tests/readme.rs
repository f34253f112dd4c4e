//! The README's "Using the client" example is `examples/tokens.rs`, word for word, and it
//! runs: against the reference server, started in-process with fresh credentials.

use abp_tokens_client::Client;

// The example is compiled into this test so its `run` can be called directly.
#[allow(dead_code)]
#[path = "../examples/tokens.rs"]
mod tokens;

const README: &str = include_str!("../../README.md");
const EXAMPLE: &str = include_str!("../examples/tokens.rs");
const HEADING: &str = "## Using the client";

/// The first `rust` code block after the heading.
fn readme_example() -> &'static str {
    let (_, section) = README
        .split_once(&format!("\n{HEADING}\n"))
        .unwrap_or_else(|| panic!("README.md has no `{HEADING}` section"));
    let (_, block) = section
        .split_once("\n```rust\n")
        .expect("the section has a rust code block");
    let (code, _) = block.split_once("\n```\n").expect("the code block ends");
    code
}

#[test]
fn readme_shows_the_example_file() {
    assert_eq!(
        readme_example(),
        EXAMPLE.trim_end(),
        "the README's example and generated/examples/tokens.rs differ: copy the file into the README"
    );
}

#[tokio::test]
async fn readme_example_runs_against_the_reference_server() {
    let server = reference_server::start_embedded(vec![]).await.unwrap();
    let bearer = &server.credentials.user;
    tokens::run(&server.base_url, bearer).await.unwrap();

    // It cleaned up after itself: the user has no token left.
    let client = Client::with_bearer(&server.base_url, bearer).unwrap();
    assert_eq!(client.list_my_tokens().await.unwrap().into_inner(), []);
    server.shutdown().await;
}

/// The example reports a server that does not behave, instead of printing success.
#[tokio::test]
async fn readme_example_fails_against_a_server_whose_delete_does_nothing() {
    let server = reference_server::start_embedded(vec![reference_server::Fault::DeleteNoop])
        .await
        .unwrap();
    let err = tokens::run(&server.base_url, &server.credentials.user)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "a deleted token was deleted again");
    server.shutdown().await;
}
