"""``tf.app.flags`` / ``tf.flags``: absl-style command-line flags, as TF1 scripts define and read them.

    flags = tf.app.flags
    flags.DEFINE_integer("batch_size", 128, "Examples per step.")
    FLAGS = flags.FLAGS
    ... FLAGS.batch_size ...

Command lines follow absl's rules: ``--name=value`` or ``--name value``, ``-name`` as well as
``--name``; booleans as ``--flag``, ``--noflag`` or ``--flag=true/false/1/0``; ``--`` ends the
flags. As TF1's wrapper does, the first read of a flag parses ``sys.argv`` for the flags it
knows and leaves the rest alone; ``FLAGS(argv)`` parses explicitly and returns the
program name plus the arguments that are not flags. The parser is written here, not on
argparse: absl's ``--noflag``, single-dash long names, repeated flags and "known flags
only" parsing have no argparse equivalent that keeps argparse's own exits out of the way.
"""

from __future__ import annotations

import sys


class Error(Exception):
    """Base class of the flag errors (absl's ``flags.Error``)."""


class DuplicateFlagError(Error):
    """A flag of that name is already defined."""


class IllegalFlagValueError(Error):
    """A flag's value cannot be parsed or is out of its bounds."""


class UnrecognizedFlagError(Error):
    """The command line names a flag that is not defined."""


class ValidationError(Error):
    """A required flag has no value."""


_TRUE = ("true", "t", "1")
_FALSE = ("false", "f", "0")


def _parse_bool(text):
    if isinstance(text, bool):
        return text
    if isinstance(text, str):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
    if isinstance(text, int) and text in (0, 1):
        return bool(text)
    raise ValueError("Non-boolean argument to boolean flag")


def _parse_int(text):
    if isinstance(text, str):
        stripped = text.strip().lower().lstrip("+-")
        base = 16 if stripped.startswith("0x") else 8 if stripped.startswith("0o") else 10
        return int(text, base)
    if isinstance(text, float) and not text.is_integer():
        raise ValueError(f"{text} is not an integer")
    return int(text)


def _parse_list(text):
    if isinstance(text, (list, tuple)):
        return [str(v) for v in text]
    return [part.strip() for part in str(text).split(",")] if str(text).strip() else []


class Flag:
    """One defined flag: its name, parser, default, help text and current ``value``."""

    def __init__(self, name, default, help_text, parse, type_name, boolean=False, multi=False, short_name=None,
                 bounds=(None, None), module_name=None):
        self.name = name
        self.help = help_text or ""
        self.type_name = type_name
        self.boolean = boolean
        self.multi = multi
        self.short_name = short_name
        self.module_name = module_name
        self._parser = parse
        self._bounds = bounds
        self.present = 0
        self.default = None if default is None else self.parse_value(default)
        self.value = self._copy(self.default)

    @staticmethod
    def _copy(value):
        return list(value) if isinstance(value, list) else value

    def parse_value(self, text):
        """``text`` (a command-line string or a Python value) as this flag's value; IllegalFlagValueError if invalid."""
        try:
            if self.multi:
                items = text if isinstance(text, (list, tuple)) else [text]
                return [self._check(self._parser(item)) for item in items]
            return self._check(self._parser(text))
        except (ValueError, TypeError) as e:
            raise IllegalFlagValueError(f"flag --{self.name}={text}: {e}") from None

    def _check(self, value):
        lower, upper = self._bounds
        if lower is not None and value < lower:
            raise ValueError(f"{value} is not >= {lower}")
        if upper is not None and value > upper:
            raise ValueError(f"{value} is not <= {upper}")
        return value

    def set_from_command_line(self, text):
        value = self.parse_value(text)
        if self.multi and self.present:
            self.value.extend(value)
        else:
            self.value = value
        self.present += 1

    def __repr__(self):
        return f"<Flag --{self.name}={self.value!r}>"


class FlagHolder:
    """What a ``DEFINE_*`` returns: ``.value`` reads the flag (parsing ``sys.argv`` first if needed)."""

    def __init__(self, flag_values, flag):
        self._flag_values = flag_values
        self.name = flag.name
        self.default = flag.default

    @property
    def value(self):
        return getattr(self._flag_values, self.name)


class FlagValues:
    """The registry of defined flags; ``FLAGS.name`` is a flag's value (TF1's ``tf.app.flags.FLAGS``)."""

    def __init__(self):
        self.__dict__["_flags"] = {}
        self.__dict__["_short_names"] = {}
        self.__dict__["_parsed"] = False
        self.__dict__["_required"] = []

    # -- defining -----------------------------------------------------------------------------------
    def _define(self, flag: Flag) -> FlagHolder:
        flags = self.__dict__["_flags"]
        if flag.name in flags:
            first = flags[flag.name]
            raise DuplicateFlagError(
                f"The flag '{flag.name}' is defined twice. First from {first.module_name}, Second from "
                f"{flag.module_name}.  Description from first occurrence: {first.help}"
            )
        flags[flag.name] = flag
        if flag.short_name:
            self.__dict__["_short_names"][flag.short_name] = flag.name
        return FlagHolder(self, flag)

    # -- reading and writing values -------------------------------------------------------------------
    def __getattr__(self, name):
        flags = self.__dict__["_flags"]
        if name == "__flags":  # what old scripts iterate to print every flag (absl: name -> Flag)
            return dict(flags)
        if name not in flags:
            raise AttributeError(f"Unknown flag '{name}': define it with tf.app.flags.DEFINE_...('{name}', ...)")
        if not self.__dict__["_parsed"]:
            self(sys.argv or [""], known_only=True)
        return flags[name].value

    def __setattr__(self, name, value):
        flags = self.__dict__["_flags"]
        if name not in flags:
            raise AttributeError(f"Unknown flag '{name}': define it with tf.app.flags.DEFINE_...('{name}', ...)")
        if not self.__dict__["_parsed"]:
            self(sys.argv or [""], known_only=True)
        flags[name].value = value

    def __delattr__(self, name):
        flags = self.__dict__["_flags"]
        if name not in flags:
            raise AttributeError(name)
        flag = flags.pop(name)
        self.__dict__["_short_names"].pop(flag.short_name, None)

    def __getitem__(self, name) -> Flag:
        return self.__dict__["_flags"][name]

    def __contains__(self, name) -> bool:
        return name in self.__dict__["_flags"]

    def __iter__(self):
        return iter(list(self.__dict__["_flags"]))

    def __len__(self) -> int:
        return len(self.__dict__["_flags"])

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.__dict__["_flags"]))

    def flag_values_dict(self) -> dict:
        """``{name: value}`` of every flag."""
        return {name: flag.value for name, flag in self.__dict__["_flags"].items()}

    def get_flag_value(self, name, default):
        """The flag's value, or ``default`` when no such flag is defined."""
        return getattr(self, name) if name in self else default

    def set_default(self, name, value):
        """Change a flag's default (and its value, unless it was given on the command line)."""
        flag = self[name]
        flag.default = flag.parse_value(value)
        if not flag.present:
            flag.value = Flag._copy(flag.default)

    def is_parsed(self) -> bool:
        return self.__dict__["_parsed"]

    def mark_as_parsed(self):
        """Use the current values without parsing ``sys.argv``."""
        self.__dict__["_parsed"] = True

    def unparse_flags(self):
        """Back to the defaults; the next read parses ``sys.argv`` again."""
        for flag in self.__dict__["_flags"].values():
            flag.value = Flag._copy(flag.default)
            flag.present = 0
        self.__dict__["_parsed"] = False

    # -- parsing --------------------------------------------------------------------------------------
    def __call__(self, argv, known_only=False):
        """Parse the command line ``argv`` (``argv[0]`` is the program); returns ``[argv[0]]`` + non-flag arguments.

        Unknown flags raise UnrecognizedFlagError, unless ``known_only``: then they are
        returned with the other arguments.
        """
        if isinstance(argv, (str, bytes)):
            raise TypeError("argv should be a tuple/list of strings, not bytes or string.")
        argv = list(argv)
        if not argv:
            raise ValueError("argv cannot be an empty list, and must contain the program name as the first element.")
        flags = self.__dict__["_flags"]
        rest, unknown = [], []
        args = argv[1:]
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                rest.extend(args[i:])
                break
            if not arg.startswith("-") or arg == "-" or _is_number(arg):
                rest.append(arg)
                continue
            body = arg[2:] if arg.startswith("--") else arg[1:]
            name, has_value, value = body.partition("=")
            name = self.__dict__["_short_names"].get(name, name)
            flag = flags.get(name)
            if flag is None and name in ("help", "helpshort", "helpfull", "?"):
                sys.stdout.write(self.get_help(argv[0]) + "\n")
                sys.exit(1)
            if flag is not None and flag.boolean:
                flag.set_from_command_line(value if has_value else True)
            elif flag is not None:
                if not has_value:
                    if i >= len(args):
                        raise IllegalFlagValueError(f"Missing value for flag {arg}")
                    value = args[i]
                    i += 1
                flag.set_from_command_line(value)
            elif name.startswith("no") and name[2:] in flags and flags[name[2:]].boolean:
                if has_value:
                    raise IllegalFlagValueError(f"Boolean flag --{name} does not take a value (got {arg!r})")
                flags[name[2:]].set_from_command_line(False)
            elif known_only:
                rest.append(arg)
            else:
                unknown.append(arg)
        if unknown:
            raise UnrecognizedFlagError(f"Unknown command line flag(s): {', '.join(unknown)}")
        self.__dict__["_parsed"] = True
        missing = [n for n in self.__dict__["_required"] if n in flags and flags[n].value is None]
        if missing:
            raise IllegalFlagValueError(
                f"flag --{missing[0]}=None: Flag --{missing[0]} must have a value other than None."
            )
        return [argv[0], *rest]

    def get_help(self, program="") -> str:
        """Usage text listing every flag with its help, default and type."""
        lines = [f"       USAGE: {program} [flags]", "flags:", ""]
        for name, flag in sorted(self.__dict__["_flags"].items()):
            short = f"-{flag.short_name}," if flag.short_name else ""
            lines.append(f"  {short}--{'[no]' if flag.boolean else ''}{name}: {flag.help}")
            lines.append(f"    (default: {flag.default!r})")
            lines.append(f"    ({flag.type_name})")
        return "\n".join(lines)

    __str__ = get_help


def _is_number(arg: str) -> bool:
    try:
        float(arg)
    except ValueError:
        return False
    return True


FLAGS = FlagValues()


def _module_name(depth=3) -> str:
    return sys._getframe(depth).f_globals.get("__name__", "<unknown>")


def _define(flag_values, name, default, help_text, parse, type_name, **kwargs):
    flag_values = FLAGS if flag_values is None else flag_values
    kwargs.setdefault("module_name", _module_name())
    return flag_values._define(Flag(name, default, help_text, parse, type_name, **kwargs))


def DEFINE_string(name, default, help, flag_values=None, short_name=None, **args):
    """Define a string flag (``--name=value``)."""
    return _define(flag_values, name, default, help, str, "a string", short_name=short_name)


def DEFINE_integer(name, default, help, lower_bound=None, upper_bound=None, flag_values=None, short_name=None,
                   **args):
    """Define an integer flag, optionally bounded (IllegalFlagValueError outside the bounds)."""
    return _define(flag_values, name, default, help, _parse_int, "an integer", bounds=(lower_bound, upper_bound),
                   short_name=short_name)


def DEFINE_float(name, default, help, lower_bound=None, upper_bound=None, flag_values=None, short_name=None,
                 **args):
    """Define a float flag, optionally bounded."""
    return _define(flag_values, name, default, help, float, "a number", bounds=(lower_bound, upper_bound),
                   short_name=short_name)


def DEFINE_boolean(name, default, help, flag_values=None, short_name=None, **args):
    """Define a boolean flag: ``--name``, ``--noname``, ``--name=true/false``."""
    return _define(flag_values, name, default, help, _parse_bool, "a boolean", boolean=True, short_name=short_name)


DEFINE_bool = DEFINE_boolean


def DEFINE_list(name, default, help, flag_values=None, short_name=None, **args):
    """Define a comma-separated list flag (``--name=a,b,c`` gives ``['a', 'b', 'c']``)."""
    return _define(flag_values, name, default, help, _parse_list, "a comma separated list", short_name=short_name)


def DEFINE_enum(name, default, enum_values, help, flag_values=None, case_sensitive=True, short_name=None,
                **args):
    """Define a string flag whose value must be one of ``enum_values``."""
    choices = list(enum_values)
    if not choices:
        raise ValueError("enum_values cannot be empty")

    def parse(text):
        text = str(text)
        for choice in choices:
            if text == choice or (not case_sensitive and text.lower() == choice.lower()):
                return choice
        raise ValueError(f"value should be one of <{'|'.join(choices)}>")

    return _define(flag_values, name, default, help, parse, f"one of: {', '.join(choices)}", short_name=short_name)


def DEFINE_multi_string(name, default, help, flag_values=None, short_name=None, **args):
    """Define a string flag that may be repeated (``--name=a --name=b`` gives ``['a', 'b']``)."""
    return _define(flag_values, name, default, help, str, "a string; repeat this option to specify a list of values",
                   multi=True, short_name=short_name)


def DEFINE_multi_integer(name, default, help, lower_bound=None, upper_bound=None, flag_values=None, **args):
    """Define an integer flag that may be repeated."""
    return _define(flag_values, name, default, help, _parse_int,
                   "an integer; repeat this option to specify a list of values", multi=True,
                   bounds=(lower_bound, upper_bound))


def mark_flag_as_required(flag_name, flag_values=None):
    """Make parsing fail (IllegalFlagValueError) when the flag is still None afterwards."""
    flag_values = FLAGS if flag_values is None else flag_values
    flag_values.__dict__["_required"].append(flag_name)


def mark_flags_as_required(flag_names, flag_values=None):
    for name in flag_names:
        mark_flag_as_required(name, flag_values)
