//! What the ACME client did and plans, per domain, written to `state_dir/status.json` after
//! every change. The server reads it for `STATUS=`, the metrics and `check`, which works the
//! same whether the client runs in the daemon or as `wellknownd acme` beside it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The CA's directory URL.
    pub directory: String,
    pub domains: BTreeMap<String, DomainStatus>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainStatus {
    /// `notBefore` of the certificate in `state_dir`, seconds since the epoch.
    pub issued: Option<i64>,
    pub expires: Option<i64>,
    /// When the next order is due (renewal, or the next retry after a failure).
    pub next_attempt: Option<i64>,
    /// The last attempt's error, cleared by a success.
    pub last_error: Option<String>,
    /// Orders that ended with a certificate, and that failed, since the state was created.
    pub orders_ok: u64,
    pub orders_failed: u64,
}

impl Status {
    /// The status in `path`; a missing or unreadable file is an empty status.
    pub fn read(path: &Path) -> Status {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        super::store::write_atomic(path, &json)
    }
}
