//! Running an accuracy suite: every phantom of a suite file generated in memory, analyzed by
//! the discovered plugins exactly as `imprint analyze` would, and scored against its truth.

use crate::case::{
    CaseFile, CaseScan, ChartEntry, ImpressionKind, Material, PreparedTooth, Role,
    Scanned as CaseScanned,
};
use crate::run::{report_for, Loaded};
use imprint_core::derived::DerivedData;
use imprint_phantom::bite::{generate_bite, BitePhantom, BiteSpec};
use imprint_phantom::bitescore::{score_bite, BiteScore, BiteSuiteScore};
use imprint_phantom::eval::{score, Score};
use imprint_phantom::mapscore::{score_map, MapScore, MapSuiteScore};
use imprint_phantom::suite::{aggregate, margins_by_group, SuiteScore, SuiteSpec};
use imprint_phantom::{generate, Jaw, Scanned};

/// Scores every phantom of `spec` with the loaded plugins; returns the per-phantom scores
/// (with their group names) and the aggregate.
pub fn run_suite(
    spec: &SuiteSpec,
    loaded: &Loaded<'_>,
    threads: usize,
) -> (Vec<(String, u64, Score)>, SuiteScore) {
    let mut scores = Vec::new();
    for (group, phantom_spec) in spec.phantoms() {
        let phantom = generate(&phantom_spec);
        let map = score_tooth_map(&phantom, phantom_spec.scanned);
        let case = case_for(&phantom.truth, phantom_spec.scanned);
        let mut scan = phantom.scan;
        if !spec.labels {
            scan.labels = None;
        }
        if phantom_spec.scanned == Scanned::Impression {
            // As `analyze` does for an impression scan: back to the positive surface.
            scan.reverse_winding();
        }
        let report = report_for(&[(scan, String::new())], Some(&case), loaded, threads);
        let decision = Some(imprint_core::util::serde_name(&report.decision));
        let findings: Vec<_> = report
            .findings
            .into_iter()
            .filter(|f| f.scan == 0)
            .collect();
        let lines: Vec<_> = report
            .margin_lines
            .into_iter()
            .filter(|l| l.scan == 0)
            .collect();
        let mut s = score(&phantom.truth, &findings, decision).with_margins(
            &phantom.truth,
            &findings,
            &lines,
        );
        s.tooth_map = Some(map);
        scores.push((group, phantom_spec.seed, s));
    }
    let all: Vec<Score> = scores.iter().map(|s| s.2.clone()).collect();
    let mut total = aggregate(&all);
    let bites = spec.bite_cases();
    if !bites.is_empty() {
        let each: Vec<(String, BiteScore)> = bites
            .iter()
            .map(|(g, b)| (g.clone(), run_bite_case(b, spec.labels, loaded, threads)))
            .collect();
        let all: Vec<BiteScore> = each.iter().map(|(_, s)| s.clone()).collect();
        total.bite = Some(BiteSuiteScore::of(&all));
        for group in &spec.bite_groups {
            let mine: Vec<BiteScore> = each
                .iter()
                .filter(|(g, _)| *g == group.name)
                .map(|(_, s)| s.clone())
                .collect();
            total
                .bite_by_group
                .insert(group.name.clone(), BiteSuiteScore::of(&mine));
        }
    }
    let maps: Vec<MapScore> = all.iter().filter_map(|s| s.tooth_map.clone()).collect();
    total.tooth_map = (!maps.is_empty()).then(|| MapSuiteScore::of(&maps));
    total.margins_by_group = margins_by_group(scores.iter().map(|(g, _, s)| (g.as_str(), s)));
    (scores, total)
}

/// Generates one bite case, analyzes its three scans together as `imprint analyze` would,
/// and scores the report.
pub fn run_bite_case(
    spec: &BiteSpec,
    labels: bool,
    loaded: &Loaded<'_>,
    threads: usize,
) -> BiteScore {
    let phantom = generate_bite(spec);
    let report = analyze_bite_case(&phantom, labels, loaded, threads);
    score_bite(&phantom, &report.findings)
}

/// The report on a bite phantom's scans (labels withheld unless `labels`).
pub fn analyze_bite_case(
    phantom: &BitePhantom,
    labels: bool,
    loaded: &Loaded<'_>,
    threads: usize,
) -> crate::report::Report {
    let case: CaseFile = serde_json::from_value(phantom.case_json()).unwrap_or_default();
    let mut scans: Vec<(imprint_core::Scan, String)> = [&phantom.upper, &phantom.lower]
        .into_iter()
        .chain(phantom.bite.as_ref())
        .map(|s| (s.clone(), String::new()))
        .collect();
    if !labels {
        scans.iter_mut().for_each(|(s, _)| s.labels = None);
    }
    report_for(&scans, Some(&case), loaded, threads)
}

/// The tooth map of the phantom estimated from its geometry alone (its labels withheld),
/// scored against the truth.
fn score_tooth_map(phantom: &imprint_phantom::Phantom, scanned: Scanned) -> MapScore {
    let mut scan = phantom.scan.clone();
    let labels = scan.labels.take().unwrap_or_default();
    if scanned == Scanned::Impression {
        scan.reverse_winding();
    }
    let derived = DerivedData::new(&scan);
    let map = derived.tooth_map();
    score_map(
        &phantom.truth,
        &labels,
        &scan.positions,
        derived.vertex_normals(),
        map,
    )
}

/// The case file a lab would send with the phantom (prepared teeth named; their margins are
/// the analyzers' to find).
fn case_for(truth: &imprint_phantom::Truth, scanned: Scanned) -> CaseFile {
    let prepared_teeth: Vec<PreparedTooth> = truth
        .preparations
        .iter()
        .map(|p| PreparedTooth {
            tooth: p.tooth,
            margin: None,
        })
        .collect();
    let role = if truth.jaw == Jaw::Upper {
        Role::Upper
    } else {
        Role::Lower
    };
    CaseFile {
        scans: vec![CaseScan {
            path: "scan.stl".into(),
            role,
        }],
        // One scan judged alone: no restoration named, so the checklist does not ask for
        // the opposing arch and bite the phantom does not have.
        restoration: None,
        prepared_teeth,
        chart: truth
            .chart
            .iter()
            .map(|c| ChartEntry {
                tooth: c.tooth,
                mobility: Some(c.mobility),
                missing: false,
                periodontal: None,
            })
            .collect(),
        impression: Some(ImpressionKind::Final),
        scanned: Some(match scanned {
            Scanned::Intraoral => CaseScanned::Intraoral,
            Scanned::Cast => CaseScanned::Cast,
            Scanned::Impression => CaseScanned::Impression,
        }),
        material: Some(if scanned == Scanned::Intraoral {
            Material::Digital
        } else {
            Material::Vps
        }),
        ..Default::default()
    }
}
