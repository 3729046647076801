//! What every validation step shares: the file being read (for error messages) and the
//! warnings collected so far. A leaf of `config`: `validate`, `documents` and `serving` use
//! it, and it uses none of them.

use std::path::{Path, PathBuf};

use super::error::Error;

pub(super) struct Validator<'a> {
    pub(super) path: &'a Path,
    pub(super) warnings: Vec<String>,
    /// Where relative certificate paths are looked up instead of next to the config, as
    /// `$CREDENTIALS_DIRECTORY` under systemd (`check --credentials DIR` names it).
    pub(super) credentials: Option<PathBuf>,
    /// Every error found so far: validation goes on after one, so a run reports them all.
    pub(super) errors: Vec<Error>,
}

impl<'a> Validator<'a> {
    pub(super) fn new(path: &'a Path, credentials: Option<PathBuf>) -> Validator<'a> {
        Validator {
            path,
            warnings: Vec::new(),
            credentials,
            errors: Vec::new(),
        }
    }

    /// The value, or `None` with the error kept for the report.
    pub(super) fn collect<T>(&mut self, r: Result<T, Error>) -> Option<T> {
        r.map_err(|e| self.errors.push(e)).ok()
    }

    pub(super) fn err(&self, key: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: self.path.to_owned(),
            key: key.into(),
            message: message.into(),
        }
    }

    pub(super) fn warn(&mut self, key: &str, message: impl std::fmt::Display) {
        self.warnings.push(format!("{key}: {message}"));
    }

    /// Runs a grammar check from [`super::names`], turning its message into an error at `key`.
    pub(super) fn check<T>(&self, key: &str, r: Result<T, String>) -> Result<T, Error> {
        r.map_err(|m| self.err(key, m))
    }
}
