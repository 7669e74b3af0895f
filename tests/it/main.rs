//! Workspace-level integration tests, in one binary to keep CI linking cheap.

mod batch;
mod bite;
mod conformance;
mod cplugin;
mod derived;
mod drag;
mod hostile;
mod html;
mod isolate;
mod margin;
mod phantom;
mod plugins;
mod policy;
mod pull;
mod schemas;
mod support;
mod toothmap;
mod voids;
