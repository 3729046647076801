//! The documents: where each is served, and its name (the config key and metrics label).

/// The well-known documents, in a fixed order that indexes the daemon's per-domain arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Server,
    Client,
    Support,
    PolicyServer,
    /// Element's own `/.well-known/element/element.json`, read by Element X.
    Element,
}

/// How many [`Document`]s there are: the length of the arrays they index.
pub const DOCUMENTS: usize = 5;

/// Where MSC4284's implementations read the policy server document before it was stable.
const POLICY_SERVER_UNSTABLE: &str = "/.well-known/matrix/org.matrix.msc4284.policy_server";

impl Document {
    pub const ALL: [Document; DOCUMENTS] = [
        Document::Server,
        Document::Client,
        Document::Support,
        Document::PolicyServer,
        Document::Element,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Document::Server => "/.well-known/matrix/server",
            Document::Client => "/.well-known/matrix/client",
            Document::Support => "/.well-known/matrix/support",
            Document::PolicyServer => "/.well-known/matrix/policy_server",
            Document::Element => "/.well-known/element/element.json",
        }
    }

    /// `server`, `client`, `support`, `policy_server`, `element`: the metrics label, and the
    /// key of `[[domain]]` that configures it.
    pub fn name(self) -> &'static str {
        match self {
            Document::Server => "server",
            Document::Client => "client",
            Document::Support => "support",
            Document::PolicyServer => "policy_server",
            Document::Element => "element",
        }
    }

    /// The document served at `path`, if any (exact match: no trailing slash, no decoding).
    pub fn from_path(path: &str) -> Option<Document> {
        if path == POLICY_SERVER_UNSTABLE {
            return Some(Document::PolicyServer);
        }
        Self::ALL.into_iter().find(|d| d.path() == path)
    }

    /// Whether `path` lies where documents live, so a domain's `redirect` leaves it alone.
    pub fn is_reserved(path: &str) -> bool {
        RESERVED_PREFIXES.iter().any(|p| path.starts_with(p))
    }
}

/// The prefixes whose paths are never redirected: Matrix's and Element's documents.
pub const RESERVED_PREFIXES: [&str; 2] = ["/.well-known/matrix/", "/.well-known/element/"];
