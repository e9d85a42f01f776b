"""Python side of pyhost_test.go."""

import weakref

import gomod


def ident(x):
    return x


def kinds(*args):
    return [type(a).__name__ for a in args]


def fail(msg):
    raise ValueError(msg)


def error_of(f, *args, **kwargs):
    try:
        f(*args, **kwargs)
    except BaseException as e:
        return f"{type(e).__name__}: {e}"
    return "no error"


def call_go_many(n):
    total = 0
    for i in range(n):
        total += gomod.add(i, 1)
    return total


class Thing:
    def double(self, x):
        return 2 * x


kept = Thing()
kept_ref = weakref.ref(kept)
