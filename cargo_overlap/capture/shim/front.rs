// cargo-overlap's RUSTC_WRAPPER front: the common case of shim.rs without the C library.
//
// Why: every process linked with glibc spends its first moments in glibc's start-up, which
// asks the CPU about its caches with the `cpuid` instruction dozens of times. On a virtual
// machine each `cpuid` traps to the hypervisor: measured at ~12 us each on the CI machines
// here, ~1 ms for an empty glibc program, against ~0.05 ms for this one. The wrapper runs
// once per rustc call, so that millisecond, paid on top of rustc's own, was most of what
// the shim cost a build.
//
// What it does itself: the units that link nothing (rlibs, the bulk of a build) on a stable
// toolchain without a user wrapper. It runs rustc with stderr on a pipe, relays rustc's
// stderr to cargo byte for byte, and reports start, rustc's JSON lines and end to the
// orchestrator, in the same messages and batches as shim.rs (see there for why each is
// the way it is). Everything else it hands to shim.rs by exec'ing it, unchanged: units
// that link (the codegen watcher, the linker shim), a chained user wrapper, sections
// mode. Invocations that are not cargo units are exec'd untouched, as shim.rs does.
//
// x86_64 Linux only (raw system calls); elsewhere it does not compile, and cargo-overlap
// uses shim.rs as the wrapper.

#![no_std]
#![no_main]

use core::arch::{asm, global_asm};

global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

// ---- system calls -------------------------------------------------------------------------

const SYS_READ: usize = 0;
const SYS_WRITE: usize = 1;
const SYS_CLOSE: usize = 3;
const SYS_POLL: usize = 7;
const SYS_RT_SIGACTION: usize = 13;
const SYS_ACCESS: usize = 21;
const SYS_DUP2: usize = 33;
const SYS_NANOSLEEP: usize = 35;
const SYS_GETPID: usize = 39;
const SYS_SOCKET: usize = 41;
const SYS_SENDTO: usize = 44;
const SYS_FORK: usize = 57;
const SYS_EXECVE: usize = 59;
const SYS_WAIT4: usize = 61;
const SYS_KILL: usize = 62;
const SYS_READLINK: usize = 89;
const SYS_CLOCK_GETTIME: usize = 228;
const SYS_EXIT_GROUP: usize = 231;
const SYS_PIPE2: usize = 293;

const EINTR: isize = 4;
const EAGAIN: isize = 11;
const ENOENT: isize = 2;
const EACCES: isize = 13;
const ENOTDIR: isize = 20;
const ENAMETOOLONG: isize = 36;
const O_CLOEXEC: usize = 0o2000000;
const SIGPIPE: usize = 13;
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;
const AF_UNIX: usize = 1;
const SOCK_DGRAM: usize = 2;
const SOCK_CLOEXEC: usize = 0o2000000;
const POLLIN: i16 = 1;
const CLOCK_REALTIME: usize = 0;
const CLOCK_MONOTONIC: usize = 1;

unsafe fn sys6(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> isize {
    let r: isize;
    asm!(
        "syscall",
        inlateout("rax") n as isize => r,
        in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, in("r8") e, in("r9") f,
        lateout("rcx") _, lateout("r11") _,
        options(nostack),
    );
    r
}

fn sys(n: usize, a: usize, b: usize, c: usize) -> isize {
    unsafe { sys6(n, a, b, c, 0, 0, 0) }
}

fn exit(code: i32) -> ! {
    sys(SYS_EXIT_GROUP, code as usize, 0, 0);
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(101)
}

// The prebuilt core is compiled for unwinding and names this; with panic=abort nothing
// unwinds, so it is never called.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

// core and the optimiser may call these; without the C library they are ours. Copies and
// fills are the string instructions (a plain loop could be turned back into a call to the
// function itself); comparisons are loops of volatile reads, for the same reason.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    asm!(
        "rep movsb",
        inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _,
        options(nostack, preserves_flags),
    );
    dst
}

#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) {
        return memcpy(dst, src, n);
    }
    // overlapping with the source ahead: copy from the end down (direction flag set)
    asm!(
        "std",
        "rep movsb",
        "cld",
        inout("rcx") n => _,
        inout("rdi") dst.add(n).wrapping_sub(1) => _,
        inout("rsi") src.add(n).wrapping_sub(1) => _,
        options(nostack),
    );
    dst
}

#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    asm!(
        "rep stosb",
        inout("rcx") n => _, inout("rdi") dst => _, in("al") c as u8,
        options(nostack, preserves_flags),
    );
    dst
}

#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        let (x, y) = (core::ptr::read_volatile(a.add(i)), core::ptr::read_volatile(b.add(i)));
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    while core::ptr::read_volatile(s.add(n)) != 0 {
        n += 1;
    }
    n
}

#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}

fn write_all(fd: usize, mut data: &[u8]) {
    while !data.is_empty() {
        let n = sys(SYS_WRITE, fd, data.as_ptr() as usize, data.len());
        if n == -EINTR || n == -EAGAIN {
            continue;
        }
        if n <= 0 {
            return; // cargo is gone: the build is over anyway
        }
        data = &data[n as usize..];
    }
}

fn clock_ns(clock: usize) -> u64 {
    let mut ts = [0i64; 2];
    sys(SYS_CLOCK_GETTIME, clock, ts.as_mut_ptr() as usize, 0);
    ts[0] as u64 * 1_000_000_000 + ts[1] as u64
}

fn now_ns() -> u64 {
    clock_ns(CLOCK_REALTIME)
}

fn sleep_ms(ms: u64) {
    let ts = [0i64, (ms * 1_000_000) as i64];
    sys(SYS_NANOSLEEP, ts.as_ptr() as usize, 0, 0);
}

fn set_sigpipe(handler: usize) {
    // struct kernel_sigaction: handler, flags, restorer, mask
    let act = [handler, 0, 0, 0];
    unsafe { sys6(SYS_RT_SIGACTION, SIGPIPE, act.as_ptr() as usize, 0, 8, 0, 0) };
}

// ---- bytes and C strings ------------------------------------------------------------------

// A fixed-capacity byte buffer. What does not fit is dropped and marks it overflowed:
// an overflowed path is not used, an overflowed message is reported as lost (the callers
// size them well above a datagram, which is what their contents become).
struct Buf<const N: usize> {
    data: [u8; N],
    len: usize,
    overflowed: bool,
}

impl<const N: usize> Buf<N> {
    const fn new() -> Self {
        Buf { data: [0; N], len: 0, overflowed: false }
    }
    fn push(&mut self, b: u8) {
        if self.len < N {
            self.data[self.len] = b;
            self.len += 1;
        } else {
            self.overflowed = true;
        }
    }
    fn extend(&mut self, s: &[u8]) {
        let n = s.len().min(N - self.len);
        self.data[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
        self.overflowed |= n < s.len();
    }
    fn num(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.extend(&digits[i..]);
    }
    fn signed(&mut self, v: i64) {
        if v < 0 {
            self.push(b'-');
            self.num(v.unsigned_abs());
        } else {
            self.num(v as u64);
        }
    }
    fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
    fn clear(&mut self) {
        self.len = 0;
        self.overflowed = false;
    }
    fn is_empty(&self) -> bool {
        self.len == 0
    }
    // NUL-terminated for a system call; None if it did not fit (ENAMETOOLONG).
    fn cstr(&mut self) -> Option<*const u8> {
        if self.overflowed || self.len >= N {
            return None;
        }
        self.data[self.len] = 0;
        Some(self.data.as_ptr())
    }
}

unsafe fn c_bytes<'a>(p: *const u8) -> &'a [u8] {
    core::slice::from_raw_parts(p, strlen(p))
}

// A JSON string of `s`, invalid UTF-8 replaced as String::from_utf8_lossy does.
fn push_json_str<const N: usize>(out: &mut Buf<N>, s: &[u8]) {
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            match b {
                b'"' => out.extend(b"\\\""),
                b'\\' => out.extend(b"\\\\"),
                b'\n' => out.extend(b"\\n"),
                b'\r' => out.extend(b"\\r"),
                b'\t' => out.extend(b"\\t"),
                0..=0x1f | 0x7f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend(b"\\u00");
                    out.push(HEX[(b >> 4) as usize]);
                    out.push(HEX[(b & 15) as usize]);
                }
                _ => out.push(b),
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend("\u{FFFD}".as_bytes());
        }
    }
    out.push(b'"');
}

struct Env {
    envp: *const *const u8,
}

impl Env {
    fn get(&self, key: &[u8]) -> Option<&'static [u8]> {
        let mut i = 0;
        loop {
            let p = unsafe { *self.envp.add(i) };
            if p.is_null() {
                return None;
            }
            let kv = unsafe { c_bytes(p) };
            if kv.len() > key.len() && kv.starts_with(key) && kv[key.len()] == b'=' {
                return Some(&kv[key.len() + 1..]);
            }
            i += 1;
        }
    }
}

fn exists(path: &[u8]) -> bool {
    let mut p: Buf<4096> = Buf::new();
    p.extend(path);
    p.cstr().is_some_and(|c| sys(SYS_ACCESS, c as usize, 0, 0) == 0)
}

fn execve(path: &mut Buf<4096>, argv: *const *const u8, env: &Env) -> isize {
    match path.cstr() {
        Some(c) => sys(SYS_EXECVE, c as usize, argv as usize, env.envp as usize),
        None => -ENAMETOOLONG,
    }
}

fn join(dir: &[u8], name: &[u8]) -> Buf<4096> {
    let mut p: Buf<4096> = Buf::new();
    p.extend(dir);
    p.push(b'/');
    p.extend(name);
    p
}

// execve with PATH search when `file` has no slash, like execvp; returns only on failure,
// with the error of the most telling attempt.
fn execvp(file: &[u8], argv: *const *const u8, env: &Env) -> isize {
    if file.contains(&b'/') {
        let mut p: Buf<4096> = Buf::new();
        p.extend(file);
        return execve(&mut p, argv, env);
    }
    // glibc's default when PATH is unset
    let path = env.get(b"PATH").unwrap_or(b"/bin:/usr/bin");
    let mut err = -ENOENT;
    for dir in path.split(|&b| b == b':') {
        let mut p = join(if dir.is_empty() { b"." } else { dir }, file);
        let r = execve(&mut p, argv, env);
        if r == -EACCES {
            err = r;
        } else if r != -ENOENT && r != -ENOTDIR && r != -ENAMETOOLONG {
            return r;
        }
    }
    err
}

fn cannot_run(name: &[u8], err: isize) -> ! {
    let errno = (-err) as u64;
    let text: &[u8] = match errno {
        2 => b"No such file or directory",
        7 => b"Argument list too long",
        8 => b"Exec format error",
        13 => b"Permission denied",
        20 => b"Not a directory",
        26 => b"Text file busy",
        36 => b"File name too long",
        _ => b"",
    };
    let mut m: Buf<4200> = Buf::new();
    m.extend(b"cargo-overlap shim: cannot run ");
    push_json_str(&mut m, name);
    m.extend(b": ");
    if !text.is_empty() {
        m.extend(text);
        m.push(b' ');
    }
    m.extend(b"(os error ");
    m.num(errno);
    m.extend(b")\n");
    write_all(2, m.bytes());
    exit(101)
}

// ---- what cargo asked for (as in shim.rs) ---------------------------------------------------

struct Args {
    argv: *const *const u8,
    argc: usize,
}

impl Args {
    fn get(&self, i: usize) -> &'static [u8] {
        unsafe { c_bytes(*self.argv.add(i)) }
    }
}

// rustc's arguments: argv[2..] (argv[0] is the wrapper, argv[1] rustc)
fn rustc_args(a: &Args) -> impl Iterator<Item = &'static [u8]> + '_ {
    (2..a.argc).map(move |i| a.get(i))
}

fn is_cargo_unit(a: &Args, env: &Env) -> bool {
    if env.get(b"CARGO_CRATE_NAME").is_none() || env.get(b"CARGO_CFG_TARGET_ARCH").is_some() {
        return false;
    }
    rustc_args(a).any(|x| x == b"--crate-name")
}

// Whether any crate type links (anything but rlib; none given or --test is a binary), and
// how many crate types there are (each gets one final artifact notice).
fn crate_types(a: &Args) -> (bool, usize) {
    let mut types: [&[u8]; 8] = [b""; 8];
    let mut n = 0;
    let mut i = 2;
    while i < a.argc {
        let x = a.get(i);
        if x == b"--test" {
            return (true, 0);
        }
        let listed: Option<&[u8]> = if x == b"--crate-type" && i + 1 < a.argc {
            i += 1;
            Some(a.get(i))
        } else {
            x.strip_prefix(b"--crate-type=")
        };
        if let Some(v) = listed {
            for t in v.split(|&c| c == b',') {
                let t: &[u8] = if t == b"lib" { b"rlib" } else { t };
                if !types[..n].contains(&t) && n < types.len() {
                    types[n] = t;
                    n += 1;
                }
            }
        }
        i += 1;
    }
    (n == 0 || types[..n].iter().any(|t| *t != b"rlib"), n)
}

fn is_interesting_codegen(v: &[u8]) -> bool {
    [&b"metadata="[..], b"extra-filename=", b"opt-level=", b"debuginfo=", b"linker=", b"lto", b"codegen-units="]
        .iter()
        .any(|p| v.starts_with(p))
}

fn push_interesting_args<const N: usize>(out: &mut Buf<N>, a: &Args) {
    let mut first = true;
    let mut emit = |out: &mut Buf<N>, s: &[u8]| {
        if !first {
            out.push(b',');
        }
        first = false;
        push_json_str(out, s);
    };
    let mut i = 2;
    while i < a.argc {
        let x = a.get(i);
        let takes_value = matches!(
            x,
            b"--crate-name" | b"--crate-type" | b"--extern" | b"--target" | b"-C" | b"--edition"
        );
        let keep_alone = x == b"--test"
            || x.starts_with(b"--emit")
            || x.starts_with(b"--crate-type=")
            || x.starts_with(b"--target=")
            || x.starts_with(b"-C")
            || x.starts_with(b"--json");
        if takes_value && i + 1 < a.argc {
            let v = a.get(i + 1);
            if x != b"-C" || is_interesting_codegen(v) {
                emit(out, x);
                emit(out, v);
            }
            i += 2;
            continue;
        }
        if keep_alone && (!x.starts_with(b"-C") || is_interesting_codegen(&x[2..])) {
            emit(out, x);
        }
        i += 1;
    }
}

// ---- reporting (as in shim.rs) ----------------------------------------------------------------

const HOLD_NS: u64 = 150_000_000;
const BATCH_LIMIT: usize = 60 * 1024;
// rustc's longest JSON line that is passed on whole; a longer one is relayed to cargo all
// the same and reported as lost, as shim.rs does for what no datagram can carry.
const LINE_CAP: usize = 256 * 1024;
const MSG_CAP: usize = LINE_CAP + 128;

struct Reporter {
    fd: usize,
    addr: [u8; 110], // struct sockaddr_un
    addr_len: usize,
    me: u64,
}

impl Reporter {
    fn new(run_dir: &[u8], me: u64) -> Reporter {
        let mut addr = [0u8; 110];
        addr[0] = AF_UNIX as u8;
        let path = join(run_dir, b"events.sock");
        // a socket path that does not fit sockaddr_un: nothing can be sent, as with std
        if path.overflowed || path.len > 107 {
            return Reporter { fd: usize::MAX, addr, addr_len: 0, me };
        }
        let n = path.len;
        addr[2..2 + n].copy_from_slice(path.bytes());
        let fd = sys(SYS_SOCKET, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        Reporter { fd: if fd < 0 { usize::MAX } else { fd as usize }, addr, addr_len: 2 + n + 1, me }
    }

    fn send(&self, msg: &[u8]) {
        if self.fd == usize::MAX {
            return;
        }
        let r = unsafe {
            sys6(SYS_SENDTO, self.fd, msg.as_ptr() as usize, msg.len(), 0, self.addr.as_ptr() as usize, self.addr_len)
        };
        if r < 0 && msg.len() > 4096 {
            self.lost(msg.len());
        }
    }

    fn lost(&self, bytes: usize) {
        let mut m: Buf<128> = Buf::new();
        m.extend(b"{\"e\":\"lost\",\"u\":");
        m.num(self.me);
        m.extend(b",\"t\":");
        m.num(now_ns());
        m.extend(b",\"bytes\":");
        m.num(bytes as u64);
        m.push(b'}');
        self.send(m.bytes());
    }
}

struct Batch {
    buf: Buf<{ MSG_CAP + BATCH_LIMIT }>,
    due: Option<u64>, // CLOCK_MONOTONIC ns
}

impl Batch {
    fn push(&mut self, r: &Reporter, msg: &[u8]) {
        if !self.buf.is_empty() && self.buf.len + msg.len() >= BATCH_LIMIT {
            self.flush(r);
        }
        if self.buf.is_empty() {
            self.due = Some(clock_ns(CLOCK_MONOTONIC) + HOLD_NS);
        } else {
            self.buf.push(b'\n');
        }
        self.buf.extend(msg);
    }

    fn flush(&mut self, r: &Reporter) {
        if !self.buf.is_empty() {
            r.send(self.buf.bytes());
            self.buf.clear();
        }
        self.due = None;
    }
}

// Whether `fd` has something to read before `due` (CLOCK_MONOTONIC ns).
fn readable_before(fd: usize, due: u64) -> bool {
    let now = clock_ns(CLOCK_MONOTONIC);
    if now >= due {
        return false;
    }
    let ms = (due - now).div_ceil(1_000_000);
    let mut pfd: [i32; 2] = [fd as i32, POLLIN as i32];
    sys(SYS_POLL, pfd.as_mut_ptr() as usize, 1, ms as usize) != 0
}

fn is_final_artifact(body: &[u8]) -> bool {
    const LINK: &[u8] = b"\"emit\":\"link\"";
    body.starts_with(b"{\"$message_type\":\"artifact\"") && body.windows(LINK.len()).any(|w| w == LINK)
}

fn is_reported(line: &[u8]) -> bool {
    line.starts_with(b"{\"$message_type\":\"section_timing\"")
        || line.starts_with(b"{\"$message_type\":\"artifact\"")
        || line.starts_with(b"{\"$message_type\":\"diagnostic\"")
}

static mut LINE: [u8; LINE_CAP] = [0; LINE_CAP];
static mut BATCH: Batch = Batch { buf: Buf::new(), due: None };
static mut HELD: Buf<MSG_CAP> = Buf::new();
static mut MSG: Buf<MSG_CAP> = Buf::new();
static mut LAST: Buf<{ 2 * MSG_CAP + BATCH_LIMIT }> = Buf::new();

// ---- the wrapper ------------------------------------------------------------------------------

// Hand the call to shim.rs, beside this program, with the same arguments: found through
// /proc/self/exe, else beside the link cargo ran (argv[0], the rustc-wrapper link).
fn delegate(argv: *const *const u8, env: &Env) -> ! {
    let mut exe = [0u8; 4096];
    let n = sys(SYS_READLINK, b"/proc/self/exe\0".as_ptr() as usize, exe.as_mut_ptr() as usize, exe.len() - 64);
    let me: &[u8] = if n > 0 { &exe[..n as usize] } else { unsafe { c_bytes(*argv) } };
    let dir: &[u8] = match me.iter().rposition(|&b| b == b'/') {
        Some(i) => &me[..i],
        None => b".",
    };
    let mut full = join(dir, b"cargo-overlap-shim");
    let err = execve(&mut full, argv, env);
    cannot_run(full.bytes(), err)
}

unsafe extern "C" fn entry(sp: *const usize) -> ! {
    let argc = *sp;
    let argv = sp.add(1) as *const *const u8;
    let env = Env { envp: sp.add(argc + 2) as *const *const u8 };
    let a = Args { argv, argc };
    if argc < 2 {
        write_all(2, b"cargo-overlap shim: expected `rustc ARGS...`\n");
        exit(101);
    }
    let rustc = a.get(1);
    let rustc_argv = argv.add(1);
    let run_dir = env.get(b"COVERLAP_RUN_DIR").filter(|d| d.starts_with(b"/"));
    let run_dir = match run_dir {
        Some(d) => d,
        None => cannot_run(rustc, execvp(rustc, rustc_argv, &env)),
    };
    if exists(join(run_dir, b"chain").bytes()) {
        delegate(argv, &env);
    }
    if !is_cargo_unit(&a, &env) {
        cannot_run(rustc, execvp(rustc, rustc_argv, &env));
    }
    // A unit that links is shim.rs's from the start (it waits for the decision itself).
    let (links, n_types) = crate_types(&a);
    if links {
        delegate(argv, &env);
    }
    // See shim.rs: the orchestrator writes `decided` once the phases mode is laid out.
    let decided = join(run_dir, b"decided");
    for _ in 0..30_000 {
        if exists(decided.bytes()) || !exists(run_dir) {
            break;
        }
        sleep_ms(1);
    }
    if exists(join(run_dir, b"sections").bytes()) {
        delegate(argv, &env);
    }
    run_unit(&a, &env, run_dir, rustc, rustc_argv, n_types)
}

unsafe fn run_unit(
    a: &Args,
    env: &Env,
    run_dir: &[u8],
    rustc: &[u8],
    rustc_argv: *const *const u8,
    n_types: usize,
) -> ! {
    // A reader that went away (cargo ended) must not kill us with SIGPIPE halfway: std
    // programs, shim.rs among them, ignore it too. rustc gets the default back.
    set_sigpipe(SIG_IGN);
    let me = sys(SYS_GETPID, 0, 0, 0) as u64;
    let mut stderr_pipe = [0i32; 2];
    let mut exec_pipe = [0i32; 2];
    if sys(SYS_PIPE2, stderr_pipe.as_mut_ptr() as usize, O_CLOEXEC, 0) < 0
        || sys(SYS_PIPE2, exec_pipe.as_mut_ptr() as usize, O_CLOEXEC, 0) < 0
    {
        delegate(a.argv, env);
    }
    let t_start = now_ns();
    let child = sys(SYS_FORK, 0, 0, 0);
    if child == 0 {
        sys(SYS_DUP2, stderr_pipe[1] as usize, 2, 0);
        set_sigpipe(SIG_DFL);
        let err = execvp(rustc, rustc_argv, env);
        // exec failed: tell the parent why, through the pipe exec would have closed
        let code = (-err) as i32;
        sys(SYS_WRITE, exec_pipe[1] as usize, &code as *const i32 as usize, 4);
        exit(127);
    }
    if child < 0 {
        delegate(a.argv, env);
    }
    sys(SYS_CLOSE, stderr_pipe[1] as usize, 0, 0);
    sys(SYS_CLOSE, exec_pipe[1] as usize, 0, 0);
    let mut errno = 0i32;
    let got = loop {
        let r = sys(SYS_READ, exec_pipe[0] as usize, &mut errno as *mut i32 as usize, 4);
        if r != -EINTR {
            break r;
        }
    };
    if got == 4 {
        let mut status = 0i32;
        sys(SYS_WAIT4, child as usize, &mut status as *mut i32 as usize, 0);
        cannot_run(rustc, -(errno as isize));
    }
    sys(SYS_CLOSE, exec_pipe[0] as usize, 0, 0);

    let reporter = Reporter::new(run_dir, me);
    let batch = &mut *core::ptr::addr_of_mut!(BATCH);
    let held = &mut *core::ptr::addr_of_mut!(HELD);
    let msg = &mut *core::ptr::addr_of_mut!(MSG);
    msg.extend(b"{\"e\":\"start\",\"u\":");
    msg.num(me);
    msg.extend(b",\"t\":");
    msg.num(t_start);
    msg.extend(b",\"pid\":");
    msg.num(child as u64);
    msg.push(b',');
    for (key, var) in [
        (&b"pkg"[..], &b"CARGO_PKG_NAME"[..]),
        (b"ver", b"CARGO_PKG_VERSION"),
        (b"dir", b"CARGO_MANIFEST_DIR"),
        (b"crate", b"CARGO_CRATE_NAME"),
        (b"bin", b"CARGO_BIN_NAME"),
    ] {
        msg.push(b'"');
        msg.extend(key);
        msg.extend(b"\":");
        push_json_str(msg, env.get(var).unwrap_or(b""));
        msg.push(b',');
    }
    msg.extend(b"\"primary\":");
    msg.extend(if env.get(b"CARGO_PRIMARY_PACKAGE").is_some() { b"true" } else { b"false" });
    msg.extend(b",\"args\":[");
    push_interesting_args(msg, a);
    msg.extend(b"]}");
    if msg.overflowed {
        reporter.lost(msg.len);
    } else {
        batch.push(&reporter, msg.bytes());
    }

    let fd = stderr_pipe[0] as usize;
    let line = &mut *core::ptr::addr_of_mut!(LINE);
    let (mut start, mut end) = (0usize, 0usize);
    let mut notices_left = n_types.max(1);
    // A line longer than LINE_CAP: relayed as it comes; reported as lost if it was one
    // of rustc's JSON messages.
    let mut overlong: Option<(usize, bool)> = None;
    let mut eof = false;
    loop {
        // every complete line in the buffer
        while let Some(nl) = line[start..end].iter().position(|&b| b == b'\n') {
            let l = &line[start..start + nl + 1];
            start += nl + 1;
            if let Some((bytes, reported)) = overlong.take() {
                write_all(2, l);
                if reported {
                    report_lost(&reporter, batch, held, bytes + l.len() - 1);
                }
                continue;
            }
            handle_line(l, me, &reporter, batch, held, msg, &mut notices_left);
        }
        if eof {
            break;
        }
        if start > 0 {
            line.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        if end == LINE_CAP {
            let (bytes, reported) = overlong.unwrap_or((0, is_reported(&line[..end])));
            write_all(2, &line[..end]);
            overlong = Some((bytes + end, reported));
            end = 0;
        }
        if let Some(due) = batch.due {
            if !readable_before(fd, due) {
                batch.flush(&reporter);
            }
        }
        let n = sys(SYS_READ, fd, line.as_mut_ptr().add(end) as usize, LINE_CAP - end);
        if n == -EINTR {
            continue;
        }
        if n <= 0 {
            eof = true;
            // an overlong line ending exactly at a full buffer, without a newline
            if end == start {
                if let Some((bytes, true)) = overlong.take() {
                    report_lost(&reporter, batch, held, bytes);
                }
            }
            // what follows the last newline is a line too, as read_until gives it
            if end > start {
                if let Some((bytes, reported)) = overlong.take() {
                    write_all(2, &line[start..end]);
                    if reported {
                        report_lost(&reporter, batch, held, bytes + end - start);
                    }
                } else {
                    let l = &line[start..end];
                    handle_line(l, me, &reporter, batch, held, msg, &mut notices_left);
                }
                start = end;
            }
            continue;
        }
        end += n as usize;
    }
    sys(SYS_CLOSE, fd, 0, 0);

    let mut status = 0i32;
    let mut ru = [0i64; 18]; // struct rusage
    loop {
        let r = sys6(SYS_WAIT4, child as usize, &mut status as *mut i32 as usize, 0, ru.as_mut_ptr() as usize, 0, 0);
        if r != -EINTR {
            if r < 0 {
                write_all(2, b"cargo-overlap shim: waiting for rustc failed\n");
                exit(101);
            }
            break;
        }
    }
    let t_end = now_ns();
    // ru_utime, ru_stime (timevals), then ru_maxrss
    let cpu_us = (ru[0] + ru[2]) * 1_000_000 + ru[1] + ru[3];
    let maxrss = ru[4];
    let signal = status & 0x7f;
    let code: i64 = if signal == 0 { ((status >> 8) & 0xff) as i64 } else { -(signal as i64) };

    let last = &mut *core::ptr::addr_of_mut!(LAST);
    if batch.buf.len + held.len >= BATCH_LIMIT {
        batch.flush(&reporter);
    }
    if !batch.buf.is_empty() {
        last.extend(batch.buf.bytes());
        last.push(b'\n');
    }
    if !held.is_empty() {
        last.extend(held.bytes());
        last.push(b'\n');
    }
    last.extend(b"{\"e\":\"end\",\"u\":");
    last.num(me);
    last.extend(b",\"t\":");
    last.num(t_end);
    last.extend(b",\"code\":");
    last.signed(code);
    last.extend(b",\"cpu_us\":");
    last.signed(cpu_us);
    last.extend(b",\"maxrss_kb\":");
    last.signed(maxrss);
    last.push(b'}');
    reporter.send(last.bytes());

    if signal != 0 {
        // die the way rustc did
        let act = [SIG_DFL, 0, 0, 0];
        sys6(SYS_RT_SIGACTION, signal as usize, act.as_ptr() as usize, 0, 8, 0, 0);
        sys(SYS_KILL, me as usize, signal as usize, 0);
        exit(1);
    }
    exit(code as i32)
}

// A message too long to pass on, said after what came before it (the unit's start above
// all, without which the orchestrator could not tell whose it was).
fn report_lost(reporter: &Reporter, batch: &mut Batch, held: &mut Buf<MSG_CAP>, bytes: usize) {
    if !held.is_empty() {
        batch.push(reporter, held.bytes());
        held.clear();
    }
    batch.flush(reporter);
    reporter.lost(bytes);
}

#[allow(clippy::too_many_arguments)]
fn handle_line(
    l: &[u8],
    me: u64,
    reporter: &Reporter,
    batch: &mut Batch,
    held: &mut Buf<MSG_CAP>,
    msg: &mut Buf<MSG_CAP>,
    notices_left: &mut usize,
) {
    write_all(2, l);
    if !is_reported(l) {
        return;
    }
    let t = now_ns();
    let body = l.strip_suffix(b"\n").unwrap_or(l);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    msg.clear();
    msg.extend(b"{\"e\":\"msg\",\"u\":");
    msg.num(me);
    msg.extend(b",\"t\":");
    msg.num(t);
    msg.extend(b",\"m\":");
    msg.extend(body);
    msg.push(b'}');
    if !held.is_empty() {
        batch.push(reporter, held.bytes());
        held.clear();
    }
    let last = is_final_artifact(body) && {
        *notices_left = notices_left.saturating_sub(1);
        *notices_left == 0
    };
    if last {
        held.clear();
        held.extend(msg.bytes());
    } else {
        batch.push(reporter, msg.bytes());
    }
}
