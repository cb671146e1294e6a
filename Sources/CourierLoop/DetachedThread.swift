import Glibc

/// Starts a detached thread that runs `body`: the one way CourierLoop makes threads (a loop's,
/// the blocking pool's), so the C hand-off lives in one place. `body` lives as long as the thread.
func startDetachedThread(_ body: @escaping () -> Void) {
    final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
    // Retained here and released by the thread: pthread_create hands over a raw pointer only.
    let box = Unmanaged.passRetained(Body(body))
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { raw in
        Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, box.toOpaque())
    precondition(status == 0, "pthread_create failed: \(status)")
    pthread_detach(thread)
}
