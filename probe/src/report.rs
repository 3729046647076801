//! The probe's findings: named checks with a status, a one-line detail and, for what fails,
//! a hint in the operator's terms; printed for people or as JSON (schema in README).

use std::fmt::Write;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not run because what it needs failed first.
    Skip,
    Pass,
    Warn,
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Skip => "SKIP",
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }

    /// ANSI colour: green, yellow, red, grey.
    fn colour(self) -> &'static str {
        match self {
            Status::Skip => "\x1b[90m",
            Status::Pass => "\x1b[32m",
            Status::Warn => "\x1b[33m",
            Status::Fail => "\x1b[1;31m",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: String,
    pub group: &'static str,
    pub status: Status,
    pub detail: String,
    pub hint: Option<String>,
}

impl Check {
    pub fn new(
        group: &'static str,
        id: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
    ) -> Check {
        Check {
            id: id.into(),
            group,
            status,
            detail: detail.into(),
            hint: None,
        }
    }

    pub fn pass(group: &'static str, id: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(group, id, Status::Pass, detail)
    }

    /// Not run: `why` names what it needed.
    pub fn skip(group: &'static str, id: impl Into<String>, why: impl Into<String>) -> Check {
        Check::new(group, id, Status::Skip, why)
    }

    pub fn warn(
        group: &'static str,
        id: impl Into<String>,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check::new(group, id, Status::Warn, detail).hint(hint)
    }

    pub fn fail(
        group: &'static str,
        id: impl Into<String>,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check::new(group, id, Status::Fail, detail).hint(hint)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Check {
        self.hint = Some(hint.into());
        self
    }
}

/// The section titles of the human output, in order; a check's `group` is one of the keys.
pub const GROUPS: [(&str, &str); 6] = [
    ("well-known", "Well-known documents"),
    ("cors", "Browsers (CORS)"),
    ("addresses", "Every address"),
    ("federation", "Federation"),
    ("client", "Client API"),
    ("probe", "The probe's options"),
];

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Version of this JSON layout; bumped only on incompatible changes.
    pub schema: u32,
    pub domain: String,
    pub verdict: Status,
    /// The federation resolution steps, in the order a remote server takes them.
    pub federation_path: Vec<String>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(domain: &str, federation_path: Vec<String>, checks: Vec<Check>) -> Report {
        let verdict = checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Pass)
            .max(Status::Pass);
        Report {
            schema: 1,
            domain: domain.to_owned(),
            verdict,
            federation_path,
            checks,
        }
    }

    /// 0 when nothing failed (warnings allowed), 1 when anything did.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.verdict == Status::Fail)
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// Grouped and aligned; with `colour`, statuses in ANSI colour.
    pub fn human(&self, colour: bool) -> String {
        let paint = |s: Status| match colour {
            true => format!("{}{}\x1b[0m", s.colour(), s.label()),
            false => s.label().to_owned(),
        };
        let width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
        let mut out = format!("wellknownd probe {}\n", self.domain);
        for (group, title) in GROUPS {
            let checks: Vec<&Check> = self.checks.iter().filter(|c| c.group == group).collect();
            if checks.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{title}");
            if group == "federation" {
                for step in &self.federation_path {
                    let _ = writeln!(out, "  {:4}  {step}", "path");
                }
            }
            for c in checks {
                let _ = writeln!(out, "  {}  {:width$}  {}", paint(c.status), c.id, c.detail);
                if let Some(hint) = &c.hint {
                    let _ = writeln!(out, "  {:4}  {:width$}  hint: {hint}", "", "");
                }
            }
        }
        let (fail, warn, pass) = (
            self.count(Status::Fail),
            self.count(Status::Warn),
            self.count(Status::Pass),
        );
        let verdict = match self.verdict {
            Status::Fail => format!("{fail} failed: fix the FAIL lines above"),
            Status::Warn => format!("works, with {warn} warnings"),
            _ => "everything checked works".to_owned(),
        };
        let _ = writeln!(
            out,
            "\n{}  {}: {verdict} ({pass} passed, {warn} warnings, {fail} failed)",
            paint(self.verdict),
            self.domain
        );
        out
    }
}
