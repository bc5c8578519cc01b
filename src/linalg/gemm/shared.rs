//! Row-split products with one packed B̃ for all threads, and rows handed out as threads free up.
//!
//! The plain split ([`super::run_threads`]) cuts C's rows into one piece per thread, and each piece
//! packs all of B for itself. For the products of a small network — chapter 16's GPT multiplies
//! 768 rows by weights of 128 × 512 — that costs twice over:
//! - every thread packs the same B̃: with two threads, half of the packing is wasted (measured in a
//!   GPT step on 2 threads: packing took 5–6 ms of CPU time per step, a few percent of the step);
//! - the two halves rarely finish together (one core is interrupted, or reads colder data), and the
//!   first to finish waits: 5–9 ms per step summed over the step's 51 products.
//!
//! So here one call does two kinds of task on the pool, in this order:
//! 1. *packing tasks* fill one shared B̃ — the whole of B (every `KC × NC` block, one after the
//!    other) — each task a different range of panels;
//! 2. *row tasks* each compute a few row panels of C (more when A is transposed, see
//!    [`panels_per_task`]) against the shared B̃, block by block exactly as [`super::gemm_serial`]
//!    does. A thread takes the next row task when it is done with its last, so a slow core simply
//!    does fewer of them.
//!
//! The pool hands out tasks in index order, so every packing task is taken before any row task; a
//! row task first waits (spinning) until all packing tasks are done. Each element of C is still
//! computed by the same kernel calls in the same order of the sum, whichever thread runs them: the
//! result is bit-identical to the plain split's, for any number of threads.
//!
//! Used when the product is split by rows and the whole of the packed B fits in
//! [`MAX_SHARED_FLOATS`]. When B is small enough to be read in place (see
//! [`super::B_IN_PLACE_MAX_ROWS`]) there is nothing to pack, and only the row tasks remain.

use super::pack::{PackBuffer, pack_b};
use super::{MatRef, Microkernel, RawC, gemm_serial};
use crate::parallel;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest B packed whole for sharing, in floats (512 KiB): one `KC × NC` block's worth, the
/// size the plain split keeps in L2. Every row task reads all of it, so it must stay in L2 too; a
/// bigger B (a 1024³ product) keeps the plain split, whose pieces are long enough to pay for their
/// own packing.
pub(super) const MAX_SHARED_FLOATS: usize = 1 << 17;

/// Row panels (of MR rows) per row task: small enough to even out the threads' finishing times,
/// large enough that a task's fixed cost (looking up the B̃ blocks) is negligible.
const PANELS_PER_TASK: usize = 4;

/// The most row panels per task when A is transposed (see [`panels_per_task`]).
const MAX_PANELS_PER_TASK: usize = 16;

/// Row panels per row task for an `m`-row product on `pieces` threads.
///
/// A transposed A (column-major: a weight gradient `dYᵀ·X`) is packed panel by panel, and each
/// panel reads MR = 6 floats — a fraction of a 64-byte cache line — at every step of the sum. The
/// next panel reads the rest of those lines: while it belongs to the same task they are still in
/// the core's caches; in another task, perhaps on the other core, they are fetched again. So such
/// products get larger tasks, up to [`MAX_PANELS_PER_TASK`], keeping at least two tasks per thread
/// for the balance. Measured on chapter 16's GPT weight gradients (2 threads, operands cold): 6–12 %
/// faster than 4 panels per task for the two with 384 and 512 rows. A row-major A reads whole rows,
/// so the small tasks stay.
fn panels_per_task(a: MatRef<'_>, m: usize, mr: usize, pieces: usize) -> usize {
    if a.row_stride() == 1 && a.cols() > 1 {
        (m.div_ceil(mr) / (2 * pieces)).clamp(PANELS_PER_TASK, MAX_PANELS_PER_TASK)
    } else {
        PANELS_PER_TASK
    }
}

/// Where the shared B̃ is and how its blocks are laid out: block `(jc, pc)` (columns from `jc`, sum
/// terms from `pc`) starts at float `jc·k + width(jc)·pc`, where `width(jc)` is that block's column
/// count rounded up to whole panels — the blocks of one `jc` follow each other, `KC` rows each.
#[derive(Clone, Copy)]
pub(super) struct SharedB {
    pub(super) ptr: *const f32,
    pub(super) k: usize,
}

impl SharedB {
    /// The first float of block `(jc, pc)` whose columns, rounded up to panels, are `padded_cols`.
    pub(super) fn block_start(&self, jc: usize, pc: usize, padded_cols: usize) -> usize {
        jc * self.k + padded_cols * pc
    }
}

// SAFETY: the pointer is only read by the row tasks of one `run` call, after every write to the
// buffer (by the packing tasks) has finished and been published (see `run`); the caller's thread
// owns the buffer and waits in `parallel_for` for the whole call.
unsafe impl Send for SharedB {}
// SAFETY: as above.
unsafe impl Sync for SharedB {}

thread_local! {
    /// The B̃ buffer, kept by each *calling* thread between calls (the pool's threads only borrow
    /// it while the caller waits).
    static SHARED: RefCell<PackBuffer> = RefCell::new(PackBuffer::default());
}

/// Whether the plain split's pieces of `m / pieces` rows would read B in place; the row tasks,
/// smaller still, then do too, and nothing is packed.
fn b_in_place(m: usize, b: MatRef<'_>, pieces: usize) -> bool {
    super::reads_b_in_place(b, m.div_ceil(pieces.max(1)))
}

/// Whether [`run`] handles this product, split by rows into `pieces`: B is read in place, or the
/// packed B is at most [`MAX_SHARED_FLOATS`].
pub(super) fn suits(kernel: &Microkernel, m: usize, b: MatRef<'_>, pieces: usize) -> bool {
    let padded = b
        .rows()
        .saturating_mul(b.cols().div_ceil(kernel.nr) * kernel.nr);
    pieces > 1 && (b_in_place(m, b, pieces) || padded <= MAX_SHARED_FLOATS)
}

/// One block of B̃'s panels for one packing task: panels `first..end` of block `(jc, pc)`.
struct PackTask {
    jc: usize,
    pc: usize,
    first: usize,
    end: usize,
}

/// Counts a packing task as done when dropped — also if packing panicked, so that the row tasks
/// never wait forever (the panic is raised again when the call ends).
struct DoneOnDrop<'a>(&'a AtomicUsize);

impl Drop for DoneOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// `C = α·A·B + β·C` (C `m × n`, given as `c`) with a shared B̃ and rows handed out in small tasks,
/// `pieces` packing tasks per block (see the module docs). The caller checked [`suits`].
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    kernel: &Microkernel,
    pieces: usize,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: RawC,
    m: usize,
    n: usize,
    finish: Option<super::epilogue::Finish<'_>>,
) {
    let k = a.cols();
    let (mr, nr, kc, nc) = (kernel.mr, kernel.nr, kernel.kc, kernel.nc);
    let padded_n = n.div_ceil(nr) * nr;
    let in_place = b_in_place(m, b, pieces);
    let mut pack_tasks = Vec::new();
    for jc in (0..if in_place { 0 } else { n }).step_by(nc) {
        let panels = nc.min(n - jc).div_ceil(nr);
        for pc in (0..k).step_by(kc) {
            for range in parallel::split_range(panels, pieces.min(panels)) {
                pack_tasks.push(PackTask {
                    jc,
                    pc,
                    first: range.start,
                    end: range.end,
                });
            }
        }
    }
    let panels_per_task = panels_per_task(a, m, mr, pieces);
    let row_tasks = m.div_ceil(panels_per_task * mr);
    let packed = AtomicUsize::new(0);
    SHARED.with_borrow_mut(|buffer| {
        // One raw pointer for both the packing tasks' writes and the row tasks' reads (made once,
        // so that neither invalidates the other).
        let base = buffer
            .get(if in_place { 0 } else { k * padded_n })
            .as_mut_ptr();
        let shared = SharedB {
            ptr: base.cast_const(),
            k,
        };
        let write_ptr = base as usize;
        // Borrow the whole `RawC` (which is `Sync`), not just its pointer field (which is not).
        let c = &c;
        parallel::parallel_for(pack_tasks.len() + row_tasks, |t| {
            if let Some(task) = pack_tasks.get(t) {
                let _done = DoneOnDrop(&packed);
                let nc_block = nc.min(n - task.jc);
                let kc_block = kc.min(k - task.pc);
                let padded_cols = nc_block.div_ceil(nr) * nr;
                let start = shared.block_start(task.jc, task.pc, padded_cols);
                let cols = (task.end * nr).min(nc_block) - task.first * nr;
                let len = (task.end - task.first) * kc_block * nr;
                // SAFETY: the panels `first..end` of block `(jc, pc)` are `len` floats at this
                // offset, inside the `k · padded_n` floats of the buffer; different packing tasks
                // cover different panels, and nothing reads them before all packing is done.
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(
                        (write_ptr as *mut f32).add(start + task.first * kc_block * nr),
                        len,
                    )
                };
                let view = b.block(task.pc, task.jc + task.first * nr, kc_block, cols);
                pack_b(view, nr, dst);
                return;
            }
            // A row task: wait for B̃, then rows r0..r1 of C.
            while packed.load(Ordering::Acquire) < pack_tasks.len() {
                std::hint::spin_loop();
            }
            let r0 = (t - pack_tasks.len()) * panels_per_task * mr;
            let r1 = (r0 + panels_per_task * mr).min(m);
            let c_rows = RawC {
                // SAFETY: `r0 < m`, so the offset stays inside C's buffer.
                ptr: unsafe { c.ptr.add(r0 * c.row_stride) },
                ..*c
            };
            let a_rows = a.block(r0, 0, r1 - r0, k);
            let b_tilde = if in_place { None } else { Some(shared) };
            gemm_serial(
                kernel,
                alpha,
                a_rows,
                b,
                beta,
                c_rows,
                r1 - r0,
                n,
                b_tilde,
                None,
                finish.map(|f| f.shifted(r0, 0)),
            );
        });
    });
}
