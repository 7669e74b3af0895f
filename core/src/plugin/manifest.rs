//! A plugin's manifest: who it is and what it needs and emits.

use crate::derived::DerivedKind;
use crate::finding::FindingKind;
use serde::{Deserialize, Serialize};

/// One tunable parameter and its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// Name, as set with `--set ID.NAME=VALUE`.
    pub name: String,
    /// Default value.
    pub default: serde_json::Value,
    /// What it controls and why the default.
    pub description: String,
}

/// Who a plugin is and what it needs and emits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Stable id, e.g. `voids` (unique among loaded plugins).
    pub id: String,
    /// Human name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// The interface version it was built against (filled by the SDK).
    #[serde(default)]
    pub interface_version: String,
    /// The kinds of finding it emits.
    pub kinds: Vec<FindingKind>,
    /// The derived data it reads.
    pub needs: Vec<DerivedKind>,
    /// Its parameters, with defaults.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
}
