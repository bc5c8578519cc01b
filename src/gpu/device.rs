//! [`Gpu`]: the driver loaded, device 0 chosen, its context made current — the handle every GPU
//! operation goes through.
//!
//! Creating one walks the first rows of the driver's table (see [`super::driver`]): `cuInit`,
//! `cuDriverGetVersion`, `cuDeviceGetCount`, `cuDeviceGet`, the name and attributes, then
//! `cuDevicePrimaryCtxRetain` and `cuCtxSetCurrent`. Each way this can fail becomes an
//! [`Error::Gpu`] that says exactly what is missing — no driver library, no device, a driver too old,
//! a GPU too old — and never a panic, so a program can fall back to the CPU.
//!
//! A `Gpu` is a cheap handle (`Clone` shares it). Buffers and modules keep a clone, so the context
//! lives until the last of them is dropped. It is not `Send`: a CUDA context is made current per
//! thread, and keeping every use on one thread keeps that simple.

use super::driver::{self, CallLog, CuContext, CuDevice, Driver};
use super::ops::Builtin;
use crate::error::{Error, Result};
use std::cell::{Cell, OnceCell};
use std::ffi::{c_char, c_int};
use std::rc::Rc;

/// What the driver says about the device.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceInfo {
    /// The marketing name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Compute capability (major, minor): (9, 0) for Hopper, (8, 0) for the A100.
    pub compute_capability: (i32, i32),
    /// Streaming multiprocessors (SMs), the GPU's cores.
    pub multiprocessors: i32,
    /// Device memory in bytes.
    pub total_memory: usize,
    /// The CUDA version the driver supports, e.g. 12040 for 12.4.
    pub driver_version: i32,
    /// Peak SM clock in kHz (0 if the driver does not say).
    pub clock_khz: i32,
    /// Peak memory clock in kHz (0 if the driver does not say).
    pub memory_clock_khz: i32,
    /// Memory bus width in bits (0 if the driver does not say).
    pub memory_bus_bits: i32,
    /// L2 cache in bytes.
    pub l2_cache_bytes: i32,
    /// Shared memory a block can use without opting in, in bytes.
    pub shared_memory_per_block: i32,
}

impl DeviceInfo {
    /// f32 lanes (CUDA cores) per multiprocessor for this compute capability: 64 on sm_80 (A100),
    /// 128 on sm_86, sm_89, sm_90 and later.
    pub fn fp32_lanes_per_multiprocessor(&self) -> i32 {
        match self.compute_capability {
            (8, 0) => 64,
            (major, _) if major < 8 => 64,
            _ => 128,
        }
    }

    /// Peak f32 rate in GFLOPS: lanes × 2 (an FMA is two operations) × clock. `None` when the driver
    /// does not report the clock.
    pub fn peak_fp32_gflops(&self) -> Option<f64> {
        (self.clock_khz > 0).then(|| {
            f64::from(self.multiprocessors)
                * f64::from(self.fp32_lanes_per_multiprocessor())
                * 2.0
                * f64::from(self.clock_khz)
                / 1e6
        })
    }

    /// Peak memory bandwidth in GB/s: 2 transfers per clock × bus width. `None` when unknown.
    pub fn peak_bandwidth_gbs(&self) -> Option<f64> {
        (self.memory_clock_khz > 0 && self.memory_bus_bits > 0).then(|| {
            2.0 * f64::from(self.memory_clock_khz) * 1e3 * f64::from(self.memory_bus_bits)
                / 8.0
                / 1e9
        })
    }

    /// `sm_90` for compute capability 9.0.
    pub fn sm_name(&self) -> String {
        format!(
            "sm_{}{}",
            self.compute_capability.0, self.compute_capability.1
        )
    }
}

/// The state shared by every clone of a [`Gpu`].
pub(crate) struct Inner {
    pub(crate) driver: Driver,
    pub(crate) device: CuDevice,
    pub(crate) context: CuContext,
    pub(crate) info: DeviceInfo,
    /// The crate's own kernels, compiled on first use.
    pub(crate) builtin: OnceCell<Builtin>,
}

thread_local! {
    /// The context this thread made current last (as an address), to skip redundant cuCtxSetCurrent.
    static CURRENT_CONTEXT: Cell<usize> = const { Cell::new(0) };
}

impl Inner {
    /// Makes the context current on this thread (once per thread; later calls are free).
    pub(crate) fn make_current(&self) -> Result<()> {
        if CURRENT_CONTEXT.get() == self.context as usize {
            return Ok(());
        }
        // SAFETY: context is the primary context retained in Gpu::new and not yet released
        // (released only when this Inner is dropped).
        let result = unsafe { (self.driver.functions.ctx_set_current)(self.context) };
        self.driver.check("cuCtxSetCurrent", result)?;
        CURRENT_CONTEXT.set(self.context as usize);
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Modules first: they belong to the context.
        if let Some(builtin) = self.builtin.take() {
            builtin.unload(self);
        }
        // SAFETY: device is the device whose primary context Gpu::new retained exactly once for this
        // Inner; releasing it once balances that. Buffers and modules hold clones of the Gpu, so none
        // outlives this point.
        let result = unsafe { (self.driver.functions.device_primary_ctx_release)(self.device) };
        let _ = self.driver.check("cuDevicePrimaryCtxRelease_v2", result);
        if CURRENT_CONTEXT.get() == self.context as usize {
            CURRENT_CONTEXT.set(0);
        }
    }
}

/// A CUDA device ready for work: the driver, device 0, and its primary context.
#[derive(Clone)]
pub struct Gpu {
    pub(crate) inner: Rc<Inner>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gpu({})", self.inner.info.name)
    }
}

impl Gpu {
    /// Loads the driver (`libcuda.so.1`, then `libcuda.so`) and prepares device 0.
    ///
    /// Errors (never panics): no driver library; a library without the needed functions; a driver
    /// older than CUDA 12.0; no CUDA device; a GPU older than compute capability 8.0.
    pub fn new() -> Result<Gpu> {
        Gpu::with_driver(Driver::load_default()?)
    }

    /// Like [`Gpu::new`], with the driver library named explicitly (a file name or a path). Tests
    /// pass a name that does not exist to see the "no driver" error.
    pub fn with_library(library: &str) -> Result<Gpu> {
        Gpu::with_driver(Driver::load(library)?)
    }

    fn with_driver(driver: Driver) -> Result<Gpu> {
        let f = &driver.functions;
        // SAFETY: cuInit takes a flags word that must be 0; it is safe to call more than once.
        let result = unsafe { (f.init)(0) };
        driver.record("cuInit");
        match result {
            driver::CUDA_SUCCESS => {}
            driver::CUDA_ERROR_NO_DEVICE => {
                return Err(Error::Gpu(format!(
                    "no CUDA device: the driver ({}) loaded, but cuInit found no GPU \
                     (CUDA_ERROR_NO_DEVICE). Check that `nvidia-smi` lists one, that \
                     CUDA_VISIBLE_DEVICES does not hide it, and (in a container) that the GPU is \
                     passed in; or run on the CPU (--device cpu)",
                    driver.library
                )));
            }
            driver::CUDA_ERROR_INSUFFICIENT_DRIVER => {
                return Err(Error::Gpu(format!(
                    "CUDA driver too old: cuInit says CUDA_ERROR_INSUFFICIENT_DRIVER ({}). Update \
                     the NVIDIA driver (CUDA 12.0 or newer), or run on the CPU (--device cpu)",
                    driver.describe_error(result)
                )));
            }
            driver::CUDA_ERROR_STUB_LIBRARY => {
                return Err(Error::Gpu(format!(
                    "no CUDA driver: {} is the CUDA toolkit's stub library, not the real driver \
                     (CUDA_ERROR_STUB_LIBRARY). Install the NVIDIA driver, or remove the stub \
                     from the library path; or run on the CPU (--device cpu)",
                    driver.library
                )));
            }
            other => {
                return Err(Error::Gpu(format!(
                    "the CUDA driver did not start: cuInit failed with {}. Check `nvidia-smi`; or \
                     run on the CPU (--device cpu)",
                    driver.describe_error(other)
                )));
            }
        }

        let mut version: c_int = 0;
        // SAFETY: the pointer is valid for one int write.
        let result = unsafe { (f.driver_get_version)(&mut version) };
        driver.check("cuDriverGetVersion", result)?;
        if version < driver::REQUIRED_DRIVER_VERSION {
            return Err(Error::Gpu(format!(
                "CUDA driver too old: it supports CUDA {}.{}, and the kernels of dlfs (PTX ISA 8.0) \
                 need CUDA 12.0 or newer. Update the NVIDIA driver (version 525 or newer), or run \
                 on the CPU (--device cpu)",
                version / 1000,
                (version % 1000) / 10
            )));
        }

        let mut count: c_int = 0;
        // SAFETY: the pointer is valid for one int write; cuInit succeeded.
        let result = unsafe { (f.device_get_count)(&mut count) };
        driver.check("cuDeviceGetCount", result)?;
        if count < 1 {
            return Err(Error::Gpu(
                "no CUDA device: the driver is installed but reports 0 GPUs. Check `nvidia-smi` \
                 and CUDA_VISIBLE_DEVICES; or run on the CPU (--device cpu)"
                    .to_string(),
            ));
        }
        let mut device: CuDevice = 0;
        // SAFETY: ordinal 0 exists (count ≥ 1); the pointer is valid for one write.
        let result = unsafe { (f.device_get)(&mut device, 0) };
        driver.check("cuDeviceGet(0)", result)?;

        let mut name_bytes = [0 as c_char; 256];
        // SAFETY: the buffer holds 256 chars and we pass that length; the driver NUL-terminates.
        let result = unsafe { (f.device_get_name)(name_bytes.as_mut_ptr(), 256, device) };
        driver.check("cuDeviceGetName", result)?;
        let name_len = name_bytes.iter().position(|&c| c == 0).unwrap_or(256);
        let name: String = name_bytes[..name_len]
            .iter()
            .map(|&c| c as u8 as char)
            .collect();

        let attribute = |attribute: c_int| -> i32 {
            let mut value: c_int = 0;
            // SAFETY: the pointer is valid for one int write; device is valid. An attribute the
            // driver does not know gives an error, which we turn into 0 ("not reported").
            let result = unsafe { (f.device_get_attribute)(&mut value, attribute, device) };
            if result == driver::CUDA_SUCCESS {
                value
            } else {
                0
            }
        };
        driver.record("cuDeviceGetAttribute × 8");
        let mut total_memory: usize = 0;
        // SAFETY: the pointer is valid for one size_t write.
        let result = unsafe { (f.device_total_mem)(&mut total_memory, device) };
        driver.check("cuDeviceTotalMem_v2", result)?;
        let info = DeviceInfo {
            name,
            compute_capability: (
                attribute(driver::ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attribute(driver::ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
            ),
            multiprocessors: attribute(driver::ATTRIBUTE_MULTIPROCESSOR_COUNT),
            total_memory,
            driver_version: version,
            clock_khz: attribute(driver::ATTRIBUTE_CLOCK_RATE),
            memory_clock_khz: attribute(driver::ATTRIBUTE_MEMORY_CLOCK_RATE),
            memory_bus_bits: attribute(driver::ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH),
            l2_cache_bytes: attribute(driver::ATTRIBUTE_L2_CACHE_SIZE),
            shared_memory_per_block: attribute(driver::ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK),
        };
        if info.compute_capability.0 < 8 {
            return Err(Error::Gpu(format!(
                "GPU too old: {} is {}, and the kernels of dlfs target sm_80 (Ampere) or newer. \
                 Run on the CPU (--device cpu)",
                info.name,
                info.sm_name()
            )));
        }

        let mut context: CuContext = std::ptr::null_mut();
        // SAFETY: device is valid; the pointer is valid for one write. The primary context is
        // reference-counted by the driver; we release it once in Inner::drop.
        let result = unsafe { (f.device_primary_ctx_retain)(&mut context, device) };
        driver.check("cuDevicePrimaryCtxRetain", result)?;
        let inner = Inner {
            driver,
            device,
            context,
            info,
            builtin: OnceCell::new(),
        };
        // A new context handle: force cuCtxSetCurrent even if an old one had the same address.
        CURRENT_CONTEXT.set(0);
        inner.make_current()?;
        Ok(Gpu {
            inner: Rc::new(inner),
        })
    }

    /// What the driver says about the device.
    pub fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    /// The driver library that was loaded (e.g. `libcuda.so.1`).
    pub fn driver_library(&self) -> &str {
        &self.inner.driver.library
    }

    /// `(free, total)` device memory in bytes (`cuMemGetInfo_v2`).
    pub fn memory_info(&self) -> Result<(usize, usize)> {
        self.inner.make_current()?;
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: both pointers are valid for one write; the context is current.
        let result = unsafe { (self.inner.driver.functions.mem_get_info)(&mut free, &mut total) };
        self.inner.driver.check("cuMemGetInfo_v2", result)?;
        Ok((free, total))
    }

    /// Waits until every queued copy and kernel has finished. A kernel that crashed (e.g. an
    /// out-of-bounds access) reports its error here.
    pub fn synchronize(&self) -> Result<()> {
        self.inner.make_current()?;
        // SAFETY: no arguments; the context is current.
        let result = unsafe { (self.inner.driver.functions.ctx_synchronize)() };
        self.inner.driver.check("cuCtxSynchronize", result)
    }

    /// The driver calls made so far through this device's driver, in order (chapter 15 prints it).
    pub fn call_log(&self) -> CallLog {
        self.inner.driver.call_log()
    }

    /// Times the GPU work queued by `work` with two events on the GPU's own clock, in milliseconds
    /// (`cuEventRecord` before and after, `cuEventSynchronize`, `cuEventElapsedTime`). Waits for the
    /// work to finish.
    pub fn time_ms(&self, work: impl FnOnce() -> Result<()>) -> Result<f32> {
        let start = Event::new(self)?;
        let end = Event::new(self)?;
        start.record()?;
        work()?;
        end.record()?;
        end.synchronize()?;
        start.elapsed_ms(&end)
    }
}

/// A CUDA event: a marker in the stream of GPU work whose completion time the GPU records.
pub struct Event {
    gpu: Gpu,
    event: driver::CuEvent,
}

impl Event {
    /// Creates an event (`cuEventCreate`, default flags: timing enabled).
    pub fn new(gpu: &Gpu) -> Result<Event> {
        gpu.inner.make_current()?;
        let mut event: driver::CuEvent = std::ptr::null_mut();
        // SAFETY: the pointer is valid for one write; flags 0 = CU_EVENT_DEFAULT.
        let result = unsafe { (gpu.inner.driver.functions.event_create)(&mut event, 0) };
        gpu.inner.driver.check("cuEventCreate", result)?;
        Ok(Event {
            gpu: gpu.clone(),
            event,
        })
    }

    /// Queues the event on the default stream: it completes when all work queued before it has.
    pub fn record(&self) -> Result<()> {
        self.gpu.inner.make_current()?;
        // SAFETY: event is a live event of this context; a null stream is the default stream.
        let result = unsafe {
            (self.gpu.inner.driver.functions.event_record)(self.event, std::ptr::null_mut())
        };
        self.gpu.inner.driver.check("cuEventRecord", result)
    }

    /// Waits until the event has completed.
    pub fn synchronize(&self) -> Result<()> {
        self.gpu.inner.make_current()?;
        // SAFETY: event is a live event of this context.
        let result = unsafe { (self.gpu.inner.driver.functions.event_synchronize)(self.event) };
        self.gpu.inner.driver.check("cuEventSynchronize", result)
    }

    /// Milliseconds from this event to `end` (both recorded and completed).
    pub fn elapsed_ms(&self, end: &Event) -> Result<f32> {
        self.gpu.inner.make_current()?;
        let mut ms = 0.0f32;
        // SAFETY: the pointer is valid for one float write; both events are live events of this
        // context.
        let result = unsafe {
            (self.gpu.inner.driver.functions.event_elapsed_time)(&mut ms, self.event, end.event)
        };
        self.gpu.inner.driver.check("cuEventElapsedTime", result)?;
        Ok(ms)
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        if self.gpu.inner.make_current().is_ok() {
            // SAFETY: event is live and destroyed exactly once, here.
            let result = unsafe { (self.gpu.inner.driver.functions.event_destroy)(self.event) };
            let _ = self.gpu.inner.driver.check("cuEventDestroy_v2", result);
        }
    }
}
