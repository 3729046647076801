//! The validated config: every value here has passed `validate`, and every document
//! is already the JSON it will be served as.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

pub use wellknownd_shared::document::{DOCUMENTS, Document, RESERVED_PREFIXES};

/// A certificate and key pair by path, as configured (after credential-directory resolution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    /// Where in the file the pair was named, e.g. `tls` or `domain[1].tls`.
    pub key: String,
    pub certificate: PathBuf,
    pub private_key: PathBuf,
}

/// A configured listening address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddr {
    pub address: SocketAddr,
    pub options: ListenOptions,
}

/// How a listener treats its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenOptions {
    /// Each connection starts with a PROXY protocol header from a load balancer.
    pub proxy_protocol: bool,
    /// `limits.max_connections_per_ip` applies.
    pub per_ip_limit: bool,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            proxy_protocol: false,
            per_ip_limit: true,
        }
    }
}

impl ListenOptions {
    /// What to say after a listener's address in logs: ` (PROXY protocol)` and the like.
    pub fn suffix(&self) -> &'static str {
        match (self.proxy_protocol, self.per_ip_limit) {
            (false, true) => "",
            (true, true) => " (PROXY protocol)",
            (false, false) => " (no per-address limit)",
            (true, false) => " (PROXY protocol, no per-address limit)",
        }
    }
}

/// `[limits]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub handshake_timeout: Duration,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connection_age: Duration,
    pub max_header_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
}

/// Every socket the daemon binds itself; changing any needs a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    pub https: Vec<ListenAddr>,
    pub http: Vec<ListenAddr>,
    /// Port-80 listeners: ACME HTTP-01 answers and 308s to `https://`.
    pub redirect_http: Vec<ListenAddr>,
    /// Reverse proxies whose `X-Forwarded-For` the plain listeners believe.
    pub trusted_proxies: Vec<super::net::IpNet>,
    /// The Prometheus metrics listener.
    pub metrics: Option<SocketAddr>,
}

impl Listen {
    /// Every listener as `https://[::]:443`, with its [`ListenOptions::suffix`].
    pub fn describe(&self) -> Vec<String> {
        let tagged = |scheme: &'static str| {
            move |l: &ListenAddr| format!("{scheme}://{}{}", l.address, l.options.suffix())
        };
        let https = self.https.iter().map(tagged("https"));
        let http = self.http.iter().map(tagged("http"));
        let redirect = self.redirect_http.iter().map(tagged("redirect http"));
        let metrics = self.metrics.iter().map(|a| format!("metrics http://{a}"));
        https.chain(http).chain(redirect).chain(metrics).collect()
    }
}

/// `[health]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// `None`: no health endpoint.
    pub path: Option<String>,
    pub shutdown_delay: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from, for messages.
    pub path: PathBuf,
    pub listen: Listen,
    pub limits: Limits,
    pub health: Health,
    pub access_log: bool,
    /// The default certificate (top-level `[tls]`): no pair, one, or an ECDSA and an RSA one.
    pub tls: Vec<TlsPaths>,
    /// `tls.ticket_key_file`, resolved as certificate paths are.
    pub ticket_key_file: Option<PathBuf>,
    /// 0: never look for renewed certificate files.
    pub certificate_check_secs: u64,
    pub shutdown_grace_secs: u64,
    /// `[acme]`: certificates for the domains without files of their own.
    pub acme: Option<Acme>,
    pub domains: Vec<Domain>,
}

impl Config {
    /// Every domain has a certificate (its own, `[acme]`'s, or the top-level one): what a TLS
    /// listener needs. Checked when the config loads if it names `https` listeners, and once
    /// the sockets are known under socket activation, where the config cannot say whether
    /// systemd passes an `https` socket or only `http` ones (behind a proxy).
    pub fn require_certificates(&self) -> Result<(), super::Error> {
        let Some((i, d)) = self
            .domains
            .iter()
            .enumerate()
            .find(|(_, d)| d.tls.is_empty() && self.tls.is_empty())
        else {
            return Ok(());
        };
        Err(super::Error::Invalid {
            path: self.path.clone(),
            key: "tls".into(),
            message: format!(
                "no certificate for domain[{i}] (`{}`), which a TLS listener needs: add a top-level \
                 [tls], a [domain[{i}].tls] or [acme]; behind a TLS-terminating proxy, listen on \
                 plain `http` only (listen.http, or a socket named `http`)",
                d.name
            ),
        })
    }
}

/// How the CA validates that we control a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// RFC 8737: a special certificate on the HTTPS port, for ALPN `acme-tls/1`.
    TlsAlpn01,
    /// RFC 8555 §8.3: a token at `http://<name>/.well-known/acme-challenge/<token>`.
    Http01,
}

impl Challenge {
    pub fn name(self) -> &'static str {
        match self {
            Challenge::TlsAlpn01 => "tls-alpn-01",
            Challenge::Http01 => "http-01",
        }
    }
}

/// The key of an ACME certificate. Ordered cheapest handshake first, the order in which
/// the resolver offers a domain's certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyType {
    EcdsaP256,
    Rsa2048,
}

impl KeyType {
    pub fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::Rsa2048 => "rsa-2048",
        }
    }
}

/// How an ACME certificate's [`TlsPaths::key`] begins (`acme example.com`): what logs, metrics
/// and `check` call it.
const ACME_PREFIX: &str = "acme ";

/// `[acme]`, validated. The layout of `state_dir` is defined here, since the server (which
/// reads it) and the ACME client (which writes it) may be different processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acme {
    pub directory: String,
    pub contact: Vec<String>,
    pub challenge: Challenge,
    pub ca_certificate: Option<PathBuf>,
    pub state_dir: PathBuf,
    pub renew_before_days: u32,
    /// One certificate per domain for each, cheapest first; never empty.
    pub key_types: Vec<KeyType>,
}

impl Acme {
    /// A domain's certificate chain and key of one key type, in one file so that both change
    /// in one rename: `certificates/<name>.pem` for ECDSA (the layout from before key types,
    /// so an upgrade keeps its certificate), `certificates/rsa-2048/<name>.pem` for RSA (a
    /// directory: every label, `rsa-2048` too, is a valid domain name's).
    pub fn certificate(&self, name: &str, key: KeyType) -> TlsPaths {
        let dir = match key {
            KeyType::EcdsaP256 => self.state_dir.join("certificates"),
            KeyType::Rsa2048 => self.rsa_certificates(),
        };
        let file = dir.join(format!("{name}.pem"));
        TlsPaths {
            key: format!("{ACME_PREFIX}{}", Acme::status_key(name, key)),
            certificate: file.clone(),
            private_key: file,
        }
    }

    /// The [`Acme::status_key`] of a certificate [`Acme::certificate`] named; `None` for
    /// certificate files of the config's own.
    pub fn status_key_of(paths: &TlsPaths) -> Option<&str> {
        paths.key.strip_prefix(ACME_PREFIX)
    }

    /// A domain's certificates, one per configured key type, cheapest first.
    pub fn certificates(&self, name: &str) -> Vec<TlsPaths> {
        let paths = self.key_types.iter().map(|k| self.certificate(name, *k));
        paths.collect()
    }

    /// Where the RSA certificates live.
    pub fn rsa_certificates(&self) -> PathBuf {
        self.state_dir.join("certificates").join("rsa-2048")
    }

    /// The key of a certificate in [`Status`](crate::acme::Status)'s map: the domain's name
    /// for ECDSA (as before key types), `<name> rsa-2048` for RSA.
    pub fn status_key(name: &str, key: KeyType) -> String {
        match key {
            KeyType::EcdsaP256 => name.to_owned(),
            KeyType::Rsa2048 => format!("{name} {}", key.name()),
        }
    }

    /// Pending challenges: `http-01/<token>` and `tls-alpn-01/<name>.pem`.
    pub fn challenges(&self) -> PathBuf {
        self.state_dir.join("challenges")
    }

    /// The ACME account's credentials.
    pub fn account(&self) -> PathBuf {
        self.state_dir.join("account.json")
    }

    /// What the client did and plans, per domain, for `check`, `STATUS=` and the metrics.
    pub fn status(&self) -> PathBuf {
        self.state_dir.join("status.json")
    }
}

#[derive(Debug, Clone)]
pub struct Domain {
    /// Lowercase DNS name.
    pub name: String,
    pub default: bool,
    pub cache_max_age_secs: u32,
    /// Base URL without trailing slash.
    pub redirect: Option<String>,
    /// `[domain.tls]`'s pairs (or the ACME one); empty: the default `[tls]`.
    pub tls: Vec<TlsPaths>,
    /// The certificate comes from `[acme]` (no `[domain.tls]` of its own).
    pub acme: bool,
    /// Indexed by `Document as usize`; `None` answers 404.
    pub documents: [Option<Value>; DOCUMENTS],
    /// `[[domain.file]]`: more documents, by path.
    pub files: Vec<(String, Value)>,
}

impl Domain {
    pub fn document(&self, doc: Document) -> Option<&Value> {
        self.documents[doc as usize].as_ref()
    }

    /// The delegated server name, if the server document is configured.
    pub fn server(&self) -> Option<&str> {
        self.document(Document::Server)?.get("m.server")?.as_str()
    }
}

/// A config that loaded, with what the operator should hear about it.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// One line each, starting with the key they concern.
    pub warnings: Vec<String>,
}
