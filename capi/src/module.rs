//! Host modules defined from C (`pyhost_module_*`): a definition collected
//! from the C calls, then built into pyhost's [`HostModule`] (one closure per
//! C function, see `FnInfo::call`) and registered before start-up or
//! installed into the running interpreter.

use std::ffi::{c_char, c_int, c_void};
use std::sync::{Arc, Mutex};

use pyhost::module::{Constant, HostException, HostModule};
use pyhost::{ExcKind, Interpreter};

use crate::ctx::{pyhost_function, FnInfo, Param, PYHOST_KEYWORD_ONLY, PYHOST_OPTIONAL};
use crate::error::{arg_str, guard, guard_python, opt_str, reset_out, with_python, CResult};
use crate::value::{PYHOST_BOOL, PYHOST_OBJECT};

/// One declared parameter (`pyhost_param`); `type_` is `type` in C.
#[allow(non_camel_case_types)] // the C name
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pyhost_param {
    /// The parameter's name.
    pub name: *const c_char,
    /// A `PYHOST_*` type other than `PYHOST_NONE`.
    pub type_: i32,
    /// `PYHOST_OPTIONAL` and/or `PYHOST_KEYWORD_ONLY`.
    pub flags: i32,
}

#[derive(Debug)]
struct FnDef {
    name: String,
    doc: String,
    params: Option<Vec<Param>>,
    f: pyhost_function,
    userdata: usize,
}

#[derive(Debug)]
struct ExcDef {
    name: String,
    base: ExcKind,
    doc: Option<String>,
}

/// A module definition under construction (`pyhost_module` in the header).
#[allow(non_camel_case_types)] // the C name
#[derive(Debug)]
pub struct pyhost_module {
    name: String,
    doc: Option<String>,
    functions: Vec<FnDef>,
    constants: Vec<(String, Constant)>,
    exceptions: Vec<ExcDef>,
}

/// Modules registered before `pyhost_init`, added to its builder.
static PENDING: Mutex<Vec<HostModule>> = Mutex::new(Vec::new());

/// The modules registered so far (for `pyhost_init`).
pub(crate) fn take_pending() -> Vec<HostModule> {
    std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()))
}

impl pyhost_module {
    /// Build the layer's module: exceptions first (functions raise them by name).
    fn build(self) -> HostModule {
        let exceptions: Vec<HostException> = self
            .exceptions
            .iter()
            .map(|e| {
                let ex = HostException::with_base(&format!("{}.{}", self.name, e.name), e.base);
                match &e.doc {
                    Some(d) => ex.doc(d),
                    None => ex,
                }
            })
            .collect();
        let exceptions = Arc::new(exceptions);
        let mut m = HostModule::new(&self.name);
        if let Some(doc) = &self.doc {
            m = m.doc(doc);
        }
        for (name, value) in self.constants {
            m = m.constant(&name, value);
        }
        for e in exceptions.iter() {
            m = m.exception(e);
        }
        for f in self.functions {
            let names = f.params.iter().flatten().map(|p| p.name).collect();
            let max_positional = f.params.iter().flatten().filter(|p| !p.keyword_only).count();
            let has_lists = f
                .params
                .iter()
                .flatten()
                .any(|p| p.type_ == crate::value::PYHOST_STR_LIST);
            let info = Arc::new(FnInfo {
                name: f.name.clone(),
                f: f.f,
                userdata: f.userdata,
                params: f.params,
                names,
                max_positional,
                has_lists,
                exceptions: exceptions.clone(),
            });
            m = m.function(&f.name, &f.doc, move |py, args| info.call(py, args));
        }
        m
    }
}

/// Borrow a definition argument.
///
/// # Safety
/// `m` is NULL or a live definition.
unsafe fn def<'a>(m: *mut pyhost_module) -> CResult<&'a mut pyhost_module> {
    if m.is_null() {
        return Err("m is NULL".to_string());
    }
    // SAFETY: a live definition made by pyhost_module_new (contract).
    Ok(unsafe { &mut *m })
}

/// A non-empty name.
///
/// # Safety
/// `p` is NULL or NUL-terminated.
unsafe fn name_arg(p: *const c_char, what: &str) -> CResult<String> {
    // SAFETY: forwarded contract.
    let s = unsafe { arg_str(p, what) }?;
    if s.is_empty() {
        return Err(format!("{what} is empty"));
    }
    Ok(s.to_string())
}

/// Start a module definition. See `include/pyhost.h`.
///
/// # Safety
/// `name`/`doc` are NULL or NUL-terminated; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_module_new(
    name: *const c_char,
    doc: *const c_char,
    out: *mut *mut pyhost_module,
) -> c_int {
    guard(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { reset_out(out, "out") }?;
        // SAFETY: NULL or NUL-terminated (contract).
        let name = unsafe { name_arg(name, "name") }?;
        // SAFETY: as above.
        let doc = unsafe { opt_str(doc, "doc") }?.map(str::to_string);
        let m = Box::new(pyhost_module {
            name,
            doc,
            functions: Vec::new(),
            constants: Vec::new(),
            exceptions: Vec::new(),
        });
        // SAFETY: checked writable above.
        unsafe { *out = Box::into_raw(m) };
        Ok(())
    })
}

/// The declared parameters, checked.
///
/// # Safety
/// `params` is NULL or `n` valid declarations with NUL-terminated names.
unsafe fn parse_params(params: *const pyhost_param, n: usize) -> CResult<Vec<Param>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if params.is_null() {
        return Err(format!("params is NULL with nparams {n}"));
    }
    // SAFETY: `n` readable declarations (contract).
    let params = unsafe { std::slice::from_raw_parts(params, n) };
    let mut out: Vec<Param> = Vec::with_capacity(n);
    for (i, p) in params.iter().enumerate() {
        // SAFETY: NULL or NUL-terminated (contract).
        let name = unsafe { name_arg(p.name, &format!("params[{i}].name")) }?;
        if !(PYHOST_BOOL..=PYHOST_OBJECT).contains(&p.type_) {
            return Err(format!("params[{i}] ('{name}') has an unknown type {}", p.type_));
        }
        if p.flags & !(PYHOST_OPTIONAL | PYHOST_KEYWORD_ONLY) != 0 {
            return Err(format!("params[{i}] ('{name}') has unknown flags {}", p.flags));
        }
        let keyword_only = p.flags & PYHOST_KEYWORD_ONLY != 0;
        if !keyword_only && out.last().is_some_and(|q| q.keyword_only) {
            return Err(format!(
                "params[{i}] ('{name}') is positional after a keyword-only parameter"
            ));
        }
        if out.iter().any(|q| q.name == name) {
            return Err(format!("params[{i}]: duplicate parameter name '{name}'"));
        }
        out.push(Param {
            // Kept for the life of the process, like the function itself.
            name: Box::leak(name.into_boxed_str()),
            type_: p.type_,
            optional: p.flags & PYHOST_OPTIONAL != 0,
            keyword_only,
        });
    }
    Ok(out)
}

/// # Safety
/// As for [`pyhost_module_add_function`].
unsafe fn add_function(
    m: *mut pyhost_module,
    name: *const c_char,
    doc: *const c_char,
    params: Option<Vec<Param>>,
    f: Option<pyhost_function>,
    userdata: *mut c_void,
) -> CResult<()> {
    // SAFETY: NULL or a live definition (contract).
    let m = unsafe { def(m) }?;
    // SAFETY: NULL or NUL-terminated (contract).
    let name = unsafe { name_arg(name, "name") }?;
    // SAFETY: as above.
    let doc = unsafe { opt_str(doc, "doc") }?.unwrap_or("").to_string();
    let f = f.ok_or_else(|| "fn is NULL".to_string())?;
    m.functions.push(FnDef {
        name,
        doc,
        params,
        f,
        userdata: userdata as usize,
    });
    Ok(())
}

/// Add a function with declared parameters. See `include/pyhost.h`.
///
/// # Safety
/// `m` is NULL or a live definition; strings NULL or NUL-terminated;
/// `params` NULL or `nparams` declarations.
#[no_mangle]
pub unsafe extern "C" fn pyhost_module_add_function(
    m: *mut pyhost_module,
    name: *const c_char,
    doc: *const c_char,
    params: *const pyhost_param,
    nparams: usize,
    f: Option<pyhost_function>,
    userdata: *mut c_void,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let params = unsafe { parse_params(params, nparams) }?;
        // SAFETY: forwarded contract.
        unsafe { add_function(m, name, doc, Some(params), f, userdata) }
    })
}

/// Add a function whose arguments are read with `pyhost_arg`. See
/// `include/pyhost.h`.
///
/// # Safety
/// `m` is NULL or a live definition; strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_module_add_function_unchecked(
    m: *mut pyhost_module,
    name: *const c_char,
    doc: *const c_char,
    f: Option<pyhost_function>,
    userdata: *mut c_void,
) -> c_int {
    // SAFETY: forwarded contract.
    guard(|| unsafe { add_function(m, name, doc, None, f, userdata) })
}

/// # Safety
/// `m` is NULL or a live definition; `name` NULL or NUL-terminated.
unsafe fn add_constant(m: *mut pyhost_module, name: *const c_char, value: impl FnOnce() -> CResult<Constant>) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { def(m) }?;
        // SAFETY: forwarded contract.
        let name = unsafe { name_arg(name, "name") }?;
        m.constants.push((name, value()?));
        Ok(())
    })
}

/// Add an int constant. See `include/pyhost.h`.
///
/// # Safety
/// `m` is NULL or a live definition; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_module_add_int(m: *mut pyhost_module, name: *const c_char, value: i64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { add_constant(m, name, || Ok(Constant::Int(value))) }
}

/// Add a float constant. See `include/pyhost.h`.
///
/// # Safety
/// `m` is NULL or a live definition; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_module_add_float(m: *mut pyhost_module, name: *const c_char, value: f64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { add_constant(m, name, || Ok(Constant::Float(value))) }
}

/// Add a str constant. See `include/pyhost.h`.
///
/// # Safety
/// `m` is NULL or a live definition; `name`/`value` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_module_add_str(
    m: *mut pyhost_module,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract (value: NULL or NUL-terminated).
    unsafe { add_constant(m, name, || Ok(Constant::Str(arg_str(value, "value")?.to_string()))) }
}

/// Add an exception type. See `include/pyhost.h`.
///
/// # Safety
/// `m` is NULL or a live definition; strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_module_add_exception(
    m: *mut pyhost_module,
    name: *const c_char,
    base: *const c_char,
    doc: *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { def(m) }?;
        // SAFETY: forwarded contract.
        let name = unsafe { name_arg(name, "name") }?;
        if name.contains('.') {
            return Err(format!("name must not contain a dot: '{name}'"));
        }
        // SAFETY: forwarded contract.
        let base = match unsafe { opt_str(base, "base") }? {
            None => ExcKind::Exception,
            Some(b) => ExcKind::from_name(b).ok_or_else(|| format!("unknown base exception type '{b}'"))?,
        };
        // SAFETY: forwarded contract.
        let doc = unsafe { opt_str(doc, "doc") }?.map(str::to_string);
        m.exceptions.push(ExcDef { name, base, doc });
        Ok(())
    })
}

/// Take a definition given to register/install (consumed in every case).
///
/// # Safety
/// `m` is NULL or a live definition, not used afterwards.
unsafe fn take(m: *mut pyhost_module) -> CResult<Box<pyhost_module>> {
    if m.is_null() {
        return Err("m is NULL".to_string());
    }
    // SAFETY: made by Box::into_raw in pyhost_module_new, consumed once.
    Ok(unsafe { Box::from_raw(m) })
}

/// Register a module for `pyhost_init`. See `include/pyhost.h`.
///
/// # Safety
/// `m` is NULL or a live definition, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pyhost_module_register(m: *mut pyhost_module) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { take(m) }?;
        if Interpreter::get().is_some() {
            return Err(format!(
                "cannot register module '{}': Python is already running (use pyhost_module_install)",
                m.name
            ));
        }
        let module = m.build();
        PENDING.lock().unwrap_or_else(|e| e.into_inner()).push(module);
        Ok(())
    })
}

/// Install a module into the running interpreter. See `include/pyhost.h`.
///
/// # Safety
/// `m` is NULL or a live definition, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pyhost_module_install(m: *mut pyhost_module) -> c_int {
    guard_python(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { take(m) }?;
        let module = m.build();
        with_python(|py| {
            module.install(py)?;
            Ok(())
        })
    })
}

/// Free a definition that was not registered or installed. See `include/pyhost.h`.
///
/// # Safety
/// `m` is NULL or a live definition, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pyhost_module_free(m: *mut pyhost_module) {
    if !m.is_null() {
        // SAFETY: made by Box::into_raw in pyhost_module_new, freed once.
        drop(unsafe { Box::from_raw(m) });
    }
}
