//! The four documents of a `[[domain]]`, built as JSON from checked values.

use serde_json::{Map, Value, json};

use super::error::Error;
use super::file::{ClientFile, DomainFile, SupportFile};
use super::model::Document;
use super::validator::Validator;
use super::{json, names};

/// Client keys that clients have stopped reading; serving them only confuses.
const DEPRECATED_CLIENT_KEYS: [(&str, &str); 3] = [
    (
        "org.matrix.msc3575.proxy",
        "the sliding-sync proxy is archived; Synapse serves sliding sync natively",
    ),
    (
        "org.matrix.msc2965.authentication",
        "replaced by /_matrix/client/v1/auth_metadata",
    ),
    (
        "im.vector.riot.",
        "Riot-era keys are ignored by current Element",
    ),
];

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

/// Every configured document of domain `d` (at `key`), indexed by `Document as usize`.
pub(super) fn build(
    v: &mut Validator,
    key: &str,
    d: &DomainFile,
) -> Result<[Option<Value>; 4], Error> {
    let url = |v: &Validator, k: &str, s: &str| url(v, key, d, k, s);
    let mut documents: [Option<Value>; 4] = Default::default();
    if let Some(s) = &d.server {
        let k = format!("{key}.server");
        let hp = v.check(&k, names::server_name(s))?;
        if hp.port.is_none() {
            v.warn(&k, format!("`{s}` has no port: remote servers will look up SRV records for it, then connect to port 8448; write `{s}:443` if it listens on 443"));
        }
        documents[Document::Server as usize] = Some(json!({ "m.server": s }));
    }
    if let Some(c) = &d.client {
        documents[Document::Client as usize] = Some(client(v, key, c, &url)?);
    }
    if let Some(s) = &d.support {
        documents[Document::Support as usize] = Some(support(v, key, s, &url)?);
    }
    if let Some(p) = &d.policy_server {
        let k = format!("{key}.policy_server.ed25519");
        let bytes = v.check(
            &k,
            crate::base64::decode(&p.ed25519).map_err(|e| format!("`{}` {e}", p.ed25519)),
        )?;
        if bytes.len() != 32 {
            return Err(v.err(
                k,
                format!(
                    "decodes to {} bytes; an ed25519 public key is 32",
                    bytes.len()
                ),
            ));
        }
        documents[Document::PolicyServer as usize] =
            Some(json!({ "public_keys": { "ed25519": p.ed25519 } }));
    }
    Ok(documents)
}

type UrlCheck<'a> = dyn Fn(&Validator, &str, &str) -> Result<String, Error> + 'a;

fn client(v: &mut Validator, key: &str, c: &ClientFile, url: &UrlCheck) -> Result<Value, Error> {
    let mut doc = Map::new();
    doc.insert(
        "m.homeserver".into(),
        json!({ "base_url": url(v, "client.homeserver", &c.homeserver)? }),
    );
    if let Some(is) = &c.identity_server {
        doc.insert(
            "m.identity_server".into(),
            json!({ "base_url": url(v, "client.identity_server", is)? }),
        );
    }
    for (name, value) in &c.extra {
        let k = format!("{key}.client.extra.\"{name}\"");
        if name == "m.homeserver" || name == "m.identity_server" {
            return Err(v.err(
                k,
                format!("`{name}` is built from `homeserver`/`identity_server`; set it there"),
            ));
        }
        if !name.contains('.') {
            return Err(v.err(
                k,
                format!("`{name}` is not namespaced: extra keys look like `org.example.{name}`"),
            ));
        }
        if let Some((_, why)) = DEPRECATED_CLIENT_KEYS
            .iter()
            .find(|(p, _)| name.starts_with(p))
        {
            v.warn(&k, format!("deprecated: {why}"));
        }
        doc.insert(name.clone(), v.check(&k, json::from_toml(value, &k))?);
    }
    Ok(Value::Object(doc))
}

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
        let known = ["m.role.admin", "m.role.security"].contains(&c.role.as_str());
        if !known && (c.role.starts_with("m.") || !c.role.contains('.')) {
            return Err(v.err(format!("{k}.role"), format!("`{}` is not `m.role.admin`, `m.role.security` or a namespaced role like `org.example.moderator`", c.role)));
        }
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
        contacts.push(Value::Object(contact));
    }
    if !contacts.is_empty() {
        doc.insert("contacts".into(), Value::Array(contacts));
    }
    if let Some(p) = &s.page {
        doc.insert("support_page".into(), url(v, "support.page", p)?.into());
    }
    Ok(Value::Object(doc))
}
