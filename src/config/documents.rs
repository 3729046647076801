//! The documents of a `[[domain]]`, built as JSON from checked values (the client document
//! and element.json in [`super::client`]).

use serde_json::{Map, Value, json};

use super::error::Error;
use super::file::{DomainFile, SupportFile};
use super::model::{DOCUMENTS, Document};
use super::validator::Validator;
use super::{client, json, names};

/// Checks `s` as a base URL at `{key}.{field}`, with the domain's `allow_http_urls`.
pub(super) fn url(
    v: &Validator,
    key: &str,
    d: &DomainFile,
    field: &str,
    s: &str,
) -> Result<String, Error> {
    v.check(
        &format!("{key}.{field}"),
        names::base_url(s, d.allow_http_urls),
    )
}

/// Every configured document of domain `d` (at `key`), indexed by `Document as usize`. A
/// document with an error is `None`, its errors kept in `v`.
pub(super) fn build(v: &mut Validator, key: &str, d: &DomainFile) -> [Option<Value>; DOCUMENTS] {
    let url = |v: &Validator, k: &str, s: &str| url(v, key, d, k, s);
    let mut documents: [Option<Value>; DOCUMENTS] = Default::default();
    let server = server(v, key, d).transpose();
    documents[Document::Server as usize] = server.and_then(|r| v.collect(r));
    if let Some(c) = &d.client {
        let r = client::client(v, key, d, c, &url);
        documents[Document::Client as usize] = v.collect(r);
    }
    if let Some(t) = &d.element {
        let r = client::element(v, key, d, t);
        documents[Document::Element as usize] = v.collect(r);
    }
    if let Some(s) = &d.support {
        let r = support(v, key, s, &url);
        documents[Document::Support as usize] = v.collect(r);
    }
    if let Some(p) = &d.policy_server {
        let r = policy_server(v, key, &p.ed25519);
        documents[Document::PolicyServer as usize] = v.collect(r);
    }
    documents
}

/// `{"m.server": ...}`, if `server` is set.
fn server(v: &mut Validator, key: &str, d: &DomainFile) -> Result<Option<Value>, Error> {
    let Some(s) = &d.server else {
        return Ok(None);
    };
    let k = format!("{key}.server");
    if let Some(c) = d
        .client
        .as_ref()
        .filter(|c| s.contains("://") && !c.homeserver.contains("://") && !c.homeserver.is_empty())
    {
        return Err(v.err(
            k,
            format!(
                "`{s}` and client.homeserver `{}` look swapped: `server` takes a host and port \
                 (m.server), `homeserver` the https:// URL clients use",
                c.homeserver
            ),
        ));
    }
    let hp = v.check(&k, names::server_name(s))?;
    if hp.port.is_none() {
        v.warn(&k, format!("`{s}` has no port: remote servers will look up SRV records for it, then connect to port 8448; write `{s}:443` if it listens on 443"));
    }
    Ok(Some(json!({ "m.server": s })))
}

fn policy_server(v: &mut Validator, key: &str, ed25519: &str) -> Result<Value, Error> {
    let k = format!("{key}.policy_server.ed25519");
    let (bytes, url_safe) = v.check(
        &k,
        crate::base64::decode_either(ed25519).map_err(|e| format!("`{ed25519}` {e}")),
    )?;
    if let Some(standard) = url_safe {
        v.warn(&k, format!("`{ed25519}` uses the URL-safe alphabet (`-`, `_`), as the spec's example does; some consumers expect standard base64, which is `{standard}`"));
    }
    if bytes.len() != 32 {
        return Err(v.err(
            k,
            format!(
                "decodes to {} bytes; an ed25519 public key is 32",
                bytes.len()
            ),
        ));
    }
    Ok(json!({ "public_keys": { "ed25519": ed25519 } }))
}

pub(super) type UrlCheck<'a> = dyn Fn(&Validator, &str, &str) -> Result<String, Error> + 'a;

fn support(v: &mut Validator, key: &str, s: &SupportFile, url: &UrlCheck) -> Result<Value, Error> {
    let mut doc = Map::new();
    if s.contacts.is_empty() && s.page.is_none() {
        return Err(v.err(
            format!("{key}.support"),
            "needs `page` or at least one [[contacts]]: an empty support document is invalid",
        ));
    }
    let mut contacts = Vec::with_capacity(s.contacts.len());
    for (i, c) in s.contacts.iter().enumerate() {
        let k = format!("{key}.support.contacts[{i}]");
        role(v, &format!("{k}.role"), &c.role)?;
        let mut contact = Map::new();
        contact.insert("role".into(), c.role.clone().into());
        if let Some(id) = &c.matrix_id {
            v.check(&format!("{k}.matrix_id"), names::user_id(id))?;
            contact.insert("matrix_id".into(), id.clone().into());
        }
        if let Some(mail) = &c.email_address {
            v.check(&format!("{k}.email_address"), names::email(mail))?;
            contact.insert("email_address".into(), mail.clone().into());
        }
        if contact.len() == 1 {
            return Err(v.err(k, "needs `matrix_id` or `email_address`"));
        }
        extras(v, &format!("{k}.extra"), &c.extra, &mut contact)?;
        contacts.push(Value::Object(contact));
    }
    if !contacts.is_empty() {
        doc.insert("contacts".into(), Value::Array(contacts));
    }
    if let Some(p) = &s.page {
        doc.insert("support_page".into(), url(v, "support.page", p)?.into());
    }
    extras(v, &format!("{key}.support.extra"), &s.extra, &mut doc)?;
    Ok(Value::Object(doc))
}

/// The spec's roles are `m.role.admin` and `m.role.security`; newer `m.role.` ones
/// (`m.role.moderator`, MSC4121) are served already, so they warn; anyone else's need a
/// namespace of their own.
fn role(v: &mut Validator, k: &str, role: &str) -> Result<(), Error> {
    if ["m.role.admin", "m.role.security"].contains(&role) {
        return Ok(());
    }
    if role.starts_with("m.role.") && role.len() > "m.role.".len() {
        v.warn(k, format!("`{role}` is not a role of the spec yet (m.role.admin, m.role.security): clients that do not know it may show it as unknown"));
        return Ok(());
    }
    if role.starts_with("m.") || !role.contains('.') {
        return Err(v.err(k, format!("`{role}` is not `m.role.admin`, `m.role.security` or a namespaced role like `org.example.moderator`")));
    }
    Ok(())
}

/// Namespaced keys copied into `into` as JSON, like the client document's extras.
fn extras(
    v: &Validator,
    k: &str,
    extra: &toml::Table,
    into: &mut Map<String, Value>,
) -> Result<(), Error> {
    for (name, value) in extra {
        let k = format!("{k}.\"{name}\"");
        if !name.contains('.') {
            return Err(v.err(
                k,
                format!("`{name}` is not namespaced: extra keys look like `org.example.{name}`"),
            ));
        }
        into.insert(name.clone(), v.check(&k, json::from_toml(value, &k))?);
    }
    Ok(())
}

/// `[[domain.file]]`: paths under `/.well-known/` of their own, each a JSON object. A file
/// with an error is left out, its error kept in `v`.
pub(super) fn files(v: &mut Validator, key: &str, d: &DomainFile) -> Vec<(String, Value)> {
    let mut files: Vec<(String, Value)> = Vec::with_capacity(d.file.len());
    for (i, f) in d.file.iter().enumerate() {
        let k = format!("{key}.file[{i}]");
        let path = &f.path;
        let checked = file_path(key, path, &files)
            .map_err(|why| v.err(format!("{k}.path"), format!("`{path}` {why}")))
            .and_then(|()| {
                let at = format!("{k}.json");
                v.check(
                    &at,
                    json::from_toml(&toml::Value::Table(f.json.clone()), &at),
                )
            });
        if let Some(json) = v.collect(checked) {
            files.push((path.clone(), json));
        }
    }
    files
}

/// Why `path` cannot be a `[[domain.file]]` beside `files`, if it cannot.
fn file_path(key: &str, path: &str, files: &[(String, Value)]) -> Result<(), String> {
    const PREFIX: &str = "/.well-known/";
    let odd = |c: char| c.is_whitespace() || c.is_control() || !c.is_ascii();
    if !path.starts_with(PREFIX) || path.len() == PREFIX.len() {
        return Err(
            "must be a path under /.well-known/, e.g. `/.well-known/matrix/mautrix`".into(),
        );
    }
    if path.contains(['?', '#', '%', '\\']) || path.chars().any(odd) {
        return Err(
            "must be a plain ASCII path, without query, fragment, escapes or spaces".into(),
        );
    }
    if path.ends_with('/') || path.split('/').any(|s| s == "." || s == "..") {
        return Err("must name a file: no trailing `/`, no `.` or `..` segments".into());
    }
    if let Some(doc) = Document::from_path(path) {
        return Err(format!(
            "is the {} document's path: configure it with `{key}.{}` instead",
            doc.name(),
            doc.name()
        ));
    }
    match files.iter().position(|(p, _)| p == path) {
        Some(j) => Err(format!("is already {key}.file[{j}]")),
        None => Ok(()),
    }
}
