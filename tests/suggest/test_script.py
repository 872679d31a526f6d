"""Reading commands out of shell scripts."""

from __future__ import annotations

from cargo_overlap.suggest.script import ScriptCommand, walk_script


def commands(text: str, **variables: str) -> list[ScriptCommand]:
    return [c for c in walk_script(text, variables) if c.kind != "control"]


def words(command: ScriptCommand) -> list[str]:
    return [w.text for w in command.words]


def test_continuations_join_and_keep_their_line_span() -> None:
    found = walk_script("cargo build \\\n  --release \\\n  -p a\necho done\n", {})
    assert words(found[0]) == ["cargo", "build", "--release", "-p", "a"]
    assert (found[0].first_line, found[0].last_line) == (0, 2)
    assert (found[1].first_line, found[1].last_line) == (3, 3)


def test_if_branches_are_separate_segments() -> None:
    script = """\
if [ "$RUNNER_OS" = macOS ]; then
  cargo build -p a
  cargo build -p b
elif true; then
  cargo build -p c
else
  cargo build -p d
fi
cargo build -p e
"""
    builds = [c for c in walk_script(script, {}) if c.kind == "command"]
    segments = [c.segment for c in builds]
    assert segments[0] == segments[1]
    assert len({segments[1], segments[2], segments[3], segments[4]}) == 4


def test_case_arms_are_never_consecutive() -> None:
    script = "case $X in\n  a) cargo build -p a ;;\n  b) cargo build -p b ;;\nesac\n"
    builds = [c for c in walk_script(script, {}) if c.kind == "command"]
    assert builds[0].segment != builds[1].segment


def test_variables_expand_and_split_like_the_shell() -> None:
    script = (
        'TARGETS="-p a -p b"\ncargo build $TARGETS\ncargo build ${TARGETS} --lib\necho "$TARGETS"\n'
    )
    found = commands(script)
    assert found[0].kind == "assignment"
    assert words(found[1]) == ["cargo", "build", "-p", "a", "-p", "b"]
    assert words(found[2]) == ["cargo", "build", "-p", "a", "-p", "b", "--lib"]
    # Quoted, the value stays one word.
    assert words(found[3]) == ["echo", "-p a -p b"]


def test_single_quotes_do_not_expand() -> None:
    found = commands("X=1\necho '$X' \"$X\"\n")
    assert words(found[1]) == ["echo", "$X", "1"]


def test_github_expressions_are_opaque_and_never_split() -> None:
    found = commands('cargo build --target ${{ matrix.target }} --features "${{ matrix.f }}"\n')
    target, features = found[0].words[3], found[0].words[5]
    assert target.text == "${{ matrix.target }}"
    assert target.opaque
    assert target.render() == "${{ matrix.target }}"
    # Written inside quotes, rendered inside quotes again.
    assert features.render() == '"${{ matrix.f }}"'


def test_github_env_is_known_to_the_script() -> None:
    found = commands("cargo build $FLAGS\n", FLAGS="--release --locked")
    assert words(found[0]) == ["cargo", "build", "--release", "--locked"]


def test_unknown_variables_stay_opaque() -> None:
    found = commands('cargo build $ARGS "$QUOTED"\n')
    assert [w.opaque for w in found[0].words] == [False, False, True, True]
    assert [w.render() for w in found[0].words[2:]] == ["$ARGS", '"$QUOTED"']


def test_cd_and_pushd_move_the_working_directory() -> None:
    found = commands(
        "cargo build\ncd heph\ncargo build\npushd ../x\ncargo build\npopd\ncd $DIR\ncargo build\n"
    )
    builds = [c for c in found if c.kind == "command"]
    assert [c.cwd for c in builds] == [".", "heph", "x", None]


def test_lists_split_pipelines_stay_whole_and_comments_go() -> None:
    found = commands("cargo build -p a && cargo build -p b  # both\ncargo build -p c | tee log\n")
    assert [c.kind for c in found] == ["command", "command", "compound"]
    assert found[0].line_id == found[1].line_id
    assert words(found[1]) == ["cargo", "build", "-p", "b"]


def test_redirections_and_env_prefixes() -> None:
    found = commands("FOO=1 BAR='x y' cargo build -p a > log 2>&1\n")
    assert found[0].redirect
    assert [(k, v.text) for k, v in found[0].env] == [("FOO", "1"), ("BAR", "x y")]
    assert words(found[0]) == ["cargo", "build", "-p", "a", ">", "log", "2>&1"]


def test_exports_become_environment_of_later_commands() -> None:
    found = commands(
        "cargo build\nexport RUSTFLAGS=-Dwarnings\ncargo build\nunset RUSTFLAGS\ncargo build\n"
    )
    builds = [c for c in found if c.kind == "command"]
    assert [c.exported for c in builds] == [(), (("RUSTFLAGS", "-Dwarnings"),), ()]


def test_heredoc_bodies_are_not_commands() -> None:
    found = commands("cat > notes <<EOF\ncargo build -p nope\nEOF\ncargo build -p a\n")
    assert [c.kind for c in found] == ["compound", "command"]
    assert (found[0].first_line, found[0].last_line) == (0, 2)


def test_multiline_quotes_join() -> None:
    found = commands('echo "one\ntwo"\ncargo build\n')
    assert words(found[0]) == ["echo", "one\ntwo"]
    assert found[1].first_line == 2


def test_assignment_in_one_branch_does_not_hold_after_fi() -> None:
    script = """\
FLAGS=--release
if [ -n "$CI" ]; then
  FLAGS=--locked
  ONLY_HERE="-p a"
else
  cargo build $FLAGS $ONLY_HERE
fi
cargo build $FLAGS $ONLY_HERE
SAME="-p b"
if true; then SAME="-p c"; else SAME="-p c"; fi
cargo build $SAME
"""
    builds = [c for c in walk_script(script, {}) if c.kind == "command"]
    # In the else branch FLAGS is the value from before the `if`, ONLY_HERE unknown.
    assert words(builds[0])[:3] == ["cargo", "build", "--release"]
    assert builds[0].words[3].opaque
    # After fi, FLAGS differs by path: unknown; assigned alike on every path: known.
    assert builds[1].words[2].opaque and builds[1].words[2].text == "$FLAGS"
    assert words(builds[2]) == ["cargo", "build", "-p", "c"]


def test_unresolvable_cd_names_itself() -> None:
    script = 'cd "$(git rev-parse --show-toplevel)"\ncargo build\ncd app\ncargo build\n'
    builds = [c for c in walk_script(script, {}) if c.kind == "command"]
    assert builds[0].cwd is None
    assert builds[0].cwd_note == "after `cd $(git rev-parse --show-toplevel)`"
    assert builds[1].cwd is None and builds[1].cwd_note == builds[0].cwd_note


def test_cd_in_one_branch_makes_the_directory_unknown_after_fi() -> None:
    script = "if [ -d app ]; then\n  cd app\nfi\ncargo build\n"
    (build,) = [c for c in walk_script(script, {}) if c.kind == "command"]
    assert build.cwd is None
    assert build.cwd_note is not None and "only some paths" in build.cwd_note


def test_command_substitution_closes_on_its_line() -> None:
    script = "VERSION=$(git describe)\ncargo build -p a\ncd $(dirname $0) && cargo build -p b\n"
    builds = [c for c in walk_script(script, {}) if c.kind == "command"]
    assert [words(b) for b in builds] == [
        ["cargo", "build", "-p", "a"],
        ["cargo", "build", "-p", "b"],
    ]
    assert builds[0].first_line == 1
    assert builds[1].cwd is None


def test_a_command_substitution_closes_on_its_line() -> None:
    found = walk_script('echo "$(date)" $(uname)\ncargo build -p a\n', {})
    assert [(c.raw, c.first_line, c.last_line) for c in found] == [
        ('echo "$(date)" $(uname)', 0, 0),
        ("cargo build -p a", 1, 1),
    ]


def test_a_for_loop_over_literal_words_runs_its_body_once_per_word() -> None:
    script = (
        'for t in a b c; do\n  echo "$t"\n  cargo build --target "$t" -p ${t}x\ndone\necho "$t"\n'
    )
    found = commands(script)
    assert [words(c) for c in found] == [
        ["echo", "a"],
        ["cargo", "build", "--target", "a", "-p", "ax"],
        ["echo", "b"],
        ["cargo", "build", "--target", "b", "-p", "bx"],
        ["echo", "c"],
        ["cargo", "build", "--target", "c", "-p", "cx"],
        # after the loop the variable holds its last word, as in the shell
        ["echo", "c"],
    ]
    # One place, the loop's lines, for every iteration: an edit replaces the loop whole.
    unrolled = found[:6]
    assert {(c.first_line, c.last_line, c.line_id) for c in unrolled} == {(0, 3, 0)}
    assert len({c.segment for c in unrolled}) == 1


def test_a_one_line_loop_unrolls_and_a_variable_list_counts_as_literal() -> None:
    found = commands('BINS="x y"\nfor b in $BINS; do cargo build --bin "$b"; done\n')
    assert [words(c) for c in found[1:]] == [
        ["cargo", "build", "--bin", "x"],
        ["cargo", "build", "--bin", "y"],
    ]


def test_loops_that_cannot_be_read_as_their_iterations_stay_loops() -> None:
    for script in (
        'for b in $(ls); do cargo build --bin "$b"; done\n',  # words known only in CI
        'for b in x; do cargo build --bin "$b"; done\n',  # one word: nothing to merge
        'for b in x y; do cargo build --bin "$b" || break; done\n',
        "for b in x y; do\n  cargo build --bin '$b'\ndone\n",  # single quotes: no expansion
        'for b in x y; do\n  cd "$b"\n  cargo build\ndone\n',  # cd accumulates
        'for b in x y; do\n  if true; then cargo build --bin "$b"; fi\ndone\n',
        'for b in x y; do\n  b=z\n  cargo build --bin "$b"\ndone\n',
        "for b in 'x y' z; do cargo build --bin \"$b\"; done\n",  # quoted words
        'for b in x*; do cargo build --bin "$b"; done\n',  # a glob
        "for b in x y; do cargo build --bin $$b; done\n",  # make's `$$b`, or the shell's pid
    ):
        found = walk_script(script, {})
        assert found[0].kind == "control", script
        builds = [
            c for c in found if c.kind == "command" and c.words[:1] and c.words[0].text == "cargo"
        ]
        assert len(builds) <= 1, script


def test_bash_arrays_are_assignments_and_a_loop_over_one_unrolls() -> None:
    script = (
        "T=(\n  x86_64-apple-darwin\n  aarch64-apple-darwin\n)\n"
        'for t in "${T[@]}"; do cargo build --target "$t"; done\n'
    )
    found = commands(script)
    # before arrays were read, `T=(...)` was a command running `aarch64-apple-darwin)`
    assert found[0].kind == "assignment"
    assert [words(c) for c in found[1:]] == [
        ["cargo", "build", "--target", "x86_64-apple-darwin"],
        ["cargo", "build", "--target", "aarch64-apple-darwin"],
    ]
    declared = commands('declare -a B=(x y)\nfor b in ${B[@]}; do cargo build --bin "$b"; done\n')
    assert [words(c) for c in declared[1:]] == [
        ["cargo", "build", "--bin", "x"],
        ["cargo", "build", "--bin", "y"],
    ]


def test_arrays_not_known_everywhere_keep_the_loop() -> None:
    for script in (
        # assigned in a branch, appended to, overwritten, or holding what only CI knows
        'if true; then T=(x y); fi\nfor t in "${T[@]}"; do cargo build --bin "$t"; done\n',
        'T=(x y)\nT+=(z)\nfor t in "${T[@]}"; do cargo build --bin "$t"; done\n',
        'T=(x y)\nT=z\nfor t in "${T[@]}"; do cargo build --bin "$t"; done\n',
        'T=(x $(ls))\nfor t in "${T[@]}"; do cargo build --bin "$t"; done\n',
    ):
        found = walk_script(script, {})
        loop = [c for c in found if c.kind == "control" and c.raw.startswith("for")]
        assert loop, script


def test_a_one_line_subshell_runs_its_commands_in_its_own_directory() -> None:
    found = commands(
        "(cd plugins/a && cargo build)\n"
        "( cd plugins/b; export RUSTFLAGS=-g; V=1; cargo build -p $V )\n"
        "cargo build $V\n"
    )
    builds = [c for c in found if c.kind == "command"]
    assert [c.cwd for c in builds] == ["plugins/a", "plugins/b", "."]
    assert [c.exported for c in builds] == [(), (("RUSTFLAGS", "-g"),), ()]
    assert words(builds[1]) == ["cargo", "build", "-p", "1"]
    # what the subshell set does not reach the next line
    assert words(builds[2]) == ["cargo", "build", "$V"]
    assert [c.in_line_subshell for c in builds] == [True, True, False]
    # no control boundary: the subshells' builds are consecutive with their neighbours
    assert len({c.segment for c in builds}) == 1


def test_a_subshell_with_more_than_its_line_stays_one_command() -> None:
    for line in (
        "(cd a && cargo build) &",
        "(cd a && cargo build) | tee log",
        "(cd a && cargo build) > log",
        "(cd a && cargo build) || true",
        "(cd a && cargo build) && echo done",
        "(cd a && cargo build) 2>&1",
        "(cd a &&\n cargo build)",
    ):
        found = commands(line + "\ncargo build\n")
        assert found[0].kind == "compound", line
        assert not any(c.in_line_subshell for c in found), line
        assert found[-1].cwd == ".", line
