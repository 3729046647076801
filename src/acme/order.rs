//! One order for one name (RFC 8555 §7.4): authorize it with the configured challenge,
//! finalize with the CSR of a fresh key of the wanted type, download the chain. The
//! challenge files are removed however the order ends.

use std::path::PathBuf;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewOrder, OrderStatus, RetryPolicy,
};
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, KeyPair};
use rustls::pki_types::CertificateDer;

use super::confirm::{self, Listeners};
use super::store::Store;
use crate::config::{Challenge, KeyType};

/// Why an attempt failed, and when the CA asked to be asked again (`Retry-After`).
pub struct Failure {
    pub message: String,
    pub retry_after: Option<i64>,
}

impl Failure {
    pub fn now(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::now(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::now(message)
    }
}

/// `e` as a failure at step `what`, with the CA's `Retry-After` where it sent one.
fn ca(what: &'static str) -> impl Fn(instant_acme::Error) -> Failure {
    move |e| {
        let retry_after = match &e {
            instant_acme::Error::Timeout(Some(at)) => {
                let wait = at.saturating_duration_since(std::time::Instant::now());
                Some(crate::civil::now_secs() + i64::try_from(wait.as_secs()).unwrap_or(0))
            }
            _ => None,
        };
        Failure {
            message: format!("{what}: {e}"),
            retry_after,
        }
    }
}

/// A certificate just issued: its chain and its new key, both PEM.
pub struct Issued {
    pub chain: String,
    pub key: String,
}

/// How long the CA gets to validate, then to issue: Let's Encrypt takes seconds; beyond this
/// the attempt fails and the schedule backs off.
const POLL: RetryPolicy = RetryPolicy::new()
    .initial_delay(std::time::Duration::from_millis(250))
    .backoff(1.5)
    .timeout(std::time::Duration::from_secs(90));

/// What to order: a certificate for `name` with a `key` key.
#[derive(Clone, Copy)]
pub struct Wanted<'a> {
    pub name: &'a str,
    pub key: KeyType,
}

pub async fn order(
    account: &Account,
    store: &Store,
    wanted: Wanted<'_>,
    listeners: Listeners,
) -> Result<Issued, Failure> {
    let mut written = Vec::new();
    let result = attempt(account, store, wanted, listeners, &mut written).await;
    for path in written {
        let _ = std::fs::remove_file(path);
    }
    result
}

async fn attempt(
    account: &Account,
    store: &Store,
    wanted: Wanted<'_>,
    listeners: Listeners,
    written: &mut Vec<PathBuf>,
) -> Result<Issued, Failure> {
    let name = wanted.name;
    let challenge = store.acme().challenge;
    let identifiers = [Identifier::Dns(name.to_owned())];
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(ca("new order"))?;
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization.map_err(ca("authorization"))?;
        match authorization.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            other => return Err(format!("the CA says the authorization is {other:?}").into()),
        }
        let kind = match challenge {
            Challenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
            Challenge::Http01 => ChallengeType::Http01,
        };
        let mut handle = authorization
            .challenge(kind)
            .ok_or_else(|| format!("the CA offers no {} challenge for {name}", challenge.name()))?;
        let key_authorization = handle.key_authorization();
        match challenge {
            Challenge::TlsAlpn01 => {
                let (pem, der) = alpn_certificate(name, key_authorization.digest().as_ref())?;
                written.push(
                    store
                        .put_alpn(name, &pem)
                        .map_err(|e| format!("writing the challenge: {e}"))?,
                );
                confirm::alpn(listeners.https, name, &der).await?;
            }
            Challenge::Http01 => {
                let token = handle.token.clone();
                if token.is_empty()
                    || !token
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(
                        format!("the CA sent a token that is not base64url: {token:?}").into(),
                    );
                }
                let answer = key_authorization.as_str();
                written.push(
                    store
                        .put_http(&token, answer)
                        .map_err(|e| format!("writing the challenge: {e}"))?,
                );
                let http = listeners
                    .http
                    .ok_or("no redirect_http listener to answer http-01")?;
                confirm::http(http, name, &token, answer).await?;
            }
        }
        handle.set_ready().await.map_err(ca("challenge"))?;
    }
    match order.poll_ready(&POLL).await.map_err(ca("validation"))? {
        OrderStatus::Ready => {}
        status => {
            return Err(format!("the CA did not validate {name}: order is {status:?}").into());
        }
    }
    let key = new_key(wanted.key)?;
    let mut params = CertificateParams::new(vec![name.to_owned()]).map_err(|e| e.to_string())?;
    params.distinguished_name = DistinguishedName::new();
    let csr = params.serialize_request(&key).map_err(|e| e.to_string())?;
    order
        .finalize_csr(csr.der())
        .await
        .map_err(ca("finalize"))?;
    let chain = order
        .poll_certificate(&POLL)
        .await
        .map_err(ca("certificate"))?;
    Ok(Issued {
        chain,
        key: key.serialize_pem(),
    })
}

/// A fresh key for the certificate: a new one for every order, so a key that leaked is
/// gone at the next renewal.
fn new_key(key: KeyType) -> Result<KeyPair, String> {
    let algorithm = match key {
        KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyType::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
    };
    KeyPair::generate_for(algorithm).map_err(|e| format!("generating a {} key: {e}", key.name()))
}

/// RFC 8737 §3: a self-signed certificate for `name` carrying the key authorization's SHA-256
/// in the critical acmeIdentifier extension; PEM (key and certificate) and the DER served.
fn alpn_certificate(
    name: &str,
    digest: &[u8],
) -> Result<(String, CertificateDer<'static>), String> {
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = CertificateParams::new(vec![name.to_owned()]).map_err(|e| e.to_string())?;
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    let pem = format!("{}{}", key.serialize_pem(), cert.pem());
    Ok((pem, cert.der().clone()))
}
