//! A staging server with a private certificate authority: `--ca-cert` makes its certificate
//! trusted, and without it the target is unreachable (exit 3) with the reason; there is no
//! way to skip certificate checks.

use conformance::exit;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA and a certificate for `localhost` signed by it, made with the openssl command.
pub fn make_certificates(dir: &Path) -> bool {
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=conformance test CA",
    ]) && run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]) && run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ])
}

/// Serves TLS on a free port; every request gets the API's 401 (so preflight reaches the
/// credential check, which proves the TLS handshake succeeded).
async fn serve(dir: &Path) -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let body = r#"{"code":"unauthorized","message":"no credential"}"#;
                let answer = format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

#[test]
fn ca_cert_trusts_a_private_ca_and_nothing_else_does() {
    let dir = tempfile::tempdir().unwrap();
    if !make_certificates(dir.path()) {
        panic!("the openssl command is needed to make test certificates");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let port = rt.block_on(serve(dir.path()));
    let url = format!("https://localhost:{port}/api/v1");
    let run = |extra: &[&str]| {
        crate::common::binary()
            .args(["run", "--base-url", &url])
            .args(extra)
            .env("ABP_TOKEN", "some-credential")
            .env_remove("ABP_OTHER_USER_TOKEN")
            .env_remove("ABP_FORBIDDEN_TOKEN")
            .env_remove("ABP_EXPIRED_TOKEN")
            .output()
            .unwrap()
    };
    // Untrusted: unreachable, and the reason says it is the certificate.
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit::NO_VERDICT.into()), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");

    // Trusted through --ca-cert: the handshake succeeds and preflight gets to the credential.
    let ca = dir.path().join("ca.pem");
    let out = run(&["--ca-cert", ca.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit::USAGE.into()), "{stderr}");
    assert!(stderr.contains("ABP_TOKEN: GET"), "{stderr}");
    assert!(stderr.contains("answered 401"), "{stderr}");

    // A file that is not a certificate is a usage error.
    let out = run(&["--ca-cert", dir.path().join("ext.cnf").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(exit::USAGE.into()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ca-cert"));
}

/// `openssl req -x509` makes a self-signed certificate marked `CA:TRUE`; WebPKI refuses such a
/// certificate as a server's own. Given with `--ca-cert`, it is trusted for its own names, as
/// `curl --cacert` trusts it; for another name it is still refused, in words.
#[test]
fn ca_cert_trusts_a_self_signed_server_certificate_for_its_own_names() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .current_dir(dir.path())
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        made,
        "the openssl command is needed to make test certificates"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let port = rt.block_on(serve(dir.path()));
    let cert = dir.path().join("server.pem");
    let run = |host: &str, extra: &[&str]| {
        crate::common::binary()
            .args([
                "run",
                "--base-url",
                &format!("https://{host}:{port}/api/v1"),
            ])
            .args(extra)
            .env("ABP_TOKEN", "some-credential")
            .output()
            .unwrap()
    };
    // Not given: refused, and the reason is in words.
    let out = run("localhost", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit::NO_VERDICT.into()), "{stderr}");
    assert!(!stderr.contains("OtherError"), "{stderr}");
    // Given: the handshake succeeds and preflight gets to the credential.
    let out = run("localhost", &["--ca-cert", cert.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit::USAGE.into()), "{stderr}");
    assert!(stderr.contains("answered 401"), "{stderr}");
    // Given, but for a name it does not carry: refused, naming the mismatch.
    let out = run("127.0.0.1", &["--ca-cert", cert.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit::NO_VERDICT.into()), "{stderr}");
    assert!(
        stderr.contains("not issued for the name 127.0.0.1"),
        "{stderr}"
    );
}
