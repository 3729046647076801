//! Turns TOML values from `[domain.client.extra]` into the JSON they are served as.

use serde_json::{Map, Number, Value};

/// Converts `v`, naming the offending key (`at`) when a value has no JSON form.
pub fn from_toml(v: &toml::Value, at: &str) -> Result<Value, String> {
    Ok(match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::Number((*i).into()),
        toml::Value::Float(f) => Value::Number(
            Number::from_f64(*f).ok_or_else(|| format!("{at}: {f} has no JSON form"))?,
        ),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => {
            return Err(format!(
                "{at}: TOML date-time {d} has no JSON form: quote it as a string"
            ));
        }
        toml::Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| from_toml(x, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, x)| Ok((k.clone(), from_toml(x, &format!("{at}.{k}"))?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
    })
}
