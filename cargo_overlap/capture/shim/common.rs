// What both wrappers (front.rs, without the C library, and shim.rs) do alike: the names of
// the run directory, which rustc calls are cargo units, the arguments worth reporting, the
// report messages and their batching. Core only (no allocation, no system calls): front.rs
// has no std, so what needs the system is passed in through the traits below.
//
// Included by both as `#[path = "common.rs"] mod common;`; docs/shim-protocol.md describes
// the protocol, and cargo_overlap/capture/run_dir.py names the same files for the tool.

#![allow(dead_code)] // each wrapper uses its part

// ---- the run directory (docs/shim-protocol.md) ----------------------------------------------

pub const RUN_DIR_ENV: &str = "COVERLAP_RUN_DIR";
pub const EVENTS_SOCKET: &str = "events.sock";
pub const CHAIN: &str = "chain";
pub const DECIDED: &str = "decided";
pub const SECTIONS: &str = "sections";
pub const LINKER_DIR: &str = "linker";
pub const SCCACHE_SERVER: &str = "sccache-server";
pub const LINKER_ABS_DIR: &str = "linker-abs";
pub const NESTED: &str = "nested";
pub const OWNER_LOCK: &str = "owner.lock";

// What the wrapper tells rustc of a unit that links, for the linker shim.
pub const SOCK_ENV: &str = "COVERLAP_SOCK";
pub const UNIT_ENV: &str = "COVERLAP_UNIT";
pub const PATH_ENV: &str = "COVERLAP_REAL_PATH";
pub const LINKER_DIR_ENV: &str = "COVERLAP_LINKER_DIR";
// Set by the tool on the portable path (capture/platform.py): no watcher looks in /proc.
pub const PORTABLE_ENV: &str = "COVERLAP_PORTABLE";

// The wrapper's own file name, which gives it its role (else it is a linker shim).
pub const WRAPPER_NAME: &str = "rustc-wrapper";
// shim.rs's file name, beside the front, which hands it what it does not do itself.
pub const SHIM_NAME: &str = "cargo-overlap-shim";

pub const USAGE: &[u8] = b"cargo-overlap shim: expected `rustc ARGS...`\n";

// How long a unit waits for `decided` before it goes on without it (the unit is built
// either way; only what is measured of it may be less).
pub const DECISION_WAIT_MS: u32 = 30_000;

// What the wrapper needs of the system while it waits for the tool's decision.
pub trait RunDir {
    // Whether `name` exists in the run directory (`""`: the run directory itself).
    fn has(&self, name: &str) -> bool;
    // Whether nobody holds OWNER_LOCK (a POSIX record lock) any more: the tool that made
    // the run directory is gone, however it ended. False when there is no such lock.
    fn owner_gone(&self) -> bool;
    fn sleep_ms(&self, ms: u32);
}

// The tool starts cargo before it knows whether rustc is a nightly (its `rustc -vV` runs
// while cargo starts up) and writes `decided` once the phases mode is laid out in the run
// directory. cargo's first unit nearly always comes later; one that does not waits here.
// No run directory (the tool has finished), a tool gone (killed before it decided) or no
// decision in time: go on at once, the unit is built either way.
pub fn await_decision(dir: &impl RunDir) {
    for _ in 0..DECISION_WAIT_MS {
        if dir.has(DECIDED) || !dir.has("") || dir.owner_gone() {
            return;
        }
        dir.sleep_ms(1);
    }
}

// ---- what cargo asked for -------------------------------------------------------------------

// Whether this rustc call is a unit cargo compiles, from the wrapper's environment (is
// CARGO_CRATE_NAME set, is CARGO_CFG_TARGET_ARCH set) and rustc's arguments. Build scripts
// run with CARGO_CFG_* set and a rustc they spawn inherits it; cargo's own queries (-vV,
// --print) carry no CARGO_CRATE_NAME.
pub fn is_cargo_unit<'a>(
    crate_name_set: bool,
    cfg_set: bool,
    mut rustc_args: impl Iterator<Item = &'a [u8]>,
) -> bool {
    crate_name_set && !cfg_set && rustc_args.any(|a| a == b"--crate-name")
}

// The crate types rustc is asked for (`lib` as `rlib`, each once): whether any of them
// links (anything but an rlib; none given, or a test harness, makes a binary), and how
// many there are (each gets one final artifact notice).
pub struct CrateTypes {
    pub links: bool,
    pub count: usize,
}

pub fn crate_types<'a>(rustc_args: impl Iterator<Item = &'a [u8]>) -> CrateTypes {
    // rustc knows seven crate types; a longer list repeats some
    let mut types: [&[u8]; 8] = [b""; 8];
    let mut n = 0;
    let mut args = rustc_args;
    while let Some(a) = args.next() {
        if a == b"--test" {
            return CrateTypes { links: true, count: 0 };
        }
        let listed = if a == b"--crate-type" { args.next() } else { a.strip_prefix(b"--crate-type=") };
        for t in listed.into_iter().flat_map(|v| v.split(|&c| c == b',')) {
            let t: &[u8] = if t == b"lib" { b"rlib" } else { t };
            if !types[..n].contains(&t) && n < types.len() {
                types[n] = t;
                n += 1;
            }
        }
    }
    CrateTypes { links: n == 0 || types[..n].iter().any(|t| *t != b"rlib"), count: n }
}

fn is_interesting_codegen(v: &[u8]) -> bool {
    const KEPT: [&[u8]; 7] =
        [b"metadata=", b"extra-filename=", b"opt-level=", b"debuginfo=", b"linker=", b"lto", b"codegen-units="];
    KEPT.iter().any(|p| v.starts_with(p))
}

// The arguments worth sending, each passed to `keep`: identity, dependency edges, profile,
// linker. Sending all of them would make a start message for a crate with hundreds of
// --extern flags large.
pub fn interesting_args<'a>(rustc_args: impl Iterator<Item = &'a [u8]>, mut keep: impl FnMut(&'a [u8])) {
    let mut args = rustc_args.peekable();
    while let Some(a) = args.next() {
        let takes_value =
            matches!(a, b"--crate-name" | b"--crate-type" | b"--extern" | b"--target" | b"-C" | b"--edition");
        if takes_value {
            if let Some(v) = args.next() {
                if a != b"-C" || is_interesting_codegen(v) {
                    keep(a);
                    keep(v);
                }
                continue;
            }
        }
        // The crate's root source: cargo gives a workspace member's relative to the
        // workspace root and any other package's absolute, which is how the tap knows
        // members.
        let alone = a == b"--test"
            || (a.ends_with(b".rs") && !a.starts_with(b"-"))
            || a.starts_with(b"--emit")
            || a.starts_with(b"--crate-type=")
            || a.starts_with(b"--target=")
            || a.starts_with(b"--json")
            || a.strip_prefix(b"-C").is_some_and(is_interesting_codegen);
        if alone {
            keep(a);
        }
    }
}

// ---- rustc's lines --------------------------------------------------------------------------

pub fn is_reported(line: &[u8]) -> bool {
    line.starts_with(b"{\"$message_type\":\"section_timing\"")
        || line.starts_with(b"{\"$message_type\":\"artifact\"")
        || line.starts_with(b"{\"$message_type\":\"diagnostic\"")
}

// rustc's notice of the artifact a unit exists to make (`"emit":"link"`: the rlib, the
// binary), written when its work is done.
pub fn is_final_artifact(body: &[u8]) -> bool {
    const LINK: &[u8] = b"\"emit\":\"link\"";
    body.starts_with(b"{\"$message_type\":\"artifact\"") && body.windows(LINK.len()).any(|w| w == LINK)
}

// ---- messages -------------------------------------------------------------------------------

// Where a message is written: a Vec in shim.rs, a fixed buffer in front.rs.
pub trait Out {
    fn push(&mut self, b: u8);
    fn extend(&mut self, s: &[u8]);
    fn bytes(&self) -> &[u8];
    fn clear(&mut self);

    fn len(&self) -> usize {
        self.bytes().len()
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
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
        }
        self.num(v.unsigned_abs());
    }
}

// A JSON string of `s`, invalid UTF-8 replaced as String::from_utf8_lossy does.
pub fn push_json_str(out: &mut impl Out, s: &[u8]) {
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

// `{"e":"KIND","u":UNIT,"t":T` : the head every message starts with.
fn head(out: &mut impl Out, kind: &[u8], unit: u64, t: u64) {
    out.extend(b"{\"e\":\"");
    out.extend(kind);
    out.extend(b"\",\"u\":");
    out.num(unit);
    out.extend(b",\"t\":");
    out.num(t);
}

// cargo's variables the start message carries, by key.
pub const START_VARS: [(&str, &str); 5] = [
    ("pkg", "CARGO_PKG_NAME"),
    ("ver", "CARGO_PKG_VERSION"),
    ("dir", "CARGO_MANIFEST_DIR"),
    ("crate", "CARGO_CRATE_NAME"),
    ("bin", "CARGO_BIN_NAME"),
];

// rustc was spawned: `vars` are the values of START_VARS, in order.
pub fn start_message<'a>(
    out: &mut impl Out,
    (unit, t, pid): (u64, u64, u64),
    vars: [&[u8]; 5],
    primary: bool,
    rustc_args: impl Iterator<Item = &'a [u8]>,
) {
    head(out, b"start", unit, t);
    out.extend(b",\"pid\":");
    out.num(pid);
    for ((key, _), value) in START_VARS.iter().zip(vars) {
        out.extend(b",\"");
        out.extend(key.as_bytes());
        out.extend(b"\":");
        push_json_str(out, value);
    }
    out.extend(if primary { b",\"primary\":true" } else { b",\"primary\":false" });
    out.extend(b",\"args\":[");
    let mut first = true;
    interesting_args(rustc_args, |a| {
        if !first {
            out.push(b',');
        }
        first = false;
        push_json_str(out, a);
    });
    out.extend(b"]}");
}

// One of rustc's JSON lines (`body`, without its line end).
pub fn line_message(out: &mut impl Out, unit: u64, t: u64, body: &[u8]) {
    head(out, b"msg", unit, t);
    out.extend(b",\"m\":");
    out.extend(body);
    out.push(b'}');
}

pub fn codegen_message(out: &mut impl Out, unit: u64, t: u64) {
    head(out, b"codegen", unit, t);
    out.push(b'}');
}

pub fn link_message(out: &mut impl Out, unit: u64, t: u64, start: bool) {
    head(out, b"link", unit, t);
    out.extend(if start { b",\"edge\":\"start\"}" } else { b",\"edge\":\"end\"}" });
}

pub fn lost_message(out: &mut impl Out, unit: u64, t: u64, bytes: u64) {
    head(out, b"lost", unit, t);
    out.extend(b",\"bytes\":");
    out.num(bytes);
    out.push(b'}');
}

// rustc's end: `code` negative for a signal; `cache` is sccache's answer or empty.
pub struct End<'a> {
    pub code: i64,
    pub cpu_us: i64,
    pub maxrss_kb: i64,
    pub cache: &'a [u8],
}

pub fn end_message(out: &mut impl Out, unit: u64, t: u64, end: &End) {
    head(out, b"end", unit, t);
    out.extend(b",\"code\":");
    out.signed(end.code);
    out.extend(b",\"cpu_us\":");
    out.signed(end.cpu_us);
    out.extend(b",\"maxrss_kb\":");
    out.signed(end.maxrss_kb);
    if !end.cache.is_empty() {
        out.extend(b",\"cache\":\"");
        out.extend(end.cache);
        out.push(b'"');
    }
    out.push(b'}');
}

// ---- batching -------------------------------------------------------------------------------

// How long a unit's report may wait to share a datagram with the next one. Every datagram
// wakes the tool, and on a busy machine each wake-up takes CPU from rustc; a small crate's
// start, rmeta and end fit in one such window, so they cost one wake-up, not three. The
// messages keep their own timestamps: only the live view lags, by at most this.
pub const HOLD_NS: u64 = 150_000_000;
// Well under a unix datagram's size limit (the socket's send buffer, ~200 KiB by default).
pub const BATCH_LIMIT: usize = 60 * 1024;

pub trait Sender {
    // One datagram; errors are ignored (the tool may be gone: the build goes on).
    fn send(&self, datagram: &[u8]);
}

// The messages waiting for a datagram, newline-separated (no message contains one), and
// when the oldest must go (monotonic nanoseconds).
pub struct Batch<B> {
    pub buf: B,
    pub due: Option<u64>,
}

impl<B: Out> Batch<B> {
    pub fn push(&mut self, to: &impl Sender, msg: &[u8], now_ns: u64) {
        if !self.buf.is_empty() && self.buf.len() + msg.len() >= BATCH_LIMIT {
            self.flush(to);
        }
        if self.buf.is_empty() {
            self.due = Some(now_ns + HOLD_NS);
        } else {
            self.buf.push(b'\n');
        }
        self.buf.extend(msg);
    }

    pub fn flush(&mut self, to: &impl Sender) {
        if !self.buf.is_empty() {
            to.send(self.buf.bytes());
            self.buf.clear();
        }
        self.due = None;
    }

    // Into `last`, which then only needs the end message: what is held, then `held` (the
    // final artifact's notice); what would make it too large for one datagram goes first.
    pub fn close_into(&mut self, to: &impl Sender, held: &[u8], last: &mut impl Out) {
        if self.buf.len() + held.len() >= BATCH_LIMIT {
            self.flush(to);
        }
        for part in [self.buf.bytes(), held] {
            if !part.is_empty() {
                last.extend(part);
                last.push(b'\n');
            }
        }
        self.buf.clear();
        self.due = None;
    }
}

// The final artifact's notice comes just before rustc exits: it waits to share the end
// message's datagram, one wake-up of the tool fewer per unit. Only the last crate type's
// notice waits (an rlib written before a cdylib is linked marks the end of codegen, live),
// and anything after it (a late diagnostic) sends it first, so the order stays rustc's.
pub struct Notices {
    left: usize,
}

impl Notices {
    pub fn new(crate_types: usize) -> Notices {
        Notices { left: crate_types.max(1) }
    }

    // Whether `body` is the last final-artifact notice, to be held for the end.
    pub fn is_last(&mut self, body: &[u8]) -> bool {
        is_final_artifact(body) && {
            self.left = self.left.saturating_sub(1);
            self.left == 0
        }
    }
}

// A line without its line end (`\n`, `\r\n`).
pub fn body_of(line: &[u8]) -> &[u8] {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    body.strip_suffix(b"\r").unwrap_or(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args<'a>(list: &'a [&'a str]) -> impl Iterator<Item = &'a [u8]> + 'a {
        list.iter().map(|s| s.as_bytes())
    }

    struct V(Vec<u8>);
    impl Out for V {
        fn push(&mut self, b: u8) {
            self.0.push(b);
        }
        fn extend(&mut self, s: &[u8]) {
            self.0.extend_from_slice(s);
        }
        fn bytes(&self) -> &[u8] {
            &self.0
        }
        fn clear(&mut self) {
            self.0.clear();
        }
    }

    struct Sent(std::cell::RefCell<Vec<Vec<u8>>>);
    impl Sender for Sent {
        fn send(&self, datagram: &[u8]) {
            self.0.borrow_mut().push(datagram.to_vec());
        }
    }

    #[test]
    fn a_unit_has_a_crate_name_and_no_build_script_cfg() {
        let call = ["--crate-name", "a", "src/lib.rs"];
        assert!(is_cargo_unit(true, false, args(&call)));
        assert!(!is_cargo_unit(true, true, args(&call)));
        assert!(!is_cargo_unit(false, false, args(&call)));
        assert!(!is_cargo_unit(true, false, args(&["-vV"])));
    }

    #[test]
    fn crate_types_count_each_once_and_say_whether_one_links() {
        let rlib = crate_types(args(&["--crate-type", "lib", "--crate-type=rlib"]));
        assert!(!rlib.links && rlib.count == 1);
        let mixed = crate_types(args(&["--crate-type", "rlib,cdylib"]));
        assert!(mixed.links && mixed.count == 2);
        let bin = crate_types(args(&["--crate-name", "x"]));
        assert!(bin.links && bin.count == 0);
        let test = crate_types(args(&["--crate-type", "rlib", "--test"]));
        assert!(test.links && test.count == 0);
        // a flag without its value at the end is no crate type
        assert!(crate_types(args(&["--crate-type"])).count == 0);
    }

    #[test]
    fn interesting_args_keep_identity_edges_and_profile() {
        let call = [
            "--crate-name", "a", "--edition=2021", "crates/a/src/lib.rs", "-C", "opt-level=3", "-C", "incremental=/x",
            "-Cmetadata=abc", "-Cpanic=abort", "--extern", "b=/b.rlib", "-L", "dep=/d",
            "--emit=dep-info,link", "--json=artifacts", "--test", "-C",
        ];
        let mut kept: Vec<&[u8]> = Vec::new();
        interesting_args(args(&call), |a| kept.push(a));
        let want: [&[u8]; 11] = [
            b"--crate-name", b"a", b"crates/a/src/lib.rs", b"-C", b"opt-level=3", b"-Cmetadata=abc", b"--extern",
            b"b=/b.rlib", b"--emit=dep-info,link", b"--json=artifacts", b"--test",
        ];
        assert_eq!(kept, want);
    }

    #[test]
    fn final_artifact_is_the_link_notice() {
        assert!(is_final_artifact(br#"{"$message_type":"artifact","artifact":"/a.rlib","emit":"link"}"#));
        assert!(!is_final_artifact(br#"{"$message_type":"artifact","artifact":"/a.rmeta","emit":"metadata"}"#));
        assert!(!is_final_artifact(br#"{"$message_type":"diagnostic","message":"\"emit\":\"link\""}"#));
        assert!(is_reported(b"{\"$message_type\":\"section_timing\",\"name\":\"link\"}"));
        assert!(!is_reported(b"warning: unused"));
    }

    #[test]
    fn json_strings_escape_and_replace_invalid_utf8() {
        let mut out = V(Vec::new());
        push_json_str(&mut out, b"a\"b\\c\n\x01\xff");
        assert_eq!(out.0, "\"a\\\"b\\\\c\\n\\u0001\u{FFFD}\"".as_bytes());
    }

    #[test]
    fn messages_are_the_documented_json() {
        let mut out = V(Vec::new());
        start_message(&mut out, (7, 100, 8), [b"p", b"1.0", b"/d", b"p", b""], true, args(&["--crate-name", "p"]));
        assert_eq!(
            out.0,
            br#"{"e":"start","u":7,"t":100,"pid":8,"pkg":"p","ver":"1.0","dir":"/d","crate":"p","bin":"","primary":true,"args":["--crate-name","p"]}"#
        );
        out.clear();
        end_message(&mut out, 7, 200, &End { code: -9, cpu_us: 5, maxrss_kb: 6, cache: b"hit" });
        assert_eq!(out.0, br#"{"e":"end","u":7,"t":200,"code":-9,"cpu_us":5,"maxrss_kb":6,"cache":"hit"}"#);
        out.clear();
        link_message(&mut out, 7, 1, false);
        lost_message(&mut out, 7, 2, 3);
        assert_eq!(out.0, br#"{"e":"link","u":7,"t":1,"edge":"end"}{"e":"lost","u":7,"t":2,"bytes":3}"#);
    }

    #[test]
    fn a_batch_holds_messages_and_goes_out_whole_at_its_limit() {
        let sent = Sent(Default::default());
        let mut batch = Batch { buf: V(Vec::new()), due: None };
        batch.push(&sent, b"one", 10);
        batch.push(&sent, b"two", 20);
        assert_eq!(batch.due, Some(10 + HOLD_NS));
        assert!(sent.0.borrow().is_empty());
        let big = vec![b'x'; BATCH_LIMIT];
        batch.push(&sent, &big, 30);
        assert_eq!(sent.0.borrow().as_slice(), &[b"one\ntwo".to_vec()]);
        let mut last = V(Vec::new());
        batch.close_into(&sent, b"held", &mut last);
        // too large together: the batch went alone, the held notice stays for the end
        assert_eq!(sent.0.borrow().len(), 2);
        assert_eq!(last.0, b"held\n");
    }

    #[test]
    fn only_the_last_crate_types_notice_is_held() {
        let link = br#"{"$message_type":"artifact","artifact":"/a","emit":"link"}"#;
        let mut notices = Notices::new(2);
        assert!(!notices.is_last(link));
        assert!(notices.is_last(link));
        assert_eq!(body_of(b"x\r\n"), b"x");
    }

    struct Dir {
        decided_after: std::cell::Cell<u32>,
        owner_gone_after: std::cell::Cell<u32>,
    }
    impl RunDir for Dir {
        fn has(&self, name: &str) -> bool {
            name != DECIDED || self.decided_after.get() == 0
        }
        fn owner_gone(&self) -> bool {
            self.owner_gone_after.get() == 0
        }
        fn sleep_ms(&self, _ms: u32) {
            self.decided_after.set(self.decided_after.get().saturating_sub(1));
            self.owner_gone_after.set(self.owner_gone_after.get().saturating_sub(1));
        }
    }

    #[test]
    fn a_unit_waits_for_the_decision() {
        let dir = Dir { decided_after: std::cell::Cell::new(5), owner_gone_after: std::cell::Cell::new(u32::MAX) };
        await_decision(&dir);
        assert_eq!(dir.decided_after.get(), 0);
    }

    #[test]
    fn a_unit_stops_waiting_once_the_tool_is_gone() {
        let dir = Dir { decided_after: std::cell::Cell::new(u32::MAX), owner_gone_after: std::cell::Cell::new(3) };
        await_decision(&dir);
        assert_eq!(dir.owner_gone_after.get(), 0);
        assert_eq!(dir.decided_after.get(), u32::MAX - 3);
    }
}
