//! The emulator's HTTPS mode: a throwaway certificate authority and a server certificate for
//! `localhost`, `127.0.0.1` and `::1` (and the listening address), made fresh at every start,
//! served with rustls. ALPN offers `h2` and `http/1.1`, so clients reach both protocols the way
//! they would in production.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::error::EmulatorError;

/// How long a client may take to finish the handshake; a peer that connects and goes quiet
/// must not hold a task forever.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a TLS listener needs: the acceptor, and the CA a client must trust.
pub(crate) struct Tls {
    pub acceptor: TlsAcceptor,
    pub ca_pem: String,
    pub ca_file: CaFile,
}

/// Makes a CA and a server certificate signed by it, for the loopback names and `host`.
pub(crate) fn generate(host: IpAddr) -> Result<Tls, EmulatorError> {
    let err = |what: &str, e: &dyn std::fmt::Display| {
        EmulatorError::Config(format!("cannot make the TLS certificate ({what}): {e}"))
    };
    let ca_key = KeyPair::generate().map_err(|e| err("CA key", &e))?;
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "convoai-emulator local CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params
        .self_signed(&ca_key)
        .map_err(|e| err("CA certificate", &e))?;

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !host.is_unspecified() && !host.is_loopback() {
        names.push(host.to_string());
    }
    let key = KeyPair::generate().map_err(|e| err("server key", &e))?;
    let mut params = CertificateParams::new(names).map_err(|e| err("server names", &e))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "convoai-emulator");
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .map_err(|e| err("server certificate", &e))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err("protocol versions", &e))?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .map_err(|e| err("server config", &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let ca_pem = ca.pem();
    let ca_file = CaFile::write(&ca_pem)?;
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_pem,
        ca_file,
    })
}

/// The CA certificate written to a file of its own (for `--ca-cert`, `SSL_CERT_FILE` and
/// the like); removed when the emulator stops.
pub(crate) struct CaFile(PathBuf);

impl CaFile {
    fn write(pem: &str) -> Result<Self, EmulatorError> {
        use std::io::Write as _;
        let dir = std::env::temp_dir();
        // `create_new` refuses an existing file or symlink, so nobody can make us write
        // through a link planted under a guessable name; retry with another name instead.
        for _ in 0..8 {
            let path = dir.join(format!(
                "convoai-emulator-ca-{}-{:08x}.pem",
                std::process::id(),
                rand::random::<u32>()
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(pem.as_bytes())?;
                    return Ok(CaFile(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(EmulatorError::Config(
            "cannot create a file for the CA certificate in the temporary directory".into(),
        ))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for CaFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
