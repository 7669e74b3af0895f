//! Load errors that name the file and where in it the problem is.

use crate::scan::InvalidMesh;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Byte offset from the start of the file.
    Offset(u64),
    /// Line number, 1-based.
    Line(usize),
    /// A named field or element (JSON field, PLY element or property).
    Field(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Offset(o) => write!(f, "at byte offset {o}"),
            Self::Line(l) => write!(f, "at line {l}"),
            Self::Field(name) => write!(f, "in field `{name}`"),
        }
    }
}

/// What went wrong while loading.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(String),
    /// The file has no bytes.
    #[error("the file is empty")]
    Empty,
    /// Not STL, PLY or OBJ.
    #[error(
        "not a mesh format Imprint reads (STL, PLY or OBJ); the file starts with {starts_with}"
    )]
    UnknownFormat {
        /// The first bytes, escaped.
        starts_with: String,
    },
    /// The content is malformed.
    #[error("malformed {format} {at}: {message}")]
    Malformed {
        /// Format being parsed (`binary STL`, `PLY`, …).
        format: &'static str,
        /// Where.
        at: Location,
        /// What is wrong.
        message: String,
    },
    /// Parsed, but the mesh breaks an invariant.
    #[error("unusable mesh: {0}")]
    Invalid(#[from] InvalidMesh),
}

impl LoadErrorKind {
    /// Shorthand for [`LoadErrorKind::Malformed`].
    pub fn malformed(format: &'static str, at: Location, message: impl Into<String>) -> Self {
        Self::Malformed {
            format,
            at,
            message: message.into(),
        }
    }
}

/// A load failure: the file and what is wrong with it. Displays as one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub kind: LoadErrorKind,
}

impl LoadError {
    /// Attaches a path to a kind.
    pub fn new(path: &Path, kind: LoadErrorKind) -> Self {
        Self {
            path: path.to_path_buf(),
            kind,
        }
    }
}
