//! Accuracy suites: a committed TOML file (e.g. `eval/suite.toml`) names groups of phantoms
//! (seed ranges, defect mixes, what was scanned); the host generates each in memory, analyzes
//! it, and [`aggregate`] turns the per-phantom scores into one table per finding kind, false
//! alarms per clean control, and the decision confusion matrix.

use crate::eval::{cell, kind_table, median, KindScore, Score};
use crate::{DefectMix, PhantomSpec, Scanned};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One group of phantoms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// What the group is for.
    pub name: String,
    /// First seed.
    pub first_seed: u64,
    /// How many consecutive seeds.
    pub count: u64,
    /// `random`, `clean`, or `holes=N,voids=N,nodules=N,spikes=N`.
    #[serde(default = "random")]
    pub defects: String,
    /// What was scanned.
    #[serde(default)]
    pub scanned: Scanned,
    /// Approximate triangles per phantom, when not the suite's (e.g. finer meshes for
    /// margin lines, as an intraoral scanner captures a preparation).
    #[serde(default)]
    pub triangles: Option<usize>,
}

fn random() -> String {
    "random".into()
}

/// One group of bite cases (upper and lower arches in occlusion with a bite record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BiteGroup {
    /// What the group is for.
    pub name: String,
    /// First seed.
    pub first_seed: u64,
    /// How many consecutive seeds.
    pub count: u64,
    /// `random` (record, misregistration and preparation drawn from the seed), `buccal`,
    /// `wax` or `none` (then correct bites, unless `misregister` is given).
    #[serde(default = "random")]
    pub record: String,
    /// Misregister every case by `SHIFT_MM[,ROTATION_DEG]` (directions from the seed).
    #[serde(default)]
    pub misregister: Option<String>,
    /// Approximate triangles per arch, when not the suite's.
    #[serde(default)]
    pub triangles: Option<usize>,
}

impl BiteGroup {
    /// The spec of the case with `seed`.
    pub fn spec(&self, seed: u64, triangles: usize) -> Result<crate::bite::BiteSpec, String> {
        use crate::bite::{BiteRecord, BiteSpec, Motion};
        let mut spec = BiteSpec::random(seed, self.triangles.unwrap_or(triangles));
        let fixed = match self.record.as_str() {
            "random" => None,
            "buccal" => Some(BiteRecord::Buccal),
            "wax" => Some(BiteRecord::Wax),
            "none" => Some(BiteRecord::None),
            other => {
                return Err(format!(
                    "bite group `{}`: record `{other}` (random, buccal, wax or none)",
                    self.name
                ))
            }
        };
        if let Some(record) = fixed {
            spec.record = record;
            spec.misregistration = None;
        }
        if let Some(text) = &self.misregister {
            spec.misregistration = Some(
                Motion::parse(seed, text)
                    .map_err(|e| format!("bite group `{}`: {e}", self.name))?,
            );
        }
        Ok(spec)
    }
}

/// A suite file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteSpec {
    /// Approximate triangles per phantom.
    pub triangles: usize,
    /// Hand the phantom's per-vertex labels to the analyzers (as a lab's labelled export
    /// would); without them, analyzers see no tooth numbers.
    #[serde(default)]
    pub labels: bool,
    /// The groups.
    #[serde(rename = "group", default)]
    pub groups: Vec<Group>,
    /// The bite groups.
    #[serde(rename = "bite_group", default)]
    pub bite_groups: Vec<BiteGroup>,
}

impl SuiteSpec {
    /// Parses a suite file's text; errors name the line and field.
    pub fn parse(text: &str) -> Result<Self, String> {
        let spec: SuiteSpec = toml::from_str(text).map_err(|e| e.to_string())?;
        for g in &spec.groups {
            DefectMix::parse(&g.defects)
                .map_err(|e| format!("group `{}`: defects: {e}", g.name))?;
        }
        for g in &spec.bite_groups {
            g.spec(g.first_seed, spec.triangles)?;
        }
        Ok(spec)
    }

    /// Every bite case of the suite, with its group's name.
    pub fn bite_cases(&self) -> Vec<(String, crate::bite::BiteSpec)> {
        self.bite_groups
            .iter()
            .flat_map(|g| {
                (g.first_seed..g.first_seed + g.count).filter_map(move |seed| {
                    Some((g.name.clone(), g.spec(seed, self.triangles).ok()?))
                })
            })
            .collect()
    }

    /// Every phantom of the suite, with its group's name.
    pub fn phantoms(&self) -> Vec<(String, PhantomSpec)> {
        self.groups
            .iter()
            .flat_map(|g| {
                (g.first_seed..g.first_seed + g.count).map(move |seed| {
                    let spec = PhantomSpec {
                        seed,
                        triangles: g.triangles.unwrap_or(self.triangles),
                        jaw: None,
                        defects: DefectMix::parse(&g.defects).ok().flatten(),
                        scanned: g.scanned,
                        random_pose: true,
                    };
                    (g.name.clone(), spec)
                })
            })
            .collect()
    }
}

/// A whole suite's score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SuiteScore {
    /// Phantoms scored.
    pub phantoms: usize,
    /// Of which clean controls.
    pub clean: usize,
    /// Per finding kind, summed over phantoms; errors are medians over all matches.
    pub kinds: BTreeMap<String, KindScore>,
    /// Margin lines and flaws of every prepared tooth.
    pub margins: crate::marginscore::MarginSuiteScore,
    /// False alarms per clean control (mean).
    pub false_alarms_per_clean_scan: Option<f64>,
    /// Fraction of matches with the right tooth.
    pub tooth_accuracy: Option<f64>,
    /// `confusion[truth][report]` counts of decisions.
    pub decision_confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// The tooth map against the truth (labels withheld), when it was scored.
    #[serde(default)]
    pub tooth_map: Option<crate::mapscore::MapSuiteScore>,
    /// The bite cases, when the suite has any.
    #[serde(default)]
    pub bite: Option<crate::bitescore::BiteSuiteScore>,
    /// The bite cases of each bite group.
    #[serde(default)]
    pub bite_by_group: BTreeMap<String, crate::bitescore::BiteSuiteScore>,
    /// Margin scores of each group that has prepared teeth (groups differ in form and
    /// resolution, so their figures mean more apart than summed).
    #[serde(default)]
    pub margins_by_group: BTreeMap<String, crate::marginscore::MarginSuiteScore>,
}

impl SuiteScore {
    /// The decision rates a gate is judged by: of the scans the truth accepts, the share
    /// accepted and the number rejected; of those it rejects, the share rejected and the
    /// number accepted; of those it sends to review, the share reviewed or rejected.
    ///
    /// ```
    /// use imprint_phantom::suite::SuiteScore;
    /// let mut s = SuiteScore::default();
    /// s.decision_confusion.entry("accept".into()).or_default().insert("accept".into(), 9);
    /// s.decision_confusion.entry("accept".into()).or_default().insert("reject".into(), 1);
    /// s.decision_confusion.entry("reject".into()).or_default().insert("reject".into(), 4);
    /// let line = s.decision_rates().unwrap_or_default();
    /// assert!(line.contains("truth accept 10: accepted 90% (9), rejected 1"), "{line}");
    /// assert!(line.contains("truth reject 4: rejected 100%, accepted 0"), "{line}");
    /// ```
    pub fn decision_rates(&self) -> Option<String> {
        let row = |truth: &str| self.decision_confusion.get(truth);
        let count = |truth: &str, report: &str| {
            row(truth).and_then(|r| r.get(report)).copied().unwrap_or(0)
        };
        let total = |truth: &str| row(truth).map_or(0, |r| r.values().sum::<usize>());
        let share = |n: usize, of: usize| {
            if of == 0 {
                "-".to_string()
            } else {
                format!("{:.0}%", 100.0 * n as f64 / of as f64)
            }
        };
        if self.decision_confusion.is_empty() {
            return None;
        }
        let (accept, reject, review) = (total("accept"), total("reject"), total("review"));
        Some(format!(
            "decision rates: truth accept {accept}: accepted {} ({}), rejected {}; truth reject {reject}: rejected {}, accepted {}; truth review {review}: reviewed or rejected {}",
            share(count("accept", "accept"), accept),
            count("accept", "accept"),
            count("accept", "reject"),
            share(count("reject", "reject"), reject),
            count("reject", "accept"),
            share(count("review", "review") + count("review", "reject"), review),
        ))
    }
}

/// Margin scores per group, from `(group, score)` pairs; groups without prepared teeth are
/// left out.
pub fn margins_by_group<'a>(
    scores: impl IntoIterator<Item = (&'a str, &'a Score)>,
) -> BTreeMap<String, crate::marginscore::MarginSuiteScore> {
    let mut groups: BTreeMap<String, Vec<&Score>> = BTreeMap::new();
    for (group, score) in scores {
        groups.entry(group.to_string()).or_default().push(score);
    }
    groups
        .into_iter()
        .map(|(g, s)| {
            (
                g,
                crate::marginscore::MarginSuiteScore::of(s.iter().flat_map(|x| &x.margins)),
            )
        })
        .filter(|(_, m)| m.preparations > 0)
        .collect()
}

/// Sums per-phantom scores into one suite score.
pub fn aggregate(scores: &[Score]) -> SuiteScore {
    let mut kinds: BTreeMap<String, KindScore> = BTreeMap::new();
    for s in scores {
        for (k, v) in &s.kinds {
            let e = kinds.entry(k.clone()).or_default();
            e.tp += v.tp;
            e.fp += v.fp;
            e.fn_ += v.fn_;
            e.set_aside += v.set_aside;
        }
    }
    for (k, e) in kinds.iter_mut() {
        let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        e.precision = ratio(e.tp, e.tp + e.fp);
        e.recall = ratio(e.tp, e.tp + e.fn_);
        let of_kind = || {
            scores
                .iter()
                .flat_map(|s| s.matches.iter().filter(|m| &m.kind == k))
        };
        e.median_error_mm = median(of_kind().map(|m| m.distance_mm).collect());
        e.median_size_error_mm = median(of_kind().map(|m| m.size_error_mm.abs()).collect());
        e.median_direction_error_deg =
            median(of_kind().filter_map(|m| m.direction_error_deg).collect());
    }
    let clean: Vec<&Score> = scores.iter().filter(|s| s.clean).collect();
    let matches: Vec<_> = scores.iter().flat_map(|s| &s.matches).collect();
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for s in scores {
        let truth = imprint_core::util::serde_name(&s.expected_decision);
        let row = confusion.entry(truth).or_default();
        *row.entry(s.decision.clone().unwrap_or_else(|| "none".into()))
            .or_default() += 1;
    }
    SuiteScore {
        phantoms: scores.len(),
        clean: clean.len(),
        kinds,
        margins: crate::marginscore::MarginSuiteScore::of(scores.iter().flat_map(|s| &s.margins)),
        false_alarms_per_clean_scan: (!clean.is_empty()).then(|| {
            clean.iter().map(|s| s.false_alarms).sum::<usize>() as f64 / clean.len() as f64
        }),
        tooth_accuracy: (!matches.is_empty()).then(|| {
            matches.iter().filter(|m| m.tooth_right).count() as f64 / matches.len() as f64
        }),
        decision_confusion: confusion,
        tooth_map: None,
        bite: None,
        bite_by_group: BTreeMap::new(),
        margins_by_group: BTreeMap::new(),
    }
}

impl SuiteScore {
    /// A table for a terminal.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = format!(
            "{} phantoms ({} clean controls)\n",
            self.phantoms, self.clean
        );
        s.push_str(&kind_table(&self.kinds));
        let _ = writeln!(
            s,
            "false alarms per clean scan {}, tooth accuracy {}",
            cell(self.false_alarms_per_clean_scan),
            cell(self.tooth_accuracy)
        );
        let _ = writeln!(
            s,
            "decisions (truth -> report): {:?}",
            self.decision_confusion
        );
        if let Some(line) = self.decision_rates() {
            let _ = writeln!(s, "{line}");
        }
        s.push_str(&self.margins.to_text());
        for (group, m) in &self.margins_by_group {
            let _ = write!(s, "  [{group}] {}", m.to_text());
        }
        if let Some(m) = &self.tooth_map {
            s.push_str(&m.to_text());
        }
        if let Some(b) = &self.bite {
            s.push_str(&b.to_text());
        }
        for (group, b) in &self.bite_by_group {
            let _ = write!(s, "  [{group}] {}", b.to_text());
        }
        s
    }
}
