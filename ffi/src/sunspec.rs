//! SunSpec from C (SunSpec Information Model Specification; the official JSON models as data): a catalog of
//! model definitions, model instances read from register blocks and written back as point values, and the
//! discovery of a device's models driven by the caller's Modbus reads.

use crate::IdeaResult;
use crate::buffer::{text_in, value_out, write_text};
use crate::error::FfiError;
use crate::guard::guard;
use crate::handle::{borrow, borrow_mut, free_handle, new_handle, opaque};
use modbus_profiles::frame::ExceptionCode;
use modbus_profiles::sunspec::{
    Catalog, Device, Model, ReadFailure, RegisterWrite, Scanner, Value,
};
use std::collections::VecDeque;
use std::ffi::c_char;

/// The most registers one write of `idea_sunspec_model_take_write` holds (a Write Multiple Registers).
pub const IDEA_SUNSPEC_MAX_WRITE: usize = 123;

/// Model definitions by id. Made by `idea_sunspec_catalog_builtin`, freed with `idea_sunspec_catalog_free`.
/// Read-only once loaded: safe to read from several threads at once.
pub struct IdeaSunspecCatalog {
    _private: [u8; 0],
}
opaque!(IdeaSunspecCatalog, Catalog, 0x4944_4541_5353_4341);

/// One model instance: its registers (from `ID` on) laid out by its definition. Not safe to use from two
/// threads at once; may move between threads.
pub struct IdeaSunspecModel {
    _private: [u8; 0],
}

/// A model and the register writes its `set` calls still owe the device.
pub(crate) struct ModelState {
    model: Model,
    pending: VecDeque<RegisterWrite>,
}
opaque!(IdeaSunspecModel, ModelState, 0x4944_4541_5353_4d4f);

/// Discovery of a device's models (the `SunS` marker at 40000, 0 or 50000, then model headers and bodies):
/// the caller performs the reads it asks for. Not safe to use from two threads at once.
pub struct IdeaSunspecScanner {
    _private: [u8; 0],
}
opaque!(IdeaSunspecScanner, Option<Scanner>, 0x4944_4541_5353_5343);

/// A device's models as discovered. Read-only: safe to read from several threads at once.
pub struct IdeaSunspecDevice {
    _private: [u8; 0],
}
opaque!(IdeaSunspecDevice, Device, 0x4944_4541_5353_4456);

/// What a model instance is.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaSunspecModelInfo {
    /// The model id (1 common, 203 three-phase meter, 64901 IDEA energy hub, …).
    pub id: u16,
    /// Its length `L` in registers (after `ID` and `L`).
    pub length: u16,
    /// The register address of its `ID`.
    pub address: u16,
    /// Whether the catalog knows the model (else only its registers are kept).
    pub known: bool,
    /// Whether its registers do not fit its definition (`idea_sunspec_model_problem` says how).
    pub has_problem: bool,
}

/// The models shipped with the library: SunSpec 1, 101, 103, 124, 201–204, 701–715, 802 and the IDEA vendor
/// models 64900–64904, read from the official JSON definitions.
///
/// Ownership: `*out` is a new handle; free it with `idea_sunspec_catalog_free`. Thread safety: any thread.
///
/// # Safety
/// `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_catalog_builtin(
    out: *mut *mut IdeaSunspecCatalog,
) -> IdeaResult {
    guard(|| {
        let catalog = Catalog::builtin()?;
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, catalog) }
    })
}

/// Adds every `model_*.json` file of directory `dir` (the SunSpec models repository's `json/` layout); a
/// malformed file is `IDEA_RESULT_SUNSPEC_MODEL` naming it. `*out_loaded` receives how many were added.
///
/// Thread safety: not while other threads read the catalog.
///
/// # Safety
/// `catalog` is a live handle; `dir` is NUL-terminated; `out_loaded` is null or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_catalog_load_dir(
    catalog: *mut IdeaSunspecCatalog,
    dir: *const c_char,
    out_loaded: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let catalog = unsafe { borrow_mut(catalog) }?;
        // SAFETY: the caller's guarantee.
        let dir = unsafe { text_in(dir, "dir") }?;
        let loaded = catalog.load_dir(std::path::Path::new(dir))?;
        // SAFETY: null or valid by the caller's guarantee.
        if let Some(out) = unsafe { out_loaded.as_mut() } {
            *out = loaded;
        }
        Ok(())
    })
}

/// Frees the catalog in `*catalog` and sets it to null; null does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `catalog` is null or valid for reading and writing a pointer that is null or a live catalog handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_catalog_free(
    catalog: *mut *mut IdeaSunspecCatalog,
) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(catalog) })
}

fn model_handle(model: Model) -> ModelState {
    ModelState {
        model,
        pending: VecDeque::new(),
    }
}

/// A new instance of model `id` at register `address` with every point not implemented, except `ID`, `L` and
/// the repeating-group counts given as `n` pairs (`count_names[i]`, `counts[i]`), such as `("NCrv", 2)`; the
/// length follows from the counts. For a device's own map: fill it with `idea_sunspec_model_put_number`.
///
/// Ownership: `*out` is a new handle; free it with `idea_sunspec_model_free`. Thread safety: any thread.
///
/// # Safety
/// `catalog` is a live handle; `count_names` and `counts` are valid for `n` entries (or null with `n` 0), each
/// name NUL-terminated; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_new(
    catalog: *const IdeaSunspecCatalog,
    id: u16,
    address: u16,
    count_names: *const *const c_char,
    counts: *const u16,
    n: usize,
    out: *mut *mut IdeaSunspecModel,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let catalog = unsafe { borrow(catalog) }?;
        let def = catalog.get(id).ok_or_else(|| {
            FfiError::new(
                IdeaResult::SunspecModel,
                format!("the catalog has no model {id}"),
            )
        })?;
        let mut pairs = Vec::with_capacity(n);
        if n > 0 {
            if count_names.is_null() {
                return Err(FfiError::null("count_names"));
            }
            if counts.is_null() {
                return Err(FfiError::null("counts"));
            }
            // SAFETY: both valid for `n` entries by the caller's guarantee.
            let (names, values) = unsafe {
                (
                    std::slice::from_raw_parts(count_names, n),
                    std::slice::from_raw_parts(counts, n),
                )
            };
            for (name, value) in names.iter().zip(values) {
                // SAFETY: each name NUL-terminated by the caller's guarantee.
                pairs.push((unsafe { text_in(*name, "count name") }?, *value));
            }
        }
        let model = Model::new(def.clone(), address, &pairs)?;
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, model_handle(model)) }
    })
}

/// The model instance in `len` registers read from `address`, starting at its `ID` and `L` (so `len` is
/// `L + 2`); a model the catalog does not know keeps its registers only. Registers that do not fit the
/// definition leave the model with a problem (`has_problem`), never a crash.
///
/// Ownership: `*out` is a new handle. Thread safety: any thread.
///
/// # Safety
/// `catalog` is a live handle; `registers` is valid for `len` registers; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_from_registers(
    catalog: *const IdeaSunspecCatalog,
    address: u16,
    registers: *const u16,
    len: usize,
    out: *mut *mut IdeaSunspecModel,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let catalog = unsafe { borrow(catalog) }?;
        if registers.is_null() {
            return Err(FfiError::null("registers"));
        }
        // SAFETY: valid for `len` registers by the caller's guarantee.
        let regs = unsafe { std::slice::from_raw_parts(registers, len) }.to_vec();
        let Some(&id) = regs.first() else {
            return Err(FfiError::invalid(
                "a model starts with its ID and L registers",
            ));
        };
        let model = Model::from_registers(catalog.get(id).cloned(), address, regs);
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, model_handle(model)) }
    })
}

/// What the model is.
///
/// Thread safety: any thread, while no other call changes the model.
///
/// # Safety
/// `model` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_info(
    model: *const IdeaSunspecModel,
    out: *mut IdeaSunspecModelInfo,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = &unsafe { borrow(model) }?.model;
        let info = IdeaSunspecModelInfo {
            id: m.id(),
            length: m.len(),
            address: m.address(),
            known: m.def().is_some(),
            has_problem: m.problem().is_some(),
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, info, "out") }
    })
}

/// Why the model's registers do not fit its definition (text); `IDEA_RESULT_NOT_FOUND` when they do.
///
/// Thread safety: any thread, while no other call changes the model.
///
/// # Safety
/// `model` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_problem(
    model: *const IdeaSunspecModel,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = &unsafe { borrow(model) }?.model;
        let problem = m
            .problem()
            .ok_or_else(|| FfiError::new(IdeaResult::NotFound, "the model has no problem"))?;
        // SAFETY: the caller's guarantee.
        unsafe { write_text(problem, buf, cap, out_len) }
    })
}

/// A point's engineering value, its scale factor applied (`W` with `W_SF` −1 and raw 2345 is 234.5), by its
/// path (`"W"`, `"Crv[0].Pt[3].V"`, repeating groups counted from 0). `*out_present` is false — and `*out_value` 0 — when
/// the device does not implement the point (or its scale factor). A point that is not a number is
/// `IDEA_RESULT_MODBUS_INVALID`; an unknown path too, naming it.
///
/// Thread safety: any thread, while no other call changes the model.
///
/// # Safety
/// `model` is a live handle; `path` is NUL-terminated; the outputs are valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_get_number(
    model: *const IdeaSunspecModel,
    path: *const c_char,
    out_value: *mut f64,
    out_present: *mut bool,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = &unsafe { borrow(model) }?.model;
        // SAFETY: the caller's guarantee.
        let path = unsafe { text_in(path, "path") }?;
        let value = match m.get(path)? {
            Value::Absent => None,
            Value::Int(_) | Value::Uint(_) | Value::Float(_) => m.get_scaled(path)?,
            other => {
                return Err(FfiError::new(
                    IdeaResult::ModbusInvalid,
                    format!("{path} is not a number ({other:?})"),
                ));
            }
        };
        // SAFETY: the caller's guarantee.
        unsafe {
            value_out(out_present, value.is_some(), "out_present")?;
            value_out(out_value, value.unwrap_or(0.0), "out_value")
        }
    })
}

/// A point's value as text: a string point's characters, an address in its usual notation, a number in
/// decimal (unscaled). `IDEA_RESULT_NOT_FOUND` when the device does not implement it.
///
/// Thread safety: any thread, while no other call changes the model.
///
/// # Safety
/// `model` is a live handle; `path` is NUL-terminated; `buf` is null or valid for `cap` bytes; `out_len` is
/// valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_get_text(
    model: *const IdeaSunspecModel,
    path: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = &unsafe { borrow(model) }?.model;
        // SAFETY: the caller's guarantee.
        let path = unsafe { text_in(path, "path") }?;
        let text = match m.get(path)? {
            Value::Absent => {
                return Err(FfiError::new(
                    IdeaResult::NotFound,
                    format!("{path} is not implemented by the device"),
                ));
            }
            Value::Text(t) => t,
            Value::Bytes(_) => {
                return Err(FfiError::new(
                    IdeaResult::InvalidUtf8,
                    format!("{path} holds bytes that are not UTF-8"),
                ));
            }
            Value::Eui48(mac) => mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
            other => other.to_json().to_string(),
        };
        // SAFETY: the caller's guarantee.
        unsafe { write_text(&text, buf, cap, out_len) }
    })
}

/// Sets a writable point from an engineering value (`raw = round(value / 10^sf)`) and records the registers
/// to write to the device (`idea_sunspec_model_take_write`). A read-only point, a value its type cannot hold
/// or an unimplemented scale factor is `IDEA_RESULT_MODBUS_INVALID`.
///
/// Thread safety: not with other calls on the same model.
///
/// # Safety
/// `model` is a live handle; `path` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_set_number(
    model: *mut IdeaSunspecModel,
    path: *const c_char,
    value: f64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = &mut unsafe { borrow_mut(model) }?.model;
        // SAFETY: the caller's guarantee.
        let path = unsafe { text_in(path, "path") }?;
        m.set_scaled(path, value)?;
        Ok(())
    })
}

/// Sets any point, writable or not, from an engineering value without recording a write: how a device fills its
/// own map. A scale factor point (`W_SF`) is put with its raw value.
///
/// Thread safety: not with other calls on the same model.
///
/// # Safety
/// `model` is a live handle; `path` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_put_number(
    model: *mut IdeaSunspecModel,
    path: *const c_char,
    value: f64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = &mut unsafe { borrow_mut(model) }?.model;
        // SAFETY: the caller's guarantee.
        let path = unsafe { text_in(path, "path") }?;
        m.put_scaled(path, value)?;
        Ok(())
    })
}

/// Sets a string point (`"Mn"`, `"SN"`) without recording a write (a device filling its map), or, with
/// `record_write`, as a writable point whose registers are to be written.
///
/// Thread safety: not with other calls on the same model.
///
/// # Safety
/// `model` is a live handle; `path` and `text` are NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_put_text(
    model: *mut IdeaSunspecModel,
    path: *const c_char,
    text: *const c_char,
    record_write: bool,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = &mut unsafe { borrow_mut(model) }?.model;
        // SAFETY: the caller's guarantee.
        let path = unsafe { text_in(path, "path") }?;
        // SAFETY: the caller's guarantee.
        let value = Value::Text(unsafe { text_in(text, "text") }?.to_owned());
        if record_write {
            m.set(path, &value)?;
        } else {
            m.put(path, &value)?;
        }
        Ok(())
    })
}

/// The model's registers from its `ID` on (`L + 2` of them), copied into `registers` (room for `cap`);
/// `*out_len` always receives the count.
///
/// Thread safety: any thread, while no other call changes the model.
///
/// # Safety
/// `model` is a live handle; `registers` is null or valid for `cap` registers; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_registers(
    model: *const IdeaSunspecModel,
    registers: *mut u16,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let regs = unsafe { borrow(model) }?.model.registers();
        // SAFETY: the caller's guarantee.
        unsafe { registers_out(regs, registers, cap, out_len) }
    })
}

/// Copies registers into the caller's array with the length protocol of every output.
///
/// # Safety
/// `out` is null or valid for `cap` registers; `out_len` is valid for writing.
unsafe fn registers_out(
    regs: &[u16],
    out: *mut u16,
    cap: usize,
    out_len: *mut usize,
) -> Result<(), FfiError> {
    // SAFETY: the caller's guarantee.
    unsafe { value_out(out_len, regs.len(), "out_len") }?;
    if out.is_null() || cap < regs.len() {
        return Err(FfiError::new(
            IdeaResult::BufferTooSmall,
            format!("{} registers are needed, the array holds {cap}", regs.len()),
        ));
    }
    // SAFETY: valid for `cap >= regs.len()` registers by the caller's guarantee.
    unsafe { std::ptr::copy_nonoverlapping(regs.as_ptr(), out, regs.len()) };
    Ok(())
}

/// Overwrites the model's registers from `address` with `len` fresh values read off the device, keeping its
/// layout; registers outside the model are ignored.
///
/// Thread safety: not with other calls on the same model.
///
/// # Safety
/// `model` is a live handle; `registers` is valid for `len` registers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_load(
    model: *mut IdeaSunspecModel,
    address: u16,
    registers: *const u16,
    len: usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = &mut unsafe { borrow_mut(model) }?.model;
        if registers.is_null() {
            return Err(FfiError::null("registers"));
        }
        // SAFETY: valid for `len` registers by the caller's guarantee.
        m.load(address, unsafe {
            std::slice::from_raw_parts(registers, len)
        });
        Ok(())
    })
}

/// The next block of registers the `set` calls owe the device — send it as a Write Multiple Registers: its
/// first register in `*out_address`, its values in `registers` (`IDEA_SUNSPEC_MAX_WRITE` always suffice; a
/// block that does not fit is kept). `*out_count` is 0 when nothing is owed.
///
/// Thread safety: not with other calls on the same model.
///
/// # Safety
/// `model` is a live handle; `registers` is null or valid for `cap` registers; the outputs are valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_take_write(
    model: *mut IdeaSunspecModel,
    out_address: *mut u16,
    registers: *mut u16,
    cap: usize,
    out_count: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let state = unsafe { borrow_mut(model) }?;
        if state.pending.is_empty() {
            state.pending.extend(state.model.take_writes());
        }
        let Some(write) = state.pending.front() else {
            // SAFETY: the caller's guarantee.
            return unsafe { value_out(out_count, 0, "out_count") };
        };
        // SAFETY: the caller's guarantee.
        unsafe {
            value_out(out_address, write.address, "out_address")?;
            registers_out(&write.registers, registers, cap, out_count)?;
        }
        state.pending.pop_front();
        Ok(())
    })
}

/// Frees the model in `*model` and sets it to null; null does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `model` is null or valid for reading and writing a pointer that is null or a live model handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_model_free(model: *mut *mut IdeaSunspecModel) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(model) })
}

/// A scanner that discovers a device's models with the catalog's definitions (copied: the catalog may be freed).
///
/// Ownership: `*out` is a new handle; free it with `idea_sunspec_scanner_free`. Thread safety: any thread.
///
/// # Safety
/// `catalog` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_scanner_new(
    catalog: *const IdeaSunspecCatalog,
    out: *mut *mut IdeaSunspecScanner,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let catalog = unsafe { borrow(catalog) }?.clone();
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, Some(Scanner::new(catalog))) }
    })
}

fn scanner_of(scanner: &mut Option<Scanner>) -> Result<&mut Scanner, FfiError> {
    scanner.as_mut().ok_or_else(|| {
        FfiError::new(
            IdeaResult::WrongState,
            "the scan is finished; free the scanner",
        )
    })
}

/// The read the scan needs next: `count` holding registers (1–125) from `address` (function 3). `*out_has` is
/// false when the scan is done: call `idea_sunspec_scanner_finish`.
///
/// Thread safety: not with other calls on the same scanner.
///
/// # Safety
/// `scanner` is a live handle; the outputs are valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_scanner_poll_read(
    scanner: *mut IdeaSunspecScanner,
    out_has: *mut bool,
    out_address: *mut u16,
    out_count: *mut u16,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let s = scanner_of(unsafe { borrow_mut(scanner) }?)?;
        let read = s.poll_read();
        // SAFETY: the caller's guarantee.
        unsafe {
            value_out(out_has, read.is_some(), "out_has")?;
            value_out(out_address, read.map_or(0, |r| r.address), "out_address")?;
            value_out(out_count, read.map_or(0, |r| r.count), "out_count")
        }
    })
}

/// The registers the last asked read returned (exactly the count asked; another count ends the scan with
/// `IDEA_RESULT_MODBUS_INVALID`).
///
/// Thread safety: not with other calls on the same scanner.
///
/// # Safety
/// `scanner` is a live handle; `registers` is valid for `len` registers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_scanner_handle_registers(
    scanner: *mut IdeaSunspecScanner,
    registers: *const u16,
    len: usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let s = scanner_of(unsafe { borrow_mut(scanner) }?)?;
        if registers.is_null() {
            return Err(FfiError::null("registers"));
        }
        // SAFETY: valid for `len` registers by the caller's guarantee.
        s.handle_registers(unsafe { std::slice::from_raw_parts(registers, len) })?;
        Ok(())
    })
}

/// The last asked read failed: the device answered Modbus exception `exception` (1–255), or, with 0, did not
/// answer. While probing for `SunS` the scan tries the next base address.
///
/// Thread safety: not with other calls on the same scanner.
///
/// # Safety
/// `scanner` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_scanner_handle_failure(
    scanner: *mut IdeaSunspecScanner,
    exception: u8,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let s = scanner_of(unsafe { borrow_mut(scanner) }?)?;
        let failure = if exception == 0 {
            ReadFailure::NoAnswer("no answer (reported from C)".to_owned())
        } else {
            ReadFailure::Exception(ExceptionCode::from_code(exception))
        };
        s.handle_failure(&failure);
        Ok(())
    })
}

/// Ends the scan: the device's models into `*out` (a new handle). No `SunS` marker found is
/// `IDEA_RESULT_MODBUS_INVALID`, naming the addresses tried. The scanner is spent either way.
///
/// Ownership: `*out` is a new handle; free it with `idea_sunspec_device_free`. Thread safety: not with other
/// calls on the same scanner.
///
/// # Safety
/// `scanner` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_scanner_finish(
    scanner: *mut IdeaSunspecScanner,
    out: *mut *mut IdeaSunspecDevice,
) -> IdeaResult {
    guard(|| {
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        // SAFETY: the caller's guarantee.
        let slot = unsafe { borrow_mut(scanner) }?;
        scanner_of(slot)?;
        let device = slot.take().map(Scanner::finish).transpose()?;
        let device = device.ok_or_else(|| FfiError::new(IdeaResult::WrongState, "no scan"))?;
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, device) }
    })
}

/// Frees the scanner in `*scanner` and sets it to null; null does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `scanner` is null or valid for reading and writing a pointer that is null or a live scanner handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_scanner_free(
    scanner: *mut *mut IdeaSunspecScanner,
) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(scanner) })
}

/// The device's base register (where `SunS` is) and how many models it has.
///
/// Thread safety: any thread.
///
/// # Safety
/// `device` is a live handle; the outputs are null or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_device_info(
    device: *const IdeaSunspecDevice,
    out_base: *mut u16,
    out_model_count: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let d = unsafe { borrow(device) }?;
        // SAFETY: null or valid by the caller's guarantee.
        unsafe {
            if let Some(o) = out_base.as_mut() {
                *o = d.base();
            }
            if let Some(o) = out_model_count.as_mut() {
                *o = d.models().len();
            }
        }
        Ok(())
    })
}

/// A copy of the device's model number `index` (0 to count − 1, in map order) as a new model handle.
///
/// Ownership: `*out` is a new handle; free it with `idea_sunspec_model_free`. Thread safety: any thread.
///
/// # Safety
/// `device` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_device_model_at(
    device: *const IdeaSunspecDevice,
    index: usize,
    out: *mut *mut IdeaSunspecModel,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let d = unsafe { borrow(device) }?;
        let model = d.models().get(index).cloned().ok_or_else(|| {
            FfiError::invalid(format!(
                "model {index} of {}: index out of range",
                d.models().len()
            ))
        })?;
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, model_handle(model)) }
    })
}

/// A copy of the device's first model with id `id` as a new model handle; `IDEA_RESULT_NOT_FOUND` when it has
/// none.
///
/// Ownership: `*out` is a new handle; free it with `idea_sunspec_model_free`. Thread safety: any thread.
///
/// # Safety
/// `device` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_device_find(
    device: *const IdeaSunspecDevice,
    id: u16,
    out: *mut *mut IdeaSunspecModel,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let d = unsafe { borrow(device) }?;
        let model = d.model(id).cloned().ok_or_else(|| {
            FfiError::new(
                IdeaResult::NotFound,
                format!("the device has no model {id}"),
            )
        })?;
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, model_handle(model)) }
    })
}

/// Frees the device in `*device` and sets it to null; null does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `device` is null or valid for reading and writing a pointer that is null or a live device handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sunspec_device_free(
    device: *mut *mut IdeaSunspecDevice,
) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(device) })
}
