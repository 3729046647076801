//! The TOML file exactly as an operator writes it. Every field's `///` doc is the reference for
//! that key; `config.example.toml` shows them in use. Nothing here is checked beyond its TOML
//! type: `validate` turns this into the [`super::model`].

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `Cache-Control: public, max-age=N` on every domain's documents, in seconds, unless a
    /// `[[domain]]` sets its own. 300..=172800 (Synapse clamps to [5 min, 48 h]); default 14400.
    pub cache_max_age_secs: Option<u64>,
    /// How often, in seconds, to look whether a certificate or key file changed on disk
    /// (certbot renewal) and load the new pair if it is complete. Default 60; 0 turns it off.
    pub certificate_check_secs: Option<u64>,
    /// After SIGTERM/SIGINT, how long requests in flight get to finish before the daemon
    /// exits anyway, in seconds. Default 10; keep it below the unit's `TimeoutStopSec`.
    pub shutdown_grace_secs: Option<u64>,
    /// Where to accept connections.
    #[serde(default)]
    pub listen: ListenFile,
    /// The certificate served to every domain without a `[domain.tls]` of its own, and to
    /// clients that send no SNI. Required when there are `https` listeners, unless every domain
    /// has its own.
    pub tls: Option<TlsFile>,
    /// Timeouts and size limits against misbehaving clients.
    #[serde(default)]
    pub limits: LimitsFile,
    /// The health endpoint for load-balancer probes.
    #[serde(default)]
    pub health: HealthFile,
    /// The Prometheus metrics listener.
    #[serde(default)]
    pub metrics: MetricsFile,
    /// Logging.
    #[serde(default)]
    pub log: LogFile,
    /// Certificates from an ACME CA (Let's Encrypt by default) for every domain without a
    /// `[domain.tls]` of its own. Absent: certificates come from files only.
    pub acme: Option<AcmeFile>,
    /// The domains served, one `[[domain]]` table each; at least one.
    #[serde(default)]
    pub domain: Vec<DomainFile>,
}

/// `[acme]`: the CA, the challenge it validates with, and where account and certificates live.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeFile {
    /// The CA's ACME directory URL, `https://` only. Default Let's Encrypt's production
    /// directory; their staging one is `https://acme-staging-v02.api.letsencrypt.org/directory`.
    pub directory: Option<String>,
    /// Contact URLs for the account, e.g. `["mailto:admin@example.com"]`: the CA writes there
    /// about expiring certificates and policy changes. Optional.
    #[serde(default)]
    pub contact: Vec<String>,
    /// Must be `true`: you agree to the CA's terms of service (Let's Encrypt's subscriber
    /// agreement). Nothing is ordered without it.
    #[serde(default)]
    pub terms_of_service_agreed: bool,
    /// `"tls-alpn-01"` (default: validated on the HTTPS port itself) or `"http-01"` (needs a
    /// `listen.redirect_http` listener that the CA reaches on port 80).
    pub challenge: Option<String>,
    /// A PEM file of CA certificates to trust for the directory's HTTPS instead of the
    /// system's (a private CA, tests). Optional.
    pub ca_certificate: Option<String>,
    /// Account key, certificates and pending challenges. Default `$STATE_DIRECTORY` under
    /// systemd (`StateDirectory=wellknownd`), else `/var/lib/wellknownd`.
    pub state_dir: Option<String>,
    /// Renew when fewer than this many days of validity remain (or earlier when the CA's
    /// renewal information says so). 1..=365, default 30.
    pub renew_before_days: Option<u64>,
    /// The certificates' key: `"ecdsa-p256"` (default: every client of the last decade
    /// verifies it, and its handshake costs the least), `"rsa-2048"`, or `"both"`: one
    /// certificate of each per domain, and each client gets the ECDSA one unless its
    /// handshake allows only RSA (like nginx's two `ssl_certificate` lines). RSA needs a
    /// build on aws-lc-rs: *ring* cannot generate RSA keys.
    pub key_type: Option<String>,
}

/// A listener: an address such as `"[::]:443"`, or a table when it needs options.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "an address such as \"[::]:443\", or a table such as { address = \"127.0.0.1:8443\", proxy_protocol = true }"
)]
pub enum ListenerFile {
    Address(String),
    Table(ListenerTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTable {
    /// The socket address.
    pub address: String,
    /// Expect a PROXY protocol header (v1 or v2) before anything else on each connection, and
    /// take the client address from it. Only behind a load balancer that sends one: a
    /// connection without a valid header is closed.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// Apply `limits.max_connections_per_ip` here (default true). Turn it off only on a
    /// listener that nothing but your own load balancer or proxy can reach and that takes no
    /// PROXY header: every connection there comes from the balancer's one address.
    pub per_ip_limit: Option<bool>,
}

/// `[limits]`: every key in whole seconds or bytes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Time for a client to complete the TLS handshake (and send its PROXY header). Default 10.
    pub handshake_timeout_secs: Option<u64>,
    /// Time for a request head to arrive once its first byte has (and for the first request
    /// after the connection opened). Default 10.
    pub header_timeout_secs: Option<u64>,
    /// A connection with no request in flight is closed after this long (HTTP/1.1 between
    /// requests; HTTP/2 with no open stream: GOAWAY). PINGs and other frames do not count as
    /// activity. Default 60.
    pub idle_timeout_secs: Option<u64>,
    /// However busy it is, a connection is ended gracefully after this long: HTTP/2 gets
    /// GOAWAY, HTTP/1.1 `Connection: close` on its next response; no response is cut.
    /// Default 3600.
    pub max_connection_age_secs: Option<u64>,
    /// Largest request head (request line and headers) accepted: larger gets 431. Default 16384.
    pub max_header_bytes: Option<u64>,
    /// Connections open at once; beyond it, new ones wait in the kernel's queue. Capped by the
    /// file descriptor limit. Default 10000.
    pub max_connections: Option<u64>,
    /// Connections open at once from one client address (the PROXY header's where the
    /// listener takes one; an IPv6 /64 counts as one address). Beyond it a new connection
    /// from that address is closed at once; other addresses are unaffected. Default 256.
    pub max_connections_per_ip: Option<u64>,
}

/// `[health]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthFile {
    /// Path of the health endpoint, outside `/.well-known/`; `""` turns it off. Default
    /// `"/healthz"`: `200 {"status":"ok"}`, and `503 {"status":"stopping"}` once SIGTERM came.
    pub path: Option<String>,
    /// After SIGTERM, keep serving this long with the health endpoint at 503, so the load
    /// balancer takes this node out before its listeners close. Default 0.
    pub shutdown_delay_secs: Option<u64>,
}

/// `[metrics]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsFile {
    /// Address of a plain-HTTP listener serving Prometheus metrics at `/metrics`, e.g.
    /// `"127.0.0.1:9100"`. Absent: no metrics listener.
    pub listen: Option<String>,
}

/// `[log]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFile {
    /// One line per request (time, client address, host, method, path, status, bytes,
    /// duration). Default false.
    #[serde(default)]
    pub access: bool,
}

/// `[listen]`: socket addresses such as `"[::]:443"` or `"0.0.0.0:443"`. IPv6 sockets are
/// v6-only, so an IPv4 and an IPv6 wildcard can be listed side by side.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenFile {
    /// TLS listeners (HTTP/2 and HTTP/1.1 by ALPN).
    #[serde(default)]
    pub https: Vec<ListenerFile>,
    /// Plain-HTTP/1.1 listeners, for a load balancer that terminates TLS in front.
    #[serde(default)]
    pub http: Vec<ListenerFile>,
    /// Plain-HTTP/1.1 listeners for port 80: they answer ACME HTTP-01 challenges and send
    /// every other request a 308 to the same path over `https://`. They serve no documents.
    #[serde(default)]
    pub redirect_http: Vec<ListenerFile>,
    /// Addresses or networks of your own reverse proxies, e.g. `["127.0.0.1", "10.0.0.0/8"]`.
    /// A connection to a plain `http` listener from one of them is not counted against
    /// `limits.max_connections_per_ip` (it carries many clients), and the access log names the
    /// client from its `X-Forwarded-For` (or `Forwarded`): the last address in it that is not
    /// itself a trusted proxy. From anyone else those headers are ignored. Default none.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// A certificate chain and its private key, both PEM files; or, as nginx's two
/// `ssl_certificate` lines, two such pairs of different key types (`certificates`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// The certificate chain, leaf first (Let's Encrypt: `fullchain.pem`).
    pub certificate: Option<String>,
    /// The private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC) PEM (Let's Encrypt: `privkey.pem`).
    pub private_key: Option<String>,
    /// Instead of `certificate` and `private_key`: an ECDSA and an RSA pair, each a table
    /// with those two keys. Each client gets the cheapest its handshake accepts: ECDSA when it
    /// can verify it, RSA for clients that cannot.
    #[serde(default)]
    pub certificates: Vec<PairFile>,
    /// Top-level `[tls]` only: session-ticket keys shared by several instances behind one
    /// load balancer, so a client resumed by one resumes on the others (nginx's
    /// `ssl_session_ticket_key`). One key per line, each `openssl rand -base64 48`; the first
    /// encrypts, all decrypt: rotate by adding a new first line and dropping the last after
    /// 6 hours. Mode 0600. Re-read when it changes. Absent: each process's own rotating keys.
    pub ticket_key_file: Option<String>,
}

/// One pair of `certificates`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairFile {
    /// The certificate chain, leaf first.
    pub certificate: String,
    /// Its private key.
    pub private_key: String,
}

/// `[[domain]]`: one Matrix server name and the documents served for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainFile {
    /// The server name, as in `@user:example.com`: requests whose `Host` is this name get this
    /// domain's documents. A DNS name, without port.
    pub name: String,
    /// The delegated server name for `/.well-known/matrix/server`, e.g.
    /// `"matrix.example.com:443"`: host and optional port, no scheme, no path. Absent: that
    /// document answers 404.
    pub server: Option<String>,
    /// With several domains, answer requests whose `Host` matches none of them as this one
    /// (at most one domain may say so). Otherwise an unknown `Host` gets 404.
    #[serde(default)]
    pub default: bool,
    /// This domain's `Cache-Control` max-age in seconds; overrides the top-level key.
    pub cache_max_age_secs: Option<u64>,
    /// Send every path outside `/.well-known/matrix/` to this site with a 308, path and query
    /// kept, e.g. `"https://www.example.com"`.
    pub redirect: Option<String>,
    /// Accept `http://` in this domain's URLs (homeserver, identity server, support page,
    /// redirect). Off by default: clients on the internet need `https://`.
    #[serde(default)]
    pub allow_http_urls: bool,
    /// `/.well-known/matrix/client`. Absent: that document answers 404.
    pub client: Option<ClientFile>,
    /// `/.well-known/matrix/support` (spec v1.10). Absent: that document answers 404.
    pub support: Option<SupportFile>,
    /// `/.well-known/matrix/policy_server` (spec v1.18). Absent: that document answers 404.
    pub policy_server: Option<PolicyServerFile>,
    /// `/.well-known/element/element.json`, read by Element X: `registration_helper_url`,
    /// `rageshake_url`, `content_scanner_url`, `call.widget_url` (https URLs), `brand_color`
    /// (`"#rrggbb"`), `enforce_element_pro`, `force_disable_e2ee` (booleans),
    /// `notification_sound`, `idp_app_scheme` (strings),
    /// `custom_recovery_passphrase.min_character_count` (above 0). Other keys are served with
    /// a warning. Absent: that document answers 404.
    pub element: Option<toml::Table>,
    /// More documents under `/.well-known/`, such as `/.well-known/matrix/mautrix`: one
    /// `[[domain.file]]` each, served with the same headers as the documents above.
    #[serde(default)]
    pub file: Vec<FileFile>,
    /// A certificate for this domain alone, chosen when the client's SNI is this `name`.
    pub tls: Option<TlsFile>,
}

/// `[domain.client]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    /// `m.homeserver.base_url`: where clients reach the client-server API, e.g.
    /// `"https://matrix.example.com"`. A trailing slash is removed.
    pub homeserver: String,
    /// `m.identity_server.base_url`, e.g. `"https://vector.im"`. Optional.
    pub identity_server: Option<String>,
    /// More keys copied verbatim into the document, e.g. `"org.matrix.msc4143.rtc_foci"`. Each
    /// key must be namespaced (contain a dot) and may not be `m.homeserver`/`m.identity_server`.
    #[serde(default)]
    pub extra: toml::Table,
}

/// `[domain.support]`: at least one of `page` and `contacts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportFile {
    /// `support_page`: a web page for people who need help with this server.
    pub page: Option<String>,
    /// `contacts`: one `[[domain.support.contacts]]` table each.
    #[serde(default)]
    pub contacts: Vec<ContactFile>,
    /// More top-level keys copied into the document, each namespaced (containing a dot).
    #[serde(default)]
    pub extra: toml::Table,
}

/// `[[domain.support.contacts]]`: a role and at least one of `matrix_id` and `email_address`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactFile {
    /// `m.role.admin`, `m.role.security`, or a namespaced role such as `org.example.moderator`.
    /// Other `m.role.` roles (`m.role.moderator`, MSC4121) are served with a warning.
    pub role: String,
    /// A Matrix user ID, e.g. `"@admin:example.com"`.
    pub matrix_id: Option<String>,
    /// An email address.
    pub email_address: Option<String>,
    /// More keys copied into this contact, each namespaced, e.g.
    /// `extra = { "dev.zirco.msc4439.pgp_key" = "..." }`.
    #[serde(default)]
    pub extra: toml::Table,
}

/// `[[domain.file]]`: a JSON document at a path of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFile {
    /// Where it is served, under `/.well-known/`, e.g. `"/.well-known/matrix/mautrix"`; not
    /// the path of a document configured by its own table.
    pub path: String,
    /// The document: a table, served as the JSON object it is.
    pub json: toml::Table,
}

/// `[domain.policy_server]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyServerFile {
    /// The policy server's ed25519 public key: unpadded standard base64 of its 32 bytes.
    pub ed25519: String,
}
