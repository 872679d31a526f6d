#!/bin/sh
set -e
# One build per plugin, each by its manifest
cargo build --release --locked --manifest-path plugin-go-cdylib/Cargo.toml
cargo build --release --locked --manifest-path ./plugin-gha-cdylib/Cargo.toml
cargo build --release --locked --manifest-path heph/Cargo.toml --no-default-features
