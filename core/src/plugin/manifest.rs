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

impl Parameter {
    /// A parameter `name` with its `default` and what it controls.
    ///
    /// ```
    /// use imprint_core::plugin::Parameter;
    /// let p = Parameter::new("min_hole_mm", 0.3, "Smallest hole reported (across), mm.");
    /// assert_eq!(p.default, serde_json::json!(0.3));
    /// ```
    pub fn new(name: &str, default: impl Into<serde_json::Value>, description: &str) -> Self {
        Self {
            name: name.into(),
            default: default.into(),
            description: description.into(),
        }
    }
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
