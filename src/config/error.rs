//! Why a config (or a certificate it names) cannot be used: the one error type of `config`,
//! whose messages name the file and the key.

use std::fmt;
use std::path::PathBuf;

/// Why a config (or a certificate it names) cannot be used.
#[derive(Debug)]
pub enum Error {
    /// The file could not be read at all.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
    /// Well-formed, but a value is wrong; `key` is its path, e.g. `domain[0].server`.
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read { path, source } => {
                write!(f, "{}: cannot read: {source}", path.display())
            }
            Error::Parse {
                path,
                line,
                column,
                key,
                message,
            } => {
                write!(f, "{}:{line}:{column}: ", path.display())?;
                if !key.is_empty() {
                    write!(f, "{key}: ")?;
                }
                f.write_str(message)
            }
            Error::Invalid { path, key, message } => {
                write!(f, "{}: {key}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for Error {}
