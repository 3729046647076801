//! `/.well-known/matrix/client` and Element's `element.json`: built from `[domain.client]`
//! and `[domain.element]`, with every key that a client parses strictly checked for the shape
//! it parses (see [`super::shapes`]).

use serde_json::{Map, Value, json};

use super::documents::UrlCheck;
use super::error::Error;
use super::file::{ClientFile, DomainFile};
use super::json;
use super::names;
use super::validator::Validator;
use wellknownd_shared::shapes::{self, ELEMENT_KEYS, Field, Shape};

/// Client keys that clients have stopped reading, or read only under an old name.
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
        "a Riot-era name: Element Web still reads `im.vector.riot.jitsi` and `im.vector.riot.e2ee` \
         as fallbacks, Element X only the `io.element.` names; serve `io.element.` (both if you \
         must support old Element Web)",
    ),
];

const TILE_SERVER: Shape = Shape::Table(&[Field::required("map_style_url", Shape::Url)]);
const E2EE: Shape = Shape::Table(&[
    Field::optional("default", Shape::Bool),
    Field::optional("force_disable", Shape::Bool),
]);
const JITSI: Shape = Shape::Table(&[Field::optional("preferredDomain", Shape::Text)]);

/// The extra keys readers parse, with the shape they need. ruma parses the first two pairs
/// (matrix-rust-sdk: `tile_server`, `rtc_foci`); Element Web the e2ee and Jitsi ones.
const KNOWN_CLIENT_KEYS: [(&str, Shape); 8] = [
    ("org.matrix.msc4143.rtc_foci", Shape::Foci),
    ("m.rtc_foci", Shape::Foci),
    ("org.matrix.msc3488.tile_server", TILE_SERVER),
    ("m.tile_server", TILE_SERVER),
    ("io.element.e2ee", E2EE),
    ("im.vector.riot.e2ee", E2EE),
    ("io.element.jitsi", JITSI),
    ("im.vector.riot.jitsi", JITSI),
];

/// A stable name and its unstable alias: ruma reads them as one field (serde `alias`), so a
/// document with both fails with "duplicate field" (measured with matrix-sdk 0.18).
const ONE_FIELD: [(&str, &str); 2] = [
    ("m.rtc_foci", "org.matrix.msc4143.rtc_foci"),
    ("m.tile_server", "org.matrix.msc3488.tile_server"),
];

pub(super) fn client(
    v: &mut Validator,
    key: &str,
    d: &DomainFile,
    c: &ClientFile,
    url: &UrlCheck,
) -> Result<Value, Error> {
    let mut doc = Map::new();
    let base_url = |v: &mut Validator, field: &str, s: &str| {
        let u = url(v, field, s)?;
        for_clients(v, &format!("{key}.{field}"), &u)?;
        Ok::<_, Error>(u)
    };
    doc.insert(
        "m.homeserver".into(),
        json!({ "base_url": base_url(v, "client.homeserver", &c.homeserver)? }),
    );
    if let Some(is) = &c.identity_server {
        doc.insert(
            "m.identity_server".into(),
            json!({ "base_url": base_url(v, "client.identity_server", is)? }),
        );
    }
    for (name, value) in &c.extra {
        let k = format!("{key}.client.extra.\"{name}\"");
        extra_key(v, &k, name, value, d.allow_http_urls)?;
        if let Some((stable, unstable)) = ONE_FIELD
            .iter()
            .find(|(s, _)| s == name)
            .filter(|(_, u)| c.extra.contains_key(*u))
        {
            return Err(v.err(
                k,
                format!(
                    "set together with \"{unstable}\": matrix-rust-sdk reads both names as one \
                     field and rejects the document (\"duplicate field\"); keep only \"{stable}\""
                ),
            ));
        }
        doc.insert(name.clone(), v.check(&k, json::from_toml(value, &k))?);
    }
    Ok(Value::Object(doc))
}

/// A base URL clients will append API paths to: not one that already ends in `/_matrix`, and
/// a warning for port 8448, which is usually federation's alone.
fn for_clients(v: &mut Validator, k: &str, url: &str) -> Result<(), Error> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    if let Some(base) = names::without_matrix_suffix(url) {
        return Err(v.err(k, format!("`{url}` ends in /_matrix: clients append /_matrix/client/... themselves; write `{base}`")));
    }
    if authority.ends_with(":8448") {
        v.warn(k, format!("`{url}` uses port 8448, usually federation's port alone: clients reach the client-server API where Synapse's client listener is, usually https on 443"));
    }
    Ok(())
}

/// One `[domain.client.extra]` key: namespaced, not one built from other keys, and of the
/// shape its readers parse when they parse it.
fn extra_key(
    v: &mut Validator,
    k: &str,
    name: &str,
    value: &toml::Value,
    allow_http: bool,
) -> Result<(), Error> {
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
        v.warn(k, format!("deprecated: {why}"));
    }
    if let Some((_, shape)) = KNOWN_CLIENT_KEYS.iter().find(|(n, _)| *n == name) {
        shapes::check(k, value, *shape, allow_http).map_err(|m| v.err(m.key, m.message))?;
    }
    Ok(())
}

/// `[domain.element]` as element.json: the keys Element X reads checked, others served with a
/// warning (a key of a newer Element, or a typo).
pub(super) fn element(
    v: &mut Validator,
    key: &str,
    d: &DomainFile,
    table: &toml::Table,
) -> Result<Value, Error> {
    let k = format!("{key}.element");
    let value = toml::Value::Table(table.clone());
    shapes::check(&k, &value, Shape::Table(ELEMENT_KEYS), d.allow_http_urls)
        .map_err(|m| v.err(m.key, m.message))?;
    for name in table.keys() {
        if !ELEMENT_KEYS.iter().any(|f| f.name == name) {
            let known: Vec<&str> = ELEMENT_KEYS.iter().map(|f| f.name).collect();
            v.warn(
                &format!("{k}.{name}"),
                format!(
                    "not a key Element X reads ({}); served as it is",
                    known.join(", ")
                ),
            );
        }
    }
    v.check(&k, json::from_toml(&value, &k))
}
