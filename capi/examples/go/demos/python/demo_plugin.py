"""The plugin of demos 01 and 02: plain Python, called from Go."""


def greet(name):
    return f"hello {name}, from Python"


def add(a, b):
    return a + b


def stats(values):
    return {"n": len(values), "sum": sum(values), "max": max(values)}


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
