//! Graceful stop on SIGINT / SIGTERM without extra dependencies.
//!
//! [`install`] points both signals at a handler that only sets a global
//! flag (an async-signal-safe store); service loops poll the flag and wind
//! down. A second signal exits at once (`_exit(128 + signal)`). Installing
//! also undoes an inherited "ignore SIGINT" disposition (background jobs of
//! non-interactive shells start that way), so both signals always work.
//! On non-Unix targets [`install`] does nothing but return the flag.
//!
//! ```
//! use std::sync::atomic::Ordering;
//!
//! let stop = tasker_shared::shutdown::flag();
//! assert!(!stop.load(Ordering::SeqCst));
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static STOP: AtomicBool = AtomicBool::new(false);

/// The process-wide stop flag (set by SIGINT / SIGTERM once installed).
pub fn flag() -> &'static AtomicBool {
    &STOP
}

/// Installs the SIGINT / SIGTERM handlers and returns the stop flag.
pub fn install() -> &'static AtomicBool {
    #[cfg(unix)]
    unix::install();
    &STOP
}

/// Sleeps up to `total`, returning early (true) once the flag is set.
pub fn sleep(total: Duration) -> bool {
    let deadline = std::time::Instant::now() + total;
    loop {
        if STOP.load(Ordering::SeqCst) {
            return true;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

#[cfg(unix)]
mod unix {
    use super::STOP;
    use std::os::raw::c_int;
    use std::sync::atomic::Ordering;

    // Same numbers on Linux and macOS.
    pub(super) const SIGINT: c_int = 2;
    pub(super) const SIGTERM: c_int = 15;

    type Handler = extern "C" fn(c_int);

    extern "C" {
        // glibc and the BSDs give signal() persistent, restarting (BSD)
        // semantics, which is all this needs.
        fn signal(signum: c_int, handler: Handler) -> usize;
        fn _exit(status: c_int) -> !;
    }

    extern "C" fn on_signal(signum: c_int) {
        // Only async-signal-safe operations here: an atomic swap and _exit.
        if STOP.swap(true, Ordering::SeqCst) {
            // SAFETY: _exit is async-signal-safe and never returns.
            unsafe { _exit(128 + signum) }
        }
    }

    pub(super) fn install() {
        // SAFETY: on_signal has the C handler signature and only touches an
        // atomic (or calls _exit), which is sound inside a signal handler.
        unsafe {
            signal(SIGINT, on_signal);
            signal(SIGTERM, on_signal);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        extern "C" {
            fn raise(sig: c_int) -> c_int;
        }

        #[test]
        fn sigterm_sets_the_flag() {
            install();
            assert!(!super::super::sleep(std::time::Duration::from_millis(1)));
            // SAFETY: raising a signal whose handler was just installed.
            assert_eq!(unsafe { raise(SIGTERM) }, 0);
            assert!(STOP.load(Ordering::SeqCst));
            assert!(super::super::sleep(std::time::Duration::from_secs(60)));
        }
    }
}
