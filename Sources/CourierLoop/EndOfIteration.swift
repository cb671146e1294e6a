import CLibUV

/// Work deferred to the end of the current loop iteration (a `uv_prepare` handle runs it just
/// before the loop waits for I/O). Sends made by many callbacks in one iteration leave as one
/// write per socket: uWebSockets' corking.
final class EndOfIteration {
    let handle: UnsafeMutablePointer<uv_prepare_t>
    private var pending: [() -> Void] = []
    private var running = false

    init(loop: UnsafeMutablePointer<uv_loop_t>) {
        handle = .allocate(capacity: 1)
        uv_prepare_init(loop, handle)
        Handle.retain(self, in: handle)
    }

    func add(_ work: @escaping () -> Void) {
        if pending.isEmpty && !running {
            uv_prepare_start(handle) { handle in
                guard let handle else { return }
                Handle.owner(EndOfIteration.self, of: handle).runAll()
            }
        }
        pending.append(work)
    }

    private func runAll() {
        running = true
        while !pending.isEmpty {
            let batch = pending
            pending = []
            for work in batch { work() }
        }
        running = false
        uv_prepare_stop(handle)
    }

    func close() {
        pending = []
        Handle.close(handle)
    }
}

extension EventLoop {
    /// Runs `work` on this loop after the callbacks of the current iteration, before it next
    /// waits for I/O. Call on the loop thread.
    package func deferToEndOfIteration(_ work: @escaping () -> Void) {
        assertInLoop()
        endOfIteration.add(work)
    }
}
