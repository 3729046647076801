//! What the spec requires inside each document, checked with the same grammar the daemon
//! validates its config with ([`wellknownd_shared::names`]).

use serde_json::Value;

use super::report::{Check, Status};
use wellknownd_shared::{document::Document, names};

/// Checks document `doc` (a JSON object) and words the result as check `id`.
pub fn check(doc: Document, v: &Value, group: &'static str, id: String) -> Check {
    let result = match doc {
        Document::Server => server(v),
        Document::Client => client(v),
        Document::Element => element(v),
        Document::PolicyServer => policy_server(v),
        Document::Support => support(v),
    };
    match result {
        Ok((Status::Warn, detail, hint)) => Check::warn(group, id, detail, hint),
        Ok((_, detail, _)) => Check::pass(group, id, detail),
        Err((detail, hint)) => Check::fail(group, id, detail, hint),
    }
}

/// `(status, detail, hint if a warning)` or `(detail, hint)` of a failure.
type Shape = Result<(Status, String, String), (String, String)>;

fn ok(detail: String) -> Shape {
    Ok((Status::Pass, detail, String::new()))
}

/// The `m.server` string, if there is one.
pub fn m_server(v: &Value) -> Option<String> {
    v.get("m.server").and_then(Value::as_str).map(str::to_owned)
}

/// `m.homeserver.base_url`, if it is a usable URL.
pub fn base_url(v: &Value) -> Option<String> {
    let url = v.get("m.homeserver")?.get("base_url")?.as_str()?;
    names::base_url(url, true).ok()
}

fn server(v: &Value) -> Shape {
    let Some(s) = v.get("m.server") else {
        return Err((
            "no `m.server` key".into(),
            "write `{\"m.server\": \"matrix.example.com:443\"}`".into(),
        ));
    };
    let Some(s) = s.as_str() else {
        return Err((
            format!("`m.server` is {s}, not a string"),
            "write `{\"m.server\": \"matrix.example.com:443\"}`".into(),
        ));
    };
    if let Some((scheme, fixed)) = names::without_scheme(s) {
        return Err((
            format!("m.server `{s}` contains `{scheme}://`"),
            format!("m.server contains a scheme: write `{fixed}`, not `{s}`"),
        ));
    }
    match names::server_name(s) {
        Ok(hp) if hp.port.is_none() => Ok((
            Status::Warn,
            format!("m.server `{s}` has no port"),
            format!(
                "remote servers will look up SRV records for it, then connect to port 8448; write `{s}:443` if it listens on 443"
            ),
        )),
        Ok(_) => ok(format!("m.server `{s}`")),
        Err(e) => Err((
            format!("m.server {e}"),
            "m.server is a host name and port, e.g. `matrix.example.com:443`".into(),
        )),
    }
}

fn client(v: &Value) -> Shape {
    let hint = "write `{\"m.homeserver\": {\"base_url\": \"https://matrix.example.com\"}}`";
    let Some(url) = v.get("m.homeserver").and_then(|h| h.get("base_url")) else {
        return Err(("no `m.homeserver.base_url`".into(), hint.into()));
    };
    let Some(url) = url.as_str() else {
        return Err((
            format!("m.homeserver.base_url is {url}, not a string"),
            hint.into(),
        ));
    };
    if let Err(e) = names::base_url(url, true) {
        return Err((format!("m.homeserver.base_url {e}"), hint.into()));
    }
    if let Some(base) = names::without_matrix_suffix(url) {
        return Err((
            format!("m.homeserver.base_url `{url}` ends in /_matrix"),
            format!("clients append /_matrix/client/... themselves: write `{base}`"),
        ));
    }
    if let Some(is) = v.get("m.identity_server")
        && is.get("base_url").and_then(Value::as_str).is_none()
    {
        return Err((
            "m.identity_server has no base_url".into(),
            "remove `m.identity_server` or give it a `base_url`: an empty one breaks Element X"
                .into(),
        ));
    }
    if url.starts_with("http://") {
        return Ok((
            Status::Warn,
            format!("m.homeserver.base_url `{url}` is plain http"),
            "browsers block http:// from an https:// page: use https://".into(),
        ));
    }
    ok(format!("m.homeserver.base_url `{url}`"))
}

/// element.json by the daemon's own rules for `[domain.element]`.
fn element(v: &Value) -> Shape {
    match wellknownd_shared::shapes::element_json(v) {
        Ok(()) => ok(format!(
            "{} key(s) Element X can read",
            v.as_object().map_or(0, |o| o.len())
        )),
        Err(e) => Err((
            e,
            "fix that key: Element X ignores or misreads it (see `[domain.element]` in wellknownd)"
                .into(),
        )),
    }
}

/// `{"public_keys": {"ed25519": ...}}`: 32 bytes of unpadded base64, either alphabet.
fn policy_server(v: &Value) -> Shape {
    let hint = "write `{\"public_keys\": {\"ed25519\": \"<unpadded base64 of the 32-byte key>\"}}`";
    let Some(key) = v
        .get("public_keys")
        .and_then(|k| k.get("ed25519"))
        .and_then(Value::as_str)
    else {
        return Err(("no `public_keys.ed25519` string".into(), hint.into()));
    };
    match wellknownd_shared::base64::decode_either(key) {
        Ok((bytes, None)) if bytes.len() == 32 => ok(format!("ed25519 key `{key}`")),
        Ok((bytes, Some(standard))) if bytes.len() == 32 => Ok((
            Status::Warn,
            format!("ed25519 key `{key}` uses the URL-safe alphabet"),
            format!("some consumers expect standard base64: `{standard}`"),
        )),
        Ok((bytes, _)) => Err((
            format!("ed25519 key decodes to {} bytes, not 32", bytes.len()),
            hint.into(),
        )),
        Err(e) => Err((format!("ed25519 key `{key}` {e}"), hint.into())),
    }
}

fn support(v: &Value) -> Shape {
    let hint = "write `{\"contacts\": [{\"role\": \"m.role.admin\", \"matrix_id\": \"@admin:example.com\"}]}` and/or `{\"support_page\": \"https://...\"}`";
    let contacts = v.get("contacts").and_then(Value::as_array);
    let page = v.get("support_page").and_then(Value::as_str);
    if contacts.is_none_or(|c| c.is_empty()) && page.is_none() {
        return Err(("neither `contacts` nor `support_page`".into(), hint.into()));
    }
    for (i, c) in contacts.into_iter().flatten().enumerate() {
        contact(c).map_err(|e| (format!("contacts[{i}]: {e}"), hint.to_owned()))?;
    }
    if let Some(page) = page {
        names::base_url(page, true).map_err(|e| (format!("support_page {e}"), hint.to_owned()))?;
    }
    let n = contacts.map_or(0, Vec::len);
    ok(format!(
        "{n} contact(s){}",
        if page.is_some() {
            " and a support page"
        } else {
            ""
        }
    ))
}

fn contact(c: &Value) -> Result<(), String> {
    let role = c.get("role").and_then(Value::as_str).ok_or("no `role`")?;
    if !role.contains('.') {
        return Err(format!(
            "role `{role}` is not `m.role.admin`, `m.role.security` or namespaced"
        ));
    }
    let id = c.get("matrix_id").and_then(Value::as_str);
    let email = c.get("email_address").and_then(Value::as_str);
    match (id, email) {
        (None, None) => Err("needs `matrix_id` or `email_address`".into()),
        (id, email) => {
            id.map(names::user_id).transpose()?;
            email.map(names::email).transpose()?;
            Ok(())
        }
    }
}
