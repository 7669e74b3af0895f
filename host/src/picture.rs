//! Pictures rendered by Imprint itself, for the HTML report: a small software rasterizer
//! (orthographic camera, z-buffer, two-sided Lambert shading of per-vertex colours) and
//! rings around findings, encoded as PNG. No GPU, viewer or network is needed.

use imprint_core::scan::Scan;
use nalgebra::Vector3;

type V3 = Vector3<f32>;

fn v3(p: [f32; 3]) -> V3 {
    V3::new(p[0], p[1], p[2])
}

/// An orthographic camera: what lies at `centre` appears in the image's middle; `forward`
/// is the viewing direction; `mm` millimetres span the image's width.
#[derive(Debug, Clone, Copy)]
pub struct Camera {
    /// The point seen at the image's middle.
    pub centre: [f32; 3],
    /// Viewing direction (unit).
    pub forward: [f32; 3],
    /// Up in the image (unit, at right angles to `forward`).
    pub up: [f32; 3],
    /// Millimetres across the image's width.
    pub mm: f32,
}

impl Camera {
    /// A camera looking along `forward` at `centre`, `up` taken from `hint` made square to it.
    pub fn looking(centre: [f32; 3], forward: [f32; 3], hint: [f32; 3], mm: f32) -> Self {
        let f = v3(forward).try_normalize(1e-9).unwrap_or(V3::z());
        let mut up = v3(hint) - f * f.dot(&v3(hint));
        if up.norm() < 1e-3 {
            let other = if f.x.abs() < 0.9 { V3::x() } else { V3::y() };
            up = other - f * f.dot(&other);
        }
        let up = up.normalize();
        Self {
            centre,
            forward: f.into(),
            up: up.into(),
            mm,
        }
    }

    /// Pixel coordinates (x right, y down) and depth of a point in a `width` × `height`
    /// image.
    pub fn project(&self, p: [f32; 3], width: u32, height: u32) -> (f32, f32, f32) {
        let (f, up) = (v3(self.forward), v3(self.up));
        let right = f.cross(&up);
        let d = v3(p) - v3(self.centre);
        let scale = width as f32 / self.mm;
        (
            width as f32 / 2.0 + d.dot(&right) * scale,
            height as f32 / 2.0 - d.dot(&up) * scale,
            d.dot(&f),
        )
    }
}

/// An RGB image.
#[derive(Debug, Clone)]
pub struct Image {
    /// Width, px.
    pub width: u32,
    /// Height, px.
    pub height: u32,
    /// Row-major RGB bytes.
    pub rgb: Vec<u8>,
}

/// Background colour.
const BACKGROUND: [u8; 3] = [245, 246, 248];

impl Image {
    fn blank(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            rgb: BACKGROUND
                .iter()
                .copied()
                .cycle()
                .take((width * height * 3) as usize)
                .collect(),
        }
    }

    fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && x < i64::from(self.width) && y < i64::from(self.height) {
            let i = ((y as u32 * self.width + x as u32) * 3) as usize;
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Draws a ring of radius `r` px and `thickness` px about `(x, y)`.
    pub fn ring(&mut self, (x, y): (f32, f32), r: f32, thickness: f32, c: [u8; 3]) {
        let reach = (r + thickness).ceil() as i64;
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                let d = ((dx * dx + dy * dy) as f32).sqrt();
                if (d - r).abs() <= thickness / 2.0 {
                    self.put(x.round() as i64 + dx, y.round() as i64 + dy, c);
                }
            }
        }
    }

    /// The image as PNG bytes.
    pub fn png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.rgb)?;
        writer.finish()?;
        Ok(out)
    }
}

/// Renders `scan` with per-vertex `colours` through `camera` into a `width` × `height`
/// image: each triangle filled with its vertices' colours, shaded by how squarely it faces
/// the camera (either side: an impression's surface may face away).
pub fn render(scan: &Scan, colours: &[[u8; 3]], camera: &Camera, width: u32, height: u32) -> Image {
    let mut image = Image::blank(width, height);
    let mut depth = vec![f32::INFINITY; (width * height) as usize];
    let projected: Vec<(f32, f32, f32)> = scan
        .positions
        .iter()
        .map(|p| camera.project(*p, width, height))
        .collect();
    let forward = v3(camera.forward);
    for t in &scan.triangles {
        let [a, b, c] = t.map(|i| i as usize);
        let (Some(pa), Some(pb), Some(pc)) = (projected.get(a), projected.get(b), projected.get(c))
        else {
            continue;
        };
        let n = (v3(scan.positions[b]) - v3(scan.positions[a]))
            .cross(&(v3(scan.positions[c]) - v3(scan.positions[a])));
        let Some(n) = n.try_normalize(1e-12) else {
            continue;
        };
        let light = 0.3 + 0.7 * n.dot(&forward).abs();
        let colour = |i: usize| colours.get(i).copied().unwrap_or([200, 200, 200]);
        let tri = [(*pa, colour(a)), (*pb, colour(b)), (*pc, colour(c))];
        fill(&mut image, &mut depth, &tri, light);
    }
    image
}

/// A projected vertex (pixel x, pixel y, depth) and its colour.
type Corner = ((f32, f32, f32), [u8; 3]);

/// Fills one projected triangle (z-buffered, colours interpolated, times `light`).
fn fill(image: &mut Image, depth: &mut [f32], tri: &[Corner; 3], light: f32) {
    let [(a, ca), (b, cb), (c, cc)] = *tri;
    let area = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
    if area.abs() < 1e-9 {
        return;
    }
    let (w, h) = (image.width as f32, image.height as f32);
    let x0 = a.0.min(b.0).min(c.0).floor().max(0.0) as u32;
    let x1 = a.0.max(b.0).max(c.0).ceil().min(w - 1.0).max(0.0) as u32;
    let y0 = a.1.min(b.1).min(c.1).floor().max(0.0) as u32;
    let y1 = a.1.max(b.1).max(c.1).ceil().min(h - 1.0).max(0.0) as u32;
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let wa = ((b.0 - px) * (c.1 - py) - (b.1 - py) * (c.0 - px)) / area;
            let wb = ((c.0 - px) * (a.1 - py) - (c.1 - py) * (a.0 - px)) / area;
            let wc = 1.0 - wa - wb;
            if wa < 0.0 || wb < 0.0 || wc < 0.0 {
                continue;
            }
            let z = wa * a.2 + wb * b.2 + wc * c.2;
            let i = (y * image.width + x) as usize;
            if z >= depth[i] {
                continue;
            }
            depth[i] = z;
            let shade = |k: usize| {
                let v = wa * f32::from(ca[k]) + wb * f32::from(cb[k]) + wc * f32::from(cc[k]);
                (v * light).round().clamp(0.0, 255.0) as u8
            };
            image.put(i64::from(x), i64::from(y), [shade(0), shade(1), shade(2)]);
        }
    }
}

/// The camera that shows the whole scan from `forward` (the occlusal view when `forward`
/// looks down the occlusal axis), with a 5% border.
pub fn overview(scan: &Scan, forward: [f32; 3], hint: [f32; 3], aspect: f32) -> Camera {
    let n = scan.positions.len().max(1) as f32;
    let centre = scan.positions.iter().fold(V3::zeros(), |s, p| s + v3(*p)) / n;
    let probe = Camera::looking(centre.into(), forward, hint, 1.0);
    let (mut lo, mut hi) = ((f32::MAX, f32::MAX), (f32::MIN, f32::MIN));
    for p in &scan.positions {
        let (x, y, _) = probe.project(*p, 2, 2);
        lo = (lo.0.min(x), lo.1.min(y));
        hi = (hi.0.max(x), hi.1.max(y));
    }
    // In the probe's units (2 px per mm, from its middle): the extents, then re-centred.
    let (wx, wy) = ((hi.0 - lo.0) / 2.0, (hi.1 - lo.1) / 2.0);
    let mid = ((lo.0 + hi.0) / 4.0 - 0.5, (lo.1 + hi.1) / 4.0 - 0.5);
    let f = v3(probe.forward);
    let up = v3(probe.up);
    let right = f.cross(&up);
    let c = centre + right * mid.0 - up * mid.1;
    let mm = (wx.max(wy * aspect) * 1.05).max(1.0);
    Camera::looking(c.into(), forward, hint, mm)
}
