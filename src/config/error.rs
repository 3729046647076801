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
    /// Several of the above, one line each, in the order of the file.
    Many(Vec<Error>),
}

impl Error {
    /// `errors` as one error: the only one, or all of them (none: not an error to make).
    pub(super) fn all(mut errors: Vec<Error>) -> Error {
        match errors.len() {
            1 => errors.remove(0),
            _ => Error::Many(errors),
        }
    }

    /// Each error this is, one per line.
    pub(super) fn into_list(self) -> Vec<Error> {
        match self {
            Error::Many(all) => all,
            e => vec![e],
        }
    }

    /// How many lines (errors) this is.
    pub fn count(&self) -> usize {
        match self {
            Error::Many(all) => all.len(),
            _ => 1,
        }
    }
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
            Error::Many(all) => {
                for (i, e) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    e.fmt(f)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {}

/// For serde's "unknown field `x`, expected one of `a`, `b`": the known name `x` is a typo of
/// (at most two edits away, or differing only in case), if one is.
pub(super) fn did_you_mean(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, expected) = rest.split_once('`')?;
    let unknown = unknown.to_ascii_lowercase();
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|known| (edits(&unknown, known), known))
        .filter(|(n, _)| *n <= 2)
        .min_by_key(|(n, _)| *n)
        .map(|(_, known)| known)
}

/// Levenshtein distance, with a swap of two neighbours counted as one edit.
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_the_close_known_name() {
        let m =
            "unknown field `homeservr`, expected one of `homeserver`, `identity_server`, `extra`";
        assert_eq!(did_you_mean(m), Some("homeserver"));
        let m = "unknown field `domian`, expected one of `listen`, `domain`, `tls`";
        assert_eq!(did_you_mean(m), Some("domain"));
        let m = "unknown field `colour`, expected one of `name`, `server`";
        assert_eq!(did_you_mean(m), None);
        assert_eq!(did_you_mean("invalid type: string"), None);
    }
}
