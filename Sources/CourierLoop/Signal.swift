import CLibUV

/// A Unix signal delivered on the loop thread (libuv turns it into an ordinary callback).
package final class Signal {
    let handle: UnsafeMutablePointer<uv_signal_t>
    private var callback: ((Int32) -> Void)?
    private var isClosed = false

    package init(loop: EventLoop, signal number: Int32, _ callback: @escaping (Int32) -> Void) throws(UVError) {
        loop.assertInLoop()
        handle = .allocate(capacity: 1)
        uv_signal_init(loop.uvLoop, handle)
        Handle.retain(self, in: handle)
        self.callback = callback
        let status = uv_signal_start(handle, { handle, number in
            guard let handle else { return }
            Handle.owner(Signal.self, of: handle).callback?(number)
        }, number)
        if status < 0 {
            close()
            throw UVError(code: status, operation: "signal \(number)")
        }
    }

    /// Keeps the signal from holding its loop open on its own.
    package func unref() { uv_unref(Handle.raw(handle)) }

    package func close() {
        guard !isClosed else { return }
        isClosed = true
        callback = nil
        Handle.close(handle)
    }
}
