//! The port-80 listeners' routing (`listen.redirect_http`): ACME HTTP-01 answers for the
//! pending tokens, a 308 to `https://` for every other request to a configured domain, 404
//! for any other host. No documents: delegation is served over HTTPS only. Pure, like
//! [`super::route()`].

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use super::prepared::{Body, Prepared};
use super::route::{host, percent_encoded, well_formed};
use super::router::Router;
use crate::challenges::Challenges;

/// RFC 8555 §8.3's path for HTTP-01 tokens.
pub const ACME_CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

pub fn route_plain<B>(router: &Router, pending: &Challenges, req: &Request<B>) -> Response<Body> {
    let fixed = &router.fixed;
    let head = req.method() == Method::HEAD;
    if let Err(bad) = well_formed(router, req) {
        return bad.response(head);
    }
    let path = req.uri().path();
    if let Some(token) = path.strip_prefix(ACME_CHALLENGE_PREFIX) {
        return match (pending.http(token), head || req.method() == Method::GET) {
            (Some(answer), true) => key_authorization(answer, head),
            (Some(_), false) => fixed.method_not_allowed.response(false),
            (None, _) => fixed.not_found.response(head),
        };
    }
    if router.is_health(path) {
        return super::route(router, req);
    }
    let Some(name) = host(req).filter(|h| {
        router
            .sites()
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(h))
    }) else {
        return fixed.unknown_host.response(head);
    };
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let location = format!(
        "https://{}{}",
        name.to_ascii_lowercase(),
        percent_encoded(target)
    );
    let Ok(location) = HeaderValue::try_from(location) else {
        return fixed.not_found.response(head);
    };
    let mut r = fixed.redirect.response(false);
    r.headers_mut().insert(header::LOCATION, location);
    r
}

/// `200` with the key authorization, `application/octet-stream` as RFC 8555 §8.3 shows it.
/// Built per request: only the CA asks, a few times per order.
fn key_authorization(answer: &Bytes, head: bool) -> Response<Body> {
    let octets = HeaderValue::from_static("application/octet-stream");
    let no_store = HeaderValue::from_static("no-store");
    let extra = [
        (header::CONTENT_TYPE, octets),
        (header::CACHE_CONTROL, no_store),
    ];
    let mut p = Prepared::empty(StatusCode::OK, &extra);
    p.headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(answer.len()));
    p.body = answer.clone();
    p.response(head)
}
