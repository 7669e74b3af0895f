//! Holds no code: its build script compiles the C fixtures in `src/bad.c`.
