"""pyhost's guards, installed by the host in every interpreter that runs checks.

Checks never import this module. The host calls ``install(host, names)``
once per interpreter (``host`` is the private ``_pyhost_agent`` module, or
None when the host does not provide it):

* ``sys.stdout`` and ``sys.stderr`` (and their ``__stdout__``/``__stderr__``)
  become streams that hand every write to the host, which logs each line under
  the writing check's id: a ``print()`` never reaches the agent's JSON or
  table output, and nothing is lost at exit;
* the host's built-in modules (``aggregator``, ``datadog_agent``...) become
  read-only: ``aggregator.submit_metric = f`` raises ``AttributeError`` in the
  check that tries it, and every other check keeps the real function;
* ``subprocess.Popen`` registers each child with the host, whose reaper of
  abandoned children then leaves it to ``Popen.wait()``.
"""

import io
import sys
import types
import weakref


class _BinaryStream(io.RawIOBase):
    """``sys.stdout.buffer``: bytes decoded as UTF-8 (bad bytes replaced)."""

    def __init__(self, text):
        self._text = text

    def writable(self):
        return True

    def write(self, b):
        data = bytes(b)
        self._text.write(data.decode('utf-8', 'replace'))
        return len(data)

    def flush(self):
        self._text.flush()


class CheckStream(io.TextIOBase):
    """A text stream whose lines go to the host's log (see the module docs)."""

    def __init__(self, host, fd, name):
        super().__init__()
        self._host = host
        self._fd = fd
        self._name = name
        self._buffer = _BinaryStream(self)

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return 'utf-8'

    @property
    def errors(self):
        return 'replace'

    @property
    def buffer(self):
        return self._buffer

    @property
    def line_buffering(self):
        return True

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        # A child process handed this stream writes to the host's stderr,
        # the log's stream, never to its stdout (the outputs' stream).
        return 2

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError('write() argument must be str, not {}'.format(type(s).__name__))
        self._host.output_write(self._fd, s)
        return len(s)

    def flush(self):
        self._host.output_flush(self._fd)

    def close(self):
        # Shared by every check of the interpreter: one check cannot close it
        # for the others.
        self.flush()

    @property
    def closed(self):
        return False


class ReadOnlyModule(types.ModuleType):
    """A host module whose attributes cannot be set or deleted from Python."""

    def __setattr__(self, name, value):
        raise AttributeError(
            "cannot set {}.{}: the host's built-in modules are read-only "
            "(every check of this interpreter shares them)".format(self.__name__, name)
        )

    def __delattr__(self, name):
        raise AttributeError(
            "cannot delete {}.{}: the host's built-in modules are read-only".format(self.__name__, name)
        )


def _capture_output(host):
    out = CheckStream(host, 1, '<stdout>')
    err = CheckStream(host, 2, '<stderr>')
    sys.stdout = sys.__stdout__ = out
    sys.stderr = sys.__stderr__ = err


def _make_read_only(names):
    for name in names:
        try:
            module = __import__(name)
        except ImportError:
            continue
        if type(module) is types.ModuleType:
            module.__class__ = ReadOnlyModule


def _register_popen_children(host):
    try:
        import subprocess
    except ImportError:
        return
    original = subprocess.Popen._execute_child
    if getattr(original, '_pyhost_registers', False):
        return

    def _execute_child(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        finally:
            pid = getattr(self, 'pid', None)
            if pid:
                host.own_child(pid)
                weakref.finalize(self, host.disown_child, pid)

    _execute_child._pyhost_registers = True
    _execute_child.__wrapped__ = original
    subprocess.Popen._execute_child = _execute_child


def install(host, names):
    """Install the guards in this interpreter (idempotent for the modules)."""
    if host is not None:
        _capture_output(host)
        _register_popen_children(host)
    _make_read_only(names)
