"""Checks run by tests/c/modules.c against its C host module `cmod`: every
argument type, every wrong type with its exact message, raising, re-entry,
Python threads calling the C functions at once."""

import inspect
import sys
import threading

import cmod
import cmod_late


def raises(exc, msg, f, *args, **kwargs):
    try:
        f(*args, **kwargs)
    except BaseException as e:
        assert type(e) is exc, f"{f.__name__}: raised {type(e).__name__}: {e}, want {exc.__name__}"
        assert str(e) == msg, f"{f.__name__}: message {str(e)!r}, want {msg!r}"
        return e
    raise AssertionError(f"{f.__name__}{args}{kwargs} did not raise")


def make(kind):
    return {"list": ["a", "b"], "dict": {"k": 1}, "int": 7, "str": "s"}[kind]


def hammer(n):
    for _ in range(n):
        cmod.count()
    return n


def arguments():
    # Every type, by position and by keyword; results copied back.
    assert cmod.echo_str("h\xe9llo") == "h\xe9llo"
    assert cmod.echo_str(s="") == ""
    assert cmod.echo_str("a\0b") == "a\0b"
    assert cmod.echo_int(-(2**63)) == -(2**63)
    assert cmod.echo_int(2**63 - 1) == 2**63 - 1
    assert cmod.echo_int(True) == 1  # bool is an int
    assert cmod.echo_float(1.5) == 1.5
    assert cmod.echo_float(2) == 2.0 and type(cmod.echo_float(2)) is float
    assert cmod.echo_float(float("nan")) != cmod.echo_float(float("nan"))
    assert cmod.echo_bool(True) is True and cmod.echo_bool(b=False) is False
    assert cmod.echo_bytes(b"a\0b") == b"a\0b"
    assert cmod.echo_tags(["env:prod", "r\xf4le:db"]) == ["env:prod", "r\xf4le:db"]
    assert cmod.echo_tags(("x",)) == ["x"]
    assert cmod.echo_tags([]) == []
    o = object()
    assert cmod.echo_obj(o) is o
    assert cmod.echo_obj(None) is None
    assert cmod.echo_opt_str(None) is None and cmod.echo_opt_str() is None
    assert cmod.echo_opt_str("x") == "x"
    assert cmod.describe("m", 1, ["a", "b"], "h") == "m|1|a,b|h|None"
    assert cmod.describe(value=2.5, name="n") == "n|2.5|None|None|None"
    assert cmod.describe("n", 0.5, None, None, flush=True) == "n|0.5|None|None|True"
    assert cmod.kwreq(key="k") == "k"
    assert str(inspect.signature(cmod.describe)) == "(name, value, tags=None, hostname=None, *, flush=False)"
    assert cmod.describe.__doc__.endswith("The gauge arguments as one string.")
    assert cmod.dyn(1) == "count=1 kw=0 a:2 a=1 b=None c=None b_is_none=1"
    assert cmod.dyn("s", 2.5, c=["x", "y"]) == "count=2 kw=1 a:4 a=s b=2.5 c=x,y b_is_none=0"
    assert cmod.dyn(a=["p", "q"], b=None) == "count=0 kw=2 a:6 a=[p,q] b=None c=None b_is_none=1"
    assert cmod.dyn(("t",)) == "count=1 kw=0 a:6 a=[t] b=None c=None b_is_none=1"
    assert cmod_late.echo_int(5) == 5
    print("arguments: ok", flush=True)


def wrong_types():
    T, O = TypeError, OverflowError
    raises(T, "echo_str() argument 1 must be str, not int", cmod.echo_str, 1)
    raises(T, "echo_str() argument 's' must be str, not bytes", cmod.echo_str, s=b"x")
    raises(T, "echo_str() missing required argument 's' (pos 1)", cmod.echo_str)
    raises(T, "echo_str() takes at most 1 argument (2 given)", cmod.echo_str, "a", "b")
    raises(T, "echo_str() got an unexpected keyword argument 'x'", cmod.echo_str, x="a")
    raises(T, "echo_str() got multiple values for argument 's'", cmod.echo_str, "a", s="b")
    raises(UnicodeEncodeError,
           "'utf-8' codec can't encode character '\\udc80' in position 0: surrogates not allowed",
           cmod.echo_str, "\udc80")
    raises(T, "echo_int() argument 1 must be int, not str", cmod.echo_int, "1")
    raises(T, "echo_int() argument 1 must be int, not float", cmod.echo_int, 1.5)
    raises(O, "echo_int() argument 1: Python int too large to convert to i64", cmod.echo_int, 2**63)
    raises(O, "echo_int() argument 1: Python int too small to convert to i64", cmod.echo_int, -(2**63) - 1)
    raises(T, "echo_float() argument 1 must be float, not str", cmod.echo_float, "1.5")
    raises(T, "echo_float() argument 1 must be float, not NoneType", cmod.echo_float, None)
    raises(T, "echo_bool() argument 1 must be bool, not int", cmod.echo_bool, 1)
    raises(T, "echo_bytes() argument 1 must be bytes, not str", cmod.echo_bytes, "x")
    raises(T, "echo_bytes() argument 1 must be bytes, not bytearray", cmod.echo_bytes, bytearray(b"x"))
    raises(T, "echo_tags() argument 1 must be list, not str", cmod.echo_tags, "env:prod")
    raises(T, "echo_tags() argument 1 must be list, not NoneType", cmod.echo_tags, None)
    raises(T, "echo_tags() argument 1 item 1 must be str, not int", cmod.echo_tags, ["a", 1])
    raises(T, "echo_tags() argument 'tags' item 0 must be str, not bytes", cmod.echo_tags, tags=[b"a"])
    raises(T, "echo_opt_str() argument 1 must be str or None, not int", cmod.echo_opt_str, 1)
    raises(T, "describe() argument 2 must be float, not str", cmod.describe, "m", "1")
    raises(T, "describe() argument 3 must be list or None, not str", cmod.describe, "m", 1.0, "t")
    raises(T, "describe() argument 3 item 0 must be str, not int", cmod.describe, "m", 1.0, [1])
    raises(T, "describe() argument 'hostname' must be str or None, not int", cmod.describe, "m", 1.0, hostname=1)
    raises(T, "describe() argument 'flush' must be bool or None, not int", cmod.describe, "m", 1.0, flush=1)
    raises(T, "describe() takes at most 4 positional arguments (5 given)", cmod.describe, "m", 1.0, None, None, True)
    raises(T, "describe() missing required argument 'value' (pos 2)", cmod.describe, "m")
    raises(T, "kwreq() missing 1 required keyword-only argument: 'key'", cmod.kwreq)
    raises(T, "kwreq() argument 'key' must be str, not NoneType", cmod.kwreq, key=None)
    raises(T, "kwreq() argument 'key' must be str, not int", cmod.kwreq, key=1)
    raises(T, "kwreq() takes at most 0 positional arguments (1 given)", cmod.kwreq, "k")
    raises(T, "dyn() takes at most 2 positional arguments (3 given)", cmod.dyn, 1, 2, 3)
    raises(T, "dyn() got an unexpected keyword argument 'd'", cmod.dyn, 1, d=1)
    raises(T, "dyn() missing required argument 'a' (pos 1)", cmod.dyn)
    raises(T, "dyn() argument 1 must be int, not float", cmod.dyn, 1.5)
    raises(T, "dyn() argument 2 must be float or None, not str", cmod.dyn, 1, "x")
    raises(T, "dyn() argument 'c' must be list or None, not int", cmod.dyn, 1, c=3)
    raises(T, "dyn() got multiple values for argument 'a'", cmod.dyn, 1, a=2)
    raises(T, "bad_return() takes no arguments (1 given)", cmod.bad_return, 1)
    print("wrong types: ok", flush=True)


def raising():
    e = raises(cmod.CError, "bad thing", cmod.fail, "CError", "bad thing")
    assert isinstance(e, ValueError) and cmod.CError.__module__ == "cmod"
    assert cmod.CError.__doc__ == "Raised by cmod."
    raises(ValueError, "v", cmod.fail, "ValueError", "v")
    raises(LookupError, "l", cmod.fail, "LookupError", "l")
    raises(KeyError, "'k'", cmod.fail, "KeyError", "k")
    raises(RuntimeError, "", cmod.fail, "NULL", "")
    raises(SystemError, "pyhost_raise: unknown exception type 'NoSuchError' (message: m)", cmod.fail, "NoSuchError", "m")
    raises(SystemError, "pyhost_raise: unknown exception type 'len' (message: m)", cmod.fail, "len", "m")
    raises(SystemError, "bad_return() returned -1 without raising an exception (call pyhost_raise())", cmod.bad_return)
    raises(TypeError, "ignore_error() argument 1 must be int, not str", cmod.ignore_error, "x")
    assert cmod.ignore_error(3) == 1
    raises(TypeError, "ignore_error2() missing required argument 'x' (pos 1)", cmod.ignore_error2)
    raises(ValueError,
           "the result of bad_utf8() is not valid UTF-8: 'utf-8' codec can't decode byte 0xff in position 0: "
           "invalid start byte",
           cmod.bad_utf8)
    assert issubclass(cmod_late.LateError, Exception) and cmod_late.LateError.__module__ == "cmod_late"
    # The module's exceptions are caught like any other by a check's `except Exception`.
    try:
        cmod.fail("CError", "caught")
    except Exception as e:
        assert str(e) == "caught"
    print("raising: ok", flush=True)


def reentry():
    assert cmod.reenter("import sys\nreentered = sys.version") == 42
    import __main__
    assert __main__.reentered == sys.version
    try:
        cmod.reenter("raise KeyError('inner')")
        raise AssertionError("reenter did not raise")
    except RuntimeError as e:
        assert str(e).startswith("Traceback (most recent call last):"), str(e)
        assert str(e).endswith("KeyError: 'inner'"), str(e)
    assert cmod.owned("list") == ["a", "b"]
    assert cmod.owned("dict") == {"k": 1}
    assert cmod.owned("str") == "s"
    assert cmod.owned("int") == 7
    print("re-entry: ok", flush=True)


def python_threads():
    before = cmod.total()
    n = 2000
    errors = []

    def run():
        try:
            hammer(n)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert cmod.total() - before == 4 * n, (cmod.total(), before)
    print("python threads: ok", flush=True)


def constants():
    assert cmod.INT_C == -7 and cmod.FLOAT_C == 2.5 and cmod.STR_C == "h\xe9llo"
    assert cmod.__doc__ == "A host module written in C."
    assert cmod_late.__doc__ == "Installed at run time."
    assert "cmod" in sys.builtin_module_names
    print("constants: ok", flush=True)


def main():
    arguments()
    wrong_types()
    raising()
    reentry()
    python_threads()
    constants()
