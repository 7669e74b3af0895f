//! PLY through `ply-rs-bw`: ASCII and binary LE/BE, every scalar type, elements in any order,
//! extra elements and properties ignored, polygons fan-triangulated, per-vertex normals,
//! colours and labels, per-face colours and labels.

use super::error::{LoadErrorKind, Location};
use crate::scan::{Scan, ScanSource, SourceFormat};
use ply_rs_bw::parser::Parser;
use ply_rs_bw::ply::{Encoding, Property, PropertyAccess};

const PLY: &str = "PLY";

/// Property names read as a per-vertex or per-face integer label.
const LABEL_NAMES: [&str; 5] = ["label", "labels", "class", "fdi", "scalar_label"];

/// One element record; which fields are set depends on the element (vertex, face, other).
#[derive(Debug, Default)]
struct Record {
    xyz: [f64; 3],
    has_xyz: [bool; 3],
    normal: [f32; 3],
    has_normal: bool,
    rgb: [u8; 3],
    has_rgb: bool,
    label: Option<i64>,
    indices: Option<Vec<i64>>,
}

fn as_f64(p: &Property) -> Option<f64> {
    Some(match *p {
        Property::Char(v) => f64::from(v),
        Property::UChar(v) => f64::from(v),
        Property::Short(v) => f64::from(v),
        Property::UShort(v) => f64::from(v),
        Property::Int(v) => f64::from(v),
        Property::UInt(v) => f64::from(v),
        Property::Float(v) => f64::from(v),
        Property::Double(v) => v,
        _ => return None,
    })
}

fn as_list(p: Property) -> Option<Vec<i64>> {
    Some(match p {
        Property::ListChar(v) => v.into_iter().map(i64::from).collect(),
        Property::ListUChar(v) => v.into_iter().map(i64::from).collect(),
        Property::ListShort(v) => v.into_iter().map(i64::from).collect(),
        Property::ListUShort(v) => v.into_iter().map(i64::from).collect(),
        Property::ListInt(v) => v.into_iter().map(i64::from).collect(),
        Property::ListUInt(v) => v.into_iter().map(i64::from).collect(),
        _ => return None,
    })
}

fn colour_byte(p: &Property) -> Option<u8> {
    match *p {
        Property::Float(v) => Some((v.clamp(0.0, 1.0) * 255.0).round() as u8),
        Property::Double(v) => Some((v.clamp(0.0, 1.0) * 255.0).round() as u8),
        _ => as_f64(p).map(|v| v.clamp(0.0, 255.0) as u8),
    }
}

impl PropertyAccess for Record {
    fn new() -> Self {
        Self::default()
    }

    fn set_property(&mut self, name: &str, p: Property) -> ply_rs_bw::ply::PropertyAccessResult {
        use ply_rs_bw::ply::PropertyAccessResult::{Ignored, Set};
        let axis = |n: &str| match n {
            "x" | "nx" => Some(0),
            "y" | "ny" => Some(1),
            "z" | "nz" => Some(2),
            _ => None,
        };
        match name {
            "x" | "y" | "z" => {
                let (Some(k), Some(v)) = (axis(name), as_f64(&p)) else {
                    return Ignored;
                };
                self.xyz[k] = v;
                self.has_xyz[k] = true;
            }
            "nx" | "ny" | "nz" => {
                let (Some(k), Some(v)) = (axis(name), as_f64(&p)) else {
                    return Ignored;
                };
                self.normal[k] = v as f32;
                self.has_normal = true;
            }
            "red" | "green" | "blue" | "r" | "g" | "b" | "diffuse_red" | "diffuse_green"
            | "diffuse_blue" => {
                let k = match name.trim_start_matches("diffuse_").chars().next() {
                    Some('r') => 0,
                    Some('g') => 1,
                    _ => 2,
                };
                let Some(v) = colour_byte(&p) else {
                    return Ignored;
                };
                self.rgb[k] = v;
                self.has_rgb = true;
            }
            "vertex_indices" | "vertex_index" => match as_list(p) {
                Some(list) => self.indices = Some(list),
                None => return Ignored,
            },
            n if LABEL_NAMES.contains(&n) => match as_f64(&p) {
                Some(v) => self.label = Some(v as i64),
                None => return Ignored,
            },
            _ => return Ignored,
        }
        Set
    }
}

/// The PLY encoding named in the header, if the header parses.
pub(crate) fn encoding(bytes: &[u8]) -> Option<SourceFormat> {
    let parser = Parser::<Record>::new();
    let header = parser.read_ply_header(&mut &bytes[..]).ok()?;
    Some(format_of(header.encoding))
}

fn format_of(e: Encoding) -> SourceFormat {
    match e {
        Encoding::Ascii => SourceFormat::PlyAscii,
        Encoding::BinaryLittleEndian => SourceFormat::PlyBinaryLittleEndian,
        Encoding::BinaryBigEndian => SourceFormat::PlyBinaryBigEndian,
    }
}

/// Parses a PLY file held in memory.
pub(crate) fn parse(bytes: &[u8]) -> Result<Scan, LoadErrorKind> {
    let parser = Parser::<Record>::new();
    let mut ply = parser.read_ply(&mut &bytes[..]).map_err(|e| {
        let at = e.line().map_or(Location::Offset(0), Location::Line);
        let message = e.to_string();
        let message = message
            .split_once(": ")
            .filter(|_| e.line().is_some())
            .map_or(message.clone(), |(_, m)| m.to_string());
        LoadErrorKind::malformed(PLY, at, message)
    })?;
    let format = format_of(ply.header.encoding);
    let vertices = ply.payload.shift_remove("vertex").ok_or_else(|| {
        LoadErrorKind::malformed(
            PLY,
            Location::Field("vertex".into()),
            "the file has no `vertex` element",
        )
    })?;
    let faces = ply.payload.shift_remove("face").unwrap_or_default();
    let (positions, normals, colors, labels) = vertex_arrays(&vertices)?;
    let (triangles, face_colors, face_labels) = face_arrays(&faces)?;
    let source = ScanSource {
        path: None,
        format,
        bytes: 0,
        raw_vertices: positions.len(),
    };
    let mut scan = Scan::unvalidated(positions, triangles, source);
    scan.normals = normals;
    scan.colors = colors;
    scan.face_colors = face_colors;
    scan.face_labels = face_labels;
    super::labels::attach_raw_vertex_labels(&mut scan, labels);
    scan.validate()?;
    Ok(scan)
}

type VertexArrays = (
    Vec<[f32; 3]>,
    Option<Vec<[f32; 3]>>,
    Option<Vec<[u8; 3]>>,
    Option<Vec<i64>>,
);

fn vertex_arrays(vertices: &[Record]) -> Result<VertexArrays, LoadErrorKind> {
    let mut positions = Vec::with_capacity(vertices.len());
    for (i, v) in vertices.iter().enumerate() {
        if let Some(k) = v.has_xyz.iter().position(|h| !h) {
            let name = ["x", "y", "z"][k];
            return Err(LoadErrorKind::malformed(
                PLY,
                Location::Field(format!("vertex[{i}].{name}")),
                format!("vertex {i} has no numeric `{name}` property"),
            ));
        }
        positions.push(v.xyz.map(|c| c as f32));
    }
    let all = |f: fn(&Record) -> bool| !vertices.is_empty() && vertices.iter().all(f);
    let normals = all(|v| v.has_normal).then(|| vertices.iter().map(|v| v.normal).collect());
    let colors = all(|v| v.has_rgb).then(|| vertices.iter().map(|v| v.rgb).collect());
    let labels =
        all(|v| v.label.is_some()).then(|| vertices.iter().map(|v| v.label.unwrap_or(0)).collect());
    Ok((positions, normals, colors, labels))
}

type FaceArrays = (Vec<[u32; 3]>, Option<Vec<[u8; 3]>>, Option<Vec<i32>>);

fn face_arrays(faces: &[Record]) -> Result<FaceArrays, LoadErrorKind> {
    let mut triangles = Vec::with_capacity(faces.len());
    let mut colors = Vec::new();
    let mut labels = Vec::new();
    let per_face_colour = !faces.is_empty() && faces.iter().all(|f| f.has_rgb);
    let per_face_label = !faces.is_empty() && faces.iter().all(|f| f.label.is_some());
    for (i, f) in faces.iter().enumerate() {
        let Some(list) = &f.indices else {
            return Err(LoadErrorKind::malformed(
                PLY,
                Location::Field(format!("face[{i}].vertex_indices")),
                format!("face {i} has no integer `vertex_indices` list"),
            ));
        };
        let idx = checked_indices(list, i)?;
        for k in 1..idx.len().saturating_sub(1) {
            triangles.push([idx[0], idx[k], idx[k + 1]]);
            if per_face_colour {
                colors.push(f.rgb);
            }
            if per_face_label {
                labels.push(
                    f.label
                        .unwrap_or(0)
                        .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
                );
            }
        }
    }
    Ok((
        triangles,
        per_face_colour.then_some(colors),
        per_face_label.then_some(labels),
    ))
}

fn checked_indices(list: &[i64], face: usize) -> Result<Vec<u32>, LoadErrorKind> {
    list.iter()
        .map(|&i| {
            u32::try_from(i).map_err(|_| {
                LoadErrorKind::malformed(
                    PLY,
                    Location::Field(format!("face[{face}].vertex_indices")),
                    format!("face {face} has vertex index {i}, which is not a valid index"),
                )
            })
        })
        .collect()
}
