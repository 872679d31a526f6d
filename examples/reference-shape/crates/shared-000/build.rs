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
