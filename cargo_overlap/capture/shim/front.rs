// cargo-overlap's RUSTC_WRAPPER front: the common case of shim.rs without the C library.
//
// Why: every process linked with glibc spends its first moments in glibc's start-up, which
// asks the CPU about its caches with the `cpuid` instruction dozens of times. On a virtual
// machine each `cpuid` traps to the hypervisor, and an empty glibc program's start costs
// many times this whole program's run (BENCHMARKS.md, "Capture costs"). The wrapper runs
// once per rustc call, so that start, paid on top of rustc's own, was most of what the
// shim cost a build.
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

#[path = "common.rs"]
mod common;

use common::{
    await_decision, crate_types, is_cargo_unit, is_reported, line_message, lost_message, start_message, Batch,
    Notices, Out, RunDir, Sender, BATCH_LIMIT, CHAIN, EVENTS_SOCKET, NESTED, OWNER_LOCK, RUN_DIR_ENV, SECTIONS,
    SHIM_NAME, START_VARS, USAGE,
};

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
const SYS_OPEN: usize = 2;
const SYS_CLOSE: usize = 3;
const SYS_POLL: usize = 7;
const SYS_RT_SIGACTION: usize = 13;
const SYS_ACCESS: usize = 21;
const SYS_DUP2: usize = 33;
const SYS_NANOSLEEP: usize = 35;
const SYS_GETPID: usize = 39;
const SYS_FCNTL: usize = 72;
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
const F_GETLK: usize = 5;
const F_UNLCK: i16 = 2;
const SIGPIPE: usize = 13;
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;
const AF_UNIX: usize = 1;
const SOCK_DGRAM: usize = 2;
const SOCK_CLOEXEC: usize = 0o2000000;
const POLLIN: i16 = 1;
const CLOCK_REALTIME: usize = 0;
const CLOCK_MONOTONIC: usize = 1;

// # Safety
// A raw system call: the caller's arguments must be what the kernel expects for `n`
// (pointers valid for what the call reads or writes).
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

// Every call site passes integers, or pointers to live buffers of the size it names.
fn sys(n: usize, a: usize, b: usize, c: usize) -> isize {
    // SAFETY: as sys6; the three-argument calls used here take no fourth to sixth argument.
    unsafe { sys6(n, a, b, c, 0, 0, 0) }
}

fn exit(code: i32) -> ! {
    sys(SYS_EXIT_GROUP, code as usize, 0, 0);
    // exit_group does not return
    loop {
        core::hint::spin_loop();
    }
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
/// # Safety
/// As the C library's `memcpy`: valid pointers for the lengths given.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    asm!(
        "rep movsb",
        inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _,
        options(nostack, preserves_flags),
    );
    dst
}

/// # Safety
/// As the C library's `memmove`: valid pointers for the lengths given.
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

/// # Safety
/// As the C library's `memset`: valid pointers for the lengths given.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    asm!(
        "rep stosb",
        inout("rcx") n => _, inout("rdi") dst => _, in("al") c as u8,
        options(nostack, preserves_flags),
    );
    dst
}

/// # Safety
/// As the C library's `memcmp`: valid pointers for the lengths given.
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

/// # Safety
/// As the C library's `strlen`: valid pointers for the lengths given.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    while core::ptr::read_volatile(s.add(n)) != 0 {
        n += 1;
    }
    n
}

/// # Safety
/// As the C library's `bcmp`: valid pointers for the lengths given.
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

fn set_signal(sig: usize, handler: usize) {
    // struct kernel_sigaction: handler, flags, restorer, mask
    let act = [handler, 0, 0, 0];
    // SAFETY: `act` is a live kernel_sigaction; no old action is asked for; 8 is the
    // kernel's sigset size.
    unsafe { sys6(SYS_RT_SIGACTION, sig, act.as_ptr() as usize, 0, 8, 0, 0) };
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

impl<const N: usize> Out for Buf<N> {
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
    fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
    fn clear(&mut self) {
        self.len = 0;
        self.overflowed = false;
    }
}

impl<const N: usize> Buf<N> {
    const fn new() -> Self {
        Buf { data: [0; N], len: 0, overflowed: false }
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

// # Safety
// `p` points to a NUL-terminated string that lives as long as the process (argv, envp).
unsafe fn c_bytes<'a>(p: *const u8) -> &'a [u8] {
    core::slice::from_raw_parts(p, strlen(p))
}

struct Env {
    envp: *const *const u8,
}

impl Env {
    fn get(&self, key: &[u8]) -> Option<&'static [u8]> {
        let mut i = 0;
        loop {
            // SAFETY: envp is the kernel's NULL-terminated array, read up to its NULL.
            let p = unsafe { *self.envp.add(i) };
            if p.is_null() {
                return None;
            }
            // SAFETY: each entry of envp is a NUL-terminated string for the process's life.
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
    common::push_json_str(&mut m, name);
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
        // SAFETY: i < argc (every caller's range), and argv holds argc NUL-terminated strings.
        unsafe { c_bytes(*self.argv.add(i)) }
    }

    // rustc's arguments: argv[2..] (argv[0] is the wrapper, argv[1] rustc)
    fn rustc(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        (2..self.argc).map(move |i| self.get(i))
    }
}



// ---- reporting (see common.rs) ----------------------------------------------------------------

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
        let path = join(run_dir, EVENTS_SOCKET.as_bytes());
        // a socket path that does not fit sockaddr_un: nothing can be sent, as with std
        if path.overflowed || path.len > 107 {
            return Reporter { fd: usize::MAX, addr, addr_len: 0, me };
        }
        let n = path.len;
        addr[2..2 + n].copy_from_slice(path.bytes());
        let fd = sys(SYS_SOCKET, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        Reporter { fd: if fd < 0 { usize::MAX } else { fd as usize }, addr, addr_len: 2 + n + 1, me }
    }

    fn lost(&self, bytes: usize) {
        let mut m: Buf<128> = Buf::new();
        lost_message(&mut m, self.me, now_ns(), bytes as u64);
        self.send(m.bytes());
    }
}

impl Sender for Reporter {
    fn send(&self, msg: &[u8]) {
        if self.fd == usize::MAX {
            return;
        }
        // SAFETY: msg and the socket address are live buffers of the lengths given.
        let r = unsafe {
            sys6(SYS_SENDTO, self.fd, msg.as_ptr() as usize, msg.len(), 0, self.addr.as_ptr() as usize, self.addr_len)
        };
        if r < 0 && msg.len() > 4096 {
            self.lost(msg.len());
        }
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

type Held = Buf<MSG_CAP>;

// The unit's reports: the batch that shares datagrams, the final artifact's notice held for
// the end, and the message being made. In statics: they are larger than the stack cargo's
// processes may be given, and there is no allocator.
struct Unit {
    me: u64,
    reporter: Reporter,
    batch: &'static mut Batch<Buf<{ MSG_CAP + BATCH_LIMIT }>>,
    held: &'static mut Held,
    msg: &'static mut Buf<MSG_CAP>,
    notices: Notices,
}

static mut LINE: [u8; LINE_CAP] = [0; LINE_CAP];
static mut BATCH: Batch<Buf<{ MSG_CAP + BATCH_LIMIT }>> = Batch { buf: Buf::new(), due: None };
static mut HELD: Held = Buf::new();
static mut MSG: Buf<MSG_CAP> = Buf::new();
static mut LAST: Buf<{ 2 * MSG_CAP + BATCH_LIMIT }> = Buf::new();

impl Unit {
    fn push(&mut self, msg_is_held: bool) {
        if msg_is_held {
            self.held.clear();
            self.held.extend(self.msg.bytes());
        } else {
            self.batch.push(&self.reporter, self.msg.bytes(), clock_ns(CLOCK_MONOTONIC));
        }
    }

    // What was held goes first: the order stays rustc's.
    fn release_held(&mut self) {
        if !self.held.is_empty() {
            self.batch.push(&self.reporter, self.held.bytes(), clock_ns(CLOCK_MONOTONIC));
            self.held.clear();
        }
    }

    // One line of rustc's stderr: relayed to cargo, and reported if it is one of rustc's
    // JSON messages.
    fn line(&mut self, l: &[u8]) {
        write_all(2, l);
        if !is_reported(l) {
            return;
        }
        let body = common::body_of(l);
        self.msg.clear();
        line_message(self.msg, self.me, now_ns(), body);
        self.release_held();
        let last = self.notices.is_last(body);
        self.push(last);
    }

    // A message too long to pass on, said after what came before it (the unit's start
    // above all, without which the tool could not tell whose it was).
    fn lost(&mut self, bytes: usize) {
        self.release_held();
        self.batch.flush(&self.reporter);
        self.reporter.lost(bytes);
    }
}

// ---- the wrapper ------------------------------------------------------------------------------

// Hand the call to shim.rs, beside this program, with the same arguments: found through
// /proc/self/exe, else beside the link cargo ran (argv[0], the rustc-wrapper link).
fn delegate(a: &Args, env: &Env) -> ! {
    let mut exe = [0u8; 4096];
    let n = sys(SYS_READLINK, c"/proc/self/exe".as_ptr() as usize, exe.as_mut_ptr() as usize, exe.len() - 64);
    let me: &[u8] = if n > 0 { &exe[..n as usize] } else { a.get(0) };
    let dir: &[u8] = match me.iter().rposition(|&b| b == b'/') {
        Some(i) => &me[..i],
        None => b".",
    };
    let mut full = join(dir, SHIM_NAME.as_bytes());
    let err = execve(&mut full, a.argv, env);
    cannot_run(full.bytes(), err)
}

struct Dir<'a>(&'a [u8]);

impl RunDir for Dir<'_> {
    fn has(&self, name: &str) -> bool {
        if name.is_empty() {
            exists(self.0)
        } else {
            exists(join(self.0, name.as_bytes()).bytes())
        }
    }
    fn owner_gone(&self) -> bool {
        let mut path = join(self.0, OWNER_LOCK.as_bytes());
        let Some(c) = path.cstr() else { return false };
        let fd = sys(SYS_OPEN, c as usize, O_CLOEXEC, 0); // O_RDONLY
        if fd < 0 {
            return false; // a run directory without the lock: wait as before
        }
        // struct flock: l_type and l_whence (i16), l_start and l_len (i64), l_pid (i32);
        // zeroed, it asks about a read lock (F_RDLCK is 0) of the whole file
        let mut lock = [0i64; 4];
        let r = sys(SYS_FCNTL, fd as usize, F_GETLK, lock.as_mut_ptr() as usize);
        sys(SYS_CLOSE, fd as usize, 0, 0);
        // F_GETLK writes F_UNLCK into l_type, the low half of the first word, when
        // nobody's lock would stand in the way
        r == 0 && lock[0] as i16 == F_UNLCK
    }
    fn sleep_ms(&self, ms: u32) {
        sleep_ms(ms as u64)
    }
}

// # Safety
// Called by _start alone, with the stack the kernel set up: argc, argv, NULL, envp, NULL.
unsafe extern "C" fn entry(sp: *const usize) -> ! {
    let argc = *sp;
    let argv = sp.add(1) as *const *const u8;
    let env = Env { envp: sp.add(argc + 2) as *const *const u8 };
    let a = Args { argv, argc };
    if argc < 2 {
        write_all(2, USAGE);
        exit(101);
    }
    let rustc = a.get(1);
    let rustc_argv = argv.add(1);
    let run_dir = match env.get(RUN_DIR_ENV.as_bytes()).filter(|d| d.starts_with(b"/")) {
        Some(d) => d,
        None => cannot_run(rustc, execvp(rustc, rustc_argv, &env)),
    };
    let dir = Dir(run_dir);
    if dir.has(CHAIN) {
        delegate(&a, &env);
    }
    let cfg = env.get(b"CARGO_CFG_TARGET_ARCH").is_some();
    // a nested run: whether CARGO_CFG_* are a probe's is for shim.rs to find out
    if cfg && dir.has(NESTED) {
        delegate(&a, &env);
    }
    let unit = is_cargo_unit(env.get(b"CARGO_CRATE_NAME").is_some(), cfg, a.rustc());
    if !unit {
        cannot_run(rustc, execvp(rustc, rustc_argv, &env));
    }
    // A unit that links is shim.rs's from the start (it waits for the decision itself).
    let types = crate_types(a.rustc());
    if types.links {
        delegate(&a, &env);
    }
    await_decision(&dir);
    if dir.has(SECTIONS) {
        delegate(&a, &env);
    }
    run_unit(&a, &env, run_dir, types.count)
}

// rustc, its stderr on a pipe; returns its pid and the pipe's read end. Falls back to
// shim.rs where the system refuses a pipe or a process.
fn spawn_rustc(a: &Args, env: &Env) -> (usize, usize) {
    let rustc = a.get(1);
    // SAFETY: argv[1..] is the kernel's NULL-terminated argument array.
    let rustc_argv = unsafe { a.argv.add(1) };
    let mut stderr_pipe = [0i32; 2];
    let mut exec_pipe = [0i32; 2];
    if sys(SYS_PIPE2, stderr_pipe.as_mut_ptr() as usize, O_CLOEXEC, 0) < 0
        || sys(SYS_PIPE2, exec_pipe.as_mut_ptr() as usize, O_CLOEXEC, 0) < 0
    {
        delegate(a, env);
    }
    let child = sys(SYS_FORK, 0, 0, 0);
    if child == 0 {
        sys(SYS_DUP2, stderr_pipe[1] as usize, 2, 0);
        set_signal(SIGPIPE, SIG_DFL);
        let err = execvp(rustc, rustc_argv, env);
        // exec failed: tell the parent why, through the pipe exec would have closed
        let code = (-err) as i32;
        sys(SYS_WRITE, exec_pipe[1] as usize, &code as *const i32 as usize, 4);
        exit(127);
    }
    if child < 0 {
        delegate(a, env);
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
    (child as usize, stderr_pipe[0] as usize)
}

fn run_unit(a: &Args, env: &Env, run_dir: &[u8], n_types: usize) -> ! {
    // A reader that went away (cargo ended) must not kill us with SIGPIPE halfway: std
    // programs, shim.rs among them, ignore it too. rustc gets the default back.
    set_signal(SIGPIPE, SIG_IGN);
    let me = sys(SYS_GETPID, 0, 0, 0) as u64;
    let t_start = now_ns();
    let (child, fd) = spawn_rustc(a, env);
    // SAFETY: this process has one thread, and these statics are borrowed here alone.
    let mut unit = unsafe {
        Unit {
            me,
            reporter: Reporter::new(run_dir, me),
            batch: &mut *core::ptr::addr_of_mut!(BATCH),
            held: &mut *core::ptr::addr_of_mut!(HELD),
            msg: &mut *core::ptr::addr_of_mut!(MSG),
            notices: Notices::new(n_types),
        }
    };
    let vars = START_VARS.map(|(_, var)| env.get(var.as_bytes()).unwrap_or(b""));
    let primary = env.get(b"CARGO_PRIMARY_PACKAGE").is_some();
    start_message(unit.msg, (me, t_start, child as u64), vars, primary, a.rustc());
    if unit.msg.overflowed {
        unit.reporter.lost(unit.msg.len);
    } else {
        unit.push(false);
    }
    // SAFETY: as above, one thread, borrowed here alone.
    let line = unsafe { &mut *core::ptr::addr_of_mut!(LINE) };
    relay(fd, line, &mut unit);
    sys(SYS_CLOSE, fd, 0, 0);
    finish(child, &mut unit)
}

// rustc's stderr, line by line, until it closes.
fn relay(fd: usize, line: &mut [u8; LINE_CAP], unit: &mut Unit) {
    let (mut start, mut end) = (0usize, 0usize);
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
                    unit.lost(bytes + l.len() - 1);
                }
                continue;
            }
            unit.line(l);
        }
        if eof {
            return;
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
        if let Some(due) = unit.batch.due {
            if !readable_before(fd, due) {
                unit.batch.flush(&unit.reporter);
            }
        }
        let n = sys(SYS_READ, fd, line[end..].as_mut_ptr() as usize, LINE_CAP - end);
        if n == -EINTR {
            continue;
        }
        if n > 0 {
            end += n as usize;
            continue;
        }
        eof = true;
        // an overlong line ending exactly at a full buffer, without a newline
        if end == start {
            if let Some((bytes, true)) = overlong.take() {
                unit.lost(bytes);
            }
        }
        // what follows the last newline is a line too, as read_until gives it
        if end > start {
            if let Some((bytes, reported)) = overlong.take() {
                write_all(2, &line[start..end]);
                if reported {
                    unit.lost(bytes + end - start);
                }
            } else {
                unit.line(&line[start..end]);
            }
            start = end;
        }
    }
}

// Wait for rustc, send the end with what is held, and exit as rustc did.
fn finish(child: usize, unit: &mut Unit) -> ! {
    let mut status = 0i32;
    let mut ru = [0i64; 18]; // struct rusage
    loop {
        // SAFETY: status and ru are live and as large as wait4 writes.
        let r = unsafe {
            sys6(SYS_WAIT4, child, &mut status as *mut i32 as usize, 0, ru.as_mut_ptr() as usize, 0, 0)
        };
        if r == -EINTR {
            continue;
        }
        if r < 0 {
            write_all(2, b"cargo-overlap shim: waiting for rustc failed\n");
            exit(101);
        }
        break;
    }
    let t_end = now_ns();
    let signal = status & 0x7f;
    let end = common::End {
        code: if signal == 0 { ((status >> 8) & 0xff) as i64 } else { -(signal as i64) },
        // ru_utime, ru_stime (timevals), then ru_maxrss
        cpu_us: (ru[0] + ru[2]) * 1_000_000 + ru[1] + ru[3],
        maxrss_kb: ru[4],
        cache: b"",
    };
    // SAFETY: one thread, and LAST is borrowed here alone.
    let last = unsafe { &mut *core::ptr::addr_of_mut!(LAST) };
    unit.batch.close_into(&unit.reporter, unit.held.bytes(), last);
    common::end_message(last, unit.me, t_end, &end);
    unit.reporter.send(last.bytes());

    if signal != 0 {
        // die the way rustc did
        set_signal(signal as usize, SIG_DFL);
        sys(SYS_KILL, unit.me as usize, signal as usize, 0);
        exit(1);
    }
    exit(end.code as i32)
}
