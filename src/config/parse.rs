//! From TOML text to [`ConfigFile`], naming every unknown key in one run: serde stops at the
//! first, so each one found is taken out and the rest read again. The config that remains
//! still goes through validation, so its errors are reported in the same run.

use std::path::Path;

use serde_path_to_error::Segment;

use super::error::{self, Error};
use super::file::ConfigFile;

/// How many unknown keys one run names before it gives up on the rest.
const MAX_UNKNOWN: usize = 50;

/// The file as read, with every unknown key taken out, and the errors: `None` when it could
/// not be read at all (TOML syntax, a wrong type).
pub(super) fn file(path: &Path, text: &str) -> (Option<ConfigFile>, Vec<Error>) {
    let de = match toml::Deserializer::parse(text) {
        Ok(de) => de,
        Err(e) => return (None, vec![parse_error(path, text, String::new(), e)]),
    };
    let mut result = serde_path_to_error::deserialize::<_, ConfigFile>(de);
    let mut errors = Vec::new();
    let mut table: Option<toml::Table> = None;
    for _ in 0..MAX_UNKNOWN {
        let e = match result {
            Ok(file) => return (Some(file), by_line(errors)),
            Err(e) => e,
        };
        let segments: Vec<Segment> = e.path().iter().cloned().collect();
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        let unknown = e.inner().message().starts_with("unknown field");
        errors.push(parse_error(path, text, key, e.into_inner()));
        // The text parsed as TOML above, so it parses as a table here.
        let table = table.get_or_insert_with(|| toml::from_str(text).unwrap_or_default());
        if !unknown || !remove(table, &segments) {
            return (None, by_line(errors));
        }
        result = serde_path_to_error::deserialize(toml::Value::Table(table.clone()));
    }
    (None, by_line(errors))
}

/// In the order of the file (they were found in serde's order).
fn by_line(mut errors: Vec<Error>) -> Vec<Error> {
    errors.sort_by_key(|e| match e {
        Error::Parse { line, column, .. } => (*line, *column),
        _ => (usize::MAX, 0),
    });
    errors
}

/// The line of `key` (the last part of a key path) when the text holds it once, as
/// `key = ...` or in a table header: where TOML no longer says (the table was read again).
fn line_of(text: &str, key: &str) -> Option<usize> {
    let key = key.rsplit('.').next()?;
    let key = key.split('[').next()?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| {
        let l = l.trim_start();
        let header =
            l.starts_with('[') && l.trim_end_matches(']').rsplit(['.', '[']).next() == Some(key);
        header
            || l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
    });
    match (lines.next(), lines.next()) {
        (Some((i, _)), None) => Some(i + 1),
        _ => None,
    }
}

/// Takes the key at `path` out of `table`; false if it is not there.
fn remove(table: &mut toml::Table, path: &[Segment]) -> bool {
    let Some((Segment::Map { key }, parents)) = path.split_last() else {
        return false;
    };
    let mut at = table;
    let mut segments = parents.iter();
    while let Some(segment) = segments.next() {
        let Segment::Map { key } = segment else {
            return false;
        };
        let next = match (at.get_mut(key), segments.as_slice().first()) {
            (Some(toml::Value::Array(a)), Some(Segment::Seq { index })) => {
                segments.next();
                a.get_mut(*index)
            }
            (value, _) => value,
        };
        let Some(toml::Value::Table(t)) = next else {
            return false;
        };
        at = t;
    }
    at.remove(key).is_some()
}

/// A parse error with the line where TOML knows it (the first one; after a key was taken out,
/// only the key path is known), and a guess at the key meant.
fn parse_error(path: &Path, text: &str, key: String, e: toml::de::Error) -> Error {
    let mut message = e.message().trim().replace('\n', " ");
    if let Some(known) = error::did_you_mean(&message) {
        message.push_str(&format!("; did you mean `{known}`?"));
    }
    let at = e
        .span()
        .map(|span| line_column(text, span.start))
        .or_else(|| line_of(text, &key).map(|line| (line, 1)));
    match at {
        Some((line, column)) => Error::Parse {
            path: path.to_owned(),
            line,
            column,
            key,
            message,
        },
        None => Error::Invalid {
            path: path.to_owned(),
            key,
            message,
        },
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}
