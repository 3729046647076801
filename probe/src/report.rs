//! The probe's findings: named checks with a status, a one-line detail and, for what fails,
//! a hint in the operator's terms; printed for people or as JSON (schema in README).

use std::fmt::Write;

use serde::Serialize;

use crate::consumers::Verdict;

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

/// The version of the JSON layout (README, "The `--json` report"): a field may be added
/// without changing it (`consumers` was); removing or changing one bumps it.
pub const SCHEMA: u32 = 1;

/// The title of the verdicts' section of the human output, after the checks.
pub const CONSUMERS: &str = "Who accepts it (each consumer's own rules)";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: u32,
    pub domain: String,
    /// The worst status of the checks and the consumers' verdicts.
    pub verdict: Status,
    /// The federation resolution steps, in the order a remote server takes them.
    pub federation_path: Vec<String>,
    pub checks: Vec<Check>,
    /// Each consumer's verdict on what was fetched ([`crate::consumers`]).
    pub consumers: Vec<Verdict>,
}

impl Report {
    pub fn new(
        domain: &str,
        federation_path: Vec<String>,
        checks: Vec<Check>,
        consumers: Vec<Verdict>,
    ) -> Report {
        let statuses = checks.iter().map(|c| c.status);
        let verdict = statuses
            .chain(consumers.iter().map(|v| v.status))
            .max()
            .unwrap_or(Status::Pass)
            .max(Status::Pass);
        Report {
            schema: SCHEMA,
            domain: domain.to_owned(),
            verdict,
            federation_path,
            checks,
            consumers,
        }
    }

    /// 0 when nothing failed (warnings allowed), 1 when anything did.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.verdict == Status::Fail)
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Checks and verdicts with `status`.
    fn count(&self, status: Status) -> usize {
        let verdicts = self.consumers.iter().map(|v| v.status);
        let all = self.checks.iter().map(|c| c.status).chain(verdicts);
        all.filter(|s| *s == status).count()
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
            let lines = checks
                .iter()
                .map(|c| (c.status, &*c.id, &*c.detail, &c.hint));
            rows(&mut out, &paint, width, lines);
        }
        if !self.consumers.is_empty() {
            let _ = writeln!(out, "\n{CONSUMERS}");
            let lines = self
                .consumers
                .iter()
                .map(|v| (v.status, v.id, &*v.detail, &v.hint));
            rows(&mut out, &paint, width, lines);
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

/// Status, id and detail aligned in columns, each hint on a line of its own below.
fn rows<'a>(
    out: &mut String,
    paint: &dyn Fn(Status) -> String,
    width: usize,
    lines: impl Iterator<Item = (Status, &'a str, &'a str, &'a Option<String>)>,
) {
    for (status, id, detail, hint) in lines {
        let _ = writeln!(out, "  {}  {id:width$}  {detail}", paint(status));
        if let Some(hint) = hint {
            let _ = writeln!(out, "  {:4}  {:width$}  hint: {hint}", "", "");
        }
    }
}
