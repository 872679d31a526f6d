// cargo-overlap's RUSTC_WRAPPER and linker shim: one std-only binary, two roles.
//
// As the wrapper (invoked by cargo as `.../rustc-wrapper [USER_WRAPPER] rustc ARGS`, the run
// directory named by $COVERLAP_RUN_DIR), it runs rustc (or the user's own wrapper, named in
// `<run dir>/chain`), relays rustc's
// stderr to cargo byte for byte, and copies rustc's artifact and section-timing lines to the
// orchestrator over a unix datagram socket, stamped with wall-clock nanoseconds.
// On x86_64 Linux, cargo runs front.rs first, which does the units that link nothing
// itself and execs this program, with the same arguments, for everything else.
// As a linker (invoked by rustc through PATH as `cc` or another linker name), it reports
// link start and end, and runs the real linker found on the original PATH.
//
// Rules that keep it invisible to the build:
// - never fail because the orchestrator is gone: every send ignores errors;
// - never close inherited descriptors: cargo's jobserver pipes reach rustc (std::process
//   keeps fds that are not close-on-exec open across exec);
// - invocations that are not cargo units (cargo's `-vV` and `--print` queries, build
//   scripts probing rustc) are exec'd untouched and not reported;
// - the environment variables it adds for rustc do not start with CARGO_, which sccache
//   hashes into its cache keys.

use std::env;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SOCK_ENV: &str = "COVERLAP_SOCK";
const UNIT_ENV: &str = "COVERLAP_UNIT";
const PATH_ENV: &str = "COVERLAP_REAL_PATH";
const LINKER_DIR_ENV: &str = "COVERLAP_LINKER_DIR";
const RUN_DIR_ENV: &str = "COVERLAP_RUN_DIR";

#[repr(C)]
struct Timeval {
    tv_sec: i64,
    tv_usec: i64,
}

#[repr(C)]
struct Rusage {
    ru_utime: Timeval,
    ru_stime: Timeval,
    ru_maxrss: i64,
    rest: [i64; 13],
}

#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

const POLLIN: i16 = 1;

extern "C" {
    fn poll(fds: *mut PollFd, nfds: u64, timeout_ms: i32) -> i32;
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    fn getpid() -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
    fn signal(sig: i32, handler: usize) -> usize;
    fn sysconf(name: i32) -> i64;
}

const SC_CLK_TCK: i32 = 2;

const RUSAGE_CHILDREN: i32 = -1;
const SIG_DFL: usize = 0;

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

// `s` must be valid UTF-8 (see valid_utf8_or_lossy).
fn push_json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f | 0x7f => {
                let _ = write!(out, "\\u{:04x}", b);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn valid_utf8_or_lossy(s: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(s) {
        Ok(_) => s.to_vec(),
        Err(_) => String::from_utf8_lossy(s).into_owned().into_bytes(),
    }
}

struct Reporter {
    sock: Option<UnixDatagram>,
    path: PathBuf,
}

impl Reporter {
    fn new(path: PathBuf) -> Reporter {
        Reporter { sock: UnixDatagram::unbound().ok(), path }
    }

    fn send(&self, msg: &[u8]) {
        if let Some(sock) = &self.sock {
            let path = &self.path;
            if sock.send_to(msg, path).is_err() && msg.len() > 4096 {
                // Too large for one datagram (a huge diagnostic): say so instead.
                let mut lost: Vec<u8> = Vec::with_capacity(96);
                let _ = write!(lost, "{{\"e\":\"lost\",\"u\":{},\"t\":{},\"bytes\":{}}}",
                    unsafe { getpid() }, now_ns(), msg.len());
                let _ = sock.send_to(&lost, path);
            }
        }
    }
}

// How long a unit's report may wait to share a datagram with the next one. Every datagram
// wakes the orchestrator, and on a busy machine each wake-up takes CPU from rustc; a small
// crate's start, rmeta and end fit in one such window, so they cost one wake-up, not three.
// The messages keep their own timestamps: only the live view lags, by at most this.
const HOLD: Duration = Duration::from_millis(150);
// Well under a unix datagram's size limit (the socket's send buffer, ~200 KiB by default).
const BATCH_LIMIT: usize = 60 * 1024;

// The messages waiting for a datagram, newline-separated, and when the oldest must go;
// with `hold` false every message goes out at once.
struct Batch {
    hold: bool,
    buf: Vec<u8>,
    due: Option<Instant>,
}

impl Batch {
    fn report(&mut self, reporter: &Reporter, msg: &[u8]) {
        if self.hold {
            self.push(reporter, msg);
        } else {
            reporter.send(msg);
        }
    }

    fn push(&mut self, reporter: &Reporter, msg: &[u8]) {
        if !self.buf.is_empty() && self.buf.len() + msg.len() >= BATCH_LIMIT {
            self.flush(reporter);
        }
        if self.buf.is_empty() {
            self.due = Some(Instant::now() + HOLD);
        } else {
            self.buf.push(b'\n');
        }
        self.buf.extend_from_slice(msg);
    }

    fn flush(&mut self, reporter: &Reporter) {
        if !self.buf.is_empty() {
            reporter.send(&self.buf);
            self.buf.clear();
        }
        self.due = None;
    }
}

// Whether `fd` has something to read before `until`; true once it has, or on an error
// (the read that follows then says what).
fn readable_before(fd: i32, until: Instant) -> bool {
    let left = until.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return false;
    }
    let mut pfd = PollFd { fd, events: POLLIN, revents: 0 };
    let ms = (left.as_micros().div_ceil(1000)).min(i32::MAX as u128) as i32;
    unsafe { poll(&mut pfd, 1, ms) != 0 }
}

// rustc names the thread that drives codegen "coordinator" and starts it when codegen
// begins; bins and cdylibs emit no rmeta, so on stable this is the only live sign that the
// frontend is over. One look at rustc's threads: Some(true) when the coordinator is there,
// None when rustc is gone.
fn coordinator_started(pid: u32, seen: &mut Vec<u64>) -> Option<bool> {
    let entries = std::fs::read_dir(format!("/proc/{}/task", pid)).ok()?;
    for entry in entries.flatten() {
        let tid: u64 = match entry.file_name().to_str().and_then(|s| s.parse().ok()) {
            Some(t) => t,
            None => continue,
        };
        if seen.contains(&tid) {
            continue;
        }
        let comm = match std::fs::read(entry.path().join("comm")) {
            Ok(c) => c,
            Err(_) => continue,
        };
        if comm.trim_ascii() == b"coordinator" {
            return Some(true);
        }
        // A thread's name is set just after it starts: check it again next round.
        if comm.trim_ascii() != b"rustc" {
            seen.push(tid);
        }
    }
    Some(false)
}

fn send_codegen(reporter: &Reporter, unit: i32) {
    let mut msg: Vec<u8> = Vec::with_capacity(96);
    let _ = write!(msg, "{{\"e\":\"codegen\",\"u\":{},\"t\":{}}}", unit, now_ns());
    reporter.send(&msg);
}

// Polls /proc until rustc's coordinator thread shows up or rustc exits.
fn watch_codegen_start(pid: u32, unit: i32, sock: PathBuf, done: Arc<AtomicBool>) {
    let reporter = Reporter::new(sock);
    let mut seen: Vec<u64> = Vec::new();
    while !done.load(Ordering::Relaxed) {
        match coordinator_started(pid, &mut seen) {
            Some(true) => return send_codegen(&reporter, unit),
            Some(false) => {}
            None => return,
        }
        std::thread::sleep(Duration::from_millis(4));
    }
}

// Where the real rustc of a chained unit ran, as far as /proc could tell.
#[derive(Clone, Copy, PartialEq)]
enum RustcSeen {
    Nowhere,
    // a child of the user's wrapper: sccache compiles locally what it cannot cache
    UnderWrapper,
    // a child of the sccache server: a cache miss
    UnderServer,
}

struct ChainWatch {
    seen: RustcSeen,
    // CPU of a rustc the server ran, which the wrapper's rusage does not include
    server_cpu_us: i64,
}

fn proc_stat(pid: u32) -> Option<Vec<u8>> {
    std::fs::read(format!("/proc/{}/stat", pid)).ok()
}

// Fields after the parenthesised command name, which may itself hold spaces.
fn stat_fields(stat: &[u8]) -> Vec<&[u8]> {
    let close = stat.iter().rposition(|&b| b == b')').map(|i| i + 1).unwrap_or(0);
    stat[close..].split(|&b| b == b' ').filter(|f| !f.is_empty()).collect()
}

fn parse_u64(field: Option<&&[u8]>) -> Option<u64> {
    std::str::from_utf8(field?).ok()?.parse().ok()
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = proc_stat(pid)?;
    let f = stat_fields(&stat);
    // utime and stime are fields 14 and 15 of stat(5); f[0] is field 3.
    Some(parse_u64(f.get(11))? + parse_u64(f.get(12))?)
}

// Some(true) when `pid` is the rustc that compiles this unit. sccache also runs rustc with
// the unit's arguments to hash its inputs (`--emit=dep-info`) and to learn its outputs
// (`--print`): those are not the compile, and on a cache hit they are all that runs.
fn is_rustc_of(pid: u32, metadata: &[u8]) -> Option<bool> {
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid)).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let argv0 = args.first().copied().unwrap_or_default();
    if argv0.is_empty() || argv0.ends_with(b"sccache") {
        // Forked but not yet exec'd: ask again next round.
        return None;
    }
    let mut ours = false;
    let mut compiles = false;
    let mut prev: &[u8] = b"";
    for &a in &args[1..] {
        if a == metadata || (a.starts_with(b"-C") && &a[2..] == metadata) {
            ours = true;
        }
        let emit = if prev == b"--emit" { Some(a) } else { a.strip_prefix(b"--emit=") };
        if let Some(kinds) = emit {
            compiles = kinds.split(|&b| b == b',').any(|k| k.starts_with(b"link") || k.starts_with(b"metadata"));
        }
        if a.starts_with(b"--print") {
            return Some(false);
        }
        prev = a;
    }
    Some(ours && compiles)
}

// Under a user's wrapper (sccache) the shim's child is the wrapper, so the rustc that
// really compiles is found in /proc: a child of the wrapper, or of the sccache server,
// carrying this unit's `-C metadata=`. Finding none under a known server means the cache
// answered. A new process's pid is above the wrapper's, short of a pid wrap-around.
fn watch_chained(
    wrapper: u32,
    server: Option<u32>,
    metadata: Vec<u8>,
    unit: i32,
    codegen: bool,
    sock: PathBuf,
    done: Arc<AtomicBool>,
) -> ChainWatch {
    let reporter = Reporter::new(sock);
    let ticks = unsafe { sysconf(SC_CLK_TCK) }.max(1) as u64;
    let mut looked: Vec<u32> = Vec::new();
    let mut found: Option<(u32, RustcSeen)> = None;
    let mut threads: Vec<u64> = Vec::new();
    let mut codegen_sent = !codegen;
    let mut server_ticks: u64 = 0;
    loop {
        let last = done.load(Ordering::Relaxed);
        if found.is_none() {
            if let Ok(entries) = std::fs::read_dir("/proc") {
                for entry in entries.flatten() {
                    let pid: u32 = match entry.file_name().to_str().and_then(|s| s.parse().ok()) {
                        Some(p) => p,
                        None => continue,
                    };
                    if pid <= wrapper || looked.contains(&pid) {
                        continue;
                    }
                    let ppid = match proc_stat(pid) {
                        Some(stat) => parse_u64(stat_fields(&stat).get(1)).unwrap_or(0) as u32,
                        None => continue,
                    };
                    let place = if ppid == wrapper {
                        RustcSeen::UnderWrapper
                    } else if Some(ppid) == server {
                        RustcSeen::UnderServer
                    } else {
                        looked.push(pid);
                        continue;
                    };
                    match is_rustc_of(pid, &metadata) {
                        Some(true) => {
                            found = Some((pid, place));
                            break;
                        }
                        Some(false) => looked.push(pid),
                        None => {}
                    }
                }
            }
        }
        if let Some((pid, place)) = found {
            if place == RustcSeen::UnderServer {
                if let Some(t) = cpu_ticks(pid) {
                    server_ticks = t;
                }
            }
            if !codegen_sent {
                match coordinator_started(pid, &mut threads) {
                    Some(false) => {}
                    Some(true) => {
                        send_codegen(&reporter, unit);
                        codegen_sent = true;
                    }
                    None => codegen_sent = true,
                }
            }
        }
        if last {
            break;
        }
        std::thread::sleep(Duration::from_millis(4));
    }
    ChainWatch {
        seen: found.map(|(_, place)| place).unwrap_or(RustcSeen::Nowhere),
        server_cpu_us: (server_ticks * 1_000_000 / ticks) as i64,
    }
}

// This unit's `metadata=HASH` codegen option, unique to the unit in a build.
fn metadata_arg(args: &[OsString]) -> Option<Vec<u8>> {
    let mut prev_c = false;
    for a in args {
        let a = a.as_bytes();
        if prev_c && a.starts_with(b"metadata=") {
            return Some(a.to_vec());
        }
        if a.starts_with(b"-Cmetadata=") {
            return Some(a[2..].to_vec());
        }
        prev_c = a == b"-C";
    }
    None
}

// The run directory comes from the environment, not from the wrapper's own path: cargo keys
// its cache of rustc's answers (target/.rustc_info.json) on RUSTC_WRAPPER's path, so that
// path is the same in every run. Without it the shim is a transparent exec.
fn run_dir() -> Option<PathBuf> {
    env::var_os(RUN_DIR_ENV)
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
}

fn exit_like(status: std::process::ExitStatus) -> ! {
    if let Some(code) = status.code() {
        std::process::exit(code);
    }
    if let Some(sig) = status.signal() {
        unsafe {
            signal(sig, SIG_DFL);
            kill(getpid(), sig);
        }
    }
    std::process::exit(1);
}

fn is_cargo_unit(args: &[OsString]) -> bool {
    // Build scripts run with CARGO_CFG_* set; a rustc they spawn inherits it. cargo's own
    // queries (-vV, --print) carry no CARGO_CRATE_NAME.
    if env::var_os("CARGO_CRATE_NAME").is_none() || env::var_os("CARGO_CFG_TARGET_ARCH").is_some()
    {
        return false;
    }
    args.iter().any(|a| a.as_bytes() == b"--crate-name")
}

// The arguments worth sending: identity, dependency edges, profile, linker. Sending all of
// them would make a start message for a crate with hundreds of --extern flags large.
fn interesting_args(args: &[OsString]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_bytes();
        let takes_value = matches!(
            a,
            b"--crate-name" | b"--crate-type" | b"--extern" | b"--target" | b"-C" | b"--edition"
        );
        let keep_alone = a == b"--test"
            || a.starts_with(b"--emit")
            || a.starts_with(b"--crate-type=")
            || a.starts_with(b"--target=")
            || a.starts_with(b"-C")
            || a.starts_with(b"--json");
        if takes_value && i + 1 < args.len() {
            let v = args[i + 1].as_bytes();
            if a != b"-C" || is_interesting_codegen(v) {
                out.push(a);
                out.push(v);
            }
            i += 2;
            continue;
        }
        if keep_alone && (!a.starts_with(b"-C") || is_interesting_codegen(&a[2..])) {
            out.push(a);
        }
        i += 1;
    }
    out
}

fn is_interesting_codegen(v: &[u8]) -> bool {
    [
        &b"metadata="[..],
        b"extra-filename=",
        b"opt-level=",
        b"debuginfo=",
        b"linker=",
        b"lto",
        b"codegen-units=",
    ]
    .iter()
    .any(|p| v.starts_with(p))
}

fn linker_name(args: &[OsString]) -> Option<Vec<u8>> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_bytes();
        let v: Option<&[u8]> = if a == b"-C" && i + 1 < args.len() {
            Some(args[i + 1].as_bytes())
        } else if let Some(rest) = a.strip_prefix(b"-C") {
            Some(rest)
        } else {
            None
        };
        if let Some(v) = v {
            if let Some(name) = v.strip_prefix(b"linker=") {
                return Some(name.to_vec());
            }
        }
        i += 1;
    }
    None
}

// The crate types rustc is asked for (`lib` as `rlib`, each once); empty for a test
// harness or when none is given, which both make a binary.
fn crate_types(args: &[OsString]) -> Vec<&[u8]> {
    let mut types: Vec<&[u8]> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_bytes();
        if a == b"--test" {
            return Vec::new();
        }
        let listed: Option<&[u8]> = if a == b"--crate-type" && i + 1 < args.len() {
            i += 1;
            Some(args[i].as_bytes())
        } else {
            a.strip_prefix(b"--crate-type=")
        };
        for t in listed.into_iter().flat_map(|v| v.split(|&c| c == b',')) {
            let t: &[u8] = if t == b"lib" { b"rlib" } else { t };
            if !types.contains(&t) {
                types.push(t);
            }
        }
        i += 1;
    }
    types
}

fn links(args: &[OsString]) -> bool {
    let types = crate_types(args);
    types.is_empty() || types.iter().any(|t| *t != b"rlib")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

// Put a shim in front of the linker rustc will run. The default (`cc`) and bare names
// (`-C linker=clang`) are found on PATH, where the wrapper puts `<run dir>/linker` first.
// An absolute path (`-C linker=/opt/zig/zigcc`, as cargo-zigbuild sets) cannot be shadowed
// on PATH: rustc is pointed at a shim with the same file name, since rustc infers the
// linker flavor from the name, and the shim finds the real path in the file `real` beside it.
fn shadow_linker(run_dir: &Path, args: &mut [OsString]) {
    let exe = match env::current_exe() {
        Ok(e) => e,
        Err(_) => return,
    };
    let name = match linker_name(&args[1..]) {
        Some(n) => n,
        None => return,
    };
    if !name.contains(&b'/') {
        let shadow = run_dir.join("linker").join(std::ffi::OsStr::from_bytes(&name));
        if !shadow.exists() {
            let _ = std::os::unix::fs::symlink(&exe, &shadow);
        }
        return;
    }
    let real = Path::new(std::ffi::OsStr::from_bytes(&name));
    let base = match real.file_name() {
        Some(b) if real.is_absolute() => b.to_os_string(),
        _ => return,
    };
    let dir = run_dir.join("linker-abs").join(format!("{:016x}", fnv1a(&name)));
    let shadow = dir.join(&base);
    if !shadow.exists() {
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        // Write `real` before the link appears: a shim found by name always finds it.
        let tmp = dir.join(format!("real.{}", unsafe { getpid() }));
        if std::fs::write(&tmp, &name).is_err() || std::fs::rename(&tmp, dir.join("real")).is_err() {
            return;
        }
        let _ = std::os::unix::fs::symlink(&exe, &shadow);
        if !shadow.exists() {
            return;
        }
    }
    let mut replacement = OsString::from("linker=");
    replacement.push(shadow.as_os_str());
    for i in 1..args.len() {
        let a = args[i].as_bytes();
        if a.strip_prefix(b"-Clinker=") == Some(&name[..]) {
            let mut v = OsString::from("-C");
            v.push(&replacement);
            args[i] = v;
        } else if a.strip_prefix(b"linker=") == Some(&name[..]) && args[i - 1].as_bytes() == b"-C" {
            args[i] = replacement.clone();
        }
    }
}

// The orchestrator starts cargo before it knows whether rustc is a nightly (its `rustc -vV`
// runs while cargo starts up) and writes `decided` once the phases mode is laid out in the
// run directory. cargo's first unit nearly always comes later; one that does not waits
// here. No run directory (the orchestrator is gone) or no decision in 30 s: go on, the
// unit is built either way.
fn await_decision(run_dir: &Path) {
    let decided = run_dir.join("decided");
    for _ in 0..30_000 {
        if decided.exists() || !run_dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn wrapper_main(args: Vec<OsString>) -> ! {
    if args.is_empty() {
        eprintln!("cargo-overlap shim: expected `rustc ARGS...`");
        std::process::exit(101);
    }
    let run_dir = run_dir();
    let chain: Option<OsString> = run_dir.as_ref().and_then(|d| {
        std::fs::read(d.join("chain"))
            .ok()
            .map(|b| OsString::from(std::ffi::OsStr::from_bytes(b.trim_ascii())))
            .filter(|s| !s.is_empty())
    });
    let unit = run_dir.is_some() && is_cargo_unit(&args[1..]);
    if unit {
        await_decision(run_dir.as_ref().unwrap());
    }
    let sections_mode = unit && run_dir.as_ref().is_some_and(|d| d.join("sections").exists());
    // In sections mode (a nightly rustc) ask rustc for its section timings the way cargo's
    // -Zsection-timings does, and keep the extra lines from cargo, which did not ask.
    let mut injected = false;
    let mut args = args;
    if sections_mode && !args.iter().any(|a| a.as_bytes().starts_with(b"--json=") && a.as_bytes().ends_with(b"timings")) {
        for a in args.iter_mut().skip(1) {
            if a.as_bytes().starts_with(b"--json=") {
                a.push(",timings");
                injected = true;
            }
        }
        if injected && !args.iter().any(|a| a.as_bytes() == b"-Zunstable-options") {
            args.push(OsString::from("-Zunstable-options"));
        }
    }
    if unit && links(&args[1..]) && run_dir.as_ref().is_some_and(|d| d.join("linker").is_dir()) {
        shadow_linker(run_dir.as_ref().unwrap(), &mut args);
    }
    let mut cmd = match &chain {
        Some(w) => {
            let mut c = Command::new(w);
            c.args(&args);
            c
        }
        None => {
            let mut c = Command::new(&args[0]);
            c.args(&args[1..]);
            c
        }
    };
    let rustc_args = &args[1..];
    if !unit {
        let err = cmd.exec();
        eprintln!("cargo-overlap shim: cannot run {:?}: {}", args[0], err);
        std::process::exit(101);
    }
    let run_dir = run_dir.unwrap();
    let sock_path = run_dir.join("events.sock");
    let reporter = Reporter::new(sock_path.clone());
    let me = unsafe { getpid() };
    // An rlib reports its frontend's end through the rmeta notification and runs no
    // linker: only units that link need the codegen watcher and the linker shim.
    let stable_mode = links(rustc_args) && run_dir.join("linker").is_dir();

    if stable_mode {
        let linker_dir = run_dir.join("linker");
        let real_path = env::var_os("PATH").unwrap_or_default();
        let mut path = OsString::from(linker_dir.as_os_str());
        path.push(":");
        path.push(&real_path);
        cmd.env("PATH", path);
        cmd.env(PATH_ENV, &real_path);
        cmd.env(LINKER_DIR_ENV, &linker_dir);
        cmd.env(SOCK_ENV, &sock_path);
        cmd.env(UNIT_ENV, me.to_string());
    }
    cmd.stderr(Stdio::piped());

    let t_start = now_ns();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cargo-overlap shim: cannot run {:?}: {}", args[0], e);
            std::process::exit(101);
        }
    };

    let mut msg: Vec<u8> = Vec::with_capacity(4096);
    let _ = write!(msg, "{{\"e\":\"start\",\"u\":{},\"t\":{},\"pid\":{},", me, t_start, child.id());
    for (key, var) in [
        ("pkg", "CARGO_PKG_NAME"),
        ("ver", "CARGO_PKG_VERSION"),
        ("dir", "CARGO_MANIFEST_DIR"),
        ("crate", "CARGO_CRATE_NAME"),
        ("bin", "CARGO_BIN_NAME"),
    ] {
        let _ = write!(msg, "\"{}\":", key);
        let v = env::var_os(var).unwrap_or_default();
        push_json_str(&mut msg, &valid_utf8_or_lossy(v.as_bytes()));
        msg.push(b',');
    }
    let _ = write!(
        msg,
        "\"primary\":{},\"args\":[",
        env::var_os("CARGO_PRIMARY_PACKAGE").is_some()
    );
    for (i, a) in interesting_args(rustc_args).iter().enumerate() {
        if i > 0 {
            msg.push(b',');
        }
        push_json_str(&mut msg, &valid_utf8_or_lossy(a));
    }
    msg.extend_from_slice(b"]}");
    // A unit that links has other senders (the codegen watcher, the linker shim) whose
    // messages must not overtake its start: its messages go out at once.
    let mut batch = Batch { hold: !stable_mode, buf: Vec::new(), due: None };
    batch.report(&reporter, &msg);

    let done = Arc::new(AtomicBool::new(false));
    let watcher = if stable_mode && chain.is_none() {
        let (pid, sock, flag) = (child.id(), sock_path.clone(), done.clone());
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || watch_codegen_start(pid, me, sock, flag))
            .ok()
    } else {
        None
    };
    // The sccache server's pid, written by the orchestrator when the chained wrapper is
    // sccache: its presence is what makes "no rustc seen" mean a cache hit.
    let server: Option<u32> = std::fs::read(run_dir.join("sccache-server"))
        .ok()
        .and_then(|b| std::str::from_utf8(b.trim_ascii()).ok().and_then(|s| s.parse().ok()));
    let chain_watcher = match (&chain, metadata_arg(rustc_args)) {
        (Some(_), Some(metadata)) => {
            let (pid, sock, flag) = (child.id(), sock_path.clone(), done.clone());
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || watch_chained(pid, server, metadata, me, stable_mode, sock, flag))
                .ok()
        }
        _ => None,
    };

    let stderr = child.stderr.take().expect("piped stderr");
    let stderr_fd = stderr.as_raw_fd();
    let mut reader = BufReader::with_capacity(64 * 1024, stderr);
    let out = std::io::stderr();
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    // The final artifact's notice comes just before rustc exits: it waits to share the end
    // message's datagram, one wake-up of the orchestrator fewer per unit. Only the last
    // crate type's notice waits (an rlib written before a cdylib is linked marks the end
    // of codegen, live), and anything after it (a late diagnostic) sends it first, so the
    // order stays rustc's.
    let mut held: Vec<u8> = Vec::new();
    let mut notices_left = crate_types(rustc_args).len().max(1);
    loop {
        if let Some(due) = batch.due {
            if reader.buffer().is_empty() && !readable_before(stderr_fd, due) {
                batch.flush(&reporter);
            }
        }
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => break,
        }
        let timing = line.starts_with(b"{\"$message_type\":\"section_timing\"");
        if !(timing && injected) {
            let mut lock = out.lock();
            let _ = lock.write_all(&line);
            let _ = lock.flush();
        }
        if timing
            || line.starts_with(b"{\"$message_type\":\"artifact\"")
            || line.starts_with(b"{\"$message_type\":\"diagnostic\"")
        {
            let t = now_ns();
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            msg.clear();
            let _ = write!(msg, "{{\"e\":\"msg\",\"u\":{},\"t\":{},\"m\":", me, t);
            msg.extend_from_slice(body);
            msg.push(b'}');
            if !held.is_empty() {
                batch.report(&reporter, &held);
                held.clear();
            }
            let last = is_final_artifact(body) && {
                notices_left = notices_left.saturating_sub(1);
                notices_left == 0
            };
            if last {
                std::mem::swap(&mut held, &mut msg);
            } else {
                batch.report(&reporter, &msg);
            }
        }
    }
    let status = match child.wait() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cargo-overlap shim: waiting for rustc: {}", e);
            std::process::exit(101);
        }
    };
    let t_end = now_ns();
    // The watcher notices within one poll; waiting for it would add that poll to every
    // rustc call, and the process exit ends it anyway.
    done.store(true, Ordering::Relaxed);
    drop(watcher);
    // Behind a wrapper, the last look at /proc decides where rustc ran: wait that one poll.
    let chained = chain_watcher.and_then(|w| w.join().ok());
    let mut ru = Rusage {
        ru_utime: Timeval { tv_sec: 0, tv_usec: 0 },
        ru_stime: Timeval { tv_sec: 0, tv_usec: 0 },
        ru_maxrss: 0,
        rest: [0; 13],
    };
    let cpu_us = if unsafe { getrusage(RUSAGE_CHILDREN, &mut ru) } == 0 {
        (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1_000_000
            + ru.ru_utime.tv_usec
            + ru.ru_stime.tv_usec
    } else {
        -1
    };
    let code: i64 = match (status.code(), status.signal()) {
        (Some(c), _) => c as i64,
        (None, Some(s)) => -(s as i64),
        _ => -1000,
    };
    let mut cpu_us = cpu_us;
    let mut cache: &str = "";
    if let Some(w) = &chained {
        if w.seen == RustcSeen::UnderServer && cpu_us >= 0 {
            cpu_us += w.server_cpu_us;
        }
        if server.is_some() {
            cache = match w.seen {
                RustcSeen::UnderServer => ",\"cache\":\"miss\"",
                RustcSeen::UnderWrapper => ",\"cache\":\"uncacheable\"",
                RustcSeen::Nowhere if code == 0 => ",\"cache\":\"hit\"",
                RustcSeen::Nowhere => "",
            };
        }
    }
    // Messages in one datagram are separated by newlines, which none of them contains.
    msg.clear();
    if batch.buf.len() + held.len() >= BATCH_LIMIT {
        batch.flush(&reporter);
    }
    if !batch.buf.is_empty() {
        msg.extend_from_slice(&batch.buf);
        msg.push(b'\n');
    }
    if !held.is_empty() {
        msg.extend_from_slice(&held);
        msg.push(b'\n');
    }
    let _ = write!(
        msg,
        "{{\"e\":\"end\",\"u\":{},\"t\":{},\"code\":{},\"cpu_us\":{},\"maxrss_kb\":{}{}}}",
        me, t_end, code, cpu_us, ru.ru_maxrss, cache
    );
    reporter.send(&msg);
    exit_like(status)
}

// rustc's notice of the artifact a unit exists to make (`"emit":"link"`: the rlib, the
// binary), written when its work is done.
fn is_final_artifact(body: &[u8]) -> bool {
    const LINK: &[u8] = b"\"emit\":\"link\"";
    body.starts_with(b"{\"$message_type\":\"artifact\"") && body.windows(LINK.len()).any(|w| w == LINK)
}

fn find_on_path(name: &OsString, path: &OsString, skip: Option<&Path>) -> Option<PathBuf> {
    for dir in env::split_paths(path) {
        if let Some(s) = skip {
            if dir == s {
                continue;
            }
        }
        let cand = dir.join(name);
        if let Ok(meta) = std::fs::metadata(&cand) {
            if meta.is_file() {
                return Some(cand);
            }
        }
    }
    None
}

fn linker_main(argv0: OsString, name: OsString, args: Vec<OsString>) -> ! {
    let real_path = env::var_os(PATH_ENV).or_else(|| env::var_os("PATH")).unwrap_or_default();
    let skip = env::var_os(LINKER_DIR_ENV).map(PathBuf::from);
    let beside = Path::new(&argv0).parent().map(|d| d.join("real"));
    let pinned = beside
        .and_then(|f| std::fs::read(f).ok())
        .map(|b| PathBuf::from(OsString::from(std::ffi::OsStr::from_bytes(&b))));
    let found = pinned.or_else(|| find_on_path(&name, &real_path, skip.as_deref()));
    let real = match found {
        Some(p) => p,
        None => {
            eprintln!("cargo-overlap shim: linker {:?} not found on PATH", name);
            std::process::exit(127);
        }
    };
    let mut cmd = Command::new(&real);
    cmd.arg0(&name).args(&args);
    // The real linker sees the PATH rustc would have given it.
    if let Some(p) = env::var_os(PATH_ENV) {
        cmd.env("PATH", p);
    }
    cmd.env_remove(PATH_ENV).env_remove(LINKER_DIR_ENV).env_remove(SOCK_ENV).env_remove(UNIT_ENV);
    let unit = env::var(UNIT_ENV).ok().and_then(|u| u.parse::<i64>().ok());
    let sock = env::var_os(SOCK_ENV).map(PathBuf::from);
    let (unit, reporter) = match (unit, sock) {
        (Some(u), Some(s)) => (u, Reporter::new(s)),
        _ => {
            let err = cmd.exec();
            eprintln!("cargo-overlap shim: cannot run {:?}: {}", real, err);
            std::process::exit(127);
        }
    };
    let mut msg: Vec<u8> = Vec::with_capacity(128);
    let _ = write!(msg, "{{\"e\":\"link\",\"u\":{},\"t\":{},\"edge\":\"start\"}}", unit, now_ns());
    reporter.send(&msg);
    let status = match cmd.status() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cargo-overlap shim: cannot run {:?}: {}", real, e);
            std::process::exit(127);
        }
    };
    msg.clear();
    let _ = write!(msg, "{{\"e\":\"link\",\"u\":{},\"t\":{},\"edge\":\"end\"}}", unit, now_ns());
    reporter.send(&msg);
    exit_like(status)
}

fn main() {
    let mut argv = env::args_os();
    let argv0 = argv.next().unwrap_or_default();
    let rest: Vec<OsString> = argv.collect();
    let base = Path::new(&argv0).file_name().map(|s| s.to_os_string()).unwrap_or_default();
    if base.as_bytes() == b"rustc-wrapper" {
        wrapper_main(rest)
    } else {
        linker_main(argv0, base, rest)
    }
}
