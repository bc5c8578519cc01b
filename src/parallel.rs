//! The thread pool: a few persistent `std::thread` workers and a parallel-for over task indices.
//!
//! Used by every chapter through [`crate::linalg::gemm()`], the convolution and the recurrent layers.
//!
//! # How it works
//! The pool starts its workers once, the first time it is used, and keeps them between jobs: for a
//! short while (200 µs) polling for the next job, then asleep on a condition variable. A parallel
//! call in a busy training loop therefore costs about a microsecond, not a thread spawn (tens of
//! microseconds) or an operating-system wake-up (as much again). [`parallel_for`]`(tasks, body)`
//! publishes `body` to the workers; the caller and the workers then take task indices from one
//! shared atomic counter until none are left, so every index in `0..tasks` runs exactly once, on
//! whichever thread is free. The call returns only when every task has finished.
//!
//! # Determinism
//! Which thread runs which task changes from run to run, so a task must never depend on that: each
//! task writes its own part of the output (its rows, its images). Sums across tasks are combined by
//! the caller in task order afterwards. This is why results are bit-identical for any thread count.
//!
//! # Size
//! The number of threads is read once from the environment variable `DLFS_THREADS`, or else is the
//! number of CPUs; [`set_num_threads`] changes it at run time (the `--threads` flag of every binary).
//!
//! # What it leaves out
//! No work stealing, no priorities, no async. A parallel call made from inside a task (nested
//! parallelism), or while another thread is using the pool (e.g. tests running side by side), simply
//! runs its tasks one after the other on the calling thread: slower, never wrong, never a deadlock.
//!
//! # The one `unsafe`
//! The workers live for the whole program, but `body` borrows from the caller's stack. Handing a
//! borrowed closure to a long-lived thread is only sound because the caller waits — even when a task
//! panics — until every worker has finished with it and the pool has forgotten it. Rust's type system
//! cannot see that promise, so one line below erases the closure's lifetime, with the reasoning next to
//! it. (Spawning scoped threads on every call needs no `unsafe` but is measurably slower for the many
//! small parallel calls of a training step; the design allows `unsafe` in this one place for that.)

use std::any::Any;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The type of a task body, as the workers see it.
type TaskBody = dyn Fn(usize) + Sync;

/// One published job: the body, the number of tasks and the counter the threads take indices from.
#[derive(Clone)]
struct Job {
    body: &'static TaskBody,
    tasks: usize,
    next_task: Arc<AtomicUsize>,
}

/// What the caller and the workers share, behind one mutex.
struct State {
    /// Bumped for every new job, so a worker can tell a new job from the one it already ran.
    generation: u64,
    /// The job in progress, if any.
    job: Option<Job>,
    /// How many workers take part in the current job (workers `0..helpers`).
    helpers: usize,
    /// How many of those have finished it.
    finished: usize,
    /// The first panic raised by a task on a worker, handed back to the caller.
    panic: Option<Box<dyn Any + Send>>,
    /// How many workers are asleep on `job_ready` (so the caller skips the wake-up call when none is).
    sleeping: usize,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a new job is published.
    job_ready: Condvar,
    /// Signalled when a worker finishes the current job.
    job_done: Condvar,
    /// A copy of `State::generation` that spinning workers can read without the lock.
    published: AtomicU64,
    /// A copy of `State::finished` that the spinning caller can read without the lock.
    finished: AtomicUsize,
}

/// How long a thread busy-waits for the next event before it goes to sleep on a condition variable.
///
/// Waking a sleeping thread takes the operating system tens of microseconds on a virtual machine
/// (`bench pool` measured about 50 µs per call on the reference machine with sleeping only), while a
/// thread that is still polling notices a new job in well under a microsecond. A training step makes
/// its parallel calls a few microseconds apart, so a worker that polls for a short while after each
/// job is almost always awake for the next one. While polling it yields its core to any other thread
/// that wants it, so an oversubscribed machine loses little; after this long idle it sleeps.
const SPIN: Duration = Duration::from_micros(200);

/// Polls `ready` (yielding the core between polls) until it is true or [`SPIN`] has passed; the
/// caller then checks again under the lock, and sleeps if it must.
fn spin_until(ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() && start.elapsed() <= SPIN {
        std::thread::yield_now();
    }
}

struct Pool {
    shared: Arc<Shared>,
    /// How many workers have been spawned (the pool only grows).
    spawned: Mutex<usize>,
    /// Set while some thread is running a job; a second caller runs its tasks inline instead.
    busy: AtomicBool,
}

/// The number of threads parallel calls use (the caller counts as one).
static ACTIVE_THREADS: AtomicUsize = AtomicUsize::new(0);
static POOL: OnceLock<Pool> = OnceLock::new();

/// Locks the shared state; a poisoned lock (a panic while it was held) is still usable because the
/// state is only ever updated in whole steps.
fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn pool() -> &'static Pool {
    POOL.get_or_init(|| Pool {
        shared: Arc::new(Shared {
            state: Mutex::new(State {
                generation: 0,
                job: None,
                helpers: 0,
                finished: 0,
                panic: None,
                sleeping: 0,
            }),
            job_ready: Condvar::new(),
            job_done: Condvar::new(),
            published: AtomicU64::new(0),
            finished: AtomicUsize::new(0),
        }),
        spawned: Mutex::new(0),
        busy: AtomicBool::new(false),
    })
}

/// The most threads the pool will use (`--threads` above it is a usage error, `DLFS_THREADS` above
/// it a warning): each worker is an operating-system thread with its own stack, and far more threads
/// than CPUs only adds switching.
pub const MAX_THREADS: usize = 1024;

/// The thread count from `DLFS_THREADS`, or the number of CPUs when it is unset or invalid (at most
/// [`MAX_THREADS`]).
pub fn default_num_threads() -> usize {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(MAX_THREADS);
    match std::env::var("DLFS_THREADS") {
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_THREADS).contains(&n) => n,
            _ => {
                let shown: String = text.chars().take(40).collect();
                eprintln!(
                    "warning: DLFS_THREADS={shown:?} is not a whole number from 1 to {MAX_THREADS}; using {cpus} threads (the CPU count)"
                );
                cpus
            }
        },
        Err(_) => cpus,
    }
}

/// The number of threads that parallel calls use, counting the calling thread.
pub fn num_threads() -> usize {
    let n = ACTIVE_THREADS.load(Ordering::Relaxed);
    if n != 0 {
        return n;
    }
    let n = default_num_threads();
    // Another thread may have set it meanwhile; keep whichever came first.
    match ACTIVE_THREADS.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => n,
        Err(current) => current,
    }
}

/// Sets the number of threads used from now on (clamped to 1…[`MAX_THREADS`]). Results do not
/// depend on it.
pub fn set_num_threads(threads: usize) {
    ACTIVE_THREADS.store(threads.clamp(1, MAX_THREADS), Ordering::Relaxed);
}

/// Runs `body(i)` for every `i` in `0..tasks`, each exactly once, spread over the pool's threads, and
/// returns when all have finished. A panic in any task is re-raised here after the others finish.
///
/// Tasks must write disjoint outputs (see the module docs on determinism).
pub fn parallel_for<F>(tasks: usize, body: F)
where
    F: Fn(usize) + Sync,
{
    let threads = num_threads().min(tasks);
    if threads <= 1 {
        (0..tasks).for_each(body);
        return;
    }
    let pool = pool();
    // Only one job at a time: nested calls and calls from other threads run inline.
    if pool
        .busy
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        (0..tasks).for_each(body);
        return;
    }
    let _release = ReleaseOnDrop(&pool.busy);
    let helpers = pool.ensure_workers(threads - 1);
    if helpers == 0 {
        (0..tasks).for_each(body);
        return;
    }
    pool.run(tasks, helpers, &body);
}

/// Splits `0..len` into `parts` contiguous ranges whose lengths differ by at most one, in order.
pub fn split_range(len: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.max(1);
    let base = len / parts;
    let extra = len % parts;
    let mut start = 0;
    (0..parts)
        .map(|p| {
            let size = base + usize::from(p < extra);
            let range = start..start + size;
            start += size;
            range
        })
        .collect()
}

/// Runs `body(range)` over contiguous pieces of `0..len`, one piece per thread (fewer when `len` is
/// smaller than `min_piece` times the thread count, so tiny jobs are not split at all).
pub fn parallel_ranges<F>(len: usize, min_piece: usize, body: F)
where
    F: Fn(Range<usize>) + Sync,
{
    let pieces = num_threads().min(len / min_piece.max(1)).max(1);
    let ranges = split_range(len, pieces);
    parallel_for(ranges.len(), |i| body(ranges[i].clone()));
}

/// Runs `body(index, chunk)` on each `chunk_len`-long piece of `data` (the last may be shorter), in
/// parallel. Each task owns its chunk, so this is the safe way to fill an output buffer in parallel,
/// e.g. one chunk per image of a batch.
pub fn for_each_chunk_mut<T, F>(data: &mut [T], chunk_len: usize, body: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    assert!(chunk_len > 0, "for_each_chunk_mut: chunk_len must be > 0");
    // Each slot is taken exactly once, by the task with its index; the mutex only proves that to Rust.
    let chunks: Vec<Mutex<Option<&mut [T]>>> = data
        .chunks_mut(chunk_len)
        .map(|chunk| Mutex::new(Some(chunk)))
        .collect();
    parallel_for(chunks.len(), |i| {
        let chunk = chunks[i]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .expect("each chunk is handed out once");
        body(i, chunk);
    });
}

/// Runs `body(item)` for every item on the pool, each exactly once, and returns when all have
/// finished. The items are typically each task's disjoint pieces of several buffers (`&mut` slices
/// zipped together), which [`for_each_chunk_mut`] cannot hand out because it splits one buffer.
pub fn for_each_item<T, F>(items: Vec<T>, body: F)
where
    T: Send,
    F: Fn(T) + Sync,
{
    // Each slot is taken exactly once, by the task with its index; the mutex only proves that to Rust.
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    parallel_for(slots.len(), |i| {
        let item = slots[i]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .expect("each item is handed out once");
        body(item);
    });
}

struct ReleaseOnDrop<'a>(&'a AtomicBool);

impl Drop for ReleaseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Pool {
    /// Spawns workers until there are at least `count`, and returns how many of them can help: fewer
    /// when the system refuses another thread (a process or memory limit), so the work still runs,
    /// on fewer threads, instead of stopping. Results do not depend on the number of threads.
    fn ensure_workers(&self, count: usize) -> usize {
        let mut spawned = self
            .spawned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while *spawned < count {
            let shared = Arc::clone(&self.shared);
            let index = *spawned;
            let started = std::thread::Builder::new()
                .name(format!("dlfs-worker-{index}"))
                .spawn(move || worker_loop(&shared, index));
            if started.is_err() {
                break;
            }
            *spawned += 1;
        }
        count.min(*spawned)
    }

    /// Publishes the job to `helpers` workers, works on it too, then waits for the helpers.
    fn run(&self, tasks: usize, helpers: usize, body: &(dyn Fn(usize) + Sync)) {
        // SAFETY: the 'static reference never outlives `body`. It is stored in `State::job` below and
        // copied only by workers `0..helpers` for this generation; this function does not return (or
        // unwind) before all `helpers` workers have reported `finished`, after which it clears
        // `State::job`. Workers never touch a job after reporting finished, so no use of the reference
        // can happen after `body`'s borrow ends.
        let body: &'static TaskBody =
            unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), &'static TaskBody>(body) };
        let next_task = Arc::new(AtomicUsize::new(0));
        let any_asleep = {
            let mut state = lock(&self.shared);
            state.generation += 1;
            state.job = Some(Job {
                body,
                tasks,
                next_task: Arc::clone(&next_task),
            });
            state.helpers = helpers;
            state.finished = 0;
            state.panic = None;
            self.shared.finished.store(0, Ordering::Relaxed);
            // Spinning workers see this (with the job, published under the lock they take next).
            self.shared
                .published
                .store(state.generation, Ordering::Release);
            state.sleeping > 0
        };
        if any_asleep {
            self.shared.job_ready.notify_all();
        }

        // The caller works too; a panic here is held until the helpers are done.
        let own_panic =
            catch_unwind(AssertUnwindSafe(|| take_tasks(body, tasks, &next_task))).err();

        // Usually the helpers finish about when the caller does: poll before sleeping.
        spin_until(|| self.shared.finished.load(Ordering::Acquire) >= helpers);
        let mut state = lock(&self.shared);
        while state.finished < state.helpers {
            state = self
                .shared
                .job_done
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.job = None;
        let worker_panic = state.panic.take();
        drop(state);
        if let Some(payload) = own_panic.or(worker_panic) {
            resume_unwind(payload);
        }
    }
}

/// Takes task indices from the shared counter and runs them until none are left.
fn take_tasks(body: &TaskBody, tasks: usize, next_task: &AtomicUsize) {
    loop {
        let i = next_task.fetch_add(1, Ordering::Relaxed);
        if i >= tasks {
            return;
        }
        body(i);
    }
}

fn worker_loop(shared: &Shared, index: usize) {
    let mut seen_generation = 0;
    loop {
        // Poll for a while for the next job, then sleep until one is published that this worker is
        // asked to help with.
        spin_until(|| shared.published.load(Ordering::Acquire) != seen_generation);
        let job = {
            let mut state = lock(shared);
            loop {
                if state.generation != seen_generation {
                    seen_generation = state.generation;
                    if index < state.helpers
                        && let Some(job) = state.job.clone()
                    {
                        break job;
                    }
                }
                state.sleeping += 1;
                state = shared
                    .job_ready
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                state.sleeping -= 1;
            }
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            take_tasks(job.body, job.tasks, &job.next_task)
        }));
        let mut state = lock(shared);
        if let Err(payload) = result {
            // Stop handing out tasks; keep the first panic for the caller.
            job.next_task.store(job.tasks, Ordering::Relaxed);
            state.panic.get_or_insert(payload);
        }
        state.finished += 1;
        shared.finished.store(state.finished, Ordering::Release);
        drop(state);
        shared.job_done.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_range_covers_everything_in_order() {
        let ranges = split_range(10, 3);
        assert_eq!(ranges, vec![0..4, 4..7, 7..10]);
        assert_eq!(split_range(2, 4), vec![0..1, 1..2, 2..2, 2..2]);
        assert_eq!(split_range(0, 1), vec![0..0]);
    }
}
