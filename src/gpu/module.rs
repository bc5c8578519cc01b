//! Loading PTX ([`Module`]) and launching kernels ([`Kernel`]).
//!
//! `cuModuleLoadDataEx` hands PTX text to the driver's JIT compiler, which turns it into machine code
//! (SASS) for the GPU at hand; if the PTX has an error, the compiler's log says which line, and that
//! log becomes part of the [`Error::Gpu`]. `cuModuleGetFunction` then finds a kernel by name.
//!
//! `cuLaunchKernel` queues a kernel on a **grid** of **blocks** of threads: every thread runs the
//! same code and finds its work from its coordinates (`blockIdx`, `threadIdx`). A block runs on one
//! multiprocessor and its threads can share memory and synchronise; the blocks of a grid are
//! independent. The hardware limits a block to 1024 threads (64 along z) and a grid to
//! 2³¹ − 1 × 65535 × 65535 blocks; [`check_launch`] refuses anything outside those limits with an
//! error rather than letting the driver fail obscurely. Kernel arguments are passed as an array of
//! pointers, one to each argument's value ([`KernelArg`]).
//!
//! A launch only *queues* the work and returns in microseconds; errors inside the kernel appear at
//! the next synchronising call ([`super::Gpu::synchronize`], a copy back to the host).

use super::device::{Gpu, Inner};
use super::driver::{self, CuFunction, CuModule};
use crate::error::{Error, Result};
use std::ffi::{CString, c_char, c_int, c_uint, c_void};

/// One argument of a kernel, as the kernel's `.param` declares it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KernelArg {
    /// A `.u64` device address (a buffer's [`super::DeviceBuffer::device_pointer`]).
    Pointer(u64),
    /// A `.u32` value.
    U32(u32),
    /// A `.f32` value.
    F32(f32),
}

/// JIT log size (bytes) for each of the error and information logs.
const LOG_BYTES: usize = 16 * 1024;

/// Compiles PTX text into a module. Returns the handle, the JIT wall time (ms) and the info log.
pub(crate) fn load_ptx(inner: &Inner, ptx: &str, what: &str) -> Result<(CuModule, f32, String)> {
    inner.make_current()?;
    let image = CString::new(ptx)
        .map_err(|_| Error::Gpu(format!("the PTX of {what} contains a NUL byte")))?;
    let mut error_log = vec![0u8; LOG_BYTES];
    let mut info_log = vec![0u8; LOG_BYTES];
    let mut options: [c_int; 5] = [
        driver::JIT_ERROR_LOG_BUFFER,
        driver::JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
        driver::JIT_INFO_LOG_BUFFER,
        driver::JIT_INFO_LOG_BUFFER_SIZE_BYTES,
        driver::JIT_WALL_TIME,
    ];
    // Option values travel in pointer-sized slots: buffers as pointers, sizes as integers cast to
    // pointers (the driver writes back how many bytes it used), the wall time as a float the driver
    // writes into the slot's first 4 bytes.
    let mut values: [*mut c_void; 5] = [
        error_log.as_mut_ptr() as *mut c_void,
        LOG_BYTES as *mut c_void,
        info_log.as_mut_ptr() as *mut c_void,
        LOG_BYTES as *mut c_void,
        std::ptr::null_mut(),
    ];
    let mut module: CuModule = std::ptr::null_mut();
    // SAFETY: image is NUL-terminated PTX text; options and values are arrays of 5 entries as the
    // count says; the log buffers live until after the call and their sizes are what we pass; the
    // module pointer is valid for one write. The context is current.
    let result = unsafe {
        (inner.driver.functions.module_load_data_ex)(
            &mut module,
            image.as_ptr() as *const c_void,
            5,
            options.as_mut_ptr(),
            values.as_mut_ptr(),
        )
    };
    let text = |log: &[u8]| {
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        String::from_utf8_lossy(&log[..end]).trim().to_string()
    };
    inner.driver.record(&format!("cuModuleLoadDataEx({what})"));
    if result != driver::CUDA_SUCCESS {
        return Err(Error::Gpu(format!(
            "cuModuleLoadDataEx({what}) failed: {}\n  JIT compiler log:\n{}",
            inner.driver.describe_error(result),
            text(&error_log)
        )));
    }
    // The first 4 bytes of the slot hold the float (little-endian machines: the low bytes).
    let wall_ms = f32::from_bits(values[4] as usize as u32);
    Ok((module, wall_ms, text(&info_log)))
}

/// Finds kernel `name` in a loaded module.
pub(crate) fn get_function(inner: &Inner, module: CuModule, name: &str) -> Result<CuFunction> {
    inner.make_current()?;
    let c_name = CString::new(name)
        .map_err(|_| Error::Gpu(format!("kernel name {name:?} contains a NUL byte")))?;
    let mut function: CuFunction = std::ptr::null_mut();
    // SAFETY: module is a live module of this context; c_name is NUL-terminated; the pointer is valid
    // for one write.
    let result = unsafe {
        (inner.driver.functions.module_get_function)(
            &mut function,
            module,
            c_name.as_ptr() as *const c_char,
        )
    };
    inner
        .driver
        .check(&format!("cuModuleGetFunction({name})"), result)?;
    Ok(function)
}

/// Unloads a module (errors are ignored: this runs during cleanup).
pub(crate) fn unload(inner: &Inner, module: CuModule) {
    if inner.make_current().is_ok() {
        // SAFETY: module is a live module of this context, unloaded exactly once by its owner.
        let result = unsafe { (inner.driver.functions.module_unload)(module) };
        let _ = inner.driver.check("cuModuleUnload", result);
    }
}

/// Registers per thread, local memory bytes per thread, static shared bytes per block.
pub(crate) fn function_resources(inner: &Inner, function: CuFunction) -> Result<(i32, i32, i32)> {
    inner.make_current()?;
    let get = |attribute: c_int| -> Result<i32> {
        let mut value: c_int = 0;
        // SAFETY: the pointer is valid for one write; function is a live kernel of this context.
        let result =
            unsafe { (inner.driver.functions.func_get_attribute)(&mut value, attribute, function) };
        inner.driver.check("cuFuncGetAttribute", result)?;
        Ok(value)
    };
    Ok((
        get(driver::FUNCTION_ATTRIBUTE_NUM_REGS)?,
        get(driver::FUNCTION_ATTRIBUTE_LOCAL_SIZE_BYTES)?,
        get(driver::FUNCTION_ATTRIBUTE_SHARED_SIZE_BYTES)?,
    ))
}

/// Checks a launch configuration against the hardware limits every CUDA GPU since sm_30 shares.
pub fn check_launch(name: &str, grid: [u32; 3], block: [u32; 3], shared_bytes: u32) -> Result<()> {
    let threads = u64::from(block[0]) * u64::from(block[1]) * u64::from(block[2]);
    let problem = if grid.contains(&0) || block.contains(&0) {
        Some("every grid and block dimension must be at least 1".to_string())
    } else if threads > 1024 {
        Some(format!("{threads} threads per block; the limit is 1024"))
    } else if block[0] > 1024 || block[1] > 1024 || block[2] > 64 {
        Some("block dimensions are limited to 1024 × 1024 × 64".to_string())
    } else if grid[0] > i32::MAX as u32 || grid[1] > 65535 || grid[2] > 65535 {
        Some("grid dimensions are limited to 2147483647 × 65535 × 65535".to_string())
    } else if shared_bytes > 48 * 1024 {
        Some(format!(
            "{shared_bytes} bytes of dynamic shared memory; this launcher allows 49152"
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::Gpu(format!(
            "cannot launch {name} with grid {grid:?} and block {block:?}: {problem}"
        ))),
        None => Ok(()),
    }
}

/// Checks the configuration, then queues `function` with `args` on the default stream.
///
/// # Safety
/// `args` must match the kernel's `.param` list in number, order and type, and every pointer in it
/// must be a device allocation large enough for every access the kernel makes with these arguments.
pub(crate) unsafe fn launch_raw(
    inner: &Inner,
    function: CuFunction,
    name: &str,
    grid: [u32; 3],
    block: [u32; 3],
    shared_bytes: u32,
    args: &[KernelArg],
) -> Result<()> {
    check_launch(name, grid, block, shared_bytes)?;
    inner.make_current()?;
    // Each argument's value in its own 8-byte slot (4-byte values in the low bytes, which is where a
    // little-endian machine keeps them), and an array of pointers to the slots.
    let mut slots: Vec<u64> = args
        .iter()
        .map(|arg| match *arg {
            KernelArg::Pointer(p) => p,
            KernelArg::U32(v) => u64::from(v),
            KernelArg::F32(v) => u64::from(v.to_bits()),
        })
        .collect();
    let mut pointers: Vec<*mut c_void> = slots
        .iter_mut()
        .map(|slot| slot as *mut u64 as *mut c_void)
        .collect();
    // SAFETY: function is a live kernel of the current context; the pointer array has one entry
    // per kernel parameter (the caller's promise) and each points to a live slot holding the value
    // in its first bytes; the driver copies the values before returning. `extra` is null.
    let result = unsafe {
        (inner.driver.functions.launch_kernel)(
            function,
            grid[0] as c_uint,
            grid[1] as c_uint,
            grid[2] as c_uint,
            block[0] as c_uint,
            block[1] as c_uint,
            block[2] as c_uint,
            shared_bytes as c_uint,
            std::ptr::null_mut(),
            pointers.as_mut_ptr(),
            std::ptr::null_mut(),
        )
    };
    inner
        .driver
        .check(&format!("cuLaunchKernel({name})"), result)
}

/// A module of PTX loaded into the device (unloaded when dropped).
pub struct Module {
    gpu: Gpu,
    module: CuModule,
    jit_ms: f32,
    info_log: String,
}

impl Gpu {
    /// Compiles `ptx` (the driver's JIT) into a module. `what` names it in messages and the call log.
    pub fn load_module(&self, ptx: &str, what: &str) -> Result<Module> {
        let (module, jit_ms, info_log) = load_ptx(&self.inner, ptx, what)?;
        Ok(Module {
            gpu: self.clone(),
            module,
            jit_ms,
            info_log,
        })
    }
}

impl Module {
    /// The kernel called `name` (a `.visible .entry` of the PTX).
    pub fn kernel(&self, name: &str) -> Result<Kernel<'_>> {
        let function = get_function(&self.gpu.inner, self.module, name)?;
        Ok(Kernel {
            module: self,
            function,
            name: name.to_string(),
        })
    }

    /// How long the JIT compiler took, in milliseconds (as the driver reports it).
    pub fn jit_ms(&self) -> f32 {
        self.jit_ms
    }

    /// The JIT compiler's informational messages (often empty).
    pub fn info_log(&self) -> &str {
        &self.info_log
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        unload(&self.gpu.inner, self.module);
    }
}

/// One kernel of a [`Module`].
pub struct Kernel<'m> {
    module: &'m Module,
    function: CuFunction,
    name: String,
}

impl Kernel<'_> {
    /// The kernel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `(registers per thread, local-memory bytes per thread, static shared bytes per block)` of the
    /// compiled kernel. Local memory above zero usually means register spills.
    pub fn resources(&self) -> Result<(i32, i32, i32)> {
        function_resources(&self.module.gpu.inner, self.function)
    }

    /// Queues the kernel on a `grid` of blocks of `block` threads. The sizes are checked first
    /// ([`check_launch`]); errors inside the kernel show at the next synchronisation.
    ///
    /// # Safety
    /// `args` must match the kernel's parameters in number, order and type, and every pointer must
    /// be a device buffer large enough for what the kernel does with these arguments: the GPU does
    /// not check. (The typed operations such as [`Gpu::relu_forward`] check this for the crate's own kernels.)
    pub unsafe fn launch(
        &self,
        grid: [u32; 3],
        block: [u32; 3],
        shared_bytes: u32,
        args: &[KernelArg],
    ) -> Result<()> {
        // SAFETY: forwarded from the caller's promise.
        unsafe {
            launch_raw(
                &self.module.gpu.inner,
                self.function,
                &self.name,
                grid,
                block,
                shared_bytes,
                args,
            )
        }
    }
}
