import Glibc

/// A value behind a pthread mutex: what every lock in Courier is.
///
/// Synchronization's `Mutex` would do the same job, but on Linux it locks inside the standard
/// library, which ThreadSanitizer does not instrument: TSan sees none of the ordering it gives and
/// reports every access it protects as a race (33 reports in a trial run, all false). A pthread
/// mutex TSan intercepts, so `make test-tsan` shows only real races. Uncontended, both cost one
/// atomic operation to lock and one to unlock.
// @unchecked Sendable: `value` is read and written only between lock and unlock of `mutex`.
package final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value, the lock held.
    @inline(__always)
    package func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
