//! One monotonic clock for everything a lab records.
//!
//! Socket calls (recorded by the runner) and packets (recorded by the
//! capture) are stamped by the same [`Clock`], so sorting by `t_us` gives
//! the true order of events. The clock is `CLOCK_MONOTONIC` through
//! [`std::time::Instant`]; wall-clock time never enters a trace.

use std::time::{Duration, Instant};

/// A shared zero point; cheap to copy into every thread of a run.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
}

impl Clock {
    /// Starts a clock whose zero is now.
    pub fn start() -> Self {
        Clock {
            base: Instant::now(),
        }
    }

    /// Microseconds since the clock started.
    pub fn now_us(&self) -> u64 {
        self.since(Instant::now())
    }

    /// Microseconds from the clock's zero to `t` (0 if `t` is earlier).
    pub fn since(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.base).as_micros() as u64
    }

    /// The instant a reading in microseconds stands for.
    pub fn at(&self, t_us: u64) -> Instant {
        self.base + Duration::from_micros(t_us)
    }
}

/// Lab time: the run's time with the learner's pauses taken out.
///
/// Every deadline of a run (a blocking call's watchdog, a wait for another
/// actor, a `sleep`, a benchmark's budget) is measured on lab time. When a
/// learner stops at a step to think (`lab run --step`), lab time stands
/// still: a peer blocked in `recv` does not time out, a `sleep` does not
/// run on, and the run ends with the same results as one that never
/// paused. Timestamps in the trace stay on the [`Clock`]: a pause shows as
/// the gap it really was.
///
/// The kernel does not know about lab time: a TCP retransmission timer or
/// TIME_WAIT runs on while the learner thinks. The labs' lessons do not
/// hang on those timers, and the step view says so.
///
/// A watchdog (see [`LabTime::watchdog`]) also forgives the machine: it
/// does not count the time the run's threads were ready to run but kept
/// off the CPU by other programs (see [`LabTime::starved`]). On a crowded
/// machine a peer may wait seconds for a CPU, and the call waiting for it
/// would otherwise be ended as if the peer had hung.
#[derive(Debug, Clone, Default)]
pub struct LabTime(std::sync::Arc<std::sync::Mutex<Pauses>>);

#[derive(Debug)]
struct Pauses {
    /// When lab time started.
    base: Instant,
    /// The pauses that have ended, added up.
    total: Duration,
    /// The pause going on now, if any: since when, and how many holders
    /// (several actors may each wait for the learner).
    since: Option<Instant>,
    holders: usize,
    /// Every pause that has ended, from when to when: how much of a
    /// call's wait was the learner's (see [`LabTime::paused_within`]).
    ended: Vec<(Instant, Instant)>,
    /// The run's threads, by kernel thread id, whose waits for a CPU a
    /// watchdog forgives (see [`LabTime::enlist_this_thread`]).
    threads: Vec<libc::pid_t>,
}

impl Default for Pauses {
    fn default() -> Self {
        Pauses {
            base: Instant::now(),
            total: Duration::ZERO,
            since: None,
            holders: 0,
            ended: Vec::new(),
            threads: Vec::new(),
        }
    }
}

impl Pauses {
    fn now(&self) -> Duration {
        let wall = self.since.unwrap_or_else(Instant::now);
        wall.saturating_duration_since(self.base)
            .saturating_sub(self.total)
    }
}

impl LabTime {
    /// Lab time starting now.
    pub fn start() -> LabTime {
        LabTime::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pauses> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How much lab time has passed.
    pub fn now(&self) -> Duration {
        self.lock().now()
    }

    /// Stops lab time until the guard is dropped. Pauses may overlap: lab
    /// time runs again when the last one ends.
    pub fn pause(&self) -> Pause {
        let mut p = self.lock();
        if p.holders == 0 {
            p.since = Some(Instant::now());
        }
        p.holders += 1;
        Pause(self.clone())
    }

    /// How much of the wall-clock span `[from, to)` lab time stood still:
    /// a call that waited across a pause waited that much less in lab
    /// time.
    pub fn paused_within(&self, from: Instant, to: Instant) -> Duration {
        let p = self.lock();
        let now = Instant::now();
        p.ended
            .iter()
            .copied()
            .chain(p.since.map(|s| (s, now)))
            .map(|(a, b)| b.min(to).saturating_duration_since(a.max(from)))
            .sum()
    }

    /// The moment `after` of lab time from now, kept to the letter: a
    /// `sleep`, the window of a loop.
    pub fn deadline(&self, after: Duration) -> Deadline {
        Deadline {
            time: self.clone(),
            at: self.now() + after,
            forgiving: false,
        }
    }

    /// A watchdog's deadline: `after` of lab time from now, moved on by
    /// however long the run's threads have waited for a CPU (see
    /// [`LabTime::starved`]). A blocking call, or a wait for another actor,
    /// ends at this deadline.
    ///
    /// Only a thread that is *ready to run* waits for a CPU. A run that
    /// really hangs has every thread blocked, gathers no such wait, and
    /// its watchdog fires on time; a run whose peer was kept off the CPU
    /// gets that time back.
    pub fn watchdog(&self, after: Duration) -> Deadline {
        Deadline {
            forgiving: true,
            ..self.deadline(after)
        }
    }

    /// Counts the calling thread among the run's threads, whose waits for
    /// a CPU a [`watchdog`](LabTime::watchdog) forgives. Each actor of a
    /// run enlists itself when it starts.
    pub fn enlist_this_thread(&self) {
        // SAFETY: gettid has no arguments and cannot fail.
        let tid = unsafe { libc::gettid() };
        self.lock().threads.push(tid);
    }

    /// How long the run was kept off the CPU, and whether another of its
    /// threads is ready to run right now.
    ///
    /// `waited` is the time the enlisted threads (those still running)
    /// have spent ready to run but waiting for a CPU since they started,
    /// added up. Added up, because the threads of a run often take turns:
    /// a client blocked on a full buffer waits while the server that
    /// should empty it waits for a CPU, then the other way round. Waits
    /// that overlap are counted twice, which only makes a watchdog more
    /// patient with a run that was making progress.
    ///
    /// Linux keeps that figure for every thread: the second number of
    /// `/proc/self/task/TID/schedstat`, in nanoseconds (time on a run
    /// queue, the throttled time of a CPU-limited cgroup included). It
    /// adds a wait only once the thread gets its CPU, so a peer still
    /// waiting for one shows in `ready` instead: its state in
    /// `/proc/self/task/TID/stat` is `R`, running or ready to run (the
    /// calling thread does not count itself). These files are read only
    /// when a watchdog is due, so calls that return in time cost nothing.
    /// Without them, nothing is forgiven.
    pub fn starved(&self) -> Starved {
        // SAFETY: gettid has no arguments and cannot fail.
        let me = unsafe { libc::gettid() };
        let threads = self.lock().threads.clone();
        let mut starved = Starved::default();
        for tid in threads {
            let task = format!("/proc/self/task/{tid}");
            if let Some(ns) = std::fs::read_to_string(format!("{task}/schedstat"))
                .ok()
                .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
            {
                starved.waited += Duration::from_nanos(ns);
            }
            // The state follows the command name, which is in brackets
            // and may hold spaces: `1234 (actor-server) S ...`.
            let ready = tid != me
                && std::fs::read_to_string(format!("{task}/stat"))
                    .ok()
                    .and_then(|t| Some(t[t.rfind(')')? + 1..].split_whitespace().next()? == "R"))
                    .unwrap_or(false);
            starved.ready |= ready;
        }
        starved
    }
}

/// What [`LabTime::starved`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Starved {
    /// Time the run's threads have waited for a CPU, added up.
    pub waited: Duration,
    /// Another thread of the run is running or ready to run now: the run
    /// is not hung, whatever its waits so far.
    pub ready: bool,
}

/// The most a watchdog forgives: a bound, so that a run spinning on a
/// crowded machine (ready to run all the time, so always waiting for a
/// CPU) still ends.
pub const MAX_STARVED: Duration = Duration::from_secs(60);

/// How long a due watchdog waits before it looks again while another
/// thread of the run is ready to run.
const READY_SLICE: Duration = Duration::from_millis(50);

/// A pause of lab time; lab time runs again when it is dropped.
#[derive(Debug)]
pub struct Pause(LabTime);

impl Drop for Pause {
    fn drop(&mut self) {
        let mut p = self.0.lock();
        p.holders = p.holders.saturating_sub(1);
        if p.holders == 0
            && let Some(since) = p.since.take()
        {
            let now = Instant::now();
            p.total += now - since;
            p.ended.push((since, now));
        }
    }
}

/// A point in lab time by which something must have happened.
#[derive(Debug, Clone)]
pub struct Deadline {
    time: LabTime,
    at: Duration,
    /// A watchdog's: moved on by the time the run waited for a CPU.
    forgiving: bool,
}

impl Deadline {
    /// Lab time left; zero once the deadline has passed.
    pub fn remaining(&self) -> Duration {
        let now = self.time.now();
        let left = self.at.saturating_sub(now);
        if !left.is_zero() || !self.forgiving {
            return left;
        }
        // Due: only now is the run's wait for a CPU worth reading. The
        // time forgiven has a bound, MAX_STARVED past the deadline.
        let starved = self.time.starved();
        let limit = self.at + MAX_STARVED;
        let left = (self.at + starved.waited).min(limit).saturating_sub(now);
        if left.is_zero() && starved.ready && now < limit {
            // A peer is about to run (or running): look again in a while.
            return READY_SLICE.min(limit - now);
        }
        left
    }

    pub fn expired(&self) -> bool {
        self.remaining().is_zero()
    }

    /// How long a blocking wait may last before it looks again: the time
    /// left, but never more than `slice`, and never zero (a zero timeout
    /// means "forever" to SO_RCVTIMEO). While lab time is paused, the time
    /// left does not shrink, and the wait goes on slice after slice.
    pub fn slice(&self, slice: Duration) -> Duration {
        self.remaining().min(slice).max(Duration::from_millis(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_across_a_pause_knows_how_much_of_it_was_paused() {
        let time = LabTime::start();
        let before = Instant::now();
        let pause = time.pause();
        std::thread::sleep(Duration::from_millis(30));
        drop(pause);
        let after = Instant::now();
        let paused = time.paused_within(before, after);
        assert!(paused >= Duration::from_millis(30), "{paused:?}");
        assert!(paused <= after - before);
        // A span that ends before the pause began holds none of it.
        assert_eq!(time.paused_within(before, before), Duration::ZERO);
    }

    #[test]
    fn a_pause_stops_lab_time_and_its_deadlines() {
        let time = LabTime::start();
        let deadline = time.deadline(Duration::from_millis(40));
        let pause = time.pause();
        let frozen = time.now();
        std::thread::sleep(Duration::from_millis(60));
        // Longer than the deadline passed on the wall clock; none in lab time.
        assert_eq!(time.now(), frozen);
        assert!(!deadline.expired());
        drop(pause);
        std::thread::sleep(Duration::from_millis(60));
        assert!(deadline.expired());
    }

    #[test]
    fn a_watchdog_of_a_run_that_never_waited_for_a_cpu_fires_on_time() {
        // No thread enlisted: nothing to forgive, the watchdog is a plain
        // deadline.
        let time = LabTime::start();
        assert_eq!(time.starved(), Starved::default());
        let watchdog = time.watchdog(Duration::from_millis(10));
        std::thread::sleep(Duration::from_millis(30));
        assert!(watchdog.expired());
    }

    fn run_delay(path: &str) -> Duration {
        let text = std::fs::read_to_string(path).unwrap();
        Duration::from_nanos(text.split_whitespace().nth(1).unwrap().parse().unwrap())
    }

    #[test]
    fn starved_adds_up_what_the_kernel_counts_for_each_enlisted_thread() {
        let time = LabTime::start();
        time.enlist_this_thread();
        let (tx, rx) = std::sync::mpsc::channel();
        let other = {
            let time = time.clone();
            std::thread::spawn(move || {
                time.enlist_this_thread();
                tx.send(run_delay("/proc/thread-self/schedstat")).unwrap();
                // Stay alive (and enlisted), blocked, until told.
                std::thread::park();
            })
        };
        let theirs = rx.recv().unwrap();
        let mine = run_delay("/proc/thread-self/schedstat");
        // The figures only grow: the sum read now is at least the sum of
        // the figures each thread read of itself a moment ago.
        let starved = time.starved();
        assert!(starved.waited >= mine + theirs);
        other.thread().unpark();
        other.join().unwrap();
    }

    #[test]
    fn a_peer_that_is_ready_to_run_keeps_a_due_watchdog_waiting() {
        let time = LabTime::start();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let spinner = {
            let (time, stop) = (time.clone(), stop.clone());
            std::thread::spawn(move || {
                time.enlist_this_thread();
                tx.send(()).unwrap();
                // Always running or ready to run: state R.
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        };
        rx.recv().unwrap();
        let watchdog = time.watchdog(Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(20));
        // Due by the clock, but a thread of the run is not blocked.
        assert!(time.starved().ready);
        assert!(!watchdog.expired());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spinner.join().unwrap();
        // The spinner is gone, and its figures with it: nothing ready,
        // nothing waited, and the watchdog fires.
        assert!(!time.starved().ready);
        assert!(watchdog.expired());
    }

    #[test]
    fn overlapping_pauses_end_with_the_last() {
        let time = LabTime::start();
        let a = time.pause();
        let b = time.pause();
        let frozen = time.now();
        drop(a);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(time.now(), frozen, "one pause still holds");
        drop(b);
        std::thread::sleep(Duration::from_millis(5));
        assert!(time.now() > frozen);
    }
}
