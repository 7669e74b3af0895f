//! What a defect's position and size mean for the restoration (DOMAIN.md): on or at the
//! margin of a prepared tooth a void is a rescan; on an occlusal surface or a contact it
//! needs review; elsewhere it is judged by size, with the thresholds as parameters.

use imprint_core::finding::Severity;
use imprint_core::plugin::sdk::{Context, ScanRef};
use imprint_core::tooth::Region;

/// Size thresholds (mm) above which a defect needs review.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// A hole on a tooth.
    pub hole_on_tooth: f32,
    /// A hole on the gingiva.
    pub hole_on_gingiva: f32,
    /// A void or nodule on a tooth.
    pub bubble_on_tooth: f32,
}

/// Where a defect lies.
#[derive(Debug, Clone)]
pub struct Place {
    pub tooth: Option<u8>,
    pub region: Option<Region>,
    /// The tooth is prepared for a crown (the case file says so).
    pub prepared: bool,
}

impl Place {
    /// On a prepared tooth's margin band (a drawn margin's 1 mm band, or, without one, the
    /// cervical third where the finish line lies).
    pub fn at_margin(&self) -> bool {
        self.prepared && matches!(self.region, Some(Region::Margin | Region::Cervical))
    }

    fn on_tooth(&self) -> bool {
        self.tooth.is_some()
    }

    /// ", on the occlusal of 36" style fragment for messages (the host adds the full place).
    pub fn describe(&self) -> String {
        if self.at_margin() {
            " at the margin of a prepared tooth".into()
        } else {
            String::new()
        }
    }
}

/// The severity rules, with the case's prepared teeth and the scan's tooth map.
pub struct Policy<'s> {
    teeth: &'s [u8],
    regions: Vec<Region>,
    prepared: Vec<u8>,
    pub thresholds: Thresholds,
}

impl<'s> Policy<'s> {
    pub fn new(ctx: &Context<'_, '_>, scan: &ScanRef<'s, '_>, thresholds: Thresholds) -> Self {
        let prepared = ctx.prepared_teeth();
        Self {
            teeth: scan.tooth_of_vertex(),
            regions: scan.region_of_vertex(),
            prepared,
            thresholds,
        }
    }

    /// The tooth and region most of `vertices` lie on.
    pub fn place_of(&self, vertices: &[u32]) -> Place {
        let at = imprint_core::toothmap::locate_in(self.teeth, &self.regions, vertices);
        Place {
            tooth: at.tooth,
            region: at.region,
            prepared: at.tooth.is_some_and(|t| self.prepared.contains(&t)),
        }
    }

    pub fn hole_severity(&self, diameter: f32, place: &Place) -> Severity {
        let t = &self.thresholds;
        if place.at_margin() {
            Severity::Critical
        } else if place.on_tooth() && diameter >= t.hole_on_tooth
            || !place.on_tooth() && diameter >= t.hole_on_gingiva
        {
            Severity::Major
        } else {
            Severity::Minor
        }
    }

    pub fn bubble_severity(&self, diameter: f32, place: &Place) -> Severity {
        if place.at_margin() {
            Severity::Critical
        } else if place.on_tooth() && diameter >= self.thresholds.bubble_on_tooth {
            Severity::Major
        } else {
            Severity::Minor
        }
    }

    pub fn why_hole(&self, place: &Place) -> &'static str {
        if place.at_margin() {
            "the finish line is not captured here, so the crown margin cannot be designed"
        } else if place.on_tooth() {
            "the restoration would be designed over a guess of this surface"
        } else {
            "soft-tissue detail is missing here"
        }
    }

    pub fn why_bubble(&self, pit: bool, place: &Place) -> &'static str {
        match (pit, place.at_margin(), place.on_tooth()) {
            (_, true, _) => "a restoration made on it will not seat on the finish line",
            (true, _, true) => {
                "a pit on the model becomes a bump on the restoration's fitting surface"
            }
            (false, _, true) => "a bump on the model becomes a gap under the restoration",
            (_, _, false) => "it distorts the soft tissue a denture or tray rests on",
        }
    }
}
