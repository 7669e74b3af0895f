//! `voids`: holes (missing data), voids (pits) and nodules (bumps) — the most common
//! impression failures — with how much each matters where it lies. Spikes (isolated outlier
//! vertices) are flagged separately by the `spikes` analyzer that ships beside this one.
//!
//! Holes are the boundary loops the host's topology does not take for the outer trim
//! boundary (it decides with evidence, never by length alone), plus the trim boundary where
//! it runs across a tooth for 2 mm or more (a crown cut off by the scan's edge); the rim of
//! a separate piece under 15 mm across is not a scan edge (a second sheet over the surface,
//! reported by `drag-marks` as a double surface, or a loose fragment). Voids and
//! nodules: see `bumps.rs`. Everything runs on the host's shared derived data (boundary
//! loops, adjacency, normals, the tooth map); nothing is copied and no BVH is built.
//!
//! **What applies to what.** Bubbles and nodules come from impression material: on an
//! intraoral scan (the case says `scanned: intraoral`) only holes and spikes are reported.
//! Without a case file nothing is assumed and every check runs.
//!
//! **Severity by position** (DOMAIN.md): on a prepared tooth's margin band → critical; on a
//! tooth above the size thresholds → major; otherwise minor. The thresholds are parameters;
//! their defaults: a 1 mm hole on a tooth is as wide as a cusp tip or a contact area and
//! cannot be guessed; on the gingiva, 3 mm is where a denture or tray border loses its seat;
//! a 0.5 mm bubble on a tooth is about ten times the fit tolerance of a crown (~50 µm), so
//! it shows in the fit; a 0.5 mm spike rises above a crown's cement space.

mod bumps;
mod geometry;
mod holes;
mod policy;

use imprint_core::derived::DerivedKind;
use imprint_core::finding::{Finding, FindingKind};
use imprint_core::plugin::sdk::{Analyzer, Context};
use imprint_core::plugin::{Manifest, Parameter};
use policy::{Policy, Thresholds};

#[derive(Default)]
struct Voids;

impl Analyzer for Voids {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "voids".into(),
            name: "Voids, holes, nodules and spikes".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            interface_version: String::new(),
            kinds: vec![FindingKind::Hole, FindingKind::Void, FindingKind::Nodule],
            needs: vec![
                DerivedKind::BoundaryLoops,
                DerivedKind::Adjacency,
                DerivedKind::VertexNormals,
                DerivedKind::ToothMap,
            ],
            parameters: vec![
                Parameter::new("min_hole_mm", 0.3, "Smallest hole reported (across), mm."),
                Parameter::new("major_hole_on_tooth_mm", 1.0, "A hole on a tooth this wide needs review (a cusp tip or a contact area)."),
                Parameter::new("major_hole_on_gingiva_mm", 3.0, "A hole on the gingiva this wide needs review (a denture or tray border loses its seat)."),
                Parameter::new("major_bubble_on_tooth_mm", 0.5, "A void or nodule on a tooth this wide needs review (~10x a crown's fit tolerance)."),
                Parameter::new("min_bubble_depth_mm", 0.05, "Smallest void depth or nodule height reported, mm (raised to 4x the scan's noise)."),
                Parameter::new("min_bubble_mm", 0.3, "Smallest void or nodule reported (across), mm (raised to 3 edge lengths)."),
                Parameter::new("max_bubble_mm", 2.5, "Wider round departures are not bubbles (cusps and fossae are 2.5 mm and wider; a wider distortion is another defect)."),
            ],
        }
    }

    fn analyze(&self, ctx: &Context<'_, '_>) -> Result<Vec<Finding>, String> {
        ctx.in_pool(|| self.analyze_in_pool(ctx))?
    }
}

impl Voids {
    fn analyze_in_pool(&self, ctx: &Context<'_, '_>) -> Result<Vec<Finding>, String> {
        let scan = ctx.scan();
        let get = |name: &str, default: f64| ctx.param_f64(name).unwrap_or(default) as f32;
        let thresholds = Thresholds {
            hole_on_tooth: get("major_hole_on_tooth_mm", 1.0),
            hole_on_gingiva: get("major_hole_on_gingiva_mm", 3.0),
            bubble_on_tooth: get("major_bubble_on_tooth_mm", 0.5),
        };
        let policy = Policy::new(ctx, &scan, thresholds);
        let mut findings = holes::holes(&scan, &policy, get("min_hole_mm", 0.3));
        let intraoral = ctx.case()["scanned"].as_str() == Some("intraoral");
        if !intraoral {
            let settings = bumps::Settings {
                min_depth: get("min_bubble_depth_mm", 0.05),
                min_diameter: get("min_bubble_mm", 0.3),
                max_diameter: get("max_bubble_mm", 2.5),
            };
            let (found, _noise) = bumps::find(&scan, &settings);
            findings.extend(found.iter().map(|b| bumps::finding(b, &policy)));
        }
        Ok(findings)
    }
}

imprint_core::export_analyzer!(Voids);
