//! Scan snapshots: the host's scan and derived data written once to a file that worker
//! processes memory-map, so a plugin in a worker reads the very arrays the host computed
//! (positions, normals, curvature, adjacency, tooth map, BVH…) instead of loading the scan
//! and deriving them again. Every worker maps the same file, so the page cache holds one copy
//! for all of them.
//!
//! **Layout** (native byte order, checked by a marker): the magic `IMPRSNAP`, a version, a
//! byte-order marker and a section count; then a table of sections (a 32-byte name, an
//! offset and a length in bytes); then the sections, each starting on a 64-byte boundary.
//! A section is a plain array (`f32`, `u32`, `[f32; 3]`, `[u32; 3]` or bytes) or UTF-8 text.
//! Reading checks the header, the table and each section's size and alignment, and says
//! which file and which section is wrong; it never panics on a damaged file.

use crate::run::NoSpatial;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::sabi_types::RRef;
use abi_stable::std_types::{RSlice, RStr};
use bytemuck::Pod;
use imprint_core::derived::{Bvh, BvhNode};
use imprint_core::plugin::{ScanView, SpatialQuery_TO};
use memmap2::Mmap;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"IMPRSNAP";
const VERSION: u32 = 1;
const BYTE_ORDER: u32 = 0x0102_0304;
const NAME: usize = 32;
const ALIGN: usize = 64;
/// Magic, version, byte-order marker, count.
const HEADER: usize = 8 + 4 + 4 + 4;
/// Name, offset, length.
const ENTRY: usize = NAME + 8 + 8;

/// A snapshot that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file cannot be created, written, opened or mapped.
    #[error("{path}: {source}")]
    Io {
        /// The snapshot file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not a snapshot this build can read, or a section is damaged.
    #[error("{path}: {what}")]
    Malformed {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong, with the section or offset.
        what: String,
    },
}

/// One section to write: its name and its bytes.
pub struct Section<'a> {
    name: &'static str,
    bytes: &'a [u8],
}

impl<'a> Section<'a> {
    /// A section holding a plain array.
    pub fn array<T: Pod>(name: &'static str, items: &'a [T]) -> Self {
        Self {
            name,
            bytes: bytemuck::cast_slice(items),
        }
    }

    /// A section holding text.
    pub fn text(name: &'static str, text: &'a str) -> Self {
        Self {
            name,
            bytes: text.as_bytes(),
        }
    }
}

/// Writes `sections` to `path` (names must be unique and at most 32 bytes).
pub fn write(path: &Path, sections: &[Section<'_>]) -> Result<(), SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut head = Vec::with_capacity(HEADER + ENTRY * sections.len());
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&VERSION.to_ne_bytes());
    head.extend_from_slice(&BYTE_ORDER.to_ne_bytes());
    head.extend_from_slice(&(sections.len() as u32).to_ne_bytes());
    let mut offset = align(HEADER + ENTRY * sections.len());
    let mut offsets = Vec::with_capacity(sections.len());
    let mut end = HEADER + ENTRY * sections.len();
    for s in sections {
        let mut name = [0u8; NAME];
        let n = s.name.len().min(NAME);
        name[..n].copy_from_slice(&s.name.as_bytes()[..n]);
        head.extend_from_slice(&name);
        head.extend_from_slice(&(offset as u64).to_ne_bytes());
        head.extend_from_slice(&(s.bytes.len() as u64).to_ne_bytes());
        offsets.push(offset);
        end = offset + s.bytes.len();
        offset = align(end);
    }
    #[cfg(unix)]
    {
        // Sections written side by side at their offsets (the gaps read as zeros): about
        // twice as fast as one stream on 2 cores.
        use rayon::prelude::*;
        use std::os::unix::fs::FileExt;
        file.set_len(end as u64).map_err(io)?;
        file.write_all_at(&head, 0).map_err(io)?;
        sections
            .par_iter()
            .zip(&offsets)
            .try_for_each(|(s, &start)| file.write_all_at(s.bytes, start as u64))
            .map_err(io)
    }
    #[cfg(not(unix))]
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        out.write_all(&head).map_err(io)?;
        let mut at = head.len();
        for (s, &start) in sections.iter().zip(&offsets) {
            out.write_all(&[0u8; ALIGN][..start - at]).map_err(io)?;
            out.write_all(s.bytes).map_err(io)?;
            at = start + s.bytes.len();
        }
        out.flush().map_err(io)
    }
}

fn align(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// A mapped snapshot: typed views of its sections.
pub struct Snapshot {
    path: PathBuf,
    map: Mmap,
    sections: HashMap<String, Range<usize>>,
}

impl Snapshot {
    /// Maps the snapshot at `path` and checks its header and table.
    pub fn open(path: &Path) -> Result<Self, SnapshotError> {
        let io = |source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the host writes the file completely before any worker starts and nothing
        // writes it afterwards; the map is read only.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        let sections = table(&map).map_err(|what| SnapshotError::Malformed {
            path: path.to_path_buf(),
            what,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            map,
            sections,
        })
    }

    fn malformed(&self, what: String) -> SnapshotError {
        SnapshotError::Malformed {
            path: self.path.clone(),
            what,
        }
    }

    /// Section `name` as an array of `T` (empty when the snapshot has no such section).
    pub fn array<T: Pod>(&self, name: &str) -> Result<&[T], SnapshotError> {
        let Some(range) = self.sections.get(name) else {
            return Ok(&[]);
        };
        bytemuck::try_cast_slice(&self.map[range.clone()]).map_err(|e| {
            self.malformed(format!(
                "section `{name}` ({} bytes at offset {}) is not an array of {}: {e}",
                range.len(),
                range.start,
                std::any::type_name::<T>()
            ))
        })
    }

    /// Section `name` as text (empty when absent).
    pub fn text(&self, name: &str) -> Result<&str, SnapshotError> {
        let bytes = self.array::<u8>(name)?;
        std::str::from_utf8(bytes)
            .map_err(|e| self.malformed(format!("section `{name}` is not UTF-8: {e}")))
    }

    /// The BVH stored under `bvh_nodes`, `bvh_order` and `bvh_tris` over `positions`
    /// (`None` when the snapshot has none).
    pub fn bvh(&self, positions: &[[f32; 3]]) -> Result<Option<Bvh>, SnapshotError> {
        let words = self.array::<u32>("bvh_nodes")?;
        if words.is_empty() {
            return Ok(None);
        }
        if words.len() % NODE_WORDS != 0 {
            return Err(self.malformed(format!(
                "section `bvh_nodes` holds {} words, not whole nodes of {NODE_WORDS}",
                words.len()
            )));
        }
        let nodes = words.chunks_exact(NODE_WORDS).map(node_of_words).collect();
        let order = self.array::<u32>("bvh_order")?.to_vec();
        let tris = self.array::<[u32; 3]>("bvh_tris")?.to_vec();
        Bvh::from_parts(nodes, order, tris, positions.to_vec())
            .map(Some)
            .ok_or_else(|| self.malformed("the BVH's links or indices are out of range".into()))
    }
}

/// Words per BVH node: six box coordinates and three links.
const NODE_WORDS: usize = 9;

/// A BVH's nodes as words, for a section.
pub fn node_words(nodes: &[BvhNode]) -> Vec<u32> {
    nodes
        .iter()
        .flat_map(|n| {
            let mut w = [0u32; NODE_WORDS];
            for k in 0..3 {
                w[k] = n.min[k].to_bits();
                w[3 + k] = n.max[k].to_bits();
            }
            w[6..].copy_from_slice(&[n.a, n.b, n.count]);
            w
        })
        .collect()
}

fn node_of_words(w: &[u32]) -> BvhNode {
    BvhNode {
        min: [0, 1, 2].map(|k| f32::from_bits(w[k])),
        max: [0, 1, 2].map(|k| f32::from_bits(w[3 + k])),
        a: w[6],
        b: w[7],
        count: w[8],
    }
}

/// Parses the header and the section table, checking every range against the file.
fn table(bytes: &[u8]) -> Result<HashMap<String, Range<usize>>, String> {
    let word = |at: usize| -> Result<u32, String> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| format!("truncated header at offset {at}"))
    };
    let long = |at: usize| -> Result<u64, String> {
        let b = bytes
            .get(at..at + 8)
            .ok_or_else(|| format!("truncated section table at offset {at}"))?;
        Ok(u64::from_ne_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    };
    if bytes.get(..8) != Some(&MAGIC[..]) {
        return Err("not an Imprint scan snapshot (no IMPRSNAP magic at offset 0)".into());
    }
    let version = word(8)?;
    if version != VERSION {
        return Err(format!(
            "snapshot version {version}, this build reads version {VERSION}"
        ));
    }
    if word(12)? != BYTE_ORDER {
        return Err("written with another byte order".into());
    }
    let count = word(16)? as usize;
    let mut sections = HashMap::with_capacity(count.min(64));
    for i in 0..count {
        let at = HEADER + i * ENTRY;
        let name = bytes
            .get(at..at + NAME)
            .ok_or_else(|| format!("truncated section table at offset {at}"))?;
        let name = String::from_utf8_lossy(name)
            .trim_end_matches('\0')
            .to_string();
        let (offset, len) = (long(at + NAME)?, long(at + NAME + 8)?);
        let range = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(o, l)| Some(o..o.checked_add(l)?))
            .filter(|r| r.end <= bytes.len() && r.start % ALIGN == 0)
            .ok_or_else(|| {
                format!(
                    "section `{name}` ({len} bytes at offset {offset}) lies outside the {}-byte file or is misaligned",
                    bytes.len()
                )
            })?;
        sections.insert(name, range);
    }
    Ok(sections)
}

/// Writes one scan's view (every slice and text a plugin sees) and, when given, its BVH.
pub fn write_view(
    path: &Path,
    view: &ScanView<'_>,
    bvh: Option<&Bvh>,
) -> Result<(), SnapshotError> {
    let on_boundary: Vec<u8> = view.on_boundary.iter().map(|&b| u8::from(b)).collect();
    let nodes = bvh.map(|b| node_words(b.nodes())).unwrap_or_default();
    let (order, tris) = bvh.map_or((&[][..], &[][..]), Bvh::leaves);
    write(
        path,
        &[
            Section::text("role", view.role.as_str()),
            Section::text("path", view.path.as_str()),
            Section::array("positions", view.positions.as_slice()),
            Section::array("triangles", view.triangles.as_slice()),
            Section::array("labels", view.labels.as_slice()),
            Section::array("vertex_normals", view.vertex_normals.as_slice()),
            Section::array("face_normals", view.face_normals.as_slice()),
            Section::array("face_areas", view.face_areas.as_slice()),
            Section::array("mean_curvature", view.mean_curvature.as_slice()),
            Section::array("gaussian_curvature", view.gaussian_curvature.as_slice()),
            Section::array("adjacency_offsets", view.adjacency_offsets.as_slice()),
            Section::array("adjacency", view.adjacency.as_slice()),
            Section::array("face_component", view.face_component.as_slice()),
            Section::array("on_boundary", &on_boundary),
            Section::text("boundary_loops_json", view.boundary_loops_json.as_str()),
            Section::array("tooth", view.tooth.as_slice()),
            Section::array("region", view.region.as_slice()),
            Section::array("arch_s", view.arch_s.as_slice()),
            Section::array("arch_t", view.arch_t.as_slice()),
            Section::array("arch_h", view.arch_h.as_slice()),
            Section::text("tooth_map_json", view.tooth_map_json.as_str()),
            Section::array("bvh_nodes", &nodes),
            Section::array("bvh_order", order),
            Section::array("bvh_tris", tris),
        ],
    )
}

/// A mapped scan snapshot, checked, ready to hand plugins a view of it: the arrays are the
/// mapped file's own bytes; only the boundary flags and the BVH are copied out.
pub struct SharedScan {
    snap: Snapshot,
    on_boundary: Vec<bool>,
    bvh: Option<Bvh>,
}

impl SharedScan {
    /// Maps and checks the snapshot at `path`: every per-vertex and per-face array is empty
    /// or as long as the scan, and every index is in range. The BVH is taken over only
    /// `with_bvh` (for a plugin that asked for spatial queries): it is copied out of the map.
    pub fn open(path: &Path, with_bvh: bool) -> Result<Self, SnapshotError> {
        let snap = Snapshot::open(path)?;
        let positions = snap.array::<[f32; 3]>("positions")?;
        let on_boundary = snap
            .array::<u8>("on_boundary")?
            .iter()
            .map(|&b| b != 0)
            .collect();
        let bvh = if with_bvh { snap.bvh(positions)? } else { None };
        let shared = Self {
            snap,
            on_boundary,
            bvh,
        };
        shared.check()?;
        Ok(shared)
    }

    fn check(&self) -> Result<(), SnapshotError> {
        let s = &self.snap;
        let n = s.array::<[f32; 3]>("positions")?.len();
        let triangles = s.array::<[u32; 3]>("triangles")?;
        let f = triangles.len();
        let lengths = [
            ("labels", s.array::<u8>("labels")?.len(), n),
            (
                "vertex_normals",
                s.array::<[f32; 3]>("vertex_normals")?.len(),
                n,
            ),
            (
                "face_normals",
                s.array::<[f32; 3]>("face_normals")?.len(),
                f,
            ),
            ("face_areas", s.array::<f32>("face_areas")?.len(), f),
            ("mean_curvature", s.array::<f32>("mean_curvature")?.len(), n),
            (
                "gaussian_curvature",
                s.array::<f32>("gaussian_curvature")?.len(),
                n,
            ),
            ("face_component", s.array::<u32>("face_component")?.len(), f),
            ("on_boundary", self.on_boundary.len(), n),
            ("tooth", s.array::<u8>("tooth")?.len(), n),
            ("region", s.array::<u8>("region")?.len(), n),
            ("arch_s", s.array::<f32>("arch_s")?.len(), n),
            ("arch_t", s.array::<f32>("arch_t")?.len(), n),
            ("arch_h", s.array::<f32>("arch_h")?.len(), n),
        ];
        if let Some((name, len, want)) = lengths.iter().find(|(_, l, w)| *l != 0 && l != w) {
            return Err(s.malformed(format!(
                "section `{name}` holds {len} items for {want} (vertices or faces)"
            )));
        }
        if let Some(t) = triangles
            .iter()
            .position(|t| t.iter().any(|&v| v as usize >= n))
        {
            return Err(s.malformed(format!("triangle {t} names a vertex past {n}")));
        }
        check_adjacency(s, n)
    }

    /// The view plugins receive; `none` answers spatial queries when there is no BVH.
    pub fn view<'a>(&'a self, none: &'a NoSpatial) -> Result<ScanView<'a>, SnapshotError> {
        let s = &self.snap;
        let spatial = match &self.bvh {
            Some(bvh) => SpatialQuery_TO::from_ptr(RRef::new(bvh), TD_Opaque),
            None => SpatialQuery_TO::from_ptr(RRef::new(none), TD_Opaque),
        };
        Ok(ScanView {
            role: RStr::from_str(s.text("role")?),
            path: RStr::from_str(s.text("path")?),
            positions: RSlice::from_slice(s.array("positions")?),
            triangles: RSlice::from_slice(s.array("triangles")?),
            labels: RSlice::from_slice(s.array("labels")?),
            vertex_normals: RSlice::from_slice(s.array("vertex_normals")?),
            face_normals: RSlice::from_slice(s.array("face_normals")?),
            face_areas: RSlice::from_slice(s.array("face_areas")?),
            mean_curvature: RSlice::from_slice(s.array("mean_curvature")?),
            gaussian_curvature: RSlice::from_slice(s.array("gaussian_curvature")?),
            adjacency_offsets: RSlice::from_slice(s.array("adjacency_offsets")?),
            adjacency: RSlice::from_slice(s.array("adjacency")?),
            face_component: RSlice::from_slice(s.array("face_component")?),
            on_boundary: RSlice::from_slice(&self.on_boundary),
            boundary_loops_json: RStr::from_str(s.text("boundary_loops_json")?),
            tooth: RSlice::from_slice(s.array("tooth")?),
            region: RSlice::from_slice(s.array("region")?),
            arch_s: RSlice::from_slice(s.array("arch_s")?),
            arch_t: RSlice::from_slice(s.array("arch_t")?),
            arch_h: RSlice::from_slice(s.array("arch_h")?),
            tooth_map_json: RStr::from_str(s.text("tooth_map_json")?),
            spatial,
        })
    }
}

/// Adjacency rows are in order and inside the items, and every neighbour is a vertex.
fn check_adjacency(s: &Snapshot, n: usize) -> Result<(), SnapshotError> {
    let (offsets, items) = (
        s.array::<u32>("adjacency_offsets")?,
        s.array::<u32>("adjacency")?,
    );
    if offsets.is_empty() && items.is_empty() {
        return Ok(());
    }
    let rows_ok = offsets.len() == n + 1
        && offsets.first() == Some(&0)
        && offsets.windows(2).all(|w| w[0] <= w[1])
        && offsets.last().is_some_and(|&l| l as usize == items.len());
    if !rows_ok || items.iter().any(|&v| v as usize >= n) {
        return Err(s.malformed("the adjacency rows or their vertices are out of range".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_and_damage_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.snap");
        let points = [[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let flags = [1u8, 0, 1];
        write(
            &path,
            &[
                Section::array("positions", &points),
                Section::array("flags", &flags),
                Section::text("role", "upper"),
            ],
        )
        .expect("write");
        let snap = Snapshot::open(&path).expect("open");
        assert_eq!(snap.array::<[f32; 3]>("positions").expect("read"), &points);
        assert_eq!(snap.array::<u8>("flags").expect("read"), &flags);
        assert_eq!(snap.text("role").expect("read"), "upper");
        assert!(snap.array::<f32>("absent").expect("read").is_empty());
        // Three flag bytes are not an array of u32.
        let err = snap.array::<u32>("flags").expect_err("wrong type");
        assert!(err.to_string().contains("section `flags`"), "{err}");

        let mut bytes = std::fs::read(&path).expect("read back");
        bytes.truncate(bytes.len() - 10);
        std::fs::write(&path, &bytes).expect("truncate");
        let err = Snapshot::open(&path).err().expect("truncated");
        assert!(err.to_string().contains("outside the"), "{err}");
        std::fs::write(&path, b"solid x").expect("overwrite");
        let err = Snapshot::open(&path).err().expect("not a snapshot");
        assert!(err.to_string().contains("IMPRSNAP"), "{err}");
    }
}
