//! The run's TLS trust: the platform's roots plus every `--ca-cert`. A certificate given with
//! `--ca-cert` that is itself the server's certificate is trusted for the names it carries,
//! as `curl --cacert` trusts it: `openssl req -x509` makes such a self-signed certificate with
//! `CA:TRUE`, which WebPKI refuses as a server's own (`CaUsedAsEndEntity`). Certificate checks
//! are never switched off: any other certificate is verified as the platform verifies it.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_name;
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, Error, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::Arc;

/// The platform's verifier, with the given certificates as extra roots, that also accepts a
/// server presenting exactly one of those certificates for a name it carries.
#[derive(Debug)]
struct GivenCertificates {
    platform: rustls_platform_verifier::Verifier,
    given: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for GivenCertificates {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verdict = self.platform.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verdict {
            Err(refused) if self.given.iter().any(|c| c.as_ref() == end_entity.as_ref()) => {
                // The user named this very certificate: its signature chain is the user's
                // word, its names are still checked.
                let parsed =
                    ParsedCertificate::try_from(end_entity).map_err(|_| refused.clone())?;
                verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.platform.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.platform.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.platform.supported_verify_schemes()
    }
}

/// The TLS client configuration for a run that trusts `given` (the `--ca-cert` files) besides
/// the platform's roots.
pub fn client_config(given: &[CertificateDer<'static>]) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let platform =
        rustls_platform_verifier::Verifier::new_with_extra_roots(given.to_vec(), provider.clone())
            .map_err(|e| format!("cannot use the --ca-cert certificates: {e}"))?;
    let verifier = GivenCertificates {
        platform,
        given: given.to_vec(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// Reads PEM text holding one or more certificates.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls_pki_types::pem::PemObject as _;
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}
