//! Extra trust roots for the HTTP client, checked before any request is made.

use crate::{Error, Result};

/// The TLS stack this build of the SDK uses for HTTPS and the roots it trusts, as chosen by
/// its cargo features (see the crate docs): for diagnostics such as `convoai doctor`. Roots
/// added with [`ClientBuilder::add_root_certificate`](crate::ClientBuilder::add_root_certificate)
/// are trusted on top of these.
pub fn tls_backend() -> &'static str {
    if cfg!(feature = "native-tls") {
        "native-tls (the operating system's TLS library and trust store)"
    } else if cfg!(all(feature = "rustls", feature = "rustls-native-roots")) {
        "rustls (Mozilla's roots built in via webpki-roots, and the operating system's trust store)"
    } else if cfg!(feature = "rustls") {
        "rustls (Mozilla's roots built in via webpki-roots)"
    } else if cfg!(feature = "rustls-native-roots") {
        "rustls (the operating system's trust store)"
    } else {
        "none (no TLS feature: only http:// URLs work)"
    }
}

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

/// Whether this build has a TLS stack (one of the TLS features).
const TLS_COMPILED: bool = cfg!(any(
    feature = "rustls",
    feature = "rustls-native-roots",
    feature = "native-tls"
));

/// Refuses a client whose requests would go over HTTPS when no TLS feature is compiled in:
/// otherwise every call would fail to connect. `base_urls` are the checked overrides; none
/// means the area's hosts, which are HTTPS only.
pub(crate) fn require_for(base_urls: &[String]) -> Result<()> {
    https_needs_tls(base_urls, TLS_COMPILED)
}

fn https_needs_tls(base_urls: &[String], compiled: bool) -> Result<()> {
    let why = if base_urls.is_empty() {
        "no base_url is set and the service's hosts are https://"
    } else if base_urls.iter().any(|u| u.starts_with("https://")) {
        "base_url is https://"
    } else {
        return Ok(());
    };
    if compiled {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{why}, but shengwang-agent was built without TLS: enable its `rustls` (default), \
         `rustls-native-roots` or `native-tls` feature"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_without_a_tls_feature_is_a_config_error_naming_the_features() {
        let https = ["https://proxy.example/api/conversational-ai-agent".to_owned()];
        let http = ["http://127.0.0.1:8080/api/conversational-ai-agent".to_owned()];
        for urls in [&https[..], &[]] {
            let e = https_needs_tls(urls, false).unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{e:?}");
            let text = e.to_string();
            for feature in ["`rustls`", "`rustls-native-roots`", "`native-tls`"] {
                assert!(text.contains(feature), "{text}");
            }
            assert!(
                !text.contains('\n') && !text.contains("proxy.example"),
                "{text}"
            );
            assert!(https_needs_tls(urls, true).is_ok());
        }
        let mixed = [http[0].clone(), https[0].clone()];
        assert!(https_needs_tls(&mixed, false).is_err());
        assert!(https_needs_tls(&http, false).is_ok());
        assert_eq!(
            require_for(&[]).is_ok(),
            TLS_COMPILED,
            "the area's hosts need TLS exactly when none is compiled in"
        );
    }
}
