//! What actors share during a run: published addresses, signalled events,
//! and the abort flag that ends every wait when one actor fails.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::clock::LabTime;

use std::os::fd::{AsRawFd, RawFd};

use crate::trace::{Noted, Varies};

/// A published address: where an actor's socket can be reached.
#[derive(Debug, Clone)]
pub enum Address {
    Inet(std::net::SocketAddr),
    Unix(std::path::PathBuf),
}

#[derive(Default)]
struct State {
    addresses: BTreeMap<String, Address>,
    events: BTreeSet<String>,
    /// Figures one actor measured for another (a `bench` rate).
    values: BTreeMap<String, i64>,
    aborted: Option<String>,
    /// Values that vary from run to run, as their makers noted them.
    noted: Vec<Noted>,
    /// Every open socket of the run, so an abort can shut them all down and
    /// wake any actor blocked in a call. Not clones: a duplicated fd would
    /// keep the socket open after the actor's close(), and no FIN would leave.
    fds: BTreeSet<RawFd>,
}

/// The blackboard of one run.
#[derive(Default)]
pub struct Board {
    state: Mutex<State>,
    changed: Condvar,
    /// The run's lab time: every wait on the board, and every watchdog of
    /// the actors, is measured on it (see [`LabTime`]).
    pub time: LabTime,
}

/// Why a wait on the board ended without its answer.
#[derive(Debug)]
pub enum WaitError {
    TimedOut,
    Aborted(String),
}

impl Board {
    /// Notes that `bytes`, which the run is about to send or show, vary
    /// from run to run for the reason `varies` (see [`Varies`]).
    pub fn note(&self, varies: Varies, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !s.noted.iter().any(|n| n.bytes == bytes) {
            s.noted.push(Noted {
                varies,
                bytes: bytes.to_vec(),
            });
        }
    }

    /// Everything noted so far.
    pub fn noted(&self) -> Vec<Noted> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.noted.clone()
    }

    pub fn publish(&self, name: &str, addr: Address) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.addresses.insert(name.to_string(), addr);
        self.changed.notify_all();
    }

    pub fn signal(&self, event: &str) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.events.insert(event.to_string());
        self.changed.notify_all();
    }

    /// Registers a socket so [`Board::abort`] can shut it down.
    pub fn track(&self, sock: &impl AsRawFd) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.fds.insert(sock.as_raw_fd());
        if s.aborted.is_some() {
            // Accepted while the run was being stopped: shut it down too,
            // or its thread would serve on.
            // SAFETY: the fd is open (the caller holds the socket).
            unsafe {
                libc::shutdown(sock.as_raw_fd(), libc::SHUT_RDWR);
            }
        }
    }

    /// Closes a tracked socket. The fd leaves the set (under the lock that
    /// `abort` takes) before it is closed, so an abort can never shut down
    /// a recycled fd number that now belongs to someone else.
    pub fn close<S: AsRawFd>(&self, sock: S) {
        {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.fds.remove(&sock.as_raw_fd());
        }
        // Closed after the lock is released: the fd has left the set, so
        // an abort cannot touch its number once it is reused, and a close
        // that lingers (SO_LINGER > 0) does not hold up the other actors.
        drop(sock);
    }

    /// How many sockets are registered now.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.fds.len()
    }

    /// Ends the run: every wait returns, every blocked socket call wakes up.
    pub fn abort(&self, reason: &str) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.aborted.is_none() {
            s.aborted = Some(reason.to_string());
        }
        for &fd in &s.fds {
            // SAFETY: every fd in the set is open (it leaves the set before
            // it is closed, under this lock); shutdown does not close it.
            unsafe {
                libc::shutdown(fd, libc::SHUT_RDWR);
            }
        }
        self.changed.notify_all();
    }

    pub fn aborted(&self) -> Option<String> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.aborted.clone()
    }

    /// Waits until `name` is published.
    pub fn address(&self, name: &str, timeout: Duration) -> Result<Address, WaitError> {
        self.wait_for(timeout, |s| s.addresses.get(name).cloned())
    }

    /// Shares a figure under `name` (a `bench` rate, for a comparison).
    pub fn set_value(&self, name: &str, value: i64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.values.insert(name.to_string(), value);
        self.changed.notify_all();
    }

    /// Waits until a figure is shared under `name`.
    pub fn value(&self, name: &str, timeout: Duration) -> Result<i64, WaitError> {
        self.wait_for(timeout, |s| s.values.get(name).copied())
    }

    /// Waits until `event` is signalled.
    pub fn wait_event(&self, event: &str, timeout: Duration) -> Result<(), WaitError> {
        self.wait_for(timeout, |s| s.events.contains(event).then_some(()))
    }

    fn wait_for<T>(
        &self,
        timeout: Duration,
        mut ready: impl FnMut(&State) -> Option<T>,
    ) -> Result<T, WaitError> {
        let deadline = self.time.watchdog(timeout);
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(reason) = &s.aborted {
                return Err(WaitError::Aborted(reason.clone()));
            }
            if let Some(v) = ready(&s) {
                return Ok(v);
            }
            if deadline.expired() {
                return Err(WaitError::TimedOut);
            }
            // Woken by a change, or after a slice to look at lab time
            // again (it stands still while the learner decides).
            s = self
                .changed
                .wait_timeout(s, deadline.slice(Duration::from_millis(100)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}
