//! Writers: binary STL (unshared vertices, as labs receive them) and binary little-endian PLY
//! with optional per-vertex colours and labels (phantoms, heat maps).

use crate::scan::Scan;
use std::io::{self, Write};

/// Writes a binary STL: 80-byte header, count, one 50-byte record per triangle.
pub fn write_stl_binary(
    positions: &[[f32; 3]],
    triangles: &[[u32; 3]],
    out: &mut impl Write,
) -> io::Result<()> {
    let mut header = [b' '; 80];
    let title = b"binary STL written by Imprint";
    header[..title.len()].copy_from_slice(title);
    out.write_all(&header)?;
    let count = u32::try_from(triangles.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "more than 2^32 triangles"))?;
    out.write_all(&count.to_le_bytes())?;
    let mut record = [0u8; 50];
    for t in triangles {
        let p = t.map(|i| positions[i as usize]);
        let n = unit_normal(&p);
        let values = n.iter().chain(p.iter().flatten());
        for (k, v) in values.enumerate() {
            record[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
        }
        out.write_all(&record)?;
    }
    Ok(())
}

fn unit_normal(p: &[[f32; 3]; 3]) -> [f32; 3] {
    let u = [p[1][0] - p[0][0], p[1][1] - p[0][1], p[1][2] - p[0][2]];
    let v = [p[2][0] - p[0][0], p[2][1] - p[0][1], p[2][2] - p[0][2]];
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len > 0.0 {
        n.map(|c| c / len)
    } else {
        [0.0; 3]
    }
}

/// Writes a binary little-endian PLY of a scan, with its colours and FDI labels if present.
pub fn write_ply_binary(scan: &Scan, out: &mut impl Write) -> io::Result<()> {
    let colors = scan.colors.as_deref();
    let labels = scan.labels.as_deref();
    let mut header = format!(
        "ply\nformat binary_little_endian 1.0\ncomment written by Imprint\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\n",
        scan.positions.len()
    );
    if colors.is_some() {
        header.push_str("property uchar red\nproperty uchar green\nproperty uchar blue\n");
    }
    if labels.is_some() {
        header.push_str("property uchar label\n");
    }
    header.push_str(&format!(
        "element face {}\nproperty list uchar uint vertex_indices\nend_header\n",
        scan.triangles.len()
    ));
    out.write_all(header.as_bytes())?;
    for (i, p) in scan.positions.iter().enumerate() {
        for c in p {
            out.write_all(&c.to_le_bytes())?;
        }
        if let Some(c) = colors {
            out.write_all(&c[i])?;
        }
        if let Some(l) = labels {
            out.write_all(&[l[i]])?;
        }
    }
    for t in &scan.triangles {
        out.write_all(&[3])?;
        for i in t {
            out.write_all(&i.to_le_bytes())?;
        }
    }
    Ok(())
}
