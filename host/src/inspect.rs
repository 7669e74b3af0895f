//! `imprint inspect`: what a scan file holds — format, counts, bounding box, boundary loops
//! (the outer trim loop told apart from holes), components, non-manifold edges, warnings and
//! timings — as text for a person or JSON for a machine.

use imprint_core::derived::DerivedData;
use imprint_core::io::{self, labels, LoadError};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// One boundary loop as `inspect` reports it.
#[derive(Debug, Serialize)]
pub struct LoopSummary {
    /// Perimeter, mm.
    pub length_mm: f32,
    /// Largest extent, mm.
    pub diameter_mm: f32,
    /// Area of the patch that would close it, mm².
    pub spanning_area_mm2: f32,
    /// Number of boundary vertices.
    pub vertices: usize,
    /// The outer trim boundary (not a hole).
    pub is_outer: bool,
    /// Centre of the loop, mm.
    pub centroid: [f32; 3],
}

/// Everything `inspect` reports about one file.
#[derive(Debug, Serialize)]
pub struct Inspection {
    /// The file.
    pub path: String,
    /// Detected format.
    pub format: &'static str,
    /// File size in bytes.
    pub bytes: u64,
    /// Vertices after welding.
    pub vertices: usize,
    /// Vertices as stored in the file.
    pub raw_vertices: usize,
    /// Triangles.
    pub triangles: usize,
    /// Bounding box minimum and maximum, mm.
    pub bounding_box: [[f32; 3]; 2],
    /// What the file carries besides geometry.
    pub carries: Vec<&'static str>,
    /// Boundary loops, longest first.
    pub boundary_loops: Vec<LoopSummary>,
    /// Connected components.
    pub components: usize,
    /// Edges used by three or more faces.
    pub non_manifold_edges: usize,
    /// Edges whose two faces disagree in orientation.
    pub flipped_edges: usize,
    /// Load and validation warnings.
    pub warnings: Vec<String>,
    /// Time to read, parse, weld and validate, ms.
    pub load_ms: f64,
    /// Time for the topology (edges, loops, components), ms.
    pub topology_ms: f64,
    /// With `--derived`: each derived piece and its time, ms, in the order computed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub derived_ms: Vec<(String, f64)>,
    /// With `--tooth-map`: the map's summary (also written, whole, to the given file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tooth_map: Option<crate::locate::MapSummary>,
}

/// Why `inspect` failed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The scan or its labels could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The tooth map could not be written.
    #[error("{path}: cannot write the tooth map: {source}")]
    Write {
        /// The output file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// What `inspect` does beyond loading.
#[derive(Debug, Clone, Copy, Default)]
pub struct InspectOptions<'a> {
    /// A Teeth3DS-style label sidecar to attach.
    pub labels: Option<&'a Path>,
    /// Compute every piece of derived data, one at a time, and time each.
    pub all_derived: bool,
    /// Write the tooth map in Teeth3DS form to this file.
    pub tooth_map: Option<&'a Path>,
}

/// Loads and inspects a scan.
pub fn inspect(path: &Path, options: InspectOptions<'_>) -> Result<Inspection, InspectError> {
    let (labels_path, all_derived) = (options.labels, options.all_derived);
    let t0 = Instant::now();
    let mut scan = io::load(path)?;
    if let Some(lp) = labels_path {
        let file = labels::read_label_file(lp)?;
        labels::attach(&mut scan, &file, lp)?;
    }
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    let derived = DerivedData::new(&scan);
    let loops = derived.boundary_loops();
    let edges = derived.edges();
    let topology_ms = t1.elapsed().as_secs_f64() * 1e3;
    let derived_ms = if all_derived {
        time_each(&derived)
    } else {
        Vec::new()
    };
    let tooth_map = match options.tooth_map {
        Some(out) => Some(write_tooth_map(&derived, path, out)?),
        None => None,
    };
    let (lo, hi) = scan.bounding_box();
    let carries = [
        ("vertex normals", scan.normals.is_some()),
        ("vertex colours", scan.colors.is_some()),
        ("face colours", scan.face_colors.is_some()),
        ("vertex FDI labels", scan.labels.is_some()),
        ("face labels", scan.face_labels.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, has)| has.then_some(name))
    .collect();
    Ok(Inspection {
        path: path.display().to_string(),
        format: scan.source.format.name(),
        bytes: scan.source.bytes,
        vertices: scan.vertex_count(),
        raw_vertices: scan.source.raw_vertices,
        triangles: scan.triangle_count(),
        bounding_box: [lo, hi],
        carries,
        boundary_loops: loops
            .loops
            .iter()
            .map(|l| LoopSummary {
                length_mm: l.length_mm,
                diameter_mm: l.diameter_mm,
                spanning_area_mm2: l.spanning_area_mm2,
                vertices: l.vertices.len(),
                is_outer: l.is_outer,
                centroid: l.centroid,
            })
            .collect(),
        components: derived.components().count(),
        non_manifold_edges: edges.non_manifold.len(),
        flipped_edges: edges.flipped,
        warnings: scan.warnings.iter().map(|w| w.message.clone()).collect(),
        load_ms,
        topology_ms,
        derived_ms,
        tooth_map,
    })
}

/// Writes the map in Teeth3DS form (see [`imprint_core::toothmap::ToothMap::to_teeth3ds`]).
fn write_tooth_map(
    derived: &DerivedData<'_>,
    scan_path: &Path,
    out: &Path,
) -> Result<crate::locate::MapSummary, InspectError> {
    let map = derived.tooth_map();
    let id = scan_path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let text = serde_json::to_string(&map.to_teeth3ds(id)).unwrap_or_default();
    crate::report::write_atomic(out, text.as_bytes()).map_err(|source| InspectError::Write {
        path: out.display().to_string(),
        source,
    })?;
    Ok(crate::locate::MapSummary::of(map))
}

/// Computes each derived piece not yet computed, timing it (dependencies first).
fn time_each(derived: &DerivedData<'_>) -> Vec<(String, f64)> {
    use imprint_core::derived::DerivedKind;
    DerivedKind::ALL
        .iter()
        .filter(|k| !derived.computed().contains(k))
        .map(|&k| {
            let t = Instant::now();
            derived.ensure(&[k]);
            let name = imprint_core::util::serde_name(&k);
            (name, t.elapsed().as_secs_f64() * 1e3)
        })
        .collect()
}

impl Inspection {
    /// A human-readable summary.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let [lo, hi] = self.bounding_box;
        let _ = writeln!(s, "{}", self.path);
        let _ = writeln!(s, "  format      {} ({} bytes)", self.format, self.bytes);
        let _ = writeln!(
            s,
            "  mesh        {} vertices ({} in file), {} triangles",
            self.vertices, self.raw_vertices, self.triangles
        );
        let _ = writeln!(
            s,
            "  size        {:.2} x {:.2} x {:.2} mm",
            hi[0] - lo[0],
            hi[1] - lo[1],
            hi[2] - lo[2]
        );
        if !self.carries.is_empty() {
            let _ = writeln!(s, "  carries     {}", self.carries.join(", "));
        }
        let outer = self.boundary_loops.iter().filter(|l| l.is_outer).count();
        let _ = writeln!(
            s,
            "  boundary    {} loop(s): {} outer trim, {} hole(s)",
            self.boundary_loops.len(),
            outer,
            self.boundary_loops.len() - outer
        );
        for l in self.boundary_loops.iter().take(10) {
            let what = if l.is_outer { "outer" } else { "hole " };
            let _ = writeln!(
                s,
                "    {what} {:8.2} mm around, {:6.2} mm across, {} vertices",
                l.length_mm, l.diameter_mm, l.vertices
            );
        }
        if self.boundary_loops.len() > 10 {
            let _ = writeln!(s, "    … {} more", self.boundary_loops.len() - 10);
        }
        let _ = writeln!(
            s,
            "  topology    {} component(s), {} non-manifold edge(s), {} flipped edge(s)",
            self.components, self.non_manifold_edges, self.flipped_edges
        );
        for w in &self.warnings {
            let _ = writeln!(s, "  warning     {w}");
        }
        let _ = writeln!(
            s,
            "  time        load {:.1} ms, topology {:.1} ms",
            self.load_ms, self.topology_ms
        );
        for (name, ms) in &self.derived_ms {
            let _ = writeln!(s, "              {name} {ms:.1} ms");
        }
        if let Some(m) = &self.tooth_map {
            let teeth: Vec<String> = m.teeth.iter().map(|t| t.fdi.to_string()).collect();
            let _ = writeln!(
                s,
                "  tooth map   {} jaw, from {}: {}",
                m.jaw.as_deref().unwrap_or("unknown"),
                m.source,
                teeth.join(" ")
            );
            if !m.missing.is_empty() {
                let _ = writeln!(s, "              missing {:?}", m.missing);
            }
            for n in &m.notes {
                let _ = writeln!(s, "              note: {n}");
            }
        }
        s
    }
}
