#!/bin/sh
$CENTOS cargo build --release --bin server
$CENTOS cargo build --release --bin worker
docker run --rm img cargo build --release --bin admin
cd "$(git rev-parse --show-toplevel)/app"
cargo build --release --bin server
cargo build --release --bin worker
cd -
