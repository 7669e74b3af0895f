//! The decision policy: a versioned TOML file a lab can edit (see `docs/policy.md`) that
//! turns findings into a fit risk per tooth and per case, and an accept / review / reject
//! decision with reasons that cite the findings.
//!
//! **Fit risk.** Each finding contributes `severity weight × group weight (by what the case
//! is for) × impression factor × surface factor` (margin findings: no surface factor), in
//! [0, 1]. Findings of one defect (a `hole`
//! that is also a `margin_hole`: related kinds, centres within the larger one's radius or
//! 1 mm) count once, with their largest contribution. A tooth's risk is `1 − Π(1 − c)` over
//! its defects; the case's is its worst tooth's (or the gingiva's).
//!
//! **Decision.** The worst of: the case risk against `review_at` / `reject_at`, and every
//! rule a finding matches (kinds or groups, least severity, what the case is for, the
//! impression kind).
//!
//! ```
//! let policy = imprint_host::policy::Policy::builtin();
//! assert!(policy.decision.review_at < policy.decision.reject_at);
//! ```

use crate::case::{CaseFile, ImpressionKind, Restoration};
use crate::report::Decision;
use imprint_core::finding::{Finding, FindingKind, KindGroup, Severity};
use imprint_core::tooth::Region;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The schema every policy file names.
pub const SCHEMA: &str = "imprint.policy/1";

/// The built-in policy's text.
pub const BUILTIN: &str = include_str!("../policy/default.toml");

/// A policy that could not be used: the file and what is wrong (line and column for syntax
/// and field errors).
#[derive(Debug, thiserror::Error)]
#[error("policy {path}: {message}")]
pub struct PolicyError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A decision policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Must be [`SCHEMA`].
    pub schema: String,
    /// Its name, as reports cite it.
    pub name: String,
    /// Its version, as the lab keeps it.
    pub version: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// How findings become risk.
    pub risk: RiskRules,
    /// Risk thresholds.
    pub decision: Thresholds,
    /// Rules that force a decision.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    /// Analyzer parameters (`"ID.PARAM" = value`), over the plugins' defaults and under
    /// `--set`.
    #[serde(default)]
    pub parameters: BTreeMap<String, toml::Value>,
    /// SHA-256 of the text it was read from.
    #[serde(skip)]
    pub hash: String,
}

/// How findings become risk.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskRules {
    /// Weight of one finding by its severity.
    pub severity: SeverityWeights,
    /// Weights of finding groups by what the case is for.
    pub purpose: Purposes,
    /// Factor by impression kind.
    pub impression: ImpressionFactors,
    /// Factor by the surface a finding is on (region names; 1 when not named).
    #[serde(default)]
    pub surface: BTreeMap<String, f64>,
}

/// Weight of one finding by severity, in [0, 1].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SeverityWeights {
    pub info: f64,
    pub minor: f64,
    pub major: f64,
    pub critical: f64,
}

/// Group weights for each purpose.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purposes {
    /// Crowns, bridges, inlays and onlays, veneers, implant restorations.
    pub restorative: GroupWeights,
    /// Aligners, retainers, night guards.
    pub aligner: GroupWeights,
    /// Dentures, immediate dentures.
    pub denture: GroupWeights,
    /// Study models.
    pub study: GroupWeights,
    /// Bite registrations.
    pub bite: GroupWeights,
    /// No restoration named.
    pub general: GroupWeights,
}

/// Weight of each finding group, in [0, 1] (1 when not named).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct GroupWeights {
    pub missing: Option<f64>,
    pub bubble: Option<f64>,
    pub outlier: Option<f64>,
    pub drag: Option<f64>,
    pub layering: Option<f64>,
    pub margin: Option<f64>,
    pub pull: Option<f64>,
    pub bite: Option<f64>,
    pub checklist: Option<f64>,
    pub mesh: Option<f64>,
}

impl GroupWeights {
    fn of(&self, group: KindGroup) -> f64 {
        let w = match group {
            KindGroup::Missing => self.missing,
            KindGroup::Bubble => self.bubble,
            KindGroup::Outlier => self.outlier,
            KindGroup::Drag => self.drag,
            KindGroup::Layering => self.layering,
            KindGroup::Margin => self.margin,
            KindGroup::Pull => self.pull,
            KindGroup::Bite => self.bite,
            KindGroup::Checklist => self.checklist,
            KindGroup::Mesh => self.mesh,
        };
        w.unwrap_or(1.0)
    }

    fn all(&self) -> [Option<f64>; 10] {
        [
            self.missing,
            self.bubble,
            self.outlier,
            self.drag,
            self.layering,
            self.margin,
            self.pull,
            self.bite,
            self.checklist,
            self.mesh,
        ]
    }
}

/// Factor by impression kind, in [0, 1].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ImpressionFactors {
    pub preliminary: f64,
    #[serde(rename = "final")]
    pub final_: f64,
    pub bite_registration: f64,
}

/// Risk thresholds: a case at `review_at` or above needs review, at `reject_at` or above is
/// rejected.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Thresholds {
    pub review_at: f64,
    pub reject_at: f64,
}

/// What the case is for, as the policy weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Crowns, bridges, inlays and onlays, veneers, implant restorations.
    Restorative,
    /// Aligners, retainers, night guards.
    Aligner,
    /// Dentures.
    Denture,
    /// Study models.
    Study,
    /// A bite registration.
    Bite,
    /// No restoration named.
    General,
}

impl Purpose {
    /// The purpose of a case (none: general).
    pub fn of(case: Option<&CaseFile>) -> Self {
        use Restoration::*;
        let Some(case) = case else {
            return Self::General;
        };
        if case.impression == Some(ImpressionKind::BiteRegistration) {
            return Self::Bite;
        }
        match case.restoration {
            Some(Crown | Bridge | InlayOnlay | Veneer | Implant) => Self::Restorative,
            Some(Aligner | Retainer | NightGuard) => Self::Aligner,
            Some(Denture | ImmediateDenture) => Self::Denture,
            Some(StudyModel) => Self::Study,
            Some(Other) | None => Self::General,
        }
    }
}

/// A rule that forces review or reject when a finding matches it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Its name, cited in reasons.
    pub name: String,
    /// Finding kinds it applies to (with `groups`: either; both empty: every kind).
    #[serde(default)]
    pub kinds: Vec<FindingKind>,
    /// Finding groups it applies to.
    #[serde(default)]
    pub groups: Vec<KindGroup>,
    /// The least severity it applies to.
    pub min_severity: Severity,
    /// What the case must be for (empty: any).
    #[serde(default)]
    pub purposes: Vec<Purpose>,
    /// The impression kinds it applies to (empty: any; a case without one counts as final).
    #[serde(default)]
    pub impressions: Vec<ImpressionKind>,
    /// `review` or `reject`.
    pub decision: RuleDecision,
}

/// What a rule forces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleDecision {
    /// A person looks first.
    Review,
    /// Rescan or retake.
    Reject,
}

impl Rule {
    fn matches(&self, f: &Finding, purpose: Purpose, impression: ImpressionKind) -> bool {
        let kind = (self.kinds.is_empty() && self.groups.is_empty())
            || self.kinds.contains(&f.kind)
            || self.groups.contains(&f.kind.group());
        kind && f.severity >= self.min_severity
            && (self.purposes.is_empty() || self.purposes.contains(&purpose))
            && (self.impressions.is_empty() || self.impressions.contains(&impression))
    }
}

impl Policy {
    /// The built-in default (see `docs/policy.md`).
    pub fn builtin() -> &'static Policy {
        static BUILT: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
        BUILT.get_or_init(|| match Policy::parse(BUILTIN, "<built-in>") {
            Ok(p) => p,
            // The built-in text is tested; reaching this is a build defect.
            Err(e) => panic!("{e}"),
        })
    }

    /// Reads a policy file.
    pub fn read(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            path: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// Parses and checks policy text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Policy, PolicyError> {
        let err = |message: String| PolicyError {
            path: path.to_string(),
            message,
        };
        let mut policy: Policy = toml::from_str(text).map_err(|e| err(located(text, &e)))?;
        policy.check().map_err(err)?;
        use sha2::{Digest, Sha256};
        policy.hash = crate::plugins::hex(&Sha256::digest(text.as_bytes()));
        Ok(policy)
    }

    fn check(&self) -> Result<(), String> {
        if self.schema != SCHEMA {
            return Err(format!("schema is `{}`, expected `{SCHEMA}`", self.schema));
        }
        let unit = |what: String, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{what} = {v}: must be between 0 and 1"))
            }
        };
        let s = &self.risk.severity;
        for (n, v) in [
            ("info", s.info),
            ("minor", s.minor),
            ("major", s.major),
            ("critical", s.critical),
        ] {
            unit(format!("risk.severity.{n}"), v)?;
        }
        let i = &self.risk.impression;
        for (n, v) in [
            ("preliminary", i.preliminary),
            ("final", i.final_),
            ("bite_registration", i.bite_registration),
        ] {
            unit(format!("risk.impression.{n}"), v)?;
        }
        let p = &self.risk.purpose;
        for (n, g) in [
            ("restorative", &p.restorative),
            ("aligner", &p.aligner),
            ("denture", &p.denture),
            ("study", &p.study),
            ("bite", &p.bite),
            ("general", &p.general),
        ] {
            for v in g.all().into_iter().flatten() {
                unit(format!("a weight of risk.purpose.{n}"), v)?;
            }
        }
        for (region, v) in &self.risk.surface {
            if !Region::ALL.iter().any(|r| r.name() == region) {
                let names: Vec<&str> = Region::ALL.iter().map(|r| r.name()).collect();
                return Err(format!(
                    "risk.surface.{region}: unknown surface (one of {})",
                    names.join(", ")
                ));
            }
            unit(format!("risk.surface.{region}"), *v)?;
        }
        let d = &self.decision;
        unit("decision.review_at".into(), d.review_at)?;
        unit("decision.reject_at".into(), d.reject_at)?;
        if d.review_at > d.reject_at {
            return Err(format!(
                "decision.review_at ({}) is above decision.reject_at ({})",
                d.review_at, d.reject_at
            ));
        }
        for key in self.parameters.keys() {
            if key
                .split_once('.')
                .is_none_or(|(a, b)| a.is_empty() || b.is_empty())
            {
                return Err(format!("parameters.\"{key}\": expected \"ID.PARAM\""));
            }
        }
        Ok(())
    }

    /// The policy's analyzer parameters as `ID.PARAM=VALUE` settings (applied before
    /// `--set`, which wins).
    pub fn settings(&self) -> Vec<String> {
        self.parameters
            .iter()
            .map(|(k, v)| format!("{k}={}", toml_to_json(v)))
            .collect()
    }

    /// One finding's contribution to its tooth's risk.
    pub fn contribution(&self, f: &Finding, purpose: Purpose, impression: ImpressionKind) -> f64 {
        let s = &self.risk.severity;
        let severity = match f.severity {
            Severity::Info => s.info,
            Severity::Minor => s.minor,
            Severity::Major => s.major,
            Severity::Critical => s.critical,
        };
        let p = &self.risk.purpose;
        let weights = match purpose {
            Purpose::Restorative => &p.restorative,
            Purpose::Aligner => &p.aligner,
            Purpose::Denture => &p.denture,
            Purpose::Study => &p.study,
            Purpose::Bite => &p.bite,
            Purpose::General => &p.general,
        };
        let i = &self.risk.impression;
        let impression = match impression {
            ImpressionKind::Preliminary => i.preliminary,
            ImpressionKind::Final => i.final_,
            ImpressionKind::BiteRegistration => i.bite_registration,
        };
        // A margin finding lies on the finish line whatever surface it is placed on.
        let surface = f
            .surface
            .filter(|_| f.kind.group() != KindGroup::Margin)
            .and_then(|r| self.risk.surface.get(r.name()).copied())
            .unwrap_or(1.0);
        (severity * weights.of(f.kind.group()) * impression * surface).clamp(0.0, 1.0)
    }

    /// The strictest rule a finding matches (a reject rule before a review rule).
    pub fn strongest_rule(
        &self,
        f: &Finding,
        purpose: Purpose,
        impression: ImpressionKind,
    ) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.matches(f, purpose, impression))
            .max_by_key(|r| r.decision == RuleDecision::Reject)
    }

    /// The decision a case risk calls for.
    pub fn for_risk(&self, risk: f64) -> Decision {
        if risk >= self.decision.reject_at {
            Decision::Reject
        } else if risk >= self.decision.review_at {
            Decision::Review
        } else {
            Decision::Accept
        }
    }
}

/// A TOML error with its line and column.
fn located(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

fn toml_to_json(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
        other => other.to_string(),
    }
}
