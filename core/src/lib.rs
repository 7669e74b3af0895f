//! # imprint-core
//!
//! What every part of Imprint stands on: the [`scan::Scan`] model, mesh loaders ([`io`]),
//! the derived scan data analyzers share ([`derived`]), tooth numbering ([`tooth`]), the tooth map and arch frame ([`toothmap`]).
//!
//! ```no_run
//! use imprint_core::{io, derived::DerivedData};
//! let scan = io::load("arch.stl")?;
//! let derived = DerivedData::new(&scan);
//! let loops = derived.boundary_loops();
//! println!("{} boundary loops", loops.loops.len());
//! # Ok::<(), imprint_core::io::LoadError>(())
//! ```

pub mod derived;
pub mod finding;
pub mod io;
pub mod plugin;
pub mod scan;
pub mod shapes;
pub mod tooth;
pub mod toothmap;
pub mod util;
mod validate;

pub use scan::Scan;
