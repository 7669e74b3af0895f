//! Writes the bundled sample scan `samples/sample_arch.stl`: a phantom stone cast of a lower
//! arch (60k triangles, random pose, no labels) with a hole across the incisal edge of 42,
//! a void on 37, a nodule and a spike. `cargo run --example make_sample` regenerates it.

use imprint_core::io::write_stl_binary;
use imprint_phantom::{generate, DefectMix, PhantomSpec};

fn main() -> std::io::Result<()> {
    let phantom = generate(&PhantomSpec {
        seed: 2,
        triangles: 60_000,
        defects: DefectMix::parse("holes=1,voids=2,nodules=1,spikes=1").unwrap_or_default(),
        ..Default::default()
    });
    let scan = phantom.scan;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/sample_arch.stl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    write_stl_binary(&scan.positions, &scan.triangles, &mut out)?;
    println!("wrote {}", path.display());
    Ok(())
}
