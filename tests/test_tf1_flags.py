"""tf.app.flags / tf.flags and tf.app.run, with absl's command-line rules."""

import subprocess
import sys
import types

import pytest
from graphdl.frontends.tf1 import flags as flags_module

import graphdl.compat.v1 as tf


@pytest.fixture
def fv():
    """A fresh flag registry (the global FLAGS is shared by the whole process)."""
    values = flags_module.FlagValues()
    flags = tf.app.flags
    flags.DEFINE_string("name", "model", "a string", flag_values=values)
    flags.DEFINE_integer("steps", 10, "an int", lower_bound=0, flag_values=values)
    flags.DEFINE_float("lr", 0.1, "a float", flag_values=values)
    flags.DEFINE_boolean("train", True, "a bool", flag_values=values)
    flags.DEFINE_bool("debug", False, "another bool", flag_values=values)
    flags.DEFINE_list("layers", "64,32", "a list", flag_values=values)
    flags.DEFINE_enum("mode", "fast", ["fast", "slow"], "an enum", flag_values=values)
    flags.DEFINE_multi_string("tag", [], "repeatable", flag_values=values)
    return values


@pytest.fixture
def global_flag():
    """Define 'census_flag' on the global FLAGS for one test."""
    tf.app.flags.DEFINE_integer("census_flag", 3, "a flag of the global registry")
    yield
    tf.app.flags.FLAGS.unparse_flags()
    delattr(tf.app.flags.FLAGS, "census_flag")


def test_same_module_under_both_names():
    assert tf.flags is tf.app.flags and tf.app.flags.FLAGS is tf.flags.FLAGS
    from graphdl.compat.v1.app import flags

    assert flags is tf.flags


def test_defaults_and_types(fv):
    fv.mark_as_parsed()
    assert (fv.name, fv.steps, fv.lr, fv.train, fv.debug) == ("model", 10, 0.1, True, False)
    assert fv.layers == ["64", "32"] and fv.mode == "fast" and fv.tag == []
    assert fv.flag_values_dict()["steps"] == 10 and "lr" in fv and len(fv) == 8
    assert getattr(fv, "__flags")["steps"].value == 10 and list(fv)[:2] == ["name", "steps"]


def test_parse_all_flag_syntaxes(fv):
    argv = ["prog", "--name=net", "-steps", "20", "pos1", "--lr=0.5", "--notrain", "--debug",
            "--layers=8,4,2", "--mode", "slow", "--tag=a", "--tag", "b", "--", "--name=after"]
    rest = fv(argv)
    assert rest == ["prog", "pos1", "--name=after"]
    assert (fv.name, fv.steps, fv.lr, fv.train, fv.debug) == ("net", 20, 0.5, False, True)
    assert fv.layers == ["8", "4", "2"] and fv.mode == "slow" and fv.tag == ["a", "b"]
    fv(["prog", "--train=false", "--debug=0"])
    assert fv.train is False and fv.debug is False
    fv(["prog", "--train=True", "--debug=1"])
    assert fv.train is True and fv.debug is True


def test_parse_errors(fv):
    with pytest.raises(flags_module.UnrecognizedFlagError, match="--unknown"):
        fv(["prog", "--unknown=1"])
    assert fv(["prog", "--unknown=1", "x"], known_only=True) == ["prog", "--unknown=1", "x"]
    with pytest.raises(flags_module.IllegalFlagValueError, match="--steps=abc"):
        fv(["prog", "--steps=abc"])
    with pytest.raises(flags_module.IllegalFlagValueError, match="-1 is not >= 0"):
        fv(["prog", "--steps=-1"])
    with pytest.raises(flags_module.IllegalFlagValueError, match="one of <fast|slow>"):
        fv(["prog", "--mode=medium"])
    with pytest.raises(flags_module.IllegalFlagValueError, match="Non-boolean"):
        fv(["prog", "--train=maybe"])
    with pytest.raises(flags_module.IllegalFlagValueError, match="Missing value"):
        fv(["prog", "--name"])
    with pytest.raises(flags_module.IllegalFlagValueError, match="does not take a value"):
        fv(["prog", "--notrain=1"])
    with pytest.raises(TypeError):
        fv("prog --steps=1")


def test_unknown_flag_access_and_duplicates(fv):
    fv.mark_as_parsed()
    with pytest.raises(AttributeError, match="no_such_flag"):
        fv.no_such_flag  # noqa: B018
    with pytest.raises(flags_module.DuplicateFlagError, match="The flag 'steps' is defined twice"):
        tf.app.flags.DEFINE_integer("steps", 1, "again", flag_values=fv)
    assert issubclass(flags_module.DuplicateFlagError, tf.flags.Error)
    fv.steps = 99
    assert fv.steps == 99
    del fv.steps
    assert "steps" not in fv


def test_required_flags(fv):
    tf.app.flags.DEFINE_string("data_dir", None, "required", flag_values=fv)
    tf.app.flags.mark_flag_as_required("data_dir", flag_values=fv)
    with pytest.raises(flags_module.IllegalFlagValueError, match="data_dir"):
        fv(["prog"])
    fv(["prog", "--data_dir=/tmp"])
    assert fv.data_dir == "/tmp"


def test_global_flags_parse_sys_argv_on_first_read(global_flag, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["script.py", "--census_flag=7", "--not_a_flag_here", "file.txt"])
    tf.app.flags.FLAGS.unparse_flags()
    assert tf.app.flags.FLAGS.census_flag == 7


def test_app_run_parses_flags_calls_main_and_exits_with_its_result(global_flag, monkeypatch):
    seen = []

    def main(argv):
        seen.append((argv, tf.app.flags.FLAGS.census_flag))
        return 3

    with pytest.raises(SystemExit) as e:
        tf.app.run(main=main, argv=["prog", "--census_flag=5", "--other", "input"])
    assert e.value.code == 3
    assert seen == [(["prog", "--other", "input"], 5)]
    # main defaults to __main__.main; argv to sys.argv
    fake_main = types.ModuleType("__main__")
    fake_main.main = lambda argv: seen.append(argv)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    monkeypatch.setattr(sys, "argv", ["script.py", "--census_flag=1"])
    with pytest.raises(SystemExit) as e:
        tf.app.run()
    assert e.value.code is None and seen[-1] == ["script.py"]


def test_app_run_reports_bad_values_and_help(global_flag, capsys):
    with pytest.raises(SystemExit) as e:
        tf.app.run(main=lambda argv: 0, argv=["prog", "--census_flag=x"])
    assert e.value.code == 1 and "FATAL Flags parsing error" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        tf.app.run(main=lambda argv: 0, argv=["prog", "--help"])
    assert e.value.code == 1 and "--census_flag: a flag of the global registry" in capsys.readouterr().out


SCRIPT = '''
import graphdl.compat.v1 as tf

flags = tf.app.flags
flags.DEFINE_integer("batch_size", 8, "Examples per batch.")
flags.DEFINE_boolean("verbose", True, "Print more.")
FLAGS = flags.FLAGS


def main(argv):
    x = tf.placeholder(tf.float32, [None])
    total = tf.reduce_sum(tf.Print(x, [x], "x="))
    with tf.Session() as sess:
        print(FLAGS.batch_size, FLAGS.verbose, argv[1:], sess.run(total, {x: [1.0] * FLAGS.batch_size}))
    return 4


if __name__ == "__main__":
    tf.app.run()
'''


def test_a_tf1_script_with_flags_runs_as_a_program(tmp_path):
    path = tmp_path / "script.py"
    path.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(path), "--batch_size=3", "--noverbose", "extra"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stderr
    assert done.stdout == "3 False ['extra'] 3.0\n" and "x=[1 1 1]\n" in done.stderr
