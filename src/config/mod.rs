//! Reading the config: [`mod@file`] is the TOML as written, `validate` checks it and builds the
//! [`model`], in which every document is already JSON. Errors name the file, the key and what
//! to write instead.

pub mod acme;
mod client;
mod documents;
mod error;
pub mod file;
mod json;
pub mod model;
pub mod names;
pub mod net;
mod serving;
mod shapes;
mod validate;
mod validator;

use std::path::Path;

pub use error::Error;
pub use model::{
    Acme, Challenge, Config, Document, Domain, Health, Limits, ListenAddr, ListenOptions, Loaded,
    TlsPaths,
};

/// Where the daemon looks for its config when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/wellknownd/config.toml";

/// Reads, parses and validates the file at `path`. Certificates are not read here.
pub fn load(path: &Path) -> Result<Loaded, Error> {
    load_with(path, None)
}

/// [`load`], with relative certificate paths looked up in `credentials` (as the service
/// finds them in `$CREDENTIALS_DIRECTORY`).
pub fn load_with(path: &Path, credentials: Option<&Path>) -> Result<Loaded, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_with(path, &text, credentials)
}

/// Parses and validates `text` as if read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Loaded, Error> {
    parse_with(path, text, None)
}

fn parse_with(path: &Path, text: &str, credentials: Option<&Path>) -> Result<Loaded, Error> {
    let parse_error = |key: String, e: toml::de::Error| {
        let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
        let mut message = e.message().trim().replace('\n', " ");
        if let Some(known) = error::did_you_mean(&message) {
            message.push_str(&format!("; did you mean `{known}`?"));
        }
        Error::Parse {
            path: path.to_owned(),
            line,
            column,
            key,
            message,
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| parse_error(String::new(), e))?;
    let file: file::ConfigFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        parse_error(if key == "." { String::new() } else { key }, e.into_inner())
    })?;
    validate::validate(path, file, credentials)
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}
