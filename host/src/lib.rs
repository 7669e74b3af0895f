//! # imprint-host
//!
//! The host side of Imprint: inspecting scans, discovering and loading analyzer plugins
//! ([`plugins`]), running them on a case ([`run`]), judging the findings under a decision
//! policy ([`policy`], [`risk`]), and writing the report ([`report`]); many cases at once
//! ([`batch`]) and a watched folder ([`watch`]) for QA stations.
//! The `imprint` binary is a thin command-line edge over this library.

pub mod batch;
pub mod case;
pub mod checklist;
pub mod cplugin;
pub mod exit;
pub mod heatmap;
pub mod html;
pub mod inspect;
pub mod isolate;
pub mod locate;
pub mod picture;
pub mod plugins;
pub mod policy;
pub mod quarantine;
pub mod report;
pub mod risk;
pub mod run;
pub mod snapshot;
pub mod suite;
pub mod watch;
