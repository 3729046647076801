//! The routing function: from a request to one of the prepared responses. Pure, so unit tests
//! call it without sockets.

use http::header::{self, HeaderValue};
use http::{Method, Request, Response};

use super::prepared::Body;
use crate::config::Document;
use crate::config::model::WELL_KNOWN_PREFIX;
use crate::state::State;

pub fn route<B>(state: &State, req: &Request<B>) -> Response<Body> {
    let fixed = &state.fixed;
    let method = req.method();
    if method == Method::OPTIONS {
        return fixed.preflight.response(false);
    }
    let head = method == Method::HEAD;
    let path = req.uri().path();
    if state.config.health.path.as_deref() == Some(path) {
        return match (head || method == Method::GET, state.draining) {
            (false, _) => fixed.method_not_allowed.response(false),
            (true, false) => fixed.health_ok.response(head),
            (true, true) => fixed.health_stopping.response(head),
        };
    }
    let Some(site) = state.site(|| host(req)) else {
        return fixed.unknown_host.response(head);
    };
    if let Some(doc) = Document::from_path(path) {
        return match &site.documents[doc as usize] {
            Some(p) if head || method == Method::GET => p.response(head),
            Some(_) => fixed.method_not_allowed.response(false),
            None => fixed.not_found.response(head),
        };
    }
    match &site.redirect {
        Some(base) if !path.starts_with(WELL_KNOWN_PREFIX) => redirect(state, base, req),
        _ => fixed.not_found.response(head),
    }
}

/// 308 to the same path and query on the domain's website.
fn redirect<B>(state: &State, base: &str, req: &Request<B>) -> Response<Body> {
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let Ok(location) = HeaderValue::try_from(format!("{base}{target}")) else {
        return state.fixed.not_found.response(req.method() == Method::HEAD);
    };
    let mut r = state.fixed.redirect.response(false);
    r.headers_mut().insert(header::LOCATION, location);
    r
}

/// The requested host: HTTP/2 `:authority` (or an absolute-form URI), else `Host`; without
/// port and trailing dot. Borrowed, never lowercased: [`State::site`] compares ignoring case.
pub fn host<B>(req: &Request<B>) -> Option<&str> {
    let raw = match req.uri().authority() {
        Some(a) => a.as_str(),
        None => req.headers().get(header::HOST)?.to_str().ok()?,
    };
    let raw = raw.rsplit_once('@').map_or(raw, |(_, h)| h);
    let host = match raw.strip_prefix('[') {
        Some(v6) => &raw[..v6.find(']').map_or(raw.len(), |i| i + 2)],
        None => raw.split(':').next().unwrap_or(raw),
    };
    Some(host.strip_suffix('.').unwrap_or(host))
}
