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

#[path = "common.rs"]
mod common;

use common::{
    await_decision, crate_types, is_cargo_unit, is_reported, Batch, End, Notices, Out, RunDir, Sender,
    CHAIN, EVENTS_SOCKET, LINKER_ABS_DIR, LINKER_DIR, LINKER_DIR_ENV, NESTED, OWNER_LOCK, PATH_ENV,
    PORTABLE_ENV, RUN_DIR_ENV, SCCACHE_SERVER, SECTIONS, SOCK_ENV, START_VARS, UNIT_ENV, USAGE,
    WRAPPER_NAME,
};
use std::env;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[repr(C)]
#[derive(Clone, Copy)]
struct Timeval {
    tv_sec: i64,
    tv_usec: Usec,
}

// suseconds_t: an int on macOS (the struct is padded to 16 bytes all the same), a long on
// 64-bit Linux and the BSDs.
#[cfg(target_os = "macos")]
type Usec = i32;
#[cfg(not(target_os = "macos"))]
type Usec = i64;

// A timeval's microseconds as i64, whatever suseconds_t is here.
#[allow(clippy::useless_conversion)]
fn usec(t: Timeval) -> i64 {
    i64::from(t.tv_usec)
}

// ru_maxrss is in bytes on macOS, in kilobytes elsewhere.
const MAXRSS_PER_KB: i64 = if cfg!(target_os = "macos") { 1024 } else { 1 };

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
    fn kill(pid: i32, sig: i32) -> i32;
    fn signal(sig: i32, handler: usize) -> usize;
    fn sysconf(name: i32) -> i64;
    fn lockf(fd: i32, cmd: i32, len: i64) -> i32;
}

// lockf's command that only asks whether another process holds a lock (Linux and macOS).
const F_TEST: i32 = 3;

const SC_CLK_TCK: i32 = 2;

const RUSAGE_CHILDREN: i32 = -1;
const SIG_DFL: usize = 0;

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

// Monotonic nanoseconds, from the first call: what a batch's due time is kept in.
fn mono_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn me() -> u64 {
    u64::from(std::process::id())
}

impl Out for Vec<u8> {
    fn push(&mut self, b: u8) {
        Vec::push(self, b);
    }
    fn extend(&mut self, s: &[u8]) {
        self.extend_from_slice(s);
    }
    fn bytes(&self) -> &[u8] {
        self
    }
    fn clear(&mut self) {
        Vec::clear(self);
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

}

impl Sender for Reporter {
    fn send(&self, msg: &[u8]) {
        if let Some(sock) = &self.sock {
            let path = &self.path;
            if sock.send_to(msg, path).is_err() && msg.len() > 4096 {
                // Too large for one datagram (a huge diagnostic): say so instead.
                let mut lost: Vec<u8> = Vec::with_capacity(96);
                common::lost_message(&mut lost, me(), now_ns(), msg.len() as u64);
                let _ = sock.send_to(&lost, path);
            }
        }
    }
}

// Whether `fd` has something to read before `due` (mono_ns); true once it has, or on an
// error (the read that follows then says what).
fn readable_before(fd: i32, due: u64) -> bool {
    let now = mono_ns();
    if now >= due {
        return false;
    }
    let mut pfd = PollFd { fd, events: POLLIN, revents: 0 };
    let ms = (due - now).div_ceil(1_000_000).min(i32::MAX as u64) as i32;
    // SAFETY: one live pollfd, and nfds says one.
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

fn send_codegen(reporter: &Reporter, unit: u64) {
    let mut msg: Vec<u8> = Vec::with_capacity(96);
    common::codegen_message(&mut msg, unit, now_ns());
    reporter.send(&msg);
}

// Polls /proc until rustc's coordinator thread shows up or rustc exits.
fn watch_codegen_start(pid: u32, unit: u64, sock: PathBuf, done: Arc<AtomicBool>) {
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
    unit: u64,
    codegen: bool,
    sock: PathBuf,
    done: Arc<AtomicBool>,
) -> ChainWatch {
    let reporter = Reporter::new(sock);
    // SAFETY: sysconf takes a plain integer and has no other effect.
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
        // SAFETY: the default action for a signal number rustc died of, then that signal
        // to ourselves: integers only, no handler of ours runs.
        unsafe {
            signal(sig, SIG_DFL);
            kill(std::process::id() as i32, sig);
        }
    }
    std::process::exit(1);
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
        let shadow = run_dir.join(LINKER_DIR).join(OsStr::from_bytes(&name));
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
    let dir = run_dir.join(LINKER_ABS_DIR).join(format!("{:016x}", fnv1a(&name)));
    let shadow = dir.join(&base);
    if !shadow.exists() {
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        // Write `real` before the link appears: a shim found by name always finds it.
        let tmp = dir.join(format!("real.{}", std::process::id()));
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

struct Dir<'a>(&'a Path);

impl RunDir for Dir<'_> {
    fn has(&self, name: &str) -> bool {
        self.0.join(name).exists()
    }
    fn owner_gone(&self) -> bool {
        match std::fs::File::open(self.0.join(OWNER_LOCK)) {
            Ok(f) => {
                // SAFETY: a descriptor open for the call; F_TEST only asks.
                let free = unsafe { lockf(f.as_raw_fd(), F_TEST, 0) };
                free == 0
            }
            Err(_) => false, // a run directory without the lock: wait as before
        }
    }
    fn sleep_ms(&self, ms: u32) {
        std::thread::sleep(Duration::from_millis(u64::from(ms)))
    }
}

fn bytes_of(args: &[OsString]) -> impl Iterator<Item = &[u8]> {
    args.iter().map(|a| a.as_bytes())
}

// What the wrapper was asked to do, once it has looked at its run directory.
struct Call {
    // rustc and its arguments, as cargo gave them (sections mode may add to them)
    args: Vec<OsString>,
    // the user's own wrapper, which runs rustc in turn
    chain: Option<OsString>,
    // Some for a cargo unit of a run; None: run rustc untouched
    run_dir: Option<PathBuf>,
    // the section-timing lines are ours alone: cargo did not ask for them
    injected: bool,
}

// Phase 1: is it a unit of a run, and how is rustc to be run for it.
fn plan(args: Vec<OsString>) -> Call {
    let run_dir = run_dir();
    let chain: Option<OsString> = run_dir.as_ref().and_then(|d| {
        std::fs::read(d.join(CHAIN))
            .ok()
            .map(|b| OsString::from(OsStr::from_bytes(b.trim_ascii())))
            .filter(|s| !s.is_empty())
    });
    let cfg = env::var_os("CARGO_CFG_TARGET_ARCH").is_some()
        && !(run_dir.as_ref().is_some_and(|d| d.join(NESTED).exists()) && parent_is_cargo());
    let unit = is_cargo_unit(env::var_os("CARGO_CRATE_NAME").is_some(), cfg, bytes_of(&args[1..]));
    let run_dir = run_dir.filter(|_| unit);
    let mut call = Call { args, chain, run_dir, injected: false };
    if let Some(dir) = &call.run_dir {
        await_decision(&Dir(dir));
        if dir.join(SECTIONS).exists() {
            call.injected = ask_for_sections(&mut call.args);
        }
        if crate_types(bytes_of(&call.args[1..])).links && dir.join(LINKER_DIR).is_dir() {
            shadow_linker(dir, &mut call.args);
        }
    }
    call
}

// In a nested run (the tool run by a build script) every unit inherits the build script's
// CARGO_CFG_*: a unit is then told from a build script's probe by who runs the wrapper,
// cargo itself or the build script.
fn parent_is_cargo() -> bool {
    let comm = std::fs::read(format!("/proc/{}/comm", std::os::unix::process::parent_id()));
    comm.is_ok_and(|c| c.trim_ascii() == b"cargo")
}

// In sections mode (a nightly rustc) ask rustc for its section timings the way cargo's
// -Zsection-timings does; true when that added to what cargo asked for.
fn ask_for_sections(args: &mut Vec<OsString>) -> bool {
    let asked = |a: &OsString| a.as_bytes().starts_with(b"--json=") && a.as_bytes().ends_with(b"timings");
    if args.iter().any(asked) {
        return false;
    }
    let mut injected = false;
    for a in args.iter_mut().skip(1) {
        if a.as_bytes().starts_with(b"--json=") {
            a.push(",timings");
            injected = true;
        }
    }
    if injected && !args.iter().any(|a| a.as_bytes() == b"-Zunstable-options") {
        args.push(OsString::from("-Zunstable-options"));
    }
    injected
}

fn command(call: &Call) -> Command {
    match &call.chain {
        Some(w) => {
            let mut c = Command::new(w);
            c.args(&call.args);
            c
        }
        None => {
            let mut c = Command::new(&call.args[0]);
            c.args(&call.args[1..]);
            c
        }
    }
}

// What a spawn or exec failure says: the program that could not run, which is the user's
// wrapper when there is one (as cargo says it), else rustc.
fn cannot_run(call: &Call, err: &std::io::Error) -> ! {
    match &call.chain {
        Some(w) => eprintln!("cargo-overlap shim: cannot run the RUSTC_WRAPPER {:?}: {}", w, err),
        None => eprintln!("cargo-overlap shim: cannot run {:?}: {}", call.args[0], err),
    }
    std::process::exit(101);
}

// A running unit: rustc's child, what reports go where, and the watchers of /proc.
struct Running {
    child: std::process::Child,
    reporter: Reporter,
    batch: Batch<Vec<u8>>,
    // A unit that links has other senders (the codegen watcher, the linker shim) whose
    // messages must not overtake its start: its messages go out at once, not in a batch.
    hold: bool,
    done: Arc<AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
    chain_watcher: Option<std::thread::JoinHandle<ChainWatch>>,
    server: Option<u32>,
    // the portable path: no watcher looks in /proc
    portable: bool,
    // the user's wrapper is sccache (by its file name, as the tool's sccache.py decides)
    sccache: bool,
}

// The portable path (capture/platform.py): the tool says so, or /proc cannot describe
// this process (not Linux, or no /proc mounted).
fn portable() -> bool {
    env::var_os(PORTABLE_ENV).is_some_and(|v| v.as_bytes() == b"1")
        || std::fs::metadata("/proc/self/stat").is_err()
}

fn is_sccache(wrapper: &OsStr) -> bool {
    Path::new(wrapper).file_name().is_some_and(|n| n.as_bytes().starts_with(b"sccache"))
}

// Phase 2: spawn rustc for the unit (through the user's wrapper, if any), send the start,
// and start the watchers.
fn spawn(call: &Call, run_dir: &Path) -> Running {
    let mut cmd = command(call);
    let rustc_args = &call.args[1..];
    let sock_path = run_dir.join(EVENTS_SOCKET);
    let me = me();
    // An rlib reports its frontend's end through the rmeta notification and runs no
    // linker: only units that link need the codegen watcher and the linker shim.
    let linker_dir = run_dir.join(LINKER_DIR);
    let stable_mode = crate_types(bytes_of(rustc_args)).links && linker_dir.is_dir();
    if stable_mode {
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
    let child = cmd.spawn().unwrap_or_else(|e| cannot_run(call, &e));

    let vars = START_VARS.map(|(_, var)| env::var_os(var).unwrap_or_default());
    let mut msg: Vec<u8> = Vec::with_capacity(4096);
    common::start_message(
        &mut msg,
        (me, t_start, u64::from(child.id())),
        [0, 1, 2, 3, 4].map(|i| vars[i].as_bytes()),
        env::var_os("CARGO_PRIMARY_PACKAGE").is_some(),
        bytes_of(rustc_args),
    );
    let reporter = Reporter::new(sock_path.clone());
    let mut batch = Batch { buf: Vec::new(), due: None };
    // before the watchers start: nothing of the unit may come before its start
    report(!stable_mode, &mut batch, &reporter, &msg);

    let done = Arc::new(AtomicBool::new(false));
    let portable = portable();
    let watcher = if stable_mode && call.chain.is_none() && !portable {
        let (pid, sock, flag) = (child.id(), sock_path.clone(), done.clone());
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || watch_codegen_start(pid, me, sock, flag))
            .ok()
    } else {
        None
    };
    // The sccache server's pid, written by the tool when the chained wrapper is sccache:
    // its presence is what makes "no rustc seen" mean a cache hit.
    let server: Option<u32> = std::fs::read(run_dir.join(SCCACHE_SERVER))
        .ok()
        .and_then(|b| std::str::from_utf8(b.trim_ascii()).ok().and_then(|s| s.parse().ok()));
    let chain_watcher = match (&call.chain, metadata_arg(rustc_args)) {
        (Some(_), Some(metadata)) if !portable => {
            let (pid, sock, flag) = (child.id(), sock_path, done.clone());
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || watch_chained(pid, server, metadata, me, stable_mode, sock, flag))
                .ok()
        }
        _ => None,
    };
    let sccache = call.chain.as_deref().is_some_and(is_sccache);
    Running {
        child,
        reporter,
        batch,
        hold: !stable_mode,
        done,
        watcher,
        chain_watcher,
        server,
        portable,
        sccache,
    }
}

fn report(hold: bool, batch: &mut Batch<Vec<u8>>, reporter: &Reporter, msg: &[u8]) {
    if hold {
        batch.push(reporter, msg, mono_ns());
    } else {
        reporter.send(msg);
    }
}

impl Running {
    fn report(&mut self, msg: &[u8]) {
        report(self.hold, &mut self.batch, &self.reporter, msg);
    }
}

// Phase 3: relay rustc's stderr to cargo byte for byte, reporting its JSON lines; returns
// the final artifact's notice, held for the end message's datagram.
fn relay(run: &mut Running, injected: bool, n_types: usize) -> Vec<u8> {
    let stderr = run.child.stderr.take().expect("piped stderr");
    let stderr_fd = stderr.as_raw_fd();
    let mut reader = BufReader::with_capacity(64 * 1024, stderr);
    let out = std::io::stderr();
    let me = me();
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let mut msg: Vec<u8> = Vec::with_capacity(4096);
    let mut held: Vec<u8> = Vec::new();
    let mut notices = Notices::new(n_types);
    loop {
        if let Some(due) = run.batch.due {
            if reader.buffer().is_empty() && !readable_before(stderr_fd, due) {
                run.batch.flush(&run.reporter);
            }
        }
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return held,
            Ok(_) => {}
        }
        let timing = line.starts_with(b"{\"$message_type\":\"section_timing\"");
        if !(timing && injected) {
            let mut lock = out.lock();
            let _ = lock.write_all(&line);
            let _ = lock.flush();
        }
        if !is_reported(&line) {
            continue;
        }
        let body = common::body_of(&line);
        msg.clear();
        common::line_message(&mut msg, me, now_ns(), body);
        if !held.is_empty() {
            run.report(&held);
            held.clear();
        }
        if notices.is_last(body) {
            std::mem::swap(&mut held, &mut msg);
        } else {
            run.report(&msg);
        }
    }
}

// Phase 4: wait for rustc, send the end with what is held, and exit as rustc did.
fn finish(mut run: Running, held: Vec<u8>) -> ! {
    let status = match run.child.wait() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cargo-overlap shim: waiting for rustc: {}", e);
            std::process::exit(101);
        }
    };
    let t_end = now_ns();
    // The watcher notices within one poll; waiting for it would add that poll to every
    // rustc call, and the process exit ends it anyway.
    run.done.store(true, Ordering::Relaxed);
    drop(run.watcher);
    // Behind a wrapper, the last look at /proc decides where rustc ran: wait that one poll.
    let chained = run.chain_watcher.and_then(|w| w.join().ok());
    let mut ru = Rusage {
        ru_utime: Timeval { tv_sec: 0, tv_usec: 0 },
        ru_stime: Timeval { tv_sec: 0, tv_usec: 0 },
        ru_maxrss: 0,
        rest: [0; 13],
    };
    // SAFETY: `ru` is a live struct rusage for getrusage to fill.
    let mut cpu_us = if unsafe { getrusage(RUSAGE_CHILDREN, &mut ru) } == 0 {
        (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1_000_000 + usec(ru.ru_utime) + usec(ru.ru_stime)
    } else {
        -1
    };
    let code: i64 = match (status.code(), status.signal()) {
        (Some(c), _) => i64::from(c),
        (None, Some(s)) => -i64::from(s),
        _ => -1000,
    };
    let mut cache: &[u8] = b"";
    if run.portable && run.sccache {
        // nothing looked in /proc for where rustc ran
        cache = b"unknown";
    }
    if let Some(w) = &chained {
        if w.seen == RustcSeen::UnderServer && cpu_us >= 0 {
            cpu_us += w.server_cpu_us;
        }
        if run.server.is_some() {
            cache = match w.seen {
                RustcSeen::UnderServer => b"miss",
                RustcSeen::UnderWrapper => b"uncacheable",
                RustcSeen::Nowhere if code == 0 => b"hit",
                RustcSeen::Nowhere => b"",
            };
        }
    }
    let mut last: Vec<u8> = Vec::with_capacity(run.batch.buf.len() + held.len() + 256);
    run.batch.close_into(&run.reporter, &held, &mut last);
    let end = End { code, cpu_us, maxrss_kb: ru.ru_maxrss / MAXRSS_PER_KB, cache };
    common::end_message(&mut last, me(), t_end, &end);
    run.reporter.send(&last);
    exit_like(status)
}

fn wrapper_main(args: Vec<OsString>) -> ! {
    if args.is_empty() {
        let _ = std::io::stderr().write_all(USAGE);
        std::process::exit(101);
    }
    let call = plan(args);
    let run_dir = match &call.run_dir {
        Some(d) => d.clone(),
        None => {
            let err = command(&call).exec();
            cannot_run(&call, &err)
        }
    };
    let n_types = crate_types(bytes_of(&call.args[1..])).count;
    let mut run = spawn(&call, &run_dir);
    let held = relay(&mut run, call.injected, n_types);
    finish(run, held)
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
        .map(|b| PathBuf::from(OsStr::from_bytes(&b)));
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
    let unit = env::var(UNIT_ENV).ok().and_then(|u| u.parse::<u64>().ok());
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
    common::link_message(&mut msg, unit, now_ns(), true);
    reporter.send(&msg);
    let status = match cmd.status() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cargo-overlap shim: cannot run {:?}: {}", real, e);
            std::process::exit(127);
        }
    };
    msg.clear();
    common::link_message(&mut msg, unit, now_ns(), false);
    reporter.send(&msg);
    exit_like(status)
}

fn main() {
    let mut argv = env::args_os();
    let argv0 = argv.next().unwrap_or_default();
    let rest: Vec<OsString> = argv.collect();
    let base = Path::new(&argv0).file_name().map(|s| s.to_os_string()).unwrap_or_default();
    if base.as_bytes() == WRAPPER_NAME.as_bytes() {
        wrapper_main(rest)
    } else {
        linker_main(argv0, base, rest)
    }
}
