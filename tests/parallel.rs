//! The thread pool: every task runs exactly once, results do not depend on the thread count, panics
//! reach the caller, and nested or concurrent calls neither deadlock nor lose work.

use dlfs::parallel::{
    for_each_chunk_mut, num_threads, parallel_for, parallel_ranges, set_num_threads,
};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The pool's thread count is global; tests that change it run under this lock.
static THREADS: Mutex<()> = Mutex::new(());

fn with_threads<T>(n: usize, f: impl FnOnce() -> T) -> T {
    let _guard = THREADS.lock().unwrap_or_else(|e| e.into_inner());
    let before = num_threads();
    set_num_threads(n);
    let result = f();
    set_num_threads(before);
    result
}

#[test]
fn every_index_is_visited_exactly_once() {
    for threads in [1, 2, 3, 8] {
        with_threads(threads, || {
            for tasks in [0, 1, 2, 7, 100, 1001] {
                let visits: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
                parallel_for(tasks, |i| {
                    visits[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(
                    visits.iter().all(|v| v.load(Ordering::Relaxed) == 1),
                    "{tasks} tasks on {threads} threads: some index was not visited exactly once"
                );
            }
        });
    }
}

#[test]
fn ranges_cover_the_whole_length_once() {
    with_threads(2, || {
        let visits: Vec<AtomicUsize> = (0..997).map(|_| AtomicUsize::new(0)).collect();
        parallel_ranges(997, 10, |range| {
            for i in range {
                visits[i].fetch_add(1, Ordering::Relaxed);
            }
        });
        assert!(visits.iter().all(|v| v.load(Ordering::Relaxed) == 1));
    });
}

#[test]
fn chunks_are_filled_by_their_own_task_and_results_do_not_depend_on_threads() {
    let fill = |threads| {
        with_threads(threads, || {
            let mut data = vec![0.0f32; 1000];
            for_each_chunk_mut(&mut data, 64, |chunk_index, chunk| {
                for (j, v) in chunk.iter_mut().enumerate() {
                    *v = (chunk_index * 64 + j) as f32 * 0.5;
                }
            });
            data
        })
    };
    let one = fill(1);
    assert_eq!(one, fill(2));
    assert_eq!(one, fill(5));
    assert_eq!(one[999], 999.0 * 0.5);
}

#[test]
fn a_panic_in_a_task_reaches_the_caller_and_the_pool_still_works() {
    with_threads(2, || {
        let result = std::panic::catch_unwind(|| {
            parallel_for(50, |i| {
                if i == 37 {
                    panic!("task 37 failed");
                }
            });
        });
        let payload = result.expect_err("the panic must propagate");
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(message.contains("task 37"), "{message}");
        // The pool is usable afterwards.
        let count = AtomicUsize::new(0);
        parallel_for(10, |_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 10);
    });
}

#[test]
fn nested_and_concurrent_calls_finish() {
    with_threads(2, || {
        let total = AtomicUsize::new(0);
        parallel_for(4, |_| {
            parallel_for(5, |_| {
                total.fetch_add(1, Ordering::Relaxed);
            });
        });
        assert_eq!(total.load(Ordering::Relaxed), 20);

        let total = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        parallel_for(8, |_| {
                            total.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 4 * 50 * 8);
    });
}

/// Workers poll for a while after a job, then sleep: calls made back to back (workers awake) and
/// calls made after a pause longer than the polling (workers asleep, must be woken) both finish, and
/// a worker really takes part in a job (the tasks wait for each other, which one thread alone could
/// not do, so this test would hang rather than pass if the wake-up were lost).
#[test]
fn workers_that_poll_or_sleep_both_pick_up_the_next_job() {
    with_threads(2, || {
        for round in 0..6 {
            if round % 2 == 1 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let arrived = AtomicUsize::new(0);
            parallel_for(2, |_| {
                arrived.fetch_add(1, Ordering::SeqCst);
                let start = std::time::Instant::now();
                while arrived.load(Ordering::SeqCst) < 2 {
                    assert!(
                        start.elapsed() < std::time::Duration::from_secs(20),
                        "round {round}: the second thread never joined the job"
                    );
                    std::hint::spin_loop();
                }
            });
        }
    });
}
