//! Process exit codes, documented in the README and stable for automated gates.

/// The scan is accepted.
pub const ACCEPT: i32 = 0;
/// The scan needs a person to review it.
pub const REVIEW: i32 = 10;
/// The scan is rejected.
pub const REJECT: i32 = 20;
/// The command line was wrong.
pub const USAGE: i32 = 2;
/// An input file could not be read or is invalid.
pub const INVALID_INPUT: i32 = 3;
/// A required analyzer did not finish; the report is partial.
pub const PARTIAL: i32 = 4;
/// Imprint itself failed.
pub const INTERNAL: i32 = 70;

/// An error that carries the exit code it should end the process with.
#[derive(Debug)]
pub struct Coded {
    /// The exit code.
    pub code: i32,
    /// The error, shown as one line.
    pub error: Box<dyn std::error::Error + Send + Sync>,
}

impl Coded {
    /// Wraps an error with an exit code.
    pub fn new(code: i32, error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            code,
            error: Box::new(error),
        }
    }
}

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Coded {}
