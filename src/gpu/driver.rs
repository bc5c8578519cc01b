//! The raw CUDA driver API, loaded at run time with `dlopen`/`dlsym`.
//!
//! Nothing here is linked at build time: the crate builds and its tests run on machines with no
//! NVIDIA driver at all. [`Driver::load`] opens `libcuda.so.1` (the name the driver installs; the
//! unversioned `libcuda.so` only exists where a CUDA toolkit added the symlink), looks up each
//! function below by name, and keeps the function pointers in a table. If the library or one of its
//! functions is missing, the caller gets an [`Error::Gpu`] that says which and what to do.
//!
//! The functions used, in the order a program meets them (their C declarations are in `cuda.h`):
//!
//! | function | what it does |
//! |---|---|
//! | `cuInit` | starts the driver in this process |
//! | `cuDriverGetVersion` | the CUDA version the driver supports (12040 = 12.4) |
//! | `cuDeviceGetCount`, `cuDeviceGet` | how many GPUs; a handle to GPU number 0 |
//! | `cuDeviceGetName`, `cuDeviceGetAttribute`, `cuDeviceTotalMem_v2` | what the GPU is |
//! | `cuDevicePrimaryCtxRetain`, `cuCtxSetCurrent` | the device's context (its address space) made current on this thread |
//! | `cuModuleLoadDataEx` | compiles PTX text into machine code for this GPU (the JIT), with an error log |
//! | `cuModuleGetFunction`, `cuFuncGetAttribute` | a handle to one kernel of the module; its registers |
//! | `cuMemAlloc_v2`, `cuMemFree_v2`, `cuMemGetInfo_v2` | device memory |
//! | `cuMemcpyHtoD_v2`, `cuMemcpyDtoH_v2`, `cuMemcpyDtoD_v2`, `cuMemsetD32_v2` | copies and fills |
//! | `cuLaunchKernel` | queues one kernel launch: grid and block sizes and the kernel's arguments |
//! | `cuCtxSynchronize` | waits until all queued work is done (and reports a kernel's crash) |
//! | `cuEventCreate`, `cuEventRecord`, `cuEventSynchronize`, `cuEventElapsedTime`, `cuEventDestroy_v2` | timing on the GPU's own clock |
//! | `cuModuleUnload`, `cuDevicePrimaryCtxRelease_v2` | cleanup |
//! | `cuGetErrorName`, `cuGetErrorString` | `CUDA_ERROR_OUT_OF_MEMORY`, "out of memory" |
//!
//! Several functions carry a `_v2` suffix: the driver keeps the old 32-bit-size versions under the
//! plain names for old binaries, and `cuda.h` maps the plain names to the `_v2` ones with `#define`s.
//! Looking symbols up by hand, we must ask for the `_v2` names ourselves.
//!
//! Every call to the driver is `unsafe`: the compiler cannot check what a C function does with the
//! pointers it gets. Each `unsafe` block says why that call is sound. The safe types built on this
//! table live next door ([`super::Gpu`], [`super::DeviceBuffer`], [`super::Module`]).
//!
//! What it leaves out: streams other than the default one, pinned host memory, several GPUs (device 0
//! is used), CUDA graphs, the runtime API (`cudaMalloc` …, which lives in `libcudart`, a toolkit library).

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};

// ---------------------------------------------------------------------------------------------
// The C types of cuda.h, as Rust sees them.
// ---------------------------------------------------------------------------------------------

/// `CUresult`: 0 is `CUDA_SUCCESS`, anything else an error code.
pub type CuResult = c_int;
/// `CUdevice`: an ordinal, 0 for the first GPU.
pub type CuDevice = c_int;
/// `CUcontext`: an opaque handle.
pub type CuContext = *mut c_void;
/// `CUmodule`: an opaque handle to loaded code.
pub type CuModule = *mut c_void;
/// `CUfunction`: an opaque handle to one kernel.
pub type CuFunction = *mut c_void;
/// `CUevent`: an opaque handle to a timing event.
pub type CuEvent = *mut c_void;
/// `CUstream`: an opaque handle; null is the default stream, the only one used here.
pub type CuStream = *mut c_void;
/// `CUdeviceptr`: a device address, 64 bits wide on every 64-bit platform.
pub type CuDevicePtr = u64;

/// `CUDA_SUCCESS`.
pub const CUDA_SUCCESS: CuResult = 0;
/// `CUDA_ERROR_STUB_LIBRARY`: the toolkit's link-time stub was loaded instead of the real driver.
pub const CUDA_ERROR_STUB_LIBRARY: CuResult = 34;
/// `CUDA_ERROR_INSUFFICIENT_DRIVER`: the driver is older than the library asking.
pub const CUDA_ERROR_INSUFFICIENT_DRIVER: CuResult = 35;
/// `CUDA_ERROR_NO_DEVICE`: a driver but no CUDA-capable GPU.
pub const CUDA_ERROR_NO_DEVICE: CuResult = 100;

/// `CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK`.
pub const ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: c_int = 8;
/// `CU_DEVICE_ATTRIBUTE_CLOCK_RATE` (kHz).
pub const ATTRIBUTE_CLOCK_RATE: c_int = 13;
/// `CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT`.
pub const ATTRIBUTE_MULTIPROCESSOR_COUNT: c_int = 16;
/// `CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE` (kHz).
pub const ATTRIBUTE_MEMORY_CLOCK_RATE: c_int = 36;
/// `CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH` (bits).
pub const ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: c_int = 37;
/// `CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE` (bytes).
pub const ATTRIBUTE_L2_CACHE_SIZE: c_int = 38;
/// `CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR`.
pub const ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: c_int = 75;
/// `CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR`.
pub const ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: c_int = 76;

/// `CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES`: static shared memory of a kernel.
pub const FUNCTION_ATTRIBUTE_SHARED_SIZE_BYTES: c_int = 1;
/// `CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES`: local memory per thread (spills show up here).
pub const FUNCTION_ATTRIBUTE_LOCAL_SIZE_BYTES: c_int = 3;
/// `CU_FUNC_ATTRIBUTE_NUM_REGS`: registers per thread.
pub const FUNCTION_ATTRIBUTE_NUM_REGS: c_int = 4;

/// `CU_JIT_WALL_TIME`: out: milliseconds the JIT compiler took (a float in the value slot).
pub const JIT_WALL_TIME: c_int = 2;
/// `CU_JIT_INFO_LOG_BUFFER`: a `char*` for informational messages.
pub const JIT_INFO_LOG_BUFFER: c_int = 3;
/// `CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES`: in: its size; out: bytes written.
pub const JIT_INFO_LOG_BUFFER_SIZE_BYTES: c_int = 4;
/// `CU_JIT_ERROR_LOG_BUFFER`: a `char*` for error messages.
pub const JIT_ERROR_LOG_BUFFER: c_int = 5;
/// `CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES`: in: its size; out: bytes written.
pub const JIT_ERROR_LOG_BUFFER_SIZE_BYTES: c_int = 6;

/// The CUDA version the PTX kernels of this crate need (`.version 8.0` is PTX of CUDA 12.0).
pub const REQUIRED_DRIVER_VERSION: c_int = 12000;

// ---------------------------------------------------------------------------------------------
// dlopen / dlsym from the C library (glibc ≥ 2.34 has them in libc itself; musl too).
// ---------------------------------------------------------------------------------------------

/// `RTLD_NOW`: resolve every symbol of the library when it is opened, not at first use.
const RTLD_NOW: c_int = 2;

unsafe extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *mut c_char;
}

/// The text of the last `dlopen`/`dlsym` error of this thread (empty if none).
fn last_dl_error() -> String {
    // SAFETY: dlerror takes no arguments and returns either null or a pointer to a NUL-terminated
    // string owned by the C library, valid until the next dl* call on this thread; we copy it at once.
    unsafe {
        let message = dlerror();
        if message.is_null() {
            String::new()
        } else {
            CStr::from_ptr(message).to_string_lossy().into_owned()
        }
    }
}

/// The library names tried by [`Driver::load_default`], in order.
pub const DEFAULT_LIBRARIES: &[&str] = &["libcuda.so.1", "libcuda.so"];

// ---------------------------------------------------------------------------------------------
// The function table.
// ---------------------------------------------------------------------------------------------

/// Pointers to the driver functions this crate calls, looked up once by name.
/// Field names are the C names in snake case; the symbol looked up is given beside each.
pub struct Functions {
    /// `cuInit(unsigned int flags)`
    pub init: unsafe extern "C" fn(c_uint) -> CuResult,
    /// `cuDriverGetVersion(int* version)`
    pub driver_get_version: unsafe extern "C" fn(*mut c_int) -> CuResult,
    /// `cuDeviceGetCount(int* count)`
    pub device_get_count: unsafe extern "C" fn(*mut c_int) -> CuResult,
    /// `cuDeviceGet(CUdevice* device, int ordinal)`
    pub device_get: unsafe extern "C" fn(*mut CuDevice, c_int) -> CuResult,
    /// `cuDeviceGetName(char* name, int len, CUdevice dev)`
    pub device_get_name: unsafe extern "C" fn(*mut c_char, c_int, CuDevice) -> CuResult,
    /// `cuDeviceGetAttribute(int* value, CUdevice_attribute attribute, CUdevice dev)`
    pub device_get_attribute: unsafe extern "C" fn(*mut c_int, c_int, CuDevice) -> CuResult,
    /// `cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev)`
    pub device_total_mem: unsafe extern "C" fn(*mut usize, CuDevice) -> CuResult,
    /// `cuDevicePrimaryCtxRetain(CUcontext* context, CUdevice dev)`
    pub device_primary_ctx_retain: unsafe extern "C" fn(*mut CuContext, CuDevice) -> CuResult,
    /// `cuDevicePrimaryCtxRelease_v2(CUdevice dev)`
    pub device_primary_ctx_release: unsafe extern "C" fn(CuDevice) -> CuResult,
    /// `cuCtxSetCurrent(CUcontext context)`
    pub ctx_set_current: unsafe extern "C" fn(CuContext) -> CuResult,
    /// `cuCtxSynchronize(void)`
    pub ctx_synchronize: unsafe extern "C" fn() -> CuResult,
    /// `cuModuleLoadDataEx(CUmodule* module, const void* image, unsigned int numOptions,
    /// CUjit_option* options, void** optionValues)`
    pub module_load_data_ex: unsafe extern "C" fn(
        *mut CuModule,
        *const c_void,
        c_uint,
        *mut c_int,
        *mut *mut c_void,
    ) -> CuResult,
    /// `cuModuleUnload(CUmodule module)`
    pub module_unload: unsafe extern "C" fn(CuModule) -> CuResult,
    /// `cuModuleGetFunction(CUfunction* function, CUmodule module, const char* name)`
    pub module_get_function:
        unsafe extern "C" fn(*mut CuFunction, CuModule, *const c_char) -> CuResult,
    /// `cuFuncGetAttribute(int* value, CUfunction_attribute attribute, CUfunction function)`
    pub func_get_attribute: unsafe extern "C" fn(*mut c_int, c_int, CuFunction) -> CuResult,
    /// `cuMemAlloc_v2(CUdeviceptr* pointer, size_t bytes)`
    pub mem_alloc: unsafe extern "C" fn(*mut CuDevicePtr, usize) -> CuResult,
    /// `cuMemFree_v2(CUdeviceptr pointer)`
    pub mem_free: unsafe extern "C" fn(CuDevicePtr) -> CuResult,
    /// `cuMemGetInfo_v2(size_t* free, size_t* total)`
    pub mem_get_info: unsafe extern "C" fn(*mut usize, *mut usize) -> CuResult,
    /// `cuMemcpyHtoD_v2(CUdeviceptr destination, const void* source, size_t bytes)`
    pub memcpy_htod: unsafe extern "C" fn(CuDevicePtr, *const c_void, usize) -> CuResult,
    /// `cuMemcpyDtoH_v2(void* destination, CUdeviceptr source, size_t bytes)`
    pub memcpy_dtoh: unsafe extern "C" fn(*mut c_void, CuDevicePtr, usize) -> CuResult,
    /// `cuMemcpyDtoD_v2(CUdeviceptr destination, CUdeviceptr source, size_t bytes)`
    pub memcpy_dtod: unsafe extern "C" fn(CuDevicePtr, CuDevicePtr, usize) -> CuResult,
    /// `cuMemsetD32_v2(CUdeviceptr destination, unsigned int value, size_t count)`
    pub memset_d32: unsafe extern "C" fn(CuDevicePtr, c_uint, usize) -> CuResult,
    /// `cuLaunchKernel(CUfunction f, unsigned gridX, gridY, gridZ, blockX, blockY, blockZ,
    /// unsigned sharedBytes, CUstream stream, void** kernelParams, void** extra)`
    pub launch_kernel: unsafe extern "C" fn(
        CuFunction,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        CuStream,
        *mut *mut c_void,
        *mut *mut c_void,
    ) -> CuResult,
    /// `cuEventCreate(CUevent* event, unsigned int flags)`
    pub event_create: unsafe extern "C" fn(*mut CuEvent, c_uint) -> CuResult,
    /// `cuEventRecord(CUevent event, CUstream stream)`
    pub event_record: unsafe extern "C" fn(CuEvent, CuStream) -> CuResult,
    /// `cuEventSynchronize(CUevent event)`
    pub event_synchronize: unsafe extern "C" fn(CuEvent) -> CuResult,
    /// `cuEventElapsedTime(float* milliseconds, CUevent start, CUevent end)`
    pub event_elapsed_time: unsafe extern "C" fn(*mut f32, CuEvent, CuEvent) -> CuResult,
    /// `cuEventDestroy_v2(CUevent event)`
    pub event_destroy: unsafe extern "C" fn(CuEvent) -> CuResult,
    /// `cuGetErrorName(CUresult error, const char** name)`
    pub get_error_name: unsafe extern "C" fn(CuResult, *mut *const c_char) -> CuResult,
    /// `cuGetErrorString(CUresult error, const char** description)`
    pub get_error_string: unsafe extern "C" fn(CuResult, *mut *const c_char) -> CuResult,
}

/// Looks up `name` in the library `handle` and returns it as a function pointer of type `F`.
///
/// # Safety
/// `F` must be an `unsafe extern "C" fn` type whose signature matches the C declaration of `name`;
/// a mismatch makes every later call undefined behaviour.
unsafe fn symbol<F: Copy>(handle: *mut c_void, library: &str, name: &str) -> Result<F> {
    assert_eq!(
        std::mem::size_of::<F>(),
        std::mem::size_of::<*mut c_void>(),
        "driver::symbol: {name} must be looked up as a function pointer"
    );
    let c_name = CString::new(name).expect("symbol names have no NUL bytes");
    // SAFETY: handle came from a successful dlopen and c_name is NUL-terminated.
    let pointer = unsafe { dlsym(handle, c_name.as_ptr()) };
    if pointer.is_null() {
        return Err(Error::Gpu(format!(
            "the CUDA driver library {library} has no function {name} ({}); the driver is too old \
             for this program, which needs a driver for CUDA 12.0 or newer (NVIDIA driver 525+). \
             Update the NVIDIA driver, or run on the CPU (--device cpu)",
            last_dl_error()
        )));
    }
    // SAFETY: pointer is a non-null function address from dlsym, F is a function pointer of the same
    // size (checked above), and the caller promises F's signature matches the C declaration.
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&pointer) })
}

impl Functions {
    /// Looks up every function of the table in the library `handle`.
    ///
    /// # Safety
    /// `handle` must come from a successful `dlopen` of a CUDA driver library (one that follows
    /// `cuda.h`), so that each symbol found has the C signature its field declares.
    unsafe fn load(handle: *mut c_void, library: &str) -> Result<Functions> {
        // SAFETY (for every line): each field's type is the signature cuda.h declares for the symbol
        // named beside it (checked against the CUDA 12 driver API reference), and handle is a driver
        // library as the caller promises.
        unsafe {
            Ok(Functions {
                init: symbol(handle, library, "cuInit")?,
                driver_get_version: symbol(handle, library, "cuDriverGetVersion")?,
                device_get_count: symbol(handle, library, "cuDeviceGetCount")?,
                device_get: symbol(handle, library, "cuDeviceGet")?,
                device_get_name: symbol(handle, library, "cuDeviceGetName")?,
                device_get_attribute: symbol(handle, library, "cuDeviceGetAttribute")?,
                device_total_mem: symbol(handle, library, "cuDeviceTotalMem_v2")?,
                device_primary_ctx_retain: symbol(handle, library, "cuDevicePrimaryCtxRetain")?,
                device_primary_ctx_release: symbol(
                    handle,
                    library,
                    "cuDevicePrimaryCtxRelease_v2",
                )?,
                ctx_set_current: symbol(handle, library, "cuCtxSetCurrent")?,
                ctx_synchronize: symbol(handle, library, "cuCtxSynchronize")?,
                module_load_data_ex: symbol(handle, library, "cuModuleLoadDataEx")?,
                module_unload: symbol(handle, library, "cuModuleUnload")?,
                module_get_function: symbol(handle, library, "cuModuleGetFunction")?,
                func_get_attribute: symbol(handle, library, "cuFuncGetAttribute")?,
                mem_alloc: symbol(handle, library, "cuMemAlloc_v2")?,
                mem_free: symbol(handle, library, "cuMemFree_v2")?,
                mem_get_info: symbol(handle, library, "cuMemGetInfo_v2")?,
                memcpy_htod: symbol(handle, library, "cuMemcpyHtoD_v2")?,
                memcpy_dtoh: symbol(handle, library, "cuMemcpyDtoH_v2")?,
                memcpy_dtod: symbol(handle, library, "cuMemcpyDtoD_v2")?,
                memset_d32: symbol(handle, library, "cuMemsetD32_v2")?,
                launch_kernel: symbol(handle, library, "cuLaunchKernel")?,
                event_create: symbol(handle, library, "cuEventCreate")?,
                event_record: symbol(handle, library, "cuEventRecord")?,
                event_synchronize: symbol(handle, library, "cuEventSynchronize")?,
                event_elapsed_time: symbol(handle, library, "cuEventElapsedTime")?,
                event_destroy: symbol(handle, library, "cuEventDestroy_v2")?,
                get_error_name: symbol(handle, library, "cuGetErrorName")?,
                get_error_string: symbol(handle, library, "cuGetErrorString")?,
            })
        }
    }
}

/// The number of functions in [`Functions`] (for the call log of chapter 15).
pub const FUNCTION_COUNT: usize = 30;

// ---------------------------------------------------------------------------------------------
// The loaded driver: the table, the library's name, and a log of the calls made.
// ---------------------------------------------------------------------------------------------

/// The most distinct entries the call log keeps (repeats of the last entry are only counted).
const CALL_LOG_CAPACITY: usize = 400;

/// The driver calls made so far, in order; consecutive repeats of one call are folded into a count.
#[derive(Clone, Debug, Default)]
pub struct CallLog {
    /// `(call, how many times in a row)`.
    pub entries: Vec<(String, u64)>,
    /// Calls not recorded because the log was full.
    pub dropped: u64,
}

impl CallLog {
    fn record(&mut self, call: &str) {
        if let Some((last, count)) = self.entries.last_mut()
            && last == call
        {
            *count += 1;
            return;
        }
        if self.entries.len() < CALL_LOG_CAPACITY {
            self.entries.push((call.to_string(), 1));
        } else {
            self.dropped += 1;
        }
    }
}

/// A loaded CUDA driver library: its function table plus the log of calls made through it.
pub struct Driver {
    /// The function pointers.
    pub functions: Functions,
    /// The library that was opened (e.g. `libcuda.so.1`).
    pub library: String,
    log: RefCell<CallLog>,
}

impl Driver {
    /// Opens the first of [`DEFAULT_LIBRARIES`] that loads.
    pub fn load_default() -> Result<Driver> {
        let mut reasons = Vec::new();
        for name in DEFAULT_LIBRARIES {
            match open_library(name) {
                Ok(handle) => return Driver::from_handle(handle, name),
                // dlerror usually starts with the file name already: do not repeat it.
                Err(reason) if reason.starts_with(name) => reasons.push(reason),
                Err(reason) => reasons.push(format!("{name}: {reason}")),
            }
        }
        Err(no_driver_error(
            &DEFAULT_LIBRARIES.join(" or "),
            &reasons.join("; "),
        ))
    }

    /// Opens the driver library `name` (a file name searched like any shared library, or a path)
    /// and looks up every function of [`Functions`]. Tests use a bogus name to see the error.
    pub fn load(name: &str) -> Result<Driver> {
        let handle = open_library(name).map_err(|reason| no_driver_error(name, &reason))?;
        Driver::from_handle(handle, name)
    }

    /// Looks up the function table in an opened library.
    fn from_handle(handle: *mut c_void, name: &str) -> Result<Driver> {
        // SAFETY: handle is a library just opened under a CUDA driver name; we trust a library that
        // calls itself libcuda to follow cuda.h (as every CUDA program does).
        let functions = unsafe { Functions::load(handle, name)? };
        // The handle is never closed: the function pointers must stay valid for the whole program,
        // and the driver does not support being unloaded and loaded again.
        let driver = Driver {
            functions,
            library: name.to_string(),
            log: RefCell::new(CallLog::default()),
        };
        driver.record(&format!("dlopen(\"{name}\")"));
        driver.record(&format!(
            "dlsym × {FUNCTION_COUNT} (cuInit, cuMemAlloc_v2, …)"
        ));
        Ok(driver)
    }

    /// Adds one entry to the call log.
    pub fn record(&self, call: &str) {
        self.log.borrow_mut().record(call);
    }

    /// A copy of the call log.
    pub fn call_log(&self) -> CallLog {
        self.log.borrow().clone()
    }

    /// Turns a `CUresult` into `Ok(())` or an [`Error::Gpu`] naming the call, the error code's name
    /// and the driver's description of it, and records the call in the log.
    pub fn check(&self, call: &str, result: CuResult) -> Result<()> {
        self.record(call);
        if result == CUDA_SUCCESS {
            Ok(())
        } else {
            Err(Error::Gpu(format!(
                "{call} failed: {}",
                self.describe_error(result)
            )))
        }
    }

    /// `CUDA_ERROR_OUT_OF_MEMORY (2): out of memory`, from the driver's own tables.
    pub fn describe_error(&self, result: CuResult) -> String {
        let mut name: *const c_char = std::ptr::null();
        let mut text: *const c_char = std::ptr::null();
        // SAFETY: both functions take any CUresult and write a pointer to a static NUL-terminated
        // string (or leave it untouched and return an error for an unknown code); the pointers we
        // pass are valid for one write each.
        let (name_ok, text_ok) = unsafe {
            (
                (self.functions.get_error_name)(result, &mut name) == CUDA_SUCCESS,
                (self.functions.get_error_string)(result, &mut text) == CUDA_SUCCESS,
            )
        };
        // SAFETY: on success the pointers point to static strings owned by the driver.
        let read = |ok: bool, p: *const c_char| unsafe {
            if ok && !p.is_null() {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            } else {
                "unknown error".to_string()
            }
        };
        format!(
            "{} ({result}): {}",
            read(name_ok, name),
            read(text_ok, text)
        )
    }
}

/// Opens a shared library with `dlopen`; on failure, returns what `dlerror` said.
fn open_library(name: &str) -> std::result::Result<*mut c_void, String> {
    let c_name = CString::new(name).map_err(|_| "the name contains a NUL byte".to_string())?;
    // SAFETY: c_name is a NUL-terminated string that outlives the call. Loading a shared library runs
    // its initialisers; the NVIDIA driver's are made to be loaded this way (it is how every CUDA
    // program finds it).
    let handle = unsafe { dlopen(c_name.as_ptr(), RTLD_NOW) };
    if handle.is_null() {
        Err(last_dl_error())
    } else {
        Ok(handle)
    }
}

/// The error for "no driver library could be opened".
fn no_driver_error(names: &str, reasons: &str) -> Error {
    Error::Gpu(format!(
        "no CUDA driver: could not load {names} ({reasons}). The GPU path needs an NVIDIA GPU with \
         its driver installed (the driver alone: no CUDA toolkit is needed). Run on the CPU instead \
         (--device cpu)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_is_a_gpu_error_that_names_it() {
        let error = Driver::load("libdlfs-no-such-driver.so.7")
            .err()
            .expect("a bogus library name cannot load");
        let text = error.to_string();
        assert!(
            text.contains("no CUDA driver") && text.contains("libdlfs-no-such-driver.so.7"),
            "{text}"
        );
        assert!(text.contains("--device cpu"), "{text}");
    }

    #[test]
    fn a_library_without_cuda_functions_is_reported_as_too_old() {
        // libc opens fine but has no cuInit: the message must say which function is missing.
        let Err(error) = Driver::load("libc.so.6") else {
            panic!("libc is not a CUDA driver");
        };
        let text = error.to_string();
        assert!(
            text.contains("cuInit") && text.contains("too old"),
            "{text}"
        );
    }

    #[test]
    fn the_call_log_folds_repeats() {
        let mut log = CallLog::default();
        log.record("cuLaunchKernel");
        log.record("cuLaunchKernel");
        log.record("cuCtxSynchronize");
        assert_eq!(
            log.entries,
            vec![
                ("cuLaunchKernel".to_string(), 2),
                ("cuCtxSynchronize".to_string(), 1)
            ]
        );
    }
}
