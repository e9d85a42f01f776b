//! Running Python code: import, exec/eval of source, compiling files with
//! their real filename (so tracebacks name them), and modules built from
//! source.

use std::ffi::CString;
use std::path::Path;

use crate::err::{Error, Result};
use crate::ffi;
use crate::gil::Python;
use crate::object::{Bound, Dict};

/// The start symbol for [`Python::compile`] (`Py_file_input`, `Py_eval_input`,
/// `Py_single_input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A module or a sequence of statements (`exec`).
    Exec,
    /// A single expression (`eval`).
    Eval,
    /// One interactive statement (`single`).
    Single,
}

impl Mode {
    fn start(self) -> i32 {
        match self {
            Mode::Exec => ffi::Py_file_input,
            Mode::Eval => ffi::Py_eval_input,
            Mode::Single => ffi::Py_single_input,
        }
    }
}

fn source_cstring(source: &str) -> Result<CString> {
    CString::new(source).map_err(|_| Error::value_error("source code contains a NUL byte"))
}

impl<'py> Python<'py> {
    /// `import name` (`PyImport_Import`); dotted names return the leaf module.
    pub fn import(self, name: &str) -> Result<Bound<'py>> {
        let n = Bound::new_str(self, name);
        // SAFETY: GIL held.
        unsafe { Bound::from_owned_ptr_or_err(self, ffi::PyImport_Import(n.as_ptr())) }
    }

    /// The `builtins` module.
    pub fn builtins(self) -> Result<Bound<'py>> {
        self.import("builtins")
    }

    /// A fresh globals dict with `__builtins__` and `__name__ = "__main__"`-less
    /// namespace, suitable for [`run`](Self::run) and [`eval`](Self::eval).
    pub fn new_globals(self) -> Result<Dict<'py>> {
        let g = Dict::new(self);
        g.set_item("__builtins__", self.builtins()?)?;
        Ok(g)
    }

    /// Compile source to a code object (`Py_CompileStringExFlags`);
    /// `filename` is what tracebacks show.
    pub fn compile(self, source: &str, filename: &str, mode: Mode) -> Result<Bound<'py>> {
        let src = source_cstring(source)?;
        let file = CString::new(filename).map_err(|_| Error::value_error("filename contains a NUL byte"))?;
        // SAFETY: GIL held; both strings are NUL-terminated and outlive the
        // call; NULL flags; optimize -1 = interpreter default.
        unsafe {
            Bound::from_owned_ptr_or_err(
                self,
                ffi::Py_CompileStringExFlags(src.as_ptr(), file.as_ptr(), mode.start(), std::ptr::null_mut(), -1),
            )
        }
    }

    /// Evaluate a code object (`PyEval_EvalCode`) in `globals` (and `locals`,
    /// defaulting to `globals`).
    pub fn eval_code(self, code: &Bound<'py>, globals: &Dict<'py>, locals: Option<&Dict<'py>>) -> Result<Bound<'py>> {
        if !globals.contains("__builtins__")? {
            globals.set_item("__builtins__", self.builtins()?)?;
        }
        let l = locals.unwrap_or(globals);
        // SAFETY: GIL held; code is a code object (compile returns one);
        // globals/locals are dicts.
        unsafe { Bound::from_owned_ptr_or_err(self, ffi::PyEval_EvalCode(code.as_ptr(), globals.as_ptr(), l.as_ptr())) }
    }

    /// Execute statements (`exec(source, globals, locals)`). With no globals,
    /// a fresh namespace is used and discarded. Tracebacks show `<string>`.
    pub fn run(self, source: &str, globals: Option<&Dict<'py>>, locals: Option<&Dict<'py>>) -> Result<()> {
        let code = self.compile(source, "<string>", Mode::Exec)?;
        let fresh;
        let g = match globals {
            Some(g) => g,
            None => {
                fresh = self.new_globals()?;
                &fresh
            }
        };
        self.eval_code(&code, g, locals).map(drop)
    }

    /// Evaluate one expression (`eval(source, globals, locals)`).
    pub fn eval(self, source: &str, globals: Option<&Dict<'py>>, locals: Option<&Dict<'py>>) -> Result<Bound<'py>> {
        let code = self.compile(source, "<string>", Mode::Eval)?;
        let fresh;
        let g = match globals {
            Some(g) => g,
            None => {
                fresh = self.new_globals()?;
                &fresh
            }
        };
        self.eval_code(&code, g, locals)
    }

    /// Read, compile (with the file's real path as its filename) and execute
    /// a Python file in `globals`, setting `__file__`.
    pub fn run_file(self, path: impl AsRef<Path>, globals: &Dict<'py>) -> Result<()> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path)
            .map_err(|e| Error::new(crate::ExcKind::OSError, format!("cannot read {}: {e}", path.display())))?;
        let filename = path.to_string_lossy();
        let code = self.compile(&source, &filename, Mode::Exec)?;
        globals.set_item("__file__", filename.as_ref())?;
        self.eval_code(&code, globals, None).map(drop)
    }

    /// Create a module named `module_name` from source (like pyo3's
    /// `PyModule::from_code`), register it in `sys.modules`, and run it;
    /// `filename` is what its tracebacks show. On failure the module is
    /// removed from `sys.modules` again, as the import system does.
    pub fn module_from_code(self, source: &str, filename: &str, module_name: &str) -> Result<Bound<'py>> {
        let code = self.compile(source, filename, Mode::Exec)?;
        let name = Bound::new_str(self, module_name);
        // SAFETY: GIL held; PyModule_NewObject returns a new reference.
        let module = unsafe { Bound::from_owned_ptr_or_err(self, ffi::PyModule_NewObject(name.as_ptr())) }?;
        module.setattr("__file__", filename)?;
        let sys_modules = self.import("sys")?.getattr("modules")?;
        sys_modules.set_item(module_name, &module)?;
        // SAFETY: GIL held; the module dict is a borrowed reference owned by
        // the module, which we keep alive.
        let dict = unsafe { Bound::from_borrowed_ptr(self, ffi::PyModule_GetDict(module.as_ptr())) };
        let dict = dict.downcast_dict()?.clone();
        if let Err(e) = self.eval_code(&code, &dict, None) {
            let _ = sys_modules.del_item(module_name);
            return Err(e);
        }
        Ok(module)
    }
}
