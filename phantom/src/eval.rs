//! The scorer: matches a report's findings to a phantom's truth and measures, per finding
//! kind, true and false positives, misses, precision, recall, localisation and size error,
//! tooth attribution, and the decision against the truth's.
//!
//! **Matching rule.** A finding matches a true defect of the same kind group
//! ([`FindingKind::group`]; a smear only a smear) when its centre lies within
//! `max(1 mm, true radius)` of the true centre; pull risk, which belongs to a whole tooth, matches on the tooth (or within 4 mm of
//! the crown's centre). Pairs are taken nearest first, one-to-one: those with a resolvable
//! defect, then those through a merged drag mark, then the rest. A true defect the scan
//! cannot resolve
//! (`resolvable: false`: under ~3 edge lengths across, a pit's or nodule's counted in the
//! edges where it lies, or shallower than ~4× the noise; a
//! smear whose wiped detail is under 3× the noise, as it is judged over an area; a drag
//! mark whose channel runs into a stronger one of its set, `merged_into`: a finding on it
//! may stand for that one) counts
//! neither as missed nor, when something matches it, as a false alarm: it is set aside.

use crate::truth::{ExpectedDecision, Truth};
use imprint_core::finding::{Finding, FindingKind, KindGroup};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Scores of one finding kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindScore {
    /// Findings matched to a resolvable true defect of this kind.
    pub tp: usize,
    /// Findings of this kind that matched nothing.
    pub fp: usize,
    /// Resolvable true defects of this kind nothing matched.
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// True defects set aside as unresolvable.
    pub set_aside: usize,
    /// tp / (tp + fp), or null when nothing was reported.
    pub precision: Option<f64>,
    /// tp / (tp + fn), or null when nothing was there.
    pub recall: Option<f64>,
    /// Median centre distance of matches, mm.
    pub median_error_mm: Option<f64>,
    /// Median |reported size − true size| of matches, mm.
    pub median_size_error_mm: Option<f64>,
    /// For kinds with a direction (drag marks): the median angle between the reported and
    /// the true direction of matches, degrees (as axes: a mark has no sense of travel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_direction_error_deg: Option<f64>,
}

/// One matched pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The true defect's kind.
    pub kind: String,
    /// True defect id.
    pub truth: String,
    /// Finding id.
    pub finding: String,
    /// Centre distance, mm.
    pub distance_mm: f64,
    /// Reported size − true size, mm.
    pub size_error_mm: f64,
    /// The finding names the true tooth (or both say gingiva).
    pub tooth_right: bool,
    /// Angle between the reported and the true direction, degrees, when both have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction_error_deg: Option<f64>,
}

/// A true defect no finding matched, or a finding no true defect matched: what to look at
/// when a figure falls short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unmatched {
    /// Its kind (snake_case).
    pub kind: String,
    /// The true defect's or the finding's id.
    pub id: String,
    /// Its centre, mm.
    pub center: [f32; 3],
    /// Its size, mm.
    pub size_mm: f32,
    /// Its tooth (FDI), if on one.
    pub tooth: Option<u8>,
}

impl Unmatched {
    /// A true defect no finding matched.
    fn of_truth(t: &crate::truth::TrueDefect) -> Self {
        Self {
            kind: name(t.kind),
            id: t.id.clone(),
            center: t.center,
            size_mm: t.size_mm,
            tooth: t.tooth,
        }
    }

    /// A finding no true defect matched.
    fn of_finding(f: &Finding) -> Self {
        Self {
            kind: name(f.kind),
            id: f.id.clone(),
            center: f.center,
            size_mm: f.size_mm,
            tooth: f.tooth,
        }
    }

    /// One line: id, kind, size, tooth and centre.
    pub fn describe(&self) -> String {
        let c = self.center;
        format!(
            "{} {} {:.2} mm on {} at ({:.2}, {:.2}, {:.2})",
            self.id,
            self.kind,
            self.size_mm,
            self.tooth
                .map_or("gingiva".to_string(), |t| format!("tooth {t}")),
            c[0],
            c[1],
            c[2]
        )
    }
}

/// The score of one report against one truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Per finding kind (snake_case names).
    pub kinds: BTreeMap<String, KindScore>,
    /// Every match.
    pub matches: Vec<Match>,
    /// Fraction of matches with the right tooth.
    pub tooth_accuracy: Option<f64>,
    /// The truth has no defects (a clean control).
    pub clean: bool,
    /// Unmatched findings in all (false alarms).
    pub false_alarms: usize,
    /// The resolvable true defects no finding matched (the misses behind `fn`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed: Vec<Unmatched>,
    /// The findings no true defect matched (the false alarms behind `fp`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched_findings: Vec<Unmatched>,
    /// The truth's decision.
    pub expected_decision: ExpectedDecision,
    /// The report's decision, if it has one.
    pub decision: Option<String>,
    /// Per true preparation: its margin line and flaws against the report's (see
    /// [`crate::marginscore`]); set by [`Score::with_margins`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub margins: Vec<crate::marginscore::PreparationScore>,
    /// The tooth map estimated with the labels withheld, against the truth (suite runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tooth_map: Option<crate::mapscore::MapScore>,
}

fn name(kind: FindingKind) -> String {
    imprint_core::util::serde_name(&kind)
}

fn dist(a: [f32; 3], b: [f32; 3]) -> f64 {
    (0..3)
        .map(|k| f64::from(a[k] - b[k]).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The angle between two axes, degrees (0–90: the sense of each is ignored).
fn axis_angle_deg(a: [f32; 3], b: [f32; 3]) -> Option<f64> {
    let norm = |v: [f32; 3]| (0..3).map(|k| f64::from(v[k]).powi(2)).sum::<f64>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    if na < 1e-9 || nb < 1e-9 {
        return None;
    }
    let dot: f64 = (0..3).map(|k| f64::from(a[k]) * f64::from(b[k])).sum();
    Some((dot.abs() / (na * nb)).min(1.0).acos().to_degrees())
}

/// A finding's direction: its `direction_x/y/z` metrics.
fn finding_direction(f: &Finding) -> Option<[f32; 3]> {
    let get = |k: &str| f.metrics.get(k).map(|v| *v as f32);
    Some([
        get("direction_x")?,
        get("direction_y")?,
        get("direction_z")?,
    ])
}

/// The median, or `None` for no values.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// The errors of one kind's matches.
#[derive(Default)]
struct Errors {
    centre: Vec<f64>,
    size: Vec<f64>,
    direction: Vec<f64>,
}

/// The index of the mark `t` is merged into, if any.
fn merged_into(truth: &Truth, t: &crate::truth::TrueDefect) -> Option<usize> {
    let id = t.merged_into.as_ref()?;
    truth.defects.iter().position(|d| &d.id == id)
}

/// Scores `findings` (of the phantom's scan) against `truth`; `decision` is the report's.
/// Checklist items (a missing opposing arch, a short arch) are about the case, not defects of
/// the scan, and a margin too coarsely scanned to judge claims no flaw of it: they are not
/// scored.
pub fn score(truth: &Truth, findings: &[Finding], decision: Option<String>) -> Score {
    let findings: Vec<Finding> = findings
        .iter()
        .filter(|f| {
            f.kind.group() != imprint_core::finding::KindGroup::Checklist
                && f.kind != FindingKind::MarginUnresolved
        })
        .cloned()
        .collect();
    let findings = findings.as_slice();
    let mut pairs: Vec<(u8, f64, usize, usize)> = Vec::new();
    for (ti, t) in truth.defects.iter().enumerate() {
        let reach = f64::from((t.size_mm / 2.0).max(1.0));
        for (fi, f) in findings.iter().enumerate() {
            let d = dist(t.center, f.center);
            // Pull risk is a tooth's: it matches on the tooth, or near its crown centre.
            let tooth_level = t.kind.group() == KindGroup::Pull
                && (f.tooth.is_some() && f.tooth == t.tooth || d <= reach.max(4.0));
            // A smear is a band of lost detail, a drag mark a channel: within their group
            // they do not stand for each other.
            let smear_apart = (f.kind == FindingKind::Smear) != (t.kind == FindingKind::Smear);
            if f.kind.group() == t.kind.group() && !smear_apart && (d <= reach || tooth_level) {
                // Resolvable defects first, then (a mark merged into a stronger one's channel:
                // found, it is that channel) the channels of merged marks, then the rest.
                let rank = if t.resolvable { 0 } else { 2 };
                pairs.push((rank, d, ti, fi));
                if let Some(into) = merged_into(truth, t) {
                    pairs.push((1, d, into, fi));
                }
            }
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let (mut truth_used, mut finding_used) = (
        vec![false; truth.defects.len()],
        vec![false; findings.len()],
    );
    let mut matched = Vec::new();
    for (_, d, ti, fi) in pairs {
        if !truth_used[ti] && !finding_used[fi] {
            truth_used[ti] = true;
            finding_used[fi] = true;
            matched.push((d, ti, fi));
        }
    }
    let mut kinds: BTreeMap<String, KindScore> = BTreeMap::new();
    let mut errors: BTreeMap<String, Errors> = BTreeMap::new();
    let mut matches = Vec::new();
    for &(d, ti, fi) in &matched {
        let (t, f) = (&truth.defects[ti], &findings[fi]);
        let k = name(t.kind);
        if !t.resolvable {
            kinds.entry(k).or_default().set_aside += 1;
            continue;
        }
        kinds.entry(k.clone()).or_default().tp += 1;
        let size_error = f64::from(f.size_mm - t.size_mm);
        let direction_error = t
            .direction
            .zip(finding_direction(f))
            .and_then(|(a, b)| axis_angle_deg(a, b));
        let e = errors.entry(k).or_default();
        e.centre.push(d);
        e.size.push(size_error.abs());
        e.direction.extend(direction_error);
        matches.push(Match {
            kind: name(t.kind),
            truth: t.id.clone(),
            finding: f.id.clone(),
            distance_mm: d,
            size_error_mm: size_error,
            tooth_right: f.tooth == t.tooth,
            direction_error_deg: direction_error,
        });
    }
    let mut missed = Vec::new();
    for (ti, t) in truth.defects.iter().enumerate() {
        if !truth_used[ti] {
            let s = kinds.entry(name(t.kind)).or_default();
            if t.resolvable {
                s.fn_ += 1;
                missed.push(Unmatched::of_truth(t));
            } else {
                s.set_aside += 1;
            }
        }
    }
    let mut unmatched_findings = Vec::new();
    for (fi, f) in findings.iter().enumerate() {
        if !finding_used[fi] {
            kinds.entry(name(f.kind)).or_default().fp += 1;
            unmatched_findings.push(Unmatched::of_finding(f));
        }
    }
    for (k, s) in kinds.iter_mut() {
        let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        s.precision = ratio(s.tp, s.tp + s.fp);
        s.recall = ratio(s.tp, s.tp + s.fn_);
        if let Some(e) = errors.remove(k) {
            s.median_error_mm = median(e.centre);
            s.median_size_error_mm = median(e.size);
            s.median_direction_error_deg = median(e.direction);
        }
    }
    let right = matches.iter().filter(|m| m.tooth_right).count();
    Score {
        tooth_accuracy: (!matches.is_empty()).then(|| right as f64 / matches.len() as f64),
        kinds,
        matches,
        clean: truth.defects.is_empty(),
        false_alarms: unmatched_findings.len(),
        missed,
        unmatched_findings,
        expected_decision: truth.decision,
        decision,
        margins: Vec::new(),
        tooth_map: None,
    }
}

/// Formats an optional number for a table.
pub fn cell(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |x| format!("{x:.3}"))
}

/// The per-kind table shared by single and suite scores.
pub fn kind_table(kinds: &BTreeMap<String, KindScore>) -> String {
    use std::fmt::Write;
    let mut s = format!(
        "{:<16} {:>5} {:>5} {:>5} {:>6} {:>9} {:>7} {:>9} {:>8} {:>7}\n",
        "kind", "tp", "fp", "fn", "aside", "precision", "recall", "error mm", "size mm", "dir deg"
    );
    for (k, v) in kinds {
        let _ = writeln!(
            s,
            "{k:<16} {:>5} {:>5} {:>5} {:>6} {:>9} {:>7} {:>9} {:>8} {:>7}",
            v.tp,
            v.fp,
            v.fn_,
            v.set_aside,
            cell(v.precision),
            cell(v.recall),
            cell(v.median_error_mm),
            cell(v.median_size_error_mm),
            v.median_direction_error_deg
                .map_or("-".to_string(), |x| format!("{x:.1}"))
        );
    }
    s
}

impl Score {
    /// Adds the margin scores of the report's margin `findings` and `lines` (see
    /// [`crate::marginscore::score_margins`]).
    pub fn with_margins(
        mut self,
        truth: &Truth,
        findings: &[Finding],
        lines: &[imprint_core::finding::MarginLine],
    ) -> Self {
        self.margins = crate::marginscore::score_margins(truth, findings, lines);
        self
    }

    /// A table for a terminal.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = kind_table(&self.kinds);
        let _ = writeln!(
            s,
            "tooth accuracy {}, false alarms {}{}, decision {} (truth {:?})",
            cell(self.tooth_accuracy),
            self.false_alarms,
            if self.clean {
                " on a clean control"
            } else {
                ""
            },
            self.decision.as_deref().unwrap_or("-"),
            self.expected_decision
        );
        for (label, list) in [
            ("missed", &self.missed),
            ("false alarm", &self.unmatched_findings),
        ] {
            for u in list {
                let _ = writeln!(s, "  {label}: {}", u.describe());
            }
        }
        s.push_str(&crate::marginscore::MarginSuiteScore::of(&self.margins).to_text());
        s
    }
}
