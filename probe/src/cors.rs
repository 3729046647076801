//! The preflight a browser sends before a cross-origin GET that carries `Authorization`
//! (some SDKs do): `OPTIONS` with `Origin` and `Access-Control-Request-Headers`.

use http::Method;

use super::Probe;
use super::dns::Resolve;
use super::fetch::Reply;
use super::report::Check;
use super::url::Url;
use super::wellknown::{CLIENT, ORIGIN, allows_origin};

const ID: &str = "cors.preflight";
const HINT: &str = "answer OPTIONS with 204 and `Access-Control-Allow-Origin: *`, `Access-Control-Allow-Methods: GET, HEAD, OPTIONS`, `Access-Control-Allow-Headers: X-Requested-With, Content-Type, Authorization`; without it a browser client that sends Authorization cannot read the document";

pub async fn preflight<R: Resolve>(p: &Probe<R>) -> Check {
    let url = Url::https(&p.domain, CLIENT.path());
    let headers = [
        ORIGIN,
        ("access-control-request-method", "GET"),
        ("access-control-request-headers", "authorization"),
    ];
    match p.request_url(&url, Method::OPTIONS, &headers).await {
        Ok(reply) => judge(&reply),
        Err(e) => Check::fail("cors", ID, format!("OPTIONS {url}: {e}"), HINT),
    }
}

/// Whether a browser would go on to send the GET.
pub fn judge(reply: &Reply) -> Check {
    let code = reply.status.as_u16();
    let origin = reply.one("access-control-allow-origin");
    let methods = reply.all("access-control-allow-methods").join(",");
    let headers = reply.all("access-control-allow-headers").join(",");
    let lists =
        |list: &str, item: &str| list.split(',').any(|m| m.trim().eq_ignore_ascii_case(item));
    // `*` never covers Authorization (Fetch standard), so it must be named.
    let problem = if !reply.status.is_success() {
        Some(format!("OPTIONS got {code}; a preflight needs 200 or 204"))
    } else if !origin.as_deref().is_some_and(allows_origin) {
        Some("no Access-Control-Allow-Origin".to_owned())
    } else if !(lists(&methods, "GET") || lists(&methods, "*")) {
        Some(format!(
            "Access-Control-Allow-Methods `{methods}` lacks GET"
        ))
    } else if !lists(&headers, "authorization") {
        Some(format!(
            "Access-Control-Allow-Headers `{headers}` lacks Authorization (`*` does not cover it)"
        ))
    } else {
        None
    };
    match problem {
        None => {
            let detail = format!("{code}, methods `{methods}`, headers `{headers}`");
            Check::pass("cors", ID, detail)
        }
        Some(p) => Check::fail("cors", ID, p, HINT),
    }
}
