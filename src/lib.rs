pub use imprint_core as core;
pub use imprint_host as host;
