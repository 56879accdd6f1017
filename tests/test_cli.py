"""python -m mpt_nb: with no command it lists every command with its one-line help and exits 0."""

from __future__ import annotations

import argparse
import subprocess
import sys

from mpt_nb.__main__ import _parser, command_list, main


def _subcommands() -> dict[str, str]:
    parser = _parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a.help for a in action._choices_actions}


def test_no_command_lists_each_command_on_one_line(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    commands = _subcommands()
    assert {"demo", "profiles", "train-sources", "fetch-data"} <= set(commands)
    for name, help_ in commands.items():
        assert help_, f"command {name!r} has no one-line help"
        lines = [line for line in out.splitlines() if line.split()[:1] == [name]]
        assert len(lines) == 1 and help_ in lines[0], f"{name!r} is not listed once with its help:\n{out}"
    assert out == command_list(_parser()) + "\n"


def test_no_command_from_the_shell_exits_0():
    done = subprocess.run([sys.executable, "-m", "mpt_nb"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "commands:" in done.stdout and "demo" in done.stdout and not done.stderr.strip()


def test_a_bad_command_is_still_one_line_and_exit_2(capsys):
    try:
        main(["no-such-command"])
    except SystemExit as stop:
        assert stop.code == 2
    else:
        raise AssertionError("an unknown command should exit 2")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice" in err
