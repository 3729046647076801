//! What [`super::route()`] routes with: every domain's prepared responses, the responses that
//! depend on no domain, and the few settings routing needs. Plain data built once per config
//! generation and swapped whole; nothing in it changes while it serves.

use std::collections::HashSet;

use super::site::{Fixed, Site};
use crate::config::{Config, Document};

#[derive(Debug, Clone)]
pub struct Router {
    /// One per `[[domain]]`, in config order.
    sites: Vec<Site>,
    /// The site for a `Host` that matches none: the only domain, or the `default = true` one.
    fallback: Option<usize>,
    pub fixed: Fixed,
    /// `health.path`; `None`: no health endpoint.
    health: Option<Box<str>>,
    /// Largest HTTP/2 header list answered (`limits.max_header_bytes`); HTTP/1.1 heads are
    /// bounded by hyper itself.
    max_header_bytes: usize,
    /// Shutting down: the health endpoint answers 503 (see [`Router::draining`]).
    draining: bool,
    /// Every `[[domain.file]]` path of any domain, for the metrics label: one look-up per
    /// request rather than a scan of every site.
    file_paths: HashSet<Box<str>>,
}

impl Router {
    pub fn new(config: &Config) -> Router {
        let fallback = match config.domains.len() {
            1 => Some(0),
            _ => config.domains.iter().position(|d| d.default),
        };
        let file_paths = config
            .domains
            .iter()
            .flat_map(|d| d.files.iter().map(|(path, _)| path.as_str().into()))
            .collect();
        Router {
            sites: config.domains.iter().map(Site::build).collect(),
            file_paths,
            fallback,
            fixed: Fixed::new(),
            health: config.health.path.as_deref().map(Into::into),
            max_header_bytes: config.limits.max_header_bytes,
            draining: false,
        }
    }

    /// This router, shutting down: the same answers, but the health endpoint says 503.
    pub fn draining(&self) -> Router {
        Router {
            draining: true,
            ..self.clone()
        }
    }

    pub fn is_draining(&self) -> bool {
        self.draining
    }

    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    pub fn is_health(&self, path: &str) -> bool {
        self.health.as_deref() == Some(path)
    }

    pub fn max_header_bytes(&self) -> usize {
        self.max_header_bytes
    }

    /// The site that answers the requested host. Never another domain's by accident: with
    /// several domains only an exact (case-insensitive) match or the explicit default. `host`
    /// is called only when there is a choice, so with one domain, the commonest set-up, the
    /// request path never parses `Host`.
    pub fn site<'h>(&self, host: impl FnOnce() -> Option<&'h str>) -> Option<&Site> {
        if self.sites.len() > 1
            && let Some(h) = host()
            && let Some(s) = self.sites.iter().find(|s| s.name.eq_ignore_ascii_case(h))
        {
            return Some(s);
        }
        self.sites.get(self.fallback?)
    }

    /// The metrics label of what `path` asks for: a document's name, `file` (a
    /// `[[domain.file]]`), `health` or `other`.
    pub fn label(&self, path: &str) -> &'static str {
        if self.is_health(path) {
            return "health";
        }
        match Document::from_path(path) {
            Some(doc) => doc.name(),
            None if self.file_paths.contains(path) => "file",
            None => "other",
        }
    }
}
