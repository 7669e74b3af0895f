//! Mesh loaders: STL (binary and ASCII), PLY (ASCII, binary LE/BE) and OBJ, chosen by file
//! content rather than extension, plus Teeth3DS-style label sidecars.
//!
//! Every loader returns a validated [`Scan`] or a [`LoadError`] that names the file and where
//! in it the problem is (byte offset, line or field). No input may panic or hang a loader.
//!
//! ```no_run
//! let scan = imprint_core::io::load("arch.stl").unwrap();
//! println!("{} triangles", scan.triangle_count());
//! ```

mod error;
pub mod labels;
mod obj;
mod ply;
mod stl;
mod text;
mod weld;
mod write;

pub use error::{LoadError, LoadErrorKind, Location};
pub use weld::{weld, Weld};
pub use write::{write_ply_binary, write_stl_binary};

use crate::scan::{Scan, SourceFormat};
use std::path::Path;

/// How to load a file.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadOptions {
    /// How STL's unshared vertices are welded (exact by default).
    pub weld: Weld,
}

/// Loads a mesh file with default options (exact weld).
pub fn load(path: impl AsRef<Path>) -> Result<Scan, LoadError> {
    load_with(path, &LoadOptions::default())
}

/// Loads a mesh file, choosing the format from its content.
pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Scan, LoadError> {
    let path = path.as_ref();
    let io_err = |e: std::io::Error| LoadError::new(path, LoadErrorKind::Io(e.to_string()));
    let file = std::fs::File::open(path).map_err(io_err)?;
    if file.metadata().map_err(io_err)?.is_dir() {
        return Err(io_err(std::io::Error::other("it is a directory")));
    }
    // SAFETY: the map is read-only and lives only for this call. A file truncated by another
    // process while mapped could fault; scans are written before they are analysed (the
    // watch mode waits for a stable size), which is the documented contract.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
    let mut scan = parse_bytes(&map, options).map_err(|kind| LoadError::new(path, kind))?;
    scan.source.path = Some(path.to_path_buf());
    Ok(scan)
}

/// Parses a mesh held in memory (the format is detected from the bytes).
pub fn parse_bytes(bytes: &[u8], options: &LoadOptions) -> Result<Scan, LoadErrorKind> {
    let mut scan = match detect(bytes)? {
        Detected::StlBinary => stl::parse_binary(bytes, options.weld)?,
        Detected::StlAscii => stl::parse_ascii(bytes, options.weld)?,
        Detected::Ply => ply::parse(bytes)?,
        Detected::Obj => obj::parse(bytes)?,
    };
    scan.source.bytes = bytes.len() as u64;
    Ok(scan)
}

/// What the content looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detected {
    StlBinary,
    StlAscii,
    Ply,
    Obj,
}

/// Detects the format from content: PLY magic; a binary STL whose size matches its triangle
/// count (even when its header starts with `solid`); ASCII STL; OBJ keywords.
fn detect(bytes: &[u8]) -> Result<Detected, LoadErrorKind> {
    if bytes.is_empty() {
        return Err(LoadErrorKind::Empty);
    }
    if bytes.starts_with(b"ply\n") || bytes.starts_with(b"ply\r\n") {
        return Ok(Detected::Ply);
    }
    if stl::binary_size_matches(bytes) {
        return Ok(Detected::StlBinary);
    }
    let head = text::skip_ws(bytes);
    let binary_body = bytes.len() >= 84 && !text::looks_textual(&bytes[84..bytes.len().min(340)]);
    if head.starts_with(b"solid") && !binary_body {
        return Ok(Detected::StlAscii);
    }
    if obj::looks_like_obj(bytes) {
        return Ok(Detected::Obj);
    }
    if bytes.len() >= 84 && (binary_body || !head.starts_with(b"solid")) {
        // Binary STL whose size disagrees with its count: the parser says how.
        return Ok(Detected::StlBinary);
    }
    Err(LoadErrorKind::UnknownFormat {
        starts_with: text::preview(bytes),
    })
}

/// The format name that [`parse_bytes`] would use, for `inspect` (`None` when unknown).
pub fn detect_format(bytes: &[u8]) -> Option<SourceFormat> {
    match detect(bytes).ok()? {
        Detected::StlBinary => Some(SourceFormat::StlBinary),
        Detected::StlAscii => Some(SourceFormat::StlAscii),
        Detected::Ply => ply::encoding(bytes),
        Detected::Obj => Some(SourceFormat::Obj),
    }
}
