//! # imprint-host
//!
//! The host side of Imprint: inspecting scans, and (as it grows) discovering and loading
//! analyzer plugins, running them on a case, and writing the report. The `imprint` binary is
//! a thin command-line edge over this library.

pub mod exit;
pub mod inspect;
