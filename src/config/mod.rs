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
pub use wellknownd_shared::names;
pub mod net;
mod parse;
mod serving;
mod validate;
mod validator;

use std::path::Path;

pub use error::Error;
pub use model::{
    Acme, Challenge, Config, Document, Domain, Health, KeyType, Limits, ListenAddr, ListenOptions,
    Loaded, TlsPaths,
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
    let (file, mut errors) = parse::file(path, text);
    let Some(file) = file else {
        return Err(Error::all(errors));
    };
    match validate::validate(path, file, credentials) {
        Ok(loaded) if errors.is_empty() => Ok(loaded),
        Ok(_) => Err(Error::all(errors)),
        Err(e) => {
            errors.extend(e.into_list());
            Err(Error::all(errors))
        }
    }
}
