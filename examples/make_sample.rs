//! Writes the bundled sample scan `samples/sample_surface.stl`: a small scan-like open surface
//! with two holes. `cargo run --example make_sample` regenerates it.

use imprint_core::io::write_stl_binary;
use imprint_core::shapes::{punch_holes, wavy_surface};

fn main() -> std::io::Result<()> {
    let mesh = punch_holes(wavy_surface(40_000), &[[20.0, 25.0], [41.0, 33.0]], 1.5);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/sample_surface.stl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    write_stl_binary(&mesh.0, &mesh.1, &mut out)?;
    println!("wrote {}", path.display());
    Ok(())
}
