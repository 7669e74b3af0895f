//! The checklist labs expect, from what the scans and the case can tell: terminal molars
//! present, the teeth the chart expects present, every prepared tooth found, its contacts
//! with the neighbouring teeth captured, and the opposing arch and the bite supplied when the
//! case needs them. Each missing item that matters for
//! what the case is for is also a `checklist_missing` finding, so it weighs in the fit risk.

use crate::case::{CaseFile, Restoration, Role};
use crate::locate::MapSummary;
use imprint_core::finding::{Finding, FindingKind, MarginLine, Severity};
use imprint_core::tooth::{neighbours, Region};
use schemars::JsonSchema;
use serde::Serialize;

/// One checklist item.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Item {
    /// `terminal_molars`, `expected_teeth`, `prepared_teeth`, `contacts`, `opposing_arch`,
    /// `bite`.
    pub item: String,
    /// `ok`, `missing`, `not_needed` or `unknown`.
    pub status: String,
    /// In plain words.
    pub detail: String,
}

fn item(item: &str, status: &str, detail: String) -> Item {
    Item {
        item: item.into(),
        status: status.into(),
        detail,
    }
}

/// What the checklist needs from a run.
pub struct Inputs<'a> {
    /// The case, if any.
    pub case: Option<&'a CaseFile>,
    /// Each scan's role name and tooth-map summary.
    pub scans: &'a [(String, Option<&'a MapSummary>)],
    /// The margin lines traced.
    pub margin_lines: &'a [MarginLine],
    /// The analyzers' findings, placed on teeth and surfaces.
    pub findings: &'a [Finding],
}

/// The checklist, and a finding for each missing item that matters.
pub fn check(inputs: &Inputs<'_>) -> (Vec<Item>, Vec<Finding>) {
    let mut items = Vec::new();
    let mut findings = Vec::new();
    let restoration = inputs.case.and_then(|c| c.restoration);
    let needs_full_arch = matches!(
        restoration,
        Some(
            Restoration::Aligner
                | Restoration::Retainer
                | Restoration::NightGuard
                | Restoration::Denture
                | Restoration::ImmediateDenture
        )
    );
    for (i, (role, map)) in inputs.scans.iter().enumerate() {
        if role == "bite" {
            continue;
        }
        let Some(map) = map.filter(|m| !m.teeth.is_empty()) else {
            continue;
        };
        let molars = terminal_molars(map);
        if let Some(missing) = molars {
            let detail =
                format!("scan {i} ({role}): no molar at the distal end of quadrant(s) {missing}");
            findings.push(missing_finding(
                i,
                if needs_full_arch {
                    Severity::Major
                } else {
                    Severity::Minor
                },
                format!(
                    "Checklist: {detail}; the arch may be cut short{}.",
                    if needs_full_arch {
                        ", and this case needs the full arch"
                    } else {
                        ""
                    }
                ),
            ));
            items.push(item("terminal_molars", "missing", detail));
        } else {
            items.push(item(
                "terminal_molars",
                "ok",
                format!("scan {i} ({role}): a molar ends each side"),
            ));
        }
    }
    if let Some(case) = inputs.case {
        items.extend(expected_teeth(case, inputs.scans));
        items.push(prepared_teeth(case, inputs.margin_lines));
        items.extend(contacts(case, inputs, &mut findings));
        let (arch, bite) = opposing_and_bite(case, restoration, &mut findings);
        items.push(arch);
        items.push(bite);
    }
    (items, findings)
}

/// Quadrants (as text) whose most distal tooth is not a molar, or `None` when every scanned
/// quadrant ends in one.
fn terminal_molars(map: &MapSummary) -> Option<String> {
    let quadrants: std::collections::BTreeSet<u8> = map.teeth.iter().map(|t| t.fdi / 10).collect();
    let short: Vec<String> = quadrants
        .iter()
        .filter(|&&q| {
            let last = map
                .teeth
                .iter()
                .filter(|t| t.fdi / 10 == q)
                .map(|t| t.fdi % 10)
                .max()
                .unwrap_or(0);
            // Permanent quadrants end in a molar (6–8); primary ones (5–8) in 4–5.
            last < if q <= 4 { 6 } else { 4 }
        })
        .map(u8::to_string)
        .collect();
    (!short.is_empty()).then(|| short.join(", "))
}

fn expected_teeth(case: &CaseFile, scans: &[(String, Option<&MapSummary>)]) -> Option<Item> {
    if case.chart.is_empty() {
        return None;
    }
    let found: Vec<u8> = scans
        .iter()
        .filter_map(|(_, m)| *m)
        .flat_map(|m| m.teeth.iter().map(|t| t.fdi))
        .collect();
    let absent: Vec<String> = case
        .chart
        .iter()
        .filter(|c| !c.missing && !found.contains(&c.tooth))
        .map(|c| c.tooth.to_string())
        .collect();
    Some(if absent.is_empty() {
        item(
            "expected_teeth",
            "ok",
            "every tooth the chart lists is on the scans".into(),
        )
    } else {
        item(
            "expected_teeth",
            "missing",
            format!(
                "the chart lists {} but the scans do not show them",
                absent.join(", ")
            ),
        )
    })
}

fn prepared_teeth(case: &CaseFile, lines: &[MarginLine]) -> Item {
    if case.prepared_teeth.is_empty() {
        return item(
            "prepared_teeth",
            "not_needed",
            "no prepared teeth in the case".into(),
        );
    }
    let lost: Vec<String> = case
        .prepared_teeth
        .iter()
        .filter(|p| !lines.iter().any(|l| l.tooth == p.tooth))
        .map(|p| p.tooth.to_string())
        .collect();
    if lost.is_empty() {
        item(
            "prepared_teeth",
            "ok",
            "a finish line was traced on every prepared tooth".into(),
        )
    } else {
        item(
            "prepared_teeth",
            "missing",
            format!(
                "no finish line traced on {} (see the margin findings)",
                lost.join(", ")
            ),
        )
    }
}

/// The contacts of each prepared tooth with its neighbours: each neighbour on the scans (or
/// known to be missing: then there is no contact to capture), and no hole on either surface
/// of the contact. The crown's proximal contacts are designed against these surfaces.
fn contacts(case: &CaseFile, inputs: &Inputs<'_>, findings: &mut Vec<Finding>) -> Option<Item> {
    use Restoration::*;
    let needs = matches!(
        case.restoration,
        Some(Crown | Bridge | InlayOnlay | Implant)
    );
    if case.prepared_teeth.is_empty() || !needs {
        return None;
    }
    let maps: Vec<&MapSummary> = inputs.scans.iter().filter_map(|(_, m)| *m).collect();
    // Something stands beside the preparation on that side: any tooth past it in that
    // direction, so that an estimated map's numbering slip is not taken for a missing tooth.
    let present = |prep: u8, next: u8| {
        maps.iter().any(|m| {
            m.teeth
                .iter()
                .any(|x| x.fdi == next || past(prep, next, x.fdi))
        })
    };
    let known_missing = |t: u8| {
        maps.iter().any(|m| m.missing.contains(&t))
            || case.chart.iter().any(|c| c.tooth == t && c.missing)
    };
    let holed = |t: u8, surface: Region| {
        inputs.findings.iter().any(|f| {
            matches!(f.kind, FindingKind::Hole | FindingKind::MarginHole)
                && f.tooth == Some(t)
                && f.surface == Some(surface)
        })
    };
    let mut absent = Vec::new();
    let mut holes = Vec::new();
    for prep in &case.prepared_teeth {
        for (next, own, theirs) in neighbours(prep.tooth) {
            if known_missing(next) || prepared(case, next) {
                continue;
            }
            if !present(prep.tooth, next) {
                // Third molars are often never erupted or long extracted, without a note in
                // the chart: a second molar's crown then has no distal contact.
                if next % 10 == 8 {
                    continue;
                }
                absent.push(format!("{next} (beside {})", prep.tooth));
            } else if holed(next, theirs) || holed(prep.tooth, own) {
                holes.push(format!("{}/{next}", prep.tooth));
            }
        }
    }
    if absent.is_empty() && holes.is_empty() {
        return Some(item(
            "contacts",
            "ok",
            "every prepared tooth's neighbours are on the scans, their contact surfaces whole"
                .into(),
        ));
    }
    let mut parts = Vec::new();
    if !absent.is_empty() {
        let detail = format!("not on the scans: {}", absent.join(", "));
        findings.push(missing_finding(
            0,
            Severity::Major,
            format!("Checklist: the neighbouring tooth {detail}; the crown's contact with it cannot be designed. Rescan so the arch reaches past the preparation, or mark the tooth missing in the chart."),
        ));
        parts.push(detail);
    }
    if !holes.is_empty() {
        // The hole itself is already a finding; the item only records the consequence.
        parts.push(format!("holes at the contact {}", holes.join(", ")));
    }
    Some(item("contacts", "missing", parts.join("; ")))
}

/// `other` lies past `prep` on the side of its neighbour `next`: further along the same
/// quadrant, or (for a central incisor's neighbour across the midline) in that quadrant.
fn past(prep: u8, next: u8, other: u8) -> bool {
    if other / 10 != next / 10 {
        return false;
    }
    if next / 10 != prep / 10 {
        return true;
    }
    if next > prep {
        other > prep
    } else {
        other < prep
    }
}

/// The tooth is prepared too: the contact between two preparations is the lab's to make
/// (two crowns or a bridge), not a surface to capture.
fn prepared(case: &CaseFile, tooth: u8) -> bool {
    case.prepared_teeth.iter().any(|p| p.tooth == tooth)
}

/// The opposing arch and the bite: needed for crowns, bridges, implants and dentures.
fn opposing_and_bite(
    case: &CaseFile,
    restoration: Option<Restoration>,
    findings: &mut Vec<Finding>,
) -> (Item, Item) {
    use Restoration::*;
    let needed = matches!(
        restoration,
        Some(Crown | Bridge | Implant | Denture | ImmediateDenture | InlayOnlay)
    );
    let roles: Vec<Role> = case.scans.iter().map(|s| s.role).collect();
    let both = roles.contains(&Role::Upper) && roles.contains(&Role::Lower);
    // An intraoral scanner exports both arches in the relation its buccal bite scan set:
    // the relation is there (the bite analyzer checks it is plausible).
    let bite = roles.contains(&Role::Bite)
        || (both && case.scanned == Some(crate::case::Scanned::Intraoral));
    let what = restoration.map_or("case".to_string(), |r| imprint_core::util::serde_name(&r));
    let mut judge = |name: &str, present: bool, missing_text: &str| {
        if !needed {
            return item(name, "not_needed", format!("a {what} does not need it"));
        }
        if present {
            let detail = if name == "bite" && !roles.contains(&Role::Bite) {
                "the intraoral arches as exported, in their scanned relation"
            } else {
                "supplied"
            };
            return item(name, "ok", detail.into());
        }
        let detail = format!("a {what} needs {missing_text}, and the case has none");
        findings.push(missing_finding(
            0,
            Severity::Major,
            format!("Checklist: {detail}; the restoration's height and contacts cannot be set."),
        ));
        item(name, "missing", detail)
    };
    (
        judge("opposing_arch", both, "the opposing arch"),
        judge("bite", bite, "a bite registration"),
    )
}

fn missing_finding(scan: usize, severity: Severity, message: String) -> Finding {
    let mut f = Finding::new(
        FindingKind::ChecklistMissing,
        severity,
        [0.0; 3],
        0.0,
        message,
    );
    f.scan = scan;
    f.analyzer = "checklist".into();
    f
}
