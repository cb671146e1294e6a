import CLibUV
import Synchronization

/// Keeps a loop polling for I/O without sleeping for a while after its last read, so the next
/// request finds the thread already running. On this VM a loop that sleeps in `epoll_wait`
/// pays 0.3–4 ms to be woken (an IPI, and the host giving back a halted vCPU); a polling loop
/// sees the bytes on its next turn. The price is the core: it stays busy for the whole window
/// after every read. Netty's busy-wait select strategy and Linux's `SO_BUSY_POLL` make the
/// same trade. An active `uv_idle` handle is libuv's own way to poll with a zero timeout.
final class BusyPoll {
    private let handle: UnsafeMutablePointer<uv_idle_t>
    private let window: UInt64
    /// Written on the loop only when it changes; an atomic so other threads (tests,
    /// diagnostics) may read it too. A relaxed load is a plain load on the read path.
    private let polling = Atomic<Bool>(false)
    private var closed = false
    private var readSinceCheck = false
    private var lastRead: UInt64 = 0

    init(loop: UnsafeMutablePointer<uv_loop_t>, microseconds: UInt64) {
        window = microseconds * 1_000
        handle = .allocate(capacity: 1)
        uv_idle_init(loop, handle)
        Handle.retain(self, in: handle)
    }

    /// Called for every read and mailbox delivery: a store while polling, starts polling otherwise.
    @inline(__always)
    func noteActivity() {
        readSinceCheck = true
        guard !polling.load(ordering: .relaxed), !closed else { return }
        polling.store(true, ordering: .relaxed)
        lastRead = uv_hrtime()
        uv_idle_start(handle) { handle in
            guard let handle else { return }
            Handle.owner(BusyPoll.self, of: handle).turn()
        }
    }

    /// Runs once per loop turn while polling: stops once the window has passed with no read.
    private func turn() {
        let now = uv_hrtime()
        if readSinceCheck {
            readSinceCheck = false
            lastRead = now
        } else if now &- lastRead > window {
            polling.store(false, ordering: .relaxed)
            uv_idle_stop(handle)
        }
    }

    var isPolling: Bool { polling.load(ordering: .relaxed) }

    func close() {
        closed = true
        polling.store(false, ordering: .relaxed)
        Handle.close(handle)
    }
}
