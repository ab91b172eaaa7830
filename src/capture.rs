//! Loopback capture (in progress).
