//! [`DeviceBuffer`]: an array in GPU memory, freed when dropped.
//!
//! The GPU cannot read the program's `Vec`s: its memory is separate (on an H100, 80 GB of HBM3 next
//! to the chip). A buffer is allocated there with `cuMemAlloc_v2`, filled from the host with
//! `cuMemcpyHtoD_v2` ("host to device"), read back with `cuMemcpyDtoH_v2`, and given back with
//! `cuMemFree_v2` when the Rust value goes out of scope (RAII), so GPU memory cannot leak.
//!
//! Buffers are typed: `DeviceBuffer<f32>` for numbers, `DeviceBuffer<u32>` for class labels.
//! Copies check lengths and panic when they differ (a programming error, like adding tensors of two
//! shapes); driver failures (out of memory, a crashed kernel) come back as [`Error::Gpu`].
//!
//! Copies from ordinary (pageable) host memory are synchronous: when `write` returns the data has
//! left the host buffer, when `read` returns it has arrived. What it leaves out: pinned memory and
//! asynchronous copies that overlap with kernels.

use super::device::Gpu;
use super::driver::CuDevicePtr;
use crate::error::Result;
use std::ffi::c_void;
use std::marker::PhantomData;

/// An element type a [`DeviceBuffer`] can hold: plain 4-byte values with no invalid bit patterns.
pub trait DeviceScalar: Copy + Default + PartialEq + std::fmt::Debug + private::Sealed {
    /// The type's name for messages (`f32`, `u32`).
    const NAME: &'static str;
    /// The value's bits, for `cuMemsetD32_v2`.
    fn to_bits(self) -> u32;
}

impl DeviceScalar for f32 {
    const NAME: &'static str = "f32";
    fn to_bits(self) -> u32 {
        f32::to_bits(self)
    }
}

impl DeviceScalar for u32 {
    const NAME: &'static str = "u32";
    fn to_bits(self) -> u32 {
        self
    }
}

mod private {
    /// Only the types above: every bit pattern of them is a valid value, so reading device memory
    /// that a kernel wrote (or never wrote) into them is always sound.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for u32 {}
}

/// `len` values of type `T` in device memory.
pub struct DeviceBuffer<T: DeviceScalar> {
    gpu: Gpu,
    pointer: CuDevicePtr,
    len: usize,
    marker: PhantomData<T>,
}

impl<T: DeviceScalar> std::fmt::Debug for DeviceBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DeviceBuffer<{}>(len {}, at {:#x})",
            T::NAME,
            self.len,
            self.pointer
        )
    }
}

impl Gpu {
    /// A buffer of `len` zeros.
    pub fn zeros<T: DeviceScalar>(&self, len: usize) -> Result<DeviceBuffer<T>> {
        let mut buffer = self.alloc_uninit::<T>(len)?;
        buffer.fill(T::default())?;
        Ok(buffer)
    }

    /// A buffer holding a copy of `data`.
    pub fn upload<T: DeviceScalar>(&self, data: &[T]) -> Result<DeviceBuffer<T>> {
        let mut buffer = self.alloc_uninit::<T>(data.len())?;
        buffer.write(0, data)?;
        Ok(buffer)
    }

    /// A buffer whose contents are whatever the memory held (any bit pattern is a valid `T`).
    fn alloc_uninit<T: DeviceScalar>(&self, len: usize) -> Result<DeviceBuffer<T>> {
        let mut pointer: CuDevicePtr = 0;
        if len > 0 {
            let bytes = len.checked_mul(4).ok_or_else(|| {
                crate::Error::Gpu(format!("a buffer of {len} values is too large to address"))
            })?;
            self.inner.make_current()?;
            // SAFETY: the pointer is valid for one write; the context is current.
            let result = unsafe { (self.inner.driver.functions.mem_alloc)(&mut pointer, bytes) };
            self.inner
                .driver
                .check("cuMemAlloc_v2", result)
                .map_err(|e| {
                    crate::Error::Gpu(format!(
                        "{e} (asked for {bytes} bytes; a smaller batch or model needs less)"
                    ))
                })?;
        }
        Ok(DeviceBuffer {
            gpu: self.clone(),
            pointer,
            len,
            marker: PhantomData,
        })
    }
}

impl<T: DeviceScalar> DeviceBuffer<T> {
    /// The number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer holds no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The device address of value 0 (what a kernel receives as a pointer argument).
    pub fn device_pointer(&self) -> CuDevicePtr {
        self.pointer
    }

    /// The device this buffer lives on.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Panics unless `offset..offset + count` lies inside the buffer.
    fn check_range(&self, operation: &str, offset: usize, count: usize) {
        assert!(
            offset.checked_add(count).is_some_and(|end| end <= self.len),
            "DeviceBuffer::{operation}: values {offset}..{} are outside a buffer of {} {} values",
            offset.saturating_add(count),
            self.len,
            T::NAME
        );
    }

    /// Copies `data` from the host into values `offset..offset + data.len()`.
    pub fn write(&mut self, offset: usize, data: &[T]) -> Result<()> {
        self.check_range("write", offset, data.len());
        if data.is_empty() {
            return Ok(());
        }
        self.gpu.inner.make_current()?;
        // SAFETY: the destination range lies inside this allocation (checked above; 4-byte values),
        // the source is a live slice of exactly that many bytes, and the copy is synchronous for
        // pageable memory (the slice is not used after the call returns).
        let result = unsafe {
            (self.gpu.inner.driver.functions.memcpy_htod)(
                self.pointer + 4 * offset as u64,
                data.as_ptr() as *const c_void,
                4 * data.len(),
            )
        };
        self.gpu.inner.driver.check("cuMemcpyHtoD_v2", result)
    }

    /// Copies values `offset..offset + out.len()` into `out`.
    pub fn read(&self, offset: usize, out: &mut [T]) -> Result<()> {
        self.check_range("read", offset, out.len());
        if out.is_empty() {
            return Ok(());
        }
        self.gpu.inner.make_current()?;
        // SAFETY: the source range lies inside this allocation (checked above); out is a live,
        // exclusively borrowed slice of exactly that many bytes; every bit pattern is a valid T
        // (DeviceScalar is sealed to f32 and u32). The copy waits for earlier GPU work and is
        // complete when the call returns.
        let result = unsafe {
            (self.gpu.inner.driver.functions.memcpy_dtoh)(
                out.as_mut_ptr() as *mut c_void,
                self.pointer + 4 * offset as u64,
                4 * out.len(),
            )
        };
        self.gpu.inner.driver.check("cuMemcpyDtoH_v2", result)
    }

    /// Copies the whole buffer from the host. Panics if `data.len()` differs from the buffer's.
    pub fn copy_from_host(&mut self, data: &[T]) -> Result<()> {
        assert_eq!(
            data.len(),
            self.len,
            "DeviceBuffer::copy_from_host: {} values for a buffer of {}",
            data.len(),
            self.len
        );
        self.write(0, data)
    }

    /// Copies the whole buffer to the host. Panics if `out.len()` differs from the buffer's.
    pub fn copy_to_host(&self, out: &mut [T]) -> Result<()> {
        assert_eq!(
            out.len(),
            self.len,
            "DeviceBuffer::copy_to_host: room for {} values, the buffer has {}",
            out.len(),
            self.len
        );
        self.read(0, out)
    }

    /// The whole buffer, copied to a new `Vec`.
    pub fn to_vec(&self) -> Result<Vec<T>> {
        let mut out = vec![T::default(); self.len];
        self.read(0, &mut out)?;
        Ok(out)
    }

    /// Copies another buffer of the same length, on the device (`cuMemcpyDtoD_v2`).
    pub fn copy_from_device(&mut self, source: &DeviceBuffer<T>) -> Result<()> {
        assert_eq!(
            source.len, self.len,
            "DeviceBuffer::copy_from_device: {} values into a buffer of {}",
            source.len, self.len
        );
        if self.len == 0 {
            return Ok(());
        }
        self.gpu.inner.make_current()?;
        // SAFETY: both are live allocations of len 4-byte values in this context, and distinct
        // (source is borrowed shared, self exclusively).
        let result = unsafe {
            (self.gpu.inner.driver.functions.memcpy_dtod)(
                self.pointer,
                source.pointer,
                4 * self.len,
            )
        };
        self.gpu.inner.driver.check("cuMemcpyDtoD_v2", result)
    }

    /// Sets every value to `value` (`cuMemsetD32_v2`).
    pub fn fill(&mut self, value: T) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        self.gpu.inner.make_current()?;
        // SAFETY: the allocation holds len 4-byte words.
        let result = unsafe {
            (self.gpu.inner.driver.functions.memset_d32)(self.pointer, value.to_bits(), self.len)
        };
        self.gpu.inner.driver.check("cuMemsetD32_v2", result)
    }
}

impl<T: DeviceScalar> Drop for DeviceBuffer<T> {
    fn drop(&mut self) {
        if self.len == 0 || self.gpu.inner.make_current().is_err() {
            return;
        }
        // SAFETY: pointer came from cuMemAlloc_v2 in this context and is freed exactly once, here.
        // The context is alive: this buffer holds a clone of its Gpu.
        let result = unsafe { (self.gpu.inner.driver.functions.mem_free)(self.pointer) };
        let _ = self.gpu.inner.driver.check("cuMemFree_v2", result);
    }
}
