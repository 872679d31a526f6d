#!/usr/bin/env bash
# Loops over literal words run their body once per word, one after another.
set -euo pipefail

targets="aarch64-apple-darwin x86_64-apple-darwin"
for target in $targets; do
  cargo build --release --target "$target" --bin server
done
./sign.sh

for bin in server worker; do cargo build --release --bin "${bin}"; done
./sign.sh

for t in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do
  cargo build --release --target $t --bin server
  cp target/$t/release/server dist/server-$t
done
./sign.sh

for b in server worker; do
  cargo build --release --bin "$b" || break
done
for b in $(ls bins); do cargo build --release --bin "$b"; done
for b in server worker; do cargo build --release --bin '$b'; done
