//! Fit risk and the decision: findings grouped into defects (one physical defect that two
//! analyzers both report counts once), each defect's contribution under the policy, the
//! risk per tooth and per case, and the decision with reasons that cite the findings.

use crate::case::{CaseFile, ImpressionKind};
use crate::policy::{Policy, Purpose, RuleDecision};
use crate::report::Decision;
use imprint_core::finding::{Finding, FindingKind, KindGroup, Severity};
use schemars::JsonSchema;
use serde::Serialize;

/// The fit risk of a case.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FitRisk {
    /// The policy that weighed it (`name` version).
    pub policy: String,
    /// What the case is for, as the policy weighs it.
    pub purpose: Purpose,
    /// The impression kind it was judged as (a case without one: final).
    pub impression: ImpressionKind,
    /// The case's risk: its worst tooth's (or the gingiva's), in [0, 1].
    pub case_risk: f64,
    /// Per tooth (and the gingiva, `tooth: null`), worst first.
    pub teeth: Vec<ToothRisk>,
    /// The defects behind the risk.
    pub defects: Vec<Defect>,
}

/// The risk of one tooth of one scan.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ToothRisk {
    /// Scan index.
    pub scan: usize,
    /// FDI number, or null for the gingiva and unplaced findings.
    pub tooth: Option<u8>,
    /// `1 − Π(1 − contribution)` over its defects.
    pub risk: f64,
    /// Its defects' ids.
    pub defects: Vec<String>,
}

/// One physical defect: the findings that report it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Defect {
    /// `D1`, `D2`, …
    pub id: String,
    /// The findings (their ids) that report it; the first is the one it is known by.
    pub findings: Vec<String>,
    /// Kind of its first finding.
    pub kind: FindingKind,
    /// Its worst severity.
    pub severity: Severity,
    /// Scan index.
    pub scan: usize,
    /// Tooth of its first finding.
    pub tooth: Option<u8>,
    /// Its contribution to the tooth's risk (its largest finding's).
    pub contribution: f64,
}

/// The fit risk, the decision and the reasons for `findings` under `policy`.
pub fn assess(
    findings: &[Finding],
    case: Option<&CaseFile>,
    policy: &Policy,
) -> (FitRisk, Decision, Vec<String>) {
    let purpose = Purpose::of(case);
    let impression = case
        .and_then(|c| c.impression)
        .unwrap_or(ImpressionKind::Final);
    let defects = defects(findings, |f| policy.contribution(f, purpose, impression));
    let teeth = tooth_risks(&defects);
    let case_risk = teeth.first().map_or(0.0, |t| t.risk);
    let mut decision = policy.for_risk(case_risk);
    let mut reasons = Vec::new();
    if let Some(worst) = teeth.first().filter(|_| decision > Decision::Accept) {
        reasons.push(risk_reason(policy, worst, &defects));
    }
    for f in findings {
        // The strongest rule a finding matches speaks for it.
        let strongest = policy.strongest_rule(f, purpose, impression);
        if let Some(rule) = strongest {
            let forced = match rule.decision {
                RuleDecision::Review => Decision::Review,
                RuleDecision::Reject => Decision::Reject,
            };
            decision = decision.max(forced);
            reasons.push(format!(
                "{}: rule `{}` on {} ({} {}): {}",
                name(&forced),
                rule.name,
                f.id,
                name(&f.severity),
                name(&f.kind),
                f.message
            ));
        }
    }
    let risk = FitRisk {
        policy: format!("{} {}", policy.name, policy.version),
        purpose,
        impression,
        case_risk,
        teeth,
        defects,
    };
    (risk, decision, reasons)
}

fn risk_reason(policy: &Policy, worst: &ToothRisk, defects: &[Defect]) -> String {
    let place = worst
        .tooth
        .map_or("the gingiva or the case".to_string(), |t| {
            format!("tooth {t}")
        });
    let (what, threshold) = if worst.risk >= policy.decision.reject_at {
        ("reject", policy.decision.reject_at)
    } else {
        ("review", policy.decision.review_at)
    };
    let causes: Vec<String> = worst
        .defects
        .iter()
        .filter_map(|id| defects.iter().find(|d| &d.id == id))
        .map(|d| {
            format!(
                "{} {} {} {:.2}",
                d.id,
                d.findings.join("+"),
                name(&d.kind),
                d.contribution
            )
        })
        .collect();
    format!(
        "{what}: fit risk {:.2} on {place} reaches {threshold:.2} ({})",
        worst.risk,
        causes.join("; ")
    )
}

/// Two findings report one defect: same scan, related kinds (the same group, or a hole and a
/// margin defect), centres within the larger one's radius or 1 mm.
fn same_defect(a: &Finding, b: &Finding) -> bool {
    let related = a.kind.group() == b.kind.group()
        || matches!(
            (a.kind.group(), b.kind.group()),
            (KindGroup::Missing, KindGroup::Margin) | (KindGroup::Margin, KindGroup::Missing)
        );
    let d: f32 = (0..3)
        .map(|k| (a.center[k] - b.center[k]).powi(2))
        .sum::<f32>()
        .sqrt();
    a.scan == b.scan && related && d <= (0.5 * a.size_mm.max(b.size_mm)).max(1.0)
}

fn defects(findings: &[Finding], contribution: impl Fn(&Finding) -> f64) -> Vec<Defect> {
    let mut group: Vec<usize> = (0..findings.len()).collect();
    fn root(g: &mut [usize], mut i: usize) -> usize {
        while g[i] != i {
            g[i] = g[g[i]];
            i = g[i];
        }
        i
    }
    for i in 0..findings.len() {
        for j in i + 1..findings.len() {
            if same_defect(&findings[i], &findings[j]) {
                let (a, b) = (root(&mut group, i), root(&mut group, j));
                group[b.max(a)] = a.min(b);
            }
        }
    }
    let mut out: Vec<Defect> = Vec::new();
    let mut index: std::collections::BTreeMap<usize, usize> = Default::default();
    for (i, f) in findings.iter().enumerate() {
        let r = root(&mut group, i);
        let at = *index.entry(r).or_insert_with(|| {
            out.push(Defect {
                id: format!("D{}", out.len() + 1),
                findings: Vec::new(),
                kind: f.kind,
                severity: f.severity,
                scan: f.scan,
                tooth: f.tooth,
                contribution: 0.0,
            });
            out.len() - 1
        });
        let d = &mut out[at];
        d.findings.push(f.id.clone());
        d.severity = d.severity.max(f.severity);
        d.contribution = d.contribution.max(contribution(f));
    }
    out
}

fn tooth_risks(defects: &[Defect]) -> Vec<ToothRisk> {
    let mut by: std::collections::BTreeMap<(usize, Option<u8>), (f64, Vec<String>)> =
        Default::default();
    for d in defects {
        let e = by.entry((d.scan, d.tooth)).or_insert((1.0, Vec::new()));
        e.0 *= 1.0 - d.contribution;
        e.1.push(d.id.clone());
    }
    let mut teeth: Vec<ToothRisk> = by
        .into_iter()
        .map(|((scan, tooth), (keep, defects))| ToothRisk {
            scan,
            tooth,
            risk: 1.0 - keep,
            defects,
        })
        .collect();
    teeth.sort_by(|a, b| b.risk.total_cmp(&a.risk));
    teeth
}

use imprint_core::util::serde_name as name;
