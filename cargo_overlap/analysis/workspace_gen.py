"""Generate small, deterministic cargo workspaces (path dependencies only).

Used by the tests, the benchmarks and the example that ships in the repo. The code is
generic on purpose: each final artifact instantiates the shared generics with its own
types, so codegen, LTO and linking take visible time, as in real Rust projects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Profile:
    """The `[profile.release]` written into the workspace."""

    lto: str = "thin"
    opt_level: int = 3
    codegen_units: int = 16


@dataclass(frozen=True)
class WorkspaceSpec:
    """Shape of a generated workspace.

    ``libs`` shared library crates form layers: each depends on up to ``fan_in`` crates of
    the layer before. ``app`` is a package with a lib and a bin; each name in ``plugins``
    is a cdylib package. ``weight`` scales the generic code per crate.
    """

    libs: int = 4
    fan_in: int = 2
    layer_width: int = 2
    app: str | None = "heph"
    plugins: tuple[str, ...] = ("plugin-a", "plugin-b")
    weight: int = 4
    build_script: bool = True
    profile: Profile = field(default_factory=Profile)
    failing: bool = False


def _lib_name(i: int) -> str:
    return f"shared-{i:03d}"


def _crate(name: str) -> str:
    return name.replace("-", "_")


def _generic_block(prefix: str, weight: int) -> str:
    """Generic functions and a trait with enough body to give codegen work."""
    parts = [
        "use std::collections::BTreeMap;",
        "use std::fmt::Debug;",
        "",
        f"pub trait {prefix.title().replace('_', '')}Step: Clone + Debug {{",
        "    fn weight(&self) -> u64;",
        "}",
    ]
    for k in range(weight):
        parts += [
            "",
            f"pub fn {prefix}_fold_{k}<T: Clone + Debug + Ord>"
            "(items: &[T], rounds: usize) -> u64 {",
            "    let mut map: BTreeMap<T, u64> = BTreeMap::new();",
            "    for r in 0..rounds {",
            "        for (i, item) in items.iter().enumerate() {",
            f"            *map.entry(item.clone()).or_insert(0) += (i * r + {k}) as u64;",
            "        }",
            "    }",
            '    let text = format!("{:?}", map.keys().take(3).collect::<Vec<_>>());',
            "    map.values()"
            ".fold(text.len() as u64, |acc, v| acc.wrapping_mul(31).wrapping_add(*v))",
            "}",
        ]
    return "\n".join(parts) + "\n"


def _instantiations(calls: list[str], weight: int) -> str:
    """A function that instantiates every generic of ``calls`` with several types."""
    types = [
        ("u8", "vec![3u8, 1, 2]"),
        ("u32", "vec![3u32, 1, 2]"),
        ("i64", "vec![-3i64, 1, 2]"),
        ("String", 'vec!["b".to_string(), "a".to_string()]'),
        ("(u16, char)", "vec![(1u16, 'x'), (0, 'y')]"),
        ("Vec<u8>", "vec![vec![1u8], vec![]]"),
    ]
    body = ["pub fn exercise(rounds: usize) -> u64 {", "    let mut total = 0u64;"]
    for call in calls:
        for k in range(weight):
            for _ty, value in types:
                body.append(f"    total = total.wrapping_add({call}_fold_{k}(&{value}, rounds));")
    body += ["    total", "}"]
    return "\n".join(body) + "\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def generate(root: Path, spec: WorkspaceSpec) -> Path:
    """Write the workspace of ``spec`` under ``root``; returns the manifest path.

    The output depends only on ``spec``: generating twice gives identical files.
    """
    root.mkdir(parents=True, exist_ok=True)
    members: list[str] = []
    layers: list[list[str]] = []
    for i in range(spec.libs):
        if not layers or len(layers[-1]) >= spec.layer_width:
            layers.append([])
        layers[-1].append(_lib_name(i))
    for depth, layer in enumerate(layers):
        prev = layers[depth - 1] if depth else []
        for j, name in enumerate(layer):
            deps = [prev[(j + d) % len(prev)] for d in range(min(spec.fan_in, len(prev)))]
            deps = sorted(set(deps))
            members.append(f"crates/{name}")
            dep_lines = "".join(f'{d} = {{ path = "../{d}" }}\n' for d in deps)
            has_script = spec.build_script and depth == 0 and j == 0
            build = 'build = "build.rs"\n' if has_script else ""
            _write(
                root / "crates" / name / "Cargo.toml",
                f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
                f"publish = false\n{build}\n[dependencies]\n{dep_lines}",
            )
            uses = "".join(f"pub use {_crate(d)};\n" for d in deps)
            src = uses + _generic_block(_crate(name), spec.weight)
            if has_script:
                src += 'pub const BUILT_BY: &str = env!("GEN_RUSTC_VERSION");\n'
                _write(root / "crates" / name / "build.rs", _BUILD_RS)
            _write(root / "crates" / name / "src" / "lib.rs", src)
    top = layers[-1] if layers else []
    finals: list[tuple[str, bool]] = []
    if spec.app:
        finals.append((spec.app, False))
    finals += [(p, True) for p in spec.plugins]
    for name, is_plugin in finals:
        members.append(name)
        dep_lines = "".join(f'{d} = {{ path = "../crates/{d}" }}\n' for d in top)
        lib_section = '[lib]\ncrate-type = ["cdylib"]\n\n' if is_plugin else ""
        _write(
            root / name / "Cargo.toml",
            f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
            f"publish = false\n\n{lib_section}[dependencies]\n{dep_lines}",
        )
        calls = [f"{_crate(d)}::{_crate(d)}" for d in top]
        lib = _instantiations(calls, spec.weight)
        if is_plugin:
            lib += (
                '\n#[no_mangle]\npub extern "C" fn plugin_entry(rounds: usize) -> u64 {\n'
                "    exercise(rounds)\n}\n"
            )
        if spec.failing and name == finals[-1][0]:
            lib += '\npub fn broken() -> u32 { "not a number" }\n'
        _write(root / name / "src" / "lib.rs", lib)
        if not is_plugin:
            _write(
                root / name / "src" / "main.rs",
                f'fn main() {{\n    println!("{{}}", {_crate(name)}::exercise(2));\n}}\n',
            )
    p = spec.profile
    _write(
        root / "Cargo.toml",
        '[workspace]\nresolver = "2"\nmembers = [\n'
        + "".join(f'    "{m}",\n' for m in members)
        + "]\n\n[profile.release]\n"
        + f'lto = "{p.lto}"\nopt-level = {p.opt_level}\ncodegen-units = {p.codegen_units}\n',
    )
    _write(root / ".gitignore", "/target\n")
    return root / "Cargo.toml"


# A build script that probes rustc through RUSTC_WRAPPER the way autocfg and anyhow do.
_BUILD_RS = """\
use std::env;
use std::process::Command;

fn main() {
    let rustc = env::var("RUSTC").expect("cargo sets RUSTC");
    let mut cmd = match env::var("RUSTC_WRAPPER") {
        Ok(w) if !w.is_empty() => {
            let mut c = Command::new(w);
            c.arg(&rustc);
            c
        }
        _ => Command::new(&rustc),
    };
    let out = cmd.arg("--version").output().expect("probe rustc");
    assert!(out.status.success(), "rustc probe failed");
    let version = String::from_utf8(out.stdout).expect("utf-8");
    println!("cargo:rustc-env=GEN_RUSTC_VERSION={}", version.trim());
    println!("cargo:rerun-if-changed=build.rs");
}
"""
