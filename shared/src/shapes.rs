//! The shapes of the keys clients parse strictly, checked before anything is served: one
//! malformed optional key makes Element X (matrix-rust-sdk, through ruma) reject the whole
//! client document, so a value must have the type its reader expects. Used for the client
//! document's known extra keys and for element.json.

use std::fmt;

use crate::names;

/// A value without the shape its reader parses: where it is, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misshapen {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Misshapen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

fn misshapen(key: impl Into<String>, message: impl Into<String>) -> Misshapen {
    Misshapen {
        key: key.into(),
        message: message.into(),
    }
}

/// What a value must be.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// An absolute `https://` URL (`http://` with the domain's `allow_http_urls`).
    Url,
    Bool,
    Text,
    /// A colour as `#rrggbb`.
    Color,
    /// A whole number above 0.
    Positive,
    /// A table: these fields checked; other keys pass through (the readers ignore them).
    Table(&'static [Field]),
    /// MSC4143's list of MatrixRTC foci: tables with a string `type`; a `livekit` one needs
    /// `livekit_service_url` (ruma's `RtcTransport`, matrix-rust-sdk's `rtc_foci`).
    Foci,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
}

impl Field {
    pub const fn optional(name: &'static str, shape: Shape) -> Field {
        Field {
            name,
            shape,
            required: false,
        }
    }

    pub const fn required(name: &'static str, shape: Shape) -> Field {
        Field {
            name,
            shape,
            required: true,
        }
    }
}

/// Checks `value`, found at `key`, against `shape`.
pub fn check(
    key: &str,
    value: &toml::Value,
    shape: Shape,
    allow_http: bool,
) -> Result<(), Misshapen> {
    let wrong =
        |expected: &str| misshapen(key, format!("must be {expected}, not {}", describe(value)));
    match (shape, value) {
        (Shape::Url, toml::Value::String(s)) => {
            names::base_url(s, allow_http).map_err(|m| misshapen(key, m))?;
        }
        (Shape::Url, _) => return Err(wrong("an https:// URL in quotes")),
        (Shape::Bool, toml::Value::Boolean(_)) | (Shape::Text, toml::Value::String(_)) => {}
        (Shape::Bool, _) => return Err(wrong("true or false")),
        (Shape::Text, _) => return Err(wrong("a string")),
        (Shape::Color, toml::Value::String(s)) if is_color(s) => {}
        (Shape::Color, toml::Value::String(s)) => {
            return Err(misshapen(
                key,
                format!("`{s}` is not a colour written `#rrggbb`, e.g. `#0dbd8b`"),
            ));
        }
        (Shape::Color, _) => return Err(wrong("a colour written \"#rrggbb\"")),
        (Shape::Positive, toml::Value::Integer(n)) if *n > 0 => {}
        (Shape::Positive, _) => return Err(wrong("a whole number above 0")),
        (Shape::Table(fields), toml::Value::Table(t)) => {
            for f in fields {
                match t.get(f.name) {
                    Some(x) => check(&format!("{key}.{}", f.name), x, f.shape, allow_http)?,
                    None if f.required => {
                        return Err(misshapen(
                            key,
                            format!("missing `{}`: readers reject the table without it", f.name),
                        ));
                    }
                    None => {}
                }
            }
        }
        (Shape::Table(_), _) => return Err(wrong("a table")),
        (Shape::Foci, toml::Value::Array(list)) => {
            for (i, focus) in list.iter().enumerate() {
                self::focus(&format!("{key}[{i}]"), focus, allow_http)?;
            }
        }
        (Shape::Foci, _) => {
            return Err(wrong(
                "a list of tables, e.g. [{ type = \"livekit\", livekit_service_url = \"https://...\" }]",
            ));
        }
    }
    Ok(())
}

fn focus(key: &str, focus: &toml::Value, allow_http: bool) -> Result<(), Misshapen> {
    let Some(t) = focus.as_table() else {
        return Err(misshapen(
            key,
            format!("must be a table with a `type`, not {}", describe(focus)),
        ));
    };
    match t.get("type") {
        None => Err(misshapen(
            key,
            "missing `type` (a string such as \"livekit\"): Element X rejects the whole client document without it",
        )),
        Some(toml::Value::String(kind)) if kind == "livekit" => {
            const LIVEKIT: &[Field] = &[Field::required("livekit_service_url", Shape::Url)];
            check(key, focus, Shape::Table(LIVEKIT), allow_http)
        }
        Some(toml::Value::String(_)) => Ok(()),
        Some(other) => Err(misshapen(
            format!("{key}.type"),
            format!("must be a string, not {}", describe(other)),
        )),
    }
}

fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A value's type as a user wrote it, for "must be X, not Y".
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string \"{s}\""),
        toml::Value::Integer(n) => format!("the number {n}"),
        toml::Value::Float(f) => format!("the number {f}"),
        toml::Value::Boolean(b) => format!("{b}"),
        toml::Value::Datetime(d) => format!("the date {d}"),
        toml::Value::Array(_) => "a list".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}

/// The keys of element.json that Element X reads (element-x-android's
/// `InternalElementWellKnown.kt`, element-x-ios's `ElementWellKnown.swift`).
pub const ELEMENT_KEYS: &[Field] = &[
    Field::optional("registration_helper_url", Shape::Url),
    Field::optional("rageshake_url", Shape::Url),
    Field::optional("content_scanner_url", Shape::Url),
    Field::optional(
        "call",
        Shape::Table(&[Field::optional("widget_url", Shape::Url)]),
    ),
    Field::optional("brand_color", Shape::Color),
    Field::optional("enforce_element_pro", Shape::Bool),
    Field::optional("force_disable_e2ee", Shape::Bool),
    Field::optional("notification_sound", Shape::Text),
    Field::optional("idp_app_scheme", Shape::Text),
    Field::optional(
        "custom_recovery_passphrase",
        Shape::Table(&[Field::required("min_character_count", Shape::Positive)]),
    ),
];

/// element.json as served by anyone, checked by the rules the daemon's `[domain.element]`
/// is (for the probe): the problem with the first key Element X would misread, if any.
pub fn element_json(value: &serde_json::Value) -> Result<(), String> {
    let table = toml::Value::try_from(value).map_err(|_| {
        "has a value TOML cannot hold (null?), which Element X cannot read either".to_owned()
    })?;
    check("element.json", &table, Shape::Table(ELEMENT_KEYS), false).map_err(|m| m.to_string())
}
