"""cargo-overlap: see and shorten Rust build wall time."""

__version__ = "0.1.0"
