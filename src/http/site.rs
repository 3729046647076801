//! Everything a domain answers, and everything any domain answers, prepared at config load.

use http::StatusCode;
use http::header::{self, HeaderName, HeaderValue};

use std::sync::Arc;

use super::automatic::Automatic;
use super::prepared::{METHODS, Prepared};
use crate::config::model::DOCUMENTS;
use crate::config::{Document, Domain};

/// CORS preflight results may be cached this long. Chromium caps the value at 2 h, Firefox
/// at 24 h; 2 h spares browsers a preflight per page load without pinning a wrong answer.
const PREFLIGHT_MAX_AGE: &str = "7200";

/// One domain's prepared responses.
#[derive(Debug, Clone)]
pub struct Site {
    /// Lowercase domain name, compared with `Host`.
    pub name: Box<str>,
    /// Indexed by `Document as usize`; `None` answers 404.
    pub documents: [Option<Prepared>; DOCUMENTS],
    /// `[[domain.file]]`, by path: a handful, so a scan.
    pub files: Vec<(Box<str>, Prepared)>,
    /// Base URL for paths outside `/.well-known/matrix/` and `/.well-known/element/`.
    pub redirect: Option<Box<str>>,
}

impl Site {
    pub fn build(d: &Domain) -> Site {
        let cache_control =
            HeaderValue::try_from(format!("public, max-age={}", d.cache_max_age_secs))
                .unwrap_or_else(|_| HeaderValue::from_static("public, max-age=14400"));
        let extra = [(header::CACHE_CONTROL, cache_control)];
        let prepare = |v: &serde_json::Value| {
            Prepared::json(
                StatusCode::OK,
                serde_json::to_vec(v).unwrap_or_default(),
                &extra,
            )
        };
        let documents = Document::ALL.map(|doc| d.document(doc).map(prepare));
        let files = d
            .files
            .iter()
            .map(|(path, v)| (path.as_str().into(), prepare(v)))
            .collect();
        Site {
            name: d.name.as_str().into(),
            documents,
            files,
            redirect: d.redirect.as_deref().map(Into::into),
        }
    }
}

impl Site {
    /// The `[[domain.file]]` document at `path`.
    pub fn file(&self, path: &str) -> Option<&Prepared> {
        self.files
            .iter()
            .find(|(p, _)| &**p == path)
            .map(|(_, r)| r)
    }
}

/// The responses that do not depend on the domain.
#[derive(Debug, Clone)]
pub struct Fixed {
    /// The health endpoint: serving, or shutting down (load balancers take us out).
    pub health_ok: Prepared,
    pub health_stopping: Prepared,
    /// What a bug in routing costs a client (never expected).
    pub internal_error: Prepared,
    pub not_found: Prepared,
    pub unknown_host: Prepared,
    pub method_not_allowed: Prepared,
    pub preflight: Prepared,
    /// A 308 without its `Location`, which the request path adds.
    pub redirect: Prepared,
    /// RFC 9112 §3.2's 400s: an HTTP/1.1 request without `Host`, two `Host` headers, a
    /// `Host` that is not a host and port.
    pub no_host: Prepared,
    pub two_hosts: Prepared,
    pub bad_host: Prepared,
    /// A request target that is not a path (`GET *`, CONNECT's authority form).
    pub bad_target: Prepared,
    /// An HTTP/2 header list above `limits.max_header_bytes`.
    pub too_large: Prepared,
    /// What replaces hyper's own HTTP/1.1 error answers.
    pub automatic: Arc<Automatic>,
}

impl Fixed {
    pub fn new() -> Fixed {
        let allow: [(HeaderName, HeaderValue); 1] =
            [(header::ALLOW, HeaderValue::from_static(METHODS))];
        let max_age = [(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        )];
        let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
        let status = |s: &str| serde_json::json!({ "status": s }).to_string().into_bytes();
        Fixed {
            health_ok: Prepared::json(StatusCode::OK, status("ok"), &no_store),
            health_stopping: Prepared::json(
                StatusCode::SERVICE_UNAVAILABLE,
                status("stopping"),
                &no_store,
            ),
            internal_error: Prepared::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error",
                &[],
            ),
            not_found: Prepared::error(StatusCode::NOT_FOUND, "Unrecognized request", &[]),
            unknown_host: Prepared::error(
                StatusCode::NOT_FOUND,
                "No Matrix domain is served at this host name",
                &[],
            ),
            method_not_allowed: Prepared::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Unrecognized request method",
                &allow,
            ),
            preflight: Prepared::empty(StatusCode::NO_CONTENT, &max_age),
            redirect: Prepared::empty(StatusCode::PERMANENT_REDIRECT, &[]),
            no_host: bad_request("An HTTP/1.1 request needs a Host header"),
            two_hosts: bad_request("More than one Host header"),
            bad_host: bad_request("The Host header is not a host name and port"),
            bad_target: bad_request("The request target is not a path"),
            too_large: Prepared::matrix_error(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "M_TOO_LARGE",
                "Request headers too large",
                &[],
            ),
            automatic: Arc::new(Automatic::new()),
        }
    }
}

fn bad_request(message: &str) -> Prepared {
    Prepared::error(StatusCode::BAD_REQUEST, message, &[])
}

impl Default for Fixed {
    fn default() -> Self {
        Fixed::new()
    }
}
