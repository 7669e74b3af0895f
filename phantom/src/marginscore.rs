//! Scoring margin (finish line) analysis against a phantom's true preparations: how far the
//! reported line lies from the true one, whether each injected margin flaw was found where
//! it is along the line, how well the captured fraction was estimated, and whether
//! flaw-free preparations stayed free of critical findings.
//!
//! **Matching rule.** Every margin finding on a prepared tooth is placed on the tooth's true
//! line by projecting its path there: the shortest stretch of arc covering the projections.
//! A finding matches a true flaw when the two stretches overlap (pairs with the largest
//! overlap first, one to one). The position error of a match is the larger of its start
//! and end errors, in mm of arc.
//!
//! **Unresolved margins.** Where the report says a margin cannot be judged
//! (`margin_unresolved`: the scan is too coarse to place a finish line), its line is still
//! scored for position, but its captured fraction is no claim and is left out of the
//! captured-fraction error; the suite counts such preparations.

use crate::truth::{TrueDefect, Truth};
use imprint_core::finding::{Finding, FindingKind, MarginLine, Severity};
use imprint_core::util::polyline_project;
use serde::{Deserialize, Serialize};

/// One injected flaw's fate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlawScore {
    /// True defect id.
    pub truth: String,
    /// Its kind (`margin_tissue`, `margin_blur`, `margin_hole`).
    pub kind: String,
    /// Its length along the line, mm.
    pub length_mm: f64,
    /// The finding matched to it, if any.
    pub finding: Option<String>,
    /// The matched finding's kind is the flaw's.
    pub kind_right: bool,
    /// The matched finding's kind.
    #[serde(default)]
    pub reported_kind: Option<String>,
    /// Larger of the start and end errors along the true line, mm (matched flaws).
    pub position_error_mm: Option<f64>,
}

/// One prepared tooth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparationScore {
    /// FDI number.
    pub tooth: u8,
    /// The truth has no margin flaw on it.
    pub flaw_free: bool,
    /// The report holds a line for it.
    pub line_found: bool,
    /// Mean distance from the reported line's points to the true line, mm.
    pub mean_distance_mm: Option<f64>,
    /// 95th percentile of that distance, mm.
    pub p95_distance_mm: Option<f64>,
    /// Fraction of the true line free of flaws.
    pub true_captured: f64,
    /// The reported line's captured fraction.
    pub reported_captured: Option<f64>,
    /// The report says the margin cannot be judged (`margin_unresolved`: the scan is too
    /// coarse); its captured fraction is then no claim and is not scored.
    #[serde(default)]
    pub unresolved: bool,
    /// Critical margin findings on it that match no true flaw.
    pub false_critical: usize,
    /// Its flaws.
    pub flaws: Vec<FlawScore>,
}

impl PreparationScore {
    /// The line meets the accuracy target (mean ≤ 0.1 mm, 95th percentile ≤ 0.2 mm).
    pub fn line_on_target(&self) -> bool {
        matches!((self.mean_distance_mm, self.p95_distance_mm), (Some(m), Some(p)) if m <= 0.1 && p <= 0.2)
    }

    /// |reported − true| captured fraction, percentage points; none where the report holds
    /// no line or says the margin cannot be judged.
    pub fn captured_error_points(&self) -> Option<f64> {
        self.reported_captured
            .filter(|_| !self.unresolved)
            .map(|r| 100.0 * (r - self.true_captured).abs())
    }
}

/// A true line with its cumulative arc lengths.
struct TrueLine<'a> {
    points: &'a [[f32; 3]],
    acc: Vec<f32>,
    total: f32,
}

impl<'a> TrueLine<'a> {
    fn new(points: &'a [[f32; 3]]) -> Self {
        let (acc, total) = crate::prep::arc_lengths(points);
        Self { points, acc, total }
    }

    /// Arc position of the point of the line nearest to `p`, and its distance.
    fn project(&self, p: [f32; 3]) -> Option<(f32, f32)> {
        let (d, seg, f) = polyline_project(p, self.points, true)?;
        let next = if seg + 1 == self.points.len() {
            self.total
        } else {
            self.acc[seg + 1]
        };
        Some((self.acc[seg] + f * (next - self.acc[seg]), d))
    }

    /// The shortest circular stretch `[start, end]` (end may pass `total`) covering the
    /// projections of `path`.
    fn stretch(&self, path: &[[f32; 3]]) -> Option<[f32; 2]> {
        let mut s: Vec<f32> = path
            .iter()
            .filter_map(|p| self.project(*p))
            .map(|x| x.0)
            .collect();
        if s.is_empty() {
            return None;
        }
        s.sort_by(f32::total_cmp);
        let n = s.len();
        // The covering stretch starts after the largest empty gap.
        let (gap_at, _) = (0..n)
            .map(|i| {
                let next = if i + 1 == n {
                    s[0] + self.total
                } else {
                    s[i + 1]
                };
                (i, next - s[i])
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        let start = s[(gap_at + 1) % n];
        let end = s[gap_at];
        let end = if end < start { end + self.total } else { end };
        Some([start, end])
    }

    /// Overlap of two circular stretches, mm.
    fn overlap(&self, a: [f32; 2], b: [f32; 2]) -> f32 {
        [-self.total, 0.0, self.total]
            .iter()
            .map(|shift| (a[1].min(b[1] + shift) - a[0].max(b[0] + shift)).max(0.0))
            .sum()
    }

    /// Circular distance between two arc positions, mm.
    fn apart(&self, a: f32, b: f32) -> f32 {
        let d = (a - b).rem_euclid(self.total);
        d.min(self.total - d)
    }
}

/// The capture kinds (an overlap of two lines is not a capture flaw).
fn is_margin(kind: FindingKind) -> bool {
    matches!(
        kind,
        FindingKind::MarginGap
            | FindingKind::MarginBlur
            | FindingKind::MarginHole
            | FindingKind::MarginTissue
    )
}

/// Scores the report's margin `findings` and `lines` (of the phantom's scan) against every
/// true preparation of `truth`.
pub fn score_margins(
    truth: &Truth,
    findings: &[Finding],
    lines: &[MarginLine],
) -> Vec<PreparationScore> {
    truth
        .preparations
        .iter()
        .map(|p| {
            let flaws: Vec<&TrueDefect> = truth
                .defects
                .iter()
                .filter(|d| d.tooth == Some(p.tooth) && d.arc.is_some() && is_margin(d.kind))
                .collect();
            let found: Vec<&Finding> = findings
                .iter()
                .filter(|f| f.tooth == Some(p.tooth) && is_margin(f.kind))
                .collect();
            let line = lines.iter().find(|l| l.tooth == p.tooth);
            let mut score = score_one(p.tooth, &TrueLine::new(&p.margin), &flaws, &found, line);
            score.unresolved = findings
                .iter()
                .any(|f| f.tooth == Some(p.tooth) && f.kind == FindingKind::MarginUnresolved);
            score
        })
        .collect()
}

fn score_one(
    tooth: u8,
    truth: &TrueLine<'_>,
    flaws: &[&TrueDefect],
    found: &[&Finding],
    line: Option<&MarginLine>,
) -> PreparationScore {
    let mut distances: Vec<f64> = line
        .map(|l| {
            l.points
                .iter()
                .filter_map(|p| truth.project(*p))
                .map(|(_, d)| f64::from(d))
                .collect()
        })
        .unwrap_or_default();
    distances.sort_by(f64::total_cmp);
    let mean =
        (!distances.is_empty()).then(|| distances.iter().sum::<f64>() / distances.len() as f64);
    let p95 = (!distances.is_empty()).then(|| {
        distances[((0.95 * distances.len() as f64).ceil() as usize).clamp(1, distances.len()) - 1]
    });
    let true_arcs: Vec<[f32; 2]> = flaws
        .iter()
        .map(|d| {
            let [a, b] = d.arc.unwrap_or_default();
            let a = a.rem_euclid(truth.total);
            let b = b.rem_euclid(truth.total);
            [a, if b < a { b + truth.total } else { b }]
        })
        .collect();
    let flawed_length: f32 = true_arcs.iter().map(|a| a[1] - a[0]).sum();
    let found_arcs: Vec<Option<[f32; 2]>> = found.iter().map(|f| truth.stretch(&f.path)).collect();
    let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
    for (ti, t) in true_arcs.iter().enumerate() {
        for (fi, f) in found_arcs.iter().enumerate() {
            let o = f.map_or(0.0, |f| truth.overlap(*t, f));
            if o > 0.0 {
                pairs.push((o, ti, fi));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut truth_match = vec![None; flaws.len()];
    let mut finding_used = vec![false; found.len()];
    for (_, ti, fi) in pairs {
        if truth_match[ti].is_none() && !finding_used[fi] {
            truth_match[ti] = Some(fi);
            finding_used[fi] = true;
        }
    }
    let flaw_scores = flaws
        .iter()
        .zip(&true_arcs)
        .zip(&truth_match)
        .map(|((d, t), m)| {
            let matched = m.and_then(|fi| Some((found[fi], found_arcs[fi]?)));
            FlawScore {
                truth: d.id.clone(),
                kind: imprint_core::util::serde_name(&d.kind),
                length_mm: f64::from(t[1] - t[0]),
                finding: matched.map(|(f, _)| f.id.clone()),
                kind_right: matched.is_some_and(|(f, _)| f.kind == d.kind),
                reported_kind: matched.map(|(f, _)| imprint_core::util::serde_name(&f.kind)),
                position_error_mm: matched
                    .map(|(_, a)| f64::from(truth.apart(a[0], t[0]).max(truth.apart(a[1], t[1])))),
            }
        })
        .collect();
    let false_critical = found
        .iter()
        .zip(&finding_used)
        .filter(|(f, used)| !**used && f.severity == Severity::Critical)
        .count();
    PreparationScore {
        tooth,
        flaw_free: flaws.is_empty(),
        line_found: line.is_some(),
        mean_distance_mm: mean,
        p95_distance_mm: p95,
        true_captured: f64::from(1.0 - flawed_length / truth.total.max(1e-6)),
        reported_captured: line.map(|l| f64::from(l.captured_fraction)),
        unresolved: false,
        false_critical,
        flaws: flaw_scores,
    }
}

/// Flaws of one kind over many preparations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlawKindScore {
    /// Injected.
    pub injected: usize,
    /// Matched by a margin finding (of any margin kind).
    pub found: usize,
    /// Matched by a finding of their own kind.
    pub kind_right: usize,
    /// found / injected.
    pub recall: Option<f64>,
    /// Median position error of the matches, mm of arc.
    pub median_position_error_mm: Option<f64>,
    /// Fraction of matches within 0.5 mm of arc at both ends.
    pub within_half_mm: Option<f64>,
}

/// Margin scores summed over preparations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MarginSuiteScore {
    /// Prepared teeth scored.
    pub preparations: usize,
    /// Of which without margin flaws.
    pub flaw_free: usize,
    /// Flaw-free preparations whose line meets mean ≤ 0.1 mm and 95th percentile ≤ 0.2 mm.
    pub lines_on_target: usize,
    /// lines_on_target / flaw_free.
    pub on_target_fraction: Option<f64>,
    /// Median over flaw-free preparations of the line's mean distance, mm.
    pub median_mean_distance_mm: Option<f64>,
    /// Median over flaw-free preparations of the line's 95th-percentile distance, mm.
    pub median_p95_distance_mm: Option<f64>,
    /// Per flaw kind.
    pub flaws: std::collections::BTreeMap<String, FlawKindScore>,
    /// Preparations the report calls unresolved (too coarse to judge).
    #[serde(default)]
    pub unresolved: usize,
    /// Median |reported − true captured fraction| over the judged preparations, points.
    pub median_captured_error_points: Option<f64>,
    /// Largest of those errors, points.
    pub max_captured_error_points: Option<f64>,
    /// Flaw-free preparations with at least one critical margin finding.
    pub flaw_free_with_critical: usize,
    /// Critical margin findings matching no flaw, over all preparations.
    pub false_critical: usize,
}

impl MarginSuiteScore {
    /// Sums per-preparation scores.
    pub fn of<'a>(preps: impl IntoIterator<Item = &'a PreparationScore>) -> Self {
        let preps: Vec<&PreparationScore> = preps.into_iter().collect();
        let free: Vec<&&PreparationScore> = preps.iter().filter(|p| p.flaw_free).collect();
        let mut flaws: std::collections::BTreeMap<String, FlawKindScore> = Default::default();
        let mut errors: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
        for f in preps.iter().flat_map(|p| &p.flaws) {
            let k = flaws.entry(f.kind.clone()).or_default();
            k.injected += 1;
            if let Some(e) = f.position_error_mm {
                k.found += 1;
                k.kind_right += usize::from(f.kind_right);
                errors.entry(f.kind.clone()).or_default().push(e);
            }
        }
        for (kind, k) in flaws.iter_mut() {
            k.recall = (k.injected > 0).then(|| k.found as f64 / k.injected as f64);
            let e = errors.remove(kind).unwrap_or_default();
            k.within_half_mm = (!e.is_empty())
                .then(|| e.iter().filter(|&&x| x <= 0.5).count() as f64 / e.len() as f64);
            k.median_position_error_mm = crate::eval::median(e);
        }
        let captured: Vec<f64> = preps
            .iter()
            .filter_map(|p| p.captured_error_points())
            .collect();
        let on_target = free.iter().filter(|p| p.line_on_target()).count();
        Self {
            preparations: preps.len(),
            flaw_free: free.len(),
            lines_on_target: on_target,
            on_target_fraction: (!free.is_empty()).then(|| on_target as f64 / free.len() as f64),
            median_mean_distance_mm: crate::eval::median(
                free.iter().filter_map(|p| p.mean_distance_mm).collect(),
            ),
            median_p95_distance_mm: crate::eval::median(
                free.iter().filter_map(|p| p.p95_distance_mm).collect(),
            ),
            flaws,
            unresolved: preps.iter().filter(|p| p.unresolved).count(),
            max_captured_error_points: captured.iter().copied().reduce(f64::max),
            median_captured_error_points: crate::eval::median(captured),
            flaw_free_with_critical: free.iter().filter(|p| p.false_critical > 0).count(),
            false_critical: preps.iter().map(|p| p.false_critical).sum(),
        }
    }

    /// A few lines for a terminal (empty without preparations).
    pub fn to_text(&self) -> String {
        use crate::eval::cell;
        use std::fmt::Write;
        if self.preparations == 0 {
            return String::new();
        }
        let mut s = format!(
            "margins: {} preparations ({} flaw-free); lines on target {}/{} (median mean {} mm, \
             median p95 {} mm); captured-fraction error median {} max {} points{}; flaw-free \
             with a critical finding {}, unmatched critical findings {}\n",
            self.preparations,
            self.flaw_free,
            self.lines_on_target,
            self.flaw_free,
            cell(self.median_mean_distance_mm),
            cell(self.median_p95_distance_mm),
            cell(self.median_captured_error_points),
            cell(self.max_captured_error_points),
            if self.unresolved > 0 {
                format!(
                    " ({} unresolved: too coarse to judge, not in the error)",
                    self.unresolved
                )
            } else {
                String::new()
            },
            self.flaw_free_with_critical,
            self.false_critical,
        );
        for (kind, k) in &self.flaws {
            let _ = writeln!(
                s,
                "  {kind:<14} injected {:>3} found {:>3} (kind right {:>3}) recall {} \
                 position error median {} mm, within 0.5 mm {}",
                k.injected,
                k.found,
                k.kind_right,
                cell(k.recall),
                cell(k.median_position_error_mm),
                cell(k.within_half_mm),
            );
        }
        s
    }
}
