//! The probe's test helpers, beside the daemon's harness (`common`, shared with the daemon's
//! tests): fake servers and the probe run in-process.
#![allow(dead_code)]

pub mod fake;
pub mod probe;
