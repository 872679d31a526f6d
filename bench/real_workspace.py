"""A realistic cargo workspace built offline from Debian's `librust-*-dev` crates.

Shaped like a real project: an `app` package (lib + bin), four libs (`model`, `formats`,
`engine`, `server`), a proc-macro (`macros`) and two cdylib plugins, depending on serde
(derive), serde_json, regex, clap (derive), tokio (full), hyper (full), rayon, chrono, uuid,
tracing and more. Debian unpacks one version of each crate under /usr/share/cargo/registry;
the workspace's `.cargo/config.toml` points crates-io there and turns the network off.
On Debian 12 (bookworm) that resolves to 175 registry packages; a cold debug build is 266
units (225 rustc runs, 41 build-script runs), about 2 minutes on 2 cores.

Used by bench/real_workspace_bench.py; `generate()` needs no apt, only `lock()` needs the
crates installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

REGISTRY = Path("/usr/share/cargo/registry")

CARGO_CONFIG = f"""\
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "{REGISTRY}"

[net]
offline = true
"""

# crate name -> (Debian package, requirement written in the members' Cargo.toml).
# Requirements name the major that Debian 12 (bookworm) ships, so a newer Debian with a
# different major fails loudly at `cargo generate-lockfile` instead of building other code.
CRATES: dict[str, tuple[str, str]] = {
    "anyhow": ("librust-anyhow-dev", '"1"'),
    "base64": ("librust-base64-dev", '"0.13"'),
    "bytes": ("librust-bytes-dev", '"1"'),
    "chrono": ("librust-chrono-dev", '{ version = "0.4", features = ["serde"] }'),
    "bincode": ("librust-bincode-dev", '"1"'),
    "clap": ("librust-clap-dev", '{ version = "4", features = ["derive", "env"] }'),
    "crossbeam": ("librust-crossbeam-dev", '"0.8"'),
    "csv": ("librust-csv-dev", '"1"'),
    "dashmap": ("librust-dashmap-dev", '"5"'),
    "env_logger": ("librust-env-logger-dev", '"0.9"'),
    "flate2": ("librust-flate2-dev", '"1"'),
    "futures": ("librust-futures-dev", '"0.3"'),
    "glob": ("librust-glob-dev", '"0.3"'),
    "hex": ("librust-hex-dev", '"0.4"'),
    "humantime": ("librust-humantime-dev", '"2"'),
    "hyper": ("librust-hyper-dev", '{ version = "0.14", features = ["full"] }'),
    "indexmap": ("librust-indexmap-dev", '{ version = "1", features = ["serde"] }'),
    "indicatif": ("librust-indicatif-dev", '"0.17"'),
    "itertools": ("librust-itertools-dev", '"0.10"'),
    "log": ("librust-log-dev", '"0.4"'),
    "nom": ("librust-nom-dev", '"7"'),
    "num": ("librust-num-dev", '"0.4"'),
    "once_cell": ("librust-once-cell-dev", '"1"'),
    "pest": ("librust-pest-dev", '"2"'),
    "pest_derive": ("librust-pest-derive-dev", '"2"'),
    "petgraph": ("librust-petgraph-dev", '"0.6"'),
    "proc-macro2": ("librust-proc-macro2-dev", '"1"'),
    "quote": ("librust-quote-dev", '"1"'),
    "rand": ("librust-rand-dev", '"0.8"'),
    "rayon": ("librust-rayon-dev", '"1"'),
    "regex": ("librust-regex-dev", '"1"'),
    "ron": ("librust-ron-dev", '"0.7"'),
    "semver": ("librust-semver-dev", '"1"'),
    "serde": ("librust-serde-dev", '{ version = "1", features = ["derive"] }'),
    "serde_derive": ("librust-serde-derive-dev", '"1"'),
    "serde_json": ("librust-serde-json-dev", '"1"'),
    "serde_yaml": ("librust-serde-yaml-dev", '"0.8"'),
    "sha2": ("librust-sha2-dev", '"0.10"'),
    "signal-hook": ("librust-signal-hook-dev", '"0.3"'),
    "syn": ("librust-syn-dev", '{ version = "1", features = ["full", "extra-traits"] }'),
    "tempfile": ("librust-tempfile-dev", '"3"'),
    "thiserror": ("librust-thiserror-dev", '"1"'),
    "time": ("librust-time-dev", '{ version = "0.3", features = ["formatting", "macros"] }'),
    "tokio": ("librust-tokio-dev", '{ version = "1", features = ["full"] }'),
    "toml": ("librust-toml-dev", '"0.5"'),
    "tower": ("librust-tower-dev", '{ version = "0.4", features = ["limit", "util", "timeout"] }'),
    "tracing": ("librust-tracing-dev", '"0.1"'),
    "tracing-subscriber": (
        "librust-tracing-subscriber-dev",
        '{ version = "0.3", features = ["env-filter", "fmt"] }',
    ),
    "url": ("librust-url-dev", '"2"'),
    "uuid": ("librust-uuid-dev", '{ version = "1", features = ["v4", "serde"] }'),
    "walkdir": ("librust-walkdir-dev", '"2"'),
}

# member -> (kind, registry crates, workspace members it depends on)
MEMBERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "model": (
        "lib",
        ("serde", "serde_json", "chrono", "uuid", "indexmap", "thiserror", "toml", "time"),
        (),
    ),
    "macros": ("proc-macro", ("syn", "quote", "proc-macro2"), ()),
    "formats": (
        "lib",
        (
            "serde",
            "serde_yaml",
            "ron",
            "bincode",
            "csv",
            "flate2",
            "hex",
            "nom",
            "pest",
            "pest_derive",
            "semver",
            "glob",
            "humantime",
        ),
        (),
    ),
    "engine": (
        "lib",
        (
            "regex",
            "rayon",
            "itertools",
            "sha2",
            "base64",
            "rand",
            "once_cell",
            "walkdir",
            "tempfile",
            "log",
            "serde_json",
            "dashmap",
            "crossbeam",
            "petgraph",
            "num",
        ),
        ("model", "macros"),
    ),
    "server": (
        "lib",
        ("hyper", "tower", "tokio", "futures", "bytes", "url", "tracing", "anyhow", "serde_json"),
        ("model",),
    ),
    "app": (
        "lib+bin",
        (
            "clap",
            "tokio",
            "anyhow",
            "tracing",
            "tracing-subscriber",
            "serde",
            "log",
            "indicatif",
            "signal-hook",
        ),
        ("model", "engine", "server", "formats"),
    ),
    "plugin-text": ("cdylib", ("log", "env_logger", "serde_json"), ("engine", "model", "formats")),
    "plugin-net": ("cdylib", ("tokio", "futures", "tracing"), ("server", "model")),
}

SOURCES: dict[str, dict[str, str]] = {
    "model": {
        "src/lib.rs": r"""
use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("bad json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("bad toml: {0}")]
    Toml(#[from] toml::de::Error),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub id: Uuid,
    pub name: String,
    pub at: DateTime<Utc>,
    pub tags: IndexMap<String, String>,
}

impl Record {
    pub fn new(name: &str) -> Self {
        Record { id: Uuid::new_v4(), name: name.to_string(), at: Utc::now(), tags: IndexMap::new() }
    }
    pub fn to_json(&self) -> Result<String, ModelError> {
        Ok(serde_json::to_string(self)?)
    }
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        Ok(serde_json::from_str(text)?)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub workers: usize,
    pub pattern: String,
}

pub fn parse_config(text: &str) -> Result<Config, ModelError> {
    Ok(toml::from_str(text)?)
}

pub fn stamp() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::now_utc().format(&format).unwrap_or_default()
}
""",
    },
    "macros": {
        "src/lib.rs": r"""
use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, DeriveInput};

#[proc_macro_derive(Describe)]
pub fn describe(input: TokenStream) -> TokenStream {
    let ast = parse_macro_input!(input as DeriveInput);
    let name = &ast.ident;
    let text = name.to_string();
    let span = proc_macro2::Span::call_site();
    let _ = span;
    quote! {
        impl #name {
            pub fn describe() -> &'static str { #text }
        }
    }
    .into()
}
""",
    },
    "formats": {
        "src/lib.rs": r"""
use serde::{Deserialize, Serialize};

#[derive(pest_derive::Parser)]
#[grammar_inline = "list = { SOI ~ item ~ (\",\" ~ item)* ~ EOI }\nitem = @{ ASCII_ALPHANUMERIC+ }"]
pub struct ListParser;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Doc {
    pub name: String,
    pub version: String,
    pub items: Vec<u32>,
}

pub fn to_yaml(doc: &Doc) -> String {
    serde_yaml::to_string(doc).unwrap_or_default()
}

pub fn to_ron(doc: &Doc) -> String {
    ron::to_string(doc).unwrap_or_default()
}

pub fn to_bincode(doc: &Doc) -> Vec<u8> {
    bincode::serialize(doc).unwrap_or_default()
}

pub fn to_csv(docs: &[Doc]) -> String {
    let mut writer = csv::Writer::from_writer(vec![]);
    for doc in docs {
        let _ = writer.serialize((&doc.name, &doc.version));
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

pub fn compress(data: &[u8]) -> String {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(data);
    hex::encode(encoder.finish().unwrap_or_default())
}

pub fn parse_list(text: &str) -> Vec<String> {
    use pest::Parser;
    match ListParser::parse(Rule::list, text) {
        Ok(mut pairs) => pairs
            .next()
            .map(|list| {
                list.into_inner()
                    .filter(|p| p.as_rule() == Rule::item)
                    .map(|p| p.as_str().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

pub fn number(input: &str) -> nom::IResult<&str, u32> {
    nom::combinator::map_res(nom::character::complete::digit1, str::parse)(input)
}

pub fn newer(a: &str, b: &str) -> bool {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => a > b,
        _ => false,
    }
}

pub fn files(pattern: &str) -> usize {
    glob::glob(pattern).map(|paths| paths.filter_map(Result::ok).count()).unwrap_or(0)
}

pub fn duration(text: &str) -> Option<std::time::Duration> {
    humantime::parse_duration(text).ok()
}
""",
    },
    "engine": {
        "src/lib.rs": r"""
use itertools::Itertools;
use once_cell::sync::Lazy;
use rand::Rng;
use rayon::prelude::*;
use regex::Regex;
use sha2::{Digest, Sha256};

static WORD: Lazy<Regex> = Lazy::new(|| Regex::new(r"[A-Za-z_]+").unwrap());

#[derive(macros::Describe)]
pub struct Engine {
    pub workers: usize,
}

pub fn words(text: &str) -> Vec<String> {
    WORD.find_iter(text).map(|m| m.as_str().to_lowercase()).unique().sorted().collect()
}

pub fn digest(parts: &[String]) -> String {
    let sums: Vec<Vec<u8>> =
        parts.par_iter().map(|p| Sha256::digest(p.as_bytes()).to_vec()).collect();
    base64::encode(sums.concat())
}

pub fn sample(n: usize) -> Vec<u32> {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| rng.gen_range(0..100)).collect()
}

pub fn scan(dir: &std::path::Path) -> usize {
    walkdir::WalkDir::new(dir).into_iter().filter_map(Result::ok).count()
}

pub fn scratch() -> std::io::Result<std::path::PathBuf> {
    Ok(tempfile::tempdir()?.into_path())
}

pub fn graph_order(edges: &[(u32, u32)]) -> Vec<u32> {
    let graph = petgraph::graphmap::DiGraphMap::<u32, ()>::from_edges(edges.iter().copied());
    petgraph::algo::toposort(&graph, None).unwrap_or_default()
}

pub fn distinct(words: &[String]) -> usize {
    let map = dashmap::DashMap::new();
    words.par_iter().for_each(|w| *map.entry(w.clone()).or_insert(0usize) += 1);
    map.len()
}

pub fn pipe(n: u32) -> u32 {
    let (tx, rx) = crossbeam::channel::unbounded();
    for i in 0..n {
        let _ = tx.send(i);
    }
    drop(tx);
    rx.iter().sum()
}

pub fn ratio(a: i64, b: i64) -> String {
    let big = num::BigUint::from(1u32) << 100usize;
    format!("{} {}", num::rational::Ratio::new(a, b.max(1)), big)
}

pub fn summary(record: &model::Record) -> String {
    log::debug!("summary of {}", record.name);
    serde_json::json!({"engine": Engine::describe(), "words": words(&record.name)}).to_string()
}
""",
    },
    "server": {
        "src/lib.rs": r"""
use std::convert::Infallible;
use std::net::SocketAddr;

use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Request, Response, Server};
use tower::ServiceBuilder;

async fn handle(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let url = url::Url::parse(&format!("http://localhost{}", req.uri())).ok();
    let name = url
        .as_ref()
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "name").map(|(_, v)| v.into_owned()))
        .unwrap_or_default();
    tracing::info!(%name, "request");
    let body = model::Record::new(&name).to_json().unwrap_or_default();
    Ok(Response::new(Body::from(bytes::Bytes::from(body))))
}

pub async fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let make = make_service_fn(|_| async {
        Ok::<_, Infallible>(ServiceBuilder::new().concurrency_limit(64).service(service_fn(handle)))
    });
    Server::bind(&addr).serve(make).await?;
    Ok(())
}

pub async fn fan_out(n: usize) -> Vec<usize> {
    let tasks = (0..n).map(|i| async move {
        tokio::task::yield_now().await;
        i * 2
    });
    futures::future::join_all(tasks).await
}

pub fn status() -> String {
    serde_json::json!({"ok": true}).to_string()
}
""",
    },
    "app": {
        "src/lib.rs": r"""
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Report {
    pub words: Vec<String>,
    pub digest: String,
}

pub fn report(text: &[String]) -> Report {
    let joined = text.join(" ");
    let words = engine::words(&joined);
    log::info!("{} words", words.len());
    let doc = formats::Doc { name: joined.clone(), version: "1.0.0".into(), items: vec![1, 2] };
    log::debug!("{}", formats::to_yaml(&doc));
    Report { digest: engine::digest(&words), words }
}
""",
        "src/main.rs": r"""
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "app", about = "the benchmark workspace's application")]
struct Args {
    #[arg(long, default_value_t = 2, env = "APP_WORKERS")]
    workers: usize,
    #[arg(long)]
    serve: Option<std::net::SocketAddr>,
    text: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    tracing::info!(workers = args.workers, "starting");
    if let Some(addr) = args.serve {
        return server::serve(addr).await;
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())?;
    let bar = indicatif::ProgressBar::new(args.text.len() as u64);
    let report = app::report(&args.text);
    bar.finish();
    let record = model::Record::new(&report.digest);
    println!("{} {}", record.to_json()?, server::fan_out(args.workers).await.len());
    Ok(())
}
""",
    },
    "plugin-text": {
        "src/lib.rs": r"""
/// # Safety
/// `ptr` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn plugin_text_score(ptr: *const u8, len: usize) -> u64 {
    let _ = env_logger::try_init();
    let bytes = std::slice::from_raw_parts(ptr, len);
    let text = String::from_utf8_lossy(bytes);
    let words = engine::words(&text);
    log::debug!("{}", serde_json::json!({"words": words.len()}));
    let record = model::Record::new(&text);
    let listed = formats::parse_list(&text).len();
    (words.len() + listed + engine::summary(&record).len()) as u64
}
""",
    },
    "plugin-net": {
        "src/lib.rs": r"""
#[no_mangle]
pub extern "C" fn plugin_net_fan_out(n: usize) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let Ok(runtime) = runtime else { return 0 };
    tracing::debug!(n, "fan out");
    let done = runtime.block_on(async {
        let (a, b) = futures::join!(server::fan_out(n), server::fan_out(1));
        a.len() + b.len()
    });
    done + model::Record::new("net").name.len() + server::status().len()
}
""",
    },
}


def missing_crates(registry: Path = REGISTRY) -> list[str]:
    """The crates of CRATES that have no directory in ``registry``."""
    have = set()
    if registry.is_dir():
        for entry in registry.iterdir():
            m = re.fullmatch(r"(.+)-(\d+\.\d+\.\d+.*)", entry.name)
            if m:
                have.add(m.group(1))
    return sorted(name for name in CRATES if name not in have)


def packages(names: list[str] | None = None) -> list[str]:
    """The Debian packages that provide ``names`` (default: every crate)."""
    return sorted({CRATES[n][0] for n in (names if names is not None else CRATES)})


def ensure_installed(log: object = print) -> list[str]:
    """Install the Debian packages for any missing crate; returns the packages installed.

    Raises SystemExit with a one-line message when not root or apt fails.
    """
    missing = missing_crates()
    if not missing:
        log(f"all {len(CRATES)} crates present under {REGISTRY}")  # type: ignore[operator]
        return []
    pkgs = packages(missing)
    if os.geteuid() != 0:
        raise SystemExit(
            f"real_workspace: {len(missing)} crates missing from {REGISTRY} and not root: "
            f"run `apt-get install {' '.join(pkgs)}` as root"
        )
    if shutil.which("apt-get") is None:
        raise SystemExit("real_workspace: crates missing and apt-get not found")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *pkgs],
    ):
        log("+ " + " ".join(cmd))  # type: ignore[operator]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["?"]
            raise SystemExit(f"real_workspace: `{' '.join(cmd[:2])}` failed: {last[0]}")
    still = missing_crates()
    if still:
        raise SystemExit(f"real_workspace: still missing after apt-get: {', '.join(still)}")
    return pkgs


def _dep_line(name: str) -> str:
    return f"{name} = {CRATES[name][1]}"


def _manifest(member: str) -> str:
    kind, deps, locals_ = MEMBERS[member]
    lines = [
        "[package]",
        f'name = "{member}"',
        'version = "0.1.0"',
        'edition = "2021"',
        "publish = false",
        "",
    ]
    if kind == "proc-macro":
        lines += ["[lib]", "proc-macro = true", ""]
    elif kind == "cdylib":
        lines += ["[lib]", 'crate-type = ["cdylib"]', ""]
    lines.append("[dependencies]")
    lines += [f'{dep} = {{ path = "../{dep}" }}' for dep in locals_]
    lines += [_dep_line(dep) for dep in deps]
    return "\n".join(lines) + "\n"


def generate(dest: Path) -> Path:
    """Write the workspace into ``dest`` (created, must be empty or absent); returns it."""
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    members = sorted(MEMBERS)
    (dest / "Cargo.toml").write_text(
        '[workspace]\nresolver = "2"\nmembers = [' + ", ".join(f'"{m}"' for m in members) + "]\n"
    )
    (dest / ".cargo").mkdir()
    (dest / ".cargo" / "config.toml").write_text(CARGO_CONFIG)
    for member in members:
        root = dest / member
        (root / "src").mkdir(parents=True)
        (root / "Cargo.toml").write_text(_manifest(member))
        for rel, text in SOURCES[member].items():
            (root / rel).write_text(text.lstrip("\n"))
    return dest


def lock(root: Path) -> None:
    """Resolve offline against the Debian registry and write Cargo.lock."""
    proc = subprocess.run(
        ["cargo", "generate-lockfile", "--offline"], cwd=root, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"real_workspace: offline resolution failed:\n{proc.stderr[-3000:]}")


def locked_versions(root: Path) -> dict[str, str]:
    """Registry package -> version from Cargo.lock (workspace members left out)."""
    out: dict[str, str] = {}
    name = None
    for line in (root / "Cargo.lock").read_text().splitlines():
        if line.startswith("name = "):
            name = json.loads(line.split("=", 1)[1])
        elif line.startswith("version = ") and name is not None:
            if name not in MEMBERS:
                out[name] = json.loads(line.split("=", 1)[1])
            name = None
    return out
