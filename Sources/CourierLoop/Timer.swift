import CLibUV

/// A one-shot or repeating timer on its loop. Close it when done; it is released after libuv's
/// close callback.
package final class Timer {
    let handle: UnsafeMutablePointer<uv_timer_t>
    private var callback: (() -> Void)?
    package private(set) var isClosed = false

    package init(loop: EventLoop) {
        loop.assertInLoop()
        handle = .allocate(capacity: 1)
        uv_timer_init(loop.uvLoop, handle)
        Handle.retain(self, in: handle)
    }

    /// Fires `callback` after `milliseconds`, then every `repeating` milliseconds if non-zero.
    package func start(after milliseconds: UInt64, repeating: UInt64 = 0, _ callback: @escaping () -> Void) {
        guard !isClosed else { return }
        self.callback = callback
        uv_timer_start(handle, { handle in
            guard let handle else { return }
            Handle.owner(Timer.self, of: handle).callback?()
        }, milliseconds, repeating)
    }

    package func stop() {
        guard !isClosed else { return }
        uv_timer_stop(handle)
    }

    package func close() {
        guard !isClosed else { return }
        isClosed = true
        callback = nil
        Handle.close(handle)
    }
}
