//! The validated config: every value here has passed [`super::validate`], and every document
//! is already the JSON it will be served as.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::Value;

/// The four well-known documents, in a fixed order that indexes [`Domain::documents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Server,
    Client,
    Support,
    PolicyServer,
}

impl Document {
    pub const ALL: [Document; 4] = [
        Document::Server,
        Document::Client,
        Document::Support,
        Document::PolicyServer,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Document::Server => "/.well-known/matrix/server",
            Document::Client => "/.well-known/matrix/client",
            Document::Support => "/.well-known/matrix/support",
            Document::PolicyServer => "/.well-known/matrix/policy_server",
        }
    }

    /// The document served at `path`, if any (exact match: no trailing slash, no decoding).
    pub fn from_path(path: &str) -> Option<Document> {
        Self::ALL.into_iter().find(|d| d.path() == path)
    }
}

/// The prefix whose paths are never redirected.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/matrix/";

/// A certificate and key pair by path, as configured (after credential-directory resolution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    /// Where in the file the pair was named, e.g. `tls` or `domain[1].tls`.
    pub key: String,
    pub certificate: PathBuf,
    pub private_key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from, for messages.
    pub path: PathBuf,
    pub https: Vec<SocketAddr>,
    pub http: Vec<SocketAddr>,
    /// The default certificate (top-level `[tls]`).
    pub tls: Option<TlsPaths>,
    /// 0: never look for renewed certificate files.
    pub certificate_check_secs: u64,
    pub shutdown_grace_secs: u64,
    pub domains: Vec<Domain>,
}

#[derive(Debug, Clone)]
pub struct Domain {
    /// Lowercase DNS name.
    pub name: String,
    pub default: bool,
    pub cache_max_age_secs: u32,
    /// Base URL without trailing slash.
    pub redirect: Option<String>,
    pub tls: Option<TlsPaths>,
    /// Indexed by `Document as usize`; `None` answers 404.
    pub documents: [Option<Value>; 4],
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
