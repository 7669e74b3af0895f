//! Scoring a bite analysis against a bite phantom's truth: was a misregistration detected,
//! how close the registration came to the true relation, false alarms on correct bites,
//! clearance over preparations, and the contact pairs.

use crate::bite::{BitePhantom, BiteRecord, BiteTruth};
use crate::eval::{cell, median};
use imprint_core::finding::{Finding, FindingKind, Severity};
use imprint_core::Scan;
use nalgebra::{Isometry3, Matrix4, Point3, Vector3};
use serde::{Deserialize, Serialize};

/// A report's `min_clearance_mm` default: clearance below it is a true `bite_clearance`.
pub const MIN_CLEARANCE_MM: f32 = 1.0;
/// A contact pair counts in the truth from this area, mm² (the analyzer's own floor).
pub const MIN_CONTACT_AREA: f32 = 0.05;

/// One case's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiteScore {
    /// The phantom's seed.
    pub seed: u64,
    /// Its bite record.
    pub record: BiteRecord,
    /// The truth moved the exported lower arch off the recorded relation.
    pub misregistered: bool,
    /// … by this much at the teeth, mm (0 for a correct bite).
    pub displacement_mm: f32,
    /// The report says the bite is misregistered, unstable, penetrating or open.
    pub flagged: bool,
    /// The report has a `bite_misregistration` finding.
    pub misregistration_reported: bool,
    /// Largest distance, over the lower teeth, between where the registration puts them and
    /// where they truly belong, mm (with a record, when it registered).
    pub recovery_error_mm: Option<f64>,
    /// Major findings on a correct bite that nothing in the truth explains.
    pub false_alarms: Vec<String>,
    /// Per preparation: (tooth, true clearance, reported clearance).
    pub clearances: Vec<(u8, f32, Option<f64>)>,
    /// Clearance findings: right, wrong, missed.
    pub clearance_calls: [usize; 3],
    /// Contact pairs (lower/upper): found in both, reported only, true only.
    pub contact_pairs: [usize; 3],
}

fn reported(findings: &[Finding], kind: FindingKind) -> impl Iterator<Item = &Finding> {
    findings
        .iter()
        .filter(move |f| f.kind == kind && f.severity >= Severity::Minor)
}

/// Scores the findings of a bite case (all scans) against its truth.
pub fn score_bite(phantom: &BitePhantom, findings: &[Finding]) -> BiteScore {
    let truth = &phantom.truth;
    let misregistered = truth.misregistration.is_some();
    let alarm_kinds = [
        FindingKind::BiteMisregistration,
        FindingKind::BiteUnstable,
        FindingKind::BitePenetration,
        FindingKind::BiteOpen,
    ];
    let alarms: Vec<&Finding> = alarm_kinds
        .iter()
        .flat_map(|&k| reported(findings, k))
        .collect();
    let false_alarms = if misregistered {
        Vec::new()
    } else {
        alarms.iter().map(|f| f.message.clone()).collect()
    };
    let (clearances, clearance_calls) = clearance_score(truth, findings);
    BiteScore {
        seed: truth.spec.seed,
        record: truth.spec.record,
        misregistered,
        displacement_mm: truth
            .misregistration
            .as_ref()
            .map_or(0.0, |m| m.max_displacement_mm),
        flagged: !alarms.is_empty(),
        misregistration_reported: reported(findings, FindingKind::BiteMisregistration)
            .next()
            .is_some(),
        recovery_error_mm: recovery_error(truth, &phantom.lower, findings),
        false_alarms,
        clearances,
        clearance_calls,
        contact_pairs: contact_score(truth, findings),
    }
}

/// The correction the report's `bite_registration` finding carries (lower arch, scan
/// coordinates), when it registered to a record.
fn correction(findings: &[Finding]) -> Option<Isometry3<f64>> {
    let f = findings
        .iter()
        .find(|f| f.kind == FindingKind::BiteRegistration)?;
    f.metrics.get("residual_lower_mm")?;
    let m = |k: &str| f.metrics.get(k).copied();
    let t = Vector3::new(
        m("correction_tx_mm")?,
        m("correction_ty_mm")?,
        m("correction_tz_mm")?,
    );
    let r = Vector3::new(
        m("correction_rx_rad")?,
        m("correction_ry_rad")?,
        m("correction_rz_rad")?,
    );
    Some(Isometry3::new(t, r))
}

fn recovery_error(truth: &BiteTruth, lower: &Scan, findings: &[Finding]) -> Option<f64> {
    if truth.spec.record == BiteRecord::None {
        return None;
    }
    let c = correction(findings)?;
    // Exported = M · true, so the true place of an exported point e is M⁻¹ e.
    let m = truth
        .misregistration
        .as_ref()
        .map_or(Matrix4::identity(), |m| {
            Matrix4::from_fn(|r, k| f64::from(m.matrix[r][k]))
        });
    let back = m.try_inverse()?;
    let labels = lower.labels.as_deref().unwrap_or(&[]);
    let error = lower
        .positions
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l != 0)
        .step_by(5)
        .map(|(p, _)| {
            let e = Point3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
            let want = back.transform_point(&e);
            (c * e - want).norm()
        })
        .fold(0.0, f64::max);
    Some(error)
}

type ClearanceRows = Vec<(u8, f32, Option<f64>)>;

fn clearance_score(truth: &BiteTruth, findings: &[Finding]) -> (ClearanceRows, [usize; 3]) {
    let summary = findings
        .iter()
        .find(|f| f.kind == FindingKind::BiteRegistration);
    let mut calls = [0usize; 3];
    let rows = truth
        .clearances
        .iter()
        .map(|c| {
            let value = summary
                .and_then(|f| f.metrics.get(&format!("clearance_mm_{}", c.tooth)))
                .copied();
            let flagged =
                reported(findings, FindingKind::BiteClearance).any(|f| f.tooth == Some(c.tooth));
            let tight = c.clearance_mm < MIN_CLEARANCE_MM;
            match (tight, flagged) {
                (true, true) => calls[0] += 1,
                (false, true) => calls[1] += 1,
                (true, false) => calls[2] += 1,
                (false, false) => {}
            }
            (c.tooth, c.clearance_mm, value)
        })
        .collect();
    (rows, calls)
}

fn contact_score(truth: &BiteTruth, findings: &[Finding]) -> [usize; 3] {
    let real: std::collections::BTreeSet<(u8, u8)> = truth
        .contacts
        .iter()
        .filter(|c| c.area_mm2 >= MIN_CONTACT_AREA)
        .map(|c| (c.lower, c.upper))
        .collect();
    let found: std::collections::BTreeSet<(u8, u8)> = findings
        .iter()
        .filter(|f| {
            matches!(
                f.kind,
                FindingKind::BiteContact | FindingKind::BitePenetration
            )
        })
        .filter_map(|f| Some((f.tooth?, *f.metrics.get("opposing")? as u8)))
        .collect();
    [
        real.intersection(&found).count(),
        found.difference(&real).count(),
        real.difference(&found).count(),
    ]
}

/// A suite's bite cases together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BiteSuiteScore {
    /// Cases scored.
    pub cases: usize,
    /// Misregistered cases with a record, and how many the report flagged.
    pub misregistered: [usize; 2],
    /// Correct bites, and how many had a false alarm.
    pub correct: [usize; 2],
    /// False alarms per correct bite.
    pub false_alarms_per_case: Option<f64>,
    /// Recovery error over registered cases: median and largest, mm.
    pub recovery_error_mm: [Option<f64>; 2],
    /// Misregistered cases without a record: how many, how many flagged (by penetration or
    /// an open side).
    pub unrecorded: [usize; 2],
    /// Clearance: median absolute error, mm; calls right, wrong, missed.
    pub clearance_error_mm: Option<f64>,
    /// See `clearance_error_mm`.
    pub clearance_calls: [usize; 3],
    /// Contact pairs: both, reported only, true only.
    pub contact_pairs: [usize; 3],
}

impl BiteSuiteScore {
    /// Sums the cases.
    pub fn of(scores: &[BiteScore]) -> Self {
        let mut s = Self {
            cases: scores.len(),
            ..Self::default()
        };
        let mut errors = Vec::new();
        let mut clearance = Vec::new();
        let mut false_alarms = 0usize;
        for c in scores {
            let recorded = c.record != BiteRecord::None;
            match (c.misregistered, recorded) {
                (true, true) => {
                    s.misregistered[0] += 1;
                    s.misregistered[1] += usize::from(c.misregistration_reported);
                }
                (true, false) => {
                    s.unrecorded[0] += 1;
                    s.unrecorded[1] += usize::from(c.flagged);
                }
                (false, _) => {
                    s.correct[0] += 1;
                    s.correct[1] += usize::from(!c.false_alarms.is_empty());
                    false_alarms += c.false_alarms.len();
                }
            }
            errors.extend(c.recovery_error_mm);
            for (_, truth, got) in &c.clearances {
                clearance.extend(got.map(|g| (g - f64::from(*truth)).abs()));
            }
            for k in 0..3 {
                s.clearance_calls[k] += c.clearance_calls[k];
                s.contact_pairs[k] += c.contact_pairs[k];
            }
        }
        s.false_alarms_per_case =
            (s.correct[0] > 0).then(|| false_alarms as f64 / s.correct[0] as f64);
        s.recovery_error_mm = [
            median(errors.clone()),
            errors.iter().copied().reduce(f64::max),
        ];
        s.clearance_error_mm = median(clearance);
        s
    }

    /// The score as a few lines of text.
    pub fn to_text(&self) -> String {
        let rate = |a: usize, b: usize| {
            if b == 0 {
                "-".to_string()
            } else {
                format!("{:.2}", a as f64 / b as f64)
            }
        };
        let [both, only_report, only_truth] = self.contact_pairs;
        format!(
            "bite: {} cases; misregistration recall {} ({}/{}); correct bites with a false alarm {}/{} ({} false alarms per case); registration error median {} mm, max {} mm; without a record, misregistrations flagged {}/{}; clearance error median {} mm, calls right {} / wrong {} / missed {}; contact pairs precision {} recall {}\n",
            self.cases,
            rate(self.misregistered[1], self.misregistered[0]),
            self.misregistered[1],
            self.misregistered[0],
            self.correct[1],
            self.correct[0],
            cell(self.false_alarms_per_case),
            cell(self.recovery_error_mm[0]),
            cell(self.recovery_error_mm[1]),
            self.unrecorded[1],
            self.unrecorded[0],
            cell(self.clearance_error_mm),
            self.clearance_calls[0],
            self.clearance_calls[1],
            self.clearance_calls[2],
            rate(both, both + only_report),
            rate(both, both + only_truth),
        )
    }
}
