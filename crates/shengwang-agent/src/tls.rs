//! Extra trust roots for the HTTP client, checked before any request is made.

use crate::{Error, Result};

/// Adds each PEM bundle's certificates to `http`'s roots. A bundle with no certificate, or one
/// that does not parse, is refused here (rustls checks the DER inside only when the client is
/// built: see [`build_error`]). Messages quote nothing from the bundle: a file passed by
/// mistake could hold a key.
#[cfg(any(
    feature = "rustls",
    feature = "rustls-native-roots",
    feature = "native-tls"
))]
pub(crate) fn add_roots(
    mut http: reqwest::ClientBuilder,
    bundles: &[Vec<u8>],
) -> Result<reqwest::ClientBuilder> {
    for (i, pem) in bundles.iter().enumerate() {
        let bad = |why: &str| {
            Error::invalid(
                "root_certificate",
                format!("certificate bundle #{} {why}", i + 1),
            )
        };
        if !pem
            .windows(CERT_BEGIN.len())
            .any(|w| w == CERT_BEGIN.as_bytes())
        {
            return Err(bad(
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
        let certs =
            reqwest::Certificate::from_pem_bundle(pem).map_err(|_| bad("is not valid PEM"))?;
        if certs.is_empty() {
            return Err(bad(
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
        for cert in certs {
            http = http.add_root_certificate(cert);
        }
    }
    Ok(http)
}

/// Without a TLS feature there is nothing to add roots to; asking for it is a build error.
#[cfg(not(any(
    feature = "rustls",
    feature = "rustls-native-roots",
    feature = "native-tls"
)))]
pub(crate) fn add_roots(
    http: reqwest::ClientBuilder,
    bundles: &[Vec<u8>],
) -> Result<reqwest::ClientBuilder> {
    if bundles.is_empty() {
        Ok(http)
    } else {
        Err(Error::Config(
            "add_root_certificate needs a TLS feature (rustls, rustls-native-roots or native-tls)"
                .into(),
        ))
    }
}

#[cfg(any(
    feature = "rustls",
    feature = "rustls-native-roots",
    feature = "native-tls"
))]
const CERT_BEGIN: &str = "-----BEGIN CERTIFICATE-----";

/// The error for a failed `reqwest::ClientBuilder::build`. With extra roots, a certificate that
/// is PEM but not X.509 inside is the likely cause (rustls parses it only then).
pub(crate) fn build_error(e: &reqwest::Error, bundles: &[Vec<u8>]) -> Error {
    if bundles.is_empty() {
        Error::Config(format!("cannot build the HTTP client: {e}"))
    } else {
        Error::invalid(
            "root_certificate",
            "a certificate in the bundle is not a valid X.509 certificate",
        )
    }
}
